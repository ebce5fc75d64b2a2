"""Films like a given one: the query ``FilmSearch.similar`` searches with.

The film's key terms (the ``KEY_TERMS`` words of its synopsis and wiki text that
best tell it from the other films, by Whoosh's Bo1 model over the index) are
searched as keywords in title, synopsis and wiki text, each with BM25F, and the
film's directors, first ``CAST_MEMBERS`` cast members and genres as names; a
film's score is the sum. The film itself is left out.
"""

from __future__ import annotations

from typing import Any

from whoosh import query as wq

from filmsearch.index.documents import Film
from filmsearch.index.errors import FilmSearchError

from . import ranking
from .bm25f import FieldedWord, ScoredOr

#: Key terms of the film's text searched.
KEY_TERMS = 24
#: Cast members searched (the first ones listed, usually the leads).
CAST_MEMBERS = 5
#: Fields the key terms are searched in, with their weights.
TEXT_WEIGHTS = {"title": 1.0, "synopsis": 1.0, "wiki": ranking.FIELD_WEIGHTS.get("wiki", 0.6)}
#: Weight of a shared director, cast member and genre.
NAME_WEIGHTS = {"director": 1.5, "cast": 1.0, "genre": 0.5}


class FilmNotFoundError(FilmSearchError, KeyError):
    """No film has the id asked for."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such film"


def similar_query(film: Film, searcher: Any) -> wq.Query:
    """The query for films like ``film`` (see the module docstring), without the film itself."""
    schema = searcher.schema
    clauses: list[wq.Query] = []
    text = f"{film.synopsis}\n{film.wiki}"
    if text.strip():
        terms = searcher.key_terms_from_text("synopsis", text, numterms=KEY_TERMS)
        for word, _ in terms:
            clauses.append(
                FieldedWord(
                    [wq.Term(field, word, boost=weight) for field, weight in TEXT_WEIGHTS.items()]
                )
            )
    people = (
        ("director", film.directors),
        ("cast", film.cast[:CAST_MEMBERS]),
        ("genre", film.genres),
    )
    for field, names in people:
        for name in dict.fromkeys(names):
            words = [token.text for token in schema[field].analyzer(name)]
            if len(words) == 1:
                clauses.append(wq.Term(field, words[0], boost=NAME_WEIGHTS[field]))
            elif words:
                clauses.append(wq.Phrase(field, words[:8], boost=NAME_WEIGHTS[field]))
    if not clauses:
        return wq.NullQuery
    return wq.AndNot(ScoredOr(clauses), wq.Term("id", film.id))
