"""A segment's postings, inverted in memory and spilled to sorted runs when large.

Whoosh's writer turns every posting into a tuple, sorts the tuples of the whole
segment (in runs spilled to disk, merged back a posting at a time) and hands
them one by one to its codec: about 30 µs of Python per posting. ``Inverter``
instead files each posting under its word as documents are added (a flat list
per word: document number, weight, encoded value, ...). When the estimated
memory passes its limit, everything so far is written to a run file, words in
order; at the end the runs and what is still in memory are merged a *word* at
a time (a word's postings from each run, in run order, which is document
order), so the merge costs per word and run, not per posting.

A run is pickles (protocol 5, read back through ``safe_pickle``: bytes, strings,
tuples and lists only) of records ``(field, word bytes, document numbers as
int32 bytes, weights as float64 bytes, values tuple)``.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import pickle
from array import array
from collections.abc import Iterator
from typing import Any

from .safe_pickle import safe_load

#: Records pickled together in a run.
RUN_RECORDS = 2048
#: Estimated bytes of memory per posting and per word (the flat lists, shared values).
POSTING_BYTES = 40
WORD_BYTES = 200

#: A field, a word, and its postings: document numbers, weights exactly as given,
#: encoded values.
Record = tuple[str, bytes, list[int], list[float], list[bytes]]


class Inverter:
    """The postings of one segment, by field and word, within ``limit_bytes`` of memory.

    Writers add to ``field(name)``: a dict from word bytes to a flat list
    ``[doc, weight, value, doc, weight, value, ...]`` in increasing document
    order, and then call ``added(postings, words)`` so that the inverter can spill
    when full. ``records()`` gives every (field, word, postings) in order, once.
    """

    def __init__(self, tempstorage: Any, limit_bytes: int) -> None:
        self.tempstorage = tempstorage
        self.limit = limit_bytes
        self.fields: dict[str, dict[Any, list[Any]]] = {}
        #: Fields whose words are filed as ``str`` (encoded to UTF-8 when written: the
        #: order of code points is the order of their UTF-8 bytes).
        self.text: set[str] = set()
        self.estimate = 0
        self.postings = 0
        self.runs: list[str] = []

    def field(self, name: str, text: bool = False) -> dict[Any, list[Any]]:
        """The words of field ``name``: keyed by ``str`` if ``text``, else by UTF-8 bytes
        (a field is always filed the same way)."""
        words = self.fields.get(name)
        if words is None:
            words = self.fields[name] = {}
            if text:
                self.text.add(name)
        return words

    def forget(self, fields: list[str], doc: int) -> None:
        """Take back the postings of document ``doc`` (the last one filed) in ``fields``."""
        for name in fields:
            words = self.fields.get(name, {})
            for word in [word for word, flat in words.items() if flat[-3] == doc]:
                del words[word][-3:]
                if not words[word]:
                    del words[word]

    def added(self, postings: int, words: int) -> None:
        """Count what a document added; spill to a run once over the limit."""
        self.postings += postings
        self.estimate += POSTING_BYTES * postings + WORD_BYTES * words
        if self.estimate > self.limit:
            self.spill()

    def __bool__(self) -> bool:
        return bool(self.runs) or any(self.fields.values())

    def spill(self) -> None:
        """Write what is in memory to a new run and forget it."""
        if not any(self.fields.values()):
            return
        name = f"{os.getpid()}-{id(self):x}-{len(self.runs)}.frun"
        handle = self.tempstorage.create_file(name)
        try:
            chunk: list[Any] = []
            for field, word, docs, weights, values in self._memory_records():
                doc_bytes = array("i", docs).tobytes()
                chunk.append((field, word, doc_bytes, array("d", weights).tobytes(), tuple(values)))
                if len(chunk) >= RUN_RECORDS:
                    pickle.dump(chunk, handle, 5)
                    chunk = []
            if chunk:
                pickle.dump(chunk, handle, 5)
        finally:
            handle.close()
        self.runs.append(name)
        self.fields = {}
        self.estimate = 0

    def _memory_records(self) -> Iterator[Record]:
        for field in sorted(self.fields):
            words = self.fields[field]
            text = field in self.text
            for word in sorted(words):
                flat = words[word]
                encoded = word.encode("utf-8") if text else word
                yield field, encoded, flat[0::3], flat[1::3], flat[2::3]

    def _run_records(self, name: str) -> Iterator[Record]:
        handle = self.tempstorage.open_file(name).raw_file()
        try:
            while True:
                try:
                    chunk = safe_load(handle)
                except EOFError:
                    break
                for field, word, doc_bytes, weight_bytes, values in chunk:
                    docs, weights = array("i"), array("d")
                    docs.frombytes(doc_bytes)
                    weights.frombytes(weight_bytes)
                    yield field, word, docs.tolist(), weights.tolist(), list(values)
        finally:
            handle.close()
        self.tempstorage.delete_file(name)

    def records(self) -> Iterator[Record]:
        """Every field's words in order (fields by name, words by bytes), each with all its
        postings in document order; the inverter is empty afterwards."""
        if not self.runs:
            yield from self._memory_records()
            self.fields = {}
            return
        sources = [self._run_records(name) for name in self.runs]
        sources.append(self._memory_records())
        self.runs = []
        merged = heapq.merge(*sources, key=_key)  # equal keys: in source (document) order
        current: Record | None = None
        for record in merged:
            if current is not None and record[0] == current[0] and record[1] == current[1]:
                current[2].extend(record[2])
                current[3].extend(record[3])
                current[4].extend(record[4])
                continue
            if current is not None:
                yield current
            current = record
        if current is not None:
            yield current
        self.fields = {}

    def tuples(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        """The postings as Whoosh's pool streams them: (field, word, doc, weight, value)."""
        for field, word, docs, weights, values in self.records():
            yield from zip(
                [field] * len(docs), [word] * len(docs), docs, weights, values, strict=True
            )

    def discard(self) -> None:
        """Drop everything (a cancelled writer); run files go with the temporary storage."""
        for name in self.runs:
            with contextlib.suppress(OSError):
                self.tempstorage.delete_file(name)
        self.runs = []
        self.fields = {}


def _key(record: Record) -> tuple[str, bytes]:
    return record[0], record[1]
