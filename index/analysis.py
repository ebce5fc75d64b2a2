"""The analyzer pipelines: one for running text, one for names.

Text (titles, synopsis, wiki text)::

    RegexTokenizer | LowercaseFilter | CharsetFilter(accent_map) | StopFilter | NltkStemFilter

Titles are indexed twice: with the text analyzer and with the same chain
minus the stemmer, so that a title matches both its stems and its exact words.

Names (director, cast, genres)::

    NameListTokenizer | LowercaseFilter | CharsetFilter(accent_map) | StopFilter | NameGapFilter

Names are not stemmed, so ``celine sallette`` finds
"Céline Sallette". A list of names is indexed with a wide position gap between
its members, so the phrase ``"marion cotillard"`` matches that one person and
never the end of one name followed by the start of the next.

Indexing and querying use the same analyzer objects: Whoosh stores them in the
index schema, and the query parser takes them from there.

Both chains are ``FusedAnalyzer`` objects (``TextAnalyzer``, ``NameAnalyzer``):
the same Whoosh filters, run as one loop over the words when a call needs
nothing but the words (indexing, querying, highlighting), which makes analysis
about 1.5 times as fast; any other call runs the filters one after another as
Whoosh does. Either way the tokens are the same (tests/test_fused_analysis.py).
"""

from __future__ import annotations

import functools
import operator
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Tokenizer,
)
from whoosh.analysis.acore import Token
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.analysis.tokenizers import default_pattern
from whoosh.support.charset import accent_map

#: Stemmers that can be chosen when building an index. "none" disables stemming.
STEMMERS = ("snowball", "porter", "lancaster", "none")
DEFAULT_STEMMER = "snowball"
#: Joins the members of a name list before it is analyzed.
NAME_SEPARATOR = "\n"
#: Positions left empty between two names, wider than any phrase slop.
NAME_GAP = 100


#: nltk's English Snowball stemmer leaves words of this many characters or fewer as they are.
SHORT_WORD = 2
#: Words with more y's than this are stemmed by nltk itself: whoosh's port rebuilds
#: the word for every y it marks, quadratic on a crafted word like "ayay…".
MAX_PORTED_YS = 16


def snowball_english(word: str) -> str:
    """nltk's Snowball English stem of ``word`` (``SnowballStemmer("english").stem``).

    Importing any part of nltk runs its package ``__init__``, which imports all of
    nltk (0.3 s; 1.6 s when scipy and scikit-learn are installed), so a search would
    start slowly. Whoosh ships a port of nltk's English stemmer: the same rules,
    minus nltk's first one (short words stay as they are), added here; nltk itself
    only stems the rare crafted words the port is slow on. tests/test_startup.py
    checks that the stems are nltk's.
    """
    word = word.lower()
    if len(word) <= SHORT_WORD:
        return word
    if word.count("y") > MAX_PORTED_YS:
        return _nltk_stem("snowball")(word)
    return _ported_english()(word)


@functools.cache
def _ported_english() -> Callable[[str], str]:
    """Whoosh's port of nltk's Snowball English stemmer (no rule for short words)."""
    from whoosh.lang.snowball.english import EnglishStemmer

    stem: Callable[[str], str] = EnglishStemmer().stem
    return stem


@functools.cache
def _nltk_stem(name: str) -> Callable[[str], str]:
    """nltk's stem function called ``name``; importing it imports all of nltk."""
    from nltk.stem import LancasterStemmer, PorterStemmer, SnowballStemmer

    if name == "porter":
        return PorterStemmer().stem  # type: ignore[no-any-return]
    if name == "lancaster":
        return LancasterStemmer().stem  # type: ignore[no-any-return]
    return SnowballStemmer("english").stem  # type: ignore[no-any-return]


#: The letters Snowball English writes at the end of a word that were not there: every
#: other change cuts letters off, or writes back letters the word had (``ization`` ->
#: ``ize``: only the ``e`` is new; ``biliti`` -> ``ble``: ``le``; ``y`` -> ``i``).
SNOWBALL_ENDINGS = ("e", "i", "le")
_ENDING_STARTS = sorted(
    {ending[:size] for ending in SNOWBALL_ENDINGS for size in range(1, len(ending) + 1)},
    key=len,
    reverse=True,
)
#: The words whose Snowball stem is written whole, not made from their beginning.
SNOWBALL_IRREGULAR = frozenset({"dying", "lying", "tying", "skies"})


def snowball_stem_start(stem: str) -> str:
    """What every word (lowercased) that Snowball English stems to ``stem`` starts with,
    but for SNOWBALL_IRREGULAR and words with apostrophes.

    The stemmer lowercases, cuts letters off the end and writes letters there, new
    ones only from SNOWBALL_ENDINGS (it may cut some of those off again); so
    ``stem`` less the longest beginning of an ending it ends with was already the
    start of the word. Lets snippets skip stemming words that cannot match a query.
    """
    for ending in _ENDING_STARTS:
        if stem.endswith(ending):
            return stem[: -len(ending)]
    return stem


def stem_function(name: str) -> Callable[[str], str]:
    """Return the stem function called ``name`` (one of STEMMERS, except "none").

    None imports nltk when it is returned, so opening an index stays fast:
    "snowball" never needs to, "porter" and "lancaster" import it when they
    first stem a word.
    """
    if name == "snowball":
        return snowball_english
    if name in ("porter", "lancaster"):
        return functools.partial(_stem_with_nltk, name)
    raise ValueError(f"unknown stemmer {name!r}; choose one of {', '.join(STEMMERS)}")


def _stem_with_nltk(name: str, word: str) -> str:
    return _nltk_stem(name)(word)


class NltkStemFilter(StemFilter):
    """Whoosh StemFilter around an nltk stemmer, pickled by name (the schema is pickled).

    Needs no nltk data files: the Snowball, Porter and Lancaster stemmers are pure code.
    Opening an index builds this filter; no stemmer is loaded until a word is stemmed.
    """

    def __init__(self, stemmer: str = DEFAULT_STEMMER, cachesize: int = 100_000) -> None:
        self.stemmer = stemmer
        # whoosh's StemFilter.__init__ is unannotated
        super().__init__(stemfn=stem_function(stemmer), cachesize=cachesize)  # type: ignore[no-untyped-call]

    def __getstate__(self) -> dict[str, Any]:
        return {"stemmer": self.stemmer, "cachesize": self.cachesize, "ignore": self.ignore}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["stemmer"], state["cachesize"])  # type: ignore[misc]
        self.ignore = state["ignore"]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NltkStemFilter) and other.stemmer == self.stemmer

    __hash__ = None  # type: ignore[assignment]


class NameListTokenizer(Tokenizer):
    """Tokenizes NAME_SEPARATOR-joined names, tagging each token with its name's number."""

    def __init__(self) -> None:
        self.words = RegexTokenizer()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NameListTokenizer)

    __hash__ = None  # type: ignore[assignment]

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        start_pos: int = 0,
        start_char: int = 0,
        **kwargs: Any,
    ) -> Iterator[Token]:
        pos, offset = start_pos, start_char
        for number, name in enumerate(value.split(NAME_SEPARATOR)):
            for token in self.words(
                name, positions=positions, chars=chars, start_pos=pos, start_char=offset, **kwargs
            ):
                # Token takes any attribute; whoosh does not declare this one
                token.name_number = number  # type: ignore[attr-defined]
                pos += 1
                yield token
            offset += len(name) + len(NAME_SEPARATOR)


class NameGapFilter(Filter):
    """Moves each name's tokens NAME_GAP positions past the previous name's.

    Runs after StopFilter, which renumbers positions to close the holes left by
    stop words and initials.
    """

    def __init__(self, gap: int = NAME_GAP) -> None:
        self.gap = gap

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NameGapFilter) and other.gap == self.gap

    __hash__ = None  # type: ignore[assignment]

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:  # type: ignore[override]
        # (whoosh's Composable.__call__ is declared without arguments)
        for token in tokens:
            if token.positions:
                token.pos += getattr(token, "name_number", 0) * self.gap
            yield token


#: Whoosh's default word pattern without its capturing group: the same matches, and
#: ``findall`` then returns whole words.
_WORDS = re.compile(default_pattern.pattern.replace("(", "(?:"), default_pattern.flags)
#: A call to a FusedAnalyzer with any of these arguments set to anything but this value
#: runs the filters one by one.
_PLAIN_CALL = {"tokenize": True, "keeporiginal": False, "removestops": True}
#: charmaps (by id, with the map itself so that the id stays taken) that leave every
#: lowercase ASCII character as it is.
_ASCII_KEPT: dict[int, tuple[dict[int, Any], bool]] = {}
_LOWER_ASCII = "".join(map(chr, range(128))).lower()


def _keeps_ascii(charmap: dict[int, Any]) -> bool:
    """Whether ``charmap`` maps no lowercase ASCII character to anything else."""
    known = _ASCII_KEPT.get(id(charmap))
    if known is None or known[0] is not charmap:
        known = _ASCII_KEPT[id(charmap)] = (
            charmap,
            _LOWER_ASCII.translate(charmap) == _LOWER_ASCII,
        )
    return known[1]


class _Plan:
    """What a recognised filter chain does, read from its filters once."""

    def __init__(self, words: Any, charmap: Any, stop: StopFilter, stem: Any) -> None:
        self.expression: re.Pattern[str] = words.expression
        # findall on a lowercased ASCII text finds the same words as the tokenizer
        self.findall = (
            _WORDS.findall
            if self.expression.pattern == default_pattern.pattern
            and self.expression.flags == default_pattern.flags
            else None
        )
        self.charmap: dict[int, Any] = charmap.charmap
        self.ascii_kept = _keeps_ascii(self.charmap)
        self.stops: frozenset[str] = stop.stops
        self.minsize: int = stop.min
        self.maxsize: int = sys.maxsize if stop.max is None else stop.max
        self.renumber: bool = stop.renumber
        self.stem: Callable[[str], str] | None = stem._stem if stem is not None else None
        self.ignore: frozenset[str] = stem.ignore if stem is not None else frozenset()
        #: What ``_kept`` makes of a word (None: stopped), for words as found in ASCII
        #: text and for words that still need lowercasing and folding (``kept_words``).
        self.kept: tuple[dict[str, str | None], dict[str, str | None]] = ({}, {})


class FusedAnalyzer(CompositeAnalyzer):
    """A Whoosh analyzer chain whose common calls run as one loop (see the module doc).

    A call with ``tokenize=False``, ``keeporiginal=True`` or ``removestops=False``, or
    a chain that is not the one ``chain_parts`` recognises (someone changed its
    filters), runs the filters one by one. Either way the tokens are the same.
    """

    def __getstate__(self) -> dict[str, Any]:
        return {"items": self.items}  # not the plan: it holds functions

    def __eq__(self, other: object) -> bool:
        # the same filters analyse the same way, run fused or one by one
        return isinstance(other, CompositeAnalyzer) and self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def _plan(self) -> _Plan | None:
        """The plan of the chain as it is now (its filters can be replaced: see chain_parts)."""
        items = tuple(self.items)
        cached = self.__dict__.get("_cached_plan")
        if (
            cached is None
            or len(cached[0]) != len(items)
            or not all(map(operator.is_, cached[0], items))
        ):
            cached = self.__dict__["_cached_plan"] = (items, self.chain_parts())
        plan: _Plan | None = cached[1]
        return plan

    def chain_parts(self) -> _Plan | None:
        """The plan of this chain, or None if its filters are not the expected ones."""
        raise NotImplementedError

    def __call__(self, value: str, no_morph: bool = False, **kwargs: Any) -> Iterator[Token]:
        plan = self._plan()
        if (
            plan is None
            or not isinstance(value, str)
            or any(kwargs.get(name, plain) != plain for name, plain in _PLAIN_CALL.items())
        ):
            return super().__call__(value, no_morph=no_morph, **kwargs)
        for name in _PLAIN_CALL:
            kwargs.pop(name, None)
        return self.fused(plan, value, no_morph, **kwargs)

    def fused(self, plan: _Plan, value: str, no_morph: bool, **kwargs: Any) -> Iterator[Token]:
        raise NotImplementedError

    def texts(self, value: str) -> tuple[str, ...] | None:
        """The texts of the tokens of ``self(value)`` (any mode), without making Token
        objects (a query's words are analysed one by one, and making the tokens cost
        more than analysing the word); None where the chain is not the recognised one."""
        plan = self._plan()
        if plan is None or not isinstance(value, str):
            return None
        return tuple(word for part in self.parts(value) for word in _kept_texts(plan, part))

    def parts(self, value: str) -> list[str]:
        """The pieces of ``value`` the chain tokenizes one after the other."""
        return [value]

    def word_positions(self, value: str) -> dict[str, list[int]] | None:
        """Each word's positions in ``value``, as ``Positions.word_values`` groups the
        tokens of ``self(value, positions=True, mode="index")``; None where the chain
        is not the recognised one (then analyse through ``__call__``)."""
        plan = self._plan()
        if plan is None or not isinstance(value, str):
            return None
        return self.positions(plan, value)

    def positions(self, plan: _Plan, value: str) -> dict[str, list[int]]:
        raise NotImplementedError


def _words(plan: _Plan, value: str, chars: bool) -> tuple[list[str], list[re.Match[str]], bool]:
    """The tokenizer's words in ``value``, their matches if ``chars``, and whether the
    words still need lowercasing and folding (ASCII text is lowercased in one go,
    which changes no word boundary, and the charmap leaves it as it is)."""
    ascii_text = plan.ascii_kept and value.isascii()
    text = value.lower() if ascii_text else value
    if chars:
        matches = list(plan.expression.finditer(text))
        return [match.group(0) for match in matches], matches, not ascii_text
    if plan.findall is not None:
        return plan.findall(text), [], not ascii_text
    return [match.group(0) for match in plan.expression.finditer(text)], [], not ascii_text


def _kept(plan: _Plan, words: list[str], fold: bool, no_morph: bool) -> Iterator[tuple[int, str]]:
    """(index among all words, final text) of each word the StopFilter keeps."""
    charmap, stops, minsize, maxsize = plan.charmap, plan.stops, plan.minsize, plan.maxsize
    stem = None if no_morph else plan.stem
    ignore = plan.ignore
    for index, word in enumerate(words):
        if fold:
            word = word.lower().translate(charmap)
        if len(word) < minsize or len(word) > maxsize or word in stops:
            continue
        if stem is not None and word not in ignore:
            word = stem(word)
        yield index, word


def _kept_texts(plan: _Plan, value: str) -> Iterator[str]:
    """The final text of each word of ``value`` the StopFilter keeps."""
    words, _, fold = _words(plan, value, False)
    return (word for _, word in _kept(plan, words, fold, False))


#: Words whose outcome each plan remembers (per kind), a few tens of MB at most.
KEPT_MEMO = 1 << 18


def kept_word(plan: _Plan, word: str, fold: bool) -> str | None:
    """What ``_kept`` makes of one word (None: stopped), remembered in the plan:
    indexing sees the same words over and over."""
    memo = plan.kept[fold]
    final = memo.get(word, _UNSEEN)
    if final is _UNSEEN:
        if len(memo) >= KEPT_MEMO:
            memo.clear()
        final = memo[word] = next((kept for _, kept in _kept(plan, [word], fold, False)), None)
    return final  # type: ignore[return-value]


_UNSEEN = object()


class TextAnalyzer(FusedAnalyzer):
    """RegexTokenizer | LowercaseFilter | CharsetFilter | StopFilter | NltkStemFilter
    (the stemmer is optional)."""

    def chain_parts(self) -> _Plan | None:
        items: list[Any] = self.items
        kinds = [RegexTokenizer, LowercaseFilter, CharsetFilter, StopFilter, NltkStemFilter]
        if not 4 <= len(items) <= 5 or any(
            type(item) is not kind for item, kind in zip(items, kinds, strict=False)
        ):
            return None
        if items[0].gaps:
            return None
        return _Plan(items[0], items[2], items[3], items[4] if len(items) == 5 else None)

    def fused(self, plan: _Plan, value: str, no_morph: bool, **kwargs: Any) -> Iterator[Token]:
        positions = kwargs.pop("positions", False)
        chars = kwargs.pop("chars", False)
        start_pos = kwargs.pop("start_pos", 0)
        start_char = kwargs.pop("start_char", 0)
        mode = kwargs.pop("mode", "")
        token = Token(positions, chars, removestops=True, mode=mode, **kwargs)
        words, matches, fold = _words(plan, value, chars)
        renumber = plan.renumber
        pos: int | None = None  # the StopFilter's position counter
        for index, word in _kept(plan, words, fold, no_morph):
            token.text = word
            token.boost = 1.0
            token.stopped = False
            if positions:
                if pos is None or not renumber:
                    pos = start_pos + index
                else:
                    pos += 1
                token.pos = pos
            if chars:
                token.startchar = start_char + matches[index].start()
                token.endchar = start_char + matches[index].end()
            yield token

    def positions(self, plan: _Plan, value: str) -> dict[str, list[int]]:
        words, _, fold = _words(plan, value, False)
        found: dict[str, list[int]] = {}
        renumber = plan.renumber
        memo = plan.kept[fold]
        pos: int | None = None
        for index, word in enumerate(words):
            final = memo.get(word, _UNSEEN)
            if final is _UNSEEN:
                final = kept_word(plan, word, fold)
            if final is None:
                continue
            word = final  # type: ignore[assignment]
            pos = index if pos is None or not renumber else pos + 1
            where = found.get(word)
            if where is None:
                found[word] = [pos]
            else:
                where.append(pos)
        return found


class NameAnalyzer(FusedAnalyzer):
    """NameListTokenizer | LowercaseFilter | CharsetFilter | StopFilter | NameGapFilter."""

    def chain_parts(self) -> _Plan | None:
        items: list[Any] = self.items
        kinds = [NameListTokenizer, LowercaseFilter, CharsetFilter, StopFilter, NameGapFilter]
        if len(items) != len(kinds) or any(
            type(item) is not kind for item, kind in zip(items, kinds, strict=True)
        ):
            return None
        words = items[0].words
        if type(words) is not RegexTokenizer or words.gaps:
            return None
        return _Plan(words, items[2], items[3], None)

    def parts(self, value: str) -> list[str]:
        return value.split(NAME_SEPARATOR)

    def fused(self, plan: _Plan, value: str, no_morph: bool, **kwargs: Any) -> Iterator[Token]:
        positions = kwargs.pop("positions", False)
        chars = kwargs.pop("chars", False)
        start_pos = kwargs.pop("start_pos", 0)
        offset = kwargs.pop("start_char", 0)
        mode = kwargs.pop("mode", "")
        gap: int = self.items[4].gap  # type: ignore[attr-defined]
        renumber = plan.renumber
        # NameListTokenizer numbers the words of all names in one sequence, the
        # StopFilter renumbers across names, then NameGapFilter moves each name.
        first = start_pos  # the number of the name's first word
        pos: int | None = None  # the StopFilter's position counter
        for number, name in enumerate(value.split(NAME_SEPARATOR)):
            token = Token(positions, chars, removestops=True, mode=mode, **kwargs)
            words, matches, fold = _words(plan, name, chars)
            for index, word in _kept(plan, words, fold, no_morph):
                token.text = word
                token.boost = 1.0
                token.stopped = False
                token.name_number = number  # type: ignore[attr-defined]
                if positions:
                    if pos is None or not renumber:
                        pos = first + index
                    else:
                        pos += 1
                    token.pos = pos + number * gap
                if chars:
                    token.startchar = offset + matches[index].start()
                    token.endchar = offset + matches[index].end()
                yield token
            first += len(words)
            offset += len(name) + len(NAME_SEPARATOR)

    def positions(self, plan: _Plan, value: str) -> dict[str, list[int]]:
        gap: int = self.items[4].gap  # type: ignore[attr-defined]
        renumber = plan.renumber
        found: dict[str, list[int]] = {}
        first = 0
        pos: int | None = None
        for number, name in enumerate(value.split(NAME_SEPARATOR)):
            words, _, fold = _words(plan, name, False)
            for index, word in enumerate(words):
                final = kept_word(plan, word, fold)
                if final is None:
                    continue
                word = final
                pos = first + index if pos is None or not renumber else pos + 1
                where = found.get(word)
                if where is None:
                    found[word] = [pos + number * gap]
                else:
                    where.append(pos + number * gap)
            first += len(words)
        return found


def text_analyzer(stemmer: str = DEFAULT_STEMMER) -> Any:
    """Analyzer for running text: words, lower case, accents folded, stop words out, stemmed."""
    items: list[Any] = [
        RegexTokenizer(),
        LowercaseFilter(),
        CharsetFilter(accent_map),
        StopFilter(),
    ]
    if stemmer != "none":
        items.append(NltkStemFilter(stemmer))
    return TextAnalyzer(*items)


def exact_analyzer() -> Any:
    """Analyzer for unstemmed matching of titles: like text_analyzer without the stemmer."""
    return text_analyzer("none")


def name_analyzer() -> Any:
    """Analyzer for lists of names: words, lower case, accents folded, stop words and
    initials out (so a free keyword like "a" or "the" never matches a name), a gap
    between names."""
    return NameAnalyzer(
        NameListTokenizer(),
        LowercaseFilter(),
        CharsetFilter(accent_map),
        StopFilter(),
        NameGapFilter(),
    )


def join_names(names: tuple[str, ...] | list[str]) -> str:
    """Join names for the name analyzer."""
    return NAME_SEPARATOR.join(names)
