"""The exceptions filmsearch raises: one base class, one subclass per problem."""

from __future__ import annotations

import errno
import os
import pickle
import re
import struct
import sys
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


#: Exceptions that only Whoosh raises, and only about an index's files: damage wherever raised.
_WHOOSH_DAMAGE: tuple[type[BaseException], ...] = (
    whoosh.index.IndexError,  # no table of contents, or an unknown version of one
    whoosh.reading.CorruptIndexError,  # wraps any error reading a postings block header
)

#: Low-level exceptions that mean a missing, truncated or garbled file when the code
#: reading the index's files raised them (see ``is_damage``); raised anywhere else,
#: they are bugs and must surface as such.
_READING_DAMAGE: tuple[type[BaseException], ...] = (
    OSError,  # only about a missing or unreadable file: see _FILE_ERRNOS
    EOFError,  # a pickle or a block cut short
    pickle.UnpicklingError,  # a garbled pickle; also safe_pickle's ForbiddenPickleError
    struct.error,  # a header or a number cut short
    zlib.error,  # a garbled compressed block
    UnicodeDecodeError,  # garbled text in the lexicon or the stored fields
    whoosh.reading.TermNotFound,  # a lexicon that names a word its postings do not have
    AssertionError,  # Whoosh's checks of what it read
)

#: What decoding garbage raises (``ord(b"")`` past the end of a file cut short, an
#: offset past the end of a block, ...): damage when raised in ``_DECODERS``.
_DECODING_DAMAGE: tuple[type[BaseException], ...] = (
    IndexError,
    KeyError,
    ValueError,
    TypeError,
    OverflowError,
)

#: What reading a damaged index can raise: ``is_damage`` says when it does mean damage.
DAMAGE_ERRORS: tuple[type[BaseException], ...] = (
    *_WHOOSH_DAMAGE,
    *_READING_DAMAGE,
    *_DECODING_DAMAGE,
)

#: The OSErrors that say a file is missing or cannot be read (not EACCES, EMFILE, ENOMEM ...).
_FILE_ERRNOS = frozenset(
    {errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EIO, errno.ESTALE, errno.ELOOP}
)

#: Modules that read index files: Whoosh, and the filmsearch modules Whoosh calls to
#: unpickle (safe_pickle) or that read Whoosh's files through its private API (whoosh_compat).
_INDEX_READERS = ("filmsearch.index.safe_pickle", "filmsearch.index.whoosh_compat")

#: Whoosh's modules that turn an index file's bytes into numbers, lists and blocks.
_DECODERS = (
    "whoosh.codec.",
    "whoosh.filedb.",
    "whoosh.columns",
    "whoosh.formats",
    "whoosh.util.varints",
    "whoosh.util.numlists",
)


def _is_stdlib(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def _is_index_reader(module: str) -> bool:
    return module == "whoosh" or module.startswith("whoosh.") or module in _INDEX_READERS


def raised_in(error: BaseException) -> str | None:
    """The module of the innermost frame of ``error``'s traceback outside the standard
    library (a bytes parser, ``pickle`` or ``struct`` raising for its caller), or None."""
    module = None
    frame = error.__traceback__
    while frame is not None:
        name = frame.tb_frame.f_globals.get("__name__")
        if isinstance(name, str) and not _is_stdlib(name):
            module = name
        frame = frame.tb_next
    return module


def is_damage(error: BaseException) -> bool:
    """Whether ``error`` says that an index file is missing, truncated or garbled.

    Whoosh's own index errors always do. The low-level errors of ``_READING_DAMAGE``
    (an AssertionError, a ``struct.error``, an OSError about a missing file, ...) do
    only when the code reading the index's files raised them: Whoosh, or the
    filmsearch modules that read files for it (``_INDEX_READERS``); an IndexError,
    ValueError, ... only when Whoosh raised it decoding a file's bytes (``_DECODERS``).
    The same error from any other filmsearch code is a bug, not damage.
    """
    if isinstance(error, _WHOOSH_DAMAGE):
        return True
    module = raised_in(error)
    if module is None:
        return False
    if isinstance(error, _DECODING_DAMAGE) and module.startswith(_DECODERS):
        return True
    if not isinstance(error, _READING_DAMAGE) or not _is_index_reader(module):
        return False
    return not isinstance(error, OSError) or error.errno in _FILE_ERRNOS


@contextmanager
def reading_index(index_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Turn what reading missing or corrupt index files raises into IndexDamagedError.

    Only errors ``is_damage`` accepts: anything else raised inside (a bug in
    filmsearch, a permission problem, memory) passes through unchanged.
    """
    try:
        yield
    except DAMAGE_ERRORS as error:
        if not is_damage(error):
            raise
        raise IndexDamagedError(index_dir, f"{type(error).__name__}: {error}") from error


class SemanticUnavailableError(FilmSearchError):
    """Semantic ranking cannot run: the index has no film vectors, or the ``semantic``
    extra (sentence-transformers) or its model is missing."""
