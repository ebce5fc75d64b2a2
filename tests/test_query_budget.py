"""No query runs away: bounded wildcards, phrases, numbers and nesting, and a time budget.

The pathological queries run on a synthetic index generated here (a few
hundred films of random words, built once per session), big enough that they
took from 15 s to minutes before they were bounded. The wall-clock limit
below only guards against hangs; nothing here measures speed.
"""

from __future__ import annotations

import math
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from filmsearch.index import build_index
from filmsearch.search import FilmSearch, QueryError, Results, term_scores
from filmsearch.search.cli import cli
from filmsearch.search.query import MAX_EXPANDING_WORDS, MAX_NESTING, MAX_PHRASE_WORDS

from .conftest import seed_text

#: Seconds a search may take before the test calls it hung (a guard, not a measure).
HANG_GUARD = 60.0
#: Words in nearly every synthetic film, so that phrases of them match everywhere.
COMMON = ["alp", "bra", "del", "ech", "gol", "hot", "ind", "kil"]
LETTERS = "abdefgikmnoprstuvzhl"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))


@pytest.fixture(scope="session")
def synthetic_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 films: half their words from COMMON, half from 6,000 random words."""
    rng = random.Random(12)
    vocabulary = sorted({_word(rng) for _ in range(6000)})
    root = tmp_path_factory.mktemp("synthetic")
    films = root / "films"
    films.mkdir()

    def text(words: int) -> str:
        return " ".join(
            rng.choice(COMMON) if rng.random() < 0.5 else rng.choice(vocabulary)
            for _ in range(words)
        )

    for number in range(600):
        (films / f"film_{number:04d}.txt").write_text(
            seed_text(
                title=f"{rng.choice(vocabulary)} {rng.choice(vocabulary)}",
                year=str(rng.randint(1950, 2020)),
                runtime=str(rng.randint(60, 180)),
                director=f"{rng.choice(vocabulary)} {rng.choice(vocabulary)}",
                cast=f"{rng.choice(vocabulary)} {rng.choice(vocabulary)},",
                content=text(40) + ".",
                wiki=text(80) + ".",
            )
        )
    build_index([films], root / "index")
    return root / "index"


@pytest.fixture(scope="module")
def big(synthetic_index: Path):
    with FilmSearch(synthetic_index) as fs:
        yield fs


def answer(fs: FilmSearch, text: str, **options: Any) -> Results | QueryError:
    """The search's results or QueryError; the test fails if it hangs past HANG_GUARD."""
    outcome: list[Results | BaseException] = []

    def run() -> None:
        try:
            outcome.append(fs.search(text, **options))
        except BaseException as error:  # handed to the test below
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)
    assert outcome, f"the search of {text[:60]!r}… ran for more than {HANG_GUARD:.0f} s"
    if isinstance(outcome[0], QueryError):
        return outcome[0]
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _phrase(rng: random.Random, words: int) -> str:
    return '"' + " ".join(rng.choice(COMMON) for _ in range(words)) + '"'


def test_a_wildcard_storm_is_a_query_error_at_the_first_word_past_the_limit(
    big: FilmSearch,
) -> None:
    text = " OR ".join(f"*{letter}*" for letter in LETTERS)  # 20 words, each in most films
    outcome = answer(big, text)
    assert isinstance(outcome, QueryError)
    assert "wildcard" in outcome.message
    assert outcome.position == text.index(f"*{LETTERS[MAX_EXPANDING_WORDS]}*")


def test_wildcards_within_the_limit_come_back_flagged_partial(big: FilmSearch) -> None:
    text = " ".join(f"*{letter}*" for letter in "aeiou"[:MAX_EXPANDING_WORDS])
    outcome = answer(big, text)
    if isinstance(outcome, QueryError):  # nothing found within the budget (a loaded machine)
        assert "took longer" in outcome.message
    else:
        # each stands for hundreds of words; only the shortest are searched
        assert outcome.partial and outcome.total > 0
        assert outcome.to_dict()["partial"] is True


def test_a_huge_phrase_is_searched_as_its_first_words(big: FilmSearch) -> None:
    text = _phrase(random.Random(3), 2400)  # 9,600 characters, as long as a query may be
    outcome = answer(big, text)
    if isinstance(outcome, QueryError):
        assert "took longer" in outcome.message
        return
    for searched in outcome.parsed.split('"')[1::2]:
        assert len(searched.split()) == MAX_PHRASE_WORDS


@pytest.mark.parametrize("joint", ["   ", " OR"])
def test_a_100_kb_query_of_phrases_comes_back(big: FilmSearch, joint: str) -> None:
    rng = random.Random(4)
    text = "".join(_phrase(rng, 24) + joint for _ in range(1000))  # 100-character units
    assert len(text) == 100_000
    outcome = answer(big, text)
    if isinstance(outcome, QueryError):
        assert "took longer" in outcome.message and outcome.position is None
    else:
        assert outcome.total >= len(outcome.hits)
        assert outcome.partial or outcome.total == 0


class FakeClock:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def test_when_the_time_runs_out_the_best_films_so_far_come_back_flagged_partial(
    big: FilmSearch, synthetic_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 40 rare words: the term-at-a-time scorer reads them one by one; the clock
    # moves 50 ms each time it is read, so a 0.3 s budget stops it part way.
    film = big.get("film_0007")
    assert film is not None
    rare = {word.strip(".") for word in film.wiki.split()} - set(COMMON)
    words = " ".join(sorted(rare)[:40])
    complete = big.search(words, time_limit=None, snippets=False)
    assert not complete.partial and complete.total > 20
    monkeypatch.setattr(term_scores, "time", FakeClock(0.05))
    cut = big.search(words, time_limit=0.3, snippets=False)
    assert cut.partial and cut.to_dict()["partial"] is True
    assert 0 < cut.total < complete.total and cut.hits
    monkeypatch.undo()
    # what was scored in part was not kept: the same search again is complete
    again = big.search(words, time_limit=None, snippets=False)
    with FilmSearch(synthetic_index) as fresh:
        expected = fresh.search(words, time_limit=None, snippets=False)
    assert [(h.id, h.score) for h in again] == [(h.id, h.score) for h in expected]
    assert again.total == expected.total == complete.total


@pytest.mark.parametrize(
    "text",
    [
        "alp",  # term-at-a-time scorer
        "title:alp OR wiki:bra",  # whoosh's collector
        '"alp bra" del',  # a phrase
        "*a* bra",  # an expansion
    ],
)
def test_no_time_at_all_is_a_query_error_saying_how_to_narrow_it(
    big: FilmSearch, text: str
) -> None:
    with pytest.raises(QueryError, match=r"took longer than 1e-09 s.*narrow it"):
        big.search(text, time_limit=1e-9)


@pytest.mark.parametrize("limit", [0, -1.0, math.nan, "2", True])
def test_the_time_limit_must_be_a_positive_number(big: FilmSearch, limit: Any) -> None:
    with pytest.raises(ValueError, match="time_limit"):
        big.search("alp", time_limit=limit)


def test_no_time_limit_and_an_infinite_one_search_everything(big: FilmSearch) -> None:
    for limit in (None, math.inf):
        results = big.search("alp", time_limit=limit)
        assert results.total > 0 and not results.partial


BAD_NUMBERS = [
    ("year:0..99999999999999", 5),
    ("whale year:99999999999999999999", 11),
    ("runtime:>99999999999999", 9),
    ("year:" + "9" * 190, 5),
    ("whale 1990..99999999999", 6),
    ("year:[1990 TO 99999999999]", 5),
]


@pytest.mark.parametrize("text, position", BAD_NUMBERS)
def test_implausible_years_and_running_times_are_query_errors_with_the_position(
    seed_search: FilmSearch, text: str, position: int
) -> None:
    with pytest.raises(QueryError, match="out of range") as caught:
        seed_search.search(text)
    assert caught.value.position == position


@pytest.mark.parametrize(
    "text, position",
    [
        ("year:" + "9" * 5000, 0),  # int() of 5,000 digits raises ValueError
        ("title:whale " + "9" * 10_000, 12),  # whoosh's parser took 8 s over these
        ("whale OR " + "a" * 5000, 9),
    ],
)
def test_long_words_in_query_syntax_are_query_errors(
    seed_search: FilmSearch, text: str, position: int
) -> None:
    outcome = answer(seed_search, text)
    assert isinstance(outcome, QueryError)
    assert outcome.position == position and "a word of more than" in outcome.message


@pytest.mark.parametrize("word", ["9" * 10_000, "a" * 5000, "ab" * 4990, "x" * 9000 + ":y"])
def test_long_words_among_plain_words_are_searched_as_words(
    seed_search: FilmSearch, word: str
) -> None:
    outcome = answer(seed_search, f"whale {word}"[:10_000])
    assert isinstance(outcome, Results)
    assert outcome.total > 0 and not outcome.partial


def test_unclosed_ranges_are_read_as_words_without_hanging(seed_search: FilmSearch) -> None:
    # whoosh's range pattern took 8 minutes over these (1,600 ranges never closed)
    outcome = answer(seed_search, "whale " + "[a TO " * 1600)
    if isinstance(outcome, QueryError):  # parsing them took the whole budget
        assert "took longer" in outcome.message
    else:
        assert outcome.hits[0].title == seed_search.search("whale").hits[0].title


@pytest.mark.parametrize(
    "options",
    [
        {"year": "0..99999999999999"},
        {"year": (0, 99999999999999)},
        {"year": 10**30},
        {"runtime": "99999999999999999999"},
        {"runtime": (None, 10**400)},
    ],
)
def test_implausible_year_and_runtime_options_are_query_errors(
    seed_search: FilmSearch, options: dict[str, Any]
) -> None:
    with pytest.raises(QueryError, match="out of range"):
        seed_search.search("whale", **options)
    # bounds beyond the indexed years, but plausible, are fine
    assert seed_search.search("", year="1800..2100", limit=100).total > 0
    assert seed_search.search("year:1000..9999 runtime:0..9999 whale").total > 0


@pytest.mark.parametrize(
    "text, position",
    [
        ("(whale NOT " * 200 + "whale" + ")" * 200, 11 * MAX_NESTING),
        ("(" * 10_000 + "whale" + ")" * 10_000, MAX_NESTING),
        ("(" * 4_000 + "whale" + ")" * 4_000, MAX_NESTING),
        ('"(((" ' + "(" * (MAX_NESTING + 1) + "whale" + ")" * (MAX_NESTING + 1), 6 + MAX_NESTING),
    ],
)
def test_deep_nesting_is_a_query_error_at_the_first_parenthesis_too_deep(
    seed_search: FilmSearch, text: str, position: int
) -> None:
    with pytest.raises(QueryError, match=f"nested more than {MAX_NESTING}") as caught:
        seed_search.search(text)
    assert caught.value.position == position
    assert text[position] == "("
    # as deep as allowed is answered
    assert seed_search.search("(" * MAX_NESTING + "whale" + ")" * MAX_NESTING).total > 0


@pytest.mark.parametrize(
    "query, message",
    [
        (["year:0..99999999999999"], "out of range"),
        (["whale", "--year", "0..99999999999999"], "out of range"),
        (["runtime:>99999999999999"], "out of range"),
        (["(whale NOT " * 200 + "whale" + ")" * 200], "nested more than"),
        ([" OR ".join(f"*{letter}*" for letter in LETTERS)], "wildcard"),
    ],
)
def test_the_cli_reports_bad_queries_in_one_line_with_exit_2(
    seed_index: Path, query: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, ["search", *query, "--index", str(seed_index)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("filmsearch: error: bad query")
    assert result.stderr.count("\n") == 1 and message in result.stderr
    if query[0].startswith(("year:", "runtime:", "(")):
        assert " at position " in result.stderr
