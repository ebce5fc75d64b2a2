"""filmsearch.index: turn film documents into a searchable Whoosh index.

from filmsearch.index import build_index
report = build_index(["seeds/"], "my-index")

The names below are imported from their modules when first used, so that a
search, which needs few of them, does not load the index builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from filmsearch import _lazy_exports

from .lazy_init import defer_unused_whoosh_modules

defer_unused_whoosh_modules()  # first: whoosh.analysis, imported next, imports two of them

from . import safe_pickle  # noqa: E402, F401  # imported to restrict every unpickling Whoosh does

if TYPE_CHECKING:
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
    from .manifest import open_index, read_manifest
    from .writer import BuildProgress, BuildReport, build_index

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

#: The module of each public name (the errors': .errors).
_ORIGINS = {
    **dict.fromkeys(__all__, ".errors"),
    "DEFAULT_STEMMER": ".analysis",
    "STEMMERS": ".analysis",
    "Film": ".documents",
    "ParsedDocument": ".documents",
    "read_film": ".documents",
    "FORMATS": ".formats",
    "detect_format": ".formats",
    "BuildProgress": ".writer",
    "BuildReport": ".writer",
    "build_index": ".writer",
    "open_index": ".manifest",
    "read_manifest": ".manifest",
}
_export, __dir__ = _lazy_exports(globals(), _ORIGINS)

if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all for other names
    __getattr__ = _export
