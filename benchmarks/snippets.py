"""What snippets cost: now, at an earlier revision, and with Whoosh over every token.

    python benchmarks/snippets.py --index /tmp/corpus-sem [--queries 500] [--against REV] [--warm]

Runs the short and long requests of ../shared/eval/tot-dev.jsonl (lexical mode,
10 hits; each form and way on a freshly opened index, so that the words are
analysed as the queries come, as in a server) and times, inside the searcher,
``make_snippet`` and the whole making of each hit (``FilmSearch._hit``: the stored
fields made a Film, and its snippets), for these ways of making snippets:

- ``whole text``: the analyzer's chain over every token of the field (Whoosh
  stops at 32,768 characters) and Whoosh's fragmenter, as before issue 17;
- ``REV`` (with ``--against``): search/highlight.py as it was at git revision REV;
- ``now``: search/highlight.py as it is.

The ways take turns, request by request, so that the machine's load falls on all
alike. With ``--warm`` each way first answers all the requests once, untimed: the
figures are then those of a server whose words are all analysed already (the
Snowball stemmer is what a new word costs most). Prints, per form and way: the
snippets' time per query of 10 hits (p50/p95, wall and CPU), per hit, the hits'
whole time per query and per hit, the query's whole time with snippets (p50/p95)
and the snippets' share of it; and the cost per field on the 20 longest texts
shown. Machines that other work shares are noisy: the CPU times are the steadier
figures. Never part of the tests.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
    every token of the text goes through its chain of filters and Whoosh's fragmenter."""
    chain = functools.partial(analyzer.__call__)
    return make_snippet(text, terms, chain, max_scanned=WHOOSH_CHARLIMIT, **options)


def snippet_at(revision: str) -> Callable[..., Any]:
    """``make_snippet`` of search/highlight.py at git ``revision``."""
    source = subprocess.run(
        ["git", "show", f"{revision}:search/highlight.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "highlight_then.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("highlight_then", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    spec.loader.exec_module(module)
    return module.make_snippet  # type: ignore[no-any-return]


def at(values: list[float], share: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Timed:
    """A function with a stopwatch: wall and CPU ms and first argument's length of each call."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls: list[tuple[float, float, int]] = []

    def __call__(self, first: Any, *args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self.function(first, *args, **kwargs)
        finally:
            size = len(first) if isinstance(first, str) else 0
            self.calls.append(
                ((time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3, size)
            )


class Way:
    """One way of making snippets, on its own freshly opened index, and its figures."""

    def __init__(self, index: Path, snippet: Callable[..., Any]) -> None:
        self.index, self.snippet = index, Timed(snippet)
        self.hit = Timed(lambda *args: None)
        self.figures: dict[str, list[float]] = {
            key: [] for key in ("wall", "cpu", "hits", "hits_cpu", "whole", "per_hit")
        }
        self.per_hit_making: list[float] = []
        self.longest: list[tuple[float, float, int]] = []

    def reset(self) -> None:
        """Forget the figures so far."""
        for values in self.figures.values():
            values.clear()
        self.per_hit_making.clear()
        self.longest = []

    @contextmanager
    def opened(self) -> Iterator[FilmSearch]:
        with FilmSearch(self.index) as fs:
            fs.search("open the files", snippets=False, mode="lexical")
            yield fs

    @contextmanager
    def timed(self) -> Iterator[None]:
        """This way's snippets and stopwatches in the searcher (the ways take turns)."""
        self.hit.function = making = searcher.FilmSearch._hit

        def timed_hit(fs: Any, *args: Any) -> Any:
            return self.hit(fs, *args)

        with (
            mock.patch.object(searcher, "make_snippet", self.snippet),
            mock.patch.object(searcher.FilmSearch, "_hit", timed_hit),
        ):
            yield
        assert searcher.FilmSearch._hit is making

    def run(self, fs: FilmSearch, text: str) -> None:
        self.snippet.calls.clear()
        self.hit.calls.clear()
        with self.timed():
            start = time.perf_counter()
            results = fs.search(text, plain=True, snippets=True, mode="lexical")
            took = time.perf_counter() - start
        figures = self.figures
        figures["whole"].append(took * 1e3)
        figures["wall"].append(sum(call[0] for call in self.snippet.calls))
        figures["cpu"].append(sum(call[1] for call in self.snippet.calls))
        figures["hits"].append(sum(call[0] for call in self.hit.calls))
        figures["hits_cpu"].append(sum(call[1] for call in self.hit.calls))
        shown = max(1, len(results))
        figures["per_hit"] += [figures["wall"][-1] / shown] * len(results)
        self.per_hit_making += [figures["hits"][-1] / shown] * len(results)
        self.longest = sorted([*self.longest, *self.snippet.calls], key=lambda c: -c[2])[:20]

    def report(self, form: str, name: str) -> str:
        f, longest = self.figures, self.longest
        share = statistics.fmean(f["wall"]) / max(statistics.fmean(f["whole"]), 1e-9)
        return (
            f"{form:>5} {name:>10}: snippets per query p50 {at(f['wall'], 0.5):.2f} / "
            f"p95 {at(f['wall'], 0.95):.2f} ms (CPU p50 {at(f['cpu'], 0.5):.2f} / "
            f"p95 {at(f['cpu'], 0.95):.2f}), per hit p50 {at(f['per_hit'], 0.5):.3f} / "
            f"p95 {at(f['per_hit'], 0.95):.3f} ms; hits per query (Film + snippets) "
            f"p50 {at(f['hits'], 0.5):.2f} / p95 {at(f['hits'], 0.95):.2f} ms (CPU p50 "
            f"{at(f['hits_cpu'], 0.5):.2f}), per hit p50 {at(self.per_hit_making, 0.5):.3f}"
            f" ms; query with snippets p50 {at(f['whole'], 0.5):.1f} / p95 "
            f"{at(f['whole'], 0.95):.1f} ms, snippets {share:.0%} of it; 20 longest texts "
            f"(>= {longest[-1][2]:,} chars) {statistics.fmean(c[0] for c in longest):.2f} "
            f"ms each, max {max(c[0] for c in longest):.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--against", metavar="REV", help="also highlight.py at git revision REV")
    parser.add_argument("--warm", action="store_true", help="time a second pass of the requests")
    args = parser.parse_args()
    with EVAL.open(encoding="utf-8") as lines:
        requests = [json.loads(line) for line in lines][: args.queries]
    ways: dict[str, Callable[..., Any]] = {"whole text": whole_text_snippet}
    if args.against:
        ways[args.against[:10]] = snippet_at(args.against)
    ways["now"] = make_snippet
    print(f"{len(requests)} requests a form, lexical, 10 hits; snippets of synopsis and wiki")
    for form in ("short", "long"):
        runs = {name: Way(args.index, snippet) for name, snippet in ways.items()}
        with ExitStack() as stack:
            opened = {name: stack.enter_context(way.opened()) for name, way in runs.items()}
            for request in requests if args.warm else ():
                for name, way in runs.items():
                    way.run(opened[name], request[form])
            for way in runs.values():
                way.reset()
            for request in requests:
                for name, way in runs.items():
                    way.run(opened[name], request[form])
        for name, way in runs.items():
            print(way.report(form, name))


if __name__ == "__main__":
    main()
