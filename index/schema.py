"""The fielded Whoosh schema, and how a Film becomes an index document."""

from __future__ import annotations

from typing import Any

from whoosh.fields import ID, NUMERIC, TEXT, Schema

from .analysis import (
    DEFAULT_STEMMER,
    exact_analyzer,
    join_names,
    name_analyzer,
    text_analyzer,
)
from .documents import Film
from .errors import escape_surrogates

#: Fields searched by free keywords (their weights live in search.ranking).
TEXT_FIELDS = ("title", "title_exact", "director", "cast", "genre", "synopsis", "wiki")
#: Numeric fields that accept ranges.
NUMERIC_FIELDS = ("year", "runtime")


def build_schema(stemmer: str = DEFAULT_STEMMER) -> Schema:
    """The filmsearch schema, with ``stemmer`` in the text analyzer.

    ``source`` holds ``path<TAB>content digest``, indexed and stored, so that an
    update can tell unchanged files from the stored fields of the live documents
    (the term list still counts deleted ones).
    """
    text = text_analyzer(stemmer)
    names = name_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        source=ID(stored=True),
        title=TEXT(analyzer=text, stored=True, phrase=True),
        title_exact=TEXT(analyzer=exact_analyzer(), phrase=True),
        year=NUMERIC(int, bits=32, stored=True, signed=True),
        runtime=NUMERIC(int, bits=32, stored=True, signed=True),
        director=TEXT(analyzer=names, stored=True, phrase=True),
        cast=TEXT(analyzer=names, stored=True, phrase=True),
        genre=TEXT(analyzer=names, stored=True, phrase=True),
        synopsis=TEXT(analyzer=text, stored=True, phrase=True),
        wiki=TEXT(analyzer=text, stored=True, phrase=True),
    )


def index_text(text: str) -> str:
    """``text`` with every lone surrogate written out as an escape, so that it encodes to UTF-8.

    A file name that is not UTF-8 reaches Python with its odd bytes as lone
    surrogates (``os.fsdecode``), and JSON may hold ``"\\ud800"``; Whoosh
    cannot store either. The byte 0xff becomes the four characters ``\\xff``,
    other surrogates ``\\udXXX``. The same text always gives the same result, so
    a path escaped this way still identifies its file from one update to the next.
    Text without lone surrogates (nearly all) is returned unchanged.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return escape_surrogates(text)
    return text


def source_key(path: str, digest: str) -> str:
    """The ``source`` term that identifies one version of one file."""
    return f"{index_text(path)}\t{digest}"


def film_to_document(film: Film, digest: str) -> dict[str, Any]:
    """Keyword arguments for ``IndexWriter.add_document``; lists are stored as lists.

    Every text goes through ``index_text``, so a document can always be written.
    """
    title = index_text(film.title)
    doc: dict[str, Any] = {
        "id": index_text(film.id),
        "path": index_text(film.path),
        "source": source_key(film.path, digest),
        "title": title,
        "title_exact": title,
        "synopsis": index_text(film.synopsis),
        "wiki": index_text(film.wiki),
    }
    for field, names in (("director", film.directors), ("cast", film.cast), ("genre", film.genres)):
        if names:
            clean = [index_text(name) for name in names]
            doc[field] = join_names(clean)
            doc[f"_stored_{field}"] = clean
    if film.year is not None:
        doc["year"] = film.year
    if film.runtime is not None:
        doc["runtime"] = film.runtime
    return doc


def document_to_film(stored: dict[str, Any]) -> Film:
    """Rebuild a Film from a document's stored fields."""
    return Film(
        id=stored.get("id", ""),
        title=stored.get("title", ""),
        year=stored.get("year"),
        runtime=stored.get("runtime"),
        directors=tuple(stored.get("director") or ()),
        cast=tuple(stored.get("cast") or ()),
        genres=tuple(stored.get("genre") or ()),
        synopsis=stored.get("synopsis", ""),
        wiki=stored.get("wiki", ""),
        path=stored.get("path", ""),
    )
