"""``Results.total`` after an incremental update counts the live films only.

An update marks the old versions of changed and removed files deleted in their
segment, and Whoosh keeps them (and counts them in its term statistics) until
the segment is merged away. Every kind of query must count, and return, only
the films now in the folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmsearch.index import build_index
from filmsearch.search import FilmSearch

from .conftest import seed_text


def film(number: int, word: str = "zeppelin") -> str:
    return seed_text(
        title=f"Airship_{number}",
        year=str(2000 + number),
        content=f"a {word} airship over the harbour, story {number}",
    )


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FilmSearch, Path]]:
    """Ten films built, then updated: two removed, two edited (the word zeppelin gone
    from them), one added. Eight films are live, six of them about a zeppelin."""
    root = tmp_path_factory.mktemp("updated")
    films = root / "films"
    films.mkdir()
    for number in range(10):
        (films / f"f{number}.txt").write_text(film(number))
    build_index([films], root / "ix")
    (films / "f0.txt").unlink()
    (films / "f1.txt").unlink()
    (films / "f2.txt").write_text(film(2, word="balloon"))
    (films / "f3.txt").write_text(film(3, word="balloon"))
    (films / "f10.txt").write_text(film(10))
    report = build_index([films], root / "ix")
    assert (report.added, report.replaced, report.removed, report.films) == (1, 2, 2, 9)
    with FilmSearch(root / "ix") as fs:
        yield fs, films


#: query, search options, the films it must find now.
ZEPPELIN = {f"f{n}" for n in (4, 5, 6, 7, 8, 9, 10)}
ALL = ZEPPELIN | {"f2", "f3"}
CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("zeppelin", {}, ZEPPELIN),
    ("zeppelin harbour", {}, ALL),
    ("airship", {}, ALL),
    ("zeppelin", {"plain": True}, ZEPPELIN),
    ("zeppelin", {"baseline": True}, ZEPPELIN),
    ("zeppel*", {}, ZEPPELIN),
    ('"zeppelin airship"', {}, ZEPPELIN),
    ("title:airship", {}, ALL),
    ("title:*", {}, ALL),
    ("year:2000..2003", {}, {"f2", "f3"}),
    ("zeppelin year:2000..2005", {}, {"f4", "f5"}),
    ("zeppelin", {"year": (2000, 2005)}, {"f4", "f5"}),
    ("balloon", {}, {"f2", "f3"}),
    ("", {}, ALL),
    ("zeppelin", {"sort": "year"}, ZEPPELIN),
    ("zeppelin", {"facets": ["decade"]}, ZEPPELIN),
]


@pytest.mark.parametrize(("query", "options", "expected"), CASES, ids=lambda v: repr(v))
def test_total_counts_the_live_films_after_an_update(
    updated: tuple[FilmSearch, Path], query: str, options: dict[str, Any], expected: set[str]
) -> None:
    fs, _ = updated
    everything = fs.search(query, limit=100, snippets=False, **options)
    assert {hit.id for hit in everything} == expected
    assert everything.total == len(expected)
    first = fs.search(query, limit=2, snippets=False, **options)
    assert first.total == len(expected) and len(first.hits) == 2


def test_stats_and_facets_count_the_live_films_after_an_update(
    updated: tuple[FilmSearch, Path],
) -> None:
    fs, films = updated
    assert fs.stats().films == len(list(films.iterdir())) == len(ALL)
    decades = fs.search("zeppelin", limit=1, facets=["decade"]).facets["decade"]
    assert {d["value"]: d["count"] for d in decades} == {"2000s": 6, "2010s": 1}
    assert fs.get("f0") is None and fs.get("f10") is not None


def test_a_fresh_build_gives_the_same_totals(
    updated: tuple[FilmSearch, Path], tmp_path: Path
) -> None:
    fs, films = updated
    copy = tmp_path / "films"
    shutil.copytree(films, copy)
    build_index([copy], tmp_path / "ix")
    with FilmSearch(tmp_path / "ix") as fresh:
        for query, options, _ in CASES:
            assert (
                fresh.search(query, limit=3, snippets=False, **options).total
                == fs.search(query, limit=3, snippets=False, **options).total
            ), query
