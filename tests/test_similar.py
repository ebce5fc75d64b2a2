"""Films like this one, from the library and the command."""

from __future__ import annotations

import json

import pytest

from filmsearch.search import FilmSearch
from filmsearch.search.similar import FilmNotFoundError

RUST_AND_BONE = "000_d3cc3de14da1a221"


def test_similar_films_share_people_and_words_and_never_the_film(
    seed_search: FilmSearch,
) -> None:
    film = seed_search.get(RUST_AND_BONE)
    assert film is not None
    results = seed_search.similar(RUST_AND_BONE, limit=5)
    assert 1 <= len(results) <= 5 and results.total >= len(results)
    assert RUST_AND_BONE not in [hit.id for hit in results]
    assert [hit.rank for hit in results] == list(range(1, len(results) + 1))
    scores = [hit.score for hit in results]
    assert scores == sorted(scores, reverse=True)
    # the other Audiard and Cotillard films are the closest
    top = results[0]
    assert set(top.directors) & set(film.directors) or set(top.cast) & set(film.cast)


def test_every_seed_film_has_similar_films_without_itself(seed_search: FilmSearch) -> None:
    ids = [hit.id for hit in seed_search.search("", year=(1800, 2100), limit=200, snippets=False)]
    for film_id in ids[:25]:
        similar = [hit.id for hit in seed_search.similar(film_id, limit=10)]
        assert similar and film_id not in similar and len(set(similar)) == len(similar)


def test_unknown_id_is_a_film_not_found_error(seed_search: FilmSearch) -> None:
    with pytest.raises(FilmNotFoundError, match="no film with id 'nope'"):
        seed_search.similar("nope")
    with pytest.raises(KeyError):
        seed_search.similar("nope")
    with pytest.raises(ValueError, match="limit"):
        seed_search.similar(RUST_AND_BONE, limit=0)


def test_cli_similar_lists_films_like_it(seed_cli, seed_search: FilmSearch) -> None:
    expected = seed_search.similar(RUST_AND_BONE, limit=3)
    result = seed_cli("similar", RUST_AND_BONE, "-n", "3")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].startswith("Films like Rust and Bone (2012)")
    assert f" 1. {expected[0].title}" in result.output
    data = json.loads(seed_cli("similar", RUST_AND_BONE, "-n", "3", "--json").output)
    assert [hit["id"] for hit in data["hits"]] == [hit.id for hit in expected]
    assert data["query"] == f"similar:{RUST_AND_BONE}"


def test_cli_similar_of_an_unknown_id_is_exit_1_in_one_line(seed_cli) -> None:
    result = seed_cli("similar", "nope")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "filmsearch: error: no film with id 'nope'; ids are listed by filmsearch search"
    )
