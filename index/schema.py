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

#: Fields searched by free keywords (their weights live in search.ranking).
TEXT_FIELDS = ("title", "title_exact", "director", "cast", "genre", "synopsis", "wiki")
#: Numeric fields that accept ranges.
NUMERIC_FIELDS = ("year", "runtime")


def build_schema(stemmer: str = DEFAULT_STEMMER) -> Schema:
    """The filmsearch schema, with ``stemmer`` in the text analyzer.

    ``source`` holds ``path<TAB>content digest`` so that an update can tell
    unchanged files from the term list alone, without loading stored fields.
    """
    text = text_analyzer(stemmer)
    names = name_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        path=ID(stored=True),
        source=ID,
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


def source_key(path: str, digest: str) -> str:
    """The ``source`` term that identifies one version of one file."""
    return f"{path}\t{digest}"


def film_to_document(film: Film, digest: str) -> dict[str, Any]:
    """Keyword arguments for ``IndexWriter.add_document``; lists are stored as lists."""
    doc: dict[str, Any] = {
        "id": film.id,
        "path": film.path,
        "source": source_key(film.path, digest),
        "title": film.title,
        "title_exact": film.title,
        "synopsis": film.synopsis,
        "wiki": film.wiki,
    }
    for field, names in (("director", film.directors), ("cast", film.cast), ("genre", film.genres)):
        if names:
            doc[field] = join_names(names)
            doc[f"_stored_{field}"] = list(names)
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
