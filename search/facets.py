"""Facet counts: how many of a query's matches fall in each decade, genre, director, …

Counted over every film that matches (not only the page shown), from the
values stored with each film (``ordering.FilmTable``). Names that differ only
in case or accents count as one, shown as most films spell them.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from .ordering import FilmRow, FilmTable

#: Facets ``FilmSearch.search(facets=...)`` can count.
FACETS = ("decade", "year", "genre", "director", "cast")
#: Values listed per facet, the most frequent first.
FACET_LIMIT = 10


def check_facets(facets: Sequence[str] | str | None) -> tuple[str, ...]:
    """The facet names asked for, in order, once each; ValueError for an unknown one."""
    if facets is None:
        return ()
    names = facets.split(",") if isinstance(facets, str) else list(facets)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"facets must be names (str), not {name!r:.60}")
    names = [name.strip().lower() for name in names if name.strip()]
    for name in names:
        if name not in FACETS:
            raise ValueError(f"unknown facet {name!r}; facets are {', '.join(FACETS)}")
    return tuple(dict.fromkeys(names))


def _values(row: FilmRow, facet: str) -> Iterable[str]:
    if facet == "decade":
        return [f"{row.year - row.year % 10}s"] if row.year is not None else []
    if facet == "year":
        return [str(row.year)] if row.year is not None else []
    if facet == "genre":
        return row.genres
    if facet == "director":
        return row.directors
    return row.cast


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def count_facets(
    table: FilmTable, docnums: Iterable[int], facets: Sequence[str], limit: int = FACET_LIMIT
) -> dict[str, list[dict[str, str | int]]]:
    """``{facet: [{"value": …, "count": …}, …]}``: the ``limit`` most frequent values of each
    facet among ``docnums`` (a film counts once per value), ties by value."""
    counts: dict[str, Counter[str]] = {facet: Counter() for facet in facets}
    spellings: dict[str, dict[str, Counter[str]]] = {facet: {} for facet in facets}
    for docnum in docnums:
        row = table.row(docnum)
        for facet in facets:
            seen = set()
            for value in _values(row, facet):
                key = _folded(value)
                if not key or key in seen:
                    continue
                seen.add(key)
                counts[facet][key] += 1
                spellings[facet].setdefault(key, Counter())[value] += 1
    out: dict[str, list[dict[str, str | int]]] = {}
    for facet in facets:
        ordered = sorted(counts[facet].items(), key=lambda item: (-item[1], item[0]))[:limit]
        out[facet] = [
            {"value": spellings[facet][key].most_common(1)[0][0], "count": count}
            for key, count in ordered
        ]
    return out
