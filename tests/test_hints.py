"""Descriptions: filler words weigh little, year and genre hints boost but never filter."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmsearch.index import build_index
from filmsearch.search import FilmSearch, hints
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


#: Pieces of text around what hints are made of (digits of other scripts, a long s that
#: matches "s" without regard to case, apostrophes, dashes).
HINT_PIECES = [
    "early", "Mid", "late", "90s", "1990S", "'90s", "90's", "2000s", "1995", "2012", "0", "s",
    "\u017f", "'", "-", " ", "\n", "19", "20", "\u0663\u0660", "horror", "x7",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HINT_PIECES), max_size=12).map("".join))
def test_the_quick_tests_before_the_expressions_never_change_the_hints(text: str) -> None:
    """``read_hints`` skips its expressions for texts without digits or without a decade's
    ending: the same hints as running them on every text."""
    quick = read_hints(text)
    always = re.compile("")  # (finds a match in any text)
    with mock.patch.multiple(hints, _DIGIT=always, _DECADE_END=always):
        assert read_hints(text) == quick


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
