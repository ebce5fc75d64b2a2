"""Film records and the reader for the seed document format.

A seed document holds one film::

    Rust_and_Bone
    Released Year: 2012
    Running time: 122
    Director: Jacques Audiard
    Cast: Matthias Schoenaerts,Marion Cotillard,
    Content: A struggling single father ...
    Wiki info:
    Free text to the end of the file ...

The first non-blank line is the title (underscores stand for spaces). Header
fields may be missing, empty, repeated or out of order; unknown ``Key: value``
lines (``Genre:`` is known, ``Country:`` is not) are ignored. ``Content:`` may
continue over several lines; everything after ``Wiki info:`` is wiki text.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import DocumentError, NotFilmsError, escape_surrogates

#: Largest file read; a larger one is skipped, so memory stays bounded.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Longest text kept for one field; longer text is cut there, with a warning.
MAX_FIELD_CHARS = 2_000_000
#: Longest title kept; a longer one is cut there, with a warning.
MAX_TITLE_CHARS = 1000
#: Most problems listed for one file; the rest are counted in one last report,
#: so that a file of a million broken lines does not fill memory with reports.
MAX_PROBLEMS_PER_FILE = 1000
#: Plausible release years; anything else is reported and left empty.
YEAR_RANGE = (1870, 2100)
#: Plausible running times in minutes.
RUNTIME_RANGE = (1, 2000)

# Header keys, lower-cased with spaces folded, mapped to Film attributes.
_KEYS = {
    "released year": "year",
    "release year": "year",
    "year": "year",
    "running time": "runtime",
    "runtime": "runtime",
    "director": "directors",
    "directors": "directors",
    "cast": "cast",
    "starring": "cast",
    "genre": "genres",
    "genres": "genres",
    "content": "synopsis",
    "synopsis": "synopsis",
    "plot": "synopsis",
    "wiki info": "wiki",
    "wiki": "wiki",
}
_HEADER = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}?)\s*:(.*)$")
_LIST_SPLIT = re.compile(r"[,;]")
#: How a NotFilmsError says what a seed document lacks.
NOT_A_FILM = (
    'not a film document (no "Released Year:", "Director:", "Content:" '
    "or other known field line after the title)"
)


@dataclass(frozen=True)
class Film:
    """One film, as read from a source document."""

    id: str
    title: str
    year: int | None = None
    runtime: int | None = None
    directors: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    synopsis: str = ""
    wiki: str = ""
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``filmsearch show --json``, the server's ``/api/films/{id}``)."""
        return {
            "id": self.id,
            "title": self.title,
            "year": self.year,
            "runtime": self.runtime,
            "director": ", ".join(self.directors),
            "directors": list(self.directors),
            "cast": list(self.cast),
            "genres": list(self.genres),
            "synopsis": self.synopsis,
            "wiki": self.wiki,
            "path": self.path,
        }


@dataclass
class ParsedDocument:
    """A film read from a file, with the problems that did not stop it being read."""

    film: Film
    warnings: list[DocumentError] = field(default_factory=list)
    #: The line the film starts on (its row, for CSV and JSON Lines), for reports.
    line: int = 1


def decode(data: bytes, path: str) -> tuple[str, list[DocumentError]]:
    """Decode file bytes: honour a UTF-8 or UTF-16 BOM, else UTF-8 with replacement."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(data):
        encoding = (
            "utf-16"
            if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
            else ("utf-16-le" if data[1:2] == b"\x00" else "utf-16-be")
        )
        try:
            return data.decode(encoding), []
        except UnicodeDecodeError as exc:
            raise DocumentError(path, 1, f"broken UTF-16 text ({exc.reason})") from None
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        warning = DocumentError(
            path, line, "not valid UTF-8; undecodable bytes replaced with U+FFFD"
        )
        return data.decode("utf-8", errors="replace"), [warning]


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a BOM: in ASCII-heavy text every other byte is NUL."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return False
    high, low = sample[0::2], sample[1::2]
    return max(high.count(0), low.count(0)) > 0.9 * len(sample) // 2


def split_names(value: str) -> tuple[str, ...]:
    """Split a comma- or semicolon-separated list of names, dropping empty entries.

    Split on the separators and strip each name: a pattern that also eats the
    spaces around a separator takes quadratic time on a long run of spaces.
    """
    return tuple(name for part in _LIST_SPLIT.split(value) if (name := part.strip()))


# At most 6 digits: int() of a 5,000-digit string is slow, and an error from Python 3.11.
_YEAR = re.compile(r"^(\d{4})(?:$|[-/.\s(])")
_MINUTES = re.compile(r"^(\d{1,6})\s*(?:m|min|mins|minutes)?\.?$", re.IGNORECASE)
_HOURS = re.compile(
    r"^(\d{1,6})\s*h(?:ours?)?\s*(?:(\d{1,6})\s*(?:m|min|mins|minutes)?)?$", re.IGNORECASE
)


def parse_year(value: str) -> int | None:
    match = _YEAR.match(value)
    return int(match.group(1)) if match else None


def parse_minutes(value: str) -> int | None:
    if match := _MINUTES.match(value):
        return int(match.group(1))
    if match := _HOURS.match(value):
        return int(match.group(1)) * 60 + int(match.group(2) or 0)
    return None


def parse_number(
    value: str,
    what: str,
    parse: Callable[[str], int | None],
    bounds: tuple[int, int],
    path: str,
    line: int,
    warnings: list[DocumentError],
) -> int | None:
    """``parse(value)`` within ``bounds``; otherwise a warning and None."""
    value = value.strip()
    if not value or value == "0":  # 0 is how several dumps write "unknown"
        return None
    number = parse(value)
    if number is None or not bounds[0] <= number <= bounds[1]:
        warnings.append(DocumentError(path, line, f"invalid {what} {value[:40]!r}; left empty"))
        return None
    return number


class Unlisted:
    """Problems of one file past MAX_PROBLEMS_PER_FILE: counted, then reported as one."""

    def __init__(self) -> None:
        self.problems = 0
        self.first_line = 0

    def count(self, line: int) -> None:
        self.problems += 1
        self.first_line = self.first_line or line

    def report(self, path: str) -> DocumentError | None:
        """The one report for them all, or None if there were none."""
        if not self.problems:
            return None
        return DocumentError(
            path,
            self.first_line,
            f"{self.problems:,} more problems in this file from here on, not listed "
            f"(at most {MAX_PROBLEMS_PER_FILE:,} are)",
        )


def parse_text(text: str, path: str, film_id: str, require_field: bool = True) -> ParsedDocument:
    """Parse the text of one seed document; raise DocumentError if it holds no film.

    A title with no known field line after it (requirements.txt, notes, a
    licence) is not a film: NotFilmsError, or with ``require_field=False`` (the
    user said the file is a seed document) a film with only a title, and a warning.
    """
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DocumentError(path, line, "binary data (NUL byte); not a text document")
    lines = text.splitlines()
    warnings: list[DocumentError] = []
    values: dict[str, list[str]] = {}
    seen_at: dict[str, int] = {}
    title = ""
    current: str | None = None
    unlisted = Unlisted()

    def warn(problem: DocumentError) -> None:
        if len(warnings) < MAX_PROBLEMS_PER_FILE:
            warnings.append(problem)
        else:
            unlisted.count(problem.line)

    for number, raw in enumerate(lines, start=1):
        if current == "wiki":
            values["wiki"].append(raw)
            continue
        match = _HEADER.match(raw)
        key = _KEYS.get(" ".join(match.group(1).lower().split())) if match else None
        field_name, field_value = (match.group(1), match.group(2)) if match else ("", "")
        if not title and key is None:
            if raw.strip():
                title = " ".join(raw.replace("_", " ").split())
                if len(title) > MAX_TITLE_CHARS:
                    warnings.append(
                        DocumentError(
                            path, number, f"title longer than {MAX_TITLE_CHARS:,} characters; cut"
                        )
                    )
                    title = title[:MAX_TITLE_CHARS]
            continue
        if key is not None:
            if not title:
                raise DocumentError(path, number, "no title line before the first field")
            if key in seen_at:
                warn(
                    DocumentError(
                        path,
                        number,
                        f"field {field_name.strip()!r} repeated "
                        f"(first on line {seen_at[key]}); the last one wins",
                    )
                )
            seen_at[key] = number
            values[key] = [field_value.strip()]
            current = key
        elif current == "synopsis":
            values["synopsis"].append(raw)
        elif raw.strip() and not match:
            warn(DocumentError(path, number, "line outside any field ignored"))
    if not title:
        raise DocumentError(path, 1, "empty document (no title line)")
    if summary := unlisted.report(path):
        warnings.append(summary)
    if not values:
        if require_field:
            raise NotFilmsError(path, 1, NOT_A_FILM)
        warnings.append(DocumentError(path, 1, "only a title; no other field"))

    def text_of(key: str) -> str:
        joined = "\n".join(values.get(key, [])).strip()
        if len(joined) > MAX_FIELD_CHARS:
            warnings.append(
                DocumentError(
                    path,
                    seen_at[key],
                    f"{key} text longer than {MAX_FIELD_CHARS:,} characters; cut",
                )
            )
            joined = joined[:MAX_FIELD_CHARS]
        return joined

    film = Film(
        id=film_id,
        title=title,
        year=parse_number(
            text_of("year"), "year", parse_year, YEAR_RANGE, path, seen_at.get("year", 1), warnings
        ),
        runtime=parse_number(
            text_of("runtime"),
            "running time",
            parse_minutes,
            RUNTIME_RANGE,
            path,
            seen_at.get("runtime", 1),
            warnings,
        ),
        directors=split_names(text_of("directors")),
        cast=split_names(text_of("cast")),
        genres=split_names(text_of("genres")),
        synopsis=text_of("synopsis"),
        wiki=text_of("wiki"),
        path=path,
    )
    return ParsedDocument(film, warnings)


def parse_bytes(data: bytes, path: str, require_field: bool = True) -> ParsedDocument:
    """Decode and parse one seed document's bytes; the film id is the file's stem."""
    if not data.strip():
        raise DocumentError(path, 1, "empty file")
    text, warnings = decode(data, path)
    # A file name's undecodable bytes (lone surrogates from os.fsdecode) cannot be indexed.
    film_id = escape_surrogates(os.path.splitext(os.path.basename(path))[0])
    parsed = parse_text(text, path, film_id, require_field)
    parsed.warnings[:0] = warnings
    return parsed


def check_regular_file(path: str) -> int:
    """The size of a regular file; DocumentError for a pipe, device, folder or unreadable path.

    Opening a named pipe would block until someone writes to it, so every
    reader checks this first.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(path, 1, "not a regular file (a pipe, device or folder)")
    return info.st_size


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a document file; DocumentError for what is not a readable regular file."""
    path = os.fspath(path)
    size = check_regular_file(path)
    if size > MAX_FILE_BYTES:
        raise DocumentError(
            path, 1, f"file of {size:,} bytes is larger than the {MAX_FILE_BYTES:,} bytes accepted"
        )
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None


def read_film(path: str | os.PathLike[str], require_field: bool = True) -> ParsedDocument:
    """Read one seed document from disk (see parse_text for ``require_field``)."""
    return parse_bytes(read_bytes(path), os.fspath(path), require_field)
