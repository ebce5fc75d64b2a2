"""Many films in one file: CSV dumps and JSON Lines.

Columns (CSV) and keys (JSON Lines) are matched by name, case and spacing
ignored, so one reader serves every layout:

- the Kaggle "Wikipedia Movie Plots" CSV (``Release Year, Title, Director,
  Cast, Genre, Plot``; the plot becomes wiki text, as in the seed rendering);
- the Kaggle "TMDB 5000" movies CSV, whose ``genres`` and ``keywords`` cells
  hold JSON lists (``overview`` is the synopsis, ``tagline`` and keywords wiki
  text, ``release_date`` gives the year);
- a flat CSV, or JSON Lines, with the project's own field names (``title,
  year, runtime, director, cast, genre, synopsis, wiki``; lists may be
  ``,``/``;``-separated text or JSON lists).

Placeholders such as ``Unknown`` become empty fields. Rows are read one at a
time, so a dump of any size is indexed in bounded memory. A row that cannot
be used is yielded as ``DocumentError(path, line, reason)``; the others go on.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from typing import Any

from .documents import (
    MAX_FIELD_CHARS,
    RUNTIME_RANGE,
    YEAR_RANGE,
    Film,
    ParsedDocument,
    parse_minutes,
    parse_number,
    parse_year,
    split_names,
)
from .errors import DocumentError

#: Column or key names (normalised: lower case, letters and digits only) for each Film field.
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "filmid", "tmdbid", "imdbid"),
    "title": ("title", "name", "originaltitle"),
    "year": ("year", "releaseyear", "releasedyear", "releasedate", "released"),
    "runtime": ("runtime", "runningtime", "duration", "minutes"),
    "directors": ("director", "directors"),
    "cast": ("cast", "starring", "actors", "stars"),
    "genres": ("genre", "genres"),
    "synopsis": ("synopsis", "content", "overview", "summary"),
    "wiki": ("wiki", "wikiinfo", "plot", "tagline", "keywords"),
}
#: Cell values that mean "not known".
PLACEHOLDERS = frozenset({"unknown", "n/a", "na", "none", "null", "nan", "-", "--", "?"})
_DATE_YEAR = re.compile(r"\b(\d{4})\b")
_DECIMAL = re.compile(r"^(\d+)\.\d+$")

csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS * 4))


def normalise(name: str) -> str:
    """``Release Year`` -> ``releaseyear``: how column names are compared."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def column_map(names: list[str]) -> dict[str, list[str]]:
    """Film field -> the given column names that feed it, in the order of ``COLUMNS``."""
    by_name = {normalise(name): name for name in names if name}
    mapping: dict[str, list[str]] = {}
    for field, aliases in COLUMNS.items():
        found = [by_name[alias] for alias in aliases if alias in by_name]
        if found:
            mapping[field] = found
    return mapping


def expected_columns() -> str:
    """The column names a table may use, for error messages."""
    return ", ".join(aliases[0] for aliases in COLUMNS.values() if aliases[0] != "id")


def _is_placeholder(value: str) -> bool:
    return value.strip().lower() in PLACEHOLDERS


def _text(value: Any) -> str:
    """A cell or JSON value as text: lists joined, JSON lists of ``{"name": …}`` unpacked."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value if _text(item))
    if isinstance(value, dict):
        return _text(value.get("name", ""))
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            return _text(json.loads(text))
        except ValueError:
            pass
    return "" if _is_placeholder(text) else text


def _names(value: Any) -> tuple[str, ...]:
    return tuple(name for name in split_names(_text(value)) if not _is_placeholder(name))


def _number_text(value: Any, field: str) -> str:
    text = _text(value)
    if field == "year" and (match := _DATE_YEAR.search(text)):
        return match.group(1)  # "2009-12-10", "(1999)"
    if match := _DECIMAL.match(text):
        return match.group(1)  # "120.0"
    return text


def make_film(
    record: dict[str, Any], mapping: dict[str, list[str]], path: str, line: int, id_prefix: str
) -> ParsedDocument:
    """The film in one row or JSON object; DocumentError if it has no title.

    Its id is ``id_prefix:`` and the row's id column, or its line number.
    """
    warnings: list[DocumentError] = []

    def text_of(field: str) -> str:
        parts = [_text(record.get(column)) for column in mapping.get(field, [])]
        joined = "\n".join(part for part in parts if part)
        if len(joined) > MAX_FIELD_CHARS:
            warnings.append(
                DocumentError(
                    path, line, f"{field} text longer than {MAX_FIELD_CHARS:,} characters; cut"
                )
            )
            joined = joined[:MAX_FIELD_CHARS]
        if "\ufffd" in joined and not any("U+FFFD" in w.reason for w in warnings):
            warnings.append(
                DocumentError(path, line, "not valid UTF-8; undecodable bytes replaced with U+FFFD")
            )
        return joined

    # One value each: the first column that has one (title before original_title).
    first = {
        field: next(
            (
                _number_text(record.get(c), field)
                for c in mapping.get(field, [])
                if _text(record.get(c))
            ),
            "",
        )
        for field in ("title", "year", "runtime", "id")
    }
    title = " ".join(first["title"].split())
    if not title:
        raise DocumentError(path, line, "no title; row skipped")
    names = {
        field: tuple(
            name for column in mapping.get(field, []) for name in _names(record.get(column))
        )
        for field in ("directors", "cast", "genres")
    }
    film = Film(
        id=f"{id_prefix}:{first['id'] or line}",
        title=title[:1000],
        year=parse_number(first["year"], "year", parse_year, YEAR_RANGE, path, line, warnings),
        runtime=parse_number(
            first["runtime"], "running time", parse_minutes, RUNTIME_RANGE, path, line, warnings
        ),
        directors=names["directors"],
        cast=names["cast"],
        genres=names["genres"],
        synopsis=text_of("synopsis"),
        wiki=text_of("wiki"),
        path=path,
    )
    return ParsedDocument(film, warnings)


def _open_text(path: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")


def read_csv(path: str) -> Iterator[ParsedDocument | DocumentError]:
    """Every film of a CSV dump, or a DocumentError for each row that cannot be used.

    Raises DocumentError when the file cannot be read or its header names no
    title column.
    """
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        with _open_text(path) as handle:
            first_line = handle.readline()
            handle.seek(0)
            delimiter = max(",;\t|", key=first_line.count)
            rows = csv.reader(handle, delimiter=delimiter)
            header = next(rows, None)
            mapping = column_map(header or [])
            if "title" not in mapping:
                found = ", ".join(repr(name) for name in (header or [])[:12]) or "none"
                raise DocumentError(
                    path,
                    1,
                    f"no title column among the columns ({found}); "
                    f"expected columns: {expected_columns()}",
                )
            yield from _csv_films(rows, header or [], mapping, path, stem)
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None


def _csv_films(
    rows: Any, header: list[str], mapping: dict[str, list[str]], path: str, stem: str
) -> Iterator[ParsedDocument | DocumentError]:
    line = rows.line_num + 1
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield DocumentError(path, line, f"unreadable row ({exc}); skipped")
            line = rows.line_num + 1
            continue
        start, line = line, rows.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield DocumentError(
                path, start, f"{len(cells)} cells where the header has {len(header)}; row skipped"
            )
            continue
        try:
            yield make_film(dict(zip(header, cells, strict=True)), mapping, path, start, stem)
        except DocumentError as error:
            yield error


def read_jsonl(path: str) -> Iterator[ParsedDocument | DocumentError]:
    """Every film of a JSON Lines file (one object a line), or a DocumentError per bad line."""
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        with _open_text(path) as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except ValueError as exc:
                    yield DocumentError(path, number, f"not valid JSON ({exc}); line skipped")
                    continue
                if not isinstance(record, dict):
                    yield DocumentError(path, number, "not a JSON object; line skipped")
                    continue
                mapping = column_map(list(record))
                try:
                    yield make_film(record, mapping, path, number, stem)
                except DocumentError as error:
                    yield error
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None
