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

from collections.abc import Iterable, Iterator
from typing import Any

from nltk.stem import LancasterStemmer, PorterStemmer, SnowballStemmer
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


def stem_function(name: str) -> Any:
    """Return the nltk stem function called ``name`` (one of STEMMERS, except "none")."""
    if name == "snowball":
        return SnowballStemmer("english").stem
    if name == "porter":
        return PorterStemmer().stem
    if name == "lancaster":
        return LancasterStemmer().stem
    raise ValueError(f"unknown stemmer {name!r}; choose one of {', '.join(STEMMERS)}")


class NltkStemFilter(StemFilter):
    """Whoosh StemFilter around an nltk stemmer, pickled by name (the schema is pickled).

    Needs no nltk data files: the Snowball, Porter and Lancaster stemmers are pure code.
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
