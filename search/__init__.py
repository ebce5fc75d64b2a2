"""filmsearch.search: query a filmsearch index.

from filmsearch.search import FilmSearch
with FilmSearch("my-index") as fs:
    results = fs.search("whale trainer accident", limit=10)

The names below are imported from their modules when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .highlight import Snippet
    from .query import QueryError
    from .results import Hit, IndexStats, Results
    from .searcher import FilmSearch
    from .similar import FilmNotFoundError

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
_MODULE = {
    "FilmNotFoundError": "similar",
    "FilmSearch": "searcher",
    "Hit": "results",
    "IndexStats": "results",
    "QueryError": "query",
    "Results": "results",
    "Snippet": "highlight",
}


if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all for other names

    def __getattr__(name: str) -> Any:
        """Import a public name when it is first used, then keep it here."""
        if name not in _MODULE:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{_MODULE[name]}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
