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
"""

from __future__ import annotations

import functools
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


def text_analyzer(stemmer: str = DEFAULT_STEMMER) -> Any:
    """Analyzer for running text: words, lower case, accents folded, stop words out, stemmed."""
    chain = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter()
    if stemmer != "none":
        chain = chain | NltkStemFilter(stemmer)
    return chain


def exact_analyzer() -> Any:
    """Analyzer for unstemmed matching of titles: like text_analyzer without the stemmer."""
    return text_analyzer("none")


def name_analyzer() -> Any:
    """Analyzer for lists of names: words, lower case, accents folded, stop words and
    initials out (so a free keyword like "a" or "the" never matches a name), a gap
    between names."""
    return (
        NameListTokenizer()
        | LowercaseFilter()
        | CharsetFilter(accent_map)
        | StopFilter()
        | NameGapFilter()
    )


def join_names(names: tuple[str, ...] | list[str]) -> str:
    """Join names for the name analyzer."""
    return NAME_SEPARATOR.join(names)
