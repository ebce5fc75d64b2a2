"""filmsearch: full-text search over film synopses.

    from filmsearch import FilmSearch, build_index

    build_index("seeds/", "my-index")
    with FilmSearch("my-index") as fs:
        for hit in fs.search("whale trainer accident", limit=5):
            print(hit.rank, hit.title, hit.score)

``filmsearch.index`` turns documents into an index; ``filmsearch.search`` queries it.
Everything a caller needs is re-exported here, imported when first used, so that
``import filmsearch`` (and a command that needs only part of it) starts quickly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filmsearch.index import (
        DEFAULT_STEMMER,
        STEMMERS,
        BuildProgress,
        BuildReport,
        DocumentError,
        Film,
        FilmSearchError,
        IndexDamagedError,
        IndexLockedError,
        IndexMismatchError,
        IndexNotFoundError,
        NotFilmsError,
        SemanticUnavailableError,
        build_index,
    )
    from filmsearch.search import (
        FilmNotFoundError,
        FilmSearch,
        Hit,
        IndexStats,
        QueryError,
        Results,
        Snippet,
    )

    __version__: str

__all__ = [
    "DEFAULT_STEMMER",
    "STEMMERS",
    "BuildProgress",
    "BuildReport",
    "DocumentError",
    "Film",
    "FilmNotFoundError",
    "FilmSearch",
    "FilmSearchError",
    "Hit",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexStats",
    "NotFilmsError",
    "QueryError",
    "Results",
    "SemanticUnavailableError",
    "Snippet",
    "__version__",
    "build_index",
]


def _lazy_exports(
    namespace: dict[str, Any], origins: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package (``namespace``: its globals()) whose
    public names are imported when first used: ``origins`` maps each name to its
    module, relative to the package (``".writer"``); the value is then kept in the
    package. Used by filmsearch, filmsearch.index and filmsearch.search.
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in origins:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(origins[name], package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__


#: The public names that come from filmsearch.search; the others (but __version__)
#: come from filmsearch.index.
_FROM_SEARCH = frozenset(
    {"FilmNotFoundError", "FilmSearch", "Hit", "IndexStats", "QueryError", "Results", "Snippet"}
)
_export, __dir__ = _lazy_exports(
    globals(),
    {
        name: ".search" if name in _FROM_SEARCH else ".index"
        for name in __all__
        if name != "__version__"
    },
)


def _version() -> str:
    """The installed distribution's version (reading it imports importlib.metadata, 15 ms)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("filmsearch")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all for other names

    def __getattr__(name: str) -> Any:
        """Import a public name when it is first used, then keep it here."""
        if name != "__version__":
            return _export(name)
        value = globals()[name] = _version()
        return value
