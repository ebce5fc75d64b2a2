"""The library as a Python user calls it: forgiving argument types, clear type errors,
short reprs; and the CLI as a Unix tool (pipes, progress)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from filmsearch import BuildProgress, FilmSearch, build_index
from filmsearch.search.cli import StatusLine
from tests.helpers import PROJECT

SEEDS = PROJECT / "seeds"


def test_build_index_takes_one_path_as_str_or_pathlike(tmp_path: Path) -> None:
    as_str = build_index(str(SEEDS), tmp_path / "a")
    as_path = build_index(SEEDS, str(tmp_path / "b"))
    as_tuple = build_index((SEEDS,), tmp_path / "c")
    assert as_str.films == as_path.films == as_tuple.films == len(list(SEEDS.glob("*.txt")))


@pytest.mark.parametrize(
    ("paths", "index_dir", "argument"),
    [(42, "ix", "paths"), ([SEEDS, 3], "ix", "paths"), (b"seeds", "ix", "paths"),
     (SEEDS, 7, "index_dir")],
)  # fmt: skip
def test_build_index_wrong_types_name_the_argument(
    tmp_path: Path, paths: object, index_dir: object, argument: str
) -> None:
    target = tmp_path / "ix" if index_dir == "ix" else index_dir
    with pytest.raises(TypeError, match=f"^{argument} must"):
        build_index(paths, target)  # type: ignore[arg-type]  # the point of the test


def test_year_and_runtime_take_ints_tuples_and_text(seed_search: FilmSearch) -> None:
    def ids(**filters: object) -> list[str]:
        return [hit.id for hit in seed_search.search("", limit=100, **filters)]  # type: ignore[arg-type]

    assert ids(year=2012) == ids(year="2012") == ids(year=(2012, 2012))
    assert ids(year=2012)
    assert ids(year=(2010, 2015)) == ids(year="2010..2015")
    assert ids(year=(None, 1960)) == ids(year="..1960")
    assert ids(runtime=(None, 100)) == ids(runtime="..100")
    assert set(ids(year=2012)) < set(ids(year=(2010, 2015)))


@pytest.mark.parametrize(
    ("filters", "error", "argument"),
    [({"year": [2010, 2015]}, TypeError, "year"), ({"year": 2012.5}, TypeError, "year"),
     ({"runtime": (90, "x")}, TypeError, "runtime"), ({"year": (2015, 2010)}, ValueError, "year"),
     ({"limit": "10"}, TypeError, "limit"), ({"limit": 0}, ValueError, "limit"),
     ({"director": 3}, TypeError, "director")],
)  # fmt: skip
def test_search_wrong_arguments_raise_one_line_naming_them(
    seed_search: FilmSearch, filters: dict[str, object], error: type, argument: str
) -> None:
    with pytest.raises(error, match=argument) as raised:
        seed_search.search("whale", **filters)  # type: ignore[arg-type]
    assert "\n" not in str(raised.value)


def test_reprs_are_short(seed_search: FilmSearch) -> None:
    results = seed_search.search("whale", limit=10)
    assert len(repr(results)) < 200
    assert "whale" in repr(results) and results[0].title in repr(results)
    assert len(repr(results[0])) < 160 and results[0].id in repr(results[0])


def test_a_closed_pipe_ends_quietly(seed_index: Path) -> None:
    """``filmsearch search … | head -1``: no error, no traceback, the exit code of cat."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before anything is written
    done = subprocess.run(
        [sys.executable, "-m", "filmsearch", "search", "a", "-n", "60", "--index",
         str(seed_index)],
        stdout=writer, stderr=subprocess.PIPE, text=True, timeout=120,
    )  # fmt: skip
    os.close(writer)
    assert done.stderr == ""
    assert done.returncode == 141


def test_status_line_counts_films_and_prints_problems_above_it() -> None:
    screen = io.StringIO()
    with StatusLine(enabled=True, stream=screen) as status:
        status.build_progress(BuildProgress("reading", 1, 0, 1, 0, 5_000_000))
        status.above("skipped: a.csv:7: no title")
        status.build_progress(BuildProgress("committing", 6802, 1, 1, 5_000_000, 5_000_000))
    lines = screen.getvalue().split("\r\x1b[K")
    assert "indexing: 1 films read" in lines[1]
    assert lines[2].startswith("skipped: a.csv:7: no title\n")  # on its own line, then redrawn
    assert "committing 6,802 films" in screen.getvalue()


def test_status_line_is_silent_off_a_terminal() -> None:
    screen = io.StringIO()
    with StatusLine(enabled=False, stream=screen) as status:
        status.build_progress(BuildProgress("reading", 1, 0, 1, 0, 10))
    assert screen.getvalue() == ""
