"""filmsearch.search: query a filmsearch index.

from filmsearch.search import FilmSearch
with FilmSearch("my-index") as fs:
    results = fs.search("whale trainer accident", limit=10)
"""

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
