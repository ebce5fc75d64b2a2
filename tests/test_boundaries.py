"""Both ends of every bound: ranges include their ends, the evaluation counts rank 10 and
not 11, documents keep the first and last plausible year and drop the next ones."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from filmsearch.index import build_index
from filmsearch.index.documents import RUNTIME_RANGE, YEAR_RANGE
from filmsearch.search import FilmSearch
from filmsearch.search.evaluation import K, evaluate, measure, read_requests

from .conftest import seed_text

# ---------------------------------------------------------------- query ranges

YEARS = (2009, 2010, 2012, 2015, 2016, 2019, 2020)
RUNTIMES = (99, 100, 101)


@pytest.fixture(scope="module")
def ranges_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilmSearch]:
    """Films of 2009, 2010, 2012, 2015, 2016, 2019 and 2020 (90 minutes), and films of 99,
    100 and 101 minutes (1990); every one about a zeppelin."""
    root = tmp_path_factory.mktemp("ranges")
    films = root / "films"
    films.mkdir()
    for year in YEARS:
        (films / f"y{year}.txt").write_text(
            seed_text(title=f"Year_{year}", year=str(year), runtime="90", content="a zeppelin")
        )
    for minutes in RUNTIMES:
        (films / f"r{minutes}.txt").write_text(
            seed_text(title=f"Minutes_{minutes}", year="1990", runtime=str(minutes),
                      content="a zeppelin")
        )  # fmt: skip
    build_index([films], root / "ix")
    with FilmSearch(root / "ix") as fs:
        yield fs


def ids(fs: FilmSearch, text: str, **filters: Any) -> set[str]:
    return {hit.id for hit in fs.search(text, limit=50, snippets=False, **filters)}


def years(*wanted: int) -> set[str]:
    return {f"y{year}" for year in wanted}


def minutes(*wanted: int) -> set[str]:
    return {f"r{number}" for number in wanted}


NINETY_MINUTES = years(*YEARS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("year:2010..2015", years(2010, 2012, 2015)),
        ("zeppelin year:2010..2015", years(2010, 2012, 2015)),
        ("2010..2015", years(2010, 2012, 2015)),
        ("year:[2010 TO 2015]", years(2010, 2012, 2015)),
        ("year:{2009 TO 2016}", years(2010, 2012, 2015)),  # braces leave the ends out
        ("year:2010..", years(2010, 2012, 2015, 2016, 2019, 2020)),
        ("year:..2010", years(2009, 2010) | minutes(*RUNTIMES)),
        ("year:>=2010", years(2010, 2012, 2015, 2016, 2019, 2020)),
        ("year:>2010", years(2012, 2015, 2016, 2019, 2020)),
        ("year:<=2010", years(2009, 2010) | minutes(*RUNTIMES)),
        ("year:<2010", years(2009) | minutes(*RUNTIMES)),
        ("year:2010s", years(2010, 2012, 2015, 2016, 2019)),
        ("decade:2010s", years(2010, 2012, 2015, 2016, 2019)),
        ("year:2015", years(2015)),
        ("runtime:..100", minutes(99, 100) | NINETY_MINUTES),
        ("runtime:100..", minutes(100, 101)),
        ("runtime:100..101", minutes(100, 101)),
    ],
)
def test_query_ranges_include_both_ends(
    ranges_index: FilmSearch, query: str, expected: set[str]
) -> None:
    assert ids(ranges_index, query) == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"year": (2010, 2015)}, years(2010, 2012, 2015)),
        ({"year": "2010..2015"}, years(2010, 2012, 2015)),
        ({"year": (2010, None)}, years(2010, 2012, 2015, 2016, 2019, 2020)),
        ({"year": (None, 2010)}, years(2009, 2010) | minutes(*RUNTIMES)),
        ({"year": 2016}, years(2016)),
        ({"decade": "2010s"}, years(2010, 2012, 2015, 2016, 2019)),
        ({"decade": 2000}, years(2009)),
        ({"runtime": (None, 100)}, minutes(99, 100) | NINETY_MINUTES),
        ({"runtime": (100, None)}, minutes(100, 101)),
        ({"runtime": "99..100"}, minutes(99, 100)),
    ],
)
def test_filter_options_include_both_ends(
    ranges_index: FilmSearch, filters: dict[str, Any], expected: set[str]
) -> None:
    assert ids(ranges_index, "zeppelin", **filters) == expected


# ---------------------------------------------------------------- the evaluation's cut-off


@pytest.fixture(scope="module")
def twelve_ranked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilmSearch]:
    """Twelve films that ``zeppelin`` ranks in order: Film 1 says it 12 times, Film 12 once
    (every synopsis is 12 words long)."""
    root = tmp_path_factory.mktemp("ranked")
    films = root / "films"
    films.mkdir()
    for number in range(1, 13):
        words = ["zeppelin"] * (13 - number) + ["harbour"] * (number - 1)
        (films / f"film{number:02d}.txt").write_text(
            seed_text(title=f"Film_{number}", year="2000", content=" ".join(words))
        )
    build_index([films], root / "ix")
    with FilmSearch(root / "ix") as fs:
        yield fs


def test_the_measures_count_rank_10_and_not_rank_11() -> None:
    assert K == 10
    reciprocal, success_1, success_10, ndcg = measure(10)
    assert (reciprocal, success_1, success_10) == (0.1, 0.0, 1.0)
    assert math.isclose(ndcg, 1 / math.log2(11))
    assert measure(11) == (0.0, 0.0, 0.0, 0.0)


def test_an_answer_at_rank_10_counts_and_at_rank_11_does_not(
    twelve_ranked: FilmSearch, tmp_path: Path
) -> None:
    ranked = [hit.title for hit in twelve_ranked.search("zeppelin", limit=12, plain=True)]
    assert ranked == [f"Film {number}" for number in range(1, 13)]
    requests = tmp_path / "requests.jsonl"
    rows = [
        {"id": f"q{n}", "short": "zeppelin", "answer": {"title": f"Film {n}", "year": 2000}}
        for n in (10, 11)
    ]
    requests.write_text("".join(json.dumps(row) + "\n" for row in rows))
    (report,) = evaluate(twelve_ranked, read_requests(requests))
    assert report.ranks == [10, None]
    assert math.isclose(report.mrr, 0.1 / 2)
    assert math.isclose(report.success_10, 1 / 2)
    assert report.success_1 == 0.0
    assert math.isclose(report.ndcg, (1 / math.log2(11)) / 2)


# ---------------------------------------------------------------- document years and lengths


def titles(fs: FilmSearch, text: str) -> set[str]:
    return {hit.title for hit in fs.search(text, limit=50, snippets=False)}


def test_documents_keep_the_first_and_last_plausible_year_and_report_the_next(
    tmp_path: Path,
) -> None:
    assert (YEAR_RANGE, RUNTIME_RANGE) == ((1870, 2100), (1, 2000))  # as the README says
    first, last = YEAR_RANGE
    low, high = RUNTIME_RANGE
    films = tmp_path / "films"
    films.mkdir()
    cases = {  # title: (year written, running time written)
        "Before": (first - 1, 90),
        "First": (first, 90),
        "Last": (last, 90),
        "After": (last + 1, 90),
        "Shortest": (2000, low),
        "Longest": (2000, high),
        "Too Long": (2000, high + 1),
    }
    for title, (year, runtime) in cases.items():
        (films / f"{title}.txt").write_text(
            seed_text(title=title, year=str(year), runtime=str(runtime), content="a zeppelin")
        )
    (films / "table.csv").write_text(
        "title,year,runtime,plot\n"
        f"Csv Before,{first - 1},90,zeppelin\nCsv First,{first},90,zeppelin\n"
        f"Csv Last,{last},90,zeppelin\nCsv After,{last + 1},90,zeppelin\n"
    )
    report = build_index([films], tmp_path / "ix")
    assert report.films == len(cases) + 4  # out-of-range values are left empty, not the film
    warned = {(Path(w.path).stem, w.line) for w in report.warnings if "invalid" in w.reason}
    assert warned == {("Before", 2), ("After", 2), ("Too Long", 3), ("table", 2), ("table", 5)}
    with FilmSearch(tmp_path / "ix") as fs:
        found = {hit.title: (hit.year, hit.runtime) for hit in fs.search("zeppelin", limit=50)}
        assert found == {
            "Before": (None, 90),
            "First": (first, 90),
            "Last": (last, 90),
            "After": (None, 90),
            "Shortest": (2000, low),
            "Longest": (2000, high),
            "Too Long": (2000, None),
            "Csv Before": (None, 90),
            "Csv First": (first, 90),
            "Csv Last": (last, 90),
            "Csv After": (None, 90),
        }
        assert titles(fs, f"year:{first}") == {"First", "Csv First"}
        assert titles(fs, f"year:{last}") == {"Last", "Csv Last"}
        assert titles(fs, f"year:{first - 1}") == titles(fs, f"year:{last + 1}") == set()
        assert titles(fs, f"runtime:{high}") == {"Longest"}
        assert titles(fs, f"runtime:{low}") == {"Shortest"}
