"""The OpenSearch export: the mapping's shape, one action line per film, every stored field back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from filmsearch.index import build_index
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli
from filmsearch.search.export import (
    EXACT_ANALYZER,
    SOURCE_FIELDS,
    TEXT_ANALYZER,
    ExportError,
    ExportReport,
    check_index_name,
    export_opensearch,
    source_to_film,
)
from filmsearch.search.ranking import FIELD_WEIGHTS
from tests.conftest import seed_text

NAME_FIELDS = ("director", "cast", "genre")


@pytest.fixture(scope="module")
def exported(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> ExportReport:
    return export_opensearch(seed_index, tmp_path_factory.mktemp("export") / "films")


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def bulk_pairs(path: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (action, source) pairs of a bulk file; every line must be one JSON object."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    assert lines[-1] == "", "a bulk body ends with a newline"
    rows = [json.loads(line) for line in lines[:-1]]
    assert len(rows) % 2 == 0
    return list(zip(rows[::2], rows[1::2], strict=True))


def test_the_mapping_has_our_fields_and_analyzers(exported: ExportReport) -> None:
    mapping = read_json(exported.mapping_path)
    assert set(mapping) == {"settings", "mappings"}
    properties = mapping["mappings"]["properties"]
    assert set(properties) == {*SOURCE_FIELDS, "title_exact"}
    assert mapping["mappings"]["dynamic"] == "strict"  # a document unlike the mapping fails
    assert properties["id"]["type"] == properties["path"]["type"] == "keyword"
    assert properties["year"]["type"] == properties["runtime"]["type"] == "integer"
    assert properties["title"]["copy_to"] == "title_exact"
    analysis = mapping["settings"]["index"]["analysis"]
    for field in ("title", "synopsis", "wiki"):
        assert properties[field]["analyzer"] == TEXT_ANALYZER
    for field in ("title_exact", *NAME_FIELDS):
        assert properties[field]["analyzer"] == EXACT_ANALYZER
    for field in NAME_FIELDS:
        assert properties[field]["position_increment_gap"] >= 100  # a phrase stays in one name
    stemmed = analysis["analyzer"][TEXT_ANALYZER]["filter"]
    exact = analysis["analyzer"][EXACT_ANALYZER]["filter"]
    assert stemmed == [*exact, "filmsearch_stemmer"]
    assert analysis["filter"]["filmsearch_stemmer"]["language"] == "porter2"  # Snowball English
    assert {"the", "of", "and"} <= set(analysis["filter"]["filmsearch_stop"]["stopwords"])
    assert exported.stemmer == "snowball" and exported.opensearch_stemmer == "porter2"


def test_the_example_query_is_bm25f_with_our_weights(exported: ExportReport) -> None:
    properties = read_json(exported.mapping_path)["mappings"]["properties"]
    clauses = read_json(exported.query_path)["query"]["bool"]["should"]
    weights: dict[str, float] = {}
    for clause in clauses:
        fields = [field.split("^") for field in clause["combined_fields"]["fields"]]
        assert len({properties[name]["analyzer"] for name, _ in fields}) == 1  # OpenSearch's rule
        weights.update((name, float(weight)) for name, weight in fields)
    assert set(weights) == set(FIELD_WEIGHTS)
    assert min(weights.values()) >= 1.0  # combined_fields refuses a weight below 1
    scale = weights["synopsis"] / FIELD_WEIGHTS["synopsis"]
    for name, weight in FIELD_WEIGHTS.items():
        assert weights[name] == pytest.approx(weight * scale, rel=1e-5)


def test_one_action_line_per_live_film(exported: ExportReport, seed_index: Path) -> None:
    pairs = bulk_pairs(exported.bulk_path)
    with FilmSearch(seed_index) as fs:
        assert len(pairs) == exported.films == fs.stats().films
    ids = [action["index"]["_id"] for action, _ in pairs]
    assert len(set(ids)) == len(ids)
    for action, source in pairs:
        assert action == {"index": {"_index": "films", "_id": source["id"]}}
        assert tuple(source) == SOURCE_FIELDS


def test_every_stored_field_comes_back(exported: ExportReport, seed_index: Path) -> None:
    with FilmSearch(seed_index) as fs:
        for action, source in bulk_pairs(exported.bulk_path):
            assert source_to_film(source) == fs.get(action["index"]["_id"])


def test_deleted_films_and_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"src")
    os.mkdir(folder)
    for name, title in ((b"\xff odd.txt", "Odd_Bytes"), (b"gone.txt", "Gone"), (b"b.txt", "Kept")):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(seed_text(title=title, cast="Zoë Ñuñez,Actor Two,").encode())
    index = tmp_path / "ix"
    build_index([os.fsdecode(folder)], index)
    os.remove(os.path.join(folder, b"gone.txt"))
    build_index([os.fsdecode(folder)], index)  # an update: Gone is deleted, not merged away
    report = export_opensearch(index, tmp_path / "out", index_name="movies")
    pairs = bulk_pairs(report.bulk_path)
    assert sorted(source["title"] for _, source in pairs) == ["Kept", "Odd Bytes"]
    with FilmSearch(index) as fs:
        for action, source in pairs:
            assert action["index"]["_index"] == "movies"
            assert source_to_film(source) == fs.get(source["id"])
    odd = next(source for _, source in pairs if source["title"] == "Odd Bytes")
    assert "\\xff odd.txt" in odd["path"]  # escaped as filmsearch stores it
    assert odd["cast"] == ["Zoë Ñuñez", "Actor Two"]
    with open(report.bulk_path, "rb") as handle:
        assert "Zoë".encode() in handle.read()  # UTF-8, not \\u escapes


@pytest.mark.parametrize(
    ("stemmer", "language"), [("porter", "english"), ("lancaster", "english"), ("none", None)]
)
def test_the_stemmer_follows_the_index(tmp_path: Path, stemmer: str, language: str | None) -> None:
    (tmp_path / "one.txt").write_text(seed_text(), encoding="utf-8")
    build_index([tmp_path / "one.txt"], tmp_path / "ix", stemmer=stemmer)
    report = export_opensearch(tmp_path / "ix", tmp_path)
    assert report.films == 1 and report.bulk_path == str(tmp_path / "films.ndjson")
    analysis = read_json(report.mapping_path)["settings"]["index"]["analysis"]
    assert analysis["filter"].get("filmsearch_stemmer", {}).get("language") == language
    assert bool(report.warnings) == (stemmer == "lancaster")  # OpenSearch has no Lancaster
    if stemmer == "none":  # one analyzer everywhere: the whole query is one combined_fields
        assert TEXT_ANALYZER not in analysis["analyzer"]
        assert len(read_json(report.query_path)["query"]["bool"]["should"]) == 1


def test_a_missing_folder_or_a_file_in_the_way_is_one_error(
    seed_index: Path, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    for out in (tmp_path / "missing" / "films", tmp_path / "a-file" / "films"):
        with pytest.raises(ExportError) as error:
            export_opensearch(seed_index, out)
        assert "\n" not in str(error.value) and str(out.parent) in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_an_export_replaces_the_files_and_leaves_no_temporary_file(
    seed_index: Path, tmp_path: Path
) -> None:
    (tmp_path / "films.ndjson").write_text("old", encoding="utf-8")
    report = export_opensearch(seed_index, tmp_path / "films.ndjson")  # the suffix is optional
    assert report.bulk_path == str(tmp_path / "films.ndjson")
    assert sorted(os.listdir(tmp_path)) == [
        "films.mapping.json",
        "films.ndjson",
        "films.query.json",
    ]
    assert len(bulk_pairs(report.bulk_path)) == report.films


@pytest.mark.parametrize("name", ["Films", "my films", "_films", "a/b", "", "..", "x" * 256])
def test_index_names_opensearch_refuses_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not an OpenSearch index name"):
        check_index_name(name)


# The command (search/cli.py); these run once it has an export command.


@pytest.fixture
def run_export(seed_index: Path):
    if "export" not in cli.commands:
        pytest.skip("filmsearch has no export command yet")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["export", *args, "--index", str(seed_index)])

    return invoke


def test_the_command_exports_and_prints_one_line(run_export, tmp_path: Path) -> None:
    result = run_export("--out", str(tmp_path / "films"))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1 and "exported 69 films" in result.stdout
    assert len(bulk_pairs(str(tmp_path / "films.ndjson"))) == 69


def test_the_command_refuses_bad_usage_and_unwritable_places(run_export, tmp_path: Path) -> None:
    for args in (["--format", "solr"], ["--index-name", "Bad Name"]):
        result = run_export(*args, "--out", str(tmp_path))
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    result = run_export("--out", str(tmp_path / "missing" / "films"))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith("filmsearch: error: cannot write")
    assert os.listdir(tmp_path) == []
