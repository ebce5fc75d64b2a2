"""Build one corpus with two checkouts of filmsearch in turn, to compare them side by side.

    python benchmarks/build_ab.py OLD_CHECKOUT NEW_CHECKOUT --synthetic 100000 --rounds 3
    python benchmarks/build_ab.py OLD_CHECKOUT NEW_CHECKOUT --corpus ../shared/corpora/films

Each build is ``benchmarks/run.py build filmsearch`` of that checkout, run in a child with
the checkout's own code (``PYTHONPATH=<checkout>/src``); builds alternate old, new, old,
new... Prints each build's wall time, CPU time (the build's processes), peak RSS (the
largest process, and all of them together) and index size, then the medians and the
ratios new/old. On a shared machine only ratios of interleaved builds mean something.
Never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.synthetic import write_corpus

FIGURES = ("seconds", "cpu_s", "peak_rss_mb", "tree_rss_mb", "index_mb")


def build(checkout: Path, corpus: Path, out: Path) -> dict[str, float]:
    """Build ``corpus`` into ``out`` with ``checkout``'s code; its figures."""
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "build", "filmsearch", str(out), str(corpus)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["index_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    shutil.rmtree(out, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the checkout to compare with")
    parser.add_argument("new", type=Path, help="the checkout measured")
    parser.add_argument("--synthetic", type=int, default=100_000, help="synthetic films")
    parser.add_argument("--corpus", type=Path, help="build these files instead")
    parser.add_argument("--rounds", type=int, default=3, help="builds of each checkout")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="filmsearch-build-ab-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = work / f"synthetic-{args.synthetic}.jsonl"
            write_corpus(corpus, args.synthetic)
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for number in range(args.rounds):
            for label in ("old", "new"):
                figures = build(getattr(args, label).resolve(), corpus.resolve(), work / "index")
                runs[label].append(figures)
                print(
                    f"{number + 1} {label}: {figures['seconds']:.1f} s wall, "
                    f"{figures['cpu_s']:.1f} CPU s, peak RSS {figures['peak_rss_mb']:.0f} MB "
                    f"(all processes {figures['tree_rss_mb']:.0f} MB), "
                    f"index {figures['index_mb']:.0f} MB",
                    flush=True,
                )
        for name in FIGURES:
            old, new = (statistics.median(run[name] for run in runs[label]) for label in runs)
            print(f"median {name}: old {old:.1f}, new {new:.1f}, new/old {new / old:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
