"""The library API: FilmSearch, typed results, nothing from Whoosh leaks out."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import pytest

from filmsearch.index import Film, build_index
from filmsearch.index.writer import open_index
from filmsearch.search import FilmSearch, Hit, QueryError, Results
from tests.conftest import seed_text

JSON_TYPES = (str, int, float, bool, type(None), list, dict)


def only_json(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and only_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(only_json(v) for v in value)
    return isinstance(value, JSON_TYPES)


def test_search_returns_typed_results_with_snippets(seed_search: FilmSearch) -> None:
    results = seed_search.search("whale trainer accident", limit=5)
    assert isinstance(results, Results) and isinstance(results[0], Hit)
    top = results[0]
    assert (top.rank, top.title, top.year, top.runtime) == (1, "Rust and Bone", 2012, 122)
    assert top.director == "Jacques Audiard"
    assert "Marion Cotillard" in top.cast
    synopsis = top.snippets["synopsis"]
    marked = {synopsis.text[s:e].lower() for s, e in synopsis.spans}
    assert {"whale", "trainer", "accident"} <= marked
    assert [hit.rank for hit in results] == list(range(1, len(results) + 1))
    assert results.total >= len(results)


def test_to_dict_has_the_documented_shape_and_only_json(seed_search: FilmSearch) -> None:
    data = seed_search.search("whale", limit=2).to_dict()
    assert {"query", "total", "hits"} <= set(data)
    hit = data["hits"][0]
    assert {
        "rank",
        "id",
        "title",
        "year",
        "runtime",
        "director",
        "cast",
        "genres",
        "score",
        "path",
        "snippets",
    } <= set(hit)
    assert set(hit["snippets"]) == {"synopsis", "wiki"}
    assert only_json(data)
    json.dumps(data)


def test_filters_alone_list_matching_films(seed_search: FilmSearch) -> None:
    results = seed_search.search(cast="Catherine Deneuve", limit=10)
    assert {hit.title for hit in results} == {
        "The Last Metro",
        "The Umbrellas of Cherbourg",
        "Belle de Jour",
    }


def test_get_returns_the_whole_film(seed_search: FilmSearch) -> None:
    film = seed_search.get("000_d3cc3de14da1a221")
    assert isinstance(film, Film) and film.title == "Rust and Bone"
    assert "Marineland" in film.synopsis
    assert seed_search.get("no-such-id") is None


def test_stats_describe_the_index(seed_search: FilmSearch, seeds_dir: Path) -> None:
    stats = seed_search.stats()
    assert stats.films == len(list(seeds_dir.glob("*.txt")))
    assert stats.stemmer == "snowball" and stats.terms > 1000 and stats.size_bytes > 0
    assert {"title", "cast", "director", "synopsis", "wiki", "year"} <= set(stats.fields)


def test_bad_query_raises_the_named_error(seed_search: FilmSearch) -> None:
    with pytest.raises(QueryError):
        seed_search.search("year:abc")
    with pytest.raises(ValueError):
        seed_search.search("whale", limit=0)


def test_searcher_sees_updates_after_a_commit(corpus_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    build_index([corpus_copy], index_dir)
    with FilmSearch(index_dir) as fs:
        assert fs.search("zeppelinfilm").total == 0
        (corpus_copy / "z.txt").write_text("Zeppelinfilm\nContent: airship\n")
        build_index([corpus_copy], index_dir)
        assert fs.search("zeppelinfilm")[0].title == "Zeppelinfilm"


def test_replaced_and_removed_films_stop_matching(corpus_copy: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "ix"
    film = corpus_copy / "z.txt"
    film.write_text(seed_text(title="Zeppelinfilm", content="a zorblat over the city"))
    build_index([corpus_copy], index_dir)
    film.write_text(seed_text(title="Zeppelinfilm", content="a quimbly over the city"))
    build_index([corpus_copy], index_dir)
    with FilmSearch(index_dir) as fs:
        assert fs.search("zorblat").total == 0
        assert [hit.title for hit in fs.search("quimbly zeppelinfilm")] == ["Zeppelinfilm"]
        film.unlink()
        build_index([corpus_copy], index_dir)
        assert fs.search("quimbly zeppelinfilm").total == 0


def test_films_deleted_in_an_unmerged_segment_never_come_back(
    corpus_copy: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "ix"
    build_index([corpus_copy], index_dir)
    with closing(open_index(index_dir)) as ix:
        writer = ix.writer()
        writer.delete_by_term("id", "000_d3cc3de14da1a221")  # the seed: Rust and Bone
        writer.commit(merge=False)  # as a large segment keeps its deleted films
        assert ix.reader().has_deletions()
    with FilmSearch(index_dir) as fs:
        assert "Rust and Bone" not in [hit.title for hit in fs.search("whale trainer accident")]
