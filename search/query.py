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
from whoosh.query.terms import MultiTerm
from whoosh.query.wrappers import WrappingQuery

from filmsearch.index.errors import FilmSearchError
from filmsearch.index.schema import NUMERIC_FIELDS, TEXT_FIELDS

from .bm25f import FieldedWord
from .term_scores import ExpandedTerms, Scored
from .understand import MAX_NESTING as MAX_NESTING  # part of the bounds above
from .understand import MAX_QUERY_CHARS as MAX_QUERY_CHARS

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


#: The query parser's names, which live in ``parser`` (imported when first used: a
#: search of plain words needs no parser), still importable from here.
_IN_PARSER = frozenset(
    {
        "DecadePlugin",
        "DottedRangePlugin",
        "EXPANDING_NODES",
        "FieldsRequiredPlugin",
        "ValidationPlugin",
        "make_parser",
        "parse_query",
    }
)


def __getattr__(name: str) -> Any:
    if name in _IN_PARSER:
        from . import parser

        return getattr(parser, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
