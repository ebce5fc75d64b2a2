"""Retrieving films for a plan: names count as names, and the CLI's ways in (--plain, stdin)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from filmsearch.index import build_index
from filmsearch.search import FilmSearch
from filmsearch.search.cli import cli

from .conftest import SEEDS, seed_text

#: A film by James Whale whose text also says "killer": without the rule that a free
#: word counts in director and cast only as a name, it comes first for "killer whale".
FRANKENSTEIN = seed_text(
    title="Frankenstein",
    year="1931",
    runtime="70",
    director="James Whale",
    cast="Colin Clive,Mae Clarke,Boris Karloff,",
    content="A young doctor stitches a body together from stolen corpses and gives it life; "
    "shunned and afraid, the creature he made becomes a killer.",
    wiki="An early sound horror film from Universal, after a stage play of the novel.",
)


@pytest.fixture(scope="module")
def whale_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled seeds (several films about whales) and one film directed by James Whale."""
    root = tmp_path_factory.mktemp("whale")
    shutil.copytree(SEEDS, root / "films")
    (root / "films" / "frankenstein.txt").write_text(FRANKENSTEIN, encoding="utf-8")
    build_index([root / "films"], root / "index")
    return root / "index"


def titles(index: Path, text: str, **options: object) -> list[str]:
    with FilmSearch(index) as fs:
        return [hit.title for hit in fs.search(text, mode="lexical", **options).hits]  # type: ignore[arg-type]


def test_a_common_word_that_is_also_a_surname_does_not_match_the_name(whale_index: Path) -> None:
    found = titles(whale_index, "killer whale")
    assert found[0] != "Frankenstein"
    assert found.index("Frankenstein") > 3 if "Frankenstein" in found else True


def test_a_whole_name_typed_in_a_row_matches_as_a_name(whale_index: Path) -> None:
    assert titles(whale_index, "james whale")[0] == "Frankenstein"
    assert titles(whale_index, "james whale horror")[0] == "Frankenstein"


def test_a_fielded_name_matches(whale_index: Path) -> None:
    assert titles(whale_index, "director:whale") == ["Frankenstein"]


def test_a_word_that_is_only_a_name_matches_alone(whale_index: Path) -> None:
    assert titles(whale_index, "karloff")[0] == "Frankenstein"


def test_plain_and_stdin_read_the_text_as_words(seed_index: Path) -> None:
    runner = CliRunner()
    index = ["--index", str(seed_index)]
    typed = runner.invoke(cli, ["search", "--json", "whale trainer NOT accident", *index])
    plain = runner.invoke(
        cli, ["search", "--json", "--plain", "whale trainer NOT accident", *index]
    )
    piped = runner.invoke(
        cli, ["search", "--json", "-", *index], input="whale trainer NOT accident\n"
    )
    assert typed.exit_code == plain.exit_code == piped.exit_code == 0
    assert '"understood": "words: whale trainer accident; syntax: operator"' in typed.output
    assert '"understood": "words: whale trainer NOT accident"' in plain.output
    assert '"total": 0' not in plain.output
    assert piped.output == typed.output  # stdin is the same query as the argument


def test_a_description_on_stdin_finds_the_film(seed_index: Path) -> None:
    description = (
        "I remember a movie (french, maybe 2012?) where a whale trainer ends up in a "
        "wheelchair after an accident :( and a single father who works as a bouncer..."
    )
    result = CliRunner().invoke(
        cli, ["search", "-", "--limit", "1", "--index", str(seed_index)], input=description
    )
    assert result.exit_code == 0, result.output
    assert "Rust and Bone" in result.output
