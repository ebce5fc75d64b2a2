"""filmsearch.index: turn film documents into a searchable Whoosh index.

from filmsearch.index import build_index
report = build_index(["seeds/"], "my-index")

The names below are imported from their modules when first used, so that a
search, which needs few of them, does not load the index builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import safe_pickle  # noqa: F401  # imported to restrict every unpickling Whoosh does

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

#: The module of each public name that is not an error (those live in .errors).
_MODULE = {
    "DEFAULT_STEMMER": "analysis",
    "STEMMERS": "analysis",
    "Film": "documents",
    "ParsedDocument": "documents",
    "read_film": "documents",
    "FORMATS": "formats",
    "detect_format": "formats",
    "BuildProgress": "writer",
    "BuildReport": "writer",
    "build_index": "writer",
    "open_index": "writer",
    "read_manifest": "writer",
}


if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all for other names

    def __getattr__(name: str) -> Any:
        """Import a public name when it is first used, then keep it here."""
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module = importlib.import_module(f"{__name__}.{_MODULE.get(name, 'errors')}")
        value = getattr(module, name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
