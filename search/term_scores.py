"""Term-at-a-time BM25F: score a keyword query's words one posting list at a time.

Walking Whoosh's matcher tree document by document costs several Python calls
per posting and per field, which made a 60-word description take a second.
Here each word's posting lists are read a block at a time, its BM25F pseudo
frequency is accumulated in a dict, and the word's score is added to the
film's total: ``ranking.bm25f`` (its ``pseudo_tf`` and ``saturate``), a few
times fewer steps. Clauses aimed at one field are scored by ``FieldBM25``, the
searcher's Whoosh weighting model: the same functions with that field alone.

Each segment's per-field length normalisation is computed once and cached
while the segment's reader lives.

Every loop here that reads postings checks the search's time budget
(``time_budget``, ``check_time``): when it runs out, ``SearchTimeout`` is
raised, caught by the query node being scored (``bm25f``), which keeps what
was scored so far, and the search's results are flagged partial.
``ExpandedTerms`` bounds what a wildcard, prefix or term range costs.
"""

from __future__ import annotations

import bisect
import re
import time
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from whoosh import matching, scoring
from whoosh import query as wq
from whoosh.query.ranges import TermRange
from whoosh.query.terms import MultiTerm, PatternQuery
from whoosh.query.wrappers import WrappingQuery
from whoosh.util.numeric import byte_to_length

from ..index import whoosh_compat
from ..index.whoosh_compat import posting_blocks
from . import ranking

#: Most (film, score) entries kept in each segment's cache of word scores.
WORD_CACHE_ENTRIES = 1_000_000
#: Most index words a wildcard, prefix or term range stands for in one field of a
#: segment; beyond it the shortest are kept (the closest to what was typed, and
#: mostly the commonest) and the results are flagged partial.
MAX_EXPANSIONS = 50


class SearchTimeout(Exception):
    """The search's time budget ran out; the query nodes catch it and keep what they have."""


@dataclass
class Budget:
    """One search's deadline (``time.monotonic``; None: none) and what was left out."""

    deadline: float | None = None
    #: The seconds given (None: no limit).
    seconds: float | None = None
    #: The deadline passed and some work was skipped.
    timed_out: bool = False
    #: A wildcard, prefix or range was cut to MAX_EXPANSIONS words.
    cut: bool = False

    @property
    def partial(self) -> bool:
        return self.timed_out or self.cut

    def overdue(self, grace: float = 0.0) -> bool:
        """Whether the deadline passed more than ``grace`` seconds ago."""
        return self.deadline is not None and time.monotonic() >= self.deadline + grace

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a deadline."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())


_BUDGET: ContextVar[Budget | None] = ContextVar("filmsearch_budget", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[Budget]:
    """Give the search run inside (this thread or task) ``seconds`` of wall time."""
    budget = Budget(None if seconds is None else time.monotonic() + seconds, seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def check_time() -> None:
    """Raise SearchTimeout (and mark the search timed out) once its deadline has passed."""
    budget = _BUDGET.get()
    if budget is not None and budget.overdue():
        budget.timed_out = True
        raise SearchTimeout


_ARRAYS: ContextVar[bool] = ContextVar("filmsearch_arrays", default=False)


@contextmanager
def arrays_enabled(enabled: bool = True) -> Iterator[None]:
    """Inside this block, keyword queries are scored with numpy over the segments'
    postings arrays where they have them (``array_scores``)."""
    token = _ARRAYS.set(enabled)
    try:
        yield
    finally:
        _ARRAYS.reset(token)


def arrays_on() -> bool:
    """Whether ``arrays_enabled`` is in force."""
    return _ARRAYS.get()


def note_cut() -> None:
    """Record that an expansion was cut to MAX_EXPANSIONS words."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.cut = True


#: segment reader -> {key: one number per document}
_PER_DOCUMENT: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], list[float]]]
_PER_DOCUMENT = weakref.WeakKeyDictionary()


def field_factors(
    reader: Any, field: str, weight: float, b: float, avg_length: float
) -> list[float]:
    """``ranking.field_factor`` of ``field`` for every document of a segment, so that a
    posting's ``ranking.pseudo_tf`` is ``freq * factors[doc]``."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    key = ("factor", field, weight, b, avg_length)
    if key not in cache:
        factor = ranking.field_factor
        lengths = whoosh_compat.length_bytes(reader, field)
        if lengths is not None:  # one factor per length byte, then one look-up per document
            table = [
                factor(byte_to_length(byte) or 1 if byte else 1, avg_length, weight, b)
                for byte in range(256)
            ]
            cache[key] = [table[byte] for byte in lengths]
        else:
            length = reader.doc_field_length
            cache[key] = [
                factor(length(doc, field, 1) or 1, avg_length, weight, b)
                for doc in range(reader.doc_count_all())
            ]
    return cache[key]


def total_lengths(reader: Any, fields: Sequence[str]) -> list[float]:
    """The summed length of ``fields`` for every document of a segment."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    key = ("length", *fields)
    if key not in cache:
        length = reader.doc_field_length
        cache[key] = [
            sum(length(doc, field, 0) or 0 for field in fields)
            for doc in range(reader.doc_count_all())
        ]
    return cache[key]


class ScoreCache:
    """Least recently used word scores (a dict, or arrays of ``array_scores``), bounded by
    their total number of films."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self.items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()

    def get(self, key: Any) -> Any:
        found = self.items.get(key)
        if found is None:
            return None
        with suppress(KeyError):  # evicted by another thread's search meanwhile
            self.items.move_to_end(key)
        return found[0]

    def put(self, key: Any, scores: Any, size: int | None = None) -> None:
        """Keep ``scores`` of ``size`` films (default: ``len(scores)``)."""
        size = len(scores) if size is None else size
        if size > self.capacity // 4:
            return  # a word in most films: cheap to recompute next to what it would evict
        old = self.items.get(key)
        self.items[key] = (scores, size)
        self.size += size - (old[1] if old is not None else 0)
        while self.size > self.capacity and self.items:  # threads may race: never raise
            try:
                _, (_, evicted) = self.items.popitem(last=False)
            except KeyError:
                break
            self.size -= evicted


_WORD_CACHE: weakref.WeakKeyDictionary[Any, ScoreCache] = weakref.WeakKeyDictionary()


def word_scores(searcher: Any, terms: Sequence[wq.Term], boost: float = 1.0) -> dict[int, float]:
    """BM25F scores, by segment document number, of one word searched in several fields.

    Each term's boost is its field's weight; see ``ranking`` for the formula.
    Results are kept per segment (``WORD_CACHE_ENTRIES``): common words recur
    from query to query. The returned dict must not be changed.
    """
    check_time()
    reader = searcher.reader()
    key = word_key(terms, boost)
    cache = _WORD_CACHE.setdefault(reader, ScoreCache(WORD_CACHE_ENTRIES))
    scores: dict[int, float] | None = cache.get(key)
    if scores is None:
        scores = _word_scores(searcher, terms, boost)
        cache.put(key, scores)
    return scores


def word_key(terms: Sequence[wq.Term], boost: float) -> tuple[Any, ...]:
    """What a word's scores depend on besides the segment: its fields, weights and boost."""
    return (
        ranking.K1,
        boost,
        tuple((t.fieldname, t.text, t.boost, ranking.field_b(t.fieldname)) for t in terms),
    )


#: reader -> {(field, word): the number of films with the word in the field}
_DOC_FREQUENCIES: weakref.WeakKeyDictionary[Any, dict[tuple[str, Any], int]]
_DOC_FREQUENCIES = weakref.WeakKeyDictionary()
#: Most document frequencies remembered per reader (then it starts again).
DOC_FREQUENCIES_KEPT = 200_000


def _frequencies_of(reader: Any) -> dict[tuple[str, Any], int]:
    """The remembered document frequencies of ``reader``'s index (the last reader asked
    about answered without the weak dictionary: a search asks a few hundred times)."""
    global _LAST_FREQUENCIES
    last = _LAST_FREQUENCIES  # one read: another thread may replace it
    if last is not None and last[0]() is reader:
        return last[1]
    cache = _DOC_FREQUENCIES.setdefault(reader, {})
    _LAST_FREQUENCIES = (weakref.ref(reader), cache)
    return cache


_LAST_FREQUENCIES: tuple[weakref.ref[Any], dict[tuple[str, Any], int]] | None = None


def doc_frequency(reader: Any, field: str, text: str | bytes) -> int:
    """``reader.doc_frequency(field, text)``, remembered while the reader lives: a
    description's words are looked up when it is pruned, when names are told from
    words and when idf is computed, and each look-up walks every segment's term file
    (unless the postings arrays are on: then ``doc_frequencies`` finds it)."""
    cache = _frequencies_of(reader)
    key = (field, text)
    found = cache.get(key)
    if found is None and isinstance(text, str):
        doc_frequencies(reader, [(field, text)])
        found = cache.get(key)
    if found is None:
        if len(cache) >= DOC_FREQUENCIES_KEPT:
            cache.clear()
        found = cache[key] = int(reader.doc_frequency(field, text))
    return found


def doc_frequencies(reader: Any, keys: Iterable[tuple[str, str]]) -> None:
    """Look up the document frequencies of many (field, word) pairs at once, for
    ``doc_frequency`` to answer from memory: with the postings arrays on, the words
    of every segment are found with one sorted search per field (``array_scores``)
    instead of a walk of each segment's term file per word."""
    if not arrays_on():
        return
    cache = _frequencies_of(reader)
    missing = [key for key in dict.fromkeys(keys) if key not in cache]
    if not missing:
        return
    from . import array_scores  # imports numpy

    found = array_scores.doc_frequencies(reader, missing)
    if len(cache) + len(found) > DOC_FREQUENCIES_KEPT:
        cache.clear()
    cache.update(found)


def word_idf(searcher: Any, terms: Sequence[wq.Term]) -> float | None:
    """The word's idf over the whole index (its df: the largest per-field df); None if absent."""
    parent = searcher.get_parent().reader()
    doc_freq = max((doc_frequency(parent, t.fieldname, t.text) for t in terms), default=0)
    return ranking.idf(doc_freq, parent.doc_count_all()) if doc_freq else None


def field_idf(searcher: Any, field: str, text: str | bytes) -> float:
    """``ranking.idf`` of a word in one field, over the whole index."""
    parent = searcher.get_parent().reader()
    return ranking.idf(doc_frequency(parent, field, text), parent.doc_count_all())


def _word_scores(searcher: Any, terms: Sequence[wq.Term], boost: float) -> dict[int, float]:
    idf_value = word_idf(searcher, terms)
    if idf_value is None:
        return {}
    parent = searcher.get_parent()
    reader = searcher.reader()
    pseudo_tf: defaultdict[int, float] = defaultdict(float)
    for term in terms:
        field = term.fieldname
        if field not in searcher.schema or not searcher.schema[field].scorable:
            continue
        factors = field_factors(
            reader, field, term.boost, ranking.field_b(field), parent.avg_field_length(field) or 1.0
        )
        for ids, freqs in posting_blocks(reader, field, term.text):
            check_time()
            for doc, freq in zip(ids, freqs, strict=True):
                pseudo_tf[doc] += freq * factors[doc]
    k1, saturate = ranking.K1, ranking.saturate
    scale = idf_value * boost  # ranking.bm25f, times the word's boost
    return {doc: scale * saturate(tf, k1) for doc, tf in pseudo_tf.items()}


def matcher_scores(q: wq.Query, searcher: Any, context: Any) -> dict[int, float]:
    """Scores of any query, read from its matcher document by document."""
    check_time()
    matcher = q.matcher(searcher, context)
    scores = {}
    while matcher.is_active():
        scores[matcher.id()] = matcher.score()
        matcher.next()
        if len(scores) % 256 == 0:
            check_time()
    return scores


def baseline_word_scores(searcher: Any, terms: Sequence[wq.Term]) -> dict[int, float]:
    """Plain BM25 of one word over the terms' fields read as one text (``ranking.bm25``).

    Frequencies and lengths are summed over the fields; df is approximated by
    the largest per-field df.
    """
    idf_value = word_idf(searcher, terms)
    if idf_value is None:
        return {}
    parent = searcher.get_parent()
    reader = searcher.reader()
    tf: defaultdict[int, float] = defaultdict(float)
    for term in terms:
        for ids, freqs in posting_blocks(reader, term.fieldname, term.text):
            check_time()
            for doc, freq in zip(ids, freqs, strict=True):
                tf[doc] += freq
    fields = ranking.BASELINE_FIELDS
    avg_length = sum(parent.avg_field_length(f) or 0.0 for f in fields) or 1.0
    lengths = total_lengths(reader, fields)
    return {
        doc: ranking.bm25(idf_value, freq, lengths[doc], avg_length) for doc, freq in tf.items()
    }


class ScoredDocs(matching.Matcher):
    """A matcher over documents whose scores are already known.

    Whoosh's ListMatcher recomputes the largest score each time the collector
    asks for it, which made long result lists quadratic; and its position is
    private to it, so this matcher keeps its own.
    """

    def __init__(self, ids: list[int], scores: list[float], position: int = 0) -> None:
        self._docs = ids
        self._scores = scores
        self._at = position
        self._max_score: float = max(scores)

    def __repr__(self) -> str:
        return f"<ScoredDocs {len(self._docs)} films>"

    def is_active(self) -> bool:
        return self._at < len(self._docs)

    def reset(self) -> None:
        self._at = 0

    def id(self) -> int:
        return self._docs[self._at]

    def next(self) -> None:
        self._at += 1

    def skip_to(self, id: int) -> None:
        if not self.is_active():
            raise matching.ReadTooFar
        self._at = bisect.bisect_left(self._docs, id, self._at)

    def score(self) -> float:
        return self._scores[self._at]

    def weight(self) -> float:
        return self._scores[self._at]

    def value(self) -> str:
        return ""

    def supports(self, astype: str) -> bool:
        return False

    def value_as(self, astype: str) -> Any:
        raise NotImplementedError(f"ScoredDocs holds scores, not {astype}")

    def all_ids(self) -> Iterator[int]:
        return iter(self._docs)

    def copy(self) -> ScoredDocs:
        return ScoredDocs(self._docs, self._scores, self._at)

    def replace(self, minquality: float = 0) -> Any:
        if not self.is_active() or (minquality and self._max_score < minquality):
            return matching.NullMatcher()
        return self

    def max_quality(self) -> float:
        return self._max_score

    def block_max_weight(self) -> float:
        return self._max_score

    def block_quality(self) -> float:
        return self._max_score

    def scored(self) -> Iterator[tuple[int, float]]:
        """Every (document number, score) pair, in document order."""
        return zip(self._docs, self._scores, strict=True)


def scored_docs(scores: dict[int, float], reader: Any) -> Any:
    """A matcher over the scored documents of a segment that are not deleted."""
    ids = sorted(scores)
    if reader.has_deletions():  # posting_blocks includes deleted films
        ids = [doc for doc in ids if not reader.is_deleted(doc)]
    if not ids:
        return matching.NullMatcher()
    return ScoredDocs(ids, [scores[doc] for doc in ids])


class ArrayScoredDocs(ScoredDocs):
    """ScoredDocs over numpy arrays (``array_scores``): the lists Whoosh's matcher calls
    need are made only if it is walked; ``scored_matches`` takes the arrays."""

    def __init__(self, docs: Any, scores: Any) -> None:
        self.docs_array, self.scores_array = docs, scores
        self._at = 0
        self._max_score = float(scores.max())
        self._lists: tuple[list[int], list[float]] | None = None

    @property
    def _docs(self) -> list[int]:
        return self._as_lists()[0]

    @_docs.setter
    def _docs(self, docs: list[int]) -> None:
        self._lists = (docs, self._as_lists()[1])

    @property
    def _scores(self) -> list[float]:
        return self._as_lists()[1]

    @_scores.setter
    def _scores(self, scores: list[float]) -> None:
        self._lists = (self._as_lists()[0], scores)

    def _as_lists(self) -> tuple[list[int], list[float]]:
        if self._lists is None:
            self._lists = (self.docs_array.tolist(), self.scores_array.tolist())
        return self._lists


def scored_matches(q: wq.Query, searcher: Any) -> list[tuple[int, float]] | tuple[Any, Any] | None:
    """Every (document number, score) of ``q`` when its matchers are ScoredDocs on every
    segment (keyword queries: no collector needed, which would visit every match again),
    else None. When every segment scored with arrays, (document numbers, scores) arrays."""
    context = searcher.context()
    whole = getattr(q, "index_arrays", None)  # bm25f.ScoredOr: the whole index at once
    if whole is not None and arrays_on():
        scored: tuple[Any, Any] | None = whole(searcher, context)
        if scored is not None:
            return scored
    found: list[tuple[int, float]] = []
    arrays: list[tuple[Any, Any]] = []
    for leaf, offset in searcher.leaf_searchers():
        matcher = q.matcher(leaf, context)
        if not matcher.is_active():
            continue
        if isinstance(matcher, ArrayScoredDocs):
            arrays.append((matcher.docs_array + offset, matcher.scores_array))
        elif isinstance(matcher, ScoredDocs):
            found.extend((doc + offset, score) for doc, score in matcher.scored())
        else:
            return None
    if arrays and not found:
        import numpy as np

        if len(arrays) == 1:
            return arrays[0]
        return np.concatenate([a for a, _ in arrays]), np.concatenate([b for _, b in arrays])
    for docs, scores in arrays:
        found.extend(zip(docs.tolist(), scores.tolist(), strict=True))
    return found


#: segment reader -> {repr of a query: the documents it matches}
_QUERY_DOCS: weakref.WeakKeyDictionary[Any, dict[str, list[int]]] = weakref.WeakKeyDictionary()
#: Most queries whose documents are remembered per segment (then it starts again).
QUERY_DOCS_KEPT = 256


def query_docs(q: wq.Query, searcher: Any, context: Any) -> list[int]:
    """The segment's documents ``q`` matches (a year range, a genre: the hints of a
    query), remembered while the segment's reader lives: hints recur from query to query."""
    cache = _QUERY_DOCS.setdefault(searcher.reader(), {})
    key = repr(q)
    found = cache.get(key)
    if found is None:
        if len(cache) >= QUERY_DOCS_KEPT:
            cache.clear()
        found = cache[key] = list(q.matcher(searcher, context).all_ids())
    return found


#: segment reader -> {field: its words, sorted}
_LEXICONS: weakref.WeakKeyDictionary[Any, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def field_lexicon(reader: Any, field: str) -> list[str]:
    """Every word of ``field`` in a segment, sorted.

    Read once per segment reader, from its postings file where it has one (else
    Whoosh's term file: some 50 ms for a 15,000-word field), and kept while it
    lives, so that wildcards and typos do not walk the index's term files each time.
    """
    cache = _LEXICONS.setdefault(reader, {})
    if field not in cache:
        from . import array_scores  # imports numpy: 0.1 s, against seconds for typos' lexicons

        from_bytes = reader.schema[field].from_bytes
        filed = array_scores.segment_words(reader, field)  # the postings file's words
        if filed is not None:
            cache[field] = [from_bytes(btext) for btext in filed]
            return cache[field]
        words = []
        for number, btext in enumerate(reader.lexicon(field)):
            if number % 4096 == 0:
                check_time()  # a lexicon read in part is not kept
            words.append(from_bytes(btext))
        cache[field] = words
    return cache[field]


def _candidates(q: MultiTerm, words: list[str], reader: Any) -> Iterator[int]:
    """Positions in ``words`` (the segment's sorted lexicon) of the words ``q`` stands for."""
    if isinstance(q, wq.Prefix):
        yield from _prefixed(words, q.text, None)
        return
    parts = whoosh_compat.pattern_parts(q) if isinstance(q, PatternQuery) else None
    if parts is not None:  # Wildcard, Regex: as whoosh expands them, on the list
        yield from _prefixed(words, *parts)
    elif isinstance(q, TermRange):
        low = bisect.bisect_left(words, q.start) if q.start else 0
        high = bisect.bisect_right(words, q.end) if q.end is not None else len(words)
        for position in range(low, high):
            if position % 2048 == 0:
                check_time()
            if (q.startexcl and words[position] == q.start) or (
                q.endexcl and words[position] == q.end
            ):
                continue
            yield position
    else:  # fuzzy terms, variations (patterns without FAST_PATTERNS): whoosh finds the words
        positions = set()
        for number, (_, btext) in enumerate(q.expanded_terms(reader)):
            if number % 2048 == 0:
                check_time()
            word = btext.decode("utf-8") if isinstance(btext, bytes) else str(btext)
            position = bisect.bisect_left(words, word)
            if position < len(words) and words[position] == word:
                positions.add(position)
        yield from sorted(positions)


def _prefixed(words: list[str], prefix: str, pattern: re.Pattern[str] | None) -> Iterator[int]:
    """Positions in ``words`` (sorted) of the words with ``prefix`` that ``pattern`` matches."""
    for position in range(bisect.bisect_left(words, prefix), len(words)):
        word = words[position]
        if not word.startswith(prefix):
            return
        if position % 2048 == 0:
            check_time()
        if pattern is None or pattern.match(word):
            yield position


def expand(q: MultiTerm, reader: Any) -> list[str]:
    """The segment's words ``q`` stands for: at most MAX_EXPANSIONS, the shortest
    (closest to what was typed; ties in alphabetical order)."""
    field = q.field()
    if not field or field not in reader.schema or not reader.schema[field].indexed:
        return []
    words = field_lexicon(reader, field)
    found = list(_candidates(q, words, reader))
    if len(found) > MAX_EXPANSIONS:
        note_cut()
        found = sorted(found, key=lambda position: (len(words[position]), position))
        found = sorted(found[:MAX_EXPANSIONS])
    return [words[position] for position in found]


#: segment reader -> {field: the documents with a word in it}
_FIELD_FILMS: weakref.WeakKeyDictionary[Any, dict[str, list[int]]] = weakref.WeakKeyDictionary()


def films_with_field(reader: Any, field: str) -> list[int]:
    """The segment's documents with at least one word in ``field`` (deleted ones included).

    Read from the stored field lengths when the field has them (whoosh's
    ``Every(field)`` reads the postings of every word in the field: 45 s for
    ``*`` on 6,802 films), else from every word's postings. Kept per segment.
    """
    cache = _FIELD_FILMS.setdefault(reader, {})
    if field not in cache:
        if reader.schema[field].scorable:
            length = reader.doc_field_length
            docs = [doc for doc in range(reader.doc_count_all()) if length(doc, field, 0)]
        else:
            found: set[int] = set()
            for word in field_lexicon(reader, field):
                check_time()  # a set read in part is not kept
                for ids, _ in posting_blocks(reader, field, word):
                    found.update(ids)
            docs = sorted(found)
        cache[field] = docs
    return cache[field]


def _unit_factors(searcher: Any, field: str) -> list[float]:
    """``field_factors`` of a clause aimed at ``field`` alone (weight 1)."""
    avg_length = searcher.get_parent().avg_field_length(field) or 1.0
    return field_factors(searcher.reader(), field, 1.0, ranking.field_b(field), avg_length)


class FieldBM25(scoring.WeightingModel):
    """The searcher's Whoosh weighting model: a clause aimed at one field (a term, each
    word of a phrase, a wildcard's words) is scored ``ranking.bm25f`` of that field
    alone, with weight 1 and the field's ``ranking.field_b``; ``ranking.idf`` everywhere.
    Fields without lengths (ids, years) score their frequency, as Whoosh's BM25F does."""

    def idf(self, searcher: Any, fieldname: str, text: str) -> float:
        return field_idf(searcher, fieldname, text)

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher: Any, fieldname: str, text: str, qf: int = 1) -> scoring.BaseScorer:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return FieldScorer(searcher, fieldname, text)


class FieldScorer(scoring.BaseScorer):
    """``ranking.bm25f`` of one word in one field (``FieldBM25``), document by document."""

    def __init__(self, searcher: Any, fieldname: str, text: str) -> None:
        parent = searcher.get_parent()
        self.idf: float = parent.idf(fieldname, text)  # the searcher caches FieldBM25.idf
        self.factors = _unit_factors(searcher, fieldname)
        self.avg_length: float = parent.avg_field_length(fieldname) or 1.0
        self.b = ranking.field_b(fieldname)
        info = searcher.term_info(fieldname, text)
        self._max_quality = self._bound(info.max_weight(), info.min_length())

    def _bound(self, weight: float, min_length: float) -> float:
        """The largest score of a frequency ``weight`` in a field at least ``min_length`` long
        (as Whoosh's BM25F bounds its blocks)."""
        factor = ranking.field_factor(min_length or 1, self.avg_length, 1.0, self.b)
        return self.idf * ranking.saturate(weight * factor, ranking.K1)

    def score(self, matcher: Any) -> float:
        tf = matcher.weight() * self.factors[matcher.id()]
        return self.idf * ranking.saturate(tf, ranking.K1)

    def supports_block_quality(self) -> bool:
        return True

    def max_quality(self) -> float:
        return self._max_quality

    def block_quality(self, matcher: Any) -> float:
        return self._bound(matcher.block_max_weight(), matcher.block_min_length())


def expansion_scores(q: MultiTerm, searcher: Any) -> dict[int, float]:
    """The scores whoosh's matcher would give ``q`` with ``FieldBM25`` (each word it stands
    for scored alone, times its boost, added up), over at most MAX_EXPANSIONS words; what
    was scored if time runs out.

    ``Prefix(field, "")`` (``field:*``) stands for every film with a word in the
    field, each scored its boost, as whoosh's ``Every(field)``.
    """
    reader = searcher.reader()
    scores: defaultdict[int, float] = defaultdict(float)
    try:
        check_time()
        field = q.field()
        if not field or field not in reader.schema:
            return {}
        if isinstance(q, wq.Prefix) and not q.text:
            return dict.fromkeys(films_with_field(reader, field), float(q.boost))
        words = expand(q, reader)
        if not words:
            return {}
        boost = float(getattr(q, "boost", 1.0))
        if not reader.schema[field].scorable:  # scored by frequency alone, as FieldBM25 does
            for word in words:
                for ids, freqs in posting_blocks(reader, field, word):
                    check_time()
                    for doc, freq in zip(ids, freqs, strict=True):
                        scores[doc] += boost * freq
            return scores
        for word in words:  # each word: ranking.bm25f of this field alone, weight 1 (cached)
            for doc, score in word_scores(searcher, [wq.Term(field, word)], boost).items():
                scores[doc] += score
    except SearchTimeout:
        pass  # keep what was scored; the search is marked partial
    return scores


class ExpandedTerms(WrappingQuery):
    """A wildcard, prefix or term range (``child``) whose expansion is bounded.

    Whoosh ORs together a matcher for every index word such a query stands for
    (``*a*`` is tens of thousands) and walks them document by document; this
    reads the postings of at most MAX_EXPANSIONS words per field a block at a
    time, within the search's time budget, and scores them as whoosh would.
    """

    def __str__(self) -> str:
        return str(self.child)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.child == other.child

    def __hash__(self) -> int:
        return super().__hash__()

    def estimate_size(self, ixreader: Any) -> int:
        return int(ixreader.doc_count_all())  # never expand just to estimate

    def estimate_min_size(self, ixreader: Any) -> int:
        return 0

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        if not isinstance(self.child, MultiTerm):  # query.bound_query wraps only these
            return self.child.matcher(searcher, context)
        return scored_docs(expansion_scores(self.child, searcher), searcher.reader())


class Scored(WrappingQuery):
    """A query (a phrase) read at once within the search's time budget.

    Whoosh reads a phrase lazily, skipping every film that has the words but
    not in order inside one step of the collector, which cannot stop it; read
    here, a phrase starts only while there is time left, and the films it
    matched are scored as whoosh would.
    """

    def __str__(self) -> str:
        return str(self.child)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.child == other.child

    def __hash__(self) -> int:
        return super().__hash__()

    def matcher(self, searcher: Any, context: Any = None) -> Any:
        try:
            scores = matcher_scores(self.child, searcher, context)
        except SearchTimeout:
            scores = {}
        return scored_docs(scores, searcher.reader())
