"""Descriptions: filler words weigh little, year and genre hints boost but never filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from filmsearch.index import build_index
from filmsearch.search import FilmSearch
from filmsearch.search.hints import read_hints
from tests.conftest import seed_text


@pytest.mark.parametrize(
    "text, years",
    [
        ("animated movie from the 2000s", ((2000, 2009),)),
        ("saw it in the early 90s", ((1990, 1994),)),
        ("a late-80s horror", ((1985, 1989),)),
        ("probably from '70s or 1995", ((1970, 1979), (1994, 1996))),
        ("no dates here, only 300 spartans", ()),
    ],
)
def test_year_and_decade_hints_are_read(text: str, years: tuple) -> None:
    assert read_hints(text).years == years


def test_genre_hints_are_read() -> None:
    assert read_hints("An animated, kind of scary film").genres == ("animation", "horror")
    assert read_hints("a man walks into a bar").genres == ()


@pytest.fixture()
def twins(tmp_path: Path) -> Path:
    """Two films with the same synopsis, from different decades and genres."""
    plot = "a lighthouse keeper finds a diver washed ashore"
    for name, title, year, genre in (
        ("a", "Keeper_One", "1984", "Horror"),
        ("b", "Keeper_Two", "2006", "Animation"),
    ):
        text = seed_text(title=title, year=year, content=plot, wiki="")
        (tmp_path / f"{name}.txt").write_text(
            text.replace("Wiki info:", f"Genre: {genre}\nWiki info:")
        )
    (tmp_path / "c.txt").write_text(
        seed_text(
            title="Movie_Scene_Remembered",
            year="1999",
            content="two chefs cook for a wedding",
            wiki="",
        )
    )
    build_index([tmp_path], tmp_path / "ix")
    return tmp_path / "ix"


def test_hints_boost_the_film_they_describe_without_filtering(twins: Path) -> None:
    with FilmSearch(twins) as fs:
        # Keeper One comes first when scores tie, so each hint must lift Keeper Two.
        recent = fs.search("that film from the 2000s where a lighthouse keeper finds a diver")
        assert [hit.title for hit in recent][:2] == ["Keeper Two", "Keeper One"]
        assert fs.search("lighthouse keeper finds a diver")[0].title == "Keeper One"
        cartoon = fs.search("animated thing where a lighthouse keeper finds a diver")
        assert [hit.title for hit in cartoon][:2] == ["Keeper Two", "Keeper One"]


def test_filler_words_do_not_outweigh_the_plot(twins: Path) -> None:
    with FilmSearch(twins) as fs:
        hits = fs.search("I remember a movie scene with a diver", plain=True)
        assert hits[0].title in ("Keeper One", "Keeper Two")
        assert [hit.title for hit in fs.search("movie scene")] == ["Movie Scene Remembered"]
