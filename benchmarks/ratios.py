"""filmsearch against bm25s and tantivy, the same requests interleaved in one process.

    pip install '.[bench]'
    python benchmarks/ratios.py         # the 6,802 films of ../shared, 500 requests a form
    python benchmarks/ratios.py --queries 200 --index /tmp/films.idx    # reuse an index
    python benchmarks/ratios.py --synthetic 100000 --queries 300        # synthetic films

Every engine answers request i before any answers request i+1, so a machine
that is busy for a while slows all of them alike; ratios, not milliseconds,
are what compare across runs. Prints p50/p95 per engine and form (filmsearch
through the library, plain words as ``filmsearch eval`` searches them, with
and without snippets and typo correction; with the postings arrays and with
the Python scorer),
the ratios to bm25s and tantivy, and whether issue 17's latency targets are
met: p50 without snippets ≤ 3x bm25s (short and long requests), p95 with
snippets ≤ 5 ms (short) and ≤ 10 ms (long). With ``--synthetic N``: N films of
``benchmarks/synthetic.py``, each engine built in a child process (wall time,
peak RSS, index size), then 3-word queries of the films' own words, and the
targets for that size: 100,000 films built in ≤ 60 s, p95 ≤ 30 ms, RSS ≤ 1 GB;
1,000,000 in ≤ 15 minutes, p95 ≤ 150 ms, RSS ≤ 4 GB. Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.anchors import ANCHORS  # noqa: E402
from benchmarks.run import (  # noqa: E402
    build_in_child,
    eval_requests,
    percentiles,
    read_films,
    synthetic_queries,
)
from benchmarks.synthetic import write_corpus  # noqa: E402
from filmsearch.index import build_index  # noqa: E402
from filmsearch.search import FilmSearch  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "films"
#: (form, target ratio of filmsearch's p50 without snippets to bm25s's)
P50_TARGETS = {"short": 3.0, "long": 3.0}
#: (form, p95 in ms with snippets)
P95_SNIPPET_TARGETS = {"short": 5.0, "long": 10.0}
#: films -> (build seconds, 3-word p95 ms, peak RSS MB)
SCALE_TARGETS = {100_000: (60.0, 30.0, 1024.0), 1_000_000: (900.0, 150.0, 4096.0)}

#: The searching process's own peak RSS: VmHWM, of this program's memory only (Linux's
#: ru_maxrss also keeps the peak of the process it was forked from, before exec: here
#: the benchmark, with bm25s's index and four FilmSearch objects loaded).
SEARCH_RSS = """
import sys
from filmsearch import FilmSearch
with FilmSearch(sys.argv[1]) as fs:
    for line in sys.stdin:
        fs.search(line.strip(), plain=True)
with open("/proc/self/status") as status:
    peak = next(line for line in status if line.startswith("VmHWM:"))
print(int(peak.split()[1]) / 1024)
"""


def run(index: Path, anchors_dir: Path, texts: dict[str, list[str]]) -> dict[str, Any]:
    """Time every engine on every request, interleaved; p50/p95 per engine and form."""
    engines: dict[str, Any] = {}
    for name in ("bm25s", "tantivy"):
        anchor = ANCHORS[name]()
        anchor.open(anchors_dir / name)  # type: ignore[attr-defined]  # the anchors have open
        engines[name] = anchor.search
    # One FilmSearch each: each sees every request for the first time, as a user's would
    # (a shared one would let whichever ran second reuse the first one's work).
    arrays, snippets, exact = FilmSearch(index), FilmSearch(index), FilmSearch(index)
    python = FilmSearch(index, arrays=False)
    engines["filmsearch"] = lambda t: arrays.search(t, plain=True, snippets=False)
    engines["filmsearch, snippets"] = lambda t: snippets.search(t, plain=True)
    engines["filmsearch, exact"] = lambda t: exact.search(t, plain=True, exact=True, snippets=False)
    engines["filmsearch, Python scorer"] = lambda t: python.search(t, plain=True, snippets=False)
    figures: dict[str, Any] = {}
    for form, requests in texts.items():
        for search in engines.values():  # warm up: files opened, first caches filled
            search(requests[0])
        times: dict[str, list[float]] = {name: [] for name in engines}
        for number, text in enumerate(requests):
            names = list(engines)
            names = names[number % len(names) :] + names[: number % len(names)]  # rotate
            for name in names:
                start = time.perf_counter()
                engines[name](text)
                times[name].append((time.perf_counter() - start) * 1000)
        figures[form] = {name: percentiles(values) for name, values in times.items()}
    for opened in (arrays, snippets, exact, python):
        opened.close()
    return figures


def report(figures: dict[str, Any]) -> list[str]:
    lines = []
    for form, engines in figures.items():
        lines.append(f"\n{form} requests ({engines['bm25s']['queries']} each, ms)")
        lines.append(f"{'engine':28} {'p50':>8} {'p95':>8} {'p50 ÷ bm25s':>12} {'÷ tantivy':>10}")
        for name, row in engines.items():
            to_bm25s = row["p50_ms"] / engines["bm25s"]["p50_ms"]
            to_tantivy = row["p50_ms"] / engines["tantivy"]["p50_ms"]
            lines.append(
                f"{name:28} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f} "
                f"{to_bm25s:11.1f}x {to_tantivy:9.1f}x"
            )
    if "short" not in figures:
        return lines
    lines.append("\nissue 17 targets")
    for form, ratio in P50_TARGETS.items():
        found = figures[form]["filmsearch"]["p50_ms"] / figures[form]["bm25s"]["p50_ms"]
        verdict = "met" if found <= ratio else "NOT met"
        lines.append(f"  {form} p50 ≤ {ratio:g}x bm25s: {found:.1f}x — {verdict}")
    for form, limit in P95_SNIPPET_TARGETS.items():
        found = figures[form]["filmsearch, snippets"]["p95_ms"]
        verdict = "met" if found <= limit else "NOT met"
        lines.append(f"  {form} p95 with snippets ≤ {limit:g} ms: {found:.2f} ms — {verdict}")
    return lines


def scale(count: int, queries: int, work: Path) -> list[str]:
    """Build ``count`` synthetic films with every engine, time 3-word queries interleaved."""
    import subprocess

    corpus = work / f"synthetic-{count}.jsonl"
    write_corpus(corpus, count)
    lines = [f"\n{count:,} synthetic films"]
    builds = {}
    for engine in ("filmsearch", "bm25s", "tantivy"):
        builds[engine] = built = build_in_child(engine, work / engine, [corpus])
        lines.append(
            f"  build {engine:10} {built['seconds']:7.1f} s"
            f"  {built['films_per_s']:7,.0f} films/s  peak RSS {built['peak_rss_mb']:6.0f} MB"
            f"  index {built['index_mb']:6.0f} MB"
        )
    texts = synthetic_queries(queries, 3, seed=11)
    figures = run(work / "filmsearch", work, {"3 words": texts})
    lines += report(figures)
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_RSS, str(work / "filmsearch")],
        input="\n".join(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    search_rss = float(done.stdout.strip().splitlines()[-1])
    lines.append(f"  filmsearch searching: peak RSS {search_rss:.0f} MB")
    target = SCALE_TARGETS.get(count)
    if target is not None:
        found = (
            builds["filmsearch"]["seconds"],
            figures["3 words"]["filmsearch, snippets"]["p95_ms"],
            max(builds["filmsearch"]["peak_rss_mb"], search_rss),
        )
        for label, limit, value in zip(("build s", "p95 ms", "RSS MB"), target, found, strict=True):
            verdict = "met" if value <= limit else "NOT met"
            lines.append(f"  target {label} ≤ {limit:g}: {value:.1f} — {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500, help="dev requests per form")
    parser.add_argument("--index", type=Path, help="a filmsearch index of the corpus to reuse")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--synthetic", type=int, help="measure N synthetic films instead")
    args = parser.parse_args()
    if args.synthetic:
        with tempfile.TemporaryDirectory(prefix="filmsearch-scale-") as work:
            print("\n".join(scale(args.synthetic, args.queries, Path(work))))
        return
    corpus = CORPUS if CORPUS.is_dir() else ROOT / "seeds"
    requests = eval_requests(args.queries)
    if not requests:
        sys.exit("needs ../shared/eval/tot-dev.jsonl")
    texts = {form: [r[form] for r in requests] for form in ("short", "long")}
    with tempfile.TemporaryDirectory(prefix="filmsearch-ratios-") as work:
        folder = Path(work)
        index = args.index or folder / "filmsearch"
        if args.index is None:
            build_index([str(corpus)], index)
        for name in ("bm25s", "tantivy"):
            ANCHORS[name]().build(read_films([str(corpus)]), folder / name)
        figures = run(index, folder, texts)
    print(f"corpus: {corpus}")
    print("\n".join(report(figures)))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
