"""BM25F with numpy, over each segment's postings arrays (``index.postings``).

The same scores as ``term_scores`` (the same ``ranking`` functions, the same
per-document field factors, the same order of additions), computed over
arrays instead of a posting at a time in Python: a word's postings in each
field are two slices of a memory-mapped file; the words of a query not kept
from earlier queries are scored together, each with a row of a scratch array
where its pseudo frequency per film is added up (``_batch_scores``); a
keyword query's totals over the whole index are one ``bincount``
(``bm25f.ScoredOr.index_arrays``). Used while ``term_scores.arrays_enabled``
(the searcher turns it on; the one-shot CLI leaves it off on small indexes,
where importing numpy costs more than it saves), and only on segments that
have a postings file; everything else falls back to ``term_scores``. Also
gives the hint films (genres, year ranges) and a field's words (typo
correction, wildcards) without Whoosh's matchers and term files. Imported
only when one of these is needed.
"""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from whoosh import query as wq
from whoosh.fields import NUMERIC

from ..index import whoosh_compat
from ..index.postings import FieldPostings, SegmentPostings, open_postings, word_hash
from . import memo, ranking, term_scores

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
    return _postings_file(reader)


def _postings_file(reader: Any) -> SegmentPostings | None:
    if reader not in _POSTINGS:
        folder = whoosh_compat.segment_folder(reader)
        segment = reader.segment()
        _POSTINGS[reader] = (
            None
            if folder is None or segment is None
            else open_postings(folder, segment.segment_id(), reader.doc_count_all())
        )
    return _POSTINGS[reader]


def doc_frequencies(reader: Any, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The number of films of the index (``reader``: all its segments) with each
    (field, word) of ``keys``, as ``reader.doc_frequency`` counts them (removed films
    too), read from the postings files; fields some segment has no table for are
    left out (``term_scores.doc_frequency`` asks Whoosh for those)."""
    segments = [segment_postings(leaf) for leaf, _ in reader.leaf_readers()]
    if any(postings is None for postings in segments):
        return {}
    by_field: dict[str, list[str]] = {}
    for field, text in keys:
        by_field.setdefault(field, []).append(text)
    found: dict[tuple[str, str], int] = {}
    for field, texts in by_field.items():
        tables = [postings.fields.get(field) for postings in segments if postings is not None]
        if any(table is None for table in tables):
            continue
        words = [text.encode() for text in texts]
        totals = [0] * len(words)
        for table in tables:
            if table is not None:
                for number, (_, count) in enumerate(_places(table, words)):
                    totals[number] += count
        found.update(zip(((field, text) for text in texts), totals, strict=True))
    return found


def _places(table: FieldPostings, words: list[bytes]) -> list[tuple[int, int]]:
    """Where each word's postings are in one field of a segment: (first posting,
    postings), (0, 0) where the field lacks the word. A table of at most
    ``WHOLE_TABLE_WORDS`` words is read into a dict at its first look-up (a query's
    new words then cost a dict look-up each, not a sorted search per field and
    segment); a larger one remembers the places it was asked for (a new word's
    document frequencies and its scores ask for the same), and finds the words not
    seen before with one sorted search."""
    whole = _WHOLE_TABLES.get(table)
    if whole is None and len(table.hashes) <= WHOLE_TABLE_WORDS and _room_for(table):
        whole = _WHOLE_TABLES.setdefault(table, _whole_table(table))
    if whole is not None:
        return [whole.get(word, _ABSENT) for word in words]
    known = _PLACES.get(table)
    if known is None:
        known = _PLACES.setdefault(table, {})
    # read once: another thread may clear the cache in between
    places = {word: known.get(word) for word in words}
    missing = [word for word, place in places.items() if place is None]
    if missing:
        found = dict(zip(missing, _found_places(table, missing), strict=True))
        if len(known) + len(found) > PLACES_KEPT:
            known.clear()
        known.update(found)
        places.update(found)
    return [places[word] for word in words]  # type: ignore[misc]  # none left None


def _room_for(table: FieldPostings) -> bool:
    """Whether the tables read whole, with this one, stay within WHOLE_TABLES_WORDS."""
    held = sum(len(places) for places in list(_WHOLE_TABLES.values()))
    return held + len(table.hashes) <= WHOLE_TABLES_WORDS


def _whole_table(table: FieldPostings) -> dict[bytes, tuple[int, int]]:
    """Every word of a table, with its place."""
    ends = table.word_ends.tolist()
    blob = bytes(table.buffer[table.words_at : table.words_at + (ends[-1] if ends else 0)])
    words = (blob[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True))
    places = zip(table.starts.tolist(), table.counts.tolist(), strict=True)
    return dict(zip(words, places, strict=True))


def _found_places(table: FieldPostings, words: list[bytes]) -> list[tuple[int, int]]:
    """``_places`` read from the table: one sorted search for all the words, and their
    entries read as arrays (``FieldPostings.find`` reads one at a time)."""
    filed = len(table.hashes)
    if not filed or not words:
        return [(0, 0)] * len(words)
    hashes = np.fromiter(map(_hash, words), dtype=np.uint64, count=len(words))
    at = table.hashes.searchsorted(hashes)
    inside = np.minimum(at, filed - 1)
    same = (table.hashes[inside] == hashes).tolist()
    ends = table.word_ends[inside].tolist()
    begins = np.where(inside > 0, table.word_ends[inside - 1], 0).tolist()
    starts, counts = table.starts[inside].tolist(), table.counts[inside].tolist()
    buffer, first = table.buffer, table.words_at
    places = []
    for number, word in enumerate(words):
        if not same[number]:
            places.append((0, 0))
        elif buffer[first + begins[number] : first + ends[number]] == word:
            places.append((starts[number], counts[number]))
        else:  # another word with the same hash first: look further
            found = table.find_at(word, int(hashes[number]), int(at[number]))
            places.append(found or (0, 0))
    return places


#: A word's hash, remembered (a query's words are looked up in every field and segment).
_hash = functools.lru_cache(maxsize=1 << 16)(word_hash)
#: field table of a segment -> {word: its place}, for ``_places``
_PLACES: weakref.WeakKeyDictionary[FieldPostings, dict[bytes, tuple[int, int]]]
_PLACES = weakref.WeakKeyDictionary()
#: Most places remembered per table (then it starts again).
PLACES_KEPT = 100_000
#: field table of a segment -> all its words' places, for tables of at most
#: WHOLE_TABLE_WORDS words (a few MB for the 6,802 films; larger tables are searched)
_WHOLE_TABLES: weakref.WeakKeyDictionary[FieldPostings, dict[bytes, tuple[int, int]]]
_WHOLE_TABLES = weakref.WeakKeyDictionary()
WHOLE_TABLE_WORDS = 1 << 16
#: Most words of all the tables read whole (about 150 bytes each).
WHOLE_TABLES_WORDS = 1 << 19
_ABSENT = (0, 0)


def share_a_film(reader: Any, field: str, words: Sequence[str]) -> bool | None:
    """Whether some document of a segment (deleted ones too) has every word of ``words``
    in ``field``; None where the segment has no postings arrays for the field."""
    postings = segment_postings(reader)
    table = None if postings is None else postings.fields.get(field)
    if postings is None or table is None:
        return None
    shared = None
    for start, count in _places(table, [word.encode() for word in words]):
        if not count:
            return False
        docs = postings.docs[start : start + count]
        shared = docs if shared is None else np.intersect1d(shared, docs, assume_unique=True)
        if not len(shared):
            return False
    return True


def segment_words(reader: Any, field: str) -> list[bytes] | None:
    """Every word of ``field`` in a segment, sorted, from its postings file (None where
    the segment has none, or no table for the field): Whoosh's term file is walked a
    word at a time."""
    postings = _postings_file(reader)
    table = None if postings is None else postings.fields.get(field)
    if table is None:
        return None
    ends = table.word_ends.tolist()
    blob = bytes(table.buffer[table.words_at : table.words_at + (ends[-1] if ends else 0)])
    return sorted(blob[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True))


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


#: A word's field terms, its boost and its ``term_scores.word_key``
Clause = tuple[Sequence[wq.Term], float, Any]


def word_scores(searcher: Any, terms: Sequence[wq.Term], boost: float) -> Scores | None:
    """BM25F of one word in several fields over the segment's arrays, as
    ``term_scores.word_scores`` computes it; None where the segment has no arrays
    for one of the fields (then use ``term_scores``)."""
    return words_scores(searcher, [(terms, boost, term_scores.word_key(terms, boost))])[0]


def words_scores(searcher: Any, clauses: Sequence[Clause]) -> list[Scores | None]:
    """``word_scores`` of several words of a segment, those not kept from earlier queries
    computed together (``_batch_scores``)."""
    term_scores.check_time()
    reader = searcher.reader()
    postings = segment_postings(reader)
    if postings is None:
        return [None] * len(clauses)
    cache = _WORD_CACHE.setdefault(reader, term_scores.ScoreCache(term_scores.WORD_CACHE_ENTRIES))
    keys = [key for _, _, key in clauses]
    found: list[Scores | None] = [cache.get(key) for key in keys]
    missing = [number for number, scores in enumerate(found) if scores is None]
    if missing:
        computed = _batch_scores(
            searcher, [Piece(reader, postings, 0)], [clauses[number] for number in missing]
        )
        for number, scores in zip(missing, computed, strict=True):
            found[number] = scores
            if scores is not None:
                cache.put(keys[number], scores, len(scores[0]))
    return found


class Piece(NamedTuple):
    """A segment scored in a batch: its reader, its postings arrays, and the number its
    first document has in the batch's scores (segments laid end to end)."""

    reader: Any
    postings: SegmentPostings
    offset: int


def _batch_scores(
    searcher: Any, pieces: Sequence[Piece], clauses: Sequence[Clause], whole: bool = False
) -> list[Scores | None]:
    """BM25F of each word (``ranking``) over the segments ``pieces`` (``searcher``: a
    searcher of their index; ``whole``: they are all its segments): each word's postings
    in each of its fields add ``frequency * field factor`` to its row of a scratch array
    (words x films), a field at a time in the word's field order, as ``term_scores`` adds
    them; then every row is saturated and scaled by the word's idf and boost at once.
    None for a word some segment has no arrays for (then ``term_scores`` scores it)."""
    size = sum(piece.reader.doc_count_all() for piece in pieces)
    located = [_located(searcher, piece.postings, clauses) for piece in pieces]
    parent = searcher.get_parent()
    films = parent.reader().doc_count_all()
    results: list[Scores | None] = [EMPTY] * len(clauses)
    rows: list[tuple[int, float, list[Part]]] = []
    for number, (terms, boost, _) in enumerate(clauses):
        found = _parts(terms, located)
        if found is None:
            results[number] = None
            continue
        parts, doc_freq = found
        if whole and doc_freq is not None:  # the index's count: the segments' counts added
            idf_value = ranking.idf(doc_freq, films) if doc_freq else None
        else:
            idf_value = term_scores.word_idf(searcher, terms)
        if idf_value is not None and parts:
            rows.append((number, idf_value * boost, parts))  # ranking.bm25f, times boost
    per_chunk = max(1, BATCH_CELLS // max(size, 1))
    for first in range(0, len(rows), per_chunk):
        term_scores.check_time()
        chunk = rows[first : first + per_chunk]
        for number, scores in zip(
            [number for number, _, _ in chunk],
            _scored_rows(parent, pieces, size, chunk),
            strict=True,
        ):
            results[number] = scores
    return results


def _parts(
    terms: Sequence[wq.Term], located: list[dict[str, dict[str, tuple[int, int] | None]]]
) -> tuple[list[Part], int | None] | None:
    """A word's postings in each segment and field that has them, in its field order, and
    its document frequency over these segments (the largest of its fields', as
    ``term_scores.word_idf`` takes it; None if a field was not located); None if some
    segment has no arrays for one of its fields."""
    parts = []
    counts = [0] * len(terms)
    complete = True
    for piece, fields in enumerate(located):
        for position, term in enumerate(terms):
            if term.fieldname not in fields:
                complete = False
                continue
            where = fields[term.fieldname].get(term.text)
            if where is None:
                return None
            if where[1]:
                parts.append(Part(position, term.fieldname, term.boost, *where, piece))
                counts[position] += where[1]
    return parts, (max(counts, default=0) if complete else None)


def _located(
    searcher: Any, postings: SegmentPostings, clauses: Sequence[Clause]
) -> dict[str, dict[str, tuple[int, int] | None]]:
    """Where each scored field's words are in the segment's postings: (first posting,
    postings), (0, 0) when absent, None when the segment has no table for the field."""
    scorable = _scorable(searcher.schema)
    wanted: dict[str, dict[Any, None]] = {}  # field -> its words (str, or bytes)
    for terms, _, _ in clauses:
        for term in terms:
            if term.fieldname in scorable:
                wanted.setdefault(term.fieldname, {})[term.text] = None
    located: dict[str, dict[str, tuple[int, int] | None]] = {}
    for field, texts in wanted.items():
        table = postings.fields.get(field)
        if table is None:
            located[field] = dict.fromkeys(texts)
            continue
        words = [text if isinstance(text, bytes) else text.encode() for text in texts]
        located[field] = dict(zip(texts, _places(table, words), strict=True))
    return located


def _scorable(schema: Any) -> frozenset[str]:
    """The names of the schema's scored fields."""
    return memo.ANYWHERE.get(
        "scorable",
        schema,
        lambda: frozenset(name for name, field in schema.items() if field.scorable),
    )


class Part(NamedTuple):
    """A word's postings in one field of a segment."""

    position: int  # of the field among the word's terms
    field: str
    weight: float
    first: int  # its first posting
    size: int  # its number of postings
    piece: int  # the segment's number among the batch's ``Piece``s

    @property
    def slice(self) -> slice:
        """Its postings in the segment's arrays."""
        return slice(self.first, self.first + self.size)


def _scored_rows(
    parent: Any, pieces: Sequence[Piece], size: int, rows: list[tuple[int, float, list[Part]]]
) -> list[Scores]:
    """Each row's (films, scores): ``_batch_scores`` of a chunk of words, (row, scale, parts)."""
    scratch: Any = np.zeros(len(rows) * size)
    marked = np.zeros(len(rows) * size, dtype=bool) if len(scratch) <= MARKED_CELLS else None
    cells: list[tuple[int, Any]] = []  # the cells added to: (first cell, cells from it)
    postings = 0
    groups: dict[tuple[int, str, float], list[tuple[int, Part]]] = {}
    for row, (_, _, parts) in enumerate(rows):
        for part in parts:
            groups.setdefault((part.position, part.field, part.weight), []).append((row, part))
    # each word's fields in its own field order (the same order for every word of a query);
    # a field's postings of every word and segment at once, but long ones each alone
    for (_, field, weight), found in sorted(groups.items(), key=lambda item: item[0][0]):
        few = [(row, part) for row, part in found if part.size < PART_ALONE]
        added = [
            _add_part(parent, pieces[part.piece], field, weight, part, scratch, row * size)
            for row, part in found
            if part.size >= PART_ALONE
        ]
        if few:
            added.append((0, _add_parts(parent, pieces, size, field, weight, few, scratch)))
        for first, added_cells in added:
            postings += len(added_cells)
            if marked is not None:
                marked[first:][added_cells] = True
            else:
                cells.append((first, added_cells))
    if marked is not None:
        hit = np.flatnonzero(marked)
    elif postings * DENSE_SHARE > len(scratch):  # many postings: one pass, no sort
        hit = np.flatnonzero(scratch != 0)  # a few times faster than over the floats
    else:
        hit = np.concatenate([added_cells + first for first, added_cells in cells])
        hit.sort()
        hit = hit[np.concatenate(([True], hit[1:] != hit[:-1]))]
    tf: Any = np.take(scratch, hit)  # as scratch[hit], but faster
    scores: Any = ranking.saturate(tf, ranking.K1)
    bounds = np.searchsorted(hit, np.arange(len(rows) + 1) * size).tolist()
    spans = list(itertools.pairwise(bounds))
    for row, ((_, scale, _), (a, b)) in enumerate(zip(rows, spans, strict=True)):
        scores[a:b] *= scale  # in place: no array of every cell's scale
        hit[a:b] -= row * size  # the cells' films
    return [(hit[a:b], scores[a:b]) for a, b in spans]


def _add_parts(
    parent: Any,
    pieces: Sequence[Piece],
    size: int,
    field: str,
    weight: float,
    found: list[tuple[int, Part]],
    scratch: Any,
) -> Any:
    """Add ``frequency * field factor`` of one field's postings ``found`` (row, part), all
    at once, to their cells of ``scratch`` (each cell once); the cells."""
    docs = _joined_arrays([pieces[p.piece].postings.docs[p.slice] for _, p in found])
    freqs = _joined_arrays([pieces[p.piece].postings.freqs[p.slice] for _, p in found])
    sizes = [p.size for _, p in found]
    if len(pieces) > 1:  # the documents' numbers in the batch, segments end to end
        docs = docs + np.repeat(
            np.array([pieces[p.piece].offset for _, p in found], dtype=np.int64), sizes
        )
    cell = np.repeat(np.array([row * size for row, _ in found], dtype=np.int64), sizes)
    cell += docs
    added = freqs * np.take(_batch_factors(parent, pieces, field, weight), docs)
    np.add.at(scratch, cell, added)  # each cell once: as +=, but faster (so is np.take)
    return cell


def _add_part(
    parent: Any, piece: Piece, field: str, weight: float, part: Part, scratch: Any, row: int
) -> tuple[int, Any]:
    """``_add_parts`` of one long part (a word's postings in one field of a segment), whose
    word's row of ``scratch`` starts at cell ``row``: indexed by the segment's own document
    numbers (as machine integers, which numpy indexes with fastest), no cell numbers made;
    (the part's first cell, its cells from there)."""
    docs = piece.postings.docs[part.slice].astype(np.intp)
    freqs = piece.postings.freqs[part.slice]
    first = row + piece.offset
    added = freqs * np.take(_batch_factors(parent, [piece], field, weight), docs)
    np.add.at(scratch[first:], docs, added)
    return first, docs


def _joined_arrays(arrays: list[Any]) -> Any:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _batch_factors(parent: Any, pieces: Sequence[Piece], field: str, weight: float) -> Any:
    """``factors`` of every document of the batch's segments, laid end to end (kept for the
    whole index when the batch is all its segments)."""
    b, average = ranking.field_b(field), _avg_length(parent, field)
    if len(pieces) == 1:
        return factors(pieces[0].reader, field, weight, b, average)
    cache = _PER_DOCUMENT.setdefault(parent.reader(), {})
    key = ("factors", tuple(id(piece.reader) for piece in pieces), field, weight, b, average)
    found = cache.get(key)
    if found is None:
        found = cache[key] = np.concatenate(
            [factors(piece.reader, field, weight, b, average) for piece in pieces]
        )
    return found


def _avg_length(parent: Any, field: str) -> float:
    """The field's average length over the whole index (1 for an empty field)."""
    cache = _PER_DOCUMENT.setdefault(parent.reader(), {})
    key = ("average length", field)
    if key not in cache:
        cache[key] = parent.avg_field_length(field) or 1.0
    found: float = cache[key]
    return found


#: A batch of words whose scratch array has at most this many cells (words x films) finds
#: its films by marking them in an array of as many booleans; a larger one by scanning the
#: array when its postings number more than 1/DENSE_SHARE of the cells, else by sorting them.
MARKED_CELLS = 1 << 18
DENSE_SHARE = 16
#: A word's postings in one field of a segment are added to the scratch array on their own
#: (``_add_part``) from this many on, not with the field's other words and segments.
PART_ALONE = 1 << 13
#: Most cells (words x films) of the scratch array of one batch of words.
BATCH_CELLS = 1 << 21

EMPTY: Scores = (np.zeros(0, dtype=np.int64), np.zeros(0))


class WordArrays:
    """Clause scores over the segments ``leaves`` (segment searchers, each with the number
    of its first document) laid end to end: one segment, or the whole index."""

    def __init__(self, leaves: list[tuple[Any, int]], whole: Any = None) -> None:
        """``whole``: the reader of the index, when ``leaves`` are all its segments."""
        self.leaves = leaves
        self._cache = (
            None
            if whole is None or len(leaves) == 1
            else _WORD_CACHE.setdefault(
                whole, term_scores.ScoreCache(term_scores.WORD_CACHE_ENTRIES)
            )
        )

    def scores(self, clauses: Sequence[Clause]) -> list[Scores | None]:
        """``words_scores`` of every segment, each word's as one pair of arrays (kept for the
        whole index: a word is then one look-up, not one per segment); None for a word some
        segment cannot score with arrays."""
        if self._cache is None:
            return words_scores(self.leaves[0][0], clauses)
        term_scores.check_time()
        keys = [key for _, _, key in clauses]
        found: list[Scores | None] = [self._cache.get(key) for key in keys]
        missing = [number for number, scores in enumerate(found) if scores is None]
        if missing:
            pieces = [
                Piece(leaf.reader(), postings, offset)
                for leaf, offset in self.leaves
                if (postings := segment_postings(leaf.reader())) is not None
            ]
            if len(pieces) < len(self.leaves):  # a segment without arrays: term_scores
                return found
            computed = _batch_scores(
                self.leaves[0][0], pieces, [clauses[number] for number in missing], whole=True
            )
            for number, scores in zip(missing, computed, strict=True):
                found[number] = scores
                if scores is not None:
                    self._cache.put(keys[number], scores, len(scores[0]))
        return found

    def from_clause(self, scores: Callable[[Any], dict[int, float]]) -> Scores:
        """Any other clause: ``scores(segment searcher)`` (a dict by document) of each segment."""
        return _joined(
            [
                (docs + offset, values)
                for leaf, offset in self.leaves
                for docs, values in [from_dict(scores(leaf))]
            ]
        )


def _joined(parts: list[Scores]) -> Scores:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([docs for docs, _ in parts]), np.concatenate([s for _, s in parts])


def live_scores(totals: Any, hit: Any, reader: Any, leaves: list[tuple[Any, int]]) -> Scores:
    """(document numbers, scores) of the films ``hit`` marks that are not deleted, over the
    whole index (``reader``, made of the segments ``leaves``)."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    alive = cache.get(("live",))
    if alive is None:
        alive = cache[("live",)] = np.concatenate([live(leaf.reader()) for leaf, _ in leaves])
    docs = np.flatnonzero(hit & alive)
    return docs, totals[docs]


#: segment reader -> {repr of a query: the documents it matches}
_QUERY_DOCS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def query_docs(q: wq.Query, searcher: Any, context: Any) -> Any:
    """``term_scores.query_docs`` as an array, kept as long (the hints of a query)."""
    cache = _QUERY_DOCS.setdefault(searcher.reader(), {})
    key = repr(q)
    found = cache.get(key)
    if found is None:
        if len(cache) >= term_scores.QUERY_DOCS_KEPT:
            cache.clear()
        found = _direct_docs(q, searcher)
        if found is None:
            docs = term_scores.query_docs(q, searcher, context)
            found = np.fromiter(docs, dtype=np.int64, count=len(docs))
        cache[key] = found
    return found


def _direct_docs(q: wq.Query, searcher: Any) -> Any:
    """The documents of a word or an inclusive number range without Whoosh's matchers: a
    word's from the postings arrays, a range's from the field's values (``_values``);
    None for any other query."""
    reader = searcher.reader()
    if isinstance(q, wq.Term) and isinstance(q.text, str):
        postings = segment_postings(reader)
        found = None if postings is None else postings.postings(q.fieldname, q.text.encode())
        return None if found is None else found[0].astype(np.int64)
    if isinstance(q, wq.NumericRange) and not (q.startexcl or q.endexcl):
        values = _values(reader, q.fieldname)
        if values is None:
            return None
        numbers, has = values
        within = has.copy()
        if q.start is not None:
            within &= numbers >= q.start
        if q.end is not None:
            within &= numbers <= q.end
        return np.flatnonzero(within)
    return None


def _values(reader: Any, field: str) -> tuple[Any, Any] | None:
    """Each document's number in a numeric field of one value per film (year, running
    time), and which documents have one; None if the field is not such a field."""
    cache = _PER_DOCUMENT.setdefault(reader, {})
    key = ("values", field)
    if key not in cache:
        cache[key] = None
        kind = dict(reader.schema.items()).get(field)
        if isinstance(kind, NUMERIC) and kind.numtype is int:
            numbers = np.zeros(reader.doc_count_all(), dtype=np.int64)
            has = np.zeros(reader.doc_count_all(), dtype=bool)
            for token in kind.sortable_terms(reader, field):
                docs = np.fromiter(reader.postings(field, token).all_ids(), dtype=np.int64)
                numbers[docs] = kind.from_bytes(token)
                has[docs] = True
            cache[key] = (numbers, has)
    found: tuple[Any, Any] | None = cache[key]
    return found


def from_dict(scores: dict[int, float]) -> Scores:
    """Scores kept in a dict (phrases, field clauses), as arrays."""
    docs = np.fromiter(scores.keys(), dtype=np.int64, count=len(scores))
    values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
    return docs, values


def live_matcher(scores: Scores, reader: Any) -> Any:
    """A ``term_scores.ScoredDocs`` matcher over a segment's scores, deleted films dropped."""
    docs, values = scores
    if reader.has_deletions():
        alive = live(reader)[docs]
        docs, values = docs[alive], values[alive]
    if not len(docs):
        from whoosh import matching

        return matching.NullMatcher()
    return term_scores.ArrayScoredDocs(docs, values)


def scored_docs(totals: Any, hit: Any, reader: Any) -> Any:
    """A ``term_scores.ScoredDocs`` matcher over the films ``hit`` marks (deleted ones
    dropped), scored ``totals``."""
    docs = np.flatnonzero(hit & live(reader))
    if not len(docs):
        from whoosh import matching

        return matching.NullMatcher()
    return term_scores.ArrayScoredDocs(docs, totals[docs])
