"""Ranking on the bundled seeds: the film a person means comes first."""

from __future__ import annotations

import math
from collections.abc import Iterator

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


def test_formula_functions_give_hand_computed_values() -> None:
    assert math.isclose(idf(1, 3), math.log(8 / 3))  # log(1 + 2.5 / 1.5)
    assert math.isclose(idf(0, 10), math.log(22))
    assert idf(10, 10) > 0  # a word in every film still counts a little
    assert math.isclose(ranking.length_norm(10, 5, 0.75), 1.75)
    assert ranking.length_norm(7, 5, 0.0) == 1.0  # b = 0: no length normalisation
    assert math.isclose(ranking.field_factor(10, 5, 2.0, 0.75), 2 / 1.75)
    assert math.isclose(ranking.pseudo_tf(3, 10, 5, 2.0, 0.75), 24 / 7)
    assert math.isclose(ranking.saturate(2, 1.2), 1.375)  # 2 * 2.2 / 3.2
    assert ranking.saturate(0) == 0.0
    assert ranking.saturate(1e12, 1.2) < 2.2  # bounded by k1 + 1
    # tf~ = 1 * 1 / 1 + 2 * 2 / 1.75 = 23 / 7; 2 * (23/7) * 2.2 / (1.2 + 23/7)
    parts = [(1, 5, 5, 1.0, 0.75), (2, 10, 5, 2.0, 0.75)]
    assert math.isclose(bm25f(2.0, parts), 2 * 50.6 / 31.4)
    # textbook BM25: idf * tf (k1 + 1) / (tf + k1 (1 - b + b len / avg))
    assert math.isclose(ranking.bm25(1.5, 3, 20, 10, 1.2, 0.75), 1.5 * 3 * 2.2 / (3 + 1.2 * 1.75))
    assert math.isclose(ranking.bm25(1.5, 3, 20, 10), bm25f(1.5, [(3, 20, 10, 1.0, 0.75)]))
    assert ranking.coordination(1, 2, 2) == 0.5**ranking.COORDINATION
    assert ranking.coordination(1, 10, ranking.COORDINATION_MAX_CLAUSES + 1) == 1.0


#: A tiny corpus whose field lengths are counted by hand (made-up words: no stop
#: words, no stemming surprises). Films have no director or cast.
TINY = {
    "a": ("Alpha", "zorblat zorblat quexil", "city"),
    "b": ("Beta", "city lights", ""),
    "c": ("Zorblat", "vornik", ""),
    "d": ("Zorblat City", "plimb", ""),
}
N = len(TINY)
SYNOPSIS_AVG = (3 + 2 + 1 + 1) / N
TITLE_AVG = (1 + 1 + 1 + 2) / N  # title and title_exact
WIKI_AVG = (1 + 0 + 0 + 0) / N
B, B_TITLE = ranking.B, ranking.field_b("title")
W = ranking.FIELD_WEIGHTS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilmSearch]:
    root = tmp_path_factory.mktemp("tiny")
    for name, (title, content, wiki) in TINY.items():
        (root / f"{name}.txt").write_text(
            seed_text(title=title, content=content, wiki=wiki, cast="", director="")
        )
    build_index([root], root / "ix")
    with FilmSearch(root / "ix") as fs:
        yield fs


def scores(fs: FilmSearch, text: str) -> dict[str, float]:
    return {hit.title: hit.score for hit in fs.search(text, snippets=False)}


def test_search_scores_follow_the_bm25f_formula(tiny: FilmSearch) -> None:
    hits = scores(tiny, "zorblat")
    zorblat = idf(2, N)  # df: the largest over the fields (title: Zorblat, Zorblat City)
    assert set(hits) == {"Alpha", "Zorblat", "Zorblat City"}
    assert math.isclose(hits["Alpha"], bm25f(zorblat, [(2, 3, SYNOPSIS_AVG, 1.0, B)]))
    for title, length in (("Zorblat", 1), ("Zorblat City", 2)):
        title_parts = [
            (1, length, TITLE_AVG, W["title"], B_TITLE),
            (1, length, TITLE_AVG, W["title_exact"], B_TITLE),
        ]
        assert math.isclose(hits[title], bm25f(zorblat, title_parts))


def test_several_words_add_up_and_partial_matches_are_coordinated(tiny: FilmSearch) -> None:
    hits = scores(tiny, "zorblat city")
    zorblat, city = idf(2, N), idf(1, N)
    alpha = bm25f(zorblat, [(2, 3, SYNOPSIS_AVG, 1.0, B)]) + bm25f(
        city, [(1, 1, WIKI_AVG, W["wiki"], B)]
    )
    assert math.isclose(hits["Alpha"], alpha)  # both words: factor 1
    beta = bm25f(city, [(1, 2, SYNOPSIS_AVG, 1.0, B)])
    assert math.isclose(hits["Beta"], beta * 0.5**ranking.COORDINATION)  # 1 of 2 words
    zorblat_only = bm25f(
        zorblat, [(1, 1, TITLE_AVG, W["title"], B_TITLE), (1, 1, TITLE_AVG, 1.0, B_TITLE)]
    )
    assert math.isclose(hits["Zorblat"], zorblat_only * 0.5**ranking.COORDINATION)


def test_field_clauses_use_the_same_formula_and_idf(tiny: FilmSearch) -> None:
    """A clause aimed at one field is BM25F of that field alone, weight 1, with ranking.idf;
    a phrase adds up its words scored so."""
    hits = scores(tiny, "title:zorblat")
    zorblat, city = idf(2, N), idf(1, N)  # title df: 2 films and 1
    for title, length in (("Zorblat", 1), ("Zorblat City", 2)):
        expected = bm25f(zorblat, [(1, length, TITLE_AVG, 1.0, B_TITLE)])
        assert math.isclose(hits[title], expected)
    phrase = scores(tiny, 'title:"zorblat city"')
    assert list(phrase) == ["Zorblat City"]
    expected = bm25f(zorblat, [(1, 2, TITLE_AVG, 1.0, B_TITLE)]) + bm25f(
        city, [(1, 2, TITLE_AVG, 1.0, B_TITLE)]
    )
    assert math.isclose(phrase["Zorblat City"], expected)
