"""Query syntax and filter options as Whoosh queries.

``parse_query`` reads the syntax a user meant (``understand`` decides what was
meant and reads the rest as words). The syntax is Whoosh's query language,
extended with plugins:

- free keywords, searched over every text field with the weights in ``ranking``;
- ``field:value`` for ``title director cast genre synopsis wiki year runtime``
  (aliases: ``genres plot content directors``);
- quoted phrases, ``AND`` / ``OR`` / ``NOT``, parentheses;
- numeric ranges: ``year:2010..2015``, ``year:2010..``, ``runtime:..100``,
  ``year:[2010 TO 2015]``, ``year:>2010``; a bare ``1990..1999`` means a year range;
- decades: ``decade:1990s`` or ``year:1990s`` (also ``90s``) mean ``year:1990..1999``.

Problems Whoosh would silently ignore (an unclosed quote, ``year:abc``, an
empty range, an unknown field) raise ``QueryError`` with the position.

What one query may cost is bounded, so that no query runs away with time or
memory:

- text past ``MAX_QUERY_CHARS`` characters is cut; a "word" (characters
  between spaces, tabs or newlines) longer than ``MAX_WORD_CHARS`` is a
  QueryError (Whoosh's parser tries each of its patterns at every character,
  some reading to the end of the word: 10,000 letters took 2 s, 10,000 digits
  8 s), and range brackets hold at most ``MAX_RANGE_CHARS`` characters;
- parentheses nested more than ``MAX_NESTING`` deep are a QueryError;
- years and running times must lie within ``NUMBER_BOUNDS`` (a QueryError
  otherwise: ``year:99999999999999`` is a typo, not a search);
- at most ``MAX_EXPANDING_WORDS`` wildcard, prefix or term-range words
  (``*ship*``, ``detect*``, ``title:[a TO c]``) per query (a QueryError at the
  first one past it), each searched over at most ``term_scores.MAX_EXPANSIONS``
  index words per field (``bound_query``);
- a phrase longer than ``MAX_PHRASE_WORDS`` words is cut to its first
  ``MAX_PHRASE_WORDS`` words (no error: the films holding the whole phrase are
  among those found).

``FilmSearch.search`` also gives each search a time budget.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
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
from whoosh.query.terms import MultiTerm
from whoosh.query.wrappers import WrappingQuery

from filmsearch.index.errors import FilmSearchError, raised_in
from filmsearch.index.schema import NUMERIC_FIELDS, TEXT_FIELDS

from . import ranking
from .bm25f import FieldedWord, FieldedWordGroup, KeywordsGroup
from .term_scores import ExpandedTerms, Scored
from .understand import MAX_NESTING as MAX_NESTING  # part of the bounds above
from .understand import MAX_QUERY_CHARS as MAX_QUERY_CHARS
from .understand import near_field_name

#: Alternative names users may type for a field.
FIELD_ALIASES = {
    "genre": ["genres"],
    "synopsis": ["plot", "content"],
    "director": ["directors"],
}
#: Fields a user may name in a query.
QUERYABLE_FIELDS = tuple(f for f in TEXT_FIELDS if f != "title_exact") + NUMERIC_FIELDS
#: Longest run of characters between spaces, tabs and newlines.
MAX_WORD_CHARS = 200
#: Longest text between the brackets of a range (``[a TO c]``, ``year:{1990 TO 2000]``).
MAX_RANGE_CHARS = 100
#: Most wildcard, prefix and term-range words in one query.
MAX_EXPANDING_WORDS = 5
#: Longest phrase searched as a phrase; longer ones are cut to their first words.
MAX_PHRASE_WORDS = 32
#: Inclusive bounds of the numbers a query may give for each numeric field: every
#: four-digit year (films are indexed for index.documents.YEAR_RANGE only, but a bound
#: such as 1800 is a fair way to say "from the start"), running times up to 9999 minutes.
NUMBER_BOUNDS = {"year": (1000, 9999), "runtime": (0, 9999)}
_NUMBER_NAMES = {"year": "years", "runtime": "running times (minutes)"}
_RANGE_TEXT = re.compile(r"^\s*(-?\d+)?\s*\.\.\s*(-?\d+)?\s*$")
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


class QueryError(FilmSearchError, ValueError):
    """The query text cannot be understood; ``position`` is a 0-based character offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"bad query{where}: {message}")


#: What ``year=`` and ``runtime=`` accept: 2012, (2010, 2015), (None, 100) or "2010..2015".
RangeArg = int | tuple[int | None, int | None] | str
#: A filter option: one value, or a list of values any of which may hold (OR).
NamesArg = str | Sequence[str]
RangesArg = RangeArg | Sequence[RangeArg]
#: What ``decade=`` accepts: "1990s", "90s" or 1990, or a list of them.
DecadeArg = str | int | Sequence[str | int]
_DECADE = re.compile(r"^\s*(\d{4}|\d{2})s\s*$", re.IGNORECASE)


def decade_bounds(value: str | int, what: str = "decade") -> tuple[int, int]:
    """The years of a decade: ``"1990s"``, ``"90s"`` or ``1990`` -> (1990, 1999).

    Two-digit decades from ``30s`` on are the 1900s, ``00s``-``20s`` the 2000s.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{what} must be a str like '1990s' or an int like 1990, not {value!r:.60}")
    if isinstance(value, int):
        start = value
    else:
        match = _DECADE.match(value)
        if not match:
            shown = value if len(value) <= 40 else value[:36] + "…"
            raise QueryError(f"{what} expects a decade like 1990s or 90s, got {shown!r}")
        digits = match.group(1)
        start = (
            int(digits) if len(digits) == 4 else int(digits) + (1900 if int(digits) >= 30 else 2000)
        )
    if start % 10:
        raise QueryError(f"{what} {value!r} is not the start of a decade (1990, 2000, …)")
    check_number("year", start)
    return start, start + 9


def range_bounds(value: RangeArg, what: str) -> tuple[int | None, int | None]:
    """Inclusive bounds of a ``year``/``runtime`` argument; TypeError naming ``what``."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, a (low, high) tuple or a string, not {value!r}")
    if isinstance(value, int):
        return check_number(what, value), check_number(what, value)
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
            return (
                None if low is None else check_number(what, low),
                None if high is None else check_number(what, high),
            )
    raise TypeError(
        f"{what} must be an int, a (low, high) tuple of ints or None, or a string like "
        f"'2010..2015', not {value!r:.60}"
    )


def check_number(
    field: str, value: int | str, position: int | None = None, *, unknown_ok: bool = False
) -> int:
    """``value`` (an int or whole-number text) as an int within ``NUMBER_BOUNDS[field]``.

    QueryError at ``position`` if it is not plausible. Fields without bounds
    (``unknown_ok``) take any whole number.
    """
    text = str(value).strip()
    if field not in NUMBER_BOUNDS:
        if unknown_ok and re.fullmatch(r"-?\d{1,18}", text):
            return int(text)
        raise QueryError(f"{field} is not a numeric field", position)
    low, high = NUMBER_BOUNDS[field]
    # Read at most a few digits: int() of 5,000 digits raises ValueError, of 10^6 takes seconds.
    number = int(text) if re.fullmatch(r"-?\d{1,9}", text) else None
    if number is None or not low <= number <= high:
        shown = text if len(text) <= 24 else text[:20] + "…"
        raise QueryError(
            f"{field} {shown} is out of range: {_NUMBER_NAMES[field]} run from {low} to {high}",
            position,
        )
    return number


def parse_range(text: str, what: str = "year") -> tuple[int | None, int | None]:
    """Parse ``2010..2015``, ``2010..``, ``..2015`` or ``2012`` into inclusive bounds."""
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return check_number(what, text, unknown_ok=True), check_number(what, text, unknown_ok=True)
    match = _RANGE_TEXT.match(text)
    if not match or not (match.group(1) or match.group(2)):
        shown = text if len(text) <= 40 else text[:36] + "…"
        raise QueryError(f"{what} expects a number or a range like 2010..2015, got {shown!r}")
    low = check_number(what, match.group(1), unknown_ok=True) if match.group(1) else None
    high = check_number(what, match.group(2), unknown_ok=True) if match.group(2) else None
    if low is not None and high is not None and low > high:
        raise QueryError(f"empty {what} range {text!r}: the start is after the end")
    return low, high


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


def bound_query(q: wq.Query) -> wq.Query:
    """``q`` with its costs bounded: wildcards, prefixes, term ranges and ``field:*``
    become ExpandedTerms (at most ``term_scores.MAX_EXPANSIONS`` words each); phrases
    longer than MAX_PHRASE_WORDS words are cut to their first MAX_PHRASE_WORDS words,
    and every phrase is read within the time budget (``term_scores.Scored``)."""
    if isinstance(q, (ExpandedTerms, Scored)) or (isinstance(q, FieldedWord) and q.only_terms()):
        return q  # nothing to bound (a keyword in its fields: terms only)
    if isinstance(q, wq.Every) and q.fieldname not in (None, "", "*"):
        # every film with a word in the field: see term_scores.films_with_field
        return ExpandedTerms(wq.Prefix(q.fieldname, "", boost=q.boost))
    if isinstance(q, MultiTerm):
        if isinstance(q, wq.Wildcard) and q.text == "*":
            return ExpandedTerms(wq.Prefix(q.fieldname, "", boost=q.boost))
        return ExpandedTerms(q)
    if isinstance(q, wq.Phrase):
        if len(q.words) > MAX_PHRASE_WORDS:
            q = copy.copy(q)
            q.words = q.words[:MAX_PHRASE_WORDS]
            if q.char_ranges:
                q.char_ranges = q.char_ranges[:MAX_PHRASE_WORDS]
        return Scored(q)
    if isinstance(q, wq.compound.BinaryQuery):  # AndNot, AndMaybe, Require, Otherwise
        q = copy.copy(q)
        q.a, q.b = bound_query(q.a), bound_query(q.b)
        q.subqueries = (q.a, q.b)
    elif isinstance(q, wq.compound.CompoundQuery):
        bounded = [bound_query(sub) for sub in q.subqueries]
        if any(new is not old for new, old in zip(bounded, q.subqueries, strict=True)):
            q = copy.copy(q)
            q.subqueries = bounded
    elif isinstance(q, wq.Not):
        q = copy.copy(q)
        q.query = bound_query(q.query)
    elif isinstance(q, WrappingQuery):
        q = copy.copy(q)
        q.child = bound_query(q.child)
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


def _name_query(field: str, value: str, schema: Any) -> wq.Query:
    """All words of ``value`` in ``field``, as a phrase: one person, one genre."""
    words = [token.text for token in schema[field].analyzer(value[:MAX_QUERY_CHARS])]
    if not words:
        raise QueryError(f"--{field} {value[:40]!r} has no searchable words")
    if len(words) == 1:
        return wq.Term(field, words[0])
    return wq.Phrase(field, words[:MAX_PHRASE_WORDS])


def _listed(value: Any, what: str, kinds: tuple[type, ...]) -> list[Any]:
    """A filter option as a list of values: one value, or a list of them (for names also a
    tuple; for ``year`` and ``runtime`` a tuple is one range)."""
    if isinstance(value, list) or (isinstance(value, tuple) and what not in NUMERIC_FIELDS):
        values = list(value)
    else:
        values = [value]
    for item in values:
        if isinstance(item, bool) or not isinstance(item, kinds):
            raise TypeError(
                f"{what} must be {' or '.join(k.__name__ for k in kinds)} or a list of them, "
                f"not {item!r:.60}"
            )
    return values


def _ranges(value: RangesArg, what: str) -> list[tuple[int | None, int | None]]:
    """The bounds of a ``year``/``runtime`` option: one RangeArg or a list (any of them).

    A list of exactly two ints is refused (TypeError): it reads like a range, which
    is written as a tuple, ``(2010, 2015)``.
    """
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise TypeError(
            f"{what}={value!r} is ambiguous: write the range as a tuple, {tuple(value)!r}, "
            f"or either {what} as strings, {[str(v) for v in value]!r}"
        )
    return [range_bounds(item, what) for item in _listed(value, what, (int, tuple, str))]


def _any_of(parts: list[wq.Query]) -> wq.Query:
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def filter_query(
    schema: Any,
    *,
    director: NamesArg | None = None,
    cast: NamesArg | None = None,
    genre: NamesArg | None = None,
    year: RangesArg | None = None,
    runtime: RangesArg | None = None,
    decade: DecadeArg | None = None,
) -> wq.Query | None:
    """The filter options as a query, or None when there are none.

    Each option may be one value or a list: any value of a list may hold (OR),
    and every option given must hold (AND). Empty values are ignored.
    """
    parts: list[wq.Query] = []
    for field, value in (("director", director), ("cast", cast), ("genre", genre)):
        if value is None:
            continue
        names = [name for name in _listed(value, field, (str,)) if name.strip()]
        if names:
            parts.append(_any_of([_name_query(field, name, schema) for name in names]))
    for field, bounds in (("year", year), ("runtime", runtime)):
        if bounds is None or bounds == "":
            continue
        ranges = _ranges(bounds, field)
        if ranges:
            parts.append(_any_of([wq.NumericRange(field, low, high) for low, high in ranges]))
    if decade is not None and decade != "":
        decades = [
            decade_bounds(item) for item in _listed(decade, "decade", (str, int)) if item != ""
        ]
        if decades:
            parts.append(_any_of([wq.NumericRange("year", low, high) for low, high in decades]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.And(parts)
