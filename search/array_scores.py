"""BM25F with numpy, over each segment's postings arrays (``index.postings``).

The same scores as ``term_scores`` (the same ``ranking`` functions, the same
per-document field factors, the same order of additions), computed a word at
a time over arrays instead of a posting at a time in Python: a word's
postings in each field are two slices of a memory-mapped file, its pseudo
frequency per film is added up in a scratch array, and a query's totals are
one ``bincount`` per segment (``bm25f.ScoredOr``). Used while
``term_scores.arrays_enabled`` (the searcher turns it on; the one-shot CLI
leaves it off on small indexes, where importing numpy costs more than it
saves), and only on segments that have a postings file; everything else
falls back to ``term_scores``. Imported only when enabled.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
from whoosh import query as wq

from ..index import whoosh_compat
from ..index.postings import SegmentPostings, open_postings
from . import ranking, term_scores

#: segment reader -> its postings file (None: it has none)
_POSTINGS: weakref.WeakKeyDictionary[Any, SegmentPostings | None] = weakref.WeakKeyDictionary()
#: segment reader -> {key: an array with one number per document}
_PER_DOCUMENT: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]]
_PER_DOCUMENT = weakref.WeakKeyDictionary()

Scores = tuple[Any, Any]  # (document numbers, each once; their scores): numpy arrays
#: segment reader -> its words' scores, by ``term_scores.word_key`` (kept as term_scores does)
_WORD_CACHE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def segment_postings(reader: Any) -> SegmentPostings | None:
    """The postings arrays of a segment reader, when enabled and the segment has them."""
    if not term_scores.arrays_on():
        return None
    if reader not in _POSTINGS:
        folder = whoosh_compat.segment_folder(reader)
        segment = reader.segment()
        _POSTINGS[reader] = (
            None
            if folder is None or segment is None
            else open_postings(folder, segment.segment_id(), reader.doc_count_all())
        )
    return _POSTINGS[reader]


def factors(reader: Any, field: str, weight: float, b: float, avg_length: float) -> Any:
    """``term_scores.field_factors`` as an array (one float per document)."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    key = ("factor", field, weight, b, avg_length)
    if key not in cache:
        cache[key] = np.asarray(term_scores.field_factors(reader, field, weight, b, avg_length))
    return cache[key]


def live(reader: Any) -> Any:
    """A boolean array: which documents of the segment are not deleted."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    if ("live",) not in cache:
        alive = np.ones(reader.doc_count_all(), dtype=bool)
        if reader.has_deletions():
            alive[np.fromiter(reader.deleted_docs_set, dtype=np.int64)] = False
        cache[("live",)] = alive
    return cache[("live",)]


def word_scores(
    searcher: Any, terms: Sequence[wq.Term], boost: float, scratch: Any
) -> Scores | None:
    """BM25F of one word in several fields over the segment's arrays, as
    ``term_scores.word_scores`` computes it; None where the segment has no arrays
    for one of the fields (then use ``term_scores``).

    ``scratch`` is a zeroed float array, one per document, left zeroed.
    """
    term_scores.check_time()
    reader = searcher.reader()
    postings = segment_postings(reader)
    if postings is None:
        return None
    key = term_scores.word_key(terms, boost)
    cache = _WORD_CACHE.setdefault(reader, term_scores.ScoreCache(term_scores.WORD_CACHE_ENTRIES))
    found: Scores | None = cache.get(key)
    if found is None:
        found = _word_scores(searcher, postings, terms, boost, scratch)
        if found is not None:
            cache.put(key, found, len(found[0]))
    return found


def _word_scores(
    searcher: Any, postings: SegmentPostings, terms: Sequence[wq.Term], boost: float, scratch: Any
) -> Scores | None:
    reader = searcher.reader()
    idf_value = term_scores.word_idf(searcher, terms)
    if idf_value is None:
        return _EMPTY
    parent = searcher.get_parent()
    found = []  # (field, weight, documents, frequencies)
    for term in terms:
        field = term.fieldname
        if field not in searcher.schema or not searcher.schema[field].scorable:
            continue
        text = term.text
        docs_freqs = postings.postings(field, text if isinstance(text, bytes) else text.encode())
        if docs_freqs is None:
            return None
        if len(docs_freqs[0]):
            found.append((field, term.boost, *docs_freqs))
    if not found:
        return _EMPTY
    for field, weight, docs, freqs in found:  # tf~: each film's fields in field order
        avg_length = parent.avg_field_length(field) or 1.0
        per_doc = factors(reader, field, weight, ranking.field_b(field), avg_length)
        scratch[docs] += freqs * per_doc[docs]
    if len(found) == 1:
        docs = found[0][2]
    elif sum(len(f[2]) for f in found) * DENSE_SHARE > len(scratch):  # many: one pass, no sort
        docs = np.flatnonzero(scratch)
    else:
        docs = np.unique(np.concatenate([f[2] for f in found]))
    tf = scratch[docs]
    scratch[docs] = 0.0
    scale = idf_value * boost  # ranking.bm25f, times the word's boost
    return docs, scale * ranking.saturate(tf, ranking.K1)


#: A word whose postings number more than 1/DENSE_SHARE of the segment's films finds its
#: films by scanning the scratch array rather than by sorting its postings.
DENSE_SHARE = 16

_EMPTY: Scores = (np.zeros(0, dtype=np.int64), np.zeros(0))


def from_dict(scores: dict[int, float]) -> Scores:
    """Scores kept in a dict (phrases, field clauses), as arrays."""
    docs = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    return docs, values


def scored_docs(totals: Any, hit: Any, reader: Any) -> Any:
    """A ``term_scores.ScoredDocs`` matcher over the films ``hit`` marks (deleted ones
    dropped), scored ``totals``."""
    docs = np.flatnonzero(hit & live(reader))
    if not len(docs):
        from whoosh import matching

        return matching.NullMatcher()
    return term_scores.ArrayScoredDocs(docs, totals[docs])
