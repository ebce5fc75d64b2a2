"""filmsearch.search: query a filmsearch index.

from filmsearch.search import FilmSearch
with FilmSearch("my-index") as fs:
    results = fs.search("whale trainer accident", limit=10)

The names below are imported from their modules when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmsearch import _lazy_exports

if TYPE_CHECKING:
    from .highlight import Snippet
    from .query import QueryError
    from .results import Hit, Results
    from .searcher import FilmSearch
    from .similar import FilmNotFoundError
    from .stats import IndexStats

__all__ = [
    "FilmNotFoundError",
    "FilmSearch",
    "Hit",
    "IndexStats",
    "QueryError",
    "Results",
    "Snippet",
]

#: The module of each public name.
_ORIGINS = {
    "FilmNotFoundError": ".similar",
    "FilmSearch": ".searcher",
    "Hit": ".results",
    "IndexStats": ".stats",
    "QueryError": ".query",
    "Results": ".results",
    "Snippet": ".highlight",
}
_export, __dir__ = _lazy_exports(globals(), _ORIGINS)

if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all for other names
    __getattr__ = _export
