"""Which reader a source file needs: seed documents, CSV dumps or JSON Lines.

The format comes from the file's extension (``.txt`` seed, ``.csv``/``.tsv``,
``.jsonl``/``.ndjson``) and, for other names, from its first bytes: a first
line holding a JSON object starts JSON Lines (pretty-printed JSON does not), a
first line naming a title column and other known columns
is a CSV header, anything else is a seed document. ``--format`` overrides it.

``read_source`` is the one entry point: it never raises after its first item,
lists at most ``MAX_PROBLEMS_PER_FILE`` problems per file, and raises
NotFilmsError first for a file that does not look like films (see there).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator

from .documents import (
    MAX_PROBLEMS_PER_FILE,
    ParsedDocument,
    Unlisted,
    check_regular_file,
    read_film,
)
from .errors import DocumentError
from .tabular import column_map, load_json, read_csv, read_jsonl

#: Formats a user may name; "auto" detects each file's own.
FORMATS = ("auto", "seed", "csv", "jsonl")
#: Extensions read when a folder is walked, and the format each implies.
EXTENSIONS = {".txt": "seed", ".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
#: Readers of the formats that hold many films per file: (path, require_films) -> items.
MULTI_FILM_READERS: dict[str, Callable[[str, bool], Iterator[ParsedDocument | DocumentError]]] = {
    "csv": lambda path, require_films: read_csv(path),
    "jsonl": read_jsonl,
}
#: What a reader may raise on a file no check foresaw; reported, never aborting a build.
UNFORESEEN = (RecursionError, ValueError, UnicodeError, LookupError, csv.Error, MemoryError)


def detect_format(path: str) -> str:
    """The format of the file at ``path`` (one of ``FORMATS`` except "auto")."""
    by_extension = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if by_extension in ("csv", "jsonl"):
        return by_extension
    try:
        check_regular_file(path)
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except (OSError, DocumentError):
        return "seed"  # the seed reader reports why the file cannot be read
    text = head.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="replace").lstrip()
    if text.startswith("{") and _first_line_is_object(text, len(head) < 8192):
        return "jsonl"
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=first_line.count)
    columns = column_map([cell.strip().strip('"') for cell in first_line.split(delimiter)])
    if "title" in columns and len(columns) >= 3:
        return "csv"
    return "seed"


def _first_line_is_object(text: str, whole: bool) -> bool:
    """Whether ``text`` (the start of a file) begins with a line holding one JSON object.

    Pretty-printed JSON (a settings file) starts with a line holding only "{".
    A first line longer than the sample read is given the benefit of the doubt.
    """
    line, newline, _ = text.partition("\n")
    if not newline and not whole:
        return True
    try:
        return isinstance(load_json(line)[0], dict)
    except ValueError:
        return False


def read_source(path: str, source_format: str = "auto") -> Iterator[ParsedDocument | DocumentError]:
    """Every film in the file at ``path``, or a DocumentError for each part that is unusable.

    A file that cannot be used at all (unreadable, not a regular file, a broken
    CSV header) raises DocumentError when iteration starts; after the first
    item, problems are yielded, never raised. One bad record is one
    DocumentError (``path:line: reason``); the records after it are read.

    A file that does not look like films raises NotFilmsError first: a seed
    document with no known field line after its title, a CSV with no title
    column, JSON Lines whose objects have no title key. This holds for files
    found in folders and files named one by one; ``source_format`` other than
    "auto" says what the files are, and then title-only seed documents and
    JSON Lines without titles are read (a CSV still needs a title column).
    """
    require_films = source_format == "auto"
    if require_films:
        source_format = detect_format(path)
    started = False
    try:
        if source_format == "seed":
            film = read_film(path, require_films)
            started = True
            yield film
        else:
            unlisted = Unlisted()
            listed = 0
            for item in MULTI_FILM_READERS[source_format](path, require_films):
                if isinstance(item, DocumentError):
                    if listed >= MAX_PROBLEMS_PER_FILE:
                        unlisted.count(item.line)
                        continue
                    listed += 1
                elif item.warnings:
                    room = max(MAX_PROBLEMS_PER_FILE - listed, 0)
                    for warning in item.warnings[room:]:
                        unlisted.count(warning.line)
                    del item.warnings[room:]
                    listed += len(item.warnings)
                started = True
                yield item
            if summary := unlisted.report(path):
                yield summary
    except DocumentError as error:
        if not started:
            raise
        yield error  # a reader's error after the first item: reported, not raised
    except UNFORESEEN as exc:
        unforeseen = DocumentError(
            path, 1, f"cannot read ({type(exc).__name__}: {str(exc)[:200]}); file skipped"
        )
        if not started:
            raise unforeseen from None
        yield unforeseen


def stream_digest(path: str, chunk: int = 1 << 20) -> str:
    """A content digest of a file of any size, read in chunks (DocumentError if unreadable)."""
    digest = hashlib.blake2b(digest_size=16)
    check_regular_file(path)
    try:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def iter_source_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str | DocumentError]:
    """Yield the absolute path of every document under ``paths``, in a stable order.

    Folders are walked recursively (files with an extension in ``EXTENSIONS``,
    hidden entries skipped, links to folders not followed); a path that does
    not exist is yielded as a DocumentError so that the caller can go on.
    """
    for root in paths:
        root = os.path.abspath(os.fspath(root))
        if os.path.isfile(root):
            yield root
        elif os.path.isdir(root):
            for folder, subdirs, files in os.walk(root, onerror=None):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                for name in sorted(files):
                    extension = os.path.splitext(name)[1].lower()
                    if extension in EXTENSIONS and not name.startswith("."):
                        yield os.path.join(folder, name)
        else:
            yield DocumentError(root, 1, "no such file or folder")
