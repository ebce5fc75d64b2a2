"""Benchmark filmsearch against plain Whoosh, bm25s and tantivy, in one run.

    pip install '.[bench]'
    python benchmarks/run.py                      # real corpus + 10k and 100k synthetic films
    python benchmarks/run.py --sizes 10000,100000,1000000 --queries 1592

Measures builds (wall time, films/s, MB/s, peak RSS, index size), query
latency through the library API (p50/p95/p99; short, long and fielded
queries; snippets on and off), MRR@10 of every engine on the same requests,
the CLI's cold start, and whether pruning long queries to their rarest words
changes MRR@10. Builds run in child processes so that their memory is their own.
Prints the tables and writes benchmarks/results/bench.json. Never part of the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.anchors import ANCHORS, words_only  # noqa: E402
from benchmarks.synthetic import generate_films, write_corpus  # noqa: E402
from filmsearch.index import build_index  # noqa: E402
from filmsearch.index.documents import Film  # noqa: E402
from filmsearch.index.errors import DocumentError  # noqa: E402
from filmsearch.index.formats import iter_source_files, read_source  # noqa: E402
from filmsearch.search import FilmSearch, ranking  # noqa: E402

SHARED = ROOT.parent / "shared"
EVAL = SHARED / "eval" / "tot-dev.jsonl"


# --- measuring -----------------------------------------------------------------------------


def percentiles(times_ms: list[float]) -> dict[str, float]:
    ordered = sorted(times_ms) or [0.0]

    def at(share: float) -> float:
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "queries": len(times_ms)}


def _search_text(fs: FilmSearch, text: str, *, plain: bool, snippets: bool) -> Any:
    return fs.search(text, plain=plain, snippets=snippets)


def time_each(run: Callable[[str], Any], texts: list[str]) -> tuple[dict[str, float], list[Any]]:
    times, outputs = [], []
    for text in texts:
        start = time.perf_counter()
        outputs.append(run(text))
        times.append((time.perf_counter() - start) * 1000)
    return percentiles(times), outputs


def mrr_at_10(ranked_ids: list[list[str]], answers: list[str]) -> float:
    total = 0.0
    for ids, answer in zip(ranked_ids, answers, strict=True):
        if answer in ids[:10]:
            total += 1.0 / (ids.index(answer) + 1)
    return total / max(len(answers), 1)


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def peak_rss_mb() -> float:
    """The largest resident size of this process or any child it waited for."""
    return (
        max(
            resource.getrusage(who).ru_maxrss
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        / 1024
    )


# --- building (in a child process: `run.py build ENGINE OUT SOURCES...`) ---------------------


def read_films(sources: list[str]) -> Iterator[Film]:
    """The films of seed files, CSV and JSON Lines, as filmsearch reads them."""
    for path in iter_source_files(sources):
        if isinstance(path, str):
            with contextlib.suppress(DocumentError):
                yield from (
                    item.film for item in read_source(path) if not isinstance(item, DocumentError)
                )


def build_in_child(engine: str, out: Path, sources: list[Path]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "build", engine, str(out), *map(str, sources)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} build failed: {done.stderr.strip()[-500:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    source_mb = (
        sum(
            p.stat().st_size
            for s in sources
            for p in ([s] if s.is_file() else s.rglob("*"))
            if p.is_file()
        )
        / 1e6
    )
    figures.update(
        films_per_s=figures["films"] / figures["seconds"],
        mb_per_s=source_mb / figures["seconds"],
        source_mb=source_mb,
        index_mb=folder_mb(out),
    )
    return figures


def targets_in_child(index: Path, queries: int, work: Path) -> dict[str, Any]:
    """Issue 17's latency table (``benchmarks/ratios.py`` on ``index``: filmsearch, bm25s
    and tantivy interleaved) measured in a process of its own, so that what the earlier
    measurements of this run left in memory (plain Whoosh's searchers, bm25s's arrays,
    filmsearch's caches, garbage for the collector to walk) weighs on none of them."""
    out = work / "targets.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "ratios.py"), "--queries", str(queries)]
    done = subprocess.run(
        [*command, "--index", str(index), "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ratios.py failed: {done.stderr.strip()[-500:]}")
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return figures


def _tree_rss_mb() -> float:
    """Resident size of this process and all its descendants now (Linux /proc; else 0)."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            sizes[int(entry.name)] = int((entry / "statm").read_text().split()[1])
    tree, grown = {os.getpid()}, True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(sizes.get(pid, 0) for pid in tree) * resource.getpagesize() / 2**20


@contextlib.contextmanager
def sampling_tree_rss(peak: list[float], every: float = 0.5) -> Iterator[None]:
    """Keep ``peak[0]`` at the largest total resident size of this process tree (the
    workers of a parallel build included) while the block runs."""
    import threading

    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            peak[0] = max(peak[0], _tree_rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], _tree_rss_mb())


def cpu_seconds() -> float:
    """User and system CPU time of this process and the children it waited for."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


def child_build(engine: str, out: str, sources: list[str]) -> None:
    peak = [0.0]
    with sampling_tree_rss(peak):
        figures = _timed_build(engine, out, sources)
    figures["tree_rss_mb"] = peak[0]
    print(json.dumps(figures))


def _progress_logger(start: float) -> Callable[[Any], None] | None:
    """With FILMSEARCH_BENCH_PROGRESS set (a path), a build progress callback appending
    "films read, seconds, CPU seconds so far" there every 10,000 films and at the commit:
    a long build (a million films) can be followed and projected while it runs."""
    path = os.environ.get("FILMSEARCH_BENCH_PROGRESS")
    if not path:
        return None
    seen = {"films": 0, "phase": ""}

    def log(state: Any) -> None:
        if state.films - seen["films"] < 10_000 and state.phase == seen["phase"]:
            return
        seen.update(films=state.films, phase=state.phase)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(
                f"{state.phase} {state.films} films {time.perf_counter() - start:.0f} s "
                f"{cpu_seconds():.0f} CPU s (this process and finished children)\n"
            )

    return log


def _timed_build(engine: str, out: str, sources: list[str]) -> dict[str, float]:
    start = time.perf_counter()
    if engine.startswith("filmsearch"):
        jobs = int(engine.split(":")[1]) if ":" in engine else None
        films = build_index(sources, out, jobs=jobs, progress=_progress_logger(start)).films
    else:
        counted: list[Film] = []

        def counting() -> Iterator[Film]:
            for film in read_films(sources):
                counted.append(film)  # only the count is used; films are small
                yield film

        ANCHORS[engine]().build(counting(), Path(out))
        films = len(counted)
    return {
        "seconds": time.perf_counter() - start,
        "films": films,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_s": cpu_seconds(),
    }


# --- queries -------------------------------------------------------------------------------


def eval_requests(count: int) -> list[dict[str, Any]]:
    if not EVAL.is_file():
        return []
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    return rows[:count]


def fielded_queries(fs: FilmSearch, count: int, seed: int = 3) -> list[str]:
    """Director, cast-phrase and year-range queries built from films in the index."""
    rng = random.Random(seed)
    films = [
        hit
        for word in ("love", "war", "murder", "family", "city", "town", "night")
        for hit in fs.search(word, limit=200, snippets=False)
    ]
    queries: list[str] = []
    for hit in rng.sample(films, min(count, len(films))):
        word = rng.choice(hit.title.split())
        kind = len(queries) % 3
        if kind == 0 and hit.directors:
            queries.append(f'director:"{hit.directors[0]}"')
        elif kind == 1 and hit.cast:
            queries.append(f'cast:"{hit.cast[0]}" {words_only(word)}')
        elif hit.year:
            queries.append(f"year:{hit.year - 5}..{hit.year + 5} {words_only(word)}")
    return [q for q in queries if q.strip()]


def measure_filmsearch(index_dir: Path, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency of each kind of query, each measured from a freshly opened index.

    A fresh FilmSearch starts with empty word-score caches, so no measurement
    profits from the words an earlier one looked up.
    """
    row: dict[str, Any] = {}
    with FilmSearch(index_dir) as fs:
        fielded = fielded_queries(fs, 150)
    kinds = [(form, [r[form] for r in requests], True) for form in ("short", "long")]
    for form, texts, plain in [*kinds, ("fielded", fielded, False)]:
        for snippets in (True, False):
            with FilmSearch(index_dir) as fs:
                fs.search("open the files", snippets=False)
                figures, results = time_each(
                    functools.partial(_search_text, fs, plain=plain, snippets=snippets), texts
                )
            row[f"{form}_{'snippets' if snippets else 'no_snippets'}"] = figures
        if plain:
            answers = [Path(r["answer"]["file"]).stem for r in requests]
            row[f"{form}_mrr10"] = mrr_at_10([[h.id for h in r] for r in results], answers)
    return row


def measure_anchor(engine: Any, folder: Path, requests: list[dict[str, Any]]) -> dict[str, Any]:
    engine.open(folder)
    row: dict[str, Any] = {}
    for form in ("short", "long"):
        texts = [r[form] for r in requests]
        answers = [Path(r["answer"]["file"]).stem for r in requests]
        engine.search(texts[0])
        row[form], ranked = time_each(engine.search, texts)
        row[f"{form}_mrr10"] = mrr_at_10(ranked, answers)
    return row


def cli_cold_start_ms(index_dir: Path, runs: int = 5) -> float:
    exe = shutil.which("filmsearch") or str(Path(sys.executable).with_name("filmsearch"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [exe, "search", "whale trainer accident", "--index", str(index_dir), "-n", "1"],
            check=True,
            capture_output=True,
        )
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pruning_check(index_dir: Path, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """MRR@10 and latency of long requests with ranking.MAX_KEYWORDS and without a cap."""
    answers = [Path(r["answer"]["file"]).stem for r in requests]
    texts = [r["long"] for r in requests]
    row: dict[str, Any] = {}
    kept = ranking.MAX_KEYWORDS
    try:
        for label, cap in (("pruned", kept), ("unpruned", 100_000)):
            ranking.MAX_KEYWORDS = cap
            with FilmSearch(index_dir) as fs:
                figures, results = time_each(lambda t: fs.search(t, plain=True), texts)
            row[label] = {
                "max_keywords": cap,
                **figures,
                "mrr10": mrr_at_10([[h.id for h in r] for r in results], answers),
            }
    finally:
        ranking.MAX_KEYWORDS = kept
    row["mrr_change_pct"] = 100 * (row["pruned"]["mrr10"] / max(row["unpruned"]["mrr10"], 1e-9) - 1)
    return row


def synthetic_queries(count: int, words: int, seed: int) -> list[str]:
    films = generate_films(count, seed=seed)
    texts: list[str] = []
    for film in films:
        pool = (str(film["synopsis"]) + " " + str(film["wiki"])).split()
        if pool:
            rng = random.Random(len(texts))
            texts.append(" ".join(rng.sample(pool, min(words, len(pool)))))
    return texts


# --- the run -------------------------------------------------------------------------------

#: Synthetic sizes with issue 17's targets: measured by ratios.scale, beside bm25s and
#: tantivy (the same sizes as ratios.SCALE_TARGETS, which imports this module).
SCALE_TARGET_SIZES = (100_000, 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300, help="dev requests per form")
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="synthetic corpus sizes, comma-separated ('' for none)",
    )
    parser.add_argument("--no-anchors", action="store_true", help="filmsearch only")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="only build the synthetic corpora of --sizes and print the build figures",
    )
    parser.add_argument("--jobs", type=int, default=None, help="build processes (default: cores)")
    args = parser.parse_args()
    if args.build_only:
        synthetic_builds([int(s) for s in args.sizes.split(",") if s.strip()], args.jobs)
        return

    corpus = SHARED / "corpora" / "films"
    if not corpus.is_dir():
        print(f"{corpus} is absent: measuring on seeds/ only")
        corpus = ROOT / "seeds"
    requests = eval_requests(args.queries)
    results: dict[str, Any] = {"corpus": str(corpus), "builds": {}, "queries": {}}
    work = Path(tempfile.mkdtemp(prefix="filmsearch-bench-"))
    try:
        engines = ["filmsearch", "filmsearch:1"]
        if not args.no_anchors:
            for name, anchor in ANCHORS.items():
                try:
                    __import__({"whoosh": "whoosh", "bm25s": "bm25s", "tantivy": "tantivy"}[name])
                    engines.append(name)
                except ImportError:
                    print(f"{anchor.name} is not installed (pip install '.[bench]'): skipped")
        for engine in engines:
            print(f"building {engine} …", file=sys.stderr)
            results["builds"][engine] = build_in_child(
                engine, work / engine.replace(":", "-"), [corpus]
            )
        results["reindex_unchanged_s"] = (
            time_each(lambda _: build_index([corpus], work / "filmsearch"), ["again"])[0]["p50_ms"]
            / 1000
        )
        if requests:
            print("querying filmsearch …", file=sys.stderr)
            results["queries"]["filmsearch"] = measure_filmsearch(work / "filmsearch", requests)
            for engine in engines:
                if engine in ANCHORS:
                    print(f"querying {engine} …", file=sys.stderr)
                    results["queries"][engine] = measure_anchor(
                        ANCHORS[engine](), work / engine, requests
                    )
                    gc.collect()
            print("pruning check …", file=sys.stderr)
            results["pruning"] = pruning_check(work / "filmsearch", requests)
            if {"bm25s", "tantivy"} <= set(engines):
                print("issue 17 targets, interleaved with bm25s and tantivy …", file=sys.stderr)
                results["targets"] = targets_in_child(work / "filmsearch", args.queries, work)
        results["cli_cold_start_ms"] = cli_cold_start_ms(work / "filmsearch")
        results["synthetic"] = {}
        results["scale_targets"] = {}
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            if size in SCALE_TARGET_SIZES and {"bm25s", "tantivy"} <= set(engines):
                print(f"{size:,} synthetic films, with bm25s and tantivy …", file=sys.stderr)
                from benchmarks import ratios

                (work / f"scale-{size}").mkdir()
                results["scale_targets"][str(size)] = ratios.scale(
                    size, 200, work / f"scale-{size}"
                )
                shutil.rmtree(work / f"scale-{size}", ignore_errors=True)
                continue
            print(f"synthetic corpus of {size:,} films …", file=sys.stderr)
            source = work / f"synthetic-{size}.jsonl"
            write_corpus(source, size)
            row: dict[str, Any] = dict(
                build_in_child("filmsearch", work / f"synthetic-{size}", [source])
            )
            with FilmSearch(work / f"synthetic-{size}") as fs:
                for label, words in (("short", 3), ("long", 40)):
                    texts = synthetic_queries(200, words, seed=size + words)
                    search = functools.partial(_search_text, fs, plain=True, snippets=True)
                    row[f"{label}_snippets"] = time_each(search, texts)[0]
            results["synthetic"][str(size)] = row
            shutil.rmtree(work / f"synthetic-{size}", ignore_errors=True)
            source.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results["machine"] = (
        f"{platform.node()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}"
    )
    report(results)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))


def synthetic_builds(sizes: list[int], jobs: int | None) -> None:
    """Build each synthetic corpus in a child process; print films/s, wall and CPU time,
    and peak memory (of the largest process, and of all build processes together)."""
    engine = f"filmsearch:{jobs}" if jobs else "filmsearch"
    work = Path(tempfile.mkdtemp(prefix="filmsearch-bench-"))
    try:
        for size in sizes:
            source = work / f"synthetic-{size}.jsonl"
            write_corpus(source, size)
            print(f"building {size:,} synthetic films ({engine}) …", file=sys.stderr)
            row = build_in_child(engine, work / f"synthetic-{size}", [source])
            print(
                f"synthetic {size:,} films: build {row['seconds']:.1f} s wall, "
                f"{row['cpu_s']:.0f} CPU s ({row['films_per_s']:.0f} films/s, "
                f"{row['films'] / row['cpu_s']:.0f} films per CPU s), peak RSS "
                f"{row['peak_rss_mb']:.0f} MB largest process, {row['tree_rss_mb']:.0f} MB "
                f"all processes; index {row['index_mb']:.0f} MB",
                flush=True,
            )
            shutil.rmtree(work / f"synthetic-{size}", ignore_errors=True)
            source.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict[str, Any]) -> None:
    print(f"machine: {results['machine']}\ncorpus: {results['corpus']}\n")
    builds = results["builds"]
    print(
        f"{'build':<14}{'films':>8}{'seconds':>9}{'films/s':>9}{'MB/s':>7}"
        f"{'peak RSS MB':>13}{'index MB':>10}{'ours/this':>11}"
    )
    ours = builds.get("filmsearch", {}).get("seconds")
    for name, row in builds.items():
        ratio = f"{ours / row['seconds']:.2f}" if ours else "-"
        print(
            f"{name:<14}{row['films']:>8}{row['seconds']:>9.1f}{row['films_per_s']:>9.0f}"
            f"{row['mb_per_s']:>7.1f}{row['peak_rss_mb']:>13.0f}{row['index_mb']:>10.1f}"
            f"{ratio:>11}"
        )
    queries = results["queries"]
    if queries:
        print(f"\n{'queries (ms)':<34}{'p50':>8}{'p95':>8}{'p99':>8}{'MRR@10':>8}")
        ours_q = queries["filmsearch"]
        for key, row in ours_q.items():
            if isinstance(row, dict):
                form = key.split("_")[0]
                mrr = ours_q.get(f"{form}_mrr10")
                print(
                    f"{'filmsearch ' + key:<34}{row['p50_ms']:>8.1f}{row['p95_ms']:>8.1f}"
                    f"{row['p99_ms']:>8.1f}{mrr if mrr is not None else '':>8.3}"
                )
        for name, row in queries.items():
            if name == "filmsearch":
                continue
            for form in ("short", "long"):
                own = ours_q[f"{form}_no_snippets"]
                with_snippets = ours_q[f"{form}_snippets"]
                figures = row[form]
                print(
                    f"{name + ' ' + form:<34}{figures['p50_ms']:>8.1f}{figures['p95_ms']:>8.1f}"
                    f"{figures['p99_ms']:>8.1f}{row[form + '_mrr10']:>8.3f}"
                    f"   ours/this p50 {own['p50_ms'] / figures['p50_ms']:.2f}"
                    f" (with snippets {with_snippets['p50_ms'] / figures['p50_ms']:.2f}),"
                    f" p95 {own['p95_ms'] / figures['p95_ms']:.2f}"
                )
    if "pruning" in results:
        pruning = results["pruning"]
        print(
            f"\npruning long requests to {pruning['pruned']['max_keywords']} words: MRR@10 "
            f"{pruning['pruned']['mrr10']:.4f} vs {pruning['unpruned']['mrr10']:.4f} "
            f"unpruned ({pruning['mrr_change_pct']:+.2f} %), p95 "
            f"{pruning['pruned']['p95_ms']:.1f} vs {pruning['unpruned']['p95_ms']:.1f} ms"
        )
    if "targets" in results:
        from benchmarks import ratios

        print("\n".join(ratios.report(results["targets"])))
    for lines in results.get("scale_targets", {}).values():
        print("\n".join(lines))
    print(f"\nre-index with nothing changed: {results['reindex_unchanged_s']:.2f} s")
    print(f"CLI cold start to first result: {results['cli_cold_start_ms']:.0f} ms")
    for size, row in results.get("synthetic", {}).items():
        print(
            f"synthetic {int(size):,} films: build {row['seconds']:.1f} s "
            f"({row['films_per_s']:.0f} films/s, {row['mb_per_s']:.1f} MB/s), peak RSS "
            f"{row['peak_rss_mb']:.0f} MB, index {row['index_mb']:.0f} MB; 3-word queries "
            f"p50 {row['short_snippets']['p50_ms']:.1f} / p95 "
            f"{row['short_snippets']['p95_ms']:.1f} ms; 40-word p50 "
            f"{row['long_snippets']['p50_ms']:.1f} / p95 {row['long_snippets']['p95_ms']:.1f} ms"
        )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "build":
        with contextlib.suppress(BrokenPipeError):
            child_build(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
