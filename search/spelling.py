"""Typo tolerance: query words the index does not know, corrected to close words it does.

A word of a query is corrected when the index does not know it where it is
searched (a free keyword: in any field; ``director:``, ``cast:``, ``genre:``:
in that field's names; ``title:``: in titles), to the closest word that it
does know, within ``max_distance`` edits (Damerau-Levenshtein: an insertion,
deletion, substitution or swap of two neighbours is one edit), the word found
in the most films first among equally close ones. Names are corrected with the
names of their own field, titles with title words, free keywords with every
field's words (plot words are stored stemmed: they are compared stem to stem,
and the typed word's ending is kept).

A free keyword that the index knows from plot text alone, in at most
``RARE_FILMS`` films, is also corrected when a title or name word one edit
away is ``RARE_RATIO`` times as frequent (``scorcese`` in one film's wiki
text, ``scorsese`` a director of 20). A word of a title or of a name is never
changed, so correctly spelled queries give the results they always gave.

Queries of more than ``MAX_QUERY_WORDS`` words are descriptions, left as typed;
words shorter than ``MIN_WORD_CHARS`` letters, numbers, wildcards and ranges
are never corrected.

Candidate words are found with an index of each vocabulary's letter pairs
(words sharing too few pairs cannot be close), built once per searcher when a
query first needs it. (The small records are named tuples, not dataclasses: a
search imports this module, and a dataclass takes ten times as long to define.)
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from whoosh import query as wq

from . import ranking
from .query import MAX_QUERY_CHARS
from .retrieve import analysed
from .term_scores import doc_frequency, field_lexicon

#: Queries with more words than this are left as typed (descriptions, not searches).
MAX_QUERY_WORDS = 8
#: Shortest and longest word corrected (no word of the index is longer than a few dozen letters).
MIN_WORD_CHARS = 4
MAX_WORD_CHARS = 40
#: Words of at least this many letters may be two edits away; shorter ones one.
TWO_EDITS_FROM = 8
#: A plot-only word in at most this many films may be corrected to a much more frequent one.
RARE_FILMS = 2
#: ... when the title or name word one edit away is in this many times as many films.
RARE_RATIO = 30
#: Most words a typed word is compared with letter by letter (those sharing the most
#: letter pairs with it): a made-up or very large vocabulary has thousands of
#: near-alike words, which took a second a word to compare.
MAX_NEAR_CHECKS = 200
#: Suggestions are offered when a search finds fewer films than this.
SUGGEST_BELOW = 3
#: Most suggestions offered.
MAX_SUGGESTIONS = 3

#: Words whose choices a Speller remembers (then it starts again).
CHOICES_KEPT = 10_000

#: Fields whose words are people's names or genres, compared unstemmed.
NAME_FIELDS = ("director", "cast", "genre")
#: Fields whose words are stored stemmed: free keywords are compared with them stem to stem.
STEMMED_FIELDS = ("title", "synopsis", "wiki")
_WORD = re.compile(r"\w+")


def max_distance(word: str) -> int:
    """The edits a word of this length may be corrected by: 0 under MIN_WORD_CHARS letters,
    1 up to TWO_EDITS_FROM - 1, 2 from TWO_EDITS_FROM."""
    if len(word) < MIN_WORD_CHARS:
        return 0
    return 1 if len(word) < TWO_EDITS_FROM else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of ``a`` and ``b``, or
    ``limit + 1`` when it exceeds ``limit`` (rapidfuzz's, in C: a typed word is compared
    with a hundred words or more, which took milliseconds in Python)."""
    distance: int = _osa_distance()(a, b, score_cutoff=limit)
    return distance


@functools.cache
def _osa_distance() -> Callable[..., int]:
    """rapidfuzz's OSA distance, imported when first needed (a search whose words are all
    known never compares words)."""
    from rapidfuzz.distance import OSA

    distance: Callable[..., int] = OSA.distance
    return distance


#: Bits of a letter-pair key that hold the word's length (longer words: this many ones).
_LENGTH_BITS = 20


def _pair_keys(words: list[str]) -> tuple[Any, Any]:
    """(key, word number) of each distinct letter pair of each word (``^`` and ``$`` mark
    its ends), sorted; a key is the pair's two code points and the word's length."""
    import numpy as np

    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    points = np.frombuffer("".join(f"^{w}$" for w in words).encode("utf-32-le"), dtype=np.uint32)
    points = points.astype(np.int64)
    numbers = np.repeat(np.arange(len(words), dtype=np.int64), lengths + 2)[:-1]
    within = np.ones(len(numbers), dtype=bool)  # not from one word's $ to the next's ^
    within[np.cumsum(lengths + 2)[:-1] - 1] = False
    sizes = np.minimum(lengths, (1 << _LENGTH_BITS) - 1)[numbers]
    keys = ((points[:-1] << 21 | points[1:]) << _LENGTH_BITS | sizes)[within]
    numbers = numbers[within]
    order = np.lexsort((numbers, keys))
    keys, numbers = keys[order], numbers[order]
    distinct = np.ones(len(keys), dtype=bool)
    distinct[1:] = (keys[1:] != keys[:-1]) | (numbers[1:] != numbers[:-1])
    return keys[distinct], numbers[distinct]


class NearWords:
    """The words of one vocabulary, found by closeness to a word (letter-pair index:
    for each letter pair and word length, the numbers of the words that have both)."""

    def __init__(self, words: Iterable[str]) -> None:
        import numpy as np

        self.words = sorted(set(words))
        keys, numbers = _pair_keys(self.words)
        self._keys, starts = np.unique(keys, return_index=True)
        self._bounds = np.append(starts, len(keys))
        self._numbers = numbers

    def near(self, word: str, limit: int) -> list[tuple[str, int]]:
        """Every (word, distance) of the vocabulary within ``limit`` edits of ``word``,
        other than ``word`` itself, among the MAX_NEAR_CHECKS words that share the
        most letter pairs with it.

        An edit changes at most three letter pairs (a swap), so a word within
        ``limit`` edits shares at least ``pairs - 3 * limit`` of them, and its
        length differs by at most ``limit``.
        """
        import numpy as np

        keys = self._keys
        if not len(keys):
            return []
        marked = f"^{word}$"
        pairs = {(ord(a) << 21 | ord(b)) << _LENGTH_BITS for a, b in itertools.pairwise(marked)}
        needed = max(len(pairs) - 3 * limit, 1)
        sizes = range(max(len(word) - limit, 1), len(word) + limit + 1)
        wanted = np.array([pair | size for size in sizes for pair in pairs], dtype=np.int64)
        at = np.searchsorted(keys, wanted)  # the (pair, size) keys of the vocabulary's words
        at = at[(at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == wanted)]
        firsts, lengths = self._bounds[at], self._bounds[at + 1] - self._bounds[at]
        ends = np.cumsum(lengths)
        if not len(ends) or not ends[-1]:
            return []
        rows = np.repeat(firsts - ends + lengths, lengths) + np.arange(ends[-1])
        shared = np.bincount(self._numbers[rows])  # each word's pairs shared (one size each)
        alike = np.flatnonzero(shared >= needed)
        candidates = list(zip(shared[alike].tolist(), alike.tolist(), strict=True))
        if len(candidates) > MAX_NEAR_CHECKS:  # the most alike first; ties by word order
            candidates = sorted(candidates, key=lambda item: (-item[0], item[1]))
            candidates = candidates[:MAX_NEAR_CHECKS]
        found = []
        for _, number in candidates:
            other = self.words[number]
            if other == word:
                continue
            distance = edit_distance(word, other, limit)
            if distance <= limit:
                found.append((other, distance))
        return found


class Vocabulary:
    """One searcher's words, for corrections: lexicons by field, and their NearWords."""

    def __init__(self, reader: Any, schema: Any) -> None:
        self.reader = reader
        self.schema = schema
        self._near: dict[str, NearWords] = {}

    def _lexicon(self, fieldname: str) -> Iterator[str]:
        """The field's words of letters only, from each segment (possibly repeated)."""
        if fieldname not in self.schema:
            return
        for segment, _ in self.reader.leaf_readers():
            for word in field_lexicon(segment, fieldname):
                if word.isalpha():
                    yield word

    def near(self, pool: str) -> NearWords:
        """NearWords over ``pool``: a field's words, or "stems" (the stemmed fields')."""
        if pool not in self._near:
            fields = STEMMED_FIELDS if pool == "stems" else (pool,)
            self._near[pool] = NearWords(w for name in fields for w in self._lexicon(name))
        return self._near[pool]

    def films(self, fieldname: str, word: str) -> int:
        """In how many films ``fieldname`` holds the (analysed) ``word``."""
        if fieldname not in self.schema:
            return 0
        return doc_frequency(self.reader, fieldname, word)

    def analyse(self, fieldname: str, word: str) -> str | None:
        """``word`` through the field's analyzer, if that gives one token."""
        if fieldname not in self.schema:
            return None
        tokens = analysed(self.schema[fieldname].analyzer, word)
        return tokens[0] if len(tokens) == 1 else None


class Choice(NamedTuple):
    """A candidate for a typed word: the word, its edits, and in how many films it is.

    Among equally close words, real words (of titles and names) come before plot
    words rebuilt from a stem, then the word in the most films.
    """

    word: str
    distance: int
    films: int
    #: False for a plot word rebuilt from its stem, which may not be a real word
    surface: bool = True

    def order(self) -> tuple[int, bool, int, str]:
        return (self.distance, not self.surface, -self.films, self.word)


class Speller:
    """Corrects the words of one query where they are searched (see the module docstring)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._choices: dict[tuple[str, str, bool], tuple[bool, list[Choice]]] = {}

    # -- one word ---------------------------------------------------------------------

    def _free_films(self, word: str) -> tuple[int, bool]:
        """In how many films (the most of any field) a free keyword is, and whether a
        title or a name holds it."""
        v = self.vocabulary
        exact = v.analyse("title_exact", word)
        in_names = max(
            [v.films(name, word) for name in NAME_FIELDS]
            + [v.films("title_exact", exact) if exact else 0]
        )
        stem = v.analyse("synopsis", word)
        in_text = max((v.films(name, stem) for name in STEMMED_FIELDS), default=0) if stem else 0
        return max(in_names, in_text), in_names > 0

    def _films(self, context: str, word: str) -> int:
        v = self.vocabulary
        if context == "free":
            return self._free_films(word)[0]
        if context == "title":
            exact = v.analyse("title_exact", word)
            stem = v.analyse("title", word)
            return max(v.films("title_exact", exact) if exact else 0,
                       v.films("title", stem) if stem else 0)  # fmt: skip
        return v.films(context, word)

    def _candidates(self, context: str, word: str, limit: int) -> list[Choice]:
        """Words within ``limit`` edits of the (folded) ``word`` where ``context`` searches."""
        v = self.vocabulary
        found: dict[str, int] = {}
        rebuilt: set[str] = set()

        def add(candidate: str, distance: int) -> None:
            if distance <= limit and distance < found.get(candidate, limit + 1):
                found[candidate] = distance

        pools = {"free": ("title_exact", *NAME_FIELDS), "title": ("title_exact",)}.get(
            context, (context,)
        )
        for pool in pools:
            for candidate, distance in v.near(pool).near(word, limit):
                add(candidate, distance)
        if context == "free":
            stem = v.analyse("synopsis", word)
            if stem and word.startswith(stem):
                for other, _ in v.near("stems").near(stem, limit):
                    candidate = other + word[len(stem) :]  # the typed ending kept
                    if candidate not in found and v.analyse("synopsis", candidate) == other:
                        add(candidate, edit_distance(word, candidate, limit))
                        rebuilt.add(candidate)
        choices = [
            Choice(c, d, self._films(context, c), c not in rebuilt) for c, d in found.items()
        ]
        return sorted((c for c in choices if c.films), key=Choice.order)

    def choices(self, context: str, typed: str, wider: bool = False) -> tuple[bool, list[Choice]]:
        """Whether ``typed`` should be corrected where ``context`` searches, and the
        candidates, best first (``wider``: one edit more, up to two, for suggestions)."""
        key = (context, typed, wider)
        found = self._choices.get(key)  # one lookup: another thread may clear the cache
        if found is None:
            found = self._choose(context, typed, wider)
            if len(self._choices) >= CHOICES_KEPT:
                self._choices.clear()
            self._choices[key] = found
        return found

    def _choose(self, context: str, typed: str, wider: bool) -> tuple[bool, list[Choice]]:
        v = self.vocabulary
        word = v.analyse("title_exact", typed)  # lower case, accents folded, unstemmed
        if not word or len(word) > MAX_WORD_CHARS or not word.isalpha() or max_distance(word) == 0:
            return False, []
        limit = min(max_distance(word) + (1 if wider else 0), 2)
        if context == "free":
            films, in_names = self._free_films(word)
            if films and (in_names or films > RARE_FILMS):
                return False, []
            choices = self._candidates(context, word, limit)
            if films:  # known from plot text alone, rarely: only for a far more common name
                choices = [
                    c for c in choices
                    if c.distance == 1 and c.films >= RARE_RATIO * films and self._named(c.word)
                ]  # fmt: skip
            return bool(choices), choices
        if self._films(context, word):
            return False, []
        choices = self._candidates(context, word, limit)
        return bool(choices), choices

    def _named(self, word: str) -> bool:
        return self._free_films(word)[1]

    # -- a whole query ----------------------------------------------------------------

    def _corrections(self, text: str, spans: list[Span]) -> dict[int, str]:
        """The corrected word for each misspelt span, by its start."""
        if len(spans) > MAX_QUERY_WORDS:
            return {}
        chosen = {}
        for span in spans:
            wrong, choices = self.choices(span.context, text[span.start : span.end])
            if wrong:
                chosen[span.start] = choices[0].word
        return chosen

    def correct(self, text: str, spans: list[Span]) -> str:
        """``text`` with its misspelt words corrected (the same text when none is)."""
        return _replaced(text, spans, self._corrections(text, spans))

    def suggest(self, text: str, spans: list[Span]) -> list[str]:
        """Other spellings of ``text`` worth trying, best first: the correction, then each
        word replaced by its close words (one edit further than corrections go)."""
        if len(spans) > MAX_QUERY_WORDS:
            return []
        chosen = self._corrections(text, spans)
        corrected = _replaced(text, spans, chosen)
        found = [corrected] if corrected != text else []
        for span in spans:
            _, choices = self.choices(span.context, text[span.start : span.end], wider=True)
            for choice in choices:
                suggestion = _replaced(text, spans, {**chosen, span.start: choice.word})
                if suggestion != text and suggestion not in found:
                    found.append(suggestion)
        return found


class Span(NamedTuple):
    """Where a word of the query is (``text[start:end]``) and where it is searched:
    "free" (every field), "title", or a name field."""

    start: int
    end: int
    context: str


def _replaced(text: str, spans: list[Span], words: dict[int, str]) -> str:
    out, at = [], 0
    for span in spans:
        if span.start in words:
            out += [text[at : span.start], words[span.start]]
            at = span.end
    return "".join([*out, text[at:]])


def query_spans(text: str, q: wq.Query | None) -> list[Span]:
    """The words of a parsed query that could be corrected, where they are searched.

    ``q`` is ``parse_query(text, …)``'s query (None: ``text`` is plain words, each
    a free keyword, of which the first MAX_QUERY_WORDS + 1 are enough: a description
    is left as typed). Wildcards, prefixes, ranges and numbers are left out.
    """
    text = text[:MAX_QUERY_CHARS]
    if q is None:
        letters = (m for m in _WORD.finditer(text) if m.group().isalpha())
        return [
            Span(m.start(), m.end(), "free") for m in itertools.islice(letters, MAX_QUERY_WORDS + 1)
        ]
    fields: dict[tuple[int, int], set[str]] = {}
    for leaf in _leaves(q):
        name = getattr(leaf, "fieldname", None)
        if isinstance(leaf, wq.Term):
            ranges = [(getattr(leaf, "startchar", None), getattr(leaf, "endchar", None))]
        elif isinstance(leaf, wq.Phrase):
            ranges = list(leaf.char_ranges or [])
        else:
            continue
        for start, end in ranges:
            if start is not None and end is not None and name:
                fields.setdefault((start, end), set()).add(name)
    spans = []
    for (start, end), names in sorted(fields.items()):
        words = list(_WORD.finditer(text, start, end))
        if len(words) != 1 or not words[0].group().isalpha():
            continue  # "o'brien", numbers: as typed
        if len(names) > 1:
            context = "free" if names >= set(ranking.FIELD_WEIGHTS) - {"title_exact"} else ""
        else:
            (context,) = names
        if context in ("free", "title", *NAME_FIELDS):
            spans.append(Span(words[0].start(), words[0].end(), context))
    return spans


def _leaves(q: wq.Query) -> Iterator[wq.Query]:
    children = list(q.children())
    if not children:
        yield q
    for child in children:
        yield from _leaves(child)
