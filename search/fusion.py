"""What explaining a hybrid or semantic score needs, apart from ``searcher``: only a
hybrid or semantic search makes one (each dataclass costs a search's start 1 %)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fusion:
    """A hybrid or semantic ranking's inputs, for explanations: the lexical scores of the
    lexical candidates, the best of them, each film's cosine, and the semantic weight."""

    mode: str
    bm25: dict[str, float]
    top: float
    cosine: Callable[[str], float]
    weight: float
    ids: list[str]
