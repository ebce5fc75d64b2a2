"""How long ``filmsearch search`` takes to answer one query, from a cold process.

    python benchmarks/startup.py --index /tmp/corpus-sem [--runs 10] [--hybrid-runs 3]

Times whole processes (wall clock, around ``subprocess.run``), interleaved so that
a noisy machine weighs on each the same: ``python -c pass`` (Python's own start),
``python -c "import filmsearch"``, and ``filmsearch search QUERY --index INDEX
--mode lexical`` (output to a pipe, snippets on), each ``--runs`` times; prints the
median and the maximum, and the difference and ratio to ``python -c pass``. Then
the default (hybrid) search, which loads torch and the query model, ``--hybrid-runs``
times. Last, ``python -X importtime`` of the lexical search: the modules that take
longest to import, and which heavy libraries (nltk, numpy, torch, ...) load at all.
The commands may write bytecode (PYTHONDONTWRITEBYTECODE is dropped), as an
installed package has it: the first, unmeasured run of each compiles it.
Prints figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: The environment of the commands: bytecode is written, and read by the measured runs.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
HEAVY = ("nltk", "numpy", "scipy", "sklearn", "torch", "sentence_transformers", "transformers")


def command() -> list[str]:
    """The ``filmsearch`` console script of this Python, else ``python -m filmsearch``."""
    script = Path(sys.executable).with_name("filmsearch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "filmsearch"]


def wall(argv: list[str]) -> float:
    """Seconds from start to exit of ``argv``; fails loudly if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=ENV)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def timed(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Each command ``runs`` times, in turn, after one unmeasured run of each (disk cache)."""
    for argv in commands.values():
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(wall(argv))
    return times


def import_times(argv: list[str]) -> list[tuple[int, int, str, bool]]:
    """(self µs, cumulative µs, module, whether imported at top level) of every import
    ``argv`` (a Python command) makes."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]], capture_output=True, text=True, env=ENV
    )
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, total, name = line[len("import time:") :].split("|")
            top = len(name) - len(name.lstrip()) == 1  # nested imports are indented more
            rows.append((int(own), int(total), name.strip(), top))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--query", default="whale trainer accident")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hybrid-runs", type=int, default=3, help="0 skips the hybrid search")
    args = parser.parse_args()
    ENV.setdefault("HF_HUB_OFFLINE", "1")
    python = sys.executable
    search = [*command(), "search", args.query, "--index", str(args.index)]
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "import filmsearch": [python, "-c", "import filmsearch"],
        "search --mode lexical": [*search, "--mode", "lexical"],
    }
    print(f"{args.runs} runs each, interleaved; {' '.join(search)} --mode lexical")
    times = timed(commands, args.runs)
    base = statistics.median(times["python -c pass"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        line = f"{name:>22}: median {median * 1000:6.0f} ms, max {max(seconds) * 1000:6.0f} ms"
        if name != "python -c pass":
            line += f"; {(median - base) * 1000:+.0f} ms and {median / base:.1f}x python -c pass"
        print(line)
    if args.hybrid_runs:
        hybrid = timed({"search (hybrid)": search}, args.hybrid_runs)["search (hybrid)"]
        print(
            f"{'search (hybrid)':>22}: median {statistics.median(hybrid) * 1000:6.0f} ms, max "
            f"{max(hybrid) * 1000:6.0f} ms over {args.hybrid_runs} runs (torch and the model)"
        )
    script = [python, "-c", "from filmsearch.search.cli import main; main()", *search[1:]]
    python_own = {row[2] for row in import_times([python, "-c", "pass"])}
    for label, argv in (
        ("lexical search", [*script, "--mode", "lexical"]),
        ("import filmsearch", [python, "-c", "import filmsearch"]),
    ):
        rows = [row for row in import_times(argv) if row[2] not in python_own]
        loaded = {row[2].split(".")[0] for row in rows}
        heavy = [name for name in HEAVY if name in loaded]
        tops = sorted((row for row in rows if row[3]), key=lambda row: -row[1])
        total = sum(row[1] for row in tops)
        print(
            f"{label}: {len(rows)} modules imported beyond python's own, in {total / 1e3:.0f} ms"
            " (under -X importtime);"
            f" heavy libraries: {', '.join(heavy) or 'none'}"
        )
        if label == "lexical search":
            print("  biggest top-level imports, with what they import (ms)")
            for _, cumulative, name, _ in tops[:8]:
                print(f"    {cumulative / 1000:6.1f}  {name}")
            print("  slowest modules by their own import time (ms)")
            for own, _, name, _ in sorted(rows, key=lambda row: -row[0])[:12]:
                print(f"    {own / 1000:6.1f}  {name}")


if __name__ == "__main__":
    main()
