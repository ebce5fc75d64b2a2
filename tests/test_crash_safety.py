"""Killed builds, concurrent readers and writers, damaged indexes."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import whoosh.index
from click.testing import CliRunner

from filmsearch.index import IndexLockedError, IndexMismatchError, build_index
from filmsearch.index.errors import IndexDamagedError, IndexNotFoundError
from filmsearch.index.locking import writer_lock
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli
from tests.conftest import seed_text
from tests.helpers import PROJECT

QUERIES = [
    "whale trainer accident",
    "heist",
    "director:audiard",
    'cast:"marion cotillard"',
    "year:1950..1970",
    "zeppelin",
]


def snapshot(index_dir: Path) -> list:
    """Every film each of a few queries finds, with its score.

    Films with equal scores come in document order, which a parallel build
    does not fix, so they are listed by (score, id) here.
    """
    with FilmSearch(index_dir) as fs:
        return [
            (
                q,
                sorted(
                    (-round(hit.score, 6), hit.id)
                    for hit in fs.search(q, limit=5000, snippets=False)
                ),
            )
            for q in QUERIES
        ]


def synthetic_corpus(folder: Path, films: int) -> Path:
    folder.mkdir()
    rng = random.Random(7)
    words = [
        "zeppelin",
        "airship",
        "storm",
        "harbour",
        "orphan",
        "detective",
        "violin",
        "desert",
        "train",
    ]
    for number in range(films):
        plot = " ".join(rng.choice(words) for _ in range(60))
        (folder / f"z{number:05d}.txt").write_text(
            seed_text(title=f"Airship_{number}", content=plot, wiki=plot * 3)
        )
    return folder


BUILD = (
    "import sys; from filmsearch import build_index; print('go', flush=True); "
    "build_index([sys.argv[1]], sys.argv[2], rebuild=sys.argv[3] == 'rebuild')"
)


def start_build(corpus: Path, index_dir: Path, rebuild: bool) -> subprocess.Popen[str]:
    """A build in another process; returns once it has imported filmsearch and is about
    to build, so that a kill after a delay lands in the build, not in Python's start-up."""
    env = {"PYTHONPATH": str(PROJECT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            BUILD,
            str(corpus),
            str(index_dir),
            "rebuild" if rebuild else "update",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "go\n"
    return process


def test_sigkill_at_random_moments_never_loses_the_committed_index(
    seeds_dir: Path, tmp_path: Path, stress: bool
) -> None:
    """A build killed at any moment, from its first file read to its commit, leaves the
    index as last committed, or (killed after its commit) as the build left it."""
    films = 1500 if stress else 300
    big = synthetic_corpus(tmp_path / "big", films)
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir)
    before = snapshot(index_dir)

    # What a build that was not interrupted leaves, in either mode; also times it.
    started = time.perf_counter()
    build_index([big], tmp_path / "rebuilt", rebuild=True)
    full = time.perf_counter() - started
    shutil.copytree(index_dir, tmp_path / "updated")
    build_index([big], tmp_path / "updated")
    finished = {True: snapshot(tmp_path / "rebuilt"), False: snapshot(tmp_path / "updated")}

    rng = random.Random()
    wanted = 25 if stress else 4
    kills = tries = 0
    while kills < wanted and tries < 3 * wanted:
        tries += 1
        delay = rng.uniform(0.0, full)
        rebuild = tries % 2 == 0
        process = start_build(big, index_dir, rebuild=rebuild)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += process.returncode == -signal.SIGKILL
        now = snapshot(index_dir)
        # The old index exactly, or (killed after its commit) the finished one: never a mix.
        assert now in (before, finished[rebuild]), f"after a kill at {delay:.2f} s"
        if now != before:  # the build got through: put the old index back for the next round
            build_index([seeds_dir], index_dir, rebuild=True)
            assert snapshot(index_dir) == before
    assert kills == wanted

    build_index([big], index_dir)  # completes: no stale lock, no leftovers in the way
    with FilmSearch(index_dir) as fs:
        assert fs.search("title:airship", limit=1).total == films
        assert fs.search("whale trainer accident")[0].title == "Rust and Bone"
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".filmsearch-build")]
    print(f"{kills} kills in {tries} tries; a full build takes {full:.1f} s")


READER = """
import json, sys, time
from filmsearch.search import FilmSearch
seen, errors, deadline = set(), [], time.time() + float(sys.argv[2])
fs = FilmSearch(sys.argv[1])
count = 0
while time.time() < deadline:
    try:
        if count % 5 == 0:
            fs.close(); fs = FilmSearch(sys.argv[1])
        seen.add(fs.search("zeppelin", limit=1).total)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    count += 1
print(json.dumps({"seen": sorted(seen), "errors": errors[:5], "searches": count}))
"""


def test_searches_during_rebuilds_see_old_or_new_never_a_mix(
    seeds_dir: Path, tmp_path: Path, stress: bool
) -> None:
    """Two readers search while the index is rebuilt over and over, with 40 zeppelins and
    without: each search sees 0 or 40 (a few seed films make rebuilds quick and many)."""
    seconds = 8 if stress else 2  # of rebuilding while two readers search
    plain = tmp_path / "plain"
    plain.mkdir()
    for seed in sorted(seeds_dir.glob("*.txt"))[:5]:
        shutil.copy(seed, plain)
    with_zeppelins = tmp_path / "zeppelins"
    shutil.copytree(plain, with_zeppelins)
    for number in range(40):
        (with_zeppelins / f"zz{number}.txt").write_text(
            seed_text(title=f"Zeppelin_{number}", content="a zeppelin over the city")
        )
    index_dir = tmp_path / "ix"
    build_index([plain], index_dir)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(index_dir), str(seconds + 1)],
            env={"PYTHONPATH": str(PROJECT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    deadline = time.time() + seconds
    rebuilds = 0
    while time.time() < deadline or rebuilds < 4:
        build_index([with_zeppelins if rebuilds % 2 == 0 else plain], index_dir, rebuild=True)
        rebuilds += 1
    outcomes = [json.loads(reader.communicate(timeout=60)[0]) for reader in readers]
    for outcome in outcomes:
        assert outcome["errors"] == []
        assert set(outcome["seen"]) <= {0, 40}
        assert outcome["searches"] > 10
    print(f"{rebuilds} rebuilds; searches: {[o['searches'] for o in outcomes]}")


def test_a_second_writer_is_told_who_holds_the_index(seeds_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir)
    with writer_lock(str(index_dir)):
        with pytest.raises(IndexLockedError, match=r"being written by PID \d+"):
            build_index([seeds_dir], index_dir)
        result = CliRunner().invoke(cli, ["index", str(seeds_dir), "--index", str(index_dir)])
        assert result.exit_code == 1 and "being written by PID" in result.output
    assert build_index([seeds_dir], index_dir).unchanged > 0  # released


def test_a_killed_writers_lock_is_cleared_by_the_kernel(seeds_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    build_index([seeds_dir], index_dir)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filmsearch.index.locking import writer_lock\n"
            "with writer_lock(sys.argv[1]):\n print('held', flush=True); time.sleep(60)",
            str(index_dir),
        ],
        env={"PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(IndexLockedError, match=f"PID {holder.pid}"):
        build_index([seeds_dir], index_dir)
    holder.kill()
    holder.wait()
    assert build_index([seeds_dir], index_dir).unchanged > 0


def damage(index_dir: Path, how: str) -> None:
    segment = next(index_dir.glob("*.seg"))
    toc = next(index_dir.glob("*.toc"))
    if how == "truncated segment":
        with open(segment, "r+b") as handle:
            handle.truncate(segment.stat().st_size // 3)
    elif how == "deleted segment":
        segment.unlink()
    elif how == "garbled table of contents":
        toc.write_bytes(bytes(random.Random(1).getrandbits(8) for _ in range(500)))
    elif how == "truncated table of contents":
        toc.write_bytes(toc.read_bytes()[:40])


@pytest.mark.parametrize(
    "how",
    [
        "truncated segment",
        "deleted segment",
        "garbled table of contents",
        "truncated table of contents",
    ],
)
def test_damaged_index_gives_one_line_and_rebuild_repairs(
    seeds_dir: Path, seed_index: Path, tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whoosh retries a missing file ten times, 50 ms apart, on each of the searcher's
    # attempts (seconds per open); the outcome is the same without the waits.
    monkeypatch.setattr(whoosh.index, "sleep", lambda seconds: None)
    index_dir = tmp_path / "ix"
    shutil.copytree(seed_index, index_dir)
    damage(index_dir, how)
    with pytest.raises(IndexDamagedError, match="--rebuild"), FilmSearch(index_dir) as fs:
        fs.search("whale trainer accident")
    result = CliRunner().invoke(cli, ["search", "whale", "--index", str(index_dir)])
    assert result.exit_code == 1
    assert result.output.startswith(f"filmsearch: error: the index at {index_dir} is damaged")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    with pytest.raises(IndexDamagedError):
        build_index([seeds_dir], index_dir)  # an update cannot trust it
    build_index([seeds_dir], index_dir, rebuild=True)
    with FilmSearch(index_dir) as fs:
        assert fs.search("whale trainer accident")[0].title == "Rust and Bone"


def test_unrelated_folders_are_refused(tmp_path: Path, seeds_dir: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IndexNotFoundError):
        FilmSearch(tmp_path)
    result = CliRunner().invoke(cli, ["search", "whale", "--index", str(tmp_path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1


def test_a_whoosh_index_filmsearch_did_not_build_is_not_opened(tmp_path: Path) -> None:
    from whoosh import fields, index

    index.create_in(str(tmp_path), fields.Schema(body=fields.TEXT))
    with pytest.raises(IndexMismatchError, match="did not build"):
        FilmSearch(tmp_path)


SLOW_TO_NAME = """
import os, sys, time
pwrite = os.pwrite

def slow_pwrite(fd, data, offset):
    print("locked", flush=True)  # the lock is taken; the PID is not written yet
    time.sleep(1)
    return pwrite(fd, data, offset)

os.pwrite = slow_pwrite
from filmsearch.index.locking import writer_lock
with writer_lock(sys.argv[1]):
    print("named", flush=True)
    time.sleep(60)
"""

PAUSED_FIRST_BUILD = """
import os, sys, time
replace = os.replace
paused = []

def slow_replace(source, target):
    if not paused:  # the manifest of a first build: written, not yet in place
        paused.append(True)
        print("paused", flush=True)
        time.sleep(60)
    return replace(source, target)

os.replace = slow_replace
from filmsearch.index import build_index
build_index([sys.argv[1]], sys.argv[2])
"""


@pytest.mark.parametrize("moment", ["before it names itself", "in its first build"])
def test_a_racing_writer_is_always_told_the_pid_of_the_holder(
    seeds_dir: Path, tmp_path: Path, moment: str
) -> None:
    index_dir = tmp_path / "ix"
    if moment == "before it names itself":
        build_index([seeds_dir], index_dir)
        args = [SLOW_TO_NAME, str(index_dir)]
    else:
        args = [PAUSED_FIRST_BUILD, str(seeds_dir), str(index_dir)]
    holder = subprocess.Popen(
        [sys.executable, "-c", *args],
        env={"PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() in ("locked", "paused")
        with pytest.raises(IndexLockedError, match=rf"being written by PID {holder.pid};"):
            build_index([seeds_dir], index_dir)
        result = CliRunner().invoke(cli, ["index", str(seeds_dir), "--index", str(index_dir)])
        assert result.exit_code == 1 and f"being written by PID {holder.pid};" in result.output
    finally:
        holder.kill()
        holder.wait()
    assert build_index([seeds_dir], index_dir).films > 60
