"""filmsearch.index: turn film documents into a searchable Whoosh index.

from filmsearch.index import build_index
report = build_index(["seeds/"], "my-index")
"""

from . import safe_pickle  # noqa: F401  # imported to restrict every unpickling Whoosh does
from .analysis import DEFAULT_STEMMER, STEMMERS
from .documents import Film, ParsedDocument, read_film
from .errors import (
    DocumentError,
    FilmSearchError,
    IndexDamagedError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    NotFilmsError,
    SemanticUnavailableError,
)
from .formats import FORMATS, detect_format
from .writer import BuildProgress, BuildReport, build_index, open_index, read_manifest

__all__ = [
    "DEFAULT_STEMMER",
    "FORMATS",
    "STEMMERS",
    "BuildProgress",
    "BuildReport",
    "DocumentError",
    "Film",
    "FilmSearchError",
    "IndexDamagedError",
    "IndexLockedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "NotFilmsError",
    "ParsedDocument",
    "SemanticUnavailableError",
    "build_index",
    "detect_format",
    "open_index",
    "read_film",
    "read_manifest",
]
