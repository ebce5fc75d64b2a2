"""A stand-in for the semantic ranker: made-up cosines, the real fusion (no model needed).

Lets tests of features built on ``FilmSearch.search`` (sorting, pages, facets, explain)
run in "hybrid" and "semantic" modes without the semantic extra's model.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from filmsearch.search import FilmSearch

np = pytest.importorskip("numpy", reason="hybrid ranking needs numpy (the semantic extra)")

from filmsearch.search import semantic  # noqa: E402  (needs numpy)


class FakeRanker:
    """``SemanticRanker``'s interface; each query's cosines are pseudo-random but repeatable."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.params = semantic.DEFAULT_FUSION
        self.ids = sorted(i for i in ids if i)
        self.row_of = {film_id: row for row, film_id in enumerate(self.ids)}
        self.store = SimpleNamespace(ids=self.ids, row_of=self.row_of)

    def query_scores(self, text: str) -> Any:
        generator = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
        return generator.random(len(self.ids)).astype(np.float32)

    def rank(
        self,
        text: str,
        lexical: Sequence[tuple[str, float]],
        *,
        mode: str = "hybrid",
        limit: int = 10,
        allowed_ids: Iterable[str] | None = None,
        scores: Any = None,
    ) -> list[tuple[str, float]]:
        allowed = (
            semantic.allowed_rows(self.row_of, len(self.ids), allowed_ids)
            if allowed_ids is not None
            else None
        )
        return semantic.rank(
            lexical,
            self.query_scores(text) if scores is None else scores,
            self.ids,
            self.row_of,
            words=semantic.query_words(text),
            mode=mode,
            limit=limit,
            allowed=allowed,
            params=self.params,
        )


def use_fake_ranker(fs: FilmSearch, monkeypatch: pytest.MonkeyPatch) -> FakeRanker:
    """Make ``fs`` rank in hybrid mode by default, with a FakeRanker."""
    ids, _, _ = fs._ids(fs._current())
    ranker = FakeRanker(ids)

    def ranking(mode: str | None) -> tuple[str, Any, str]:
        if mode == "lexical":
            return "lexical", None, ""
        return mode or "hybrid", ranker, ""

    monkeypatch.setattr(fs, "_ranking", ranking)
    return ranker
