"""Ranking on the bundled seeds: the film a person means comes first."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from filmsearch.index import build_index
from filmsearch.search import FilmSearch, ranking
from filmsearch.search.ranking import bm25f, idf
from tests.conftest import seed_text

KNOWN_ITEMS = [
    ("whale trainer accident", "Rust and Bone"),
    ("trainers accidents", "Rust and Bone"),  # stemmed variant
    ("celine sallette", "Rust and Bone"),  # accented name, typed plain
    ("noemie merlant", "Portrait of a Lady on Fire"),
    ("almodovar mother", "All About My Mother"),
    ("director:audiard prison", "A Prophet"),  # director field
    ('cast:"marion cotillard" singer', "La Vie en Rose"),  # cast phrase
    ('director:"jean-pierre dardenne"', "Two Days, One Night"),  # one of two directors
    ("year:1950..1960 jewellery heist paris", "Rififi"),  # year range
    ("2001 space odyssey", "2001: A Space Odyssey"),  # digits and punctuation
    ("ocean's eleven", "Ocean's Eleven"),
    ("se7en", "Se7en"),
    ("8½", "8½"),
    ("dream heist", "Inception"),
    ("orca documentary", "Blackfish"),
    ("deaf secretary heist", "Read My Lips"),
    ("little robot garbage", "WALL-E"),
    ("kieslowski ferry storm", "Three Colours: Red"),
    ("boy frees captive orca", "Free Willy"),
    ("magician rivalry", "The Prestige"),
    ("shark island police chief", "Jaws"),
    ("comatose women clinic", "Talk to Her"),
]


@pytest.mark.parametrize("query, title", KNOWN_ITEMS)
def test_expected_film_is_ranked_first(seed_search: FilmSearch, query: str, title: str) -> None:
    results = seed_search.search(query, limit=3, snippets=False)
    assert [hit.title for hit in results][:1] == [title]


def test_film_matching_every_word_beats_one_word_everywhere(seed_search: FilmSearch) -> None:
    titles = [hit.title for hit in seed_search.search("whale trainer accident", limit=5)]
    assert titles[0] == "Rust and Bone"
    assert "Whale Rider" in titles[1:]  # title match on one word still ranks, below


def test_cast_phrase_never_spans_two_people(seed_search: FilmSearch) -> None:
    assert seed_search.search('cast:"schoenaerts marion"').total == 0
    assert seed_search.search('cast:"matthias schoenaerts"').total == 3


def test_director_query_finds_all_their_films(seed_search: FilmSearch) -> None:
    results = seed_search.search("director:audiard", limit=20)
    assert results.total == 6
    assert all("Jacques Audiard" in hit.directors for hit in results)


def test_year_range_and_runtime_filters_hold(seed_search: FilmSearch) -> None:
    results = seed_search.search("heist", year="1990..2005", runtime="..125", limit=50)
    assert results.total > 0
    assert all(1990 <= hit.year <= 2005 and hit.runtime <= 125 for hit in results)
    assert "Heat" not in {hit.title for hit in results}  # 170 minutes


def test_fielded_query_combines_as_and(seed_search: FilmSearch) -> None:
    results = seed_search.search('director:audiard year:2010..2015 cast:"marion cotillard"')
    assert [hit.title for hit in results] == ["Rust and Bone"]


def test_bm25f_saturates_and_grows_with_frequency() -> None:
    one = bm25f(2.0, [(1, 100, 100, 1.0, 0.75)])
    two = bm25f(2.0, [(2, 100, 100, 1.0, 0.75)])
    many = bm25f(2.0, [(1000, 100, 100, 1.0, 0.75)])
    assert one < two < many < 2.0 * (1.2 + 1)
    assert bm25f(2.0, [(1, 50, 100, 1.0, 0.75)]) > one  # shorter field, higher score
    split = bm25f(2.0, [(1, 100, 100, 1.0, 0.75), (1, 100, 100, 1.0, 0.75)])
    assert math.isclose(split, two)  # one word over two fields saturates once


def test_idf_is_positive_and_falls_with_document_frequency() -> None:
    assert idf(1, 1000) > idf(100, 1000) > idf(999, 1000) > 0


def test_long_queries_keep_their_rarest_words(seed_search: FilmSearch) -> None:
    from filmsearch.search import ranking
    from filmsearch.search.bm25f import Keywords, prune_keywords
    from filmsearch.search.query import parse_query

    filler = " ".join(f"film plot story the man woman unknownword{n}" for n in range(200))
    q = parse_query(f"{filler} marineland", seed_search._parser)
    assert isinstance(q, Keywords) and len(q.subqueries) > ranking.MAX_KEYWORDS
    pruned = prune_keywords(q, seed_search._searcher.reader(), ranking.MAX_KEYWORDS)
    assert len(pruned.subqueries) <= ranking.MAX_KEYWORDS
    assert "marineland" in str(pruned)  # in one film: kept
    titles = [hit.title for hit in seed_search.search(f"{filler} marineland", limit=5)]
    assert "Rust and Bone" in titles


def test_repeated_words_are_scored_once(seed_search: FilmSearch) -> None:
    once = seed_search.search("whale", limit=3)
    many = seed_search.search("whale " * 500, limit=3)
    assert [h.id for h in many] == [h.id for h in once]


def test_search_scores_follow_the_bm25f_formula(tmp_path: Path) -> None:
    films = {
        "a": ("Alpha", "zorblat zorblat city"),
        "b": ("Beta", "city lights"),
        "c": ("Zorblat", "nothing"),
    }
    for name, (title, content) in films.items():
        (tmp_path / f"{name}.txt").write_text(
            seed_text(title=title, content=content, wiki="", cast="", director="")
        )
    build_index([tmp_path], tmp_path / "ix")
    with FilmSearch(tmp_path / "ix") as fs:
        hits = {hit.title: hit.score for hit in fs.search("zorblat")}
    word_idf = idf(1, 3)  # one film per field at most
    synopsis_avg, title_avg = (3 + 2 + 1) / 3, 1.0  # words per synopsis and per title
    b_title = ranking.field_b("title")
    assert math.isclose(hits["Alpha"], bm25f(word_idf, [(2, 3, synopsis_avg, 1.0, 0.75)]))
    assert math.isclose(
        hits["Zorblat"],
        bm25f(
            word_idf,
            [
                (1, 1, title_avg, ranking.FIELD_WEIGHTS["title"], b_title),
                (1, 1, title_avg, ranking.FIELD_WEIGHTS["title_exact"], b_title),
            ],
        ),
    )
