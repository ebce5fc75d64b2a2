"""Ranking settings and formulas, all in one place.

A free keyword ``t`` is scored with BM25F (Robertson & Zaragoza, 2009) over
the fields it is searched in::

    tf~(t, d) = sum over fields f of  w_f * tf(t, f, d) / (1 - b_f + b_f * len(f, d) / avglen(f))
    score(t, d) = idf(t) * tf~ * (k1 + 1) / (k1 + tf~)
    idf(t)      = log(1 + (N - df + 0.5) / (df + 0.5))

where ``w_f`` is the field weight below, ``b_f`` the field's length
normalisation, N the number of films and df the number of films containing
the word (the largest count over its fields). A film's score is the sum over
the query's words; for short queries (at most COORDINATION_MAX_CLAUSES
words) it is multiplied by the coordination factor
``(matched words / query words) ** COORDINATION``. Because a word saturates
once, and because of that factor, a film matching every word of the query
beats a film that matches one word in many fields.

The formula is written once, as the pure functions at the end of this module
(``idf``, ``length_norm``, ``field_factor``, ``pseudo_tf``, ``saturate``, and
``bm25f`` and ``bm25`` made of them); every scorer calls them: the keyword
scorer, wildcards and the baseline (``term_scores``), clauses aimed at one
field (``director:audiard``, each word of a phrase: BM25F of that field alone,
weight 1, through ``weighting()``), the explanations and the tests.

Why these values: a word of the title or a person's name is a much stronger
sign of the film asked for than the same word in the plot; wiki text is long
and wordy, so it counts for less than the synopsis. Titles and names are
short and nearly uniform in length, so their length normalisation is weak.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from whoosh.scoring import WeightingModel

K1 = 1.2
B = 0.75

#: Exponent of the coordination factor (matched clauses / clauses); 0 turns it off.
COORDINATION = 1.0
#: Queries with more clauses than this (verbose descriptions) get no coordination factor.
COORDINATION_MAX_CLAUSES = 5

#: Most keyword clauses scored per query; longer queries keep their rarest words.
MAX_KEYWORDS = 64

#: Words that say little about which film is meant ("movie", "remember", "scene"):
#: their clauses are weighted by FILLER_WEIGHT (1.0 turns this off).
FILLER_WEIGHT = 0.1
FILLER_WORDS = frozenset(
    [
        "movie",
        "movies",
        "film",
        "films",
        "flick",
        "remember",
        "remembered",
        "recall",
        "think",
        "thought",
        "scene",
        "scenes",
        "watched",
        "watch",
        "watching",
        "saw",
        "seen",
        "childhood",
        "ago",
        "plot",
        "story",
        "character",
        "characters",
        "somebody",
        "someone",
        "something",
        "anyone",
        "anybody",
        "know",
        "knew",
        "looking",
        "trying",
        "help",
        "title",
        "name",
        "called",
        "find",
        "please",
        "thanks",
        "thank",
        "maybe",
        "probably",
        "pretty",
        "really",
        "just",
        "like",
        "kind",
        "sort",
        "lot",
        "also",
        "still",
        "ever",
        "around",
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "id",
        "dont",
        "didnt",
        "cant",
        "one",
        "two",
        "get",
        "gets",
        "got",
        "go",
        "goes",
        "going",
        "went",
        "come",
        "comes",
        "came",
        "make",
        "makes",
        "made",
        "take",
        "takes",
        "took",
        "back",
        "way",
        "well",
        "even",
        "much",
        "many",
        "every",
        "end",
        "ends",
        "ending",
        "first",
        "last",
        "later",
        "whole",
        "set",
        "theres",
    ]
)

#: Score factor (1 + boost) for films whose year, or genre, a description hints at
#: ("the early 90s", "1995", "animated"); 0 turns a hint off. See search.hints.
YEAR_HINT_BOOST = 0.3
GENRE_HINT_BOOST = 0.3
#: A year mentioned alone ("1995") also matches this many years either side.
YEAR_HINT_SLACK = 1
#: Words of a description -> the genre word they hint at (as indexed, lower case).
GENRE_HINTS = {
    "animated": "animation",
    "animation": "animation",
    "cartoon": "animation",
    "anime": "animation",
    "horror": "horror",
    "scary": "horror",
    "comedy": "comedy",
    "documentary": "documentary",
    "western": "western",
    "musical": "musical",
    "thriller": "thriller",
    "romantic": "romance",
    "romance": "romance",
    "sci-fi": "science",
    "scifi": "science",
    "fantasy": "fantasy",
    "war": "war",
    "crime": "crime",
    "mystery": "mystery",
    "family": "family",
    "drama": "drama",
    "action": "action",
    "adventure": "adventure",
}

#: Weight of each free-text field in tf~.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 2.5,
    "title_exact": 1.0,
    "director": 2.0,
    "cast": 2.0,
    "genre": 1.0,
    "synopsis": 1.0,
    "wiki": 0.6,
}

#: Weights that replace FIELD_WEIGHTS in descriptions (queries of more than
#: COORDINATION_MAX_CLAUSES words): a title word typed among many is rarely
#: meant as the title, while "almodovar mother" very likely is.
VERBOSE_FIELD_WEIGHTS: dict[str, float] = {"title": 1.0}

#: Per-field length normalisation b_f; fields not named use B.
FIELD_B: dict[str, float] = {
    "title": 0.3,
    "title_exact": 0.3,
    "director": 0.2,
    "cast": 0.2,
    "genre": 0.2,
}


#: The plain-BM25 baseline: one text made of these fields, with textbook parameters.
BASELINE_FIELDS = ("title", "synopsis", "wiki")
BASELINE_K1 = 1.2
BASELINE_B = 0.75


def field_b(field: str) -> float:
    """Length normalisation of ``field``."""
    return FIELD_B.get(field, B)


# --- the formula: pure functions, the only copy ------------------------------------------


def idf(doc_freq: int, doc_count: int) -> float:
    """BM25 inverse document frequency, never negative: ``log(1 + (N - df + 0.5) / (df + 0.5))``
    for ``df`` films of ``N``."""
    return math.log(1.0 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5))


def length_norm(length: float, avg_length: float, b: float) -> float:
    """BM25's length normalisation of a field: ``1 - b + b * length / avg_length``."""
    return 1.0 - b + b * length / avg_length


def field_factor(length: float, avg_length: float, weight: float = 1.0, b: float = B) -> float:
    """What one occurrence in a field adds to tf~: ``weight / length_norm(...)``.

    Depends on the document only through its field length, so the engine computes
    it once per document and field (``term_scores.field_factors``).
    """
    return weight / length_norm(length, avg_length, b)


def pseudo_tf(
    freq: float, length: float, avg_length: float, weight: float = 1.0, b: float = B
) -> float:
    """A field's part of BM25F's tf~: ``freq * field_factor(length, avg_length, weight, b)``."""
    return freq * field_factor(length, avg_length, weight, b)


def saturate(tf: float, k1: float = K1) -> float:
    """BM25's saturation of a (pseudo) frequency: ``tf * (k1 + 1) / (k1 + tf)``."""
    return tf * (k1 + 1.0) / (k1 + tf)


def bm25f(
    idf_value: float, parts: Iterable[tuple[float, float, float, float, float]], k1: float = K1
) -> float:
    """BM25F score of one word; ``parts``: ``(tf, length, avg_length, weight, b)`` per field.

    ``idf * saturate(sum of pseudo_tf over the fields, k1)``.
    """
    tf = sum(
        pseudo_tf(freq, length, avg_length, weight, b)
        for freq, length, avg_length, weight, b in parts
    )
    return idf_value * saturate(tf, k1)


def bm25(
    idf_value: float,
    tf: float,
    length: float,
    avg_length: float,
    k1: float = BASELINE_K1,
    b: float = BASELINE_B,
) -> float:
    """Plain BM25 of one word in one text: BM25F with that text as the only field.

    ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))``
    """
    return idf_value * saturate(pseudo_tf(tf, length, avg_length, 1.0, b), k1)


def coordination(matched: float, weight: float, clauses: int) -> float:
    """The coordination factor of a film whose matched clauses weigh ``matched`` of the
    query's ``weight`` (its ``clauses`` clauses): ``(matched / weight) ** COORDINATION``,
    or 1 for a description (more than COORDINATION_MAX_CLAUSES clauses)."""
    if not COORDINATION or clauses > COORDINATION_MAX_CLAUSES:
        return 1.0
    return float((matched / weight) ** COORDINATION)


def weighting() -> WeightingModel:
    """The Whoosh weighting model of single-field clauses (``director:audiard``, phrases):
    ``bm25f`` of that field alone, with ``idf`` above (``term_scores.FieldBM25``)."""
    from .term_scores import FieldBM25  # term_scores imports this module

    return FieldBM25()
