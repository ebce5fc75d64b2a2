"""Each segment's postings as flat arrays in a file beside it, for ranking with numpy.

Whoosh keeps postings in compressed blocks that it decodes in Python, a few
microseconds a posting. While a segment is written, ``PostingsCapture`` sees
the postings of its scored fields go by (Whoosh streams them sorted by field,
word and document) and then saves them as ``<segment id>.fsp``:

- a header: ``MAGIC``, the header's length, then JSON (documents in the
  segment, postings in the file, and where each field's word table starts);
- every posting's document number (int32), then every frequency (float32),
  each word's postings contiguous;
- per field, a word table in the order of the words' 64-bit ``word_hash``:
  the hashes, where each word's postings start and how many there are, and
  where its UTF-8 bytes are in the field's word list (a looked-up word is
  compared with them, so a hash collision never mixes up two words).

The file is named like the segment's own files (``MAIN_<id>.fsp``) and is
written once the segment's compound file is assembled, so Whoosh's clean-up
deletes it with its segment. It holds numbers and words only (nothing is
unpickled). It is optional: ``open_postings`` returns None for a segment
without a valid one, and the search then reads Whoosh's postings.
Writing needs only the standard library; reading needs numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

MAGIC = b"FSPOST01"
SUFFIX = ".fsp"
#: Postings buffered in memory before they go to the capture's temporary files.
BUFFERED_POSTINGS = 1 << 20
_LENGTH = struct.Struct("<Q")
_ALIGN = 8


def word_hash(word: bytes) -> int:
    """The 64-bit hash a word is filed under (the same in every process and release)."""
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")


def file_name(segment_id: str) -> str:
    """The postings file of a segment (Whoosh deletes files named ``<segment id>.*``)."""
    return f"{segment_id}{SUFFIX}"


class _FieldWords:
    """One field's words as captured: bytes, first posting and count, in capture order."""

    def __init__(self) -> None:
        self.words: list[bytes] = []
        self.starts = array("q")
        self.counts = array("i")


class PostingsCapture:
    """Records a segment's postings of ``fields`` as Whoosh's writer streams them.

    ``tee`` wraps the sorted stream Whoosh writes from; ``save`` writes the
    file once the segment is complete. Postings beyond ``BUFFERED_POSTINGS``
    wait in anonymous temporary files in ``folder``, so memory stays bounded.
    """

    def __init__(self, fields: Iterable[str], folder: str) -> None:
        self.fields = frozenset(fields)
        self.folder = folder
        self.by_field: dict[str, _FieldWords] = {}
        self.total = 0
        self._docs = array("i")
        self._freqs = array("f")
        self._spill: tuple[IO[bytes], IO[bytes]] | None = None
        self.broken = False  # the stream did not look as expected: write nothing

    def tee(self, postings: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        """Yield Whoosh's ``(field, word bytes, document, weight, value)`` postings
        unchanged, recording those of the captured fields."""
        fields = self.fields
        current: tuple[str, bytes] | None = None
        words: _FieldWords | None = None
        docs, freqs = self._docs, self._freqs
        for item in postings:
            field = item[0]
            if field in fields:
                key = (field, item[1])
                if key != current:
                    if current is not None and key < current:
                        self.broken = True  # not sorted: do not trust what we saw
                    current = key
                    words = self.by_field.setdefault(field, _FieldWords())
                    words.words.append(item[1])
                    words.starts.append(self.total)
                    words.counts.append(0)
                assert words is not None
                words.counts[-1] += 1
                docs.append(item[2])
                freqs.append(item[3])
                self.total += 1
                if len(docs) >= BUFFERED_POSTINGS:
                    self._flush()
            yield item

    def add_word(self, field: str, word: bytes, docs: list[int], weights: list[float]) -> None:
        """Record a word's postings at once (its documents and weights, in document order);
        words must come as ``tee`` sees them: by field, then word bytes."""
        if field not in self.fields or not len(docs):
            return
        words = self.by_field.get(field)
        if words is None:
            words = self.by_field[field] = _FieldWords()
        elif words.words and word <= words.words[-1]:
            self.broken = True  # not sorted: do not trust what we saw
        words.words.append(word)
        words.starts.append(self.total)
        words.counts.append(len(docs))
        self._docs.extend(docs)
        self._freqs.extend(weights)
        self.total += len(docs)
        if len(self._docs) >= BUFFERED_POSTINGS:
            self._flush()

    def _flush(self) -> None:
        if self._spill is None:
            # closed by close(); anonymous, so nothing is left behind even if never closed
            self._spill = (
                tempfile.TemporaryFile(dir=self.folder),  # noqa: SIM115
                tempfile.TemporaryFile(dir=self.folder),  # noqa: SIM115
            )
        self._docs.tofile(self._spill[0])
        self._freqs.tofile(self._spill[1])
        del self._docs[:], self._freqs[:]

    def save(self, path: str, doc_count: int) -> None:
        """Write the postings file of a segment of ``doc_count`` documents to ``path``."""
        if self.broken:
            return
        tables = {field: _table(words) for field, words in sorted(self.by_field.items())}
        offset = 0  # of the data, from the end of the header
        docs_at, offset = offset, offset + 4 * self.total
        freqs_at, offset = _aligned(offset), _aligned(offset) + 4 * self.total
        layout: dict[str, dict[str, int]] = {}
        for field, table in tables.items():
            offset = _aligned(offset)
            layout[field] = {"words": len(table.hashes), "table": offset}
            offset += table.size
        header = json.dumps(
            {
                "documents": doc_count,
                "postings": self.total,
                "docs": docs_at,
                "freqs": freqs_at,
                "fields": layout,
            }
        ).encode("ascii")
        header += b" " * (-(len(MAGIC) + _LENGTH.size + len(header)) % _ALIGN)
        with open(path, "wb") as out:
            out.write(MAGIC + _LENGTH.pack(len(header)) + header)
            start = out.tell()
            self._copy(out, 0)
            out.write(b"\0" * (start + freqs_at - out.tell()))
            self._copy(out, 1)
            for field, table in tables.items():
                out.write(b"\0" * (start + layout[field]["table"] - out.tell()))
                table.write(out)
        self.close()

    def _copy(self, out: IO[bytes], which: int) -> None:
        if self._spill is not None:
            spilled = self._spill[which]
            spilled.seek(0)
            shutil.copyfileobj(spilled, out)
        (self._docs, self._freqs)[which].tofile(out)

    def close(self) -> None:
        """Drop what was captured (the temporary files vanish when closed)."""
        if self._spill is not None:
            for spilled in self._spill:
                spilled.close()
            self._spill = None
        self.by_field.clear()
        del self._docs[:], self._freqs[:]


@dataclass
class _Table:
    """A field's word table in hash order, ready to write."""

    hashes: array[int]
    starts: array[int]
    counts: array[int]
    word_ends: array[int]  # end of each word in ``words``
    words: bytes

    @property
    def size(self) -> int:
        count = len(self.hashes)
        return 8 * count + 8 * count + _aligned(4 * count) + 8 * count + len(self.words)

    def write(self, out: IO[bytes]) -> None:
        self.hashes.tofile(out)
        self.starts.tofile(out)
        self.counts.tofile(out)
        out.write(b"\0" * (_aligned(4 * len(self.counts)) - 4 * len(self.counts)))
        self.word_ends.tofile(out)
        out.write(self.words)


def _table(words: _FieldWords) -> _Table:
    hashes = [word_hash(word) for word in words.words]
    order = sorted(range(len(hashes)), key=hashes.__getitem__)
    ends, end = array("q"), 0
    for position in order:
        end += len(words.words[position])
        ends.append(end)
    return _Table(
        hashes=array("Q", (hashes[position] for position in order)),
        starts=array("q", (words.starts[position] for position in order)),
        counts=array("i", (words.counts[position] for position in order)),
        word_ends=ends,
        words=b"".join(words.words[position] for position in order),
    )


def _aligned(offset: int) -> int:
    return offset + (-offset % _ALIGN)


# --- reading -------------------------------------------------------------------------------


class FieldPostings:
    """One field's word table of a segment's postings file (numpy views on the file)."""

    def __init__(self, buffer: Any, at: int, count: int) -> None:
        import numpy as np

        self.hashes = np.frombuffer(buffer, "<u8", count, at)
        at += 8 * count
        self.starts = np.frombuffer(buffer, "<i8", count, at)
        at += 8 * count
        self.counts = np.frombuffer(buffer, "<i4", count, at)
        at += _aligned(4 * count)
        self.word_ends = np.frombuffer(buffer, "<i8", count, at)
        at += 8 * count
        self.words_at = at
        self.buffer = buffer
        self._uint64 = np.uint64

    def find(self, word: bytes) -> tuple[int, int] | None:
        """(first posting, count) of ``word``, or None if the field of this segment lacks it."""
        hashed = word_hash(word)
        return self.find_at(word, hashed, int(self.hashes.searchsorted(self._uint64(hashed))))

    def find_at(self, word: bytes, hashed: int, position: int) -> tuple[int, int] | None:
        """``find`` of a word whose hash is ``hashed`` and sorts at ``position`` in the
        table (``hashes.searchsorted``: many words are placed with one call)."""
        hashes = self.hashes
        while position < len(hashes) and int(hashes[position]) == hashed:
            end = int(self.word_ends[position])
            begin = int(self.word_ends[position - 1]) if position else 0
            if self.buffer[self.words_at + begin : self.words_at + end] == word:
                return int(self.starts[position]), int(self.counts[position])
            position += 1
        return None


class SegmentPostings:
    """A segment's postings file, memory-mapped: ``postings(field, word)`` gives the
    (document numbers, frequencies) arrays of a word."""

    def __init__(self, buffer: Any, header: dict[str, Any], data_at: int) -> None:
        import numpy as np

        total = int(header["postings"])
        self.documents = int(header["documents"])
        self.docs: np.ndarray[Any, Any] = np.frombuffer(
            buffer, "<i4", total, data_at + int(header["docs"])
        )
        self.freqs: np.ndarray[Any, Any] = np.frombuffer(
            buffer, "<f4", total, data_at + int(header["freqs"])
        )
        self.fields = {
            field: FieldPostings(buffer, data_at + int(where["table"]), int(where["words"]))
            for field, where in header["fields"].items()
        }
        self._buffer = buffer

    def postings(self, field: str, word: bytes) -> tuple[Any, Any] | None:
        """The documents and frequencies of ``word`` in ``field``; None where the segment
        has no word table for the field (then the caller must read Whoosh's postings)."""
        table = self.fields.get(field)
        if table is None:
            return None
        found = table.find(word)
        if found is None:
            return self.docs[:0], self.freqs[:0]
        start, count = found
        return self.docs[start : start + count], self.freqs[start : start + count]


def open_postings(folder: str, segment_id: str, doc_count: int) -> SegmentPostings | None:
    """The segment's postings file, memory-mapped, or None if it is missing, unreadable or
    does not fit the segment (the search then reads Whoosh's postings)."""
    import mmap

    path = os.path.join(folder, file_name(segment_id))
    try:
        with open(path, "rb") as handle:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # missing, or empty (mmap refuses 0 bytes)
        return None
    try:
        return _checked(buffer, doc_count)
    except (ValueError, KeyError, TypeError, OverflowError):
        return None


def _checked(buffer: Any, doc_count: int) -> SegmentPostings | None:
    """Parse and bounds-check a postings file; None if it does not fit the segment."""
    prefix = len(MAGIC) + _LENGTH.size
    if len(buffer) < prefix or buffer[: len(MAGIC)] != MAGIC:
        return None
    (length,) = _LENGTH.unpack(buffer[len(MAGIC) : prefix])
    if length > len(buffer) - prefix:
        return None
    header = json.loads(bytes(buffer[prefix : prefix + length]).decode("ascii"))
    if not isinstance(header, dict) or header.get("documents") != doc_count:
        return None
    postings = SegmentPostings(buffer, header, prefix + length)  # frombuffer checks sizes
    for table in postings.fields.values():
        ends = table.word_ends
        if len(ends) and table.words_at + int(ends[-1]) > len(buffer):
            return None
        if len(table.starts) and (
            int((table.starts + table.counts).max()) > len(postings.docs)
            or int(table.starts.min()) < 0
            or int(table.counts.min()) < 0
        ):
            return None
    if len(postings.docs) and (
        int(postings.docs.min()) < 0 or int(postings.docs.max()) >= doc_count
    ):
        return None
    return postings
