"""Reading seed-format documents, including the messy ones real dumps contain."""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path

import pytest

from filmsearch.index import DocumentError, read_film
from filmsearch.index.documents import MAX_FIELD_CHARS, parse_bytes
from filmsearch.index.errors import NotFilmsError
from filmsearch.index.formats import iter_source_files
from tests.conftest import SHARED, seed_text


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_owners_seed_document_is_read_completely(seeds_dir: Path) -> None:
    film = read_film(seeds_dir / "000_d3cc3de14da1a221.txt").film
    assert film.title == "Rust and Bone"
    assert (film.year, film.runtime) == (2012, 122)
    assert film.directors == ("Jacques Audiard",)
    assert film.cast[:2] == ("Matthias Schoenaerts", "Marion Cotillard")
    assert film.cast[-1] == "Yannick Choirat"  # the trailing comma adds no empty name
    assert film.synopsis.startswith("A struggling single father")
    assert film.wiki.startswith("Rust and Bone (French")
    assert film.wiki.rstrip().endswith("post-fight victory ceremony.")  # runs to the end
    assert film.id == "000_d3cc3de14da1a221"


def test_crlf_and_bom_are_invisible(tmp_path: Path) -> None:
    text = seed_text(title="Crlf_Film", content="Line one.").replace("\n", "\r\n")
    film = read_film(write(tmp_path, "a.txt", codecs.BOM_UTF8 + text.encode())).film
    assert film.title == "Crlf Film"
    assert film.synopsis == "Line one."
    assert "\r" not in film.wiki


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    data = seed_text(title="Am\u00e9lie").encode("utf-16")
    assert read_film(write(tmp_path, "a.txt", data)).film.title == "Amélie"


def test_missing_empty_and_reordered_fields(tmp_path: Path) -> None:
    text = (
        "Odd_Film\nCast: \nContent: Plot here.\nGenre: Drama, Crime\n"
        "Director: Agnès Varda\nReleased Year: 1962\n"
    )
    parsed = read_film(write(tmp_path, "a.txt", text))
    film = parsed.film
    assert (film.year, film.runtime, film.cast) == (1962, None, ())
    assert film.directors == ("Agnès Varda",)
    assert film.genres == ("Drama", "Crime")
    assert film.synopsis == "Plot here."
    assert film.wiki == ""
    assert parsed.warnings == []


def test_content_continues_over_lines_and_wiki_keeps_key_like_lines(tmp_path: Path) -> None:
    text = (
        "T\nContent: First line.\nSecond line.\nWiki info:\nKeywords: heist, paris\n"
        "Director: not a header here\n"
    )
    film = read_film(write(tmp_path, "a.txt", text)).film
    assert film.synopsis == "First line.\nSecond line."
    assert "Keywords: heist, paris" in film.wiki
    assert film.directors == ()


def test_bad_utf8_is_replaced_with_a_warning(tmp_path: Path) -> None:
    data = b"Caf\xe9_Film\nReleased Year: 1990\nContent: ok\n"
    parsed = read_film(write(tmp_path, "latin.txt", data))
    assert parsed.film.title == "Caf\ufffd Film"
    assert len(parsed.warnings) == 1
    assert str(parsed.warnings[0]).startswith(f"{tmp_path / 'latin.txt'}:1: not valid UTF-8")


@pytest.mark.parametrize(
    "year, expected",
    [
        ("20122", None),
        ("-5", None),
        ("MMXII", None),
        ("2012-05-17", 2012),
        ("1999 (USA)", 1999),
        ("", None),
    ],
)
def test_years_that_make_no_sense_are_left_empty(
    tmp_path: Path, year: str, expected: int | None
) -> None:
    parsed = read_film(write(tmp_path, "a.txt", seed_text(year=year)))
    assert parsed.film.year == expected
    if year and expected is None:
        assert any("invalid year" in str(w) and ":2:" in str(w) for w in parsed.warnings)


@pytest.mark.parametrize(
    "runtime, expected",
    [("122", 122), ("122 min", 122), ("2h 2m", 122), ("2h", 120), ("long", None), ("0", None)],
)
def test_running_times(tmp_path: Path, runtime: str, expected: int | None) -> None:
    assert read_film(write(tmp_path, "a.txt", seed_text(runtime=runtime))).film.runtime == expected


def test_repeated_field_warns_and_last_wins(tmp_path: Path) -> None:
    parsed = read_film(write(tmp_path, "a.txt", "T\nReleased Year: 1990\nReleased Year: 1991\n"))
    assert parsed.film.year == 1991
    assert "repeated" in str(parsed.warnings[0]) and ":3:" in str(parsed.warnings[0])


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"  \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b"Released Year: 2000\nContent: no title\n", "no title line"),
    ],
)
def test_unusable_files_raise_a_located_error(tmp_path: Path, data: bytes, reason: str) -> None:
    path = write(tmp_path, "bad.txt", data)
    with pytest.raises(DocumentError) as caught:
        read_film(path)
    assert reason in str(caught.value)
    assert str(caught.value).startswith(f"{path}:")


def test_huge_fields_are_cut_with_a_warning() -> None:
    data = ("Big\nContent: " + "word " * (MAX_FIELD_CHARS // 4)).encode()
    parsed = parse_bytes(data, "big.txt")
    assert len(parsed.film.synopsis) == MAX_FIELD_CHARS
    assert any("cut" in str(w) for w in parsed.warnings)


def test_source_files_are_found_recursively_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/2.txt", "1.txt", ".hidden.txt", "notes.md"):
        write(tmp_path, name, "T\n")
    found = list(iter_source_files([tmp_path, tmp_path / "missing"]))
    assert found[:2] == [str(tmp_path / "1.txt"), str(tmp_path / "b" / "2.txt")]
    assert isinstance(found[2], DocumentError) and "no such file" in str(found[2])


def test_every_real_corpus_file_parses(shared_corpora: Path) -> None:
    files = sorted(shared_corpora.iterdir())[::25]
    titles = [read_film(path).film.title for path in files]
    assert all(titles) and len(titles) == len(files)
    assert SHARED.is_dir()


def test_a_title_with_no_known_field_is_not_a_film(tmp_path: Path) -> None:
    path = write(tmp_path, "requirements.txt", "click>=8\nwhoosh3\nTodo: pin versions\n")
    with pytest.raises(NotFilmsError) as caught:
        read_film(path)
    assert str(caught.value).startswith(f'{path}:1: not a film document (no "Released Year:"')
    forced = read_film(path, require_field=False)  # what --format seed asks for
    assert forced.film.title == "click>=8"
    assert any("only a title" in str(w) for w in forced.warnings)


def test_a_report_is_one_printable_line_whatever_the_file_name() -> None:
    error = DocumentError("/films/two\nlines\x1b[31m\udcff.txt", 3, "bad\x07 value\r")
    assert str(error) == "/films/two\\nlines\\x1b[31m\\xff.txt:3: bad\\x07 value\\r"
    assert error.path == "/films/two\nlines\x1b[31m\udcff.txt" and error.line == 3
    copy = pickle.loads(pickle.dumps(NotFilmsError("/a.txt", 1, "why")))
    assert isinstance(copy, NotFilmsError) and (copy.path, copy.line, copy.reason) == (
        "/a.txt",
        1,
        "why",
    )


def test_titles_and_numbers_are_bounded(tmp_path: Path) -> None:
    text = "T" * 5000 + "\nRunning time: " + "9" * 5000 + "\nReleased Year: " + "1" * 5000 + "\n"
    parsed = read_film(write(tmp_path, "a.txt", text))
    assert len(parsed.film.title) == 1000
    assert (parsed.film.year, parsed.film.runtime) == (None, None)
    reasons = sorted(w.reason.split(" ", 2)[1] for w in parsed.warnings)
    assert reasons == ["longer", "running", "year"]
