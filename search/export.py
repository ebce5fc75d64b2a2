"""Export an index for OpenSearch or Elasticsearch, for a collection that outgrows one machine.

    report = export_opensearch("my-index", "out/films")
    # out/films.ndjson        an action line and a source line per film (POST /_bulk)
    # out/films.mapping.json  settings and mappings (PUT /films)
    # out/films.query.json    an example search body (GET /films/_search)

The analyzers are ours, read from the index: the same word pattern, lower case,
accents folded, the same stop words and shortest word, and the index's stemmer on
running text; names and exact titles are not stemmed, a list of names is an array
with NAME_GAP positions between its members. The example query is BM25F
(``combined_fields``) with the weights of ``ranking.FIELD_WEIGHTS``. What
OpenSearch cannot express is listed in the mapping's ``_meta.filmsearch.notes``.
``combined_fields`` needs OpenSearch 3.2 or Elasticsearch 7.13 or later.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

from whoosh.analysis import RegexTokenizer, StopFilter

from filmsearch.index.analysis import NAME_GAP
from filmsearch.index.documents import Film
from filmsearch.index.errors import FilmSearchError, reading_index
from filmsearch.index.manifest import open_index, schema_stemmer
from filmsearch.index.schema import document_to_film

from .ranking import FIELD_WEIGHTS, K1, B

T = TypeVar("T")

#: Fields of a film's source document, in the order written.
SOURCE_FIELDS = (
    "id",
    "title",
    "year",
    "runtime",
    "director",
    "cast",
    "genre",
    "synopsis",
    "wiki",
    "path",
)
TEXT_ANALYZER = "filmsearch_text"
EXACT_ANALYZER = "filmsearch_exact"
#: Our stemmers -> the ``language`` of OpenSearch's ``stemmer`` token filter.
#: porter2 is Snowball English; english is Lucene's Porter stemmer.
OPENSEARCH_STEMMERS = {"snowball": "porter2", "porter": "english", "lancaster": "english"}
#: Stemmers OpenSearch has no counterpart for (the export warns).
UNMATCHED_STEMMERS = frozenset({"lancaster"})
#: The words of the example query.
EXAMPLE_QUERY = "whale trainer accident"
#: Characters OpenSearch refuses in an index name (it must also be lower case).
_BAD_NAME_CHARS = re.compile(r'[\\/*?"<>|,#: \x00-\x1f]')


class ExportError(FilmSearchError):
    """An export file could not be written."""


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    films: int
    bulk_path: str
    mapping_path: str
    query_path: str
    bulk_bytes: int
    stemmer: str
    opensearch_stemmer: str | None
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for the terminal."""
        stemmer = (
            f"{self.stemmer} as {self.opensearch_stemmer}" if self.opensearch_stemmer else "none"
        )
        return (
            f"exported {self.films} films to {self.bulk_path} ({self.bulk_bytes / 1e6:.1f} MB); "
            f"mapping {self.mapping_path}, example query {self.query_path} (stemmer {stemmer})"
        )


def check_index_name(name: str) -> str:
    """``name`` if OpenSearch accepts it as an index name, else ValueError."""
    if (
        name in ("", ".", "..")
        or name[0] in "-_+"
        or name != name.lower()
        or _BAD_NAME_CHARS.search(name)
        or len(name.encode("utf-8")) > 255
    ):
        raise ValueError(
            f"{name!r} is not an OpenSearch index name (lower case, at most 255 bytes, "
            'none of \\ / * ? " < > | , # : or spaces, not starting with -, _ or +)'
        )
    return name


def film_to_source(film: Film) -> dict[str, Any]:
    """The source document of ``film``: our field names, lists of names as arrays."""
    return {
        "id": film.id,
        "title": film.title,
        "year": film.year,
        "runtime": film.runtime,
        "director": list(film.directors),
        "cast": list(film.cast),
        "genre": list(film.genres),
        "synopsis": film.synopsis,
        "wiki": film.wiki,
        "path": film.path,
    }


def source_to_film(source: dict[str, Any]) -> Film:
    """The Film a source document was made from (``film_to_source`` undone)."""
    return Film(
        id=source["id"],
        title=source["title"],
        year=source["year"],
        runtime=source["runtime"],
        directors=tuple(source["director"]),
        cast=tuple(source["cast"]),
        genres=tuple(source["genre"]),
        synopsis=source["synopsis"],
        wiki=source["wiki"],
        path=source["path"],
    )


def weight_scale() -> float:
    """Factor applied to FIELD_WEIGHTS and K1: ``combined_fields`` takes no weight below 1.

    Multiplying every weight and k1 by the same factor multiplies a BM25F score by
    a constant, so films rank as they would with the weights themselves.
    """
    return 1.0 / min(1.0, *FIELD_WEIGHTS.values())


def opensearch_mapping(schema: Any) -> dict[str, Any]:
    """The body of ``PUT /<index>``: analyzers like the ones in ``schema``, and the fields."""
    stemmer = schema_stemmer(schema)
    items = list(getattr(schema["synopsis"].analyzer, "items", ()))
    words = next((item for item in items if isinstance(item, RegexTokenizer)), RegexTokenizer())
    stop = next((item for item in items if isinstance(item, StopFilter)), StopFilter())
    length: dict[str, Any] = {"type": "length", "min": stop.min}
    if stop.max is not None:
        length["max"] = stop.max
    exact = ["lowercase", "asciifolding", "filmsearch_stop", "filmsearch_length"]
    filters: dict[str, Any] = {
        "filmsearch_stop": {"type": "stop", "stopwords": sorted(stop.stops)},
        "filmsearch_length": length,
    }
    analyzers: dict[str, Any] = {
        EXACT_ANALYZER: {"type": "custom", "tokenizer": "filmsearch_words", "filter": exact}
    }
    text_analyzer = EXACT_ANALYZER
    if stemmer in OPENSEARCH_STEMMERS:
        filters["filmsearch_stemmer"] = {
            "type": "stemmer",
            "language": OPENSEARCH_STEMMERS[stemmer],
        }
        analyzers[TEXT_ANALYZER] = {
            "type": "custom",
            "tokenizer": "filmsearch_words",
            "filter": [*exact, "filmsearch_stemmer"],
        }
        text_analyzer = TEXT_ANALYZER

    def text(analyzer: str, **extra: Any) -> dict[str, Any]:
        return {"type": "text", "analyzer": analyzer, **extra}

    def names() -> dict[str, Any]:
        keyword = {"raw": {"type": "keyword"}}  # for facets (terms aggregations)
        return text(EXACT_ANALYZER, position_increment_gap=NAME_GAP, fields=keyword)

    scale = weight_scale()
    return {
        "settings": {
            "index": {
                "similarity": {"default": {"type": "BM25", "k1": round(K1 * scale, 6), "b": B}},
                "analysis": {
                    "tokenizer": {
                        "filmsearch_words": {
                            "type": "pattern",
                            "pattern": words.expression.pattern,
                            "group": 0,
                            "flags": "UNICODE_CHARACTER_CLASS",  # \w as in Python
                        }
                    },
                    "filter": filters,
                    "analyzer": analyzers,
                },
            }
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {"filmsearch": _meta(stemmer, scale)},
            "properties": {
                "id": {"type": "keyword"},
                "title": text(text_analyzer, copy_to="title_exact"),
                "title_exact": text(EXACT_ANALYZER),
                "year": {"type": "integer"},
                "runtime": {"type": "integer"},
                "director": names(),
                "cast": names(),
                "genre": names(),
                "synopsis": text(text_analyzer),
                "wiki": text(text_analyzer),
                "path": {"type": "keyword"},
            },
        },
    }


def _meta(stemmer: str, scale: float) -> dict[str, Any]:
    """Where the mapping came from, and what differs from filmsearch's own ranking."""
    notes = [
        f"combined_fields takes no field weight below 1: the weights are filmsearch's "
        f"times {scale:g}, and k1 is {K1:g} times {scale:g}, so films rank alike",
        "combined_fields needs one analyzer for all its fields: the example query adds up "
        "one combined_fields per analyzer, so a word saturates once per analyzer, not once",
        f"no per-field length normalisation (b is {B:g} for every field) and no "
        "coordination factor",
        "stop words leave position gaps (filmsearch closes them)",
    ]
    if stemmer in UNMATCHED_STEMMERS:
        notes.append(_unmatched(stemmer))
    return {
        "stemmer": stemmer,
        "field_weights": FIELD_WEIGHTS,
        "weight_scale": scale,
        "k1": K1,
        "b": B,
        "notes": notes,
    }


def _unmatched(stemmer: str) -> str:
    return (
        f"OpenSearch has no {stemmer} stemmer: the export uses "
        f"{OPENSEARCH_STEMMERS[stemmer]!r}, so some words stem differently"
    )


def example_query(mapping: dict[str, Any], text: str = EXAMPLE_QUERY) -> dict[str, Any]:
    """A search body for ``text``: BM25F over the FIELD_WEIGHTS fields, one
    ``combined_fields`` per analyzer (OpenSearch needs one analyzer per query)."""
    properties = mapping["mappings"]["properties"]
    scale = weight_scale()
    groups: dict[str, list[str]] = {}
    for field, weight in FIELD_WEIGHTS.items():
        analyzer = properties[field]["analyzer"]
        groups.setdefault(analyzer, []).append(f"{field}^{round(weight * scale, 6):g}")
    should = [{"combined_fields": {"query": text, "fields": fields}} for fields in groups.values()]
    return {"query": {"bool": {"should": should}}, "size": 10}


def export_opensearch(
    index_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    index_name: str = "films",
) -> ExportReport:
    """Write the live films of the index at ``index_dir`` for OpenSearch or Elasticsearch.

    ``out`` is a file prefix, or a folder (the prefix is then ``index_name`` in it).
    Films are read and written one at a time. Each file is written beside its
    final name and renamed into place, so a failed export leaves no half file.
    """
    check_index_name(index_name)
    prefix = os.fspath(out)
    if os.path.isdir(prefix):
        prefix = os.path.join(prefix, index_name)
    prefix = prefix.removesuffix(".ndjson")
    paths = [f"{prefix}{suffix}" for suffix in (".ndjson", ".mapping.json", ".query.json")]
    index = open_index(index_dir)
    with reading_index(index_dir), index.reader() as reader:
        schema = reader.schema
        stemmer = schema_stemmer(schema)
        mapping = opensearch_mapping(schema)
        films = _write(paths[0], lambda handle: _write_films(reader, handle, index_name))
    _write(paths[1], lambda handle: _write_json(mapping, handle))
    _write(paths[2], lambda handle: _write_json(example_query(mapping), handle))
    warnings = (_unmatched(stemmer),) if stemmer in UNMATCHED_STEMMERS else ()
    return ExportReport(
        films=films,
        bulk_path=paths[0],
        mapping_path=paths[1],
        query_path=paths[2],
        bulk_bytes=os.path.getsize(paths[0]),
        stemmer=stemmer,
        opensearch_stemmer=OPENSEARCH_STEMMERS.get(stemmer),
        warnings=warnings,
    )


def _write_films(reader: Any, handle: TextIO, index_name: str) -> int:
    """The bulk lines of every live film; returns the number of films."""
    count = 0
    for stored in reader.all_stored_fields():  # live documents only, one at a time
        film = document_to_film(stored)
        action = {"index": {"_index": index_name, "_id": film.id}}
        handle.write(json.dumps(action, ensure_ascii=False) + "\n")
        handle.write(json.dumps(film_to_source(film), ensure_ascii=False) + "\n")
        count += 1
    return count


def _write_json(data: dict[str, Any], handle: TextIO) -> None:
    json.dump(data, handle, ensure_ascii=False, indent=2)
    handle.write("\n")


def _write(path: str, write: Callable[[TextIO], T]) -> T:
    """``write(handle)`` into a file renamed to ``path`` when done; its result."""
    with _replacing(path) as handle:
        return write(handle)


@contextmanager
def _replacing(path: str) -> Iterator[TextIO]:
    """A handle on a temporary file beside ``path``, renamed to ``path`` on success.

    Problems writing it become one ExportError that names ``path``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ExportError(f"cannot write {path}: {folder} is not a folder")
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        try:
            with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
                yield handle
            os.replace(temporary, path)
        except OSError as error:
            if error.filename not in (None, temporary, path):
                raise  # not about the output (the index, say)
            raise ExportError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


#: Export functions by ``--format``.
EXPORTERS: dict[str, Callable[..., ExportReport]] = {"opensearch": export_opensearch}
