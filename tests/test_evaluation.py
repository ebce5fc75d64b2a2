"""The evaluation command and library: measures, answer matching, TREC files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from filmsearch.index import DocumentError, build_index
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli
from filmsearch.search.evaluation import evaluate, measure, read_requests, trec_id

from .conftest import seed_text

REQUESTS = [
    {
        "id": "q1",
        "short": "whale trainer accident",
        "long": "a film: a (whale) trainer's accident",
        "answer": {"title": "Rust and Bone", "year": 2012, "file": "000_d3cc3de14da1a221.txt"},
    },
    {
        "id": "q2",
        "short": "orca documentary",
        "long": "documentary about an orca at a park",
        "answer": {"title": "Blackfish", "year": 2013, "file": ""},
    },
    {
        "id": "q3",
        "short": "zzzz qqqq",
        "long": "nothing like this exists",
        "answer": {"title": "Jaws", "year": 1975, "file": ""},
    },
]


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in REQUESTS) + "\n")
    return path


def test_measures_for_one_relevant_film() -> None:
    assert measure(1) == (1.0, 1.0, 1.0, 1.0)
    rr, s1, s10, ndcg = measure(3)
    assert (rr, s1, s10) == (1 / 3, 0.0, 1.0) and math.isclose(ndcg, 0.5)
    assert measure(None) == measure(11) == (0.0, 0.0, 0.0, 0.0)


def test_evaluate_matches_answers_by_file_or_title_and_year(
    seed_search: FilmSearch, requests_file: Path
) -> None:
    reports = {r.form: r for r in evaluate(seed_search, read_requests(requests_file))}
    assert set(reports) == {"long", "short"}
    short = reports["short"]
    assert short.ranks == [1, 1, None]
    assert math.isclose(short.mrr, 2 / 3) and math.isclose(short.success_10, 2 / 3)
    assert reports["long"].queries == 3  # punctuation in requests is read as words


def test_bad_request_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(REQUESTS[0]) + "\n{not json\n")
    with pytest.raises(DocumentError, match=r"bad.jsonl:2: not a request"):
        read_requests(path)


def test_eval_command_prints_each_form_and_writes_trec_files(
    seed_index: Path, requests_file: Path, tmp_path: Path
) -> None:
    run = tmp_path / "runs" / "seed"
    result = CliRunner().invoke(
        cli, ["eval", str(requests_file), "--index", str(seed_index), "--run", str(run)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "form",
        "ranking",
        "queries",
        "MRR@10",
        "succ@1",
        "succ@10",
        "nDCG@10",
        "mean",
        "ms",
        "refused",
    ]
    short = next(line.split() for line in lines if line.startswith("short"))
    assert short[1:7] == ["filmsearch", "3", "0.667", "0.667", "0.667", "0.667"]
    first = (tmp_path / "runs" / "seed.short").read_text().splitlines()[0].split()
    assert first[:4] == ["q1", "Q0", "000_d3cc3de14da1a221", "1"] and first[5] == "filmsearch"
    assert (tmp_path / "runs" / "seed.qrels").read_text() == "q1 0 000_d3cc3de14da1a221 1\n"


def test_eval_command_json(seed_index: Path, requests_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["eval", str(requests_file), "--index", str(seed_index), "--form", "short", "--json"]
    )
    forms = json.loads(result.output)["forms"]
    assert [f["form"] for f in forms] == ["short"] and forms[0]["queries"] == 3


def test_baseline_runs_beside_on_the_same_index(seed_index: Path, requests_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["eval", str(requests_file), "--index", str(seed_index), "--baseline", "--json"]
    )
    assert result.exit_code == 0, result.output
    forms = json.loads(result.output)["forms"]
    assert [(f["form"], f["system"]) for f in forms] == [
        ("long", "filmsearch"),
        ("long", "bm25"),
        ("short", "filmsearch"),
        ("short", "bm25"),
    ]
    assert all(f["queries"] == 3 for f in forms)


def test_baseline_is_bm25_over_one_text(seed_search: FilmSearch) -> None:
    plain = seed_search.search("whale trainer accident", baseline=True, limit=5)
    assert "(title:whale + synopsis:whale + wiki:whale)" in plain.parsed
    assert "Rust and Bone" in {hit.title for hit in plain}
    assert all(hit.score > 0 for hit in plain)


def test_trec_lines_keep_their_columns_for_ids_with_spaces(tmp_path: Path) -> None:
    films = tmp_path / "films"
    films.mkdir()
    (films / "my whale film.txt").write_text(
        seed_text(title="Whale_Song", content="A whale sings to a lighthouse keeper.")
    )
    (films / "other 100%.txt").write_text(seed_text(title="Lighthouse", content="A keeper."))
    build_index([films], tmp_path / "index")
    requests = tmp_path / "requests.jsonl"
    row = {"id": "q 1\tx", "short": "whale lighthouse", "answer": {"file": "my whale film.txt"}}
    requests.write_text(json.dumps(row) + "\n")
    run = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        ["eval", str(requests), "--index", str(tmp_path / "index"), "--run", str(run),
         "--tag", "my run"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "run.short").read_text().splitlines()
    assert len(lines) == 2 and all(len(line.split()) == 6 for line in lines)
    qrels = (tmp_path / "run.qrels").read_text().splitlines()
    assert [line.split() for line in qrels] == [["q%201%09x", "0", "my%20whale%20film", "1"]]
    top = lines[0].split()
    assert top[:4] == ["q%201%09x", "Q0", "my%20whale%20film", "1"] and top[5] == "my%20run"
    assert unquote(lines[1].split()[2]) == "other 100%"


@given(st.text(max_size=40))
def test_trec_ids_are_one_column_that_reads_back(text: str) -> None:
    encoded = trec_id(text)
    assert len(encoded.split()) == 1 and encoded == encoded.strip()
    assert encoded.isprintable()
    if text:
        assert unquote(encoded, errors="surrogatepass") == text
    encoded.encode("utf-8")  # writable to a UTF-8 run file
