"""The exceptions filmsearch raises: one base class, one subclass per problem."""

from __future__ import annotations

import os
import pickle
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import whoosh.index
import whoosh.reading


class FilmSearchError(Exception):
    """Base class of every error filmsearch raises on purpose."""


#: Characters that would break a one-line report or reach a terminal raw: C0 and C1
#: controls, DEL, line and paragraph separators, and lone surrogates (which cannot
#: be written as UTF-8; os.fsdecode turns undecodable file-name bytes into them).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a file-name byte os.fsdecode could not decode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters and lone surrogates escaped as ``\\n``, ``\\x1b``, ….

    The result is one line, safe to print to a terminal and encodable as UTF-8;
    a file name's undecodable byte 0xff shows as ``\\xff``.
    """
    return _UNPRINTABLE.sub(_escape_one, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_surrogates(text: str) -> str:
    """``text`` made encodable as UTF-8: each lone surrogate written as ``\\xff`` or ``\\ud800``.

    Paths from os.fsdecode hold undecodable bytes as lone surrogates; Whoosh,
    terminals and JSON writers cannot encode them. Other text is unchanged.
    """
    return _SURROGATE.sub(_escape_one, text)


class DocumentError(FilmSearchError):
    """A source document could not be used (or only partly): ``path:line: reason``.

    ``path`` and ``reason`` keep the raw values; the message (``str()``) escapes
    control characters and undecodable file-name bytes, so a report is always
    exactly one printable line.
    """

    def __init__(self, path: str | os.PathLike[str], line: int, reason: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{escape_controls(self.path)}:{line}: {escape_controls(reason)}")

    def __reduce__(self) -> tuple[type[DocumentError], tuple[str, int, str]]:
        # Exceptions pickle as cls(*args); ours takes (path, line, reason), not the message.
        return (type(self), (self.path, self.line, self.reason))


class NotFilmsError(DocumentError):
    """A file that does not look like film documents, so it was not indexed.

    A seed document needs a title line and at least one known field line
    (``Released Year:``, ``Director:``, ``Content:``, …); a CSV needs a title
    column; a JSON Lines file needs objects with a title key. Build reports
    count these files as "not films" rather than as broken documents.
    """


class IndexNotFoundError(FilmSearchError):
    """There is no filmsearch index at the given location."""

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = os.fspath(index_dir)
        super().__init__(
            f"no index at {self.index_dir}; build one with: "
            f"filmsearch index PATH --index {self.index_dir}"
        )


class IndexMismatchError(FilmSearchError):
    """The existing index was built with settings that differ from the ones asked for."""


class IndexLockedError(FilmSearchError):
    """Another process is writing the index."""


class IndexDamagedError(FilmSearchError):
    """The index's files are missing or corrupt."""

    def __init__(self, index_dir: str | os.PathLike[str], reason: str) -> None:
        self.index_dir = os.fspath(index_dir)
        super().__init__(
            f"the index at {self.index_dir} is damaged ({reason}); rebuild it with: "
            f"filmsearch index PATH --rebuild --index {self.index_dir}"
        )


#: What reading a damaged index raises from inside Whoosh (missing, truncated or garbled files).
DAMAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    pickle.UnpicklingError,
    struct.error,
    zlib.error,
    whoosh.index.IndexError,
    whoosh.index.IndexVersionError,
    whoosh.reading.CorruptIndexError,  # wraps any error reading a postings block header
    AssertionError,
)


@contextmanager
def reading_index(index_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Turn what Whoosh raises on missing or corrupt index files into IndexDamagedError."""
    try:
        yield
    except DAMAGE_ERRORS as error:
        raise IndexDamagedError(index_dir, f"{type(error).__name__}: {error}") from error


class SemanticUnavailableError(FilmSearchError):
    """Semantic ranking cannot run: the index has no film vectors, or the ``semantic``
    extra (sentence-transformers) or its model is missing."""
