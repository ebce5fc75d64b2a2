"""Query syntax: Whoosh's query parser with filmsearch's plugins (``query`` has the
bounds, the filters and QueryError).

Imported when a query has syntax (``understand.QueryPlan.syntax``) or a parser is
asked for: a search of plain words needs none, and importing Whoosh's parser
(``whoosh.qparser``) and making one cost a command-line search 4 % of its
instructions.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from whoosh import query as wq
from whoosh.qparser import (
    FieldAliasPlugin,
    FieldsPlugin,
    GtLtPlugin,
    MultifieldParser,
    MultifieldPlugin,
    QueryParser,
    RangePlugin,
    syntax,
)
from whoosh.qparser.plugins import Plugin, PrefixPlugin, TaggingPlugin, WildcardPlugin

from filmsearch.index.errors import raised_in
from filmsearch.index.schema import NUMERIC_FIELDS

from . import ranking
from .bm25f import FieldedWord, Keywords
from .query import (
    _DECADE,
    FIELD_ALIASES,
    MAX_EXPANDING_WORDS,
    MAX_NESTING,
    MAX_QUERY_CHARS,
    MAX_RANGE_CHARS,
    MAX_WORD_CHARS,
    QUERYABLE_FIELDS,
    QueryError,
    bound_query,
    check_number,
    decade_bounds,
)
from .understand import near_field_name

_LONG_WORD = re.compile(rf"[^ \t\r\n]{{{MAX_WORD_CHARS + 1}}}")
#: Whoosh's RangePlugin pattern with every open-ended part bounded: its own took
#: 8 minutes on "[a TO " repeated 1,600 times.
_BOUNDED_RANGE = re.compile(
    rf"""
    (?P<open>\{{|\[)
    (?P<start>
        ('[^']{{0,{MAX_RANGE_CHARS}}}'\s+)
        |
        ([^\]}}]{{1,{MAX_RANGE_CHARS}}}?(?=\b[Tt][Oo]\b))
    )?
    \b[Tt][Oo]\b
    (?P<end>
        (\s+'[^']{{0,{MAX_RANGE_CHARS}}}')
        |
        ([^\]}}]{{1,{MAX_RANGE_CHARS}}}?)
    )?
    (?P<close>}}|])
    """,
    re.VERBOSE | re.UNICODE,
)


class FieldedWordGroup(syntax.GroupNode):
    """Parser node that turns into a FieldedWord (used by the multifield plugin)."""

    qclass = FieldedWord

    def query(self, parser: Any) -> wq.Query:
        q: wq.Query = super().query(parser)  # type: ignore[no-untyped-call]  # whoosh's
        if isinstance(q, FieldedWord):  # each node is the typed word in one field
            q.word = next((str(node.text).lower() for node in self.nodes if node.has_text), "")
        return q


class KeywordsGroup(syntax.OrGroup):
    """Parser node that turns into Keywords (the parser's default group)."""

    qclass = Keywords


def _check_balanced(text: str) -> None:
    """Raise QueryError for an unclosed quote or parenthesis, a stray ``)``, or
    parentheses nested more than MAX_NESTING deep (at the first one too deep)."""
    quote_at = None
    open_parens: list[int] = []
    for pos, char in enumerate(text):
        if char == '"':
            quote_at = pos if quote_at is None else None
        elif quote_at is not None:
            continue
        elif char == "(":
            if len(open_parens) == MAX_NESTING:
                raise QueryError(f"parentheses nested more than {MAX_NESTING} deep", pos)
            open_parens.append(pos)
        elif char == ")":
            if not open_parens:
                raise QueryError("')' without a matching '('", pos)
            open_parens.pop()
    if quote_at is not None:
        raise QueryError("unclosed quote '\"'", quote_at)
    if open_parens:
        raise QueryError("'(' is never closed", open_parens[-1])


class _InWordError(QueryError):
    """A QueryError whose position is somewhere inside the word it is about (whoosh
    places a wildcard word at its last ``*`` or ``?``); parse_query moves it to the
    word's start."""


def _word_start(text: str, position: int) -> int:
    """Where the word (field name included) holding ``position`` starts."""
    start = position
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in '()"':
        start -= 1
    return start


class DottedRangePlugin(TaggingPlugin):
    """Tags ``2010..2015``, ``2010..`` and ``..2015`` as numeric ranges (inclusive)."""

    priority = 1
    # Starts only where a number can start: tried at every digit of a long number,
    # it read the rest of it each time.
    expr = re.compile(r"(?<![\d.])(?=-?\d|\.\.-?\d)(?P<start>-?\d+)?\.\.(?P<end>-?\d+)?(?=$|[\s)])")

    def create(self, parser: Any, match: re.Match[str]) -> syntax.RangeNode:
        return syntax.RangeNode(match.group("start"), match.group("end"), False, False)


class DecadePlugin(Plugin):
    """Reads ``decade:1990s`` and ``year:1990s`` (or ``90s``) as the range 1990..1999."""

    def filters(self, parser: Any) -> list[tuple[Any, int]]:
        # After field names are applied (100), before validation (105).
        return [(self.decades, 104)]

    def decades(self, parser: Any, group: Any) -> Any:
        for position, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                self.decades(parser, node)
                continue
            field = getattr(node, "fieldname", None)
            if field not in ("decade", "year") or not isinstance(node, syntax.TextNode):
                continue
            text = node.text or ""
            if field == "year" and not _DECADE.match(text):
                continue  # a year; ValidationPlugin checks it
            try:
                low, high = decade_bounds(text)
            except QueryError as error:
                raise QueryError(error.message, node.startchar) from None
            decade = syntax.RangeNode(str(low), str(high), False, False)
            decade.set_fieldname("year")
            decade.startchar, decade.endchar = node.startchar, node.endchar
            group[position] = decade
        return group


class ValidationPlugin(Plugin):
    """Rejects unknown fields and bad numeric values instead of silently dropping them."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def filters(self, parser: Any) -> list[tuple[Any, int]]:
        # After field names are applied (100), before multifield expansion (110).
        return [(self.check, 105)]

    def check(self, parser: Any, group: Any) -> Any:
        self._check(group, [0])
        return group

    def _check(self, group: Any, expanding: list[int]) -> None:
        """Check ``group``'s nodes; ``expanding[0]`` counts the expanding words seen."""
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self._check(node, expanding)
                continue
            field = getattr(node, "fieldname", None)
            position = getattr(node, "startchar", None)
            if isinstance(node, syntax.RangeNode) and field is None:
                node.set_fieldname("year")
                field = "year"
            if isinstance(node, EXPANDING_NODES) and field not in NUMERIC_FIELDS:
                expanding[0] += 1
                if expanding[0] > MAX_EXPANDING_WORDS:
                    raise _InWordError(
                        f"more than {MAX_EXPANDING_WORDS} wildcard, prefix or range words "
                        "(*, ?, [a TO b]); use fewer, or give them more letters",
                        position,
                    )
            if field is None:
                continue
            if field not in self.schema or field not in QUERYABLE_FIELDS:
                near = near_field_name(field)
                known = (
                    f"did you mean {near}?" if near else "fields are " + ", ".join(QUERYABLE_FIELDS)
                )
                raise QueryError(f"unknown field {field!r}; {known}", position)
            if field in NUMERIC_FIELDS:
                self._check_numeric(node, field, position)

    @staticmethod
    def _check_numeric(node: Any, field: str, position: int | None) -> None:
        if isinstance(node, syntax.RangeNode):
            bounds = [node.start, node.end]
            for value in bounds:
                if value not in (None, "") and not re.fullmatch(r"-?\d+", str(value).strip()):
                    shown = str(value).strip()[:40]
                    raise QueryError(f"{field} range needs whole numbers, got {shown!r}", position)
            low, high = (
                check_number(field, v, position) if v not in (None, "") else None for v in bounds
            )
            if low is not None and high is not None and low > high:
                raise QueryError(
                    f"empty {field} range: the start {low} is after the end {high}", position
                )
        elif isinstance(node, syntax.TextNode):
            text = node.text
            if not re.fullmatch(r"-?\d+", text or ""):
                shown = (text or "")[:40]
                raise QueryError(
                    f"{field} expects a number or a range like 2010..2015, got {shown!r}", position
                )
            check_number(field, text, position)
        else:
            raise QueryError(f"{field} expects a number or a range like 2010..2015", position)


#: Parser nodes that stand for many index words (a RangeNode only on a text field).
EXPANDING_NODES = (WildcardPlugin.WildcardNode, PrefixPlugin.PrefixNode, syntax.RangeNode)


class FieldsRequiredPlugin(Plugin):
    """Makes ``field:value`` clauses required when the query has no explicit operators.

    ``director:audiard year:2010..2015 prison`` means films by Audiard from those
    years, ranked by how well they match "prison" (at least one free keyword must
    match). With AND, OR or NOT in the query the user's own logic is kept.
    """

    def filters(self, parser: Any) -> list[tuple[Any, int]]:
        return [(self.require_fields, 107)]

    @staticmethod
    def require_fields(parser: Any, group: Any) -> Any:
        nodes = [node for node in group if not node.is_ws()]
        if any(isinstance(node, syntax.Operator) for node in nodes):
            return group
        fielded = [node for node in nodes if getattr(node, "fieldname", None)]
        free = [node for node in nodes if not getattr(node, "fieldname", None)]
        if not fielded:
            return group
        if free:
            fielded.append(parser.group(free))
        return syntax.AndGroup(fielded)


def make_parser(schema: Any) -> QueryParser:
    """A Whoosh parser over the free-text fields, with filmsearch's plugins."""
    fields = list(ranking.FIELD_WEIGHTS)
    parser = MultifieldParser(
        fields, schema, fieldboosts=ranking.FIELD_WEIGHTS, group=KeywordsGroup
    )
    parser.replace_plugin(
        MultifieldPlugin(fields, fieldboosts=ranking.FIELD_WEIGHTS, group=FieldedWordGroup)
    )
    parser.replace_plugin(FieldsPlugin(remove_unknown=False))
    parser.replace_plugin(RangePlugin(expr=_BOUNDED_RANGE))
    parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
    parser.add_plugin(GtLtPlugin())
    parser.add_plugin(DottedRangePlugin())  # type: ignore[no-untyped-call]  # whoosh's Plugin.__init__
    parser.add_plugin(DecadePlugin())
    parser.add_plugin(ValidationPlugin(schema))
    parser.add_plugin(FieldsRequiredPlugin())
    return parser


def _exclude_negations(q: wq.Query) -> wq.Query:
    """Make ``a NOT b`` mean "a, but not b" inside OR groups (Whoosh reads "a OR (NOT b)")."""
    if isinstance(q, wq.compound.CompoundQuery):
        q = copy.copy(q)
        q.subqueries = [_exclude_negations(sub) for sub in q.subqueries]
        if isinstance(q, wq.Or):
            negated = [sub.query for sub in q.subqueries if isinstance(sub, wq.Not)]
            if negated:
                q.subqueries = [sub for sub in q.subqueries if not isinstance(sub, wq.Not)]
                positive = q if q.subqueries else wq.Every()
                exclude = negated[0] if len(negated) == 1 else wq.Or(negated)
                return wq.AndNot(positive, exclude)
    return q


def parse_query(text: str, parser: QueryParser) -> wq.Query:
    """Parse query syntax (``understand.QueryPlan.syntax``); raise QueryError if it is
    malformed, with the position."""
    text = text[:MAX_QUERY_CHARS].replace("\x00", " ")
    _check_balanced(text)
    long_word = _LONG_WORD.search(text)
    if long_word:
        raise QueryError(
            f"a word of more than {MAX_WORD_CHARS} characters; put spaces between words",
            long_word.start(),
        )
    if not text.strip():
        return wq.Every()
    try:
        parsed = parser.parse(text)
    except _InWordError as error:
        position = error.position
        start = None if position is None else _word_start(text, position)
        raise QueryError(error.message, start) from None
    except QueryError:
        raise
    except Exception as error:
        if not (raised_in(error) or "").startswith("whoosh"):
            raise  # raised by filmsearch's own code: a bug, not a bad query
        message = str(error).splitlines()[0][:200] if str(error) else ""
        raise QueryError(
            f"cannot understand this query ({type(error).__name__}: {message})"
        ) from error
    return bound_query(_exclude_negations(parsed))
