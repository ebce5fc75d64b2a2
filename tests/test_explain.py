"""Why a film ranked where it did: per-word, per-field parts that add up to the score."""

from __future__ import annotations

import json
from typing import Any

import pytest

from filmsearch.search import FilmSearch

QUERIES = [
    "whale",
    "whale trainer accident",
    "animated movie from the 2000s about a little girl who turns out to be a robot",
    "director:audiard prison",
    'cast:"marion cotillard" whale',
    "orca NOT title:willy",
    "whale OR (prison AND director:audiard)",
    "wha* trainer",
    '"killer whale"',
    "genre:drama year:2010..2015",
    "jacques audiard prison",  # a whole name: a bonus outside the coordination factor
    "marion cotillard whale",
]


def walk(part: dict[str, Any]) -> Any:
    yield part
    for child in part.get("parts", []):
        yield from walk(child)


def assert_adds_up(part: dict[str, Any], score: float) -> None:
    assert part["score"] == pytest.approx(score, rel=1e-3, abs=1e-3)
    for node in walk(part):
        assert node["what"] != "other", f"unexplained: {node}"
        if "parts" in node:
            total = sum(child["score"] for child in node["parts"])
            assert total == pytest.approx(node["score"], rel=1e-3, abs=1e-3), node


@pytest.mark.parametrize("text", QUERIES)
def test_the_parts_add_up_to_the_score(seed_search: FilmSearch, text: str) -> None:
    results = seed_search.search(text, explain=True, limit=10)
    assert results.hits
    for hit in results:
        assert hit.explanation is not None
        assert_adds_up(hit.to_dict()["explain"], hit.score)


def test_filters_alone_and_the_baseline_explain_too(seed_search: FilmSearch) -> None:
    for results in (
        seed_search.search(director=["audiard", "sciamma"], explain=True),
        seed_search.search("whale trainer", baseline=True, explain=True),
    ):
        for hit in results:
            assert_adds_up(hit.to_dict()["explain"], hit.score)


def test_words_are_split_by_field(seed_search: FilmSearch) -> None:
    hit = seed_search.search("whale trainer accident", explain=True)[0]
    tree = hit.to_dict()["explain"]
    words = {node["what"]: node for node in walk(tree) if node["what"].startswith("word ")}
    assert set(words) == {"word 'whale'", "word 'trainer'", "word 'accident'"}
    fields = {child["what"] for child in words["word 'whale'"]["parts"]}
    assert "in synopsis" in fields and fields <= {
        "in title", "in title_exact", "in director", "in cast", "in genre", "in synopsis", "in wiki"
    }  # fmt: skip


def test_coordination_and_hints_are_named(seed_search: FilmSearch) -> None:
    hits = seed_search.search("whale prison", explain=True).hits
    factors = [node.get("factor", "") for hit in hits for node in walk(hit.to_dict()["explain"])]
    assert any("for matching 1 of 2 words" in factor for factor in factors)
    hits = seed_search.search("a whale film from the 90s", explain=True).hits
    factors = [node.get("factor", "") for hit in hits for node in walk(hit.to_dict()["explain"])]
    assert any("year hint" in factor for factor in factors)


def test_names_and_phrases_are_split_into_their_words(seed_search: FilmSearch) -> None:
    hits = seed_search.search("jacques audiard prison", explain=True).hits
    tree = hits[1].to_dict()["explain"]  # matches 2 of the 3 words, and the name
    factors = [node.get("factor", "") for node in walk(tree)]
    assert any("for matching 2 of 3 words" in factor for factor in factors)  # the name is a bonus
    names = [node for node in walk(tree) if node["what"] == "as a name"]
    assert names and {child["what"] for child in walk(names[0])} >= {
        "'jacques' in director",
        "'audiard' in director",
    }
    hit = seed_search.search('cast:"marion cotillard"', explain=True)[0]
    words = [node["what"] for node in walk(hit.to_dict()["explain"]) if " in cast" in node["what"]]
    assert words == ["'marion' in cast", "'cotillard' in cast"]


def test_no_explanation_unless_asked(seed_search: FilmSearch) -> None:
    hit = seed_search.search("whale")[0]
    assert hit.explanation is None and "explain" not in hit.to_dict()


def test_hybrid_scores_are_words_plus_meaning(
    seed_search: FilmSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_semantic import use_fake_ranker

    use_fake_ranker(seed_search, monkeypatch)
    for text in ("whale trainer accident", "director:audiard prison"):
        results = seed_search.search(text, explain=True)
        assert results.mode == "hybrid"
        for hit in results:
            tree = hit.to_dict()["explain"]
            assert_adds_up(tree, hit.score)
            assert [child["what"] for child in tree["parts"]] == ["words", "meaning"]
    for hit in seed_search.search("whale", mode="semantic", explain=True):
        assert_adds_up(hit.to_dict()["explain"], hit.score)


def test_cli_explain_shows_the_parsed_query_and_a_tree(seed_cli) -> None:
    result = seed_cli("search", "whale", "trainer", "--explain", "-n", "2", "--no-snippets")
    assert result.exit_code == 0
    assert "parsed: " in result.output and "title:whale^2.5" in result.output
    lines = result.output.splitlines()
    assert any(line.strip().endswith("word 'whale'") for line in lines)
    assert any(line.strip().endswith("in synopsis") for line in lines)
    data = json.loads(seed_cli("search", "whale", "--explain", "--json").output)
    for hit in data["hits"]:
        assert_adds_up(hit["explain"], hit["score"])
