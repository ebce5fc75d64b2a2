"""The plain-BM25 baseline (``search(..., baseline=True)``) is the textbook formula.

Title, synopsis and wiki text are read as one text; each query word scores

    idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),
    idf = log(1 + (N - df + 0.5) / (df + 0.5))

and a film's score is the sum over the query's words. The corpus here is small
enough to compute every score by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from filmsearch.index import build_index
from filmsearch.search import FilmSearch
from filmsearch.search.ranking import BASELINE_B, BASELINE_K1

from .conftest import seed_text

#: id: (title, synopsis, wiki). No word is a stop word or changes when stemmed, and every
#: film with a query word has it in its synopsis (df is the same in every reading).
FILMS = {
    "f1": ("Zeppelin Storm", "zeppelin zeppelin harbour violin", "desert"),
    "f2": ("Orphan Desert", "zeppelin harbour harbour harbour harbour harbour", "violin violin"),
    "f3": ("Violin", "storm zeppelin", "zeppelin"),
    "f4": ("Orphan", "orphan orphan desert", "storm storm storm"),
    "f5": ("Desert Storm", "violin", ""),
}


def textbook_bm25(query: str, k1: float, b: float) -> dict[str, float]:
    """Every film's BM25 score for ``query``, computed from FILMS by hand."""
    texts = {film: " ".join(fields).split() for film, fields in FILMS.items()}
    lowered = {film: [word.lower() for word in words] for film, words in texts.items()}
    count = len(lowered)
    avgdl = sum(len(words) for words in lowered.values()) / count
    scores: dict[str, float] = {}
    for word in query.split():
        df = sum(word in words for words in lowered.values())
        idf = math.log(1 + (count - df + 0.5) / (df + 0.5))
        for film, words in lowered.items():
            tf = words.count(word)
            if tf:
                norm = 1 - b + b * len(words) / avgdl
                scores[film] = scores.get(film, 0.0) + idf * tf * (k1 + 1) / (tf + k1 * norm)
    return scores


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilmSearch]:
    root = tmp_path_factory.mktemp("tiny")
    folder = root / "films"
    folder.mkdir()
    for film, (title, synopsis, wiki) in FILMS.items():
        (folder / f"{film}.txt").write_text(
            seed_text(title=title.replace(" ", "_"), content=synopsis, wiki=wiki,
                      director="", cast="")
        )  # fmt: skip
    build_index([folder], root / "ix")
    with FilmSearch(root / "ix") as fs:
        yield fs


def test_the_baseline_parameters_are_the_textbook_ones() -> None:
    assert (BASELINE_K1, BASELINE_B) == (1.2, 0.75)


@pytest.mark.parametrize("query", ["zeppelin", "harbour", "zeppelin harbour"])
def test_baseline_scores_are_textbook_bm25(tiny: FilmSearch, query: str) -> None:
    expected = textbook_bm25(query, BASELINE_K1, BASELINE_B)
    results = tiny.search(query, baseline=True, limit=10, snippets=False)
    found = {hit.id: hit.score for hit in results}
    assert found == pytest.approx(expected, rel=1e-9)
    assert results.total == len(expected)
    ranked = sorted(expected, key=lambda film: (-expected[film], film))
    assert [hit.id for hit in results] == ranked


def test_other_k1_and_b_would_give_other_scores(tiny: FilmSearch) -> None:
    """The corpus tells k1 and b apart: films differ in length and in term frequency."""
    found = {hit.id: hit.score for hit in tiny.search("zeppelin harbour", baseline=True)}
    for k1, b in ((2.0, BASELINE_B), (BASELINE_K1, 0.5), (BASELINE_B, BASELINE_K1)):
        assert found != pytest.approx(textbook_bm25("zeppelin harbour", k1, b), rel=1e-6)
