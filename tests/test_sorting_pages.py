"""Sorting and pages, as a user of the library and of the command sees them."""

from __future__ import annotations

import json

import pytest

from filmsearch.search import FilmSearch, Hit


def everything(fs: FilmSearch, text: str = "", **options: object) -> list[Hit]:
    return fs.search(text, limit=500, snippets=False, **options).hits  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["love", "", "director:audiard OR genre:comedy"])
def test_sorting_orders_every_match_and_breaks_ties_by_id(
    seed_search: FilmSearch, text: str
) -> None:
    options = {} if text else {"year": (1900, 2100)}
    relevance = everything(seed_search, text, **options)
    for sort, key, reverse in [
        ("year", "year", False),
        ("-year", "year", True),
        ("runtime", "runtime", False),
        ("-runtime", "runtime", True),
    ]:
        hits = everything(seed_search, text, sort=sort, **options)
        assert {hit.id for hit in hits} == {hit.id for hit in relevance}
        known = [hit for hit in hits if getattr(hit, key) is not None]
        assert hits[: len(known)] == known  # films without the value come last
        sign = -1 if reverse else 1
        keys = [(sign * getattr(hit, key), hit.id) for hit in known]
        assert keys == sorted(keys)
    titles = [(hit.title.casefold(), hit.id) for hit in everything(seed_search, text, sort="title")]
    assert titles == sorted(titles)


def test_relevance_ties_are_ordered_by_id(seed_search: FilmSearch) -> None:
    hits = everything(seed_search, year=(1900, 2100))  # one constant score for all
    assert len({hit.score for hit in hits}) == 1
    assert [hit.id for hit in hits] == sorted(hit.id for hit in hits)


@pytest.mark.parametrize("sort", ["relevance", "year", "-runtime", "title"])
def test_pages_join_up_into_the_whole_order(seed_search: FilmSearch, sort: str) -> None:
    whole = seed_search.search("love", limit=30, sort=sort, snippets=False)
    pages = [seed_search.search("love", limit=7, offset=o, sort=sort, snippets=False)
             for o in range(0, 30, 7)]  # fmt: skip
    joined = [hit for page in pages for hit in page][:30]
    assert [(h.rank, h.id) for h in joined] == [(h.rank, h.id) for h in whole]
    assert {page.total for page in pages} == {whole.total}
    assert [page.offset for page in pages] == list(range(0, 30, 7))
    past_the_end = seed_search.search("love", offset=whole.total, sort=sort)
    assert past_the_end.hits == [] and past_the_end.total == whole.total


def test_bad_sort_and_offset_say_what_is_valid(seed_search: FilmSearch) -> None:
    with pytest.raises(ValueError, match="unknown sort 'rating'; sorts are relevance, year, -year"):
        seed_search.search("whale", sort="rating")
    with pytest.raises(ValueError, match="offset must be 0 or more"):
        seed_search.search("whale", offset=-1)
    with pytest.raises(TypeError, match="offset must be an int"):
        seed_search.search("whale", offset="3")  # type: ignore[arg-type]


def test_hybrid_pages_and_sorts_what_the_ranking_returns(
    seed_search: FilmSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_semantic import use_fake_ranker

    use_fake_ranker(seed_search, monkeypatch)
    whole = seed_search.search("love", limit=20, snippets=False)
    assert whole.mode == "hybrid"
    second = seed_search.search("love", limit=5, offset=5, snippets=False)
    assert [(h.rank, h.id, h.score) for h in second] == [
        (h.rank, h.id, h.score) for h in whole.hits[5:10]
    ]
    by_year = seed_search.search("love", limit=500, sort="-year", snippets=False)
    ranked = seed_search.search("love", limit=500, snippets=False)
    assert {h.id for h in by_year} == {h.id for h in ranked} and by_year.total == len(by_year)
    years = [h.year for h in by_year if h.year is not None]
    assert years == sorted(years, reverse=True)


def test_cli_sort_and_offset_in_json_and_for_people(seed_cli, seed_search: FilmSearch) -> None:
    expected = seed_search.search("love", sort="-year", offset=3, limit=4, snippets=False)
    data = json.loads(seed_cli("search", "love", "--sort", "-year", "--offset", "3", "-n", "4",
                          "--json").output)  # fmt: skip
    assert (data["offset"], data["sort"], data["total"]) == (3, "-year", expected.total)
    assert [(h["rank"], h["id"]) for h in data["hits"]] == [(h.rank, h.id) for h in expected]
    text = seed_cli("search", "love", "--sort", "-year", "--offset", "3", "-n", "4").output
    assert f"{expected.total} films match; showing 4 to 7, by year, newest first." in text
    assert f" 4. {expected[0].title}" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--sort", "rating"], "'rating' is not one of 'relevance', 'year', '-year', 'title'"),
     (["--offset", "-1"], "-1 is not in the range x>=0")],
)  # fmt: skip
def test_cli_bad_sort_or_offset_is_exit_2_in_one_line(
    seed_cli, args: list[str], message: str
) -> None:
    result = seed_cli("search", "whale", *args)
    assert result.exit_code == 2
    assert message in result.output and result.output.strip().count("\n") == 0


def test_cli_csv_has_the_tables_columns(seed_cli, seed_search: FilmSearch) -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(seed_cli("search", "whale", "--format", "csv").output)))
    expected = seed_search.search("whale")
    assert list(rows[0]) == ["rank", "title", "year", "director", "runtime", "score", "id",
                             "synopsis", "wiki"]  # fmt: skip
    assert [(r["rank"], r["id"], r["title"]) for r in rows] == [
        (str(h.rank), h.id, h.title) for h in expected
    ]
    assert "whale" in rows[0]["synopsis"].lower() + rows[0]["wiki"].lower()
