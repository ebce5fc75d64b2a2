"""What counts as a damaged index: errors of the code that reads index files, nothing else.

A truncated, emptied or garbled index file is reported as one line that says to
rebuild (IndexDamagedError). The same kinds of exception (AssertionError,
``struct.error``, an OSError, ...) raised by filmsearch's own code while an
index is being read are bugs: they surface unchanged, and the CLI calls them an
internal error, never a damaged index.
"""

from __future__ import annotations

import io
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from whoosh.filedb.filestore import FileStorage
from whoosh.util.varints import read_varint

from filmsearch.index import build_index
from filmsearch.index.errors import IndexDamagedError, is_damage, reading_index
from filmsearch.search import FilmSearch, term_scores
from filmsearch.search.cli import cli


@pytest.fixture
def index_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A copy of the seed index that a test may damage."""
    target = tmp_path / "ix"
    shutil.copytree(seed_index, target)
    return target


def raised(action: Callable[[], Any]) -> BaseException:
    """The exception ``action`` raises."""
    try:
        action()
    except BaseException as error:  # any kind: that is what is looked at
        return error
    raise AssertionError("nothing was raised")


# ---------------------------------------------------------------- damage is damage


def empty_toc(index_dir: Path) -> None:
    next(index_dir.glob("*.toc")).write_bytes(b"")


def empty_segment(index_dir: Path) -> None:
    next(index_dir.glob("*.seg")).write_bytes(b"")


def cut_toc(index_dir: Path) -> None:
    toc = next(index_dir.glob("*.toc"))
    toc.write_bytes(toc.read_bytes()[:7])


@pytest.mark.parametrize("damage", [empty_toc, empty_segment, cut_toc], ids=lambda f: f.__name__)
def test_files_emptied_or_cut_by_a_crash_are_a_damaged_index(
    index_copy: Path, seeds_dir: Path, damage: Callable[[Path], None]
) -> None:
    """A file a crash left empty or cut is damage, reported in one line with the way out."""
    damage(index_copy)
    with pytest.raises(IndexDamagedError, match="--rebuild"), FilmSearch(index_copy) as fs:
        fs.search("whale")
    with pytest.raises(IndexDamagedError):
        build_index([seeds_dir], index_copy)


def test_whoosh_reading_past_the_end_of_a_file_is_damage() -> None:
    error = raised(lambda: read_varint(io.BytesIO(b"").read))  # ord(b""): a TypeError
    assert isinstance(error, TypeError) and is_damage(error)


def test_a_missing_file_read_by_whoosh_is_damage(tmp_path: Path) -> None:
    error = raised(lambda: FileStorage(str(tmp_path)).open_file("MAIN_gone.seg"))
    assert isinstance(error, FileNotFoundError) and is_damage(error)
    with pytest.raises(IndexDamagedError) as caught, reading_index(tmp_path):
        FileStorage(str(tmp_path)).open_file("MAIN_gone.seg")
    assert isinstance(caught.value.__cause__, FileNotFoundError)  # what readers retry on


# ---------------------------------------------------------------- bugs are bugs


def assertion_bug() -> None:
    raise AssertionError("a bug in filmsearch")


def struct_bug() -> None:
    struct.unpack("<I", b"\x00")


def os_bug() -> None:
    open("/nonexistent/filmsearch/bug")  # noqa: SIM115


def decoding_bug() -> None:
    b"\xff".decode("utf-8")


@pytest.mark.parametrize(
    "bug", [assertion_bug, struct_bug, os_bug, decoding_bug], ids=lambda f: f.__name__
)
def test_errors_raised_by_filmsearch_code_while_reading_are_not_damage(
    tmp_path: Path, bug: Callable[[], None]
) -> None:
    error = raised(bug)
    assert not is_damage(error)
    with pytest.raises(type(error)) as caught, reading_index(tmp_path):
        bug()
    assert not isinstance(caught.value, IndexDamagedError)


def test_an_oserror_that_is_not_about_a_missing_file_is_not_damage(tmp_path: Path) -> None:
    """Too many open files, no memory, no permission: rebuilding would not help."""
    for code in (24, 12, 13):  # EMFILE, ENOMEM, EACCES
        error = OSError(code, "simulated", str(tmp_path / "MAIN_x.seg"))
        assert not is_damage(error)


def buggy_cache(monkeypatch: pytest.MonkeyPatch, bug: Callable[[], None]) -> None:
    """Filmsearch's idf of a word, computed while a search reads the index (by either
    scorer), has a bug."""

    def failing(searcher: Any, terms: Any) -> Any:
        bug()

    monkeypatch.setattr(term_scores, "word_idf", failing)


@pytest.mark.parametrize("arrays", [True, False], ids=["arrays", "python"])
@pytest.mark.parametrize("bug", [assertion_bug, struct_bug], ids=lambda f: f.__name__)
def test_a_bug_in_filmsearch_code_during_a_search_surfaces_as_itself(
    index_copy: Path, monkeypatch: pytest.MonkeyPatch, bug: Callable[[], None], arrays: bool
) -> None:
    expected = type(raised(bug))
    with FilmSearch(index_copy, arrays=arrays) as fs:
        assert fs.search("whale").total > 0
        buggy_cache(monkeypatch, bug)
        with pytest.raises(expected) as caught:
            fs.search("whale trainer")
    assert not isinstance(caught.value, IndexDamagedError)


def test_the_cli_calls_a_bug_an_internal_error_not_a_damaged_index(
    index_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FILMSEARCH_DEBUG", raising=False)
    buggy_cache(monkeypatch, assertion_bug)
    result = CliRunner().invoke(cli, ["search", "whale", "--index", str(index_copy)])
    assert result.exit_code == 1
    assert "internal error: AssertionError" in result.output
    assert "damaged" not in result.output and "--rebuild" not in result.output
