"""Snippets: the best fragments of a field's text, with the matched words located.

A Snippet keeps its text and the character spans of the matched words, so one
extraction serves every output: plain text, ANSI terminal, HTML and JSON offsets.
Fragment choice is Whoosh's (``ContextFragmenter`` + ``BasicFragmentScorer``).

Only the shown hits get snippets, made from their stored text, and only from the
first ``MAX_SCANNED_CHARS`` characters of a field. With the analyzers filmsearch
builds (a regular-expression tokenizer, then filters that change each word on its
own), ``WordForms`` gives the fragmenter the same tokens as the analyzer would, at a
fraction of the cost: the words are found by the expression in C, each distinct
word is analysed once and remembered, only the words that can stem to a query
stem are stemmed, a field with no match stops there, and the fragmenter sees only
the tokens around the matches.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.acore import Token
from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
    Fragment,
    mkfrag,
    set_matched_filter,
    top_fragments,
)

from filmsearch.index.analysis import SNOWBALL_IRREGULAR, NltkStemFilter, snowball_stem_start

ELLIPSIS = "…"
SEPARATOR = f" {ELLIPSIS} "
#: Only the first this many characters of a field are looked at for the query's words
#: (cut back to a space, so that no word is cut). 99 % of the wiki texts of the
#: 6,802 films are shorter.
MAX_SCANNED_CHARS = 5_000
#: Filters whose output for a token depends on that token alone.
WORD_BY_WORD_FILTERS = (LowercaseFilter, CharsetFilter, StopFilter, StemFilter, NltkStemFilter)
#: Snowball English treats these as apostrophes (a stem may then not start its word).
_APOSTROPHE = re.compile("['\u2018\u2019\u201b]")
#: Words remembered per analyzer, in each of two tables (emptied when full).
MAX_REMEMBERED_WORDS = 50_000


@dataclass(frozen=True)
class Snippet:
    """A short extract of a field, and the ``(start, end)`` offsets of the matched words in it."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def render(self, before: str, after: str, escape: Callable[[str], str] = lambda s: s) -> str:
        """The text with every matched word wrapped in ``before`` / ``after``."""
        out, last = [], 0
        for start, end in self.spans:
            out += [escape(self.text[last:start]), before, escape(self.text[start:end]), after]
            last = end
        out.append(escape(self.text[last:]))
        return "".join(out)

    def html(self) -> str:
        """HTML-escaped text with matches in ``<mark>``."""
        return self.render("<mark>", "</mark>", html.escape)


def _lead(text: str, max_chars: int) -> Snippet:
    """The start of ``text``, cut at a word boundary: the snippet when nothing matched."""
    text = " ".join(text[: max_chars * 2].split())
    if len(text) <= max_chars:
        return Snippet(text)
    cut = text.rfind(" ", 0, max_chars)
    return Snippet(text[: cut if cut > max_chars // 2 else max_chars] + ELLIPSIS)


def scanned_part(text: str, max_scanned: int = MAX_SCANNED_CHARS) -> str:
    """The part of ``text`` looked at for matches: its first ``max_scanned`` characters,
    cut back to the last white space among them (if it is in their second half)."""
    if len(text) <= max_scanned:
        return text
    for cut in range(max_scanned, max_scanned // 2, -1):
        if text[cut].isspace():
            return text[:cut]
    return text[:max_scanned]


def make_snippet(
    text: str,
    terms: frozenset[str],
    analyzer: Any,
    *,
    max_chars: int = 220,
    fragments: int = 2,
    surround: int = 50,
    max_scanned: int = MAX_SCANNED_CHARS,
) -> Snippet:
    """The best ``fragments`` pieces of ``text`` that contain ``terms`` (analyzed forms),
    found in ``scanned_part(text, max_scanned)``."""
    if not text:
        return Snippet("")
    best = []
    if terms:
        found = fragments_with(
            scanned_part(text, max_scanned), terms, analyzer, max_chars, surround
        )
        best = top_fragments(found, fragments, BasicFragmentScorer(), FIRST)
    if not best:
        return _lead(text, max_chars)
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    if best[0].startchar > 0:
        pieces.append(ELLIPSIS)
        length = len(ELLIPSIS)
    for number, fragment in enumerate(best):
        if number:
            pieces.append(SEPARATOR)
            length += len(SEPARATOR)
        piece = text[fragment.startchar : fragment.endchar]
        shift = length - fragment.startchar
        spans += [(shift + m.startchar, shift + m.endchar) for m in fragment.matches]
        pieces.append(piece)
        length += len(piece)
    if best[-1].endchar < len(text):
        pieces.append(ELLIPSIS)
    flat = "".join(pieces).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return Snippet(flat, tuple(spans))


def fragments_with(
    text: str, terms: frozenset[str], analyzer: Any, max_chars: int, surround: int
) -> Iterable[Fragment]:
    """The fragments of ``text`` that Whoosh's ``ContextFragmenter(max_chars, surround)``
    makes of its tokens matched to ``terms``: from the analyzer's whole token stream,
    or with WordForms, from the tokens ``around`` the matches only."""
    forms = word_forms(analyzer)
    if forms is None:
        tokens = analyzer(text, chars=True, mode="query", removestops=False)
        fragmenter = ContextFragmenter(max_chars, surround, charlimit=0)  # 0: no limit
        return fragmenter.fragment_tokens(text, set_matched_filter(tokens, terms))
    words = forms.words(text)
    matching = forms.matching(set(words), terms)
    if not matching:
        return ()
    hits = [number for number, word in enumerate(words) if word in matching]
    runs = around(words, hits, surround)
    tokens = _tokens(forms.expression.finditer(text), words, runs, matching)
    return context_fragments(text, tokens, max_chars, surround)


def around(words: list[str], hits: list[int], surround: int) -> list[tuple[int, int]]:
    """The runs (first, stop) of the token numbers that a ContextFragmenter needs to make
    the same fragments with matches as from all the ``words`` (``hits`` are the
    matched ones); the other tokens only pass through its memory of recent tokens.

    Before a hit: the tokens that may start within ``surround`` characters of the end
    of the token before it (each token counts its length; the spaces between them
    would only shorten the reach), and at least that token, which drops the older
    ones from that memory. After it: the tokens until they add up to ``2 * surround``
    characters, when a fragment has surely ended, and one more (Whoosh makes an empty
    fragment of the token after one that ends with its count at exactly zero).
    """
    runs: list[tuple[int, int]] = []
    for number, hit in enumerate(hits):
        done = runs[-1][1] if runs else 0
        first = hit
        if hit > done:
            first, reach = hit - 1, surround - len(words[hit - 1])
            while first > done and len(words[first - 1]) <= reach:
                reach -= len(words[first - 1])
                first -= 1
        following = hits[number + 1] if number + 1 < len(hits) else len(words)
        stop, length = hit, 0
        while stop < following and length < 2 * surround:  # the next hit goes on from there
            length += len(words[stop])
            stop += 1
        stop = min(stop + 1, len(words)) if stop < following else stop
        if runs and first <= done:
            runs[-1] = (runs[-1][0], max(stop, done))
        else:
            runs.append((first, stop))
    return runs


def _tokens(
    found: Iterator[re.Match[str]],
    words: list[str],
    runs: list[tuple[int, int]],
    matching: dict[str, str],
) -> Iterator[tuple[int, int, str | None]]:
    """(start, end, analysed form if it matches) of the tokens numbered in ``runs``, from
    the expression's matches ``found``."""
    done = 0
    for first, stop in runs:
        for word, match in zip(
            words[first:stop], islice(found, first - done, stop - done), strict=True
        ):
            yield (*match.span(), matching.get(word))
        done = stop


class _Match:
    """A matched token in a Fragment: what Whoosh's highlighter reads of a Token."""

    __slots__ = ("boost", "endchar", "startchar", "text")

    def __init__(self, startchar: int, endchar: int, text: str) -> None:
        self.startchar, self.endchar, self.text, self.boost = startchar, endchar, text, 1.0


def context_fragments(
    text: str, tokens: Iterable[tuple[int, int, str | None]], max_chars: int, surround: int
) -> Iterator[Fragment]:
    """``ContextFragmenter(max_chars, surround).fragment_tokens`` (Whoosh 3.54), step for
    step, over (start, end, matched form or None) instead of Token objects."""
    first: int | None = None
    firsts: deque[int] = deque()  # the starts of the tokens just before a fragment
    countdown = -1  # >= 0 in a fragment
    matches: list[_Match] = []
    endchar = 0
    length = 0
    for startchar, endchar, form in tokens:
        size = endchar - startchar
        if countdown < 0 and form is None:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > surround:
                firsts.popleft()
        elif length + size > max_chars:
            countdown = 0
        elif form is not None:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += surround
            matches.append(_Match(startchar, endchar, form))
        if countdown >= 0:
            length += size
            countdown -= size
            if countdown <= 0:
                yield mkfrag(text, matches, startchar=first, endchar=endchar)
                matches, firsts, first, length = [], deque(), None, 0
    if matches:
        yield mkfrag(text, matches, startchar=first, endchar=endchar)


class WordForms:
    """What an analyzer makes of words, each distinct word analysed once and remembered.

    Only for an analyzer that is a ``RegexTokenizer`` (matching words, not gaps)
    followed by WORD_BY_WORD_FILTERS: a token is then a match of the expression,
    and its text after the filters depends on that word alone.
    """

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer  # held, so that its id is not reused while remembered
        self.expression: re.Pattern[str] = analyzer.items[0].expression
        #: findall gives the whole matches of ``expression`` as group 1
        self.whole_matches = re.compile(f"({self.expression.pattern})", self.expression.flags)
        filters = analyzer.items[1:]
        stems = [n for n, item in enumerate(filters) if isinstance(item, StemFilter)]
        cut = stems[0] if stems else len(filters)
        self.unstemmed_filters, self.stem_filters = filters[:cut], filters[cut:]
        self.unstem = _direct(self.unstemmed_filters)
        #: what a word's unstemmed form starts with if it stems to a stem; None: unknown
        self.start: Callable[[str], str] | None = None
        if len(self.stem_filters) == 1 and getattr(filters[-1], "stemmer", "") == "snowball":
            self.start = snowball_stem_start
        #: word -> (its text before stemming, whether it is a stop word)
        self.unstemmed: dict[str, tuple[str, bool]] = {}
        #: text before stemming -> (its stem, False)
        self.stems: dict[str, tuple[str, bool]] = {}
        self._starts: dict[frozenset[str], tuple[str, ...]] = {}

    @staticmethod
    def fits(analyzer: Any) -> bool:
        items: list[Any] = getattr(analyzer, "items", None) or []
        return (
            bool(items)
            and type(items[0]) is RegexTokenizer
            and not items[0].gaps
            and all(type(item) in WORD_BY_WORD_FILTERS for item in items[1:])
        )

    def words(self, text: str) -> list[str]:
        """The text of each token of ``text``, in order."""
        found = self.whole_matches.findall(text)
        if self.whole_matches.groups == 1:  # the expression has no group of its own
            return found
        return [match[0] for match in found]

    def matching(self, words: set[str], terms: frozenset[str]) -> dict[str, str]:
        """Those of ``words`` whose analysed form is in ``terms``, with that form."""
        unstemmed = self.unstemmed
        new = [word for word in words if word not in unstemmed]  # (words - keys() reads all)
        if new:
            if len(unstemmed) + len(new) > MAX_REMEMBERED_WORDS:
                unstemmed = self.unstemmed = {}  # a new table: a call using the old one goes on
                new = list(words)
            if self.unstem is None:
                _analyse(new, self.unstemmed_filters, unstemmed)
            else:
                unstemmed.update((word, self.unstem(word)) for word in new)
        found: dict[str, str] = {}
        if not self.stem_filters:
            for word in words:
                if unstemmed[word][0] in terms:
                    found[word] = unstemmed[word][0]
            return found
        starts = self.starts(terms) if self.start is not None else ("",)
        candidates = []
        for word in words:
            text, stopped = unstemmed[word]
            if stopped:  # not stemmed
                if text in terms:
                    found[word] = text
            elif (
                text.startswith(starts)
                or text in SNOWBALL_IRREGULAR
                or (not text.isalnum() and _APOSTROPHE.search(text))
            ):
                candidates.append(word)
        if candidates:
            texts = {unstemmed[word][0] for word in candidates}
            stems = self.stems
            if len(stems) + len(texts) > MAX_REMEMBERED_WORDS:
                stems = self.stems = {}
            _analyse(texts, self.stem_filters, stems)
            for word in candidates:
                stem = stems[unstemmed[word][0]][0]
                if stem in terms:
                    found[word] = stem
        return found

    def starts(self, terms: frozenset[str]) -> tuple[str, ...]:
        """What the unstemmed form of a word starts with if it stems to one of ``terms``."""
        starts = self._starts.get(terms)
        if starts is None:
            assert self.start is not None
            if len(self._starts) >= 64:
                self._starts.clear()
            starts = self._starts[terms] = tuple({self.start(term) for term in terms})
        return starts


def _analyse(words: Iterable[str], filters: list[Any], into: dict[str, tuple[str, bool]]) -> None:
    """``into[word]``: the text of ``word``'s token after ``filters`` and whether it is a
    stop word, for the words not in ``into`` yet, all in one pass (each of
    WORD_BY_WORD_FILTERS yields one token per token when stop words are kept).
    The caller keeps ``into`` to MAX_REMEMBERED_WORDS."""
    new = [word for word in set(words) if word not in into]
    token = Token(chars=True, removestops=False, mode="query")

    def feed() -> Iterator[Token]:
        for word in new:
            token.text, token.stopped, token.boost = word, False, 1.0
            yield token

    tokens = feed()
    for item in filters:
        tokens = item(tokens)
    for word, analysed in zip(new, tokens, strict=True):
        into[word] = (analysed.text, analysed.stopped)


def _direct(filters: list[Any]) -> Callable[[str], tuple[str, bool]] | None:
    """What ``filters`` do to a word's token (its text, whether it is a stop word), as plain
    string operations, when they are Whoosh's lowercase, charset and stop filters;
    None for other filters."""
    if not all(type(item) in (LowercaseFilter, CharsetFilter, StopFilter) for item in filters):
        return None

    def unstem(word: str) -> tuple[str, bool]:
        text, stopped = word, False
        for item in filters:
            if type(item) is LowercaseFilter:
                text = text.lower()
            elif type(item) is CharsetFilter:
                text = text.translate(item.charmap)
            else:  # StopFilter
                stopped = not (
                    len(text) >= item.min
                    and (item.max is None or len(text) <= item.max)
                    and text not in item.stops
                )
        return text, stopped

    return unstem


_word_forms: dict[int, WordForms] = {}


def word_forms(analyzer: Any) -> WordForms | None:
    """The WordForms of ``analyzer``, or None if it does not fit them."""
    known = _word_forms.get(id(analyzer))
    if known is not None and known.analyzer is analyzer:
        return known
    if not WordForms.fits(analyzer):
        return None
    if len(_word_forms) >= 8:  # analyzers of indexes opened earlier
        _word_forms.clear()
    known = _word_forms[id(analyzer)] = WordForms(analyzer)
    return known
