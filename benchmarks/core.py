"""Time the core engine: builds, re-index, query latency, CLI cold start.

    python benchmarks/core.py            # seeds, plus ../shared/corpora when present
    python benchmarks/core.py --queries 100

Prints a table and writes benchmarks/results/core.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import build_index  # noqa: E402
from search import FilmSearch, QueryError  # noqa: E402
from tests.test_ranking import KNOWN_ITEMS  # noqa: E402

SHARED = ROOT.parent / "shared"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def latencies(fs: FilmSearch, queries: list[str], snippets: bool,
              plain: bool = False) -> dict[str, float]:
    times = []
    for text in queries:
        start = time.perf_counter()
        try:
            fs.search(text, limit=10, snippets=snippets, plain=plain)
        except QueryError:
            continue
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": percentile(times, 0.50), "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99), "queries": len(times)}


def cli_cold_start(index_dir: Path, runs: int = 5) -> float:
    exe = shutil.which("filmsearch") or str(Path(sys.executable).with_name("filmsearch"))
    times = [timed(lambda: subprocess.run(
        [exe, "search", "whale trainer accident", "--index", str(index_dir), "-n", "1"],
        check=True, capture_output=True)) for _ in range(runs)]
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200, help="eval requests per form")
    args = parser.parse_args()
    rows: dict[str, dict] = {}
    work = Path(tempfile.mkdtemp(prefix="filmsearch-bench-"))
    try:
        seeds_ix = work / "seeds"
        builds = []
        for _ in range(3):
            shutil.rmtree(seeds_ix, ignore_errors=True)
            builds.append(timed(lambda: build_index([ROOT / "seeds"], seeds_ix)))
        reindex = timed(lambda: build_index([ROOT / "seeds"], seeds_ix))
        with FilmSearch(seeds_ix) as fs:
            queries = [q for q, _ in KNOWN_ITEMS] * 5
            rows["seeds"] = {"films": fs.stats().films,
                             "build_s": statistics.median(builds), "reindex_unchanged_s": reindex,
                             "known_item_queries": latencies(fs, queries, snippets=True)}
        rows["seeds"]["cli_cold_start_ms"] = cli_cold_start(seeds_ix)

        films = SHARED / "corpora" / "films"
        if films.is_dir():
            corpus_ix = work / "corpus"
            report = {}
            build_s = timed(lambda: report.update(vars(build_index([films], corpus_ix))))
            evals = [json.loads(line) for line in
                     (SHARED / "eval" / "tot-dev.jsonl").read_text().splitlines()][:args.queries]
            with FilmSearch(corpus_ix) as fs:
                rows["corpus"] = {"films": report["films"], "build_s": build_s}
                for form in ("short", "long"):
                    texts = [row[form] for row in evals]
                    # Requests are prose, so they are searched as plain words, as eval does.
                    rows["corpus"][f"{form}_snippets"] = latencies(fs, texts, True, plain=True)
                    rows["corpus"][f"{form}_no_snippets"] = latencies(fs, texts, False,
                                                                       plain=True)
            rows["corpus"]["cli_cold_start_ms"] = cli_cold_start(corpus_ix)
        else:
            print(f"{films} absent: corpus figures skipped")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    machine = f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    print(f"machine: {machine}")
    for name, row in rows.items():
        print(f"\n[{name}]")
        for key, value in row.items():
            if isinstance(value, dict):
                print(f"  {key:<24} p50 {value['p50_ms']:8.1f} ms   p95 {value['p95_ms']:8.1f} ms"
                      f"   p99 {value['p99_ms']:8.1f} ms   ({value['queries']} queries)")
            else:
                print(f"  {key:<24} {value:,.3f}" if isinstance(value, float) else
                      f"  {key:<24} {value}")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "core.json").write_text(json.dumps({"machine": machine, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
