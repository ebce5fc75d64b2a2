"""What snippets cost, now and with the whole-text Whoosh analysis they replaced.

    python benchmarks/snippets.py --index /tmp/corpus-sem [--queries 500]

Runs the short and long requests of ../shared/eval/tot-dev.jsonl (lexical mode,
10 hits; each form and way on a freshly opened index, so that the words are
analysed as the queries come, as in a server) and times ``make_snippet`` inside
the searcher, for two ways of making snippets:

- ``whole text``: the analyzer's chain over every token of the field (Whoosh
  stops at 32,768 characters), as filmsearch did before issue 17;
- ``now``: the first MAX_SCANNED_CHARS characters, each distinct word analysed
  once (stemmed only if it can reach a query stem), the fragmenter fed only the
  tokens around matches.

Prints, per form and way: the snippets' time per query (p50/p95, wall and CPU),
per shown hit, the query's whole time with snippets (p50/p95) and the snippets'
share of it; and the cost per field on the 20 longest texts shown. Machines
that other work shares are noisy: the CPU times are the steadier figures.
Never part of the tests.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from filmsearch.search import FilmSearch, searcher  # noqa: E402
from filmsearch.search.highlight import make_snippet  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval" / "tot-dev.jsonl"
#: Whoosh's ContextFragmenter's own limit, the only one before issue 17.
WHOOSH_CHARLIMIT = 2**15


def whole_text_snippet(text: str, terms: frozenset[str], analyzer: Any, **options: Any) -> Any:
    """make_snippet as before issue 17: a bare callable hides the analyzer's make-up, so
    every token of the text goes through its chain of filters."""
    chain = functools.partial(analyzer.__call__)
    return make_snippet(text, terms, chain, max_scanned=WHOOSH_CHARLIMIT, **options)


def at(values: list[float], share: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Timed:
    """A snippet function with a stopwatch: wall and CPU ms and text length of each call."""

    def __init__(self, snippet: Callable[..., Any]) -> None:
        self.snippet = snippet
        self.calls: list[tuple[float, float, int]] = []

    def __call__(self, text: str, *args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self.snippet(text, *args, **kwargs)
        finally:
            self.calls.append(
                ((time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3, len(text))
            )


def measure(index: Path, texts: list[str], snippet: Callable[..., Any]) -> dict[str, Any]:
    """Snippet and query times of ``texts``, on a freshly opened index."""
    timed = Timed(snippet)
    wall, cpu, whole, per_hit = [], [], [], []
    longest: list[tuple[float, float, int]] = []
    with mock.patch.object(searcher, "make_snippet", timed), FilmSearch(index) as fs:
        fs.search("open the files", snippets=False, mode="lexical")
        for text in texts:
            timed.calls.clear()
            start = time.perf_counter()
            results = fs.search(text, plain=True, snippets=True, mode="lexical")
            whole.append((time.perf_counter() - start) * 1e3)
            wall.append(sum(call[0] for call in timed.calls))
            cpu.append(sum(call[1] for call in timed.calls))
            per_hit += [wall[-1] / max(1, len(results))] * len(results)
            longest = sorted([*longest, *timed.calls], key=lambda call: -call[2])[:20]
    return {
        "wall": wall,
        "cpu": cpu,
        "whole": whole,
        "per_hit": per_hit,
        "share": statistics.fmean(wall) / max(statistics.fmean(whole), 1e-9),
        "longest": longest,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    with EVAL.open(encoding="utf-8") as lines:
        requests = [json.loads(line) for line in lines][: args.queries]
    ways = {"whole text": whole_text_snippet, "now": make_snippet}
    print(f"{len(requests)} requests a form, lexical, 10 hits; snippets of synopsis and wiki")
    for form in ("short", "long"):
        texts = [request[form] for request in requests]
        for way, snippet in ways.items():
            row = measure(args.index, texts, snippet)
            longest = row["longest"]
            print(
                f"{form:>5} {way:>10}: snippets per query p50 {at(row['wall'], 0.5):.2f} / "
                f"p95 {at(row['wall'], 0.95):.2f} ms (CPU p50 {at(row['cpu'], 0.5):.2f} / "
                f"p95 {at(row['cpu'], 0.95):.2f}), per hit p50 {at(row['per_hit'], 0.5):.3f} / "
                f"p95 {at(row['per_hit'], 0.95):.3f} ms; query with snippets p50 "
                f"{at(row['whole'], 0.5):.1f} / p95 {at(row['whole'], 0.95):.1f} ms, snippets "
                f"{row['share']:.0%} of it; 20 longest texts (>= {longest[-1][2]:,} chars) "
                f"{statistics.fmean(c[0] for c in longest):.2f} ms each, max "
                f"{max(c[0] for c in longest):.2f}"
            )


if __name__ == "__main__":
    main()
