"""A Whoosh segment writer that inverts documents in memory and writes posting blocks itself.

``FastSegmentWriter`` is Whoosh's ``SegmentWriter`` with two hot paths replaced
(see ``inverter`` for why):

- ``add_document`` analyses each text field once into word -> positions
  (``FusedAnalyzer.word_positions``, the same tokens as the analyzer), encodes
  the positions with the field's own ``Positions.encode`` and files each
  posting under its word in an ``Inverter``; other fields go through Whoosh's
  ``field.index`` and are filed the same way. Stored fields, field lengths and
  columns are written by Whoosh's per-document writer, as before;
- the segment's postings are written a word at a time: every block of 128
  postings encoded exactly as ``W3PostingsWriter._write_block`` encodes it, the
  term's ``W3TermInfo`` added to the term index as ``W3FieldWriter.finish_term``
  does, and the word's postings handed to the postings-arrays capture.

Whoosh reads the segment as any other. Anything this writer does not handle
itself goes through Whoosh's own path in the same writer: a document with
boosts (``_boost`` keys), a schema with spelling or vector fields, segments
merged in at commit (``add_reader``), a codec other than Whoosh 3's defaults.
When Whoosh's pool holds postings, the inverter's postings are streamed into
Whoosh's ``add_postings`` together with them.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterable
from pickle import dumps
from typing import Any

from whoosh import formats
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.fields import FieldType
from whoosh.system import pack_int
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from . import whoosh_compat
from .analysis import FusedAnalyzer
from .inverter import Inverter

try:
    import zlib
except ImportError:  # pragma: no cover
    zlib = None  # type: ignore[assignment]

#: Encoded position lists remembered (the same bytes object serves every equal list).
VALUE_CACHE = 1 << 16
_NO_LENGTHS = b""


class FastSegmentWriter(SegmentWriter):
    """``SegmentWriter`` with in-memory inversion and direct block writing (module doc)."""

    def __init__(self, ix: Any, limitmb: int = 128, **kwargs: Any) -> None:
        base: Any = super()  # Whoosh's methods are untyped
        base.__init__(ix, limitmb=limitmb, **kwargs)
        whoosh: Any = self
        self.inverter = Inverter(whoosh.temp_storage(), limitmb * 1024 * 1024)
        self.capture: Any = None  # index.postings.PostingsCapture, set by the caller
        self._lengths: dict[str, bytearray] = {}  # length byte of each scorable field, by doc
        self._values: dict[Any, bytes] = {}
        self._plans: dict[str, Any] = {}
        schema = self.schema
        self._whoosh_only = any(
            schema[name].separate_spelling() or schema[name].vector for name in schema.names()
        )
        for name in schema.names():
            field = schema[name]
            if (
                field.indexed
                and type(field.format) is formats.Positions
                and isinstance(field.analyzer, FusedAnalyzer)
                and type(field).index is FieldType.index
            ):
                self._plans[name] = field

    # --- documents ---------------------------------------------------------------------

    def add_document(self, **fields: Any) -> None:
        whoosh: Any = self  # Whoosh's methods are untyped
        if self._whoosh_only or any(name.endswith("_boost") for name in fields):
            base: Any = super()
            base.add_document(**fields)
            return
        whoosh._check_state()
        schema = self.schema
        perdoc = self.perdocwriter
        docnum = self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        whoosh._check_fields(schema, names)
        filed: list[tuple[str, list[tuple[bytes, float, bytes]]]] = []
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    items, length = self._analyse(name, field, value)
                    filed.append((name, items))
                customval = fields.get(f"_stored_{name}", value)
                perdoc.add_field(name, field, customval if field.stored else None, length)
                if field.scorable:
                    lengths = self._lengths.get(name)
                    if lengths is None:
                        lengths = self._lengths[name] = bytearray()
                    lengths.extend(bytes(docnum + 1 - len(lengths)))
                    lengths[docnum] = length_to_byte(length) if length else 0
                column = field.column_type
                if column and customval is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(customval))
        except ValueError:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        postings = words = 0
        field_of = self.inverter.field
        for name, items in filed:
            terms = field_of(name)
            for word, weight, value in items:
                flat = terms.get(word)
                if flat is None:
                    terms[word] = [docnum, weight, value]
                    words += 1
                else:
                    flat += (docnum, weight, value)
            postings += len(items)
        self._added = True
        self.docnum += 1
        self.inverter.added(postings, words)

    def _analyse(
        self, name: str, field: Any, value: Any
    ) -> tuple[list[tuple[bytes, float, bytes]], int]:
        """(word, weight, encoded value) of each word of ``value`` in ``field``, and the
        field's length (the sum of frequencies, for a scorable field)."""
        if name in self._plans and isinstance(value, str):
            positions = field.analyzer.word_positions(value)
            if positions is not None:
                return self._positions_items(field, positions)
        items: list[tuple[bytes, float, bytes]] = []
        length = 0
        scorable = field.scorable
        for word, freq, weight, encoded in field.index(value):
            if scorable:
                length += freq
            items.append((word, weight * 1.0, encoded or b""))
        return items, length

    def _positions_items(
        self, field: Any, positions: dict[str, list[int]]
    ) -> tuple[list[tuple[bytes, float, bytes]], int]:
        """What ``Positions.word_values`` and ``SegmentWriter.add_document`` make of the
        words' positions: weight = frequency x the format's boost, value = encoded."""
        boost = field.format.field_boost
        encode = field.format.encode
        cache = self._values
        items: list[tuple[bytes, float, bytes]] = []
        length = 0
        for word, where in positions.items():
            freq = len(where)
            length += freq
            key: Any = where[0] if freq == 1 else tuple(where)
            encoded = cache.get(key)
            if encoded is None:
                if len(cache) >= VALUE_CACHE:
                    cache.clear()
                encoded = cache[key] = encode(where)
            items.append((word.encode("utf-8"), float(freq) * boost * 1.0, encoded))
        return items, length

    # --- the segment -------------------------------------------------------------------

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        sink = whoosh_compat.term_sink(self.fieldwriter, self.codec)
        pool = self.pool
        if sink is None or pool.current or pool.runs:
            self._flush_through_whoosh()
        else:
            self._flush_blocks(sink)
        self.fieldwriter.close()

    def _flush_through_whoosh(self) -> None:
        """The inverter's postings and the pool's, through Whoosh's ``add_postings``."""
        whoosh: Any = self  # Whoosh's methods are untyped
        pdr = whoosh.per_document_reader() if self.codec.length_stats else None
        stream: Iterable[Any] = heapq.merge(self.inverter.tuples(), self.pool.iter_postings())
        if self.capture is not None:
            stream = self.capture.tee(stream)
        self.fieldwriter.add_postings(self.schema, pdr, stream)
        if pdr:
            pdr.close()

    def _flush_blocks(self, sink: whoosh_compat.TermSink) -> None:
        schema = self.schema
        capture = self.capture
        captured = capture.fields if capture is not None else frozenset()
        current = None
        lengths = _NO_LENGTHS
        for field, word, docs, weights, values in self.inverter.records():
            if field not in schema:
                continue
            if field != current:
                fieldobj = schema[field]
                sink.start_field(field, fieldobj)
                current = field
                fixed = fieldobj.format.fixed_value_size()
                lengths = _NO_LENGTHS
                if fieldobj.scorable:  # doc -> length byte, 0 for none (as the column reads)
                    lengths = bytes(self._lengths.get(field, b""))
                    lengths += bytes(max(self.docnum - len(lengths), 0) + 1)
            sink.add_term(word, _term_bytes(sink, docs, weights, values, lengths, fixed))
            if field in captured:
                capture.add_word(field, word, docs, weights)
        if current is not None:
            sink.finish_field()

    def _close_segment(self) -> None:
        self.inverter.discard()
        base: Any = super()  # Whoosh's methods are untyped
        base._close_segment()


def _term_bytes(
    sink: whoosh_compat.TermSink,
    docs: array[int],
    weights: array[float],
    values: list[bytes],
    lengths: bytes,
    fixed: int | None,
) -> tuple[bytes, W3TermInfo]:
    """A word's postings as ``W3PostingsWriter`` writes them (the blocks, the first one
    after the header) and its term info without the extent."""
    limit = sink.blocklimit
    compression = sink.compression
    parts = [WHOOSH3_HEADER_MAGIC]
    total_weight: Any = 0
    minlength: Any = None
    maxlength: Any = 0
    maxweight: Any = 0
    count = len(docs)
    for start in range(0, count, limit):
        end = min(start + limit, count)
        ids = docs[start:end]
        raw = weights[start:end]
        block_weights = array("f", raw)
        # maxima as W3PostingsWriter.add_posting keeps them (from the weights as given)
        top = max(raw)
        block_max: Any = top if top > 0 else 0
        if lengths:
            found = [code for code in map(lengths.__getitem__, ids) if code]
            low: Any = byte_to_length(min(found)) if found else None
            high: Any = byte_to_length(max(found)) if found else 0
        else:
            low, high = None, 0
        previous = ids[:-1]
        previous.insert(0, 0)
        mini_ids = tuple(map(int.__sub__, ids, previous))
        if block_weights.count(1.0) == len(block_weights):
            mini_weights: Any = None
        elif block_weights.count(block_weights[0]) == len(block_weights):
            mini_weights = block_weights[0]
        else:
            mini_weights = tuple(block_weights)
        if fixed is None or fixed < 0:
            mini_values: Any = tuple(value for value in values[start:end] if value)
        elif fixed == 0:
            mini_values = None
        else:
            mini_values = b"".join(value for value in values[start:end] if value)
        data = dumps((mini_ids, mini_weights, mini_values), 2)
        level = compression if len(data) >= COMPRESSION_MIN_SIZE else 0
        if level:
            data = zlib.compress(data, level)
        info = dumps(
            (end - start, ids[-1], block_max, level, length_to_byte(low), length_to_byte(high)),
            2,
        )
        size = len(info) + len(data)
        parts.append(pack_int(-size if end == count else size))
        parts.append(info)
        parts.append(data)
        # W3TermInfo.add_block
        total_weight += sum(block_weights)
        minlength = low if minlength is None else min(minlength, low)
        maxlength = max(maxlength, high)
        maxweight = max(maxweight, block_max)
    terminfo = W3TermInfo(total_weight, count, minlength, maxlength, maxweight, docs[0], docs[-1])
    return b"".join(parts), terminfo
