"""Ranking settings, all in one place: BM25 parameters and field weights.

Each query term is scored in each field with BM25::

    score(t, f, d) = w_f * idf(t, f) * tf * (k1 + 1) / (tf + k1 * (1 - b_f + b_f * len_f(d) / avglen_f))

and a film's score is the sum over terms and fields, where ``w_f`` is the
field weight below, ``b_f`` the field's length normalisation and
``idf(t, f) = log(1 + (N - n + 0.5) / (n + 0.5))`` (Whoosh's BM25F). Terms
are combined with OR plus a small bonus for films that match more of them.

Why these values: a word of the title or a person's name is a much stronger
sign of the film asked for than the same word in the plot, and wiki text is
long and wordy, so it counts for less than the synopsis. Titles and names are
short and nearly uniform in length, so their length normalisation is weak.
"""

from __future__ import annotations

from whoosh import scoring

K1 = 1.2
B = 0.75

#: Query-time weight of each free-text field.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 2.5,
    "title_exact": 1.0,
    "director": 2.0,
    "cast": 2.0,
    "genre": 1.0,
    "synopsis": 1.0,
    "wiki": 0.6,
}

#: Per-field length normalisation; fields not named use B.
FIELD_B: dict[str, float] = {
    "title": 0.3,
    "title_exact": 0.3,
    "director": 0.2,
    "cast": 0.2,
    "genre": 0.2,
}

#: Bonus factor for films matching more of the query's terms (Whoosh OrGroup).
COORDINATION = 0.9


def weighting() -> scoring.WeightingModel:
    """The Whoosh weighting model with the settings above."""
    per_field = {f"{name}_B": value for name, value in FIELD_B.items()}
    return scoring.BM25F(B=B, K1=K1, **per_field)
