"""Understanding query text: syntax where it was meant, words everywhere else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filmsearch.index.schema import build_schema
from filmsearch.search.query import QueryError, make_parser
from filmsearch.search.retrieve import plan_query
from filmsearch.search.understand import MAX_QUERY_CHARS, understand

from .conftest import SHARED

PARSER = make_parser(build_schema())


@pytest.mark.parametrize(
    "text, words",
    [
        ("Character receives Genesis 3:14 bible quote", "Genesis 3 14"),
        ("see https://www.youtube.com/watch?v=Fx&t=0m4s for the clip", "youtube"),
        ("a boy and a big fish in the sea :)", "fish"),
        ("I do NOT remember the title, sorry", "NOT"),
        ("whale movie?", "whale movie"),
        ("Title with a time (hh:mm) where 4 stories mix", "hh mm"),
        ("the end(? of a film I saw in the early 90's (maybe late 80s", "maybe late"),
        ("she sings \"I'm Free (Heaven Helps the Man", "Heaven Helps"),
        ("[edit: it was also live action]", "edit"),
    ],
)
def test_pasted_text_is_read_as_words_not_refused(text: str, words: str) -> None:
    plan = understand(text)
    assert plan.syntax is None  # nothing of it is syntax: the fast path of words only
    assert words in " ".join(plan.words)
    assert plan_query(plan, PARSER.schema, lambda: PARSER) is not None


@pytest.mark.parametrize(
    "text, meant",
    [
        ("whale NOT orca", "operator"),
        ("(whale OR shark) trainer", "operator"),
        ("wh?le trainer", "wildcard"),
        ("whal* trainer", "wildcard"),
        ('"killer whale" trainer', "phrase"),
        ("director:audiard year:2010..2015", "field"),
        ("Director:Audiard", "field"),
        ("year:[2010 TO 2015] heist", "range"),
        ("1990..1999 heist", "range"),
        ("whale^3 trainer", "boost"),
    ],
)
def test_syntax_is_kept_where_it_was_meant(text: str, meant: str) -> None:
    plan = understand(text)
    assert meant in plan.meant
    assert plan.syntax is not None and len(plan.syntax) == len(text)


def test_a_field_name_keeps_its_value_out_of_the_free_words() -> None:
    plan = understand('director:audiard cast:"marion cotillard" prison')
    assert plan.words == ("prison",)
    assert plan.fields == (("director", "audiard"), ("cast", '"marion cotillard"'))


@pytest.mark.parametrize(
    "text",
    ["I do NOT remember the title", "a film AND a book about the same", "what OR who is it"],
)
def test_capital_operators_in_prose_are_words(text: str) -> None:
    plan = understand(text)
    assert plan.prose and plan.syntax is None
    assert len(plan.words) == len(text.split())


def test_a_field_clause_holds_in_prose_and_the_rest_is_words() -> None:
    plan = understand("director:burton she lost her legs and I do NOT know (the name) of it?")
    assert plan.prose and plan.meant == ("field",)
    assert plan.fields == (("director", "burton"),)
    assert "burton" not in plan.words and "NOT" not in (plan.syntax or "")
    assert "operator" in plan.ignored and "group" in plan.ignored
    assert plan_query(plan, PARSER.schema, lambda: PARSER) is not None


def test_a_question_mark_ending_a_word_is_punctuation() -> None:
    assert understand("whale trainer?").syntax is None
    assert understand("wh?le").meant == ("wildcard",)


@pytest.mark.parametrize(
    "text, message, position",
    [
        ("year:abc", "year expects a number", 5),
        ("whale year:2015..2010", "start 2015 is after the end 2010", 11),
        ('title:"unclosed', "unclosed quote", 6),
        ("directr:audiard", "unknown field 'directr'; did you mean director?", 8),
        ("(" * 30 + "whale" + ")" * 30, "nested more than 20 deep", 20),
    ],
)
def test_syntax_clearly_meant_and_wrong_is_refused_with_the_position(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(QueryError) as caught:
        plan_query(understand(text), PARSER.schema, lambda: PARSER)
    assert message in caught.value.message
    assert caught.value.position == position


def test_the_plan_says_what_was_read_as_words() -> None:
    plan = understand("Genesis 3:14 (the one with the snake")
    assert plan.prose and plan.syntax is None
    assert "read as words: colon, parenthesis" in str(plan)
    assert str(understand("a film from the 90s about a whale")).endswith("prose; hints: 1990..1999")


def test_plain_reads_everything_as_words() -> None:
    plan = understand('director:audiard "prison" NOT wh?le', plain=True)
    assert plan.syntax is None and not plan.meant
    assert plan.words == ("director", "audiard", "prison", "NOT", "wh", "le")


@given(st.text(alphabet=st.sampled_from('ab :?*"()[]{}^<>=.-ANDORTNy190\n'), max_size=60))
def test_any_text_is_understood_and_keeps_its_positions(text: str) -> None:
    plan = understand(text)
    if plan.syntax is not None:
        assert len(plan.syntax) == len(text)
        try:
            plan_query(plan, PARSER.schema, lambda: PARSER)
        except QueryError as error:  # refused only where syntax was meant, with a position
            assert plan.meant
            assert error.position is None or 0 <= error.position <= len(text)


def test_text_past_the_longest_query_is_cut() -> None:
    plan = understand("whale " * 3000)
    assert len(plan.text) == MAX_QUERY_CHARS


@pytest.mark.skipif(not (SHARED / "eval").is_dir(), reason="needs ../shared/eval")
@pytest.mark.parametrize("form", ["short", "long"])
def test_no_dev_request_is_refused(form: str, stress: bool) -> None:
    """Every real request (every 4th one; all with --stress) is understood and parsed."""
    lines = (SHARED / "eval" / "tot-dev.jsonl").read_text(encoding="utf-8").splitlines()
    refused = []
    for line in lines if stress else lines[::4]:
        text = json.loads(line)[form]
        try:
            plan_query(understand(text), PARSER.schema, lambda: PARSER)
        except QueryError as error:
            refused.append((text[:80], str(error)))
    assert refused == []
