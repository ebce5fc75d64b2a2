"""Semantic ranking: the fusion of BM25F with the query's cosine similarity to each film.

Pure numpy (the model is in ``index.embedding``, loaded on the first query):

    hybrid score = w_lex * lexical / max(lexical) + w_sem * cosine, over the
    candidates lexical top-N | semantic top-N, with w_sem growing with the
    query's length (``FusionParams.semantic_weight``).

A long request's vector first loses part of the direction every request
shares ("I'm looking for a movie I watched…", ``GENERIC_REQUEST``), so that
what is left is about the film (``debiased``, ``FusionParams.generic_weight``).

``SemanticRanker`` holds one index's vectors and the query model for
``FilmSearch``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from filmsearch.index.embedding import Encoder, ModelMismatchError, Vector, load_encoder
from filmsearch.index.vectors import VectorStore

from .searcher import MODES

# --------------------------------------------------------------------------- fusion


@dataclass(frozen=True)
class FusionParams:
    """How hybrid ranking fuses lexical and semantic scores (tuned on dev half A).

    ``semantic_weight(words)``: w_sem rises from ``sem_short`` at ``short_words``
    query words or fewer to ``sem_long`` at ``long_words`` words or more,
    linearly in log(words); w_lex = 1 - w_sem.
    ``depth``: candidates are the lexical top-``depth`` | the semantic top-``depth``.
    ``generic_weight(words)``: how much of ``GENERIC_REQUEST``'s vector the query's
    loses, from 0 at ``short_words`` to ``generic_long`` at ``long_words`` (same scale).
    """

    sem_short: float = 0.8
    sem_long: float = 0.75
    short_words: int = 16
    long_words: int = 64
    depth: int = 150
    generic_long: float = 0.5

    def length_share(self, words: int) -> float:
        """``clip((ln n - ln a) / (ln b - ln a), 0, 1)``: 0 for short queries, 1 for long."""
        n = max(words, 1)
        low, high = math.log(self.short_words), math.log(self.long_words)
        return min(max((math.log(n) - low) / (high - low), 0.0), 1.0) if high > low else 1.0

    def semantic_weight(self, words: int) -> float:
        """``w_sem = s + (l - s) * length_share(n)``."""
        return self.sem_short + (self.sem_long - self.sem_short) * self.length_share(words)

    def generic_weight(self, words: int) -> float:
        """``lambda = generic_long * length_share(n)``."""
        return self.generic_long * self.length_share(words)


DEFAULT_FUSION = FusionParams()

#: What every tip-of-the-tongue request says besides the film; chosen a priori (not tuned).
GENERIC_REQUEST = (
    "I'm looking for a movie I watched a long time ago, I remember some scenes but not "
    "the title. Can anyone help me find it? Thanks!"
)


def debiased(query: Vector, generic: Vector, weight: float) -> Vector:
    """``normalise(q - weight * g)``: the query without ``weight`` of the generic request's
    direction ``g`` (both normalised); ``q`` itself when ``weight`` is 0."""
    if weight <= 0:
        return query
    moved = query - np.float32(weight) * generic
    norm = float(np.linalg.norm(moved))
    return np.asarray(moved / norm if norm > 0 else query, dtype=np.float32)


def cosines(matrix: npt.NDArray[Any], query: Vector) -> Vector:
    """The cosine of every (normalised) row with the (normalised) query: ``matrix @ q``."""
    return np.asarray(matrix @ query.astype(matrix.dtype, copy=False), dtype=np.float32)


def top_rows(scores: Vector, k: int, allowed: npt.NDArray[np.bool_] | None = None) -> list[int]:
    """The rows of the ``k`` highest scores, best first (only rows where ``allowed``).

    ``np.argpartition`` then a sort of the ``k``: O(n + k log k).
    """
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf).astype(np.float32)
        k = min(k, int(allowed.sum()))
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return [int(r) for r in part[np.argsort(-scores[part], kind="stable")]]


def allowed_rows(
    row_of: dict[str, int], rows: int, film_ids: Iterable[str]
) -> npt.NDArray[np.bool_]:
    """A mask of the rows whose film ids are in ``film_ids`` (the films a filter lets through)."""
    mask = np.zeros(rows, dtype=bool)
    hits = [row_of[i] for i in film_ids if i in row_of]
    mask[hits] = True
    return mask


def rank(
    lexical: Sequence[tuple[str, float]],
    scores: Vector,
    ids: Sequence[str],
    row_of: dict[str, int],
    *,
    words: int,
    mode: str = "hybrid",
    limit: int = 10,
    allowed: npt.NDArray[np.bool_] | None = None,
    params: FusionParams = DEFAULT_FUSION,
) -> list[tuple[str, float]]:
    """Fuse a lexical ranking with the query's cosines into the ``limit`` best (film id, score).

    ``lexical``: (film id, BM25F score) best first, already filtered, at least
    ``params.depth`` deep when there are that many matches. ``scores``: the
    cosine of each vector row (``cosines``); ``ids``/``row_of``: the rows' film
    ids. ``allowed``: a row mask (``allowed_rows``) when filters apply, so
    semantic candidates obey them too. ``words``: the query's word count.

    - ``lexical``: the lexical ranking, unchanged.
    - ``semantic``: rank by cosine alone (allowed rows only); score = cosine.
    - ``hybrid``: candidates C = lexical top-N | semantic top-N (N = depth);
      for f in C: ``score(f) = w_lex * bm25(f) / max_C bm25 + w_sem * cos(f)``
      with ``w_sem = params.semantic_weight(words)``, ``w_lex = 1 - w_sem``;
      bm25(f) = 0 for a film outside the lexical top-N, cos(f) = 0 for a film
      without a vector. Ties keep the lexical order.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "lexical":
        return list(lexical[:limit])
    if mode == "semantic":
        return [(ids[r], float(scores[r])) for r in top_rows(scores, limit, allowed)]
    depth = max(params.depth, limit)
    lex = list(lexical[:depth])
    top = max((s for _, s in lex), default=0.0)
    w_sem = params.semantic_weight(words)
    w_lex = 1.0 - w_sem
    fused: dict[str, float] = {}
    for film_id, score in lex:
        if film_id in fused:
            continue
        row = row_of.get(film_id)
        cos = float(scores[row]) if row is not None else 0.0
        fused[film_id] = w_lex * (score / top if top > 0 else 0.0) + w_sem * cos
    for row in top_rows(scores, depth, allowed):
        film_id = ids[row]
        if film_id not in fused:
            fused[film_id] = w_sem * float(scores[row])
    order = sorted(fused.items(), key=lambda item: -item[1])  # stable: lexical first on ties
    return order[:limit]


def query_words(text: str) -> int:
    """The word count ``FusionParams.semantic_weight`` is given."""
    return len(text.split())


@dataclass
class SemanticRanker:
    """Query-side state for one index: its vectors and (loaded on first use) the model."""

    store: VectorStore
    model: str | None = None
    params: FusionParams = DEFAULT_FUSION
    _encoder: Encoder | None = None
    _generic: Vector | None = None

    @classmethod
    def open(
        cls, index_dir: str | os.PathLike[str], model: str | None = None
    ) -> SemanticRanker | None:
        """The ranker for the index, or None when it has no vectors (lexical search only)."""
        store = VectorStore.load(index_dir)
        return cls(store, model) if store is not None else None

    @property
    def encoder(self) -> Encoder:
        """The query model: ``model`` if given, else the one the vectors were made with."""
        if self._encoder is None:
            encoder = load_encoder(self.model or self.store.model)
            if encoder.name != self.store.model or encoder.dim != self.store.dim:
                raise ModelMismatchError(
                    f"the index's vectors were made with {self.store.model} "
                    f"({self.store.dim} dimensions), not {encoder.name} ({encoder.dim}); search "
                    f"with --model {self.store.model}, or rebuild with --semantic --model "
                    f"{encoder.name}"
                )
            self._encoder = encoder
        return self._encoder

    def __post_init__(self) -> None:
        if self.store.matrix.dtype != np.float32:  # sidecars written as float16: once, in memory
            self.store.matrix = np.asarray(self.store.matrix, dtype=np.float32)

    def query_vector(self, text: str) -> Vector:
        """The query's vector, ``debiased`` by its length's ``generic_weight``."""
        vector = self.encoder.embed_query(text)
        weight = self.params.generic_weight(query_words(text))
        if weight <= 0:
            return vector
        if self._generic is None:  # once per ranker: one more short encode
            self._generic = self.encoder.embed_query(GENERIC_REQUEST)
        return debiased(vector, self._generic, weight)

    def query_scores(self, text: str) -> Vector:
        """The cosine of every film's vector with the query's (the model loads on first use)."""
        return cosines(self.store.matrix, self.query_vector(text))

    def rank(
        self,
        text: str,
        lexical: Sequence[tuple[str, float]],
        *,
        mode: str = "hybrid",
        limit: int = 10,
        allowed_ids: Iterable[str] | None = None,
        scores: Vector | None = None,
    ) -> list[tuple[str, float]]:
        """The ``limit`` best (film id, score) for ``text`` in ``mode`` (see ``rank``).

        ``lexical``: the lexical hits (id, score), best first, ``params.depth`` deep.
        ``allowed_ids``: the ids a filter lets through (None: no filter).
        ``scores``: ``query_scores(text)``, if already computed.
        """
        if mode == "lexical" or not text.strip():
            return list(lexical[:limit])
        if scores is None:
            scores = self.query_scores(text)
        allowed = (
            allowed_rows(self.store.row_of, len(self.store), allowed_ids)
            if allowed_ids is not None
            else None
        )
        return rank(
            lexical,
            scores,
            self.store.ids,
            self.store.row_of,
            words=query_words(text),
            mode=mode,
            limit=limit,
            allowed=allowed,
            params=self.params,
        )
