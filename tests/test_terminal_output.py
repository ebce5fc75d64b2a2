"""Nothing from a document or an index reaches the terminal raw: every human-facing output
escapes control characters (ANSI/OSC sequences, OSC 52 clipboard writes, bidi overrides)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from filmsearch.search.cli import cli
from filmsearch.search.terminal import for_json, for_terminal
from tests.conftest import seed_text

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes the clipboard
RED = "\x1b[31m"
CSI_C1 = "\x9b2J"  # clears the screen on terminals that honour C1 controls
RLO = "\u202e"
HOSTILE = (OSC52, RED, CSI_C1, RLO, "\r")
#: What filmsearch's own colour output may contain.
OUR_STYLES = re.compile(r"\x1b\[(?:1;33|0|1|22)m")


def assert_terminal_safe(text: str) -> None:
    bare = OUR_STYLES.sub("", text)
    for bad in ("\x1b", "\x07", "\x9b", RLO, "\r"):
        assert bad not in bare, f"{bad!r} reached the terminal in {text[:200]!r}"


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile")
    films = root / "films"
    films.mkdir()
    name = f"evil{RED}film.txt"
    (films / name).write_text(
        seed_text(
            title=f"Orca{OSC52}_Tale",
            year="2012",
            director=f"Ann {RLO}Director",
            cast=f"Actor {RED}One,",
            content=f"A whale trainer {CSI_C1} and an orca {OSC52} in the sea.\r\nMore.",
            wiki=f"Wiki {RED}text about the whale.",
        )
    )
    (films / f"bad{OSC52}year.txt").write_text(seed_text(title="Odd", year="20122"))
    index_dir = root / "index"
    return films, index_dir


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_index_messages_are_escaped(hostile_index: tuple[Path, Path]) -> None:
    films, index_dir = hostile_index
    done = run("index", str(films), "--index", str(index_dir))
    assert done.exit_code == 0, done.output
    assert "\\x1b" in done.output  # the file name is shown, escaped
    assert_terminal_safe(done.output)


@pytest.mark.parametrize("color", ["--color", "--no-color"])
@pytest.mark.parametrize("output", ["text", "html"])
def test_search_output_is_escaped(
    hostile_index: tuple[Path, Path], color: str, output: str
) -> None:
    films, index_dir = hostile_index
    run("index", str(films), "--index", str(index_dir))
    done = run("search", "whale", "--index", str(index_dir), color, "--format", output)
    assert done.exit_code == 0
    assert "Orca" in done.output and "whale" in done.output
    assert_terminal_safe(done.output)


def test_json_keeps_the_data_but_no_raw_terminal_controls(
    hostile_index: tuple[Path, Path],
) -> None:
    films, index_dir = hostile_index
    run("index", str(films), "--index", str(index_dir))
    for output in ("json", "ndjson"):
        done = run("search", "whale", "--index", str(index_dir), "--format", output)
        assert_terminal_safe(done.output)
        first = json.loads(done.output.splitlines()[0] if output == "ndjson" else done.output)
        hit = first if output == "ndjson" else first["hits"][0]
        assert hit["title"] == f"Orca{OSC52} Tale"  # the data itself is unchanged
        assert hit["director"] == f"Ann {RLO}Director"


def test_show_stats_and_errors_are_escaped(hostile_index: tuple[Path, Path]) -> None:
    films, index_dir = hostile_index
    run("index", str(films), "--index", str(index_dir))
    film_id = json.loads(run("search", "whale", "--index", str(index_dir), "--json").output)[
        "hits"
    ][0]["id"]
    shown = run("show", film_id, "--index", str(index_dir))
    assert shown.exit_code == 0 and "whale trainer" in shown.output
    assert_terminal_safe(shown.output)
    assert_terminal_safe(run("stats", "--index", str(index_dir)).output)
    missing = run("show", f"no{OSC52}such", "--index", str(index_dir))
    assert missing.exit_code == 1
    assert_terminal_safe(missing.output)
    bad_query = run("search", f'title:"{RED}', "--index", str(index_dir))
    assert bad_query.exit_code == 2
    assert_terminal_safe(bad_query.output)


def test_for_terminal_keeps_ordinary_text() -> None:
    text = "Amélie — 8½ 東京物語 (c'est la vie)"
    assert for_terminal(text) == text
    assert for_terminal("a\nb\tc") == "a\\nb\\tc"
    assert for_terminal("a\nb", multiline=True) == "a\nb"
    assert json.loads(for_json({"t": f"x{CSI_C1}{RLO}"})) == {"t": f"x{CSI_C1}{RLO}"}
