"""Query parsing: syntax, field semantics, and errors with positions."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from filmsearch.index.schema import build_schema
from filmsearch.search.bm25f import all_terms
from filmsearch.search.query import QueryError, filter_query, make_parser, parse_query, parse_range
from filmsearch.search.retrieve import plan_query
from filmsearch.search.understand import understand

SCHEMA = build_schema()
PARSER = make_parser(SCHEMA)


def parse(text: str) -> wq.Query:
    return parse_query(text, PARSER)


@pytest.mark.parametrize(
    "text, message, position",
    [
        ("year:abc", "year expects a number", 5),
        ("whale year:2015..2010", "start 2015 is after the end 2010", 11),
        ('whale "trainer accident', "unclosed quote", 6),
        ("(whale OR orca", "'(' is never closed", 0),
        ("whale)", "')' without a matching '('", 5),
        ("directr:audiard", "unknown field 'directr'", 8),
        ("runtime:long", "runtime expects a number", 8),
        ("year:[2015 TO 2010]", "start 2015 is after the end 2010", 5),
        (">>", "cannot understand this query", None),
    ],
)
def test_malformed_queries_say_what_and_where(
    text: str, message: str, position: int | None
) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert caught.value.position == position
    if position is not None:
        assert f"at position {position}" in str(caught.value)


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("year:2010..2015", 2010, 2015),
        ("year:[2010 TO 2015]", 2010, 2015),
        ("year:2010..", 2010, None),
        ("runtime:..100", None, 100),
        ("1990..1999", 1990, 1999),
    ],
)
def test_ranges_become_numeric_ranges(text: str, low: int | None, high: int | None) -> None:
    q = parse(text)
    assert isinstance(q, wq.NumericRange)
    assert (q.start, q.end) == (low, high)


def test_field_clauses_are_required_and_keywords_rank() -> None:
    q = parse("director:audiard year:2010..2015 prison")
    assert isinstance(q, wq.And)
    assert [type(sub).__name__ for sub in q.subqueries][:2] == ["Term", "NumericRange"]


def test_explicit_operators_are_kept() -> None:
    q = parse("director:audiard OR director:nolan")
    assert isinstance(q, wq.Or) and len(q.subqueries) == 2


def test_not_excludes_instead_of_matching_everything_else() -> None:
    q = parse("cast:cotillard NOT director:nolan")
    assert isinstance(q, wq.AndNot)


def test_field_aliases() -> None:
    assert parse("genres:drama") == wq.Term("genre", "drama")
    assert parse("plot:whale").fieldname == "synopsis"


def test_empty_query_matches_everything() -> None:
    assert isinstance(parse("   "), wq.Every)


@pytest.mark.parametrize(
    "text, bounds",
    [
        ("2012", (2012, 2012)),
        ("2010..2015", (2010, 2015)),
        ("..1990", (None, 1990)),
        ("2000..", (2000, None)),
    ],
)
def test_range_options(text: str, bounds: tuple) -> None:
    assert parse_range(text) == bounds


@pytest.mark.parametrize("text", ["abc", "2015..2010", "..", "20 10"])
def test_bad_range_options(text: str) -> None:
    with pytest.raises(QueryError):
        parse_range(text)


def test_filter_options_make_name_phrases() -> None:
    q = filter_query(SCHEMA, cast="Marion Cotillard", year="2010..2015")
    assert isinstance(q, wq.And)
    assert q.subqueries[0] == wq.Phrase("cast", ["marion", "cotillard"])


def test_a_bug_in_filmsearch_code_while_parsing_is_not_called_a_bad_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from filmsearch.search import query

    def broken(self: object, parser: object, group: object) -> object:
        raise AssertionError("a bug")

    monkeypatch.setattr(query.ValidationPlugin, "check", broken)
    with pytest.raises(AssertionError, match="a bug"):
        parse_query("whale", make_parser(SCHEMA))
    with pytest.raises(QueryError, match="cannot understand"):  # whoosh's own failures still are
        parse(">>")


#: Words and syntax that make every kind of node of a planned query.
QUERY_PIECES = ["whale", "orca", "trainer", "the", "director:audiard", 'cast:"marion cotillard"',
                "title:rust", "year:2012", '"rust and bone"', "AND", "OR", "NOT", "(", ")",
                "whal*", "genre:drama", "wiki:legs", "-sea"]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(QUERY_PIECES), min_size=1, max_size=12).map(" ".join))
def test_all_terms_are_whooshs_terms_of_the_query_tree(text: str) -> None:
    """``bm25f.all_terms`` reads FieldedWords directly: the same terms, in the same order,
    as Whoosh's walk of the whole tree."""
    try:
        q = plan_query(understand(text), SCHEMA, lambda: PARSER)
    except QueryError:
        return
    assert all_terms(q) == list(q.iter_all_terms())
