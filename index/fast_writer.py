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
  postings with the header and data ``W3PostingsWriter._write_block`` writes
  (pickled at protocol 5 rather than 2, and compressed only from 512 bytes: see
  ``PROTOCOL`` and ``COMPRESS_FROM``), the term's ``W3TermInfo`` added to the
  term index as ``W3FieldWriter.finish_term`` does, and the word's postings
  handed to the postings-arrays capture.

Whoosh reads the segment as any other: the same words, postings, block headers
and statistics (tests/test_fast_build.py compares them with Whoosh's writer's).
Anything this writer does not handle itself goes through Whoosh's own path in
the same writer: a document with boosts (``_boost`` keys), a schema with
spelling or vector fields, segments merged in at commit (``add_reader``), a
codec other than Whoosh 3's defaults.
When Whoosh's pool holds postings, the inverter's postings are streamed into
Whoosh's ``add_postings`` together with them.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterable
from operator import itemgetter, sub
from pickle import dumps
from typing import Any, NamedTuple

from whoosh import formats
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC
from whoosh.fields import FieldType
from whoosh.system import pack_int
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from . import whoosh_compat
from .analysis import FusedAnalyzer
from .inverter import Inverter

#: Encoded position lists remembered (the same bytes object serves every equal list).
VALUE_CACHE = 1 << 16
#: Blocks are pickled at protocol 5, which Whoosh's reader (``pickle.loads``, here
#: ``safe_pickle``'s) reads as it reads its own protocol 2: protocol 2 writes each
#: encoded value (bytes) as a call of ``_codecs.encode`` on a latin-1 string, ten times
#: slower to pickle and twice the size of protocol 5's plain bytes.
PROTOCOL = 5
#: Blocks whose pickle is shorter are written uncompressed, as Whoosh writes those under
#: ``COMPRESSION_MIN_SIZE`` (80 bytes; its reader follows each block's flag): compressing
#: the many blocks of a few postings cost a third of writing the blocks, for 13 % less
#: postings file.
COMPRESS_FROM = max(512, COMPRESSION_MIN_SIZE)
_NO_LENGTHS = b""
_UNPLANNED: Any = object()


class _Step(NamedTuple):
    """What ``FastSegmentWriter.add_document`` does with one field of a document."""

    name: str
    field: Any
    indexed: bool
    positions: bool  # filed by _index_positions when the value is a str
    stored_key: str | None  # the key of the value to store instead (``_stored_<name>``)
    stored: bool
    lengths: bytearray | None  # the field's length bytes, if it is scorable
    column: Any


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
        self._numbers: dict[tuple[str, int], list[Any]] = {}
        self._plans: dict[str, Any] = {}  # fields filed by _index_positions
        self._steps: dict[tuple[str, ...], tuple[_Step, ...] | None] = {}  # by document keys
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
        whoosh._check_state()
        steps = self._steps.get(tuple(fields), _UNPLANNED)
        if steps is _UNPLANNED:
            steps = self._plan_document(fields)
        if steps is None:
            base: Any = super()
            base.add_document(**fields)
            return
        perdoc = self.perdocwriter
        docnum = self.docnum
        inverter = self.inverter
        filed: list[str] = []  # fields whose postings the inverter holds for this document
        postings = words = 0
        perdoc.start_doc(docnum)
        try:
            for name, field, indexed, positions, stored_key, stored, lengths, column in steps:
                value = fields[name]
                if value is None:
                    continue
                length = 0
                if indexed:
                    filed.append(name)
                    if positions and isinstance(value, str):
                        counts = self._index_positions(name, field, value, docnum)
                    else:
                        counts = self._index_whoosh(name, field, value, docnum)
                    length, added, new = counts
                    postings += added
                    words += new
                customval = fields[stored_key] if stored_key else value
                perdoc.add_field(name, field, customval if stored else None, length)
                if lengths is not None:
                    lengths.extend(bytes(docnum + 1 - len(lengths)))
                    lengths[docnum] = length_to_byte(length) if length else 0
                if column and customval is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(customval))
        except BaseException as error:
            inverter.forget(filed, docnum)
            if isinstance(error, ValueError):
                perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1
        inverter.added(postings, words)

    def _plan_document(self, fields: dict[str, Any]) -> tuple[_Step, ...] | None:
        """What ``add_document`` does with each field of a document with these keys (in
        the order of their names, as Whoosh adds them), remembered for the next documents
        with the same keys; None: the document goes through Whoosh's ``add_document``
        (boosts, or a schema this writer does not handle). Raises Whoosh's error for a
        field the schema lacks."""
        whoosh: Any = self  # Whoosh's methods are untyped
        schema = self.schema
        names = sorted(name for name in fields if not name.startswith("_"))
        whoosh._check_fields(schema, names)
        steps: tuple[_Step, ...] | None = None
        if not self._whoosh_only and not any(name.endswith("_boost") for name in fields):
            steps = tuple(self._step(name, schema[name], fields) for name in names)
        self._steps[tuple(fields)] = steps
        return steps

    def _step(self, name: str, field: Any, fields: dict[str, Any]) -> _Step:
        lengths = None
        if field.scorable:  # length byte of each document, 0 for none
            lengths = self._lengths.setdefault(name, bytearray())
        stored_key = f"_stored_{name}"
        return _Step(
            name=name,
            field=field,
            indexed=bool(field.indexed),
            positions=name in self._plans,
            stored_key=stored_key if stored_key in fields else None,
            stored=bool(field.stored),
            lengths=lengths,
            column=field.column_type,
        )

    def _index_positions(
        self, name: str, field: Any, value: str, docnum: int
    ) -> tuple[int, int, int]:
        """File the words of a text field under their ``str`` (what ``Positions.word_values``
        and ``SegmentWriter.add_document`` make of its tokens: weight = frequency x the
        format's boost, value = the encoded positions). Returns (length, postings, new words)."""
        positions = field.analyzer.word_positions(value)
        if positions is None:  # the chain was changed: analyse as Whoosh does
            return self._index_whoosh(name, field, value, docnum)
        terms = self.inverter.field(name, text=True)
        boost = field.format.field_boost
        one = 1.0 * boost * 1.0
        cache = self._values
        if len(cache) >= VALUE_CACHE:
            cache.clear()
        encode = field.format.encode
        length = new = 0
        for word, where in positions.items():
            if len(where) == 1:
                weight = one
                encoded = cache.get(where[0])
                if encoded is None:
                    encoded = cache[where[0]] = encode(where)
                length += 1
            else:
                weight = float(len(where)) * boost * 1.0
                key = tuple(where)
                encoded = cache.get(key)
                if encoded is None:
                    encoded = cache[key] = encode(where)
                length += len(where)
            flat = terms.get(word)
            if flat is None:
                terms[word] = [docnum, weight, encoded]
                new += 1
            else:
                flat += (docnum, weight, encoded)
        return length, len(positions), new

    def _index_whoosh(self, name: str, field: Any, value: Any, docnum: int) -> tuple[int, int, int]:
        """File what Whoosh's ``field.index`` gives (its words as bytes, or as ``str`` in a
        field whose other documents are filed by ``_index_positions``)."""
        text = name in self._plans
        terms = self.inverter.field(name, text=text)
        scorable = field.scorable
        length = added = new = 0
        if type(value) is int:  # years, runtimes: a few hundred values, each many terms
            items = self._numbers.get((name, value))
            if items is None:
                if len(self._numbers) >= VALUE_CACHE:
                    self._numbers.clear()
                items = self._numbers[name, value] = list(field.index(value))
        else:
            items = field.index(value)
        for word, freq, weight, encoded in items:
            if scorable:
                length += freq
            key = word.decode("utf-8") if text else word
            flat = terms.get(key)
            if flat is None:
                terms[key] = [docnum, weight * 1.0, encoded or b""]
                new += 1
            else:
                flat += (docnum, weight * 1.0, encoded or b"")
            added += 1
        return length, added, new

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
        add_term = sink.add_term
        limit, compression, deflater = sink.blocklimit, sink.compression, sink.deflater
        current = None
        skip = capturing = False
        lengths = _NO_LENGTHS
        fixed: int | None = None
        for field, word, docs, weights, values in self.inverter.records():
            if field != current:
                current = field
                skip = field not in schema
                if skip:
                    continue
                fieldobj = schema[field]
                sink.start_field(field, fieldobj)
                capturing = field in captured
                fixed = fieldobj.format.fixed_value_size()
                lengths = _NO_LENGTHS
                if fieldobj.scorable:  # doc -> length byte, 0 for none (as the column reads)
                    lengths = bytes(self._lengths.get(field, b""))
                    lengths += bytes(max(self.docnum - len(lengths), 0) + 1)
            elif skip:
                continue
            if len(docs) == 1:
                encoded = _posting_bytes(
                    docs[0], weights[0], values[0], lengths, fixed, compression, deflater
                )
            else:
                encoded = _term_bytes(
                    docs, weights, values, lengths, fixed, limit, compression, deflater
                )
            add_term(word, encoded)
            if capturing:
                capture.add_word(field, word, docs, weights)
        sink.close()

    def _close_segment(self) -> None:
        self.inverter.discard()
        base: Any = super()  # Whoosh's methods are untyped
        base._close_segment()


def _term_bytes(
    docs: list[int],
    weights: list[float],
    values: list[bytes],
    lengths: bytes,
    fixed: int | None,
    limit: int,
    compression: int,
    deflater: Any,
) -> tuple[bytes, tuple[Any, ...]]:
    """A word's postings as ``W3PostingsWriter`` writes them (the header, then each block:
    its length, its info pickle, its data pickle) and its ``W3TermInfo`` fields without
    the extent: (weight, documents, min length byte, max length byte, max weight, first
    document, last document). ``limit`` postings a block, compressed at level
    ``compression`` (a copy of ``deflater`` for each block) from ``COMPRESS_FROM`` bytes."""
    count = len(docs)
    if count <= limit:
        block, weight, low, high, block_max = _block(
            docs, weights, values, lengths, fixed, compression, deflater, True
        )
        return WHOOSH3_HEADER_MAGIC + block, (
            weight,
            count,
            low,
            high,
            block_max,
            docs[0],
            docs[-1],
        )
    parts = [WHOOSH3_HEADER_MAGIC]
    total_weight: Any = 0
    minbyte = 0  # W3TermInfo's min length, as a byte (0: None)
    maxbyte = 0
    maxweight: Any = 0
    for start in range(0, count, limit):
        end = start + limit
        block, weight, low, high, block_max = _block(
            docs[start:end],
            weights[start:end],
            values[start:end],
            lengths,
            fixed,
            compression,
            deflater,
            end >= count,
        )
        parts.append(block)
        # W3TermInfo.add_block
        total_weight += weight
        if not minbyte:
            minbyte = low
        elif low:
            minbyte = min(minbyte, low)
        maxbyte = max(maxbyte, high)
        maxweight = max(maxweight, block_max)
    return b"".join(parts), (total_weight, count, minbyte, maxbyte, maxweight, docs[0], docs[-1])


def _block(
    ids: list[int],
    raw: list[float],
    values: list[bytes],
    lengths: bytes,
    fixed: int | None,
    compression: int,
    deflater: Any,
    last: bool,
) -> tuple[bytes, Any, int, int, Any]:
    """One block of postings as ``W3PostingsWriter._write_block`` writes it (its length,
    negative for the ``last``, then its info and data pickles), with the sum of its weights
    (as 32-bit floats), its min and max length bytes and its max weight."""
    size = len(ids)
    # W3PostingsWriter.add_posting keeps the maxima of the weights as given, the lengths
    # as the lengths column reads them (byte_to_length of the byte, 0: None)
    if raw.count(1.0) == size:  # most blocks: every weight 1
        mini_weights: Any = None
        block_max: Any = 1.0
        weight: Any = float(size)
    else:
        block_weights = array("f", raw)
        top = max(raw)
        block_max = top if top > 0 else 0
        weight = sum(block_weights)
        if block_weights.count(block_weights[0]) != size:
            mini_weights = tuple(block_weights)
        elif block_weights[0] == 1.0:
            mini_weights = None
        else:
            mini_weights = block_weights[0]
    if not lengths:
        low = high = 0
    elif size == 1:
        low = high = lengths[ids[0]]
    else:
        codes = bytes(itemgetter(*ids)(lengths))
        high = max(codes)
        low = min(codes)
        if not low:
            present = codes.replace(b"\0", b"")
            low = min(present) if present else 0
    mini_ids = tuple(map(sub, ids, [0, *ids]))  # the first, then the gaps
    if fixed is None or fixed < 0:
        mini_values: Any = tuple(filter(None, values))
    elif fixed == 0:
        mini_values = None
    else:
        mini_values = b"".join(values)
    block = _framed(
        (mini_ids, mini_weights, mini_values),
        (size, ids[-1], block_max, low, high),
        compression,
        deflater,
        last,
    )
    return block, weight, low, high, block_max


def _framed(
    data: tuple[Any, ...],
    info: tuple[Any, ...],
    compression: int,
    deflater: Any,
    last: bool,
) -> bytes:
    """A block's bytes: its length (negative for the ``last``), its info pickle (``info``
    is (postings, last document, max weight, min and max length bytes); the compression
    level goes in as its fourth item), then its ``data`` pickle, compressed at level
    ``compression`` (a copy of ``deflater``) from ``COMPRESS_FROM`` bytes."""
    pickled = dumps(data, PROTOCOL)
    level = compression if len(pickled) >= COMPRESS_FROM else 0
    if level:
        deflate = deflater.copy()
        pickled = deflate.compress(pickled) + deflate.flush()
    size, last_doc, block_max, low, high = info
    header = dumps((size, last_doc, block_max, level, low, high), PROTOCOL)
    length = len(header) + len(pickled)
    return pack_int(-length if last else length) + header + pickled


def _posting_bytes(
    doc: int,
    weight: float,
    value: bytes,
    lengths: bytes,
    fixed: int | None,
    compression: int,
    deflater: Any,
) -> tuple[bytes, tuple[Any, ...]]:
    """``_term_bytes`` of a word in one document (most words of a segment)."""
    if weight == 1.0:
        mini_weights: Any = None
        block_max: Any = 1.0
        weight32 = 1.0
    else:
        weight32 = array("f", (weight,))[0]
        mini_weights = None if weight32 == 1.0 else weight32
        block_max = weight if weight > 0 else 0
    low = lengths[doc] if lengths else 0
    if fixed is None or fixed < 0:
        mini_values: Any = (value,) if value else ()
    elif fixed == 0:
        mini_values = None
    else:
        mini_values = value
    block = _framed(
        ((doc,), mini_weights, mini_values),
        (1, doc, block_max, low, low),
        compression,
        deflater,
        True,
    )
    return WHOOSH3_HEADER_MAGIC + block, (0 + weight32, 1, low, low, block_max, doc, doc)
