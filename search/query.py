"""Turn query text and filter options into a Whoosh query.

The syntax is Whoosh's query language, extended with plugins:

- free keywords, searched over every text field with the weights in ``ranking``;
- ``field:value`` for ``title director cast genre synopsis wiki year runtime``
  (aliases: ``genres plot content directors``);
- quoted phrases, ``AND`` / ``OR`` / ``NOT``, parentheses;
- numeric ranges: ``year:2010..2015``, ``year:2010..``, ``runtime:..100``,
  ``year:[2010 TO 2015]``, ``year:>2010``; a bare ``1990..1999`` means a year range.

Problems Whoosh would silently ignore (an unclosed quote, ``year:abc``, an
empty range, an unknown field) raise ``QueryError`` with the position.
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
    syntax,
)
from whoosh.qparser.plugins import Plugin, TaggingPlugin

from filmsearch.index.errors import FilmSearchError
from filmsearch.index.schema import NUMERIC_FIELDS, TEXT_FIELDS

from . import ranking
from .bm25f import FieldedWord, FieldedWordGroup, Keywords, KeywordsGroup

#: Alternative names users may type for a field.
FIELD_ALIASES = {
    "genre": ["genres"],
    "synopsis": ["plot", "content"],
    "director": ["directors"],
}
#: Fields a user may name in a query.
QUERYABLE_FIELDS = tuple(f for f in TEXT_FIELDS if f != "title_exact") + NUMERIC_FIELDS
#: Longest query text accepted; longer text is cut there.
MAX_QUERY_CHARS = 10_000
_RANGE_TEXT = re.compile(r"^\s*(-?\d+)?\s*\.\.\s*(-?\d+)?\s*$")


class QueryError(FilmSearchError, ValueError):
    """The query text cannot be understood; ``position`` is a 0-based character offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"bad query{where}: {message}")


#: What ``year=`` and ``runtime=`` accept: 2012, (2010, 2015), (None, 100) or "2010..2015".
RangeArg = int | tuple[int | None, int | None] | str


def range_bounds(value: RangeArg, what: str) -> tuple[int | None, int | None]:
    """Inclusive bounds of a ``year``/``runtime`` argument; TypeError naming ``what``."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, a (low, high) tuple or a string, not {value!r}")
    if isinstance(value, int):
        return value, value
    if isinstance(value, str):
        return parse_range(value, what)
    if isinstance(value, tuple) and len(value) == 2:
        low, high = value
        if all(
            bound is None or (isinstance(bound, int) and not isinstance(bound, bool))
            for bound in value
        ):
            if low is not None and high is not None and low > high:
                raise ValueError(f"{what} range {value!r}: the start is after the end")
            return low, high
    raise TypeError(
        f"{what} must be an int, a (low, high) tuple of ints or None, or a string like "
        f"'2010..2015', not {value!r:.60}"
    )


def parse_range(text: str, what: str = "year") -> tuple[int | None, int | None]:
    """Parse ``2010..2015``, ``2010..``, ``..2015`` or ``2012`` into inclusive bounds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text), int(text)
    match = _RANGE_TEXT.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise QueryError(f"{what} expects a number or a range like 2010..2015, got {text!r}")
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(2)) if match.group(2) else None
    if low is not None and high is not None and low > high:
        raise QueryError(f"empty {what} range {text!r}: the start is after the end")
    return low, high


def _check_balanced(text: str) -> None:
    """Raise QueryError for an unclosed quote or parenthesis, or a stray ``)``."""
    quote_at = None
    open_parens: list[int] = []
    for pos, char in enumerate(text):
        if char == '"':
            quote_at = pos if quote_at is None else None
        elif quote_at is not None:
            continue
        elif char == "(":
            open_parens.append(pos)
        elif char == ")":
            if not open_parens:
                raise QueryError("')' without a matching '('", pos)
            open_parens.pop()
    if quote_at is not None:
        raise QueryError("unclosed quote '\"'", quote_at)
    if open_parens:
        raise QueryError("'(' is never closed", open_parens[-1])


class DottedRangePlugin(TaggingPlugin):
    """Tags ``2010..2015``, ``2010..`` and ``..2015`` as numeric ranges (inclusive)."""

    priority = 1
    expr = re.compile(r"(?=-?\d|\.\.-?\d)(?P<start>-?\d+)?\.\.(?P<end>-?\d+)?(?=$|[\s)])")

    def create(self, parser: Any, match: re.Match[str]) -> syntax.RangeNode:
        return syntax.RangeNode(match.group("start"), match.group("end"), False, False)


class ValidationPlugin(Plugin):
    """Rejects unknown fields and bad numeric values instead of silently dropping them."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema

    def filters(self, parser: Any) -> list[tuple[Any, int]]:
        # After field names are applied (100), before multifield expansion (110).
        return [(self.check, 105)]

    def check(self, parser: Any, group: Any) -> Any:
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self.check(parser, node)
                continue
            field = getattr(node, "fieldname", None)
            position = getattr(node, "startchar", None)
            if isinstance(node, syntax.RangeNode) and field is None:
                node.set_fieldname("year")
                field = "year"
            if field is None:
                continue
            if field not in self.schema or field not in QUERYABLE_FIELDS:
                known = ", ".join(QUERYABLE_FIELDS)
                raise QueryError(f"unknown field {field!r}; fields are {known}", position)
            if field in NUMERIC_FIELDS:
                self._check_numeric(node, field, position)
        return group

    @staticmethod
    def _check_numeric(node: Any, field: str, position: int | None) -> None:
        if isinstance(node, syntax.RangeNode):
            bounds = [node.start, node.end]
            for value in bounds:
                if value not in (None, "") and not re.fullmatch(r"-?\d+", str(value).strip()):
                    raise QueryError(
                        f"{field} range needs whole numbers, got {str(value).strip()!r}", position
                    )
            low, high = (int(v) if v not in (None, "") else None for v in bounds)
            if low is not None and high is not None and low > high:
                raise QueryError(
                    f"empty {field} range: the start {low} is after the end {high}", position
                )
        elif isinstance(node, syntax.TextNode):
            text = node.text
            if not re.fullmatch(r"-?\d+", text or ""):
                raise QueryError(
                    f"{field} expects a number or a range like 2010..2015, got {text!r}", position
                )
        else:
            raise QueryError(f"{field} expects a number or a range like 2010..2015", position)


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
    parser.add_plugin(FieldAliasPlugin(FIELD_ALIASES))
    parser.add_plugin(GtLtPlugin())
    parser.add_plugin(DottedRangePlugin())  # type: ignore[no-untyped-call]  # whoosh's Plugin.__init__
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


def plain_words(text: str) -> str:
    """``text`` with every bit of query syntax turned into spaces: words only."""
    words = re.sub(r"[^\w]+", " ", text)
    return re.sub(r"\b(AND|OR|NOT|TO)\b", lambda match: match.group().lower(), words)


def plain_query(words: str, schema: Any) -> wq.Query:
    """The query the parser makes of syntax-free ``words``, built without it (a few times faster).

    Each distinct word becomes a FieldedWord over ``ranking.FIELD_WEIGHTS``'s
    fields, analysed by each field's own analyzer, as MultifieldParser does.
    """
    clauses = []
    for word in dict.fromkeys(words.split()):
        terms: list[wq.Query] = []
        for field, weight in ranking.FIELD_WEIGHTS.items():
            tokens = [token.text for token in schema[field].analyzer(word, mode="query")]
            if len(tokens) == 1:
                terms.append(wq.Term(field, tokens[0], boost=weight))
            elif tokens:
                terms.append(wq.Phrase(field, tokens, boost=weight))
        if terms:
            clauses.append(FieldedWord(terms))
    if not clauses:  # nothing but stop words (or nothing at all)
        return wq.NullQuery if words.strip() else wq.Every()
    return clauses[0] if len(clauses) == 1 else Keywords(clauses)


def parse_query(text: str, parser: QueryParser, plain: bool = False) -> wq.Query:
    """Parse user query text; raise QueryError if it is malformed.

    With ``plain``, the text is read as words only (no fields, phrases or
    operators), as suits descriptions pasted from elsewhere; it never fails.
    """
    text = text[:MAX_QUERY_CHARS].replace("\x00", " ")
    if plain:
        return plain_query(plain_words(text), parser.schema)
    _check_balanced(text)
    if not text.strip():
        return wq.Every()
    try:
        parsed = parser.parse(text)
    except QueryError:
        raise
    except Exception as error:
        raise QueryError(
            f"cannot understand this query ({type(error).__name__}: {error})"
        ) from error
    return _exclude_negations(parsed)


def _name_query(field: str, value: str, schema: Any) -> wq.Query:
    """All words of ``value`` in ``field``, as a phrase: one person, one genre."""
    words = [token.text for token in schema[field].analyzer(value)]
    if not words:
        raise QueryError(f"--{field} {value!r} has no searchable words")
    return wq.Term(field, words[0]) if len(words) == 1 else wq.Phrase(field, words)


def filter_query(
    schema: Any,
    *,
    director: str | None = None,
    cast: str | None = None,
    genre: str | None = None,
    year: RangeArg | None = None,
    runtime: RangeArg | None = None,
) -> wq.Query | None:
    """The AND of the given filter options, or None when there are none."""
    parts: list[wq.Query] = []
    for field, value in (("director", director), ("cast", cast), ("genre", genre)):
        if value:
            parts.append(_name_query(field, value, schema))
    for field, bounds in (("year", year), ("runtime", runtime)):
        if bounds is not None and bounds != "":
            low, high = range_bounds(bounds, field)
            parts.append(wq.NumericRange(field, low, high))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)
