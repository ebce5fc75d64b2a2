"""Facets and filters that combine, as a user of the library and of the command sees them."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from filmsearch.search import FilmSearch, QueryError


def ids(fs: FilmSearch, text: str = "", **options: object) -> set[str]:
    return {hit.id for hit in fs.search(text, limit=500, snippets=False, **options)}  # type: ignore[arg-type]


def test_facets_count_every_match_not_only_the_page(seed_search: FilmSearch) -> None:
    page = seed_search.search("love", limit=2, facets=["decade", "genre", "director", "cast"])
    everything = seed_search.search("love", limit=500, snippets=False)
    assert len(page) == 2 and page.total == everything.total > 2
    genres = Counter(genre for hit in everything for genre in hit.genres)
    assert {v["value"]: v["count"] for v in page.facets["genre"]} == dict(genres.most_common(10))
    decades = Counter(f"{hit.year // 10 * 10}s" for hit in everything if hit.year)
    assert {v["value"]: v["count"] for v in page.facets["decade"]} == dict(decades)
    counts = [v["count"] for v in page.facets["director"]]
    assert counts == sorted(counts, reverse=True)


def test_facets_follow_the_filters(seed_search: FilmSearch) -> None:
    results = seed_search.search(director="audiard", facets=["director", "decade"])
    assert results.facets["director"] == [{"value": "Jacques Audiard", "count": results.total}]


def test_no_facets_asked_none_given(seed_search: FilmSearch) -> None:
    results = seed_search.search("whale")
    assert results.facets == {} and "facets" not in results.to_dict()


def test_unknown_facet_names_the_valid_ones(seed_search: FilmSearch) -> None:
    with pytest.raises(ValueError, match="unknown facet 'studio'; facets are decade, year, genre"):
        seed_search.search("whale", facets=["studio"])


def test_decade_filters_and_syntax_mean_the_years(seed_search: FilmSearch) -> None:
    nineties = ids(seed_search, year=(1990, 1999))
    assert nineties
    assert ids(seed_search, decade="1990s") == nineties
    assert ids(seed_search, decade=1990) == nineties
    assert ids(seed_search, "decade:1990s") == nineties
    assert ids(seed_search, "year:1990s") == nineties
    assert ids(seed_search, "decade:90s") == nineties
    with pytest.raises(QueryError, match="decade"):
        seed_search.search("decade:nineties")


def test_repeated_filters_mean_or_within_a_field_and_across_fields(
    seed_search: FilmSearch,
) -> None:
    drama, comedy = ids(seed_search, genre="drama"), ids(seed_search, genre="comedy")
    assert drama and comedy and drama != comedy
    either = ids(seed_search, genre=["drama", "comedy"])
    assert either == drama | comedy
    assert ids(seed_search, genre=("drama", "comedy")) == either
    nineties = ids(seed_search, decade="1990s")
    assert ids(seed_search, genre=["drama", "comedy"], decade="1990s") == either & nineties
    assert ids(seed_search, decade=["1990s", "2010s"]) == nineties | ids(
        seed_search, decade="2010s"
    )
    assert ids(seed_search, year=["1993", (2012, 2012)]) == ids(seed_search, year=1993) | ids(
        seed_search, year=2012
    )
    assert ids(seed_search, director=["audiard", "sciamma"]) == ids(
        seed_search, director="audiard"
    ) | ids(seed_search, director="sciamma")


def test_a_two_int_year_list_is_refused_as_ambiguous(seed_search: FilmSearch) -> None:
    with pytest.raises(TypeError, match=r"year=\[2010, 2015\] is ambiguous"):
        seed_search.search("", year=[2010, 2015])  # type: ignore[arg-type]


def test_cli_repeated_options_and_facets_in_json(seed_cli, seed_search: FilmSearch) -> None:
    result = seed_cli("search", "--genre", "drama", "--genre", "comedy", "--decade", "1990s",
                 "--facets", "decade,genre", "-n", "100", "--json")  # fmt: skip
    assert result.exit_code == 0
    data = json.loads(result.output)
    expected = ids(seed_search, genre=["drama", "comedy"], decade="1990s")
    assert {hit["id"] for hit in data["hits"]} == expected
    assert data["facets"]["decade"] == [{"value": "1990s", "count": len(expected)}]
    assert {"value", "count"} == set(data["facets"]["genre"][0])


def test_cli_facets_block_for_people(seed_cli) -> None:
    result = seed_cli("search", "love", "--facets", "genre,decade", "-n", "1", "--no-snippets")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    genre = next(line for line in lines if line.startswith("genre: "))
    assert " · " in genre and "Drama" in genre
    assert any(line.startswith("decade: ") for line in lines)


def test_cli_unknown_facet_is_exit_2_in_one_line(seed_cli) -> None:
    result = seed_cli("search", "whale", "--facets", "decade,studio")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "unknown facet 'studio'; facets are decade, year, genre, director, cast" in (
        result.output
    )


def test_facets_in_hybrid_mode_count_the_lexical_matches(
    seed_search: FilmSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_semantic import use_fake_ranker

    lexical = seed_search.search("love", mode="lexical", facets=["genre"], genre="drama")
    use_fake_ranker(seed_search, monkeypatch)
    hybrid = seed_search.search("love", facets=["genre"], genre="drama")
    assert hybrid.mode == "hybrid"
    assert hybrid.facets == lexical.facets
    assert all("Drama" in hit.genres for hit in hybrid)
