"""``FilmSearch.stats``'s answer, apart from the search results (``results``), so that a
search does not define it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class IndexStats:
    """What an index holds."""

    index_dir: str
    films: int
    terms: int
    fields: list[str]
    stemmer: str
    size_bytes: int
    built_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
