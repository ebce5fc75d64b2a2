"""CSV dumps and JSON Lines: the layouts people download, indexed like seed files."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmsearch.index import DocumentError, Film, build_index, detect_format
from filmsearch.index.errors import NotFilmsError
from filmsearch.index.formats import read_source
from filmsearch.index.tabular import read_csv
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli
from tests.conftest import seed_text
from tests.helpers import build_in_subprocess

WIKI_PLOTS = [
    ["Release Year", "Title", "Origin/Ethnicity", "Director", "Cast", "Genre", "Wiki Page", "Plot"],
    [
        "1927",
        "The Lighthouse Keeper",
        "American",
        "Unknown",
        "",
        "unknown",
        "https://en.wikipedia.org/wiki/X",
        "A keeper tends the lamp alone.\nOne night, a schooner, lost in fog, runs aground.",
    ],
    [
        "1931",
        "Harbour Lights",
        "British",
        "Edith Marlowe",
        "Ann Fry, Tom Hale",
        "drama",
        "https://en.wikipedia.org/wiki/Y",
        "Two sisters run a dockside tavern.",
    ],
]
TMDB = [
    [
        "budget",
        "genres",
        "id",
        "keywords",
        "original_title",
        "overview",
        "release_date",
        "runtime",
        "tagline",
        "title",
    ],
    [
        "100",
        json.dumps([{"id": 18, "name": "Drama"}, {"id": 10749, "name": "Romance"}]),
        "501",
        json.dumps([{"id": 1, "name": "marine biologist"}]),
        "Le Grand Bleu",
        "A diver and an orca trainer fall out.",
        "1988-05-11",
        "168.0",
        "Deep down.",
        "The Big Blue",
    ],
    ["5", "[]", "502", "[]", "Quiet", "Unknown", "", "", "", "Quiet Days"],
]
FLAT = [
    ["title", "year", "runtime", "director", "cast", "genre", "synopsis", "wiki"],
    [
        "Salt Road",
        "2016",
        "97",
        "Ines Carvalho",
        "Rui Vaz; Ana Sol",
        "Road movie, Drama",
        "Two brothers haul salt across the border.",
        "Shot in Alentejo.",
    ],
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def films_by_title(path: Path) -> dict[str, Film]:
    return {item.film.title: item.film for item in read_csv(str(path))}


def test_wikipedia_plots_layout(tmp_path: Path) -> None:
    films = films_by_title(write_csv(tmp_path / "plots.csv", WIKI_PLOTS))
    keeper = films["The Lighthouse Keeper"]
    assert keeper.year == 1927
    assert keeper.directors == () and keeper.genres == ()  # "Unknown", "unknown"
    assert "schooner, lost in fog" in keeper.wiki  # quoted cell with commas and a newline
    harbour = films["Harbour Lights"]
    assert harbour.directors == ("Edith Marlowe",)
    assert harbour.cast == ("Ann Fry", "Tom Hale") and harbour.genres == ("drama",)


def test_tmdb_layout_with_json_columns(tmp_path: Path) -> None:
    films = films_by_title(write_csv(tmp_path / "tmdb.csv", TMDB))
    blue = films["The Big Blue"]  # title, not original_title
    assert (blue.year, blue.runtime) == (1988, 168)
    assert blue.genres == ("Drama", "Romance")
    assert blue.synopsis == "A diver and an orca trainer fall out."
    assert "Deep down." in blue.wiki and "marine biologist" in blue.wiki
    assert blue.id == "tmdb:501"
    quiet = films["Quiet Days"]
    assert quiet.synopsis == "" and quiet.year is None and quiet.genres == ()


def test_flat_csv_and_jsonl_with_project_field_names(tmp_path: Path) -> None:
    films = films_by_title(write_csv(tmp_path / "flat.csv", FLAT))
    assert films["Salt Road"].cast == ("Rui Vaz", "Ana Sol")
    assert films["Salt Road"].genres == ("Road movie", "Drama")
    lines = [
        json.dumps(
            {
                "title": "Glass Orchard",
                "year": 2003,
                "director": ["Lena Ode"],
                "cast": "Pim Bos, Ria Kok",
                "synopsis": "Apples grow under glass.",
            }
        ),
        '{"title": "Broken", "year": ',  # truncated line
        json.dumps(["not", "an", "object"]),
        json.dumps({"year": 1999, "synopsis": "no title"}),
        json.dumps({"title": "Night Ferry", "genre": ["Thriller"], "runtime": "1h 30m"}),
    ]
    (tmp_path / "films.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = build_index([tmp_path], tmp_path / "ix")
    assert report.films == 3  # one CSV row, two good JSON lines
    assert sorted(str(e).split(": ", 1)[0] for e in report.skipped) == [
        f"{tmp_path / 'films.jsonl'}:{line}" for line in (2, 3, 4)
    ]
    with FilmSearch(tmp_path / "ix") as fs:
        assert fs.search("apples glass")[0].title == "Glass Orchard"
        assert fs.search('director:"lena ode"')[0].year == 2003
        assert fs.search("genre:thriller")[0].runtime == 90
        assert fs.search('cast:"ana sol" salt')[0].title == "Salt Road"


def test_layouts_are_detected_from_the_file_and_can_be_forced(tmp_path: Path) -> None:
    as_txt = write_csv(tmp_path / "dump.txt", WIKI_PLOTS)
    (tmp_path / "lines.dat").write_text(json.dumps({"title": "X"}) + "\n")
    (tmp_path / "seed.txt").write_text(seed_text(title="Plain_Seed"))
    assert detect_format(str(as_txt)) == "csv"
    assert detect_format(str(tmp_path / "lines.dat")) == "jsonl"
    assert detect_format(str(tmp_path / "seed.txt")) == "seed"
    forced = build_index([as_txt], tmp_path / "ix", source_format="seed")
    assert forced.films == 1  # the whole file read as one seed document


def test_unrecognisable_csv_fails_in_one_line_listing_expected_columns(tmp_path: Path) -> None:
    write_csv(tmp_path / "sales.csv", [["sku", "price", "qty"], ["a1", "3", "4"]])
    write_csv(tmp_path / "good.csv", FLAT)
    result = CliRunner().invoke(cli, ["index", str(tmp_path), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "sales.csv" in line]
    assert len(lines) == 1
    assert "sales.csv:1:" in lines[0] and "'sku'" in lines[0]
    assert "expected columns: title, year, runtime, director" in lines[0]
    assert "1 film in" in result.output


def test_a_bad_row_is_reported_and_skipped_the_rest_indexed(tmp_path: Path) -> None:
    rows = [
        *WIKI_PLOTS,
        ["1933", "Too", "Many", "Cells", "x", "y", "z", "w", "extra"],
        ["1934", "", "American", "A. Director", "", "", "", "A film with no title."],
        ["1935", "Last Reel", "American", "Bo Lund", "", "comedy", "", "Ends well."],
    ]
    path = write_csv(tmp_path / "plots.csv", rows)
    report = build_index([path], tmp_path / "ix")
    assert report.films == 3
    reasons = {str(error) for error in report.skipped}
    assert any(r.startswith(f"{path}:5: 9 cells where the header has 8") for r in reasons)
    assert any(r.startswith(f"{path}:6: no title") for r in reasons)
    with FilmSearch(tmp_path / "ix") as fs:
        assert fs.search("last reel")[0].title == "Last Reel"


def test_a_changed_dump_is_reindexed_and_a_removed_one_forgotten(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    path = write_csv(source / "plots.csv", WIKI_PLOTS)
    index_dir = tmp_path / "ix"
    build_index([source], index_dir)
    again = build_index([source], index_dir)
    assert (again.unchanged, again.added, again.replaced) == (2, 0, 0)
    write_csv(path, [*WIKI_PLOTS, ["1936", "Third Film", "", "", "", "", "", "Snow falls."]])
    changed = build_index([source], index_dir)
    assert (changed.films, changed.replaced, changed.added) == (3, 2, 1)
    with FilmSearch(index_dir) as fs:
        assert fs.search("snow falls")[0].title == "Third Film"
    path.unlink()
    gone = build_index([source], index_dir)
    assert (gone.films, gone.removed) == (0, 3)


def test_stats_json_reports_films(tmp_path: Path) -> None:
    write_csv(tmp_path / "tmdb.csv", TMDB)
    runner = CliRunner()
    runner.invoke(cli, ["index", str(tmp_path), "--index", str(tmp_path / "ix")])
    result = runner.invoke(cli, ["stats", "--json", "--index", str(tmp_path / "ix")])
    assert json.loads(result.output)["films"] == 2


@pytest.mark.parametrize(
    "name, title_column, rows",
    [
        ("wiki_movie_plots_1901_1935.csv", "Title", 300),
        ("tmdb_5000_movies.csv", "title", 300),
        ("tmdb5000_films.csv", "title", 300),
    ],
)
def test_real_dumps_index_without_skips(
    shared_corpora: Path, tmp_path: Path, name: str, title_column: str, rows: int
) -> None:
    with (shared_corpora.parent / name).open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))[:rows]
    sample = tmp_path / name
    with sample.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    report = build_index([sample], tmp_path / "ix")
    assert report.skipped == [] and report.films == rows
    with FilmSearch(tmp_path / "ix") as fs:
        for record in records[:: rows // 10]:
            titles = [
                hit.title
                for hit in fs.search(record[title_column], plain=True, limit=50, snippets=False)
            ]
            assert " ".join(record[title_column].split()) in titles


def test_parallel_build_matches_a_single_process_build(seeds_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "seeds"
    shutil.copytree(seeds_dir, copy)
    one = build_index([copy], tmp_path / "one", jobs=1)
    two = build_index([copy], tmp_path / "two", jobs=2)
    assert two.films == one.films and two.skipped == one.skipped
    with FilmSearch(tmp_path / "one") as a, FilmSearch(tmp_path / "two") as b:
        for query in ("whale trainer accident", "heist paris", 'cast:"marion cotillard"'):
            ranked = [
                sorted((-round(h.score, 6), h.id) for h in fs.search(query, limit=100))
                for fs in (a, b)
            ]
            assert ranked[0] == ranked[1] and ranked[0]
    (copy / "new.txt").write_text(seed_text(title="After_The_Parallel_Build"))
    update = build_index([copy], tmp_path / "two", jobs=2)
    assert (update.added, update.films) == (1, one.films + 1)


def test_an_interrupted_parallel_build_leaves_no_worker_behind(tmp_path: Path) -> None:
    for number in range(400):  # Whoosh sends documents to its workers in batches of 100
        (tmp_path / f"{number:03}.txt").write_text(seed_text(title=f"Film_{number}"))
    (tmp_path / "999.txt").write_text(seed_text(title="Bad_Year", year="soon"))

    def stop(error: DocumentError, skipped: bool) -> None:
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C after films were sent

    with pytest.raises(KeyboardInterrupt):
        build_index([tmp_path], tmp_path / "ix", jobs=2, on_problem=stop)
    assert multiprocessing.active_children() == []  # no worker left waiting for documents


def test_pipes_named_like_dumps_are_skipped_not_waited_on(tmp_path: Path) -> None:
    write_csv(tmp_path / "good.csv", FLAT)
    for name in ("pipe.csv", "pipe.jsonl", "pipe.txt"):
        os.mkfifo(tmp_path / name)
    report = build_in_subprocess([tmp_path], tmp_path / "ix", timeout=120)
    assert report["films"] == 1
    assert sorted(line.split(":")[0] for line in report["skipped"]) == sorted(
        str(tmp_path / name) for name in ("pipe.csv", "pipe.jsonl", "pipe.txt")
    )


def test_json_lines_without_title_keys_are_not_films_unless_the_format_is_forced(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "start"}\n\n{"event": "stop"}\n')
    with pytest.raises(NotFilmsError, match=r"events\.jsonl:1: not films: no JSON object"):
        list(read_source(str(events)))
    forced = list(read_source(str(events), "jsonl"))
    assert [(e.line, e.reason) for e in forced if isinstance(e, DocumentError)] == [
        (1, "no title; row skipped"),
        (3, "no title; row skipped"),
    ]
    late = tmp_path / "late.jsonl"  # a bad first row does not make a file of films "not films"
    late.write_text('{"oops": 1}\n{"title": "Found"}\n')
    items = list(read_source(str(late)))
    assert isinstance(items[0], DocumentError) and items[0].line == 1
    assert not isinstance(items[1], DocumentError) and items[1].film.title == "Found"


def test_pretty_printed_json_is_not_read_as_json_lines(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.txt"
    settings_file.write_text('{\n  "title": "not a film",\n  "debug": true\n}\n')
    one_line = tmp_path / "one.txt"
    one_line.write_text('{"title": "A Film"}\n')
    assert detect_format(str(settings_file)) == "seed"
    assert detect_format(str(one_line)) == "jsonl"
    with pytest.raises(NotFilmsError):
        list(read_source(str(settings_file)))


def test_csv_rows_spanning_lines_keep_their_line_numbers_after_a_broken_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plots.csv"
    path.write_text('title,plot\nA,"two\nlines"\nB,"never closed\nC,"three\nline\nplot"\nD,plain\n')
    items = list(read_source(str(path)))
    errors = [(e.line, e.reason.split(":")[0]) for e in items if isinstance(e, DocumentError)]
    films = [(i.film.title, i.line, i.film.wiki) for i in items if not isinstance(i, DocumentError)]
    assert errors == [(4, "unclosed quote")]
    assert films == [("A", 2, "two\nlines"), ("C", 5, "three\nline\nplot"), ("D", 8, "plain")]
