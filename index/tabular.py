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
time, each at most ``MAX_ROW_CHARS`` characters (a longer row is skipped
without being held), so a dump of any size is indexed in bounded memory. A
row that cannot be used is yielded as ``DocumentError(path, line, reason)``;
the others go on. That includes a CSV row whose quote is never closed: it
would swallow the rows after it, so it is skipped and the lines after its
first are read again as rows. JSON values nested deeper than
``MAX_JSON_DEPTH``, integers of thousands of digits, ``NaN`` and
``Infinity`` and lone surrogates (``"\\ud800"``) are reported, never fatal.
A CSV without a title column, or JSON Lines whose objects have no title key,
raises NotFilmsError.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections import deque
from collections.abc import Iterator
from typing import Any

from .documents import (
    MAX_FIELD_CHARS,
    MAX_TITLE_CHARS,
    RUNTIME_RANGE,
    YEAR_RANGE,
    Film,
    ParsedDocument,
    parse_minutes,
    parse_number,
    parse_year,
    split_names,
)
from .errors import DocumentError, NotFilmsError, escape_surrogates

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
#: Longest row read, in characters: one JSON Lines line, or one CSV record with the
#: line breaks of its quoted cells. A longer row is skipped without being held whole.
MAX_ROW_CHARS = 16 * 1024 * 1024
#: Most lines one CSV record may span (line breaks in quoted cells); a record running
#: on longer has an unclosed quote.
MAX_ROW_LINES = 10_000
#: Longest CSV header line, in characters.
MAX_HEADER_CHARS = 64 * 1024
#: Deepest nesting of JSON lists and objects in one value; deeper is refused.
MAX_JSON_DEPTH = 32
#: Longest film id, in characters.
MAX_ID_CHARS = 1000
#: Non-blank lines of a JSON Lines file looked at for an object with a title key
#: before the file is called not films.
JSONL_LOOKAHEAD = 1000
_DATE_YEAR = re.compile(r"\b(\d{4})\b")
_DECIMAL = re.compile(r"^(\d+)\.\d+$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_NEWLINES = ("\n", "\r")

# A field can never be longer than a row; the row limits bound memory.
csv.field_size_limit(max(csv.field_size_limit(), MAX_ROW_CHARS + 1))


class _UnusableValue(ValueError):
    """A JSON value that cannot be used (not JSON, nested too deeply); the text says why."""


class _NonFinite(str):
    """A JSON ``NaN``, ``Infinity`` or overflowing number such as ``1e400``, kept as its text.

    As a year or running time it is reported as invalid; elsewhere it means "not known".
    """


def _parse_int(text: str) -> int | str:
    # int() of thousands of digits is slow, and refused from Python 3.11: keep it as text.
    return int(text) if len(text) <= 18 else text


def _parse_float(text: str) -> float | str:
    number = float(text)
    return number if math.isfinite(number) else _NonFinite(text)


def _clean(value: Any, depth: int, replaced: list[bool]) -> Any:
    """``value`` with lone surrogates replaced by U+FFFD; _UnusableValue if nested too deeply."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            replaced.append(True)
            return type(value)(_SURROGATE.sub("\ufffd", value))
        return value
    if depth >= MAX_JSON_DEPTH and isinstance(value, (list, dict)):
        raise _UnusableValue(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, list):
        return [_clean(item, depth + 1, replaced) for item in value]
    if isinstance(value, dict):
        return {
            _clean(key, depth + 1, replaced): _clean(item, depth + 1, replaced)
            for key, item in value.items()
        }
    return value


def load_json(text: str) -> tuple[Any, bool]:
    """The JSON value of ``text``, and whether lone surrogates (``"\\ud800"``) were replaced.

    Raises _UnusableValue (a ValueError) instead of RecursionError for deep nesting;
    huge integers and non-finite numbers are kept as text.
    """
    try:
        try:
            value = json.loads(text, parse_float=_parse_float, parse_constant=_NonFinite)
        except ValueError:  # perhaps an integer of more than 4,300 digits: keep those as text
            value = json.loads(
                text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_NonFinite
            )
    except RecursionError:
        raise _UnusableValue(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:
        raise _UnusableValue(f"not valid JSON ({str(exc)[:200]})") from None
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH and not _ESCAPED_SURROGATE.search(text):
        return value, False  # nothing to clean (most values): no need to walk them
    replaced: list[bool] = []
    return _clean(value, 0, replaced), bool(replaced)


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
    if value is None or isinstance(value, _NonFinite):
        return ""
    if isinstance(value, list):
        return ", ".join(text for item in value if (text := _text(item)))
    if isinstance(value, dict):
        return _text(value.get("name", ""))
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            return _text(load_json(text)[0])
        except ValueError:
            pass  # not JSON after all (or too deep): the cell's text as it is
    return "" if _is_placeholder(text) else text


def _names(value: Any) -> tuple[str, ...]:
    return tuple(name for name in split_names(_text(value)) if not _is_placeholder(name))


def _number_text(value: Any, field: str) -> str:
    if isinstance(value, _NonFinite) and field in ("year", "runtime"):
        return str(value)  # JSON NaN, Infinity, 1e400: reported as invalid, not silently empty
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
            (text for c in mapping.get(field, []) if (text := _number_text(record.get(c), field))),
            "",
        )
        for field in ("title", "year", "runtime", "id")
    }
    title = " ".join(first["title"].split())
    if not title:
        raise DocumentError(path, line, "no title; row skipped")
    if len(first["id"]) > MAX_ID_CHARS:
        raise DocumentError(path, line, f"id longer than {MAX_ID_CHARS:,} characters; row skipped")
    if len(title) > MAX_TITLE_CHARS:
        warnings.append(
            DocumentError(path, line, f"title longer than {MAX_TITLE_CHARS:,} characters; cut")
        )
    names = {
        field: tuple(
            name for column in mapping.get(field, []) for name in _names(record.get(column))
        )
        for field in ("directors", "cast", "genres")
    }
    film = Film(
        id=f"{id_prefix}:{first['id'] or line}",
        title=title[:MAX_TITLE_CHARS],
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
    return ParsedDocument(film, warnings, line)


def _film_or_error(
    record: dict[str, Any], mapping: dict[str, list[str]], path: str, line: int, id_prefix: str
) -> ParsedDocument | DocumentError:
    """make_film, with whatever goes wrong in one record turned into that record's DocumentError."""
    try:
        return make_film(record, mapping, path, line, id_prefix)
    except DocumentError as error:
        return error
    except (RecursionError, ValueError, UnicodeError) as exc:  # a record no check foresaw
        return DocumentError(
            path, line, f"unusable row ({type(exc).__name__}: {str(exc)[:200]}); skipped"
        )


def _open_text(path: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")


def _read_line(handle: io.TextIOWrapper, limit: int) -> str | None:
    """The next line (with its line break; "" at the end), or None if it is over ``limit``.

    An over-long line is read past in bounded pieces, never held whole.
    """
    text = handle.readline(limit + 1)
    if len(text) <= limit or text.endswith(_NEWLINES):
        return text
    while text and not text.endswith(_NEWLINES):
        text = handle.readline(1 << 20)
    return None


def _prefix(path: str) -> str:
    """The id prefix of the films of a multi-film file: its name without extension."""
    return escape_surrogates(os.path.splitext(os.path.basename(path))[0])


class _RowTooLong(Exception):
    """Raised through csv.reader when a record grows past the row limits."""


class _Lines:
    """The lines of a CSV file for csv.reader, keeping those of the record being read.

    A record found broken (an unclosed quote runs it on over the following rows)
    is skipped, and the lines after its first are read again as new records:
    ``replay``. A line over ``MAX_ROW_CHARS`` is never held; it is kept as None.
    """

    def __init__(self, handle: io.TextIOWrapper, number: int) -> None:
        self._handle = handle
        self._replay: deque[tuple[int, str | None]] = deque()
        self._number = number  # of the last line taken from the file
        self._chars = 0
        self.record: list[tuple[int, str | None]] = []
        self.at_end = False  # the file ended while the current record was read

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._replay:
            number, text = self._replay.popleft()
        else:
            text = _read_line(self._handle, MAX_ROW_CHARS)
            if text == "":
                self.at_end = True
                raise StopIteration
            self._number += 1
            number = self._number
        self.record.append((number, text))
        if text is None:
            raise _RowTooLong
        self._chars += len(text)
        if self._chars > MAX_ROW_CHARS or len(self.record) > MAX_ROW_LINES:
            raise _RowTooLong
        return text

    @property
    def next_number(self) -> int:
        """The number of the line a new record starts on."""
        return self._replay[0][0] if self._replay else self._number + 1

    def start_record(self) -> None:
        self.record = []
        self._chars = 0
        self.at_end = False

    def replay(self, lines: list[tuple[int, str | None]]) -> None:
        self._replay.extendleft(reversed(lines))


def _ends_in_quoted_cell(text: str, delimiter: str) -> bool:
    """Whether one CSV line ends inside a quoted cell (csv's own reading, not strict)."""
    inside, at_start, position = False, True, 0
    while position < len(text):
        char = text[position]
        if inside:
            close = text.find('"', position)
            if close < 0:
                return True
            if text.startswith('""', close):
                position = close + 2
                continue
            inside, at_start, position = False, False, close + 1
        elif char == '"' and at_start:
            inside, position = True, position + 1
        elif char == delimiter:
            at_start, position = True, position + 1
        else:
            at_start, position = False, position + 1
    return inside


def _well_quoted(lines: list[str], delimiter: str) -> bool:
    """Whether the lines of a record spanning several lines are one strictly valid record.

    An unclosed quote swallows the following rows until the next quote, which is
    then followed by more cell text, or the end of the file: both are errors here.
    """
    try:
        return len(list(csv.reader(lines, delimiter=delimiter, strict=True))) == 1
    except csv.Error:
        return False


def read_csv(path: str) -> Iterator[ParsedDocument | DocumentError]:
    """Every film of a CSV dump, or a DocumentError for each row that cannot be used.

    Raises DocumentError when the file cannot be read or its header is broken,
    and NotFilmsError when the header names no title column.
    """
    try:
        with _open_text(path) as handle:
            first_line = _read_line(handle, MAX_HEADER_CHARS)
            if first_line is None:
                raise DocumentError(
                    path, 1, f"header longer than {MAX_HEADER_CHARS:,} characters; file skipped"
                )
            if not first_line.strip():
                raise DocumentError(path, 1, "empty file, or no header line")
            delimiter = max(",;\t|", key=first_line.count)
            if _ends_in_quoted_cell(first_line.rstrip("\r\n"), delimiter):
                raise DocumentError(path, 1, "unclosed quote in the header; file skipped")
            header = next(csv.reader([first_line], delimiter=delimiter), [])
            mapping = column_map(header)
            if "title" not in mapping:
                found = ", ".join(repr(name[:40]) for name in header[:12]) or "none"
                raise NotFilmsError(
                    path,
                    1,
                    f"no title column among the columns ({found}); "
                    f"expected columns: {expected_columns()}",
                )
            yield from _csv_films(_Lines(handle, 1), header, mapping, path, delimiter)
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None


def _csv_films(
    lines: _Lines, header: list[str], mapping: dict[str, list[str]], path: str, delimiter: str
) -> Iterator[ParsedDocument | DocumentError]:
    stem = _prefix(path)
    rows = csv.reader(lines, delimiter=delimiter)
    while True:
        start = lines.next_number
        lines.start_record()
        try:
            cells = next(rows)
        except StopIteration:
            return
        except _RowTooLong:
            record = lines.record
            if len(record) == 1:
                yield DocumentError(
                    path, start, f"row longer than {MAX_ROW_CHARS:,} characters; skipped"
                )
            else:
                yield DocumentError(
                    path,
                    start,
                    f"unclosed quote: the row runs on for more than {MAX_ROW_LINES:,} lines "
                    f"or {MAX_ROW_CHARS:,} characters; skipped, the lines after it read as rows",
                )
                lines.replay(record[1:])
            continue
        except csv.Error as exc:
            yield DocumentError(path, start, f"unreadable row ({exc}); skipped")
            lines.replay(lines.record[1:])
            continue
        record = lines.record
        if len(record) > 1 and not _well_quoted([text or "" for _, text in record], delimiter):
            yield DocumentError(
                path,
                start,
                f"unclosed quote: the row runs on over the next {len(record) - 1:,} lines "
                "to the next quote or the end of the file; skipped, the lines after it "
                "read as rows",
            )
            lines.replay(record[1:])
            continue
        if (
            len(record) == 1
            and lines.at_end
            and _ends_in_quoted_cell(record[0][1] or "", delimiter)
        ):
            yield DocumentError(
                path, start, "unclosed quote: a quoted cell runs to the end of the file; skipped"
            )
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield DocumentError(
                path, start, f"{len(cells)} cells where the header has {len(header)}; row skipped"
            )
            continue
        yield _film_or_error(dict(zip(header, cells, strict=True)), mapping, path, start, stem)


def read_jsonl(path: str, require_films: bool = True) -> Iterator[ParsedDocument | DocumentError]:
    """Every film of a JSON Lines file (one object a line), or a DocumentError per bad line.

    With ``require_films``, a file whose JSON objects have no title key (among
    the first ``JSONL_LOOKAHEAD`` non-blank lines) raises NotFilmsError.
    """
    stem = _prefix(path)
    # Problems met before the first object with a title key, held until it is
    # known whether the file holds films at all.
    held: list[DocumentError] | None = [] if require_films else None
    untitled_at = 0  # the line of the first JSON object without a title key
    number = 0
    try:
        with _open_text(path) as handle:
            while (text := _read_line(handle, MAX_ROW_CHARS)) != "":
                number += 1
                item, kind = _jsonl_item(text, path, number, stem)
                if item is None:
                    continue
                if held is not None:
                    if kind != "titled":
                        assert isinstance(item, DocumentError)  # a row with no title key
                        untitled_at = untitled_at or (number if kind == "untitled" else 0)
                        held.append(item)
                        if len(held) < JSONL_LOOKAHEAD:
                            continue
                        if untitled_at:
                            break  # objects, none of them films
                    yield from held  # a film is in sight: the problems before it count
                    held = None
                    if kind != "titled":
                        continue
                yield item
    except OSError as exc:
        raise DocumentError(path, 1, f"cannot read: {exc.strerror or exc}") from None
    if held is not None:
        if untitled_at:
            keys = ", ".join(COLUMNS["title"])
            raise NotFilmsError(
                path,
                untitled_at,
                f"not films: no JSON object with a title key ({keys}) in {number:,} lines",
            )
        if not held:
            raise DocumentError(path, 1, "empty file")
        yield from held


def _jsonl_item(
    text: str | None, path: str, number: int, stem: str
) -> tuple[ParsedDocument | DocumentError | None, str]:
    """The film or error of one line (None for a blank line), and what the line held.

    That is "titled" (a JSON object with a title key), "untitled" (an object
    without one) or "broken" (not a JSON object).
    """
    if text is None:
        reason = f"row longer than {MAX_ROW_CHARS:,} characters; skipped"
        return DocumentError(path, number, reason), "broken"
    if not text.strip():
        return None, "broken"
    try:
        record, replaced = load_json(text)
    except ValueError as exc:
        return DocumentError(path, number, f"{exc}; line skipped"), "broken"
    if not isinstance(record, dict):
        return DocumentError(path, number, "not a JSON object; line skipped"), "broken"
    mapping = column_map(list(record))
    item = _film_or_error(record, mapping, path, number, stem)
    if replaced and isinstance(item, ParsedDocument):
        reason = "invalid Unicode escape (a lone surrogate) replaced with U+FFFD"
        item.warnings.append(DocumentError(path, number, reason))
    return item, "titled" if "title" in mapping else "untitled"
