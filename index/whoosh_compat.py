"""Every use of Whoosh's private API, in one module, each guarded.

filmsearch leans on a few Whoosh internals where the public API is much slower
(reading a posting list a block at a time, expanding a wildcard over a cached
word list) or has no equivalent (naming and numbering the table of contents
when a build is published, committing the segments of a parallel build), and
overrides a few private hooks that Whoosh calls (``CompoundQuery._matcher``,
``MpWriter._commit`` ...). Each wrapper below names the private it uses and why.

At import every one of them is checked. A Whoosh release that renames or
removes one does not fail deep inside a search or, worse, score differently
without a word:

- where a public slow path exists (postings, pattern expansion), it is used
  instead, and ``FAST_POSTINGS`` / ``FAST_PATTERNS`` say so (the test suite
  fails on it: tests/test_whoosh_compat.py, which also checks that the fast
  paths give exactly what the public API gives);
- where none exists (building and publishing an index, the query and writer
  hooks), importing this module raises ``WhooshIncompatibleError`` naming what
  is missing and the Whoosh versions filmsearch was tested with.
"""

from __future__ import annotations

import os
import pickle
import re
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import whoosh
from whoosh.codec.whoosh3 import (
    W3Codec,
    W3FieldWriter,
    W3LeafMatcher,
    W3PerDocReader,
    W3TermInfo,
)
from whoosh.filedb.filestore import OverlayStorage
from whoosh.filedb.filetables import OrderedHashWriter, md5_hash
from whoosh.filedb.structfile import BufferFile
from whoosh.index import TOC
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query.compound import CompoundQuery
from whoosh.query.terms import PatternQuery
from whoosh.util.numeric import length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

from .safe_pickle import safe_load

#: The Whoosh releases these internals were checked against (pyproject pins the same range).
TESTED = "whoosh3 3.50 to 3.54"


class WhooshIncompatibleError(ImportError):
    """The installed Whoosh lacks an internal filmsearch relies on."""

    def __init__(self, missing: Sequence[str]) -> None:
        version = ".".join(str(part) for part in whoosh.__version__)
        super().__init__(
            f"filmsearch needs Whoosh internals that whoosh3 {version} does not have: "
            f"{', '.join(missing)} (tested with {TESTED}); install a tested version "
            "(pip install 'whoosh3>=3.50,<3.55')"
        )
        self.missing = tuple(missing)


def missing(owner: type, names: Sequence[str]) -> list[str]:
    return [
        f"{owner.__name__}.{name}" for name in names if not callable(getattr(owner, name, None))
    ]


# --- what must exist: no public equivalent -------------------------------------------------

#: Privates called, and private hooks overridden, with no public path to fall back on.
REQUIRED: dict[type, tuple[str, ...]] = {
    # TOC file names and generations, to publish a build made in another folder (_publish)
    TOC: ("_filename", "_latest_generation"),
    # A failed commit's lock and temporary files (writer._cancel); the parallel
    # writer's commit (_FilmMpWriter._commit, which waits for its workers safely)
    SegmentWriter: (
        "_cleanup_on_error",
        "_merge_segments",
        "_finalize_segment",
        "_close_segment",
        "_commit_toc",
        "_finish",
    ),
    # The hook search.bm25f's FieldedWord, ScoredOr and BaselineWord override
    CompoundQuery: ("_matcher",),
    # How a build's postings are spilled to sort runs and read back (see sort runs below)
    PostingPool: ("_write_run", "_read_run", "_open_run", "_remove_run"),
    # Field lengths while a segment's postings are written (see field lengths below)
    W3PerDocReader: ("doc_field_length_reader", "_cached_reader"),
}


def require(required: dict[type, tuple[str, ...]]) -> None:
    """Raise WhooshIncompatibleError if any of the ``required`` privates is missing."""
    absent = [name for owner, names in required.items() for name in missing(owner, names)]
    if absent:
        raise WhooshIncompatibleError(absent)


require(REQUIRED)


def check_parallel_writer() -> None:
    """Fail unless Whoosh has the hooks index.writer's _FilmMpWriter overrides (Whoosh
    calls them). index.writer calls this: whoosh.multiproc imports multiprocessing, which
    a search has no use for, so the check is not made on every import."""
    from whoosh.multiproc import MpWriter

    require({MpWriter: ("_new_task", "_enqueue", "_commit")})


# --- fast paths with a public fallback -----------------------------------------------------

#: Whether posting lists are read a block at a time (W3LeafMatcher's block reader).
FAST_POSTINGS = not missing(W3LeafMatcher, ("_read_ids", "_read_weights", "_next_block"))
#: Whether wildcards and regular expressions are matched against a cached word list.
FAST_PATTERNS = not missing(PatternQuery, ("_find_prefix", "_get_pattern"))
#: Whether a build saves each segment's postings as arrays (``index.postings``); without
#: it the search reads Whoosh's postings.
CAPTURE_POSTINGS = not missing(SegmentWriter, ("_assemble_segment", "get_segment"))


def posting_blocks(
    reader: Any, field: str, text: str | bytes
) -> Iterator[tuple[Sequence[int], Sequence[float]]]:
    """The (document numbers, frequencies) of a term, a block at a time, deleted ones included.

    Leans on ``W3LeafMatcher._read_ids``, ``_read_weights``, ``_next_block`` and
    the block arrays ``_ids`` and ``_weights``: the public ``id()`` / ``weight()`` /
    ``next()`` loop costs three Python calls per posting, which made a long
    description take a second. Any other matcher, or a Whoosh without these,
    is read with that public loop.
    """
    if (field, text) not in reader:
        return
    matcher: Any = reader.postings(field, text)
    if isinstance(matcher, FilterMatcher):  # deletions: the caller drops deleted films
        matcher = matcher.child
        matcher.reset()  # the filter has moved it past the deleted films it starts with
    if FAST_POSTINGS and isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            ids, weights = getattr(matcher, "_ids", None), getattr(matcher, "_weights", None)
            if ids is None or weights is None:
                raise WhooshIncompatibleError(["W3LeafMatcher._ids", "W3LeafMatcher._weights"])
            yield ids, weights
            matcher._next_block()
        return
    yield public_postings(matcher)


def public_postings(matcher: Any) -> tuple[list[int], list[float]]:
    """Every (document number, frequency) of a matcher, read with its public API."""
    ids, weights = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def capture_postings(writer: Any, capture: Any, tee: bool = True) -> None:
    """Have ``writer`` show ``capture`` (``index.postings.PostingsCapture``) its new
    segment's postings, and save them beside the segment once it is complete.

    Leans on the writer's ``pool.iter_postings`` (the sorted stream Whoosh's
    ``_flush_segment`` writes the segment's postings from) and on
    ``_assemble_segment`` and ``get_segment``: after assembling, the segment's
    own files are final, so the postings file (named ``<segment id>.fsp``)
    stays outside its compound file, and Whoosh deletes it with the segment.
    Without them (``CAPTURE_POSTINGS``) nothing is saved. ``tee=False``: the
    writer shows ``capture`` its postings itself (``fast_writer``); only the
    saving is hooked, and ``writer.capture`` is set.
    """
    from . import postings

    pool: Any = getattr(writer, "pool", None)
    if not CAPTURE_POSTINGS or not callable(getattr(pool, "iter_postings", None)):
        return
    if getattr(writer, "_filmsearch_capture", None) is not None:
        return  # already capturing
    if not tee:
        writer.capture = capture
    folder = writer.storage.folder
    iter_postings = pool.iter_postings
    assemble = writer._assemble_segment

    def iter_captured() -> Iterator[tuple[Any, ...]]:
        return capture.tee(iter_postings())  # type: ignore[no-any-return]

    def assemble_and_save() -> None:
        assemble()
        segment = writer.get_segment()
        name = postings.file_name(segment.segment_id())
        capture.save(os.path.join(folder, name), segment.doc_count_all())

    if tee:
        pool.iter_postings = iter_captured
    writer._assemble_segment = assemble_and_save
    writer._filmsearch_capture = capture


class TermSink:
    """Where ``fast_writer`` puts a segment's words: Whoosh 3's postings file and term
    index, filled as ``W3FieldWriter`` and ``OrderedHashWriter.add`` fill them (see
    ``term_sink``), through write buffers; ``close()`` before the field writer's."""

    BUFFER = 1 << 20

    def __init__(self, fieldwriter: Any, blocklimit: int, compression: int) -> None:
        self.fieldwriter = fieldwriter
        self.blocklimit = blocklimit
        self.compression = compression
        #: Copied for each block: a zlib stream with a 4 KB window (a block pickle is a
        #: few KB), which ``zlib.decompress`` reads as it reads Whoosh's. ``zlib.compress``
        #: sets up a 32 KB window and 64 KB of hash tables for every block, most of the
        #: cost of compressing blocks of a few hundred bytes.
        self.deflater = zlib.compressobj(max(compression, 1), zlib.DEFLATED, 12, 4)
        self._postfile = fieldwriter._postfile
        tindex = self._tindex = fieldwriter._tindex
        self._hash = tindex.hashfn
        self._buckets = tindex.buckets
        self._positions = tindex.index
        self._posts = bytearray()
        self._posts_at = self._postfile.tell()
        self._terms = bytearray()
        self._terms_at = tindex.dbfile.tell()
        self._prefix = b""
        self._infield = False

    def start_field(self, name: str, fieldobj: Any) -> None:
        if self._infield:
            self.finish_field()
        self.fieldwriter.start_field(name, fieldobj)
        self._prefix = _USHORT.pack(self.fieldwriter._fieldid)
        self._infield = True

    def add_term(self, word: bytes, encoded: tuple[bytes, tuple[Any, ...]]) -> None:
        """A word's encoded blocks and term info fields (``W3FieldWriter.finish_term``)."""
        blocks, (weight, count, minbyte, maxbyte, maxweight, first, last) = encoded
        offset = self._posts_at + len(self._posts)
        self._posts += blocks
        value = _TERMINFO.pack(
            0, weight, count, minbyte, maxbyte, maxweight, first, last, offset, len(blocks)
        )
        key = self._prefix + word
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{key!r}")
        position = self._terms_at + len(self._terms)
        self._positions.append(position)
        self._terms += _LENGTHS.pack(len(key), len(value))
        self._terms += key
        self._terms += value
        hashed = self._hash(key)
        self._buckets[hashed & 255].append((hashed, position))
        tindex.lastkey = key
        if len(self._posts) > self.BUFFER:
            self._flush()

    def _flush(self) -> None:
        self._postfile.write(bytes(self._posts))
        self._posts_at += len(self._posts)
        self._posts.clear()
        self._tindex.dbfile.write(bytes(self._terms))
        self._terms_at += len(self._terms)
        self._terms.clear()

    def finish_field(self) -> None:
        if self._infield:
            self.fieldwriter.finish_field()
            self._infield = False

    def close(self) -> None:
        """Write what is buffered (before the field writer closes its files)."""
        self.finish_field()
        self._flush()


#: W3TermInfo's bytes with the extent of postings not inlined (``W3TermInfo.to_bytes``).
_TERMINFO = struct.Struct("!BfIBBfIIqi")
#: The key and value lengths before each entry of a hash file (``filetables._lengths``).
_LENGTHS = struct.Struct("!ii")
_USHORT = struct.Struct("!H")


def term_sink(fieldwriter: Any, codec: Any) -> TermSink | None:
    """A ``TermSink`` over a Whoosh 3 field writer, or None where the writer or codec is
    not the one whose format ``fast_writer`` writes (then Whoosh writes the postings).

    Leans on ``W3FieldWriter._postfile``, ``_tindex`` and ``_fieldid`` (set by
    ``start_field``), on the term index's ``dbfile``, ``hashfn``, ``buckets``, ``index``
    and ``lastkey`` (``OrderedHashWriter``), and on ``W3Codec._blocklimit``,
    ``_compression`` and ``_inlinelimit``: posting lists are never inlined at the default
    limit of 1. The term info bytes are checked against ``W3TermInfo.to_bytes``.
    """
    if type(fieldwriter) is not W3FieldWriter or type(codec) is not W3Codec:
        return None
    try:
        blocklimit, compression = int(codec._blocklimit), int(codec._compression)
        if codec._inlinelimit > 1 or blocklimit < 1:
            return None
        tindex = fieldwriter._tindex
        if type(tindex) is not OrderedHashWriter or tindex.hashfn is not md5_hash:
            return None
        buckets, lastkey = getattr(tindex, "buckets", None), getattr(tindex, "lastkey", None)
        if not isinstance(buckets, list) or not isinstance(lastkey, bytes):
            return None
        sink = TermSink(fieldwriter, blocklimit, compression)
    except AttributeError:
        return None
    sample = W3TermInfo(2.5, 3, 4, 9, 1.5, 7, 11)
    sample.set_extent(1234, 56)
    ours = _TERMINFO.pack(0, 2.5, 3, length_to_byte(4), length_to_byte(9), 1.5, 7, 11, 1234, 56)
    if sample.to_bytes() != ours or _LENGTHS.size != 8:
        return None
    return sink


def segment_folder(reader: Any) -> str | None:
    """The folder holding a segment reader's files (None for a reader not on disk)."""
    storage = reader.storage()
    if isinstance(storage, OverlayStorage):  # a compound segment: its file, then the folder
        storage = storage.b
    folder = getattr(storage, "folder", None)
    return folder if isinstance(folder, str) else None


def pattern_parts(q: PatternQuery) -> tuple[str, re.Pattern[str]] | None:
    """A wildcard's or regular expression's literal prefix and compiled pattern, as
    Whoosh expands it, or None where this Whoosh does not say (then expand with
    the public ``q.expanded_terms(reader)``).

    Leans on ``PatternQuery._find_prefix`` and ``_get_pattern``: with them a
    pattern is matched against the segment's cached, sorted word list from its
    prefix on, instead of walking the index's term file each time.
    """
    if not FAST_PATTERNS:
        return None
    return q._find_prefix(q.text), re.compile(q._get_pattern())


# --- publishing a build and committing a parallel one --------------------------------------


def toc_filename(indexname: str, generation: int) -> str:
    """The file name of an index's table of contents of ``generation``.

    Leans on ``TOC._filename``: a build written in a hidden folder is moved into
    the index folder without its table of contents, which is then written last.
    """
    return str(TOC._filename(indexname, generation))


def latest_generation(storage: Any, indexname: str) -> int:
    """The newest table-of-contents generation in ``storage``, -1 if none.

    Leans on ``TOC._latest_generation``: ``FileIndex.latest_generation`` is the
    same but needs an index that opens, and the folder may hold none yet.
    """
    return int(TOC._latest_generation(storage, indexname))


def cleanup_failed_writer(writer: Any) -> None:
    """Release the lock and temporary files of a writer whose ``cancel()`` failed.

    Leans on ``SegmentWriter._cleanup_on_error``, Whoosh's own cleanup after a
    failed commit; no public method frees the lock of a half-committed writer.
    """
    writer._cleanup_on_error()


def finalize_segment(writer: Any) -> Any:
    """Write a worker's segment and return it (``SegmentWriter._finalize_segment``, what
    Whoosh's ``SubWriterTask.run`` calls for a ``multisegment`` parallel build)."""
    return writer._finalize_segment()


def merge_segments(writer: Any, mergetype: Any, optimize: Any, merge: Any) -> list[Any]:
    """The segments a commit keeps after merging, as ``SegmentWriter.commit`` computes them.

    Leans on ``SegmentWriter._merge_segments``: a parallel build commits its
    workers' segments itself (``_FilmMpWriter._commit``), with the same merge.
    """
    return list(writer._merge_segments(mergetype, optimize, merge))


def commit_segments(writer: Any, segments: list[Any]) -> None:
    """Finish a commit with ``segments`` (plus the writer's own, if it added films).

    Leans on ``SegmentWriter._finalize_segment``, ``_close_segment``,
    ``_commit_toc``, ``_finish`` and the ``_added`` flag: the end of Whoosh's
    ``MpWriter._commit``, which a parallel build replaces to wait for its
    workers without hanging and to count their films.
    """
    added = getattr(writer, "_added", None)
    if added is None:
        raise WhooshIncompatibleError(["SegmentWriter._added"])
    if added:
        segments.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(segments)
    writer._finish()


def length_bytes(reader: Any, field: str) -> bytes | None:
    """The length byte of ``field`` (``length_to_byte``; 0: none) of every document of a
    segment reader, read at once from its lengths column (private: the column
    reader's file and position); None where that is not a one-byte numeric column.
    Calling ``doc_field_length`` per document took 60 ms for five fields of 6,802 films.
    """
    from whoosh.codec import whoosh3
    from whoosh.columns import NumericColumn

    count = reader.doc_count_all()
    try:
        column = reader._perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
        if column is None:
            return bytes(count)
        if type(column) is not NumericColumn.Reader or column._typecode != "B":
            return None
        stored = min(column._count, count)
        data = bytes(column._dbfile.get(column._basepos, stored)) if stored else b""
    except AttributeError:
        return None
    return data + bytes(count - len(data))


# --- opening a segment without copying it ----------------------------------------------------


class BufferReader:
    """A read-only binary file over a buffer that it does not copy (``BytesIO`` copies a
    memoryview): ``read``, ``readline``, ``seek``, ``tell``, iteration by lines, ``close``."""

    def __init__(self, buf: Any) -> None:
        self._view: memoryview | None = memoryview(buf).cast("B")
        self._pos = 0

    def _open_view(self) -> memoryview:
        if self._view is None:
            raise ValueError("I/O operation on closed file.")
        return self._view

    def read(self, size: int | None = -1) -> bytes:
        view = self._open_view()
        end = len(view) if size is None or size < 0 else min(self._pos + size, len(view))
        data = bytes(view[self._pos : end])
        self._pos = max(self._pos, end)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        view = self._open_view()
        end = len(view) if size is None or size < 0 else min(self._pos + size, len(view))
        start = at = self._pos
        while at < end:  # look for the newline a chunk at a time
            chunk = bytes(view[at : min(at + 256, end)])
            newline = chunk.find(b"\n")
            if newline >= 0:
                end = at + newline + 1
                break
            at += len(chunk)
        self._pos = max(start, end)
        return bytes(view[start:end]) if end > start else b""

    def seek(self, offset: int, whence: int = 0) -> int:
        view = self._open_view()
        base = (0, self._pos, len(view))[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek value {base + offset}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        self._open_view()
        return self._pos

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None


def _buffer_file_init(self: Any, buf: Any, name: str | None = None, onclose: Any = None) -> None:
    """``BufferFile.__init__`` with a BufferReader for ``self.file`` where Whoosh makes a
    ``BytesIO(buf)``: a compound segment hands out a BufferFile per sub-file, a slice of
    its mmap, and the BytesIO copied each sub-file whole when an index was opened."""
    self._buf = buf
    self._name = name
    self.file = BufferReader(buf)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


BufferFile.__init__ = _buffer_file_init  # type: ignore[method-assign]


# --- sort runs ------------------------------------------------------------------------------

#: Postings pickled together in a sort run.
RUN_CHUNK = 4096


def _write_run(pool: Any, handle: IO[bytes], items: Iterable[Any]) -> None:
    """``PostingPool._write_run``: postings in pickles of RUN_CHUNK at protocol 5.

    Whoosh pickles each posting at protocol 2, where ``b""`` (every ID field's
    posting value) names ``__builtin__.bytes``, which safe_pickle refuses: any build
    big enough to spill its postings to disk failed. Protocol 5 writes bytes
    without naming anything, and a chunk at a time pickles and loads much faster.
    """
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= RUN_CHUNK:
            pickle.dump(chunk, handle, 5)
            chunk = []
    if chunk:
        pickle.dump(chunk, handle, 5)
    handle.close()


def _read_run(pool: Any, path: str) -> Iterator[Any]:
    """``PostingPool._read_run``: the postings of a run written by ``_write_run``."""
    handle = pool._open_run(path)
    try:
        while True:
            try:
                chunk = safe_load(handle)
            except EOFError:
                return
            yield from chunk
    finally:
        handle.close()
        pool._remove_run(path)


PostingPool._write_run = _write_run  # type: ignore[method-assign,assignment]
PostingPool._read_run = _read_run  # type: ignore[method-assign,assignment]


# --- field lengths while a segment's postings are written -----------------------------------

_column_length_reader: Any = W3PerDocReader.doc_field_length_reader


def _whole_column_length_reader(perdoc: Any, fieldname: str, default: int = 0) -> Any:
    """``W3PerDocReader.doc_field_length_reader``, from the whole lengths column read at once.

    Writing a segment's postings looks up the field length of every posting's
    document (for the blocks' length bounds); Whoosh reads the column one byte at a
    time through three Python calls. Same values: ``byte_to_length`` of the
    length byte, None for a byte 0, ``default`` when the field has no column.
    """
    from whoosh.codec import whoosh3
    from whoosh.columns import NumericColumn
    from whoosh.util.numeric import byte_to_length

    try:
        column = perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
        if column is None or type(column) is not NumericColumn.Reader or column._typecode != "B":
            return _column_length_reader(perdoc, fieldname, default)
        stored = column._count
        data = bytes(column._dbfile.get(column._basepos, stored)) if stored else b""
        data += bytes(max(perdoc._doccount - len(data), 0) + 1)
    except AttributeError:
        return _column_length_reader(perdoc, fieldname, default)
    table = [None] + [byte_to_length(code) for code in range(1, 256)]
    return lambda docnum: table[data[docnum]]


W3PerDocReader.doc_field_length_reader = _whole_column_length_reader  # type: ignore[method-assign]
