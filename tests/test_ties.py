"""Deterministic ranking: equal scores are ordered by film id, so a ``--jobs 2`` build (films
spread over several segments, in another order) ranks exactly as a ``--jobs 1`` build."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmsearch.index import build_index
from filmsearch.search import FilmSearch

from .conftest import SEEDS, seed_text

#: Films with the very same text (so the very same scores), in folders whose order is
#: the reverse of their ids' order: d000/z149.txt, d001/z148.txt, ...
TWINS = 150
#: Three more groups of four identical films, their files in an order unlike their ids'.
GROUPS = {"tie_a": ["m3", "m1", "m4", "m2"], "tie_b": ["k9", "k2"], "tie_c": ["q5", "q0", "q7"]}

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("zeppelin", {}),
    ("zeppelin harbour", {}),
    ("a zeppelin drifts over the harbour at night and nobody sees it land", {}),
    ("zeppelin", {"plain": True}),
    ("zeppelin", {"baseline": True}),
    ("zeppelin", {"year": (2001, 2003)}),
    ("zeppelin", {"sort": "year"}),
    ("zeppelin", {"sort": "title"}),
    ("lighthouse", {}),
    ("lighthouse keeper", {}),
    ("title:lighthouse", {}),
    ("year:2001..2002", {}),
    ("", {}),
    ("whale", {}),
    ("love war", {}),
    ('"the city"', {}),
    ("director:audiard", {}),
    ("lighth*", {}),
]


def write_corpus(root: Path) -> Path:
    films = root / "films"
    shutil.copytree(SEEDS, films / "seeds")
    for number in range(TWINS):
        folder = films / f"d{number:03d}"
        folder.mkdir()
        (folder / f"z{TWINS - 1 - number:03d}.txt").write_text(
            seed_text(title="Zeppelin_Night", year="2001", content="a zeppelin over the harbour")
        )
    for group, names in GROUPS.items():
        for place, name in enumerate(names):
            folder = films / f"{group}_{place}"
            folder.mkdir()
            (folder / f"{name}.txt").write_text(
                seed_text(title=f"Lighthouse_{group}", year="2002",
                          content=f"a lighthouse keeper and a zeppelin, {group}")
            )  # fmt: skip
    return films


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, FilmSearch]]:
    """The same corpus built with one process and with two."""
    root = tmp_path_factory.mktemp("ties")
    films = write_corpus(root)
    searchers = {}
    for jobs in (1, 2):
        build_index([films], root / f"ix{jobs}", jobs=jobs)
        searchers[jobs] = FilmSearch(root / f"ix{jobs}")
    segments = len(list((root / "ix2").glob("*.seg")))
    assert segments >= 2, "the parallel build must spread the films over segments"
    yield searchers
    for fs in searchers.values():
        fs.close()


def ranking(fs: FilmSearch, query: str, options: dict[str, Any], **page: int) -> list[Any]:
    results = fs.search(query, snippets=False, **{"limit": 500, **page, **options})
    return [(hit.id, hit.score) for hit in results]


@pytest.mark.parametrize(("query", "options"), QUERIES, ids=lambda v: repr(v))
def test_one_and_two_jobs_rank_the_same(
    builds: dict[int, FilmSearch], query: str, options: dict[str, Any]
) -> None:
    one, two = (ranking(builds[jobs], query, options) for jobs in (1, 2))
    assert one, "the query must find films"
    assert [film for film, _ in two] == [film for film, _ in one]
    assert [score for _, score in two] == [score for _, score in one]


@pytest.mark.parametrize(
    ("query", "options"), [q for q in QUERIES if "sort" not in q[1]], ids=lambda v: repr(v)
)
@pytest.mark.parametrize("jobs", [1, 2])
def test_equal_scores_are_ordered_by_film_id(
    builds: dict[int, FilmSearch], jobs: int, query: str, options: dict[str, Any]
) -> None:
    ranked = ranking(builds[jobs], query, options)
    for (film, score), (next_film, next_score) in itertools.pairwise(ranked):
        assert score >= next_score
        if score == next_score:
            assert film < next_film, (film, next_film, score)


def test_the_twins_tie_and_come_in_id_order(builds: dict[int, FilmSearch]) -> None:
    for fs in builds.values():
        ranked = ranking(fs, "zeppelin harbour", {})
        twins = [(film, score) for film, score in ranked if film.startswith("z")]
        assert len(twins) == TWINS and len({score for _, score in twins}) == 1
        assert [film for film, _ in twins] == [f"z{n:03d}" for n in range(TWINS)]
        lighthouses = [film for film, _ in ranking(fs, "lighthouse keeper", {})]
        assert lighthouses == sorted(name for names in GROUPS.values() for name in names)


@pytest.mark.parametrize("jobs", [1, 2])
def test_pages_of_tied_films_neither_repeat_nor_skip(
    builds: dict[int, FilmSearch], jobs: int
) -> None:
    whole = ranking(builds[jobs], "zeppelin", {})
    pages = [
        film
        for offset in range(0, 60, 7)
        for film in ranking(builds[jobs], "zeppelin", {}, limit=7, offset=offset)
    ]
    assert pages == whole[:63]
