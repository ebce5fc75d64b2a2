"""filmsearch: full-text search over film synopses.

    from filmsearch import FilmSearch, build_index

    build_index("seeds/", "my-index")
    with FilmSearch("my-index") as fs:
        for hit in fs.search("whale trainer accident", limit=5):
            print(hit.rank, hit.title, hit.score)

``filmsearch.index`` turns documents into an index; ``filmsearch.search`` queries it.
Everything a caller needs is re-exported here.
"""

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("filmsearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

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
