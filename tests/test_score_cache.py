"""The per-segment cache of word scores: keyed by everything that changes a score, bounded,
least recently used out first. A searcher that has answered other queries ranks exactly
as a fresh one does."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filmsearch.search import FilmSearch, term_scores
from filmsearch.search.term_scores import ScoreCache

#: A description (more than a few words), in which the title weighs as much as the synopsis.
DESCRIPTION = (
    "a film about a whale that i saw as a child in the cinema with my parents, "
    "there was a girl who rode on its back to the sea"
)

#: (asked first, asked next): the same word with another boost or other field weights.
PAIRS = [
    ("whale", "whale^3"),
    ("whale^3", "whale"),
    ("whale^0.5 rider", "whale rider"),
    ("whale", DESCRIPTION),
    (DESCRIPTION, "whale"),
    ("girl sea", DESCRIPTION),
    ("whale movie", "whale"),  # a filler word weighs less
    ("title:whale", "whale"),
]


def ranking(fs: FilmSearch, text: str) -> list[tuple[str, float]]:
    return [(hit.id, hit.score) for hit in fs.search(text, limit=30, snippets=False)]


def assert_same(found: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [film for film, _ in found] == [film for film, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected])


@pytest.mark.parametrize(("first", "then"), PAIRS)
def test_a_warmed_searcher_ranks_as_a_fresh_one(seed_index: Path, first: str, then: str) -> None:
    with FilmSearch(seed_index) as fresh:
        expected = ranking(fresh, then)
    with FilmSearch(seed_index) as warmed:
        ranking(warmed, first)
        ranking(warmed, then)  # once scored, once from the cache
        assert_same(ranking(warmed, then), expected)
        assert ranking(warmed, first) != ranking(warmed, then)  # the pair does differ


def test_boosts_change_scores_in_proportion(seed_index: Path) -> None:
    with FilmSearch(seed_index) as fs:
        plain = dict(ranking(fs, "whale"))
        tripled = dict(ranking(fs, "whale^3"))
    assert tripled.keys() == plain.keys()
    for film, score in plain.items():
        assert tripled[film] == pytest.approx(3 * score)


# ---------------------------------------------------------------- the bound


def scores(size: int, key: int = 0) -> dict[int, float]:
    return {doc: float(key) for doc in range(size)}


def test_the_least_recently_used_go_first() -> None:
    cache = ScoreCache(capacity=8)
    for key in "abcd":
        cache.put(key, scores(2))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("e", scores(2))
    assert list(cache.items) == ["c", "d", "a", "e"]  # b went
    assert cache.get("b") is None


def test_as_many_go_as_it_takes_to_fit() -> None:
    cache = ScoreCache(capacity=8)
    for key in range(8):
        cache.put(key, scores(1))
    cache.put("two", scores(2))  # 10: two must go, not one
    assert list(cache.items) == [2, 3, 4, 5, 6, 7, "two"] and cache.size == 8


def test_a_score_list_larger_than_a_quarter_of_the_cache_is_not_kept() -> None:
    cache = ScoreCache(capacity=100)
    cache.put("small", scores(25))
    cache.put("common word", scores(26))
    assert list(cache.items) == ["small"] and cache.size == 25


#: Mostly puts of one or two entries (a quarter of a capacity of 8 to 11 is 2): full
#: caches, evictions of one and of several entries.
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 30), st.sampled_from([0, 1, 1, 2, 2, 3])),
        st.tuples(st.just("get"), st.integers(0, 30), st.just(0)),
    ),
    min_size=10,
    max_size=80,
)


@given(capacity=st.integers(8, 11), operations=OPERATIONS)
def test_the_cache_is_a_bounded_lru_of_entries(
    capacity: int, operations: list[tuple[str, int, int]]
) -> None:
    """Against a model: never more entries than the capacity, always the most recent kept."""
    cache = ScoreCache(capacity)
    model: OrderedDict[int, dict[int, float]] = OrderedDict()
    for action, key, size in operations:
        if action == "get":
            assert cache.get(key) is model.get(key)
            if key in model:
                model.move_to_end(key)
        elif key not in model:  # the searcher puts a word's scores only after a miss
            value = scores(size, key)
            cache.put(key, value)
            if size <= capacity // 4:
                model[key] = value
                while sum(map(len, model.values())) > capacity:
                    model.popitem(last=False)
        assert list(cache.items) == list(model)
        assert cache.size == sum(len(kept) for kept, _ in cache.items.values()) <= capacity


@pytest.mark.parametrize("arrays", [False, True], ids=["python", "arrays"])
def test_searching_keeps_every_segment_cache_within_its_capacity(
    seed_index: Path, monkeypatch: pytest.MonkeyPatch, arrays: bool
) -> None:
    """With a cache of 40 films, many searches evict and re-score, and rank as before
    (the Python scorer keeps dicts, the arrays scorer (documents, scores) arrays)."""
    queries = ["the", "whale", "war", "love", "city", "girl", "man", "sea", "war love", "whale"]
    with FilmSearch(seed_index) as fs:
        expected = [ranking(fs, query) for query in queries]
    caches: list[Any] = []
    put = ScoreCache.put

    def checked_put(self: ScoreCache, key: Any, value: Any, size: int | None = None) -> None:
        put(self, key, value, size)
        caches.append(self)
        assert all(len(kept) == size or len(kept[0]) == size for kept, size in self.items.values())
        assert self.size == sum(size for _, size in self.items.values()) <= self.capacity

    monkeypatch.setattr(term_scores, "WORD_CACHE_ENTRIES", 40)
    monkeypatch.setattr(ScoreCache, "put", checked_put)
    with FilmSearch(seed_index, arrays=arrays) as fs:
        for query, ranked in zip(queries, expected, strict=True):
            assert_same(ranking(fs, query), ranked)
    assert caches and {cache.capacity for cache in caches} == {40}


def test_threads_sharing_a_cache_never_fail_nor_mix_up_words() -> None:
    """Searches in several threads (the server) share the caches: one thread evicting a
    word another is reading must not raise, and a word always gives its own scores."""
    import sys
    import threading

    cache = ScoreCache(40)
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for step in range(20_000):
                key = (seed * 7 + step) % 23
                found = cache.get(key)
                assert found is None or found == [key] * (key % 5 + 1)
                cache.put(key, [key] * (key % 5 + 1))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: races show up
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
