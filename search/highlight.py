"""Snippets: the best fragments of a field's text, with the matched words located.

A Snippet keeps its text and the character spans of the matched words, so one
extraction serves every output: plain text, ANSI terminal, HTML and JSON offsets.
Fragment choice is Whoosh's (``ContextFragmenter`` + ``BasicFragmentScorer``, the
best-scored fragments, ties to the later one, shown in text order).

Only the shown hits get snippets, made from their stored text, and only from the
first ``MAX_SCANNED_CHARS`` characters of a field. With the analyzers filmsearch
builds (a regular-expression tokenizer, then filters that change each word on its
own), ``WordForms`` gives the same fragments as Whoosh's fragmenter over the
analyzer's tokens, at a fraction of the cost. A Snowball stem is its word's start
plus e/i/le (``snowball_stem_start``), so the words that may match a query are
found by looking (``str.find``, in the text's lower case, accents folded) for what
the query's words start with; only the words that start there are analysed (each
once, then remembered), and a field with none of them stops there. Only then is
the text split into words and their offsets, by the expression in C, and
``context_fragments`` follows the fragmenter from match to match, never making a
Token or a Fragment. Texts the lookup cannot serve (a query word's start that is
not ASCII, lower case that changes a text's length) have their distinct words
judged, with passes in C and each word's verdict remembered for the query.
"""

from __future__ import annotations

import html
import importlib
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate, chain, compress, count, repeat
from typing import Any

from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.analysis.acore import Token
from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
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
#: Words remembered per analyzer, in each of its tables (emptied when full).
MAX_REMEMBERED_WORDS = 50_000
#: Queries whose words' verdicts an analyzer's WordForms remembers (emptied when full).
MAX_REMEMBERED_QUERIES = 16
#: A numbered back reference or a condition on a group: wrapping the expression in a
#: group of its own would renumber them.
_NUMBERED_GROUP_USE = re.compile(r"\\[1-9]|\(\?\(")

#: Tokenizer expressions, each with an expression that matches the same (tested), faster
#: in C, and its tokens' letters: a token is a run of them, or several joined by dots.
FASTER_EXPRESSIONS = {
    r"[\w\*]+(\.?[\w\*]+)*": (r"[\w*]+(?:\.[\w*]+)*", r"[\w*]"),  # filmsearch's
    r"\w+(\.?\w+)*": (r"\w+(?:\.\w+)*", r"\w"),  # Whoosh's default
}
#: The ASCII characters.
_ASCII = "".join(map(chr, range(128)))
#: A fragment: (score, start, end, spans of its matches).
Piece = tuple[int, int, int, list[tuple[int, int]]]


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
    best: list[Piece] = []
    if terms and fragments > 0:
        part = scanned_part(text, max_scanned)
        forms = word_forms(analyzer)
        if forms is None:
            best = whoosh_fragments(part, terms, analyzer, fragments, max_chars, surround)
        else:
            spotted = forms.spotted(part, terms) if forms.spotting is not None else None
            if spotted is not None:
                words, bounds, hits, matched = spotted
            else:
                words, bounds = forms.tokens(part)
                hits, matched = forms.hits(words, terms)
            if hits:
                found = context_fragments(words, bounds, hits, matched, max_chars, surround)
                best = top(found, fragments)
    if not best:
        return _lead(text, max_chars)
    return _joined(text, best)


def _joined(text: str, best: list[Piece]) -> Snippet:
    """The fragments ``best`` (in text order) of ``text``, with ellipses, on one line."""
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    if best[0][1] > 0:
        pieces.append(ELLIPSIS)
        length = len(ELLIPSIS)
    for number, (_, start, end, matches) in enumerate(best):
        if number:
            pieces.append(SEPARATOR)
            length += len(SEPARATOR)
        shift = length - start
        spans += [(shift + first, shift + stop) for first, stop in matches]
        pieces.append(text[start:end])
        length += end - start
    if best[-1][2] < len(text):
        pieces.append(ELLIPSIS)
    flat = "".join(pieces).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return Snippet(flat, tuple(spans))


def top(found: list[Piece], count: int) -> list[Piece]:
    """Whoosh's ``top_fragments(found, count, BasicFragmentScorer(), FIRST)``: the ``count``
    best scored (a tie goes to the later fragment, as ``heapq.nlargest`` compares
    Whoosh's Fragments by start), in text order."""
    if len(found) > count:
        best = sorted(found, key=lambda piece: piece[:2], reverse=True)[:count]
        found = sorted(best, key=lambda piece: piece[1])
    return found


def whoosh_fragments(
    text: str, terms: frozenset[str], analyzer: Any, count: int, max_chars: int, surround: int
) -> list[Piece]:
    """The best ``count`` fragments of ``text`` by Whoosh's own fragmenter and scorer, over
    the analyzer's whole token stream (for analyzers that WordForms does not fit)."""
    tokens = analyzer(text, chars=True, mode="query", removestops=False)
    fragmenter = ContextFragmenter(max_chars, surround, charlimit=0)  # 0: no limit
    marked = set_matched_filter(tokens, terms)
    best = top_fragments(
        fragmenter.fragment_tokens(text, marked), count, BasicFragmentScorer(), FIRST
    )
    return [
        (
            0,  # (chosen already)
            fragment.startchar,
            fragment.endchar,
            [(m.startchar, m.endchar) for m in fragment.matches],
        )
        for fragment in best
    ]


def context_fragments(
    words: list[str],
    bounds: list[int],
    hits: list[int],
    forms: list[str],
    max_chars: int,
    surround: int,
) -> list[Piece]:
    """The fragments with matches, scored, that Whoosh's ``ContextFragmenter(max_chars,
    surround)`` (3.54) makes of the tokens ``words`` (token ``n`` spans characters
    ``bounds[2n]`` to ``bounds[2n + 1]``) whose numbers ``hits`` match ``forms``.

    The fragmenter keeps the starts of the unmatched tokens it has seen since its
    last fragment, dropping each one that starts more than ``surround`` characters
    before the end of the latest; a match starts a fragment at the oldest start it
    keeps (or at itself, with ``surround`` more characters to run); each token then
    counts down ``surround`` characters from the latest match, and the fragment ends
    at the token where the count reaches zero, or at one that would take it past
    ``max_chars`` characters of tokens (that token is in it, but not as a match).
    So only the tokens from a match to its fragment's end are walked, and the kept
    starts are found by going back from the token before a match. A fragment with no
    match, which scores nothing and is never chosen, is made of a match longer than
    ``max_chars`` and of the token after a count that ended at exactly zero: those
    tokens are then not among the kept starts. Score: Whoosh's BasicFragmentScorer,
    matches times distinct forms times 100.
    """
    found: list[Piece] = []
    count = len(words)
    number = 0  # of the next hit in ``hits``
    kept = 0  # the first token whose start the fragmenter may still keep
    while number < len(hits):
        hit = hits[number]
        size = len(words[hit])
        if hit < kept or size > max_chars:  # in the last fragment, or a fragment of its own
            kept = max(kept, hit + 1)
            number += 1
            continue
        token = hit  # back to the oldest kept start
        if hit > kept:
            reach = bounds[2 * hit - 1] - surround  # the end of the token before, less surround
            while token > kept and bounds[2 * token - 2] >= reach:
                token -= 1
        first = bounds[2 * token]
        countdown = surround if token < hit else 2 * surround
        spans = [(bounds[2 * hit], bounds[2 * hit + 1])]
        seen = {forms[number]}
        number += 1
        following = hits[number] if number < len(hits) else count
        length = size
        countdown -= size
        token = hit
        while countdown > 0 and token + 1 < count:
            token += 1
            size = len(words[token])
            if length + size > max_chars:
                countdown = 0
            elif token == following:
                countdown = surround
                spans.append((bounds[2 * token], bounds[2 * token + 1]))
                seen.add(forms[number])
                number += 1
                following = hits[number] if number < len(hits) else count
            length += size
            countdown -= size
        found.append((len(spans) * len(seen) * 100, first, bounds[2 * token + 1], spans))
        kept = token + 1
        if countdown == 0 and kept < count and kept != following:
            kept += 1  # Whoosh makes a fragment with no match of that token
    return found


@dataclass(frozen=True)
class Spotting:
    """How to find where the words of a text start that may match a query, by looking for
    what they start with: in a text that is ASCII, or one whose lower case with accents
    folded (``fold``) has as many characters (each then stands for one), when the query's
    starts are ASCII (a Greek sigma's lower case depends on its neighbours)."""

    letters: frozenset[str]  # the ASCII letters of tokens
    ascii_token: re.Pattern[str]  # a token, in ASCII text
    other_letters: _Letters  # the letters of tokens
    token: re.Pattern[str]  # a token
    fold: Callable[[str], str]
    folds: bool  # whether ``fold`` writes one character for each

    @staticmethod
    def of(
        token: str, letter: str, unstem: Callable[[str], tuple[str, bool]], filters: list[Any]
    ) -> Spotting | None:
        """The Spotting for tokens of the expression ``token``, runs of ``letter`` joined by
        dots, whose text before stemming is ``unstem``'s (by ``filters``), or None if that
        is not the lower case of an ASCII text."""
        if unstem(_ASCII)[0] != _ASCII.lower():
            return None
        one_for_one = all(
            isinstance(value, int) or (isinstance(value, str) and len(value) == 1)
            for item in filters
            if isinstance(item, CharsetFilter)
            for value in item.charmap.values()
        )
        ascii_letter = re.compile(letter, re.ASCII)
        return Spotting(
            letters=frozenset(filter(ascii_letter.fullmatch, _ASCII)),
            ascii_token=re.compile(token, re.ASCII),
            other_letters=_Letters(re.compile(letter)),
            token=re.compile(token),
            fold=lambda text: unstem(text)[0],
            folds=one_for_one,
        )


class _Letters:
    """``character in letters``: whether the character matches the expression ``letter``."""

    def __init__(self, letter: re.Pattern[str]) -> None:
        self.letter = letter

    def __contains__(self, character: object) -> bool:
        return isinstance(character, str) and self.letter.fullmatch(character) is not None


class WordForms:
    """What an analyzer makes of words, each distinct word analysed once and remembered.

    Only for an analyzer that is a ``RegexTokenizer`` (matching words, not gaps)
    followed by WORD_BY_WORD_FILTERS: a token is then a match of the expression,
    and its text after the filters depends on that word alone.
    """

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer  # held, so that its id is not reused while remembered
        self.expression: re.Pattern[str] = analyzer.items[0].expression
        self.splitter = _splitter(self.expression)
        #: the splitter for ASCII text, where \w needs no Unicode tables
        self.ascii_splitter: re.Pattern[str] | None = None
        if self.splitter is not None and self.expression.pattern in FASTER_EXPRESSIONS:
            flags = self.splitter.flags & ~re.UNICODE | re.ASCII
            self.ascii_splitter = re.compile(self.splitter.pattern, flags)
        filters = analyzer.items[1:]
        stems = [n for n, item in enumerate(filters) if isinstance(item, StemFilter)]
        cut = stems[0] if stems else len(filters)
        self.unstemmed_filters, self.stem_filters = filters[:cut], filters[cut:]
        self.unstem = _direct(self.unstemmed_filters)
        #: what a word's unstemmed form starts with if it stems to a stem; None: unknown
        self.start: Callable[[str], str] | None = None
        if len(self.stem_filters) == 1 and getattr(filters[-1], "stemmer", "") == "snowball":
            self.start = snowball_stem_start
        #: how to find the words that may match in a text without splitting it all, when
        #: a word's form starts as its text before stemming does
        self.spotting: Spotting | None = None
        faster = FASTER_EXPRESSIONS.get(self.expression.pattern)
        can_start = self.start is not None or not self.stem_filters
        if faster is not None and self.unstem is not None and can_start:
            self.spotting = Spotting.of(faster[0], faster[1], self.unstem, self.unstemmed_filters)
        self._finders: dict[frozenset[str], tuple[tuple[str, ...], bool, bool]] = {}
        #: word -> what the analyzer makes of it, for the words spotted so far
        self.analysed: dict[str, str] = {}
        #: word -> its text before stemming, and the words that are stop words
        self._memory: tuple[dict[str, str], set[str]] = ({}, set())
        #: text before stemming -> (its stem, False)
        self.stems: dict[str, tuple[str, bool]] = {}
        self._starts: dict[frozenset[str], tuple[str, ...]] = {}
        #: per query's terms: the words judged, and those that match with their forms
        self._verdicts: dict[frozenset[str], tuple[set[str], dict[str, str]]] = {}

    @staticmethod
    def fits(analyzer: Any) -> bool:
        items: list[Any] = getattr(analyzer, "items", None) or []
        return (
            bool(items)
            and type(items[0]) is RegexTokenizer
            and not items[0].gaps
            and all(type(item) in WORD_BY_WORD_FILTERS for item in items[1:])
        )

    def tokens(self, text: str) -> tuple[list[str], list[int]]:
        """The text of each token of ``text``, in order, and their bounds: token ``n``
        spans characters ``bounds[2n]`` to ``bounds[2n + 1]``."""
        if self.splitter is None:
            found = list(self.expression.finditer(text))
            return [match.group() for match in found], [n for m in found for n in m.span()]
        splitter = self.splitter
        if self.ascii_splitter is not None and text.isascii():
            splitter = self.ascii_splitter
        parts = splitter.split(text)  # between, token, its groups, between, ...
        step = splitter.groups + 1
        if step == 2:
            return parts[1::2], list(accumulate(map(len, parts)))  # (and the text's length)
        words = parts[1::step]
        lengths = chain.from_iterable(zip(map(len, parts[:-1:step]), map(len, words), strict=True))
        return words, list(accumulate(lengths))

    def words(self, text: str) -> list[str]:
        """The text of each token of ``text``, in order."""
        return self.tokens(text)[0]

    def spotted(
        self, text: str, terms: frozenset[str]
    ) -> tuple[list[str], list[int], list[int], list[str]] | None:
        """``text``'s words, their bounds, the numbers of those whose analysed form is in
        ``terms`` and those forms (nothing if none matches); None when ``spotting``
        cannot serve ``text``. Only the words that start where the start of a query
        word is found are analysed, and ``text`` is split into words only if one of
        them matches."""
        spotting = self.spotting
        assert spotting is not None
        starts, usable, all_ascii = self.finder(terms)
        letters: Container[str]
        if not usable:
            return None
        if text.isascii():
            letters, token, lowered = spotting.letters, spotting.ascii_token, text.lower()
        elif spotting.folds and all_ascii:
            letters, token, lowered = spotting.other_letters, spotting.token, spotting.fold(text)
            if len(lowered) != len(text):
                return None
        else:
            return None
        places = set()
        for start in starts:
            at = lowered.find(start)
            while at >= 0:
                if at == 0 or (
                    text[at - 1] not in letters
                    and (at < 2 or text[at - 1] != "." or text[at - 2] not in letters)
                ):
                    places.add(at)  # a token starts there: not after a letter or a joining dot
                at = lowered.find(start, at + 1)
        if not places:
            return [], [], [], []
        found_at, forms = [], []
        analysed = self.analysed
        for at in sorted(places):
            found = token.match(text, at)
            if found is None:  # (a start that is not a word's, from a term the analyzer never made)
                continue
            form = analysed.get(found.group())
            if form is None:
                form = self.analyse(found.group())
            if form in terms:
                found_at.append(at)
                forms.append(form)
        if not found_at:
            return [], [], [], []
        words, bounds = self.tokens(text)
        token_starts = bounds[::2]
        return words, bounds, [bisect_left(token_starts, at) for at in found_at], forms

    def analyse(self, word: str) -> str:
        """What the analyzer makes of ``word`` (remembered in ``analysed``)."""
        assert self.unstem is not None
        text, stopped = self.unstem(word)
        if self.stem_filters and not stopped:
            stems = self.stems
            if len(stems) >= MAX_REMEMBERED_WORDS:
                stems = self.stems = {}
            _analyse((text,), self.stem_filters, stems)
            text = stems[text][0]
        if len(self.analysed) >= MAX_REMEMBERED_WORDS:
            self.analysed = {}
        self.analysed[word] = text
        return text

    def finder(self, terms: frozenset[str]) -> tuple[tuple[str, ...], bool, bool]:
        """What each word whose analysed form may be one of ``terms`` starts with (before
        stemming), whether none of those starts is empty, and whether all are ASCII."""
        finder = self._finders.get(terms)
        if finder is None:
            assert self.spotting is not None
            if len(self._finders) >= MAX_REMEMBERED_QUERIES:
                self._finders.clear()
            starts: set[str] = set(terms)
            if self.start is not None:
                starts = set(self.starts(terms))
                stems = self.stems
                _analyse(SNOWBALL_IRREGULAR, self.stem_filters, stems)
                starts.update(word for word in SNOWBALL_IRREGULAR if stems[word][0] in terms)
            shortest = sorted(starts, key=len)  # (what starts with another start adds nothing)
            starts = {s for n, s in enumerate(shortest) if not s.startswith(tuple(shortest[:n]))}
            usable = "" not in starts  # (else every word may match)
            finder = self._finders[terms] = (tuple(starts), usable, all(map(str.isascii, starts)))
        return finder

    def hits(self, words: list[str], terms: frozenset[str]) -> tuple[list[int], list[str]]:
        """The numbers of those ``words`` whose analysed form is in ``terms``, and their forms.

        What each word comes to is remembered for ``terms`` (the hits of a page share
        their query's terms): but for new words, a field costs a few passes in C."""
        known = self._verdicts.get(terms)
        if known is None:
            if len(self._verdicts) >= MAX_REMEMBERED_QUERIES:
                self._verdicts.clear()
            known = self._verdicts[terms] = (set(), {})
        judged, forms = known
        new = set(words).difference(judged)
        if new:
            if len(judged) + len(new) > MAX_REMEMBERED_WORDS:
                judged, forms = self._verdicts[terms] = (set(), {})
                new = set(words)
            forms.update(self.matching(new, terms))
            judged.update(new)  # after their forms: another thread may be reading them
        if forms.keys().isdisjoint(words):
            return [], []
        matched = list(map(forms.__contains__, words))
        return list(compress(count(), matched)), list(
            map(forms.__getitem__, compress(words, matched))
        )

    @property
    def unstemmed(self) -> dict[str, str]:
        """The words met so far, with their text before stemming."""
        return self._memory[0]

    def _unstemmed(self, words: set[str]) -> tuple[dict[str, str], set[str]]:
        """The texts before stemming of (at least) ``words``, and which are stop words."""
        unstemmed, stopped = self._memory
        new = words.difference(unstemmed)
        if new:
            if len(unstemmed) + len(new) > MAX_REMEMBERED_WORDS:
                unstemmed, stopped = self._memory = ({}, set())  # a call using the old goes on
                new = set(words)
            learned: dict[str, tuple[str, bool]] = {}
            if self.unstem is None:
                _analyse(new, self.unstemmed_filters, learned)
            else:
                learned.update((word, self.unstem(word)) for word in new)
            stopped.update(word for word, (_, stop) in learned.items() if stop)
            unstemmed.update((word, text) for word, (text, _) in learned.items())  # (after)
        return unstemmed, stopped

    def matching(self, words: set[str], terms: frozenset[str]) -> dict[str, str]:
        """Those of ``words`` whose analysed form is in ``terms``, with that form."""
        unstemmed, stopped = self._unstemmed(words)
        get = unstemmed.__getitem__
        if not self.stem_filters:
            return {
                word: get(word)
                for word in compress(words, map(terms.__contains__, map(get, words)))
            }
        stops = stopped.intersection(words)
        found = {word: get(word) for word in stops if get(word) in terms}  # stop words: not stemmed
        rest = list(words.difference(stops) if stops else words)
        texts = list(map(get, rest))
        candidates = rest
        if self.start is not None:
            starts = self.starts(terms)
            candidates = list(compress(rest, map(str.startswith, texts, repeat(starts))))
            if not SNOWBALL_IRREGULAR.isdisjoint(texts) or _APOSTROPHE.search("".join(texts)):
                candidates = [
                    word
                    for word, text in zip(rest, texts, strict=True)
                    if text.startswith(starts)
                    or text in SNOWBALL_IRREGULAR
                    or (not text.isalnum() and _APOSTROPHE.search(text))
                ]
        if candidates:
            texts = list(map(get, candidates))
            stems = self.stems
            if len(stems) + len(texts) > MAX_REMEMBERED_WORDS:
                stems = self.stems = {}
            _analyse(texts, self.stem_filters, stems)
            for word, text in zip(candidates, texts, strict=True):
                if stems[text][0] in terms:
                    found[word] = stems[text][0]
        return found

    def starts(self, terms: frozenset[str]) -> tuple[str, ...]:
        """What the unstemmed form of a word starts with if it stems to one of ``terms``."""
        starts = self._starts.get(terms)
        if starts is None:
            start = self.start
            assert start is not None
            if len(self._starts) >= MAX_REMEMBERED_QUERIES:
                self._starts.clear()
            starts = self._starts[terms] = tuple({start(term) for term in terms})
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


def _splitter(expression: re.Pattern[str]) -> re.Pattern[str] | None:
    """``expression`` in a group of its own, for ``split`` to give, in C, the text before
    each match, the match and its groups; None when that might not give the matches
    ``finditer`` gives: the expression uses a group by number, is verbose, or can
    match no characters."""
    if expression.flags & re.VERBOSE or _NUMBERED_GROUP_USE.search(expression.pattern):
        return None
    parser = "re._parser" if sys.version_info >= (3, 11) else "sre_parse"
    try:
        shortest = importlib.import_module(parser).parse(expression.pattern, expression.flags)
        if shortest.getwidth()[0] < 1:
            return None
        pattern = FASTER_EXPRESSIONS.get(expression.pattern, (expression.pattern, ""))[0]
        return re.compile(f"({pattern})", expression.flags)
    except (re.error, ImportError, AttributeError):
        return None


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
