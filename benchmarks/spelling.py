"""Typo tolerance: misspelled queries generated from an index, and how often the film is found.

    python -m benchmarks.spelling --index films.idx [--count 400] [--seed 15]

Each case takes one film and misspells one word of it with one or two random
edits (insert, delete, substitute a letter, or swap two neighbours):

- a title word: the query is the film's title with that word misspelled;
- a director's surname: ``director:<surname> <two title words>``;
- an actor's surname: ``cast:<surname> <two title words>``.

Two edits are made only where the misspelled word still has at least
``spelling.TWO_EDITS_FROM`` letters (shorter words are corrected within one
edit). A misspelling is skipped when it is itself a word of the index, or when
another word (not a form of the intended one) at most as many edits away is in
at least as many films as the intended one (no engine can know which was
meant), or when two edits overlap so that they count as three (the engine
measures optimal string alignment distance: a swap and an insertion between
the swapped letters count three). The figure is the share of
cases whose film is in the top 10, with and without correction (``exact``);
it also counts how many correctly spelled queries (the same queries before the
edits, and every film's title) get different results with correction on: it
must be 0.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from filmsearch.index.schema import document_to_film
from filmsearch.search import FilmSearch
from filmsearch.search.spelling import (
    MIN_WORD_CHARS,
    TWO_EDITS_FROM,
    Speller,
    Vocabulary,
    edit_distance,
    max_distance,
)

KINDS = ("title", "director", "cast")


@dataclass(frozen=True)
class Case:
    """One misspelled query and the film it is meant to find."""

    kind: str
    film_id: str
    query: str
    correct_query: str
    typo: str
    intended: str


def _edit(word: str, rng: random.Random) -> str:
    """``word`` with one random insert, delete, substitution or swap of neighbours."""
    position = rng.randrange(len(word))
    letter = rng.choice(string.ascii_lowercase)
    kind = rng.choice(("insert", "delete", "substitute", "swap"))
    if kind == "insert":
        return word[:position] + letter + word[position:]
    if kind == "delete":
        return word[:position] + word[position + 1 :]
    if kind == "swap" and position + 1 < len(word):
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    return word[:position] + letter + word[position + 1 :]


def _title_words(speller: Speller, title: str) -> list[str]:
    words = [speller.vocabulary.analyse("title_exact", w) for w in title.split()]
    return [w for w in words if w and w.isalpha()]


def _films(fs: FilmSearch) -> list[Any]:
    searcher = fs._current()  # the benchmark reads every film: internal access is fine here
    return [document_to_film(stored) for stored in searcher.all_stored_fields()]


def _skipped(speller: Speller, context: str, typo: str, intended: str) -> bool:
    """A misspelling no engine could be expected to undo (see the module docstring)."""
    if typo == intended or len(typo) < MIN_WORD_CHARS or not typo.isalpha():
        return True
    if speller._free_films(typo)[0]:  # itself a word of the index
        return True
    distance = edit_distance(typo, intended, 4)
    if distance > max_distance(typo):
        return True  # two edits that the engine's distance counts as three (see above)
    intended_films = speller._films(context, intended)
    stem = speller.vocabulary.analyse("synopsis", intended)
    rivals = speller._candidates(context, typo, distance)
    return any(
        c.word != intended
        and c.distance <= distance
        and c.films >= intended_films
        # a plot word rebuilt from the intended word's stem is a form of it, not a rival
        and (c.surface or speller.vocabulary.analyse("synopsis", c.word) != stem)
        for c in rivals
    )


def misspellings(fs: FilmSearch, count: int, seed: int = 15) -> list[Case]:
    """``count`` misspelled queries (fewer if the index cannot give that many), repeatably."""
    rng = random.Random(seed)
    speller = Speller(Vocabulary(fs._current().reader(), fs._schema))
    films = sorted(_films(fs), key=lambda film: film.id)
    cases: list[Case] = []
    seen: set[str] = set()
    for _ in range(count * 30):
        if len(cases) == count:
            break
        film = rng.choice(films)
        kind = KINDS[len(cases) % len(KINDS)]
        title = _title_words(speller, film.title)
        if kind == "title":
            context, words = "free", title
        else:
            names = film.directors if kind == "director" else film.cast[:3]
            surnames = [speller.vocabulary.analyse(kind, name.split()[-1]) for name in names]
            context, words = kind, [w for w in surnames if w and w.isalpha()]
        words = [w for w in words if len(w) >= MIN_WORD_CHARS]
        if not words or (kind != "title" and not title):
            continue
        intended = rng.choice(words)
        typo = _edit(intended, rng)
        if len(intended) >= TWO_EDITS_FROM and rng.random() < 0.5:
            second = _edit(typo, rng)
            if len(second) >= TWO_EDITS_FROM:
                typo = second
        if _skipped(speller, context, typo, intended):
            continue
        if kind == "title":
            correct_query = " ".join(title)
            query = " ".join(typo if w == intended else w for w in title)
        else:
            hint = " ".join(rng.sample(title, min(2, len(title))))
            correct_query = f"{kind}:{intended} {hint}"
            query = f"{kind}:{typo} {hint}"
        if query in seen:
            continue
        seen.add(query)
        cases.append(Case(kind, film.id, query, correct_query, typo, intended))
    return cases


def _top_ids(fs: FilmSearch, query: str, exact: bool, limit: int = 10) -> list[str]:
    results = fs.search(query, limit=limit, snippets=False, exact=exact, mode="lexical")
    return [hit.id for hit in results]


def found_share(fs: FilmSearch, cases: list[Case], exact: bool = False) -> dict[str, float]:
    """The share of cases (all, and per kind) whose film is in the top 10."""
    found: dict[str, list[bool]] = {kind: [] for kind in ("all", *KINDS)}
    for case in cases:
        hit = case.film_id in _top_ids(fs, case.query, exact)
        found["all"].append(hit)
        found[case.kind].append(hit)
    return {kind: sum(hits) / len(hits) for kind, hits in found.items() if hits}


def correct_queries(fs: FilmSearch, cases: list[Case]) -> Iterator[str]:
    """Correctly spelled queries: the cases' own, before the edits, and every title."""
    yield from dict.fromkeys(case.correct_query for case in cases)
    for film in sorted(_films(fs), key=lambda film: film.id):
        if film.title.strip():
            yield film.title


def changed_results(fs: FilmSearch, queries: Iterator[str]) -> list[str]:
    """The queries whose top 10 differ with correction on and off."""
    changed = []
    for query in queries:
        try:
            if _top_ids(fs, query, exact=False) != _top_ids(fs, query, exact=True):
                changed.append(query)
        except ValueError:  # a title that is not valid query syntax
            continue
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True, help="a filmsearch index folder")
    parser.add_argument("--count", type=int, default=400, help="misspelled queries (400)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--show", type=int, default=10, help="misses to print (10)")
    args = parser.parse_args()
    with FilmSearch(args.index) as fs:
        start = time.perf_counter()
        cases = misspellings(fs, args.count, args.seed)
        print(f"{len(cases)} misspelled queries generated in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        corrected = found_share(fs, cases)
        seconds = time.perf_counter() - start
        exact = found_share(fs, cases, exact=True)
        for kind in ("all", *KINDS):
            if kind in corrected:
                print(
                    f"  {kind:<9} film in the top 10: {corrected[kind]:6.1%} with correction, "
                    f"{exact[kind]:6.1%} without"
                )
        print(f"  {1000 * seconds / len(cases):.1f} ms a query with correction")
        queries = list(correct_queries(fs, cases))
        changed = changed_results(fs, iter(queries))
        print(f"{len(changed)} of {len(queries)} correctly spelled queries changed results")
        for query in changed[: args.show]:
            print(f"  changed: {query!r}")
        misses = [c for c in cases if c.film_id not in _top_ids(fs, c.query, exact=False)]
        for case in misses[: args.show]:
            results = fs.search(case.query, limit=1, snippets=False, mode="lexical")
            print(f"  missed: {case.query!r} (meant {case.intended!r}) -> {results.corrected!r}")


if __name__ == "__main__":
    main()
