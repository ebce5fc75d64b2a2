"""The filmsearch command, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmsearch.search.cli import cli
from tests.conftest import seed_text


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def index_dir(run, seeds_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ix"
    assert run("index", str(seeds_dir), "--index", str(target)).exit_code == 0
    return target


def test_index_then_search_prints_the_right_film_with_marked_words(run, index_dir: Path) -> None:
    result = run("search", "whale", "trainer", "accident", "--index", str(index_dir))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    first = next(line for line in lines if line.strip().startswith("1."))
    assert "Rust and Bone (2012)" in first and "Jacques Audiard" in first
    synopsis = next(line for line in lines if line.strip().startswith("synopsis:"))
    assert "*whale* *trainer*" in synopsis and "*accident*" in synopsis
    assert "\x1b[" not in result.output  # no colour when not a terminal


def test_colour_on_request(run, index_dir: Path) -> None:
    result = run("search", "whale", "--color", "--index", str(index_dir))
    assert "\x1b[1;33mwhale\x1b[0m" in result.output
    assert "*whale*" not in result.output


def test_index_reports_counts_and_reindex_skips_unchanged(
    run, seeds_dir: Path, tmp_path: Path
) -> None:
    target = str(tmp_path / "ix")
    count = len(list(seeds_dir.glob("*.txt")))
    first = run("index", str(seeds_dir), "--index", target)
    assert f"{count} films in" in first.output and f"{count} added" in first.output
    second = run("index", str(seeds_dir), "--index", target)
    assert f"{count} unchanged" in second.output and "0 added" in second.output


def test_json_output_has_the_documented_shape(run, index_dir: Path) -> None:
    result = run("search", "--json", "-n", "3", "whale", "--index", str(index_dir))
    data = json.loads(result.output)
    assert data["query"] == "whale" and isinstance(data["total"], int)
    assert len(data["hits"]) == 3
    for hit in data["hits"]:
        assert set(hit) >= {
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
        }
        assert set(hit["snippets"]) == {"synopsis", "wiki"}
        for field, spans in hit["highlights"].items():
            words = {hit["snippets"][field][s:e].lower() for s, e in spans}
            assert words and all(word.startswith("whal") for word in words)  # whale, whaling


def test_ndjson_and_html_formats(run, index_dir: Path) -> None:
    nd = run("search", "--format", "ndjson", "-n", "2", "heist", "--index", str(index_dir))
    assert [json.loads(line)["rank"] for line in nd.output.splitlines()] == [1, 2]
    html = run("search", "--format", "html", "whale", "--index", str(index_dir))
    assert "<mark>whale</mark>" in html.output.lower()


def test_filter_options(run, index_dir: Path) -> None:
    result = run(
        "search",
        "--json",
        "--director",
        "audiard",
        "--year",
        "2010..2015",
        "--cast",
        "marion cotillard",
        "--index",
        str(index_dir),
    )
    assert [hit["title"] for hit in json.loads(result.output)["hits"]] == ["Rust and Bone"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["year:abc"], "year expects a number"),
        (["year:2015..2010"], "start 2015 is after the end 2010"),
        (['title:"unclosed'], "unclosed quote"),
        (["directr:audiard"], "unknown field 'directr'; did you mean director?"),
        (["whale", "--year", "soon"], "year expects a number"),
    ],
)
def test_bad_query_exits_2_with_one_line(
    run, index_dir: Path, args: list[str], fragment: str
) -> None:
    result = run("search", *args, "--index", str(index_dir))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and fragment in result.output
    assert result.output.startswith("filmsearch: error: bad query")
    assert "Traceback" not in result.output


def test_missing_index_exits_1_and_says_which_command_builds_it(run, tmp_path: Path) -> None:
    result = run("search", "whale", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "filmsearch index PATH --index" in result.output
    assert result.output.count("\n") == 1


def test_usage_errors_exit_2_with_one_line(run, tmp_path: Path) -> None:
    for args in (
        ["index", str(tmp_path / "missing")],
        ["search", "--limit", "0", "x"],
        ["search", "--index", str(tmp_path)],
        ["search", "-5"],
        ["frobnicate"],
    ):
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.output.startswith("filmsearch: error:") and result.output.count("\n") == 1
    assert "put -- before it" in run("search", "-5").output


def test_text_starting_with_a_dash_after_double_dash(run, index_dir: Path) -> None:
    result = run("search", "--index", str(index_dir), "--", "-5 whale")
    assert result.exit_code == 0


def test_stemmer_mismatch_is_a_usage_error(run, seeds_dir: Path, index_dir: Path) -> None:
    result = run("index", str(seeds_dir), "--index", str(index_dir), "--stemmer", "porter")
    assert result.exit_code == 2 and "--rebuild" in result.output


def test_index_location_from_environment(run, seeds_dir: Path, tmp_path: Path) -> None:
    env = {"FILMSEARCH_INDEX": str(tmp_path / "envix")}
    assert run("index", str(seeds_dir), env=env).exit_code == 0
    result = run("search", "--json", "noemie merlant", env=env)
    assert json.loads(result.output)["hits"][0]["title"] == "Portrait of a Lady on Fire"


def test_default_index_location_is_a_per_user_data_folder(
    run, seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("FILMSEARCH_INDEX", raising=False)
    assert run("index", str(seeds_dir)).exit_code == 0
    assert (tmp_path / "data" / "filmsearch" / "index" / "filmsearch.json").exists()


def test_show_prints_the_whole_film(run, index_dir: Path) -> None:
    result = run("show", "000_d3cc3de14da1a221", "--index", str(index_dir))
    assert result.exit_code == 0
    assert "title:    Rust and Bone" in result.output and "Marineland" in result.output
    data = json.loads(
        run("show", "000_d3cc3de14da1a221", "--json", "--index", str(index_dir)).output
    )
    assert data["cast"][1] == "Marion Cotillard"
    missing = run("show", "nope", "--index", str(index_dir))
    assert missing.exit_code == 1 and "no film with id 'nope'" in missing.output


def test_stats(run, index_dir: Path, seeds_dir: Path) -> None:
    data = json.loads(run("stats", "--json", "--index", str(index_dir)).output)
    assert data["films"] == len(list(seeds_dir.glob("*.txt")))
    assert data["stemmer"] == "snowball" and data["terms"] > 0 and data["size_bytes"] > 0
    text = run("stats", "--index", str(index_dir)).output
    assert "stemmer:    snowball" in text and "last build:" in text


def test_broken_files_are_reported_and_the_rest_indexed(run, tmp_path: Path) -> None:
    folder = tmp_path / "films"
    folder.mkdir()
    (folder / "good.txt").write_text("Good_Film\nContent: fine\n")
    (folder / "bad.txt").write_bytes(b"")
    result = run("index", str(folder), "--index", str(tmp_path / "ix"))
    assert result.exit_code == 0
    assert f"skipped: {folder / 'bad.txt'}:1: empty file" in result.output
    assert "1 film in" in result.output and "1 skipped" in result.output


@pytest.mark.parametrize("command", ["index", "search", "show", "stats", "eval"])
def test_every_command_help_has_an_example(run, command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example:" in result.output
    assert "filmsearch " + command in result.output


def test_indexing_a_project_folder_skips_files_that_are_not_films(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "films").mkdir(parents=True)
    (project / "requirements.txt").write_text("whoosh3>=3.50\nnltk>=3.8\nclick\n")
    (project / "NOTES.txt").write_text("Things to do\n\nbuy milk: soon\n")
    (project / "films" / "orca.txt").write_text(seed_text(title="Orca_Days"))
    done = CliRunner().invoke(cli, ["index", str(project), "--index", str(tmp_path / "ix")])
    assert done.exit_code == 0, done.output
    assert "1 film in" in done.output and "2 skipped (2 not films)" in done.output
    shown = CliRunner().invoke(cli, ["search", "buy milk", "--index", str(tmp_path / "ix")])
    assert "No films match" in shown.output


def test_the_format_choices_are_the_readers_and_exporters_the_commands_use() -> None:
    # Named in the command so that a search imports neither the readers nor the exporter.
    from filmsearch.index.formats import FORMATS
    from filmsearch.search import cli as cli_module
    from filmsearch.search.export import EXPORTERS

    assert cli_module.SOURCE_FORMATS == FORMATS
    assert tuple(sorted(EXPORTERS)) == cli_module.EXPORT_FORMATS
