"""The exceptions filmsearch raises: one base class, one subclass per problem."""

from __future__ import annotations

import os
import pickle
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import whoosh.index


class FilmSearchError(Exception):
    """Base class of every error filmsearch raises on purpose."""


class DocumentError(FilmSearchError):
    """A source document could not be used (or only partly): ``path:line: reason``."""

    def __init__(self, path: str | os.PathLike[str], line: int, reason: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")


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
    AssertionError,
)


@contextmanager
def reading_index(index_dir: str | os.PathLike[str]) -> Iterator[None]:
    """Turn what Whoosh raises on missing or corrupt index files into IndexDamagedError."""
    try:
        yield
    except DAMAGE_ERRORS as error:
        raise IndexDamagedError(index_dir, f"{type(error).__name__}: {error}") from error
