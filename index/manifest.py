"""Reading an index folder: its manifest, its Whoosh index, its stemmer and vectors.

What a search needs of the folder, apart from the builder in ``writer`` (which
re-exports these), so that opening an index does not import the builder and what
it brings (multiprocessing, locking, the source formats).
"""

from __future__ import annotations

import json
import os
from typing import Any

from whoosh import index as whoosh_index

from .analysis import NltkStemFilter
from .errors import IndexMismatchError, IndexNotFoundError, reading_index

#: Written beside the Whoosh files on every build; marks a folder as a filmsearch index.
MANIFEST = "filmsearch.json"
#: The vector sidecar (``index.vectors``): its description file, whose presence means the
#: index has film vectors, and the prefix of its matrix files.
VECTORS_META = "vectors.json"
MATRIX_PREFIX = "vectors-"


def read_manifest(index_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The index's manifest, or None if the folder holds no filmsearch index."""
    try:
        with open(os.path.join(index_dir, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def open_index(index_dir: str | os.PathLike[str]) -> Any:
    """Open an existing filmsearch index for reading or writing."""
    index_dir = os.path.abspath(index_dir)
    if read_manifest(index_dir) is None:
        names = os.listdir(index_dir) if os.path.isdir(index_dir) else []
        if any(name.endswith(".toc") for name in names):
            raise IndexMismatchError(
                f"{index_dir} holds a Whoosh index that filmsearch did not build; not opening "
                "it, because opening an index runs code stored in it (pickle)"
            )
        raise IndexNotFoundError(index_dir)
    with reading_index(index_dir):
        if not whoosh_index.exists_in(index_dir):
            raise IndexNotFoundError(index_dir)
        return whoosh_index.open_dir(index_dir)


def schema_stemmer(schema: Any) -> str:
    """The stemmer an index was built with, read from its schema."""
    for item in getattr(schema["synopsis"].analyzer, "items", ()):
        if isinstance(item, NltkStemFilter):
            return item.stemmer
    return "none"


def has_vectors(index_dir: str) -> bool:
    """Whether the index has film vectors (``index.vectors``)."""
    return os.path.isfile(os.path.join(index_dir, VECTORS_META))
