"""Load benchmark of ``filmsearch serve``: loopback only, bounded, then it stops.

    pip install '.[serve]'
    python benchmarks/serve.py                       # ../shared films, 300 requests a level
    python benchmarks/serve.py --requests 1000 --screenshot docs/serve.png

Builds an index of ``../shared/corpora/films`` (6,802 films; ``seeds/`` when
``../shared`` is absent) in a temporary folder, starts the server in its own
process on a free 127.0.0.1 port (``run_server``, what ``filmsearch serve``
runs), and sends the ``short`` form of the dev requests
(``../shared/eval/tot-dev.jsonl``) to ``/api/search?plain=true`` at concurrency
1, 4 and 16: a fixed number of requests per level, each level also bounded in
seconds. A last level runs at concurrency 4 while ``filmsearch index --rebuild``
rewrites the index in another process, until the rebuild has ended (and at least
the fixed number of requests). Reports requests/s, p50/p95/p99 and errors (any
answer other than 200, or none) per level, and the server's peak memory; writes
``benchmarks/results/serve.json``. ``--screenshot`` also saves a PNG of the page
searching the bundled ``seeds/`` (Debian's Chromium, via Playwright). Never part
of the tests. No address other than 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FILMS = SHARED / "corpora" / "films"
EVAL = SHARED / "eval" / "tot-dev.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "serve.json"
HOST = "127.0.0.1"  # never anything else
SERVE = (
    "import sys; from filmsearch.search.server import run_server; "
    "run_server(sys.argv[1], '127.0.0.1', 0, None)"
)


def percentiles(times_ms: list[float]) -> dict[str, float]:
    ordered = sorted(times_ms) or [0.0]

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


def dev_queries(count: int) -> list[str]:
    """The short form of the first ``count`` dev requests (the seeds' titles without them)."""
    if EVAL.is_file():
        with EVAL.open(encoding="utf-8") as lines:
            queries = [json.loads(line)["short"] for line in lines if line.strip()]
        return [q[:500] for q in queries[:count] if q.strip()]
    titles = [
        p.read_text(encoding="utf-8").splitlines()[0] for p in sorted((ROOT / "seeds").iterdir())
    ]
    return [t.replace("_", " ") for t in titles][:count]


def server_peak_rss_mb(pid: int) -> float | None:
    """The server process's peak resident memory (Linux), in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(found.group(1)) / 1024, 1) if found else None


def start_server(index_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(index_dir)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if not match:
        server.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    url = match.group(0)
    for _ in range(200):
        if status_of(url + "healthz") == 200:
            break
        time.sleep(0.05)
    return server, url


def status_of(url: str) -> int:
    """The HTTP status of a GET (0 when nothing answered)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def load(
    url: str,
    queries: list[str],
    concurrency: int,
    requests: int,
    seconds: float,
    keep_going: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """``requests`` searches (or ``seconds``, whichever ends first) by ``concurrency`` clients,
    each a thread with one keep-alive connection.

    ``keep_going()``, if given, holds the level open (past ``requests``, within
    ``seconds``) while it returns True.
    """
    times: list[float] = []
    errors: list[str] = []
    counter = itertools.count()
    deadline = time.monotonic() + seconds
    address = urllib.parse.urlsplit(url)

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, address.port, timeout=30)
        while time.monotonic() < deadline:
            sent = next(counter)
            if sent >= requests and not (keep_going and keep_going()):
                break
            query = urllib.parse.urlencode(
                {"q": queries[sent % len(queries)], "plain": "true", "limit": 10}
            )
            started = time.perf_counter()
            try:
                connection.request("GET", f"/api/search?{query}")
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    errors.append(f"{response.status}: {body[:200]!r}")
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection(HOST, address.port, timeout=30)
            times.append((time.perf_counter() - started) * 1000)
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "requests": len(times),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(times) / elapsed, 1),
        **percentiles(times),
        "errors": len(errors),
        "error_examples": errors[:5],
    }


def screenshot(url: str, path: Path) -> None:
    """The page with results for the issue's query, as a person sees it."""
    from playwright.sync_api import sync_playwright

    args = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1000, "height": 820})
        page.goto(url)
        page.locator("#q").press_sequentially("whale trainer accident", delay=20)
        page.locator("#results li.hit").first.wait_for()
        page.wait_for_timeout(300)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per level")
    parser.add_argument("--seconds", type=float, default=120, help="most seconds per level")
    parser.add_argument("--levels", default="1,4,16", help="concurrency levels")
    parser.add_argument("--index", type=Path, help="an existing index to serve (kept as is)")
    parser.add_argument(
        "--screenshot", type=Path, help="also save a PNG of the page (over seeds/) here"
    )
    parser.add_argument("--no-reindex", action="store_true", help="skip the reindex level")
    options = parser.parse_args()

    films = FILMS if FILMS.is_dir() else ROOT / "seeds"
    served = str(options.index) if options.index else f"{os.path.relpath(films, ROOT)} (built)"
    queries = dev_queries(max(options.requests, 500))
    work = Path(tempfile.mkdtemp(prefix="filmsearch-serve-bench-"))
    index_dir = options.index
    cli = [sys.executable, "-m", "filmsearch", "index", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        if index_dir is None:
            index_dir = work / "index"
            print(f"building an index of {films} ...", flush=True)
            subprocess.run([*cli, str(films), "--index", str(index_dir)], check=True, env=env)
        if options.screenshot:  # of the bundled seeds: no text of ../shared in the picture
            seeds_index = work / "seeds-index"
            subprocess.run([*cli, str(ROOT / "seeds"), "--index", str(seeds_index)], check=True)
            seeds_server, seeds_url = start_server(seeds_index)
            try:
                screenshot(seeds_url, options.screenshot)
            finally:
                seeds_server.send_signal(signal.SIGINT)
                seeds_server.wait(timeout=30)
            print(f"screenshot of the seeds' page: {options.screenshot}")
        server, url = start_server(index_dir)
        try:
            rows: list[dict[str, Any]] = []
            peak: float | None = None
            warm = load(url, queries, 2, 50, options.seconds)  # caches, imports
            print(f"warm-up: {warm['requests']} requests, {warm['errors']} errors")
            for level in (int(c) for c in options.levels.split(",")):
                row = load(url, queries, level, options.requests, options.seconds)
                rows.append({"level": f"c={level}", **row})
                print(json.dumps(rows[-1]), flush=True)
            if not options.no_reindex and options.index is None:
                rebuild = subprocess.Popen(
                    [*cli, "--rebuild", str(films), "--index", str(index_dir)], env=env
                )
                started = time.perf_counter()
                row = load(
                    url,
                    queries,
                    4,
                    options.requests,
                    max(options.seconds, 300),
                    keep_going=lambda: rebuild.poll() is None,
                )
                rebuild_s = time.perf_counter() - started
                code = rebuild.wait()
                after = status_of(url + "api/search?q=whale+trainer")
                rows.append(
                    {"level": "c=4 + reindex", **row, "reindex_exit": code,
                     "reindex_s": round(rebuild_s, 1), "status_after": after}
                )  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
            peak = server_peak_rss_mb(server.pid)
            print(f"server peak RSS: {peak} MB")
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"{len(queries)} dev queries, /api/search?plain=true&limit=10, index of {served}")
    print("| level | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['level']} | {row['requests']} | {row['requests_per_s']} | {row['p50_ms']} "
            f"| {row['p95_ms']} | {row['p99_ms']} | {row['errors']} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"),
                "index": served,
                "requests_per_level": options.requests,
                "rows": rows,
                "server_peak_rss_mb": peak,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
