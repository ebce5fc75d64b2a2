"""Sort orders for results, and the per-document values they (and facets) read.

``SORTS`` names the orders ``FilmSearch.search(sort=...)`` accepts. Every order
ends with the film id, so that films that tie come in the same order every
time: relevance ``(-score, id)``, ``year`` ``(year, id)``, ``-year`` newest
first; films without the value sorted on come last.

``FilmTable`` reads the few stored fields that sorting and facets need
(title, year, running time, names), one document at a time and only for the
documents asked about, and keeps them for the life of one searcher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from filmsearch.index.schema import document_to_film

#: Orders ``FilmSearch.search`` accepts; "-" means descending.
SORTS = ("relevance", "year", "-year", "title", "runtime", "-runtime")

#: A sort key of one (document number, score) pair.
SortKey = Callable[[tuple[int, float]], tuple[Any, ...]]


@dataclass(frozen=True)
class FilmRow:
    """What sorting and facets read of one film."""

    title: str
    year: int | None
    runtime: int | None
    directors: tuple[str, ...]
    cast: tuple[str, ...]
    genres: tuple[str, ...]


class FilmTable:
    """FilmRows by document number for one searcher, read on first use."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self._rows: dict[int, FilmRow] = {}

    def row(self, docnum: int) -> FilmRow:
        found = self._rows.get(docnum)
        if found is None:
            film = document_to_film(self.searcher.stored_fields(docnum))
            found = FilmRow(
                title=film.title.casefold(),
                year=film.year,
                runtime=film.runtime,
                directors=film.directors,
                cast=film.cast,
                genres=film.genres,
            )
            self._rows[docnum] = found
        return found


def check_sort(sort: str) -> str:
    """``sort`` if it is one of SORTS; ValueError listing them otherwise."""
    if not isinstance(sort, str):
        raise TypeError(f"sort must be a str, not {type(sort).__name__}")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; sorts are {', '.join(SORTS)}")
    return sort


def sort_key(sort: str, id_rank: list[int], table: FilmTable | None) -> SortKey:
    """The key ordering (document number, score) pairs by ``sort``, ties by film id.

    ``id_rank[docnum]`` is the position of the document's id among all ids;
    ``table`` is needed for every order but relevance.
    """
    if sort == "relevance":
        return lambda match: (-match[1], id_rank[match[0]])
    if table is None:
        raise ValueError(f"sorting by {sort} needs the film table")
    field = sort.lstrip("-")
    sign = -1 if sort.startswith("-") else 1

    if field == "title":
        return lambda match: (table.row(match[0]).title, id_rank[match[0]])

    def number_key(match: tuple[int, float]) -> tuple[Any, ...]:
        value = getattr(table.row(match[0]), field)
        return (value is None, sign * (value or 0), id_rank[match[0]])

    return number_key
