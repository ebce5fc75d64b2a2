"""Typo tolerance as a user sees it: misspelt words corrected, said so, and never a change
for correctly spelled queries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.spelling import changed_results, correct_queries, found_share, misspellings
from filmsearch.search import FilmSearch, spelling
from filmsearch.search.spelling import NearWords, edit_distance

RUST_AND_BONE = "000_d3cc3de14da1a221"


@pytest.mark.parametrize(
    ("typed", "corrected"),
    [("cotilard", "cotillard"),
     ("whale trainer acident", "whale trainer accident"),
     ("director:audiar", "director:audiard"),
     ('cast:"marion cotilard"', 'cast:"marion cotillard"'),
     ("title:(rust bonne)", "title:(rust bone)"),
     ("Schoenarts AND whale", "schoenaerts AND whale")],
)  # fmt: skip
def test_misspelt_words_are_corrected_where_they_are_searched(
    seed_search: FilmSearch, typed: str, corrected: str
) -> None:
    results = seed_search.search(typed)
    assert results.corrected == corrected
    assert results.query == typed
    assert RUST_AND_BONE in [hit.id for hit in results]
    assert results.to_dict()["corrected"] == corrected


def test_names_are_corrected_with_their_own_fields_words(seed_search: FilmSearch) -> None:
    # "whale" is a plot word, never a director: director:whalle stays unknown there
    assert seed_search.search("director:whalle").corrected is None
    assert seed_search.search("whalle").corrected == "whale"


def test_exact_searches_as_typed_and_suggests_the_correction(seed_search: FilmSearch) -> None:
    results = seed_search.search("cotilard", exact=True)
    assert results.corrected is None and results.total == 0
    assert results.suggestions[0] == "cotillard"
    assert results.to_dict()["suggestions"][0] == "cotillard"


def test_suggestions_only_when_little_is_found_and_only_ones_that_find_films(
    seed_search: FilmSearch,
) -> None:
    assert seed_search.search("whale").suggestions == []
    assert seed_search.search("xqzvwk").suggestions == []
    for suggestion in seed_search.search("cotilard", exact=True).suggestions:
        assert seed_search.search(suggestion, exact=True).total


def test_wildcards_numbers_and_short_words_are_left_alone(seed_search: FilmSearch) -> None:
    for typed in ("cotil*", "year:2012 whale", "orx", "1993", "whale~"):
        assert seed_search.search(typed).corrected is None


def test_correctly_spelled_queries_give_the_same_results(seed_search: FilmSearch) -> None:
    cases = misspellings(seed_search, 300)
    queries = list(correct_queries(seed_search, cases))
    queries += [f"director:{name.split()[-1]}" for name in ("Jacques Audiard", "Céline Sciamma")]
    queries += ["whale trainer accident", "almodovar", "celine sallette", "orca NOT title:willy"]
    assert len(queries) > 250
    assert changed_results(seed_search, iter(queries)) == []
    for query in queries[:40]:
        assert seed_search.search(query, snippets=False).corrected is None


def test_at_least_97_percent_of_300_misspellings_find_their_film(seed_search: FilmSearch) -> None:
    cases = misspellings(seed_search, 300)
    assert len(cases) == 300
    assert {case.kind for case in cases} == {"title", "director", "cast"}
    assert all(case.typo != case.intended for case in cases)
    assert found_share(seed_search, cases)["all"] >= 0.97
    assert found_share(seed_search, cases, exact=True)["all"] < 0.7  # the set is not trivial


def test_edit_distance_counts_a_swap_as_one_edit() -> None:
    assert edit_distance("scorsese", "scorsese", 2) == 0
    assert edit_distance("scorcese", "scorsese", 2) == 1
    assert edit_distance("socrsese", "scorsese", 2) == 1
    assert edit_distance("scrsse", "scorsese", 2) == 2
    assert edit_distance("abcdefgh", "hgfedcba", 2) == 3
    near = NearWords(["scorsese", "scorpion", "score", "cotillard"])
    assert near.near("scorcese", 2) == [("scorsese", 1)]


def optimal_string_alignment(a: str, b: str) -> int:
    """The textbook dynamic programme: insertions, deletions, substitutions and swaps of
    two neighbours, each one edit, no letter edited twice."""
    rows = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            rows[i][j] = min(
                rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


@settings(max_examples=500, deadline=None)
@given(
    a=st.text("abcé\U0001f600", max_size=9),
    b=st.text("abcé\U0001f600", max_size=9),
    limit=st.integers(0, 3),
)
def test_edit_distance_is_the_optimal_string_alignment_within_the_limit(
    a: str, b: str, limit: int
) -> None:
    assert edit_distance(a, b, limit) == min(optimal_string_alignment(a, b), limit + 1)


def test_hybrid_ranking_searches_the_correction(
    seed_search: FilmSearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_semantic import use_fake_ranker

    use_fake_ranker(seed_search, monkeypatch)
    results = seed_search.search("director:audiar")
    assert results.mode == "hybrid" and results.corrected == "director:audiard"
    assert all("Jacques Audiard" in hit.directors for hit in results)


def test_cli_says_what_it_searched_for(seed_cli) -> None:
    result = seed_cli("search", "cotilard")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        "Showing results for 'cotillard' (search for 'cotilard' as typed with --exact)."
    )
    assert "Rust and Bone" in result.output


def test_cli_exact_and_suggestions(seed_cli) -> None:
    result = seed_cli("search", "cotilard", "--exact")
    assert result.exit_code == 0
    assert "No films match 'cotilard'." in result.output
    assert "Did you mean: cotillard" in result.output
    data = json.loads(seed_cli("search", "cotilard", "--exact", "--json").output)
    assert data["corrected"] is None and data["suggestions"][0] == "cotillard"
    data = json.loads(seed_cli("search", "cotilard", "--json").output)
    assert data["corrected"] == "cotillard"
    assert RUST_AND_BONE in [hit["id"] for hit in data["hits"]]


def test_a_crowded_vocabulary_is_compared_with_its_most_alike_words_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30,000 made-up words alike letter by letter (4,700 share enough letter pairs with
    the typed word to be two edits away): it is compared with at most MAX_NEAR_CHECKS
    of them, and every word one edit away is still found."""
    syllables = ["ka", "lo", "mi", "re", "tu", "sa", "ve", "no", "di", "pe"]
    words = [a + b + c + e + d for a in syllables for b in syllables for c in syllables
             for e in syllables for d in "nrs"]  # fmt: skip
    vocabulary = NearWords(words)
    compared: list[str] = []

    def counting(a: str, b: str, limit: int) -> int:
        compared.append(b)
        return edit_distance(a, b, limit)

    monkeypatch.setattr(spelling, "edit_distance", counting)
    found = vocabulary.near("kalomiren", 2)
    assert len(compared) <= spelling.MAX_NEAR_CHECKS <= 500  # of 4,700
    one_edit = {word for word in words if edit_distance("kalomiren", word, 1) == 1}
    assert {word for word, distance in found if distance == 1} == one_edit
    assert all(edit_distance("kalomiren", word, 2) == d <= 2 for word, d in found)


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.text("abcdeé\u0101\U0001f600", min_size=1, max_size=9), max_size=60),
    word=st.text("abcdeé\u0101\U0001f600", min_size=1, max_size=9),
    limit=st.integers(1, 2),
)
def test_near_words_are_every_word_within_the_edits(
    words: list[str], word: str, limit: int
) -> None:
    """A small vocabulary (every candidate checked): near() finds exactly the words within
    ``limit`` edits that share enough letter pairs with the word (all of them but the
    shortest words), whatever letters they hold (accents, letters past the BMP)."""

    def pairs(text: str) -> set[str]:
        padded = f"^{text}$"
        return {padded[i : i + 2] for i in range(len(padded) - 1)}

    needed = max(len(pairs(word)) - 3 * limit, 1)
    expected = {
        other: distance
        for other in set(words) - {word}
        if (distance := edit_distance(word, other, limit)) <= limit
        and len(pairs(word) & pairs(other)) >= needed
    }
    found = NearWords(words).near(word, limit)
    assert dict(found) == expected and len(found) == len(expected)
