"""Result types returned by the library: plain dataclasses, never Whoosh objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .highlight import Snippet

if TYPE_CHECKING:
    from .explain import Part

#: Fields that get a snippet, in display order.
SNIPPET_FIELDS = ("synopsis", "wiki")


@dataclass(frozen=True)
class Hit:
    """One ranked film."""

    rank: int
    id: str
    title: str
    year: int | None
    runtime: int | None
    directors: tuple[str, ...]
    cast: tuple[str, ...]
    genres: tuple[str, ...]
    score: float
    path: str
    snippets: dict[str, Snippet] = field(default_factory=dict)
    #: Why the film scored what it did (``FilmSearch.search(explain=True)``), else None.
    explanation: Part | None = None

    def __repr__(self) -> str:
        year = f" ({self.year})" if self.year else ""
        return f"<Hit {self.rank}: {self.title!r}{year} id={self.id!r} score={self.score:.3f}>"

    @property
    def director(self) -> str:
        """All directors, comma-separated."""
        return ", ".join(self.directors)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; ``highlights`` gives the matched words' offsets in each snippet."""
        return {
            "rank": self.rank,
            "id": self.id,
            "title": self.title,
            "year": self.year,
            "runtime": self.runtime,
            "director": self.director,
            "directors": list(self.directors),
            "cast": list(self.cast),
            "genres": list(self.genres),
            "score": round(self.score, 4),
            "path": self.path,
            "snippets": {name: s.text for name, s in self.snippets.items()},
            "highlights": {
                name: [list(span) for span in s.spans] for name, s in self.snippets.items()
            },
            **({"explain": self.explanation.to_dict()} if self.explanation else {}),
        }


@dataclass(frozen=True)
class Results:
    """The hits for one query, best first, and how many films matched in all.

    ``partial`` is True when the search did not look at everything the query
    asks for: its time budget ran out (see ``FilmSearch.search``'s
    ``time_limit``), or a wildcard, prefix or range word stood for more index
    words than are searched (``term_scores.MAX_EXPANSIONS``). The hits are
    then the best of what was found, and ``total`` counts what was found.
    Hits made after the time ran out have no snippets.

    ``mode`` is how the hits were ranked ("lexical", "hybrid" or "semantic");
    ``note`` says why, when the index has film vectors but ranking fell back
    to words alone.

    ``sort`` is the order of the hits (``ordering.SORTS``) and ``offset`` the
    number of films of that order before the first hit (ranks count from
    ``offset + 1``). ``facets`` maps each facet asked for to its most frequent
    values among all matching films: ``{"decade": [{"value": "1990s", "count":
    12}, …]}``.

    ``understood`` says how the query text was read (``understand.QueryPlan``): its
    words, the syntax kept, and what was read as words ("read as words: colon").

    ``corrected`` is the query as searched when misspelt words were corrected
    (None when it was searched as typed); ``suggestions`` are other spellings
    that find films, offered when few films match.
    """

    query: str
    total: int
    hits: list[Hit]
    parsed: str = ""
    understood: str = ""
    partial: bool = False
    mode: str = "lexical"
    note: str = ""
    offset: int = 0
    sort: str = "relevance"
    facets: dict[str, list[dict[str, str | int]]] = field(default_factory=dict)
    corrected: str | None = None
    suggestions: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        shown = ", ".join(repr(hit.title) for hit in self.hits[:3])
        more = ", …" if len(self.hits) > 3 else ""
        partial = " (partial)" if self.partial else ""
        return f"<Results for {self.query[:60]!r}: {self.total} match{partial}, [{shown}{more}]>"

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __getitem__(self, position: int) -> Hit:
        return self.hits[position]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "parsed": self.parsed,
            "understood": self.understood,
            "partial": self.partial,
            "mode": self.mode,
            "note": self.note or None,
            "corrected": self.corrected,
            "suggestions": self.suggestions,
            "offset": self.offset,
            "sort": self.sort,
            **({"facets": self.facets} if self.facets else {}),
            "hits": [hit.to_dict() for hit in self.hits],
        }
