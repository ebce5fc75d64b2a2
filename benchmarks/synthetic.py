"""Synthetic film corpora of any size, generated at run time as JSON Lines.

Words are drawn from a Zipf distribution (s = 1.07) over a vocabulary of
made-up words; field lengths follow log-normal laws fitted to the 6,802 real
films of ``../shared/corpora`` (synopsis: 70 % of films, median 45 words;
wiki text: 97 %, median 33 words with a long tail; about 3 cast members).
The same ``seed`` always gives the same corpus.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterator
from pathlib import Path

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ren",
    "sa",
    "tor",
    "vi",
    "del",
    "an",
    "mo",
    "ul",
    "be",
    "ri",
    "ga",
    "zu",
    "pe",
    "on",
    "ta",
    "lis",
    "cor",
)
VOCABULARY = 60_000
ZIPF_S = 1.07
#: (mu, sigma) of log(word count), and the share of films that have the field.
SYNOPSIS_LENGTH, SYNOPSIS_SHARE = (3.81, 0.54), 0.70
WIKI_LENGTH, WIKI_SHARE = (3.50, 1.32), 0.97
MAX_WORDS = 20_000


def _words(count: int) -> list[str]:
    """``count`` distinct pronounceable words, the commonest first."""
    words: list[str] = []
    for size in itertools.count(1):
        for parts in itertools.product(SYLLABLES, repeat=size):
            words.append("".join(parts))
            if len(words) == count:
                return words
    raise AssertionError("unreachable")


def generate_films(count: int, seed: int = 7) -> Iterator[dict[str, object]]:
    """``count`` films as dicts with the project's field names."""
    rng = random.Random(seed)
    vocabulary = _words(VOCABULARY)
    weights = list(itertools.accumulate(1.0 / rank**ZIPF_S for rank in range(1, VOCABULARY + 1)))
    people = [
        f"{first.title()} {last.title()}"
        for first, last in zip(
            rng.choices(vocabulary[200:5000], k=20_000),
            rng.choices(vocabulary[500:20000], k=20_000),
            strict=True,
        )
    ]
    genres = [
        "drama",
        "comedy",
        "thriller",
        "horror",
        "western",
        "romance",
        "animation",
        "documentary",
        "science fiction",
        "crime",
        "musical",
        "war",
    ]

    def text(length: tuple[float, float], share: float) -> str:
        if rng.random() > share:
            return ""
        size = min(MAX_WORDS, max(1, int(math.exp(rng.gauss(*length)))))
        return " ".join(rng.choices(vocabulary, cum_weights=weights, k=size))

    for number in range(count):
        yield {
            "id": str(number),
            "title": " ".join(
                rng.choices(vocabulary, cum_weights=weights, k=rng.randint(1, 5))
            ).title(),
            "year": rng.randint(1910, 2024),
            "runtime": max(40, int(rng.gauss(100, 20))),
            "director": [rng.choice(people)],
            "cast": rng.sample(people, rng.randint(0, 6)),
            "genre": rng.sample(genres, rng.randint(1, 2)),
            "synopsis": text(SYNOPSIS_LENGTH, SYNOPSIS_SHARE),
            "wiki": text(WIKI_LENGTH, WIKI_SHARE),
        }


def write_corpus(path: Path, count: int, seed: int = 7) -> int:
    """Write ``count`` synthetic films to ``path`` (JSON Lines); return its size in bytes."""
    with path.open("w", encoding="utf-8") as handle:
        for film in generate_films(count, seed):
            handle.write(json.dumps(film) + "\n")
    return path.stat().st_size
