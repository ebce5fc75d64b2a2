"""The vector sidecar: one normalised embedding per film, stored beside the Whoosh index.

Two kinds of file in the index folder (numpy only; nothing here imports torch)::

    vectors.json              what the vectors are: model, dimension, dtype, the
                              film ids and content digests row by row, and the
                              name of the matrix file
    vectors-<token>.npy       the matrix, one row per film (float16 or float32)

Publishing is atomic: a new matrix is written under a new name (through a
hidden temporary file and ``os.replace``), then a new ``vectors.json`` naming
it replaces the old one with ``os.replace``. A reader that opened the old JSON
keeps its memory-mapped old matrix (on POSIX an open or mapped file outlives its
name); stale matrix files are removed after the switch.

Rows are keyed by film id and a content digest (``search.semantic.film_digest``:
a hash of exactly the text that is embedded), so an update re-embeds only films
that are new or whose embedded text changed (``update``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import FilmSearchError
from .manifest import MATRIX_PREFIX, VECTORS_META

VECTORS_FORMAT = 1
#: Stored dtype. float16 would halve the file (and changed no rank on the dev set), but
#: numpy has no fast float16 product: scoring 100,000 float16 rows took 20x as long as
#: float32 ones, and converting them per query 15x. float32 is memory-mapped as is.
STORE_DTYPE = np.float32

Matrix = npt.NDArray[np.floating[Any]]


class VectorStoreError(FilmSearchError):
    """The vector sidecar is unreadable or does not match its description."""


@dataclass
class VectorStore:
    """The vectors of one index: ``matrix[i]`` embeds film ``ids[i]`` (text digest ``digests[i]``).

    ``matrix`` is memory-mapped when loaded from disk. ``row_of`` maps a film id
    to its row (the first, should an id repeat). ``generation``: the index
    generation whose films these are (-1: unknown).
    """

    ids: list[str]
    digests: list[str]
    matrix: Matrix
    model: str
    dim: int
    path: str = ""
    generation: int = -1
    row_of: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.matrix.ndim != 2 or self.matrix.shape != (len(self.ids), self.dim):
            raise VectorStoreError(
                f"vector matrix has shape {self.matrix.shape}, expected ({len(self.ids)}, "
                f"{self.dim})"
            )
        if len(self.digests) != len(self.ids):
            raise VectorStoreError("vector sidecar: ids and digests differ in length")
        if not self.row_of:
            for row, film_id in enumerate(self.ids):
                self.row_of.setdefault(film_id, row)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, index_dir: str | os.PathLike[str]) -> VectorStore | None:
        """The index's vectors (matrix memory-mapped, read-only), or None if it has none.

        Raises VectorStoreError if the sidecar is there but damaged.
        """
        index_dir = os.fspath(index_dir)
        meta_path = os.path.join(index_dir, VECTORS_META)
        try:
            with open(meta_path, encoding="utf-8") as handle:
                meta = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise VectorStoreError(f"{meta_path}: unreadable ({error})") from None
        try:
            name = os.path.basename(str(meta["matrix"]))
            if not name.startswith(MATRIX_PREFIX) or meta.get("format") != VECTORS_FORMAT:
                raise ValueError("unknown format")
            matrix = np.load(os.path.join(index_dir, name), mmap_mode="r", allow_pickle=False)
            return cls(
                ids=[str(i) for i in meta["ids"]],
                digests=[str(d) for d in meta["digests"]],
                matrix=matrix,
                model=str(meta["model"]),
                dim=int(meta["dim"]),
                path=index_dir,
                generation=int(meta.get("generation", -1)),
            )
        except VectorStoreError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise VectorStoreError(
                f"{meta_path}: damaged vector sidecar ({error}); rebuild with --semantic"
            ) from None

    @classmethod
    def write(
        cls,
        index_dir: str | os.PathLike[str],
        ids: Sequence[str],
        digests: Sequence[str],
        matrix: Matrix,
        model: str,
        dtype: Any = STORE_DTYPE,
        generation: int = -1,
    ) -> VectorStore:
        """Publish these vectors as the index's sidecar (atomically) and return it, loaded.

        Rows are normalised to unit length before storing.
        """
        index_dir = os.fspath(index_dir)
        data = normalise(np.asarray(matrix, dtype=np.float32)).astype(dtype)
        if data.ndim != 2 or data.shape[0] != len(ids) or len(digests) != len(ids):
            raise ValueError(
                f"{len(ids)} ids and {len(digests)} digests for a matrix of shape {data.shape}"
            )
        token = secrets.token_hex(8)
        name = f"{MATRIX_PREFIX}{token}.npy"
        tmp_matrix = os.path.join(index_dir, f".{name}.tmp")
        tmp_meta = os.path.join(index_dir, f".{VECTORS_META}.{token}.tmp")
        meta = {
            "format": VECTORS_FORMAT,
            "model": model,
            "dim": int(data.shape[1]),
            "dtype": str(data.dtype),
            "count": len(ids),
            "generation": generation,
            "matrix": name,
            "ids": list(ids),
            "digests": list(digests),
        }
        try:
            with open(tmp_matrix, "wb") as handle:
                np.save(handle, data, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_matrix, os.path.join(index_dir, name))
            with open(tmp_meta, "w", encoding="utf-8") as handle:
                json.dump(meta, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_meta, os.path.join(index_dir, VECTORS_META))  # the switch
        except BaseException:
            for path in (tmp_matrix, tmp_meta):
                with contextlib.suppress(OSError):
                    os.remove(path)
            raise
        _remove_stale_matrices(index_dir, keep=name)
        store = cls.load(index_dir)
        assert store is not None
        return store


def _remove_stale_matrices(index_dir: str, keep: str | None) -> None:
    for name in os.listdir(index_dir):
        stale = name.startswith(MATRIX_PREFIX) and name.endswith(".npy") and name != keep
        if stale or (name.startswith(f".{MATRIX_PREFIX}") and name.endswith(".tmp")):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(index_dir, name))


def normalise(matrix: Matrix) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (all-zero rows stay zero), as float32."""
    data = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(data, axis=-1, keepdims=True)
    out: npt.NDArray[np.float32] = np.divide(data, norms, out=np.zeros_like(data), where=norms > 0)
    return out


def update(
    old: VectorStore | None,
    current: Sequence[tuple[str, str]],
    embed: Callable[[list[int]], Matrix],
    model: str,
) -> tuple[list[str], list[str], npt.NDArray[np.float32], int]:
    """The rows for ``current`` (film id, digest) pairs, reusing ``old`` rows where they fit.

    A row is reused when ``old`` was made by the same ``model`` and holds the
    same id with the same digest; ``embed(positions)`` is called once, with the
    positions in ``current`` that need new vectors (not at all if none do), and
    must return one row per position. Films absent from ``current`` are dropped.
    Returns (ids, digests, matrix, number embedded), ready for ``VectorStore.write``.
    """
    reusable: dict[tuple[str, str], int] = {}
    if old is not None and old.model == model:
        for row, key in enumerate(zip(old.ids, old.digests, strict=True)):
            reusable.setdefault(key, row)
    missing = [pos for pos, key in enumerate(current) if key not in reusable]
    fresh = normalise(embed(missing)) if missing else None
    if fresh is not None and fresh.shape[0] != len(missing):
        raise ValueError(f"embed returned {fresh.shape[0]} rows for {len(missing)} films")
    dim = fresh.shape[1] if fresh is not None else (old.dim if old is not None and current else 0)
    matrix = np.zeros((len(current), dim), dtype=np.float32)
    if fresh is not None:
        matrix[missing] = fresh
    if old is not None and len(missing) < len(current):
        if old.dim != dim:
            raise ValueError(f"new vectors have {dim} dimensions, the stored ones {old.dim}")
        keep = [pos for pos, key in enumerate(current) if key in reusable]
        rows = [reusable[current[pos]] for pos in keep]
        matrix[keep] = np.asarray(old.matrix[rows], dtype=np.float32)
    return [k[0] for k in current], [k[1] for k in current], matrix, len(missing)
