"""How long ``filmsearch search`` takes to answer one query, from a cold process.

    python benchmarks/startup.py --index /tmp/corpus-sem [--index OTHER ...] [--runs 10]
        [--hybrid-runs 3] [--against OLD/src]

Times whole processes (wall clock, around ``subprocess.run``), interleaved so that
a noisy machine weighs on each the same: ``python -c pass`` (Python's own start),
``python -c "import filmsearch"``, and ``filmsearch search QUERY --index INDEX
--mode lexical`` for each index (output to a pipe, snippets on), each ``--runs``
times; prints the median, the 90th percentile and the maximum, the median's
difference and ratio to ``python -c pass``, and the median CPU time (user and
system: other processes on a busy machine sway it less than the wall time). With
``--against``, the same searches also run on the ``filmsearch`` package under that
folder (``PYTHONPATH``: the ``src`` folder of another checkout, say the commit
before a change), side by side.
Then the default (hybrid) search of the first index, which loads torch and the
query model, ``--hybrid-runs`` times. Last, ``python -X importtime`` of the lexical
search of the first index: the modules that take longest to import, and which heavy
libraries (nltk, numpy, torch, ...) load at all.
The commands may write bytecode (PYTHONDONTWRITEBYTECODE is dropped), as an
installed package has it: the first, unmeasured run of each compiles it.
Prints figures only; never part of the tests.
"""

from __future__ import annotations

import argparse
import os
import resource
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


#: A command to time: its arguments, and the environment it runs in.
Command = tuple[list[str], dict[str, str]]


def wall(argv: list[str], env: dict[str, str] = ENV) -> tuple[float, float]:
    """Seconds from start to exit of ``argv``, and the CPU seconds it used (user and
    system: less swayed by other processes than the wall time); fails loudly if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, cpu


def timed(
    commands: dict[str, Command], runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of each command ``runs`` times, in turn, after one unmeasured
    run of each (disk cache)."""
    for argv, env in commands.values():
        wall(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            seconds, used = wall(argv, env)
            times[name].append(seconds)
            cpu[name].append(used)
    return times, cpu


def p90(seconds: list[float]) -> float:
    """The 90th percentile (of 10 runs: between the 9th and the 10th fastest)."""
    if len(seconds) < 2:
        return seconds[0]
    return statistics.quantiles(seconds, n=10, method="inclusive")[-1]


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
    parser.add_argument(
        "--index", type=Path, action="append", required=True, help="repeat: several indexes"
    )
    parser.add_argument("--query", default="whale trainer accident")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hybrid-runs", type=int, default=3, help="0 skips the hybrid search")
    parser.add_argument(
        "--against", type=Path, help="also time the filmsearch package in this folder (PYTHONPATH)"
    )
    args = parser.parse_args()
    ENV.setdefault("HF_HUB_OFFLINE", "1")
    python = sys.executable
    search = [*command(), "search", args.query, "--index", str(args.index[0])]
    commands: dict[str, Command] = {
        "python -c pass": ([python, "-c", "pass"], ENV),
        "import filmsearch": ([python, "-c", "import filmsearch"], ENV),
    }
    other = {**ENV, "PYTHONPATH": str(args.against.resolve())} if args.against else None
    for number, index in enumerate(args.index, start=1):
        argv = [*command(), "search", args.query, "--index", str(index), "--mode", "lexical"]
        print(f"lexical search {number}: {' '.join(argv)}")
        commands[f"lexical search {number}"] = (argv, ENV)
        if other is not None:
            commands[f"lexical search {number} (against)"] = (argv, other)
    if other is not None:
        print(f"(against): PYTHONPATH={other['PYTHONPATH']}")
    print(f"{args.runs} runs each, interleaved")
    times, cpu = timed(commands, args.runs)
    base = statistics.median(times["python -c pass"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        line = (
            f"{name:>30}: median {median * 1000:4.0f} ms, p90 {p90(seconds) * 1000:4.0f} ms,"
            f" max {max(seconds) * 1000:4.0f} ms,"
            f" CPU median {statistics.median(cpu[name]) * 1000:4.0f} ms"
        )
        if name != "python -c pass":
            line += f"; {(median - base) * 1000:+.0f} ms and {median / base:.1f}x python -c pass"
        print(line)
    if args.hybrid_runs:
        hybrid = timed({"search (hybrid)": (search, ENV)}, args.hybrid_runs)[0]["search (hybrid)"]
        print(
            f"{'search (hybrid)':>30}: median {statistics.median(hybrid) * 1000:6.0f} ms, max "
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
