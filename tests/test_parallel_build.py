"""Parallel builds (``jobs`` > 1): odd file names, failing workers, a full disk, Ctrl-C.

A parallel build must never report success with films lost: a bad document is
reported and skipped, or the build fails with one clean exception and the index
stays as last committed. Its worker processes never outlive it and never print.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh.filedb.structfile import StructFile
from whoosh.writing import SegmentWriter

from filmsearch.index import FilmSearchError, build_index, open_index, writer
from filmsearch.search import FilmSearch
from tests.conftest import seed_text
from tests.helpers import PROJECT


def write_films(folder: Path, count: int, start: int = 0, word: str = "plot") -> Path:
    folder.mkdir(exist_ok=True)
    for number in range(start, start + count):
        (folder / f"f{number:04d}.txt").write_text(
            seed_text(title=f"Film_{number}", content=f"a {word} about token{number}")
        )
    return folder


def films_in(index_dir: Path) -> list[tuple[str, str]]:
    """Every live film in the index, as sorted (id, synopsis) pairs."""
    ix = open_index(index_dir)
    try:
        with ix.reader() as reader:
            return sorted((doc["id"], doc["synopsis"]) for doc in reader.all_stored_fields())
    finally:
        ix.close()


def child_pids() -> set[int]:
    """PIDs of the processes whose parent is this one."""
    children = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                children.add(int(entry))
    return children


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_file_name_that_is_not_utf8_is_indexed(tmp_path: Path, jobs: int) -> None:
    folder = write_films(tmp_path / "films", 250)
    odd = os.path.join(os.fsencode(folder), b"caf\xe9 \xff.txt")
    with open(odd, "w", encoding="utf-8") as handle:
        handle.write(seed_text(title="Odd_Name", content="the zeppelin of the odd file"))
    index_dir = tmp_path / "ix"
    report = build_index([folder], index_dir, jobs=jobs)
    assert (report.added, report.films, report.skipped) == (251, 251, [])
    assert len(films_in(index_dir)) == 251
    with FilmSearch(index_dir) as fs:
        (hit,) = fs.search("zeppelin")
        assert hit.title == "Odd Name"
        assert hit.path.endswith("caf\\xe9 \\xff.txt")  # escaped the same way every time
    again = build_index([folder], index_dir, jobs=jobs)
    assert (again.unchanged, again.added, again.replaced, again.removed) == (251, 0, 0, 0)
    os.remove(odd)
    assert build_index([folder], index_dir, jobs=jobs).removed == 1


def test_a_worker_that_fails_fails_the_build_and_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_films(tmp_path / "films", 150)
    index_dir = tmp_path / "ix"
    build_index([folder], index_dir, jobs=1)
    before = films_in(index_dir)
    write_films(folder, 300, start=150, word="saga")
    parent = os.getpid()
    add_document = writer.SEGMENT_WRITER.add_document

    def failing(self: SegmentWriter, **fields: object) -> None:
        if os.getpid() != parent and fields.get("title") == "Film 321":
            raise RuntimeError("analysis blew up")
        add_document(self, **fields)

    monkeypatch.setattr(writer.SEGMENT_WRITER, "add_document", failing)
    with pytest.raises(FilmSearchError, match=r"f0321\.txt.*analysis blew up") as caught:
        build_index([folder], index_dir, jobs=2)
    assert "\n" not in str(caught.value)
    assert films_in(index_dir) == before
    assert multiprocessing.active_children() == [] and not child_pids()
    monkeypatch.undo()
    assert build_index([folder], index_dir, jobs=2).films == 450


@pytest.mark.parametrize("first_build", [True, False])
def test_a_full_disk_in_a_worker_gives_one_oserror_and_keeps_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_build: bool
) -> None:
    folder = write_films(tmp_path / "films", 120)
    index_dir = tmp_path / "ix"
    if not first_build:
        build_index([folder], index_dir, jobs=1)
    before = films_in(index_dir) if not first_build else None
    write_films(folder, 300, start=120, word="saga")
    parent = os.getpid()
    write = StructFile.write

    def full_disk(self: StructFile, *args: object, **kwargs: object) -> object:
        if os.getpid() != parent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(self, *args, **kwargs)

    monkeypatch.setattr(StructFile, "write", full_disk)
    with pytest.raises(OSError) as caught:
        build_index([folder], index_dir, jobs=2)
    assert caught.value.errno == errno.ENOSPC
    assert "\n" not in str(caught.value)
    assert multiprocessing.active_children() == [] and not child_pids()
    monkeypatch.undo()
    if first_build:
        assert not [p for p in index_dir.iterdir() if p.name.startswith(".filmsearch-build")]
        with pytest.raises(FilmSearchError):
            FilmSearch(index_dir)
    else:
        assert films_in(index_dir) == before


def test_ctrl_c_in_a_progress_callback_stops_every_worker(tmp_path: Path) -> None:
    folder = write_films(tmp_path / "films", 150)
    index_dir = tmp_path / "ix"
    build_index([folder], index_dir, jobs=1)
    before = films_in(index_dir)
    write_films(folder, 450, start=150, word="saga")

    def interrupt(state: object) -> None:
        if getattr(state, "films", 0) >= 500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index([folder], index_dir, jobs=2, progress=interrupt)
    assert multiprocessing.active_children() == [] and not child_pids()
    assert films_in(index_dir) == before


BUILD = """
import sys
from filmsearch.index import build_index
try:
    print("go", flush=True)
    report = build_index([sys.argv[1]], sys.argv[2], jobs=2, rebuild=sys.argv[3] == "rebuild")
    print(report.films, flush=True)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


def start_build(*args: str) -> subprocess.Popen[str]:
    """Run BUILD in a new session (process group); returns once it is about to build."""
    process = subprocess.Popen(
        [sys.executable, "-c", BUILD, *args],
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "go\n"
    return process


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry))
    return members


def test_ctrl_c_at_random_moments_never_hangs_prints_or_loses_the_index(
    tmp_path: Path, stress: bool
) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it, at a random
    moment of a build of 400 films (four batches for the two workers; 700 with --stress).

    An interrupted build leaves the index as last committed: as it was, or, when the
    Ctrl-C came while the build was committing (it is deferred until the commit is
    done), as the build left it; never anything in between.
    """
    films = 700 if stress else 400
    small = write_films(tmp_path / "small", 30)
    big = write_films(tmp_path / "big", films, word="saga")
    index_dir = tmp_path / "ix"
    build_index([small], index_dir, jobs=1)
    before = films_in(index_dir)
    rng = random.Random()
    timing = start_build(str(big), str(tmp_path / "timing"), "rebuild")
    started = time.perf_counter()
    timing.communicate(timeout=300)
    full = time.perf_counter() - started
    built = films_in(tmp_path / "timing")
    finished = {True: built, False: sorted(before + built)}  # rebuild, update
    interrupted = 0
    for attempt in range(12 if stress else 3):
        rebuild = attempt % 2 == 0
        process = start_build(str(big), str(index_dir), "rebuild" if rebuild else "update")
        time.sleep(rng.uniform(0, full))
        os.killpg(process.pid, signal.SIGINT)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"the build hung after Ctrl-C (attempt {attempt})")
        assert "Traceback" not in err and "Process " not in err, err
        now = films_in(index_dir)
        if out.strip():  # the interrupt came after the build had finished
            assert out.strip() == str(films if rebuild else films + 30), err
            assert now == finished[rebuild]
        else:
            assert (process.returncode, err.strip()) == (130, "interrupted")
            assert now in (before, finished[rebuild]), "an interrupted build left a mix"
            interrupted += now == before
        deadline = time.monotonic() + 5
        while group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group_members(process.pid) == [], "worker processes outlived the build"
        if now != before:  # put the old index back for the next round
            build_index([small], index_dir, jobs=1, rebuild=True)
            assert films_in(index_dir) == before
    print(f"{interrupted} builds interrupted; a full build takes {full:.1f} s")
