"""Understand what was typed: the first stage of every search.

``understand(text)`` reads query text the way a person meant it and returns a
``QueryPlan``: the free words, and the query syntax the user meant (field
clauses, phrases, operators, wildcards, ranges, groups), with everything else
read as words. It needs no index and never touches Whoosh; the next stage
(``search.retrieve``) turns the plan into a query.

People paste descriptions full of characters that are also query syntax:
"Genesis 3:14", URLs, ":)", "(maybe late 80s", "I do NOT remember the title",
"what is this movie?". The rules:

- A query that reads as prose (``PROSE_MIN_STOP_WORDS`` or more filler words,
  at least ``PROSE_STOP_SHARE`` of its words: "the", "I", "movie", …) is words
  only: no fields, operators, wildcards or phrases.
- Otherwise syntax applies where it is well formed:
  ``field:value`` for a known field (``director:audiard``, ``Year:2010..2015``);
  balanced quotes and parentheses; ``AND``/``OR``/``NOT`` in capitals between
  operands; ``*`` and ``?`` inside a word (``wh?le``, ``whal*``); ``word^2``;
  ``[a TO b]``; ``2010..2015``.
- What is not well formed is read as words, not refused: ``name:`` for a name
  that is no field (``3:14``, ``https:``), a quote or parenthesis without its
  pair, a ``?`` ending a word, URLs.
- Where syntax was clearly meant and is wrong, the query is refused with the
  position (``query.QueryError``, raised by the parser): ``year:abc``,
  ``year:2015..2010``, ``title:"unclosed``, and a field name one or two
  letters from a real one (``directr:audiard``).

Everything the plan changes is replaced by spaces or changed in case, so a
position in ``QueryPlan.syntax`` is the same position in the text as typed.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

from filmsearch.index.schema import NUMERIC_FIELDS, TEXT_FIELDS

from . import ranking
from .hints import Hints, read_hints

#: Longest query text read; longer text is cut there.
MAX_QUERY_CHARS = 10_000
#: Deepest nesting of parentheses the parser accepts (the parser checks it).
MAX_NESTING = 20
#: A query reads as prose when it has at least this many filler words …
PROSE_MIN_STOP_WORDS = 2
#: … and they are at least this share of its words.
PROSE_STOP_SHARE = 0.2

#: Field names a query may use, with the aliases the parser knows (``query.FIELD_ALIASES``).
FIELD_NAMES = frozenset(
    [f for f in TEXT_FIELDS if f != "title_exact"]
    + list(NUMERIC_FIELDS)
    + ["decade", "genres", "plot", "content", "directors"]
)
OPERATORS = frozenset(["AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"])
_BINARY = OPERATORS - {"NOT"}

#: A URL, found from the start of its scheme only (linear time on long words).
_URL = re.compile(r"(?<![A-Za-z0-9+.-])(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[^\s\"<>]*")
_FIELD = re.compile(r"(?<!\w)(\w+):(?=[^\s:])")  # from a word's start: linear time
_RANGE = re.compile(r"""[\[{] [^\[\]{}]{0,100}? \b[Tt][Oo]\b [^\[\]{}]{0,100}? [\]}]""", re.VERBOSE)
_DOTTED = re.compile(r"-?\d*\.\.-?\d*")
_BOOST = re.compile(r"\^\d+(?:\.\d+)?$")
_WORD = re.compile(r"\w+")
#: A token that is only a word (no wildcard, field or other syntax inside), once the
#: punctuation around it is stripped.
_PLAIN_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
_PUNCTUATION = ".,;!?\"'()\u201c\u201d\u2018\u2019"
_NUMERIC_VALUE = re.compile(r"""[<>]?=?(?:"[^"]*"|\S*)""")


@dataclass(frozen=True)
class QueryPlan:
    """What a query asks for.

    ``words``: the free words, in order (no syntax). ``syntax``: the text for the
    query parser, with only the syntax the user meant (None: words only, the
    fast path). ``meant`` and ``ignored`` name the kinds of syntax kept and read
    as words ("field", "phrase", "operator", "wildcard", "range", "group",
    "boost"; "colon", "quote", "parenthesis", "url" …). ``hints``: the years,
    decades and genres the free text mentions (soft boosts).
    """

    text: str
    words: tuple[str, ...]
    syntax: str | None = None
    prose: bool = False
    meant: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    hints: Hints = field(default_factory=Hints)

    def __str__(self) -> str:
        parts = [f"words: {' '.join(self.words) or '-'}"]
        if self.fields:
            parts.append("fields: " + ", ".join(f"{name}:{value}" for name, value in self.fields))
        if self.meant:
            parts.append("syntax: " + ", ".join(self.meant))
        if self.ignored:
            parts.append("read as words: " + ", ".join(self.ignored))
        if self.prose:
            parts.append("prose")
        if self.hints:
            hinted = [f"{low}..{high}" for low, high in self.hints.years] + list(self.hints.genres)
            parts.append("hints: " + ", ".join(hinted))
        return "; ".join(parts)


@functools.lru_cache(maxsize=64)  # a search reads its text twice: typos, then the query
def understand(text: str, *, plain: bool = False) -> QueryPlan:
    """The plan of ``text``; with ``plain``, words only whatever it holds."""
    text = text[:MAX_QUERY_CHARS].replace("\x00", " ")
    words = tuple(_WORD.findall(text))
    if plain:
        return QueryPlan(text, words, hints=read_hints(text))
    reader = _Reader(text)
    plan = reader.plan()
    if not _reads_as_prose(text):
        return plan
    kept = ("field",) if plan.fields else ()
    ignored = tuple(kind for kind in dict.fromkeys(plan.meant + plan.ignored) if kind not in kept)
    if not plan.fields:
        return QueryPlan(text, words, prose=True, ignored=ignored, hints=read_hints(text))
    # "director:burton she lost her legs …": the field clause holds, the rest is words
    syntax = reader.prose_syntax()
    free = "".join(" " if reader.fielded[i] else char for i, char in enumerate(syntax))
    return dataclasses.replace(
        plan,
        words=tuple(_WORD.findall(free)),
        syntax=syntax,
        prose=True,
        meant=kept,
        ignored=ignored,
    )


def _reads_as_prose(text: str) -> bool:
    words = [
        token.strip(_PUNCTUATION)
        for token in _URL.sub(" ", text).split()
        if token not in OPERATORS and _PLAIN_WORD.fullmatch(token.strip(_PUNCTUATION))
    ]
    stops = sum(1 for word in words if word.lower() in ranking.FILLER_WORDS)
    return stops >= PROSE_MIN_STOP_WORDS and stops >= PROSE_STOP_SHARE * len(words)


def near_field_name(name: str) -> str | None:
    """The field name ``name`` is most likely a typo of (one or two letters off), or None."""
    name = name.lower()
    if len(name) < 4 or name in FIELD_NAMES:
        return None
    for known in sorted(FIELD_NAMES):
        if abs(len(known) - len(name)) <= 2 and _distance(name, known) <= (
            1 if len(name) < 6 else 2
        ):
            return known
    return None


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings only)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


class _Reader:
    """One pass over keyword-query text, deciding which syntax was meant."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.chars = list(text)
        self.meant: dict[str, None] = {}
        self.ignored: dict[str, None] = {}
        self.fields: list[tuple[str, str]] = []
        #: Characters that belong to a meant field clause (left out of the free words).
        self.fielded = [False] * len(text)
        #: Which characters are outside double quotes (set once the quotes are settled).
        self.outside: list[bool] = []
        #: Where the ``[a TO b]`` ranges are.
        self.range_spans: list[tuple[int, int]] = []

    def blank(self, start: int, end: int, kind: str) -> None:
        for position in range(start, end):
            if self.chars[position] != " ":
                self.chars[position] = " "
        self.ignored[kind] = None

    def plan(self) -> QueryPlan:
        self._urls()
        self._field_names()
        self._ranges()
        self._quotes()
        self.outside = self._outside_quotes()  # later steps never add or remove a quote
        self._parentheses()
        self._words()
        self._operators()
        if "group" in self.meant and "operator" not in self.meant:
            self._ungroup()
        syntax = "".join(self.chars)
        free = "".join(" " if self.fielded[i] else char for i, char in enumerate(self.chars))
        words = tuple(
            word
            for token in re.split(r'[\s()"]+', free)
            if token not in OPERATORS and "*" not in token and "?" not in token
            for word in _WORD.findall(_BOOST.sub("", token))
        )
        return QueryPlan(
            self.text,
            words,
            syntax=syntax if self.meant else None,
            meant=tuple(self.meant),
            ignored=tuple(self.ignored),
            fields=tuple(self.fields),
            hints=read_hints(free),
        )

    def prose_syntax(self) -> str:
        """The text with its field clauses as they are and everything else as words:
        every other character that is not part of a word or a space becomes a space, and
        capital operators lower case."""
        chars = [
            char if self.fielded[i] or char.isalnum() or char in "_ \t\n" else " "
            for i, char in enumerate(self.text)
        ]
        for token in re.finditer(r"\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b", self.text):
            if not self.fielded[token.start()]:
                chars[token.start() : token.end()] = list(token.group().lower())
        for match in _FIELD.finditer(self.text):  # the field names, as _field_names wrote them
            if self.fielded[match.start()]:
                chars[match.start() : match.end()] = self.chars[match.start() : match.end()]
        return "".join(chars)

    def _urls(self) -> None:
        """A URL is words: its ``:``, ``?``, ``*``, brackets and quotes are not syntax."""
        for match in _URL.finditer(self.text):
            for position in range(match.start(), match.end()):
                if not self.chars[position].isalnum():
                    self.chars[position] = " "
            self.ignored["url"] = None

    def _field_names(self) -> None:
        """Keep ``field:value`` for known fields (in lower case) and for near misses (the
        parser refuses those, naming the field); blank every other colon."""
        text = "".join(self.chars)
        kept: set[int] = set()
        for match in _FIELD.finditer(text):
            name, start = match.group(1), match.start()
            if name.lower() in FIELD_NAMES:
                self.chars[start : match.end(1)] = list(name.lower())
                end = self._value_end(text, match.end())
                self.fielded[start:end] = [True] * (end - start)
                self.fields.append((name.lower(), text[match.end() : end]))
            elif near_field_name(name) is None:
                continue
            kept.add(match.end(1))
            self.meant["field"] = None
        for position, char in enumerate(text):
            if char == ":" and position not in kept:
                self.blank(position, position + 1, "colon")

    @staticmethod
    def _value_end(text: str, start: int) -> int:
        """Where the value of a field clause starting at ``start`` ends."""
        if text.startswith('"', start):
            close = text.find('"', start + 1)
            return len(text) if close < 0 else close + 1
        if text.startswith("(", start):
            depth = 0
            for position in range(start, len(text)):
                depth += {"(": 1, ")": -1}.get(text[position], 0)
                if depth == 0:
                    return position + 1
            return len(text)
        if text[start] in "[{":
            match = _RANGE.match(text, start)
            if match:
                return match.end()
        match = _NUMERIC_VALUE.match(text, start)
        end = match.end() if match else start
        while end > start and text[end - 1] == ")":  # "(director:x)": the group's parenthesis
            end -= 1
        return end

    def _ranges(self) -> None:
        """Keep ``[a TO b]``; blank other brackets and braces."""
        text = "".join(self.chars)
        position = 0
        while position < len(text):
            char = text[position]
            if char in "[{":
                match = _RANGE.match(text, position)
                if match:
                    self.meant["range"] = None
                    self.range_spans.append(match.span())
                    position = match.end()
                    continue
                self.blank(position, position + 1, "bracket")
            elif char in "]}":
                self.blank(position, position + 1, "bracket")
            position += 1

    def _quotes(self) -> None:
        """Keep balanced double quotes (phrases); an unpaired one is a word break, unless
        it opens a field's value (``title:"unclosed``: the parser refuses it)."""
        text = "".join(self.chars)
        quotes = [i for i, char in enumerate(text) if char == '"']
        if len(quotes) % 2:
            last = quotes[-1]
            if last > 0 and text[last - 1] == ":":
                self.meant["phrase"] = None
                return
            self.blank(last, last + 1, "quote")
            quotes.pop()
        if quotes:
            self.meant["phrase"] = None
        # Single quotes are Whoosh's quoted-term syntax: nobody means it; keep apostrophes.
        for position, char in enumerate(text):
            if char == "'" and (
                position == 0
                or not text[position - 1].isalnum()
                or position + 1 == len(text)
                or not text[position + 1].isalnum()
            ):
                self.blank(position, position + 1, "quote")

    def _outside_quotes(self) -> list[bool]:
        text = "".join(self.chars)
        inside, quoted = False, []
        for char in text:
            if char == '"':
                inside = not inside
                quoted.append(True)
            else:
                quoted.append(inside)
        return [not q for q in quoted]

    def _parentheses(self) -> None:
        """Keep balanced parentheses around something; blank the others (":)", "(maybe").
        Parentheses nested past MAX_NESTING are all left to the parser, which
        refuses them."""
        outside = self.outside
        opened: list[int] = []
        for position, char in enumerate(self.chars):
            if not outside[position]:
                continue
            if char == "(":
                opened.append(position)
                if len(opened) > MAX_NESTING:
                    self.meant["group"] = None
                    return
            elif char == ")":
                if opened:
                    start = opened.pop()
                    if "".join(self.chars[start + 1 : position]).strip():
                        self.meant["group"] = None
                    else:
                        self.blank(start, position + 1, "parenthesis")
                else:
                    self.blank(position, position + 1, "parenthesis")
        for start in opened:
            self.blank(start, start + 1, "parenthesis")

    def _ungroup(self) -> None:
        """Without operators, parentheses group nothing ("train tracks (murder?)"): words,
        unless they hold a field's values (``director:(nolan OR villeneuve)``) or are
        nested too deep (the parser refuses those)."""
        if sum(1 for char in self.chars if char == "(") > MAX_NESTING:
            return
        outside = self.outside
        for position, char in enumerate(self.chars):
            if char in "()" and outside[position] and not self.fielded[position]:
                self.blank(position, position + 1, "parenthesis")
        del self.meant["group"]

    def _words(self) -> None:
        """Wildcards inside words, boosts and dotted ranges kept; a ``?`` ending a word
        and stray ``^``, ``<``, ``>``, ``=`` blanked (comparisons only follow ``field:``)."""
        outside = self.outside
        text = "".join(self.chars)
        for match in re.finditer(r"[^\s()\"]+", text):
            start, end = match.span()
            if not outside[start]:
                continue
            while end > start and text[end - 1] == "?":
                end -= 1
            if end < match.end():
                self.blank(end, match.end(), "question mark")
            boost = _BOOST.search(text, start, end)
            if boost:
                self.meant["boost"] = None
                end = boost.start()
            body = text[start:end]
            if "*" in body or "?" in body:
                self.meant["wildcard"] = None
            if _DOTTED.fullmatch(body) and any(char.isdigit() for char in body):
                self.meant["range"] = None
            for position in range(start, end):
                char = text[position]
                if char in "<>=":
                    if text[position - 1 : position] == ":" or text[position - 2 : position] in (
                        ":<",
                        ":>",
                    ):
                        self.meant["range"] = None
                    else:
                        self.blank(position, position + 1, "comparison")
                elif char == "^":
                    self.blank(position, position + 1, "caret")

    def _operators(self) -> None:
        """Capital AND, OR, NOT are operators between operands; otherwise words."""
        text = "".join(self.chars)
        tokens = list(re.finditer(r"\(|\)|[^\s()]+", text))
        for number, token in enumerate(tokens):
            word = token.group()
            if word not in OPERATORS and word != "TO":
                continue
            if any(low <= token.start() < high for low, high in self.range_spans):
                continue  # the TO of [a TO b]
            before = tokens[number - 1].group() if number else None
            after = tokens[number + 1].group() if number + 1 < len(tokens) else None
            operand_before = before is not None and before != "(" and before not in OPERATORS
            operand_after = after is not None and after != ")" and after not in _BINARY
            meant = operand_after and (word == "NOT" or operand_before)
            if meant and word != "TO":  # TO outside a range is a word
                self.meant["operator"] = None
            else:
                self.chars[token.start() : token.end()] = list(word.lower())
                self.ignored["operator"] = None
