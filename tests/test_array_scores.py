"""Keyword queries scored with numpy over each segment's postings arrays (search.array_scores,
index.postings) find the same films, in the same order, with the same scores as the
Python scorer, on random queries, after updates, deletions and merges; the postings
files hold exactly Whoosh's postings; and a missing or damaged file only slows a
search down."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filmsearch import FilmSearch
from filmsearch.index import build_index, postings, whoosh_compat
from filmsearch.index.writer import INDEX_NAME
from filmsearch.search import array_scores, bm25f

#: Words the random queries draw from: in many films, in few, in names, in none.
WORDS = [
    "whale", "trainer", "accident", "love", "war", "father", "son", "young", "city",
    "killer", "legs", "orca", "sea", "island", "space", "robot", "murder", "police",
    "audiard", "cotillard", "nolan", "hanks", "marion", "james", "the", "a", "of",
    "lighthouse", "keeper", "xylophonist", "drama", "comedy", "2012", "1990s",
]  # fmt: skip
SYNTAX = ['title:"{w}"', "director:{w}", "{w}*", "{w} AND {v}", '"{w} {v}"', "{w} -{v}"]

NEW_FILM = """{title}
Released Year: {year}
Running time: 95
Director: Ines Marlowe
Cast: Tomas Brand,Ada Quist,
Genre: Drama
Content: A lighthouse keeper on a remote island finds a wounded orca {extra}.
Wiki info:
{title} is a film about a keeper, the sea and a whale that will not leave the bay.
"""


@pytest.fixture(scope="module")
def updated_index(seeds_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds, then four updates: files removed, changed and added, each update a new
    segment (Whoosh merges the small ones). Every segment has every field (a segment
    without a table for one of a word's fields leaves the word to the Python scorer)."""
    root = tmp_path_factory.mktemp("arrays")
    films = root / "films"
    shutil.copytree(seeds_dir, films)
    index = root / "index"
    build_index([films], index, jobs=2)
    seeds = sorted(films.glob("*.txt"))
    for path in seeds[:6]:
        path.unlink()
    build_index([films], index)
    for number, path in enumerate(seeds[10:14]):
        path.write_text(path.read_text() + f"\nA lighthouse keeper ({number}) saw it all.\n")
    build_index([films], index)
    for number in range(3):
        text = NEW_FILM.format(title=f"Keeper {number}", year=1990 + number, extra="x" * number)
        (films / f"new_{number}.txt").write_text(text)
    build_index([films], index)
    return index


@pytest.fixture(scope="module")
def engines(updated_index: Path) -> Iterator[tuple[FilmSearch, FilmSearch]]:
    """The same index searched with arrays and with the Python scorer."""
    with (
        FilmSearch(updated_index, arrays=True) as fast,
        FilmSearch(updated_index, arrays=False) as slow,
    ):
        yield fast, slow


def assert_same(fast: Any, slow: Any) -> None:
    assert fast.total == slow.total
    assert [hit.id for hit in fast.hits] == [hit.id for hit in slow.hits]
    for a, b in zip(fast.hits, slow.hits, strict=True):
        assert a.score == pytest.approx(b.score, rel=1e-6, abs=1e-6)


@st.composite
def queries(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    if draw(st.booleans()) and len(words) >= 2:
        template = draw(st.sampled_from(SYNTAX))
        words[:2] = [template.format(w=words[0], v=words[1])]
    return " ".join(words)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=queries(), limit=st.integers(1, 40), offset=st.integers(0, 5))
def test_arrays_rank_as_the_python_scorer(
    engines: tuple[FilmSearch, FilmSearch], text: str, limit: int, offset: int
) -> None:
    fast, slow = engines
    options = {"limit": limit, "offset": offset, "snippets": False, "exact": True}
    assert_same(fast.search(text, **options), slow.search(text, **options))


@pytest.mark.parametrize(
    "text, options",
    [
        ("keeper island orca", {}),
        ("a lighthouse keeper and a whale in the 1990s", {}),  # a year hint
        ("keeper whale", {"year": "1990..1991"}),  # a filter
        ("keeper whale", {"sort": "-year"}),
        ("keeper whale", {"facets": ["decade"]}),
        ("killer whale trainer loses her legs", {"limit": 3}),
    ],
)
def test_arrays_with_filters_hints_sorts_and_facets(
    engines: tuple[FilmSearch, FilmSearch], text: str, options: dict[str, Any]
) -> None:
    fast, slow = engines
    a, b = (
        fast.search(text, snippets=False, **options),
        slow.search(text, snippets=False, **options),
    )
    assert_same(a, b)
    assert a.facets == b.facets
    assert a.total > 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=queries(),
    way=st.sampled_from(["mark", "scan", "sort"]),
    alone=st.sampled_from([0, 5, 1 << 30]),
    clauses_alone=st.sampled_from([0, 1 << 30]),
)
def test_films_found_by_marking_scanning_or_sorting_rank_alike(
    updated_index: Path,
    engines: tuple[FilmSearch, FilmSearch],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    way: str,
    alone: int,
    clauses_alone: int,
) -> None:
    """A batch of new words finds its films by marking them in an array of booleans, by
    scanning its scratch array, or by sorting their postings, with each word's postings in
    a field and segment added on their own (every part, those of 5 postings or more, or
    none), and the query's totals are added a clause at a time or all at once: each way,
    the Python scorer's ranking."""
    monkeypatch.setattr(array_scores, "PART_ALONE", alone)
    monkeypatch.setattr(bm25f, "CLAUSE_POSTINGS_ALONE", clauses_alone)
    monkeypatch.setattr(array_scores, "MARKED_CELLS", 1 << 30 if way == "mark" else 0)
    monkeypatch.setattr(array_scores, "DENSE_SHARE", 1 << 30 if way == "scan" else 0)
    _, slow = engines
    options = {"limit": 40, "snippets": False, "exact": True}
    with FilmSearch(updated_index, arrays=True) as fast:  # every word new to it
        assert_same(fast.search(text, **options), slow.search(text, **options))


def test_removed_and_replaced_films_never_score(engines: tuple[FilmSearch, FilmSearch]) -> None:
    fast, _ = engines
    results = fast.search("lighthouse keeper", limit=50, snippets=False)
    assert any(found is not None for found in array_scores._POSTINGS.values())  # arrays used
    keepers = [hit for hit in results.hits if "Keeper" in hit.title]
    assert len(keepers) == 3  # the three new films, each once
    ids = [hit.id for hit in results.hits]
    assert len(ids) == len(set(ids))  # a changed film's old version is gone
    assert results.total == 7  # 3 new films + 4 changed ones


def segment_readers(index: Path) -> Iterator[Any]:
    ix = whoosh.index.open_dir(str(index), indexname=INDEX_NAME)
    with ix.reader() as reader:
        yield from (reader.leaf_readers() if not reader.is_atomic() else [(reader, 0)])


def test_postings_files_hold_whooshs_postings(updated_index: Path) -> None:
    segments = 0
    for reader, _ in segment_readers(updated_index):
        segments += 1
        segment = reader.segment()
        folder = whoosh_compat.segment_folder(reader)
        assert folder is not None
        found = postings.open_postings(folder, segment.segment_id(), reader.doc_count_all())
        assert found is not None, f"no postings file for {segment.segment_id()}"
        for field in ("title", "director", "synopsis", "wiki"):
            for word in reader.lexicon(field):
                docs: list[int] = []
                freqs: list[float] = []
                for ids, weights in whoosh_compat.posting_blocks(reader, field, word):
                    docs += ids
                    freqs += weights
                arrays = found.postings(field, word)
                assert arrays is not None
                assert arrays[0].tolist() == docs and arrays[1].tolist() == freqs
        assert found.postings("synopsis", b"notawordanywhere")[0].size == 0
        for field in ("title", "title_exact", "director", "cast", "genre", "synopsis", "wiki"):
            words = array_scores.segment_words(reader, field)  # None: no table, Whoosh's then
            assert words == list(reader.lexicon(field)) or (words is None and field == "genre")
    assert segments >= 2


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    low=st.one_of(st.none(), st.integers(1890, 2030)),
    span=st.integers(0, 40),
    genre=st.sampled_from(["drama", "comedy", "horror", "thriller", "science", "nothing"]),
)
def test_hint_films_are_the_films_whoosh_finds(
    updated_index: Path, low: int | None, span: int, genre: str
) -> None:
    """A year range's and a genre's films (the hints of a query), read from the films'
    years and the postings arrays, are the films Whoosh's matchers give, in every segment
    (removed films aside: they never score)."""
    from whoosh import query as wq

    from filmsearch.search import term_scores

    high = None if low is None else low + span
    ix = whoosh.index.open_dir(str(updated_index), indexname=INDEX_NAME)
    with ix.searcher() as searcher, term_scores.arrays_enabled():
        for leaf, _ in searcher.leaf_searchers():
            for hint in (wq.NumericRange("year", low, high), wq.Term("genre", genre)):
                reader = leaf.reader()
                expected = sorted(hint.matcher(leaf, leaf.context()).all_ids())
                found = array_scores.query_docs(hint, leaf, leaf.context()).tolist()
                assert [doc for doc in found if not reader.is_deleted(doc)] == [
                    doc for doc in expected if not reader.is_deleted(doc)
                ]


def test_damaged_or_missing_postings_files_fall_back(updated_index: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(updated_index, copy)
    files = sorted(copy.glob(f"*{postings.SUFFIX}"))
    assert len(files) >= 2
    files[0].write_bytes(files[0].read_bytes()[:100])  # cut short
    files[1].unlink()
    for path in files[2:]:  # a header that does not fit the segment
        data = bytearray(path.read_bytes())
        data[20:30] = b"9999999999"
        path.write_bytes(bytes(data))
    with FilmSearch(copy, arrays=True) as damaged, FilmSearch(updated_index, arrays=False) as good:
        for text in ("keeper island orca", "whale trainer accident", "love war"):
            assert_same(damaged.search(text, snippets=False), good.search(text, snippets=False))


def test_postings_file_rejects_out_of_range_documents(tmp_path: Path) -> None:
    capture = postings.PostingsCapture(["synopsis"], str(tmp_path))
    stream = [("synopsis", b"orca", 0, 1.0, b""), ("synopsis", b"orca", 7, 2.0, b"")]
    assert list(capture.tee(stream)) == stream  # passed on unchanged
    capture.save(str(tmp_path / postings.file_name("MAIN_x")), doc_count=8)
    found = postings.open_postings(str(tmp_path), "MAIN_x", 8)
    assert found is not None
    assert found.postings("synopsis", b"orca")[0].tolist() == [0, 7]
    assert postings.open_postings(str(tmp_path), "MAIN_x", 5) is None  # other segment size
    assert postings.open_postings(str(tmp_path), "MAIN_y", 8) is None  # no file


def test_unsorted_stream_writes_no_file(tmp_path: Path) -> None:
    capture = postings.PostingsCapture(["synopsis"], str(tmp_path))
    stream = [("synopsis", b"whale", 0, 1.0, b""), ("synopsis", b"orca", 1, 1.0, b"")]
    list(capture.tee(stream))
    capture.save(str(tmp_path / postings.file_name("MAIN_z")), doc_count=2)
    assert not (tmp_path / postings.file_name("MAIN_z")).exists()


def test_capture_spills_to_disk_and_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postings, "BUFFERED_POSTINGS", 3)
    capture = postings.PostingsCapture(["title", "wiki"], str(tmp_path))
    stream = [("title", b"a", d, 1.0, b"") for d in range(5)]
    stream += [("wiki", b"b", d, float(d), b"") for d in range(0, 10, 2)]
    stream += [("year", b"x", 0, 1.0, b"")]  # not captured
    list(capture.tee(stream))
    capture.save(str(tmp_path / postings.file_name("MAIN_s")), doc_count=10)
    found = postings.open_postings(str(tmp_path), "MAIN_s", 10)
    assert found is not None
    assert found.postings("title", b"a")[0].tolist() == [0, 1, 2, 3, 4]
    assert found.postings("wiki", b"b")[1].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert found.postings("year", b"x") is None


@pytest.mark.parametrize("arrays", [True, False], ids=["arrays", "python"])
def test_a_query_of_no_words_lists_every_live_film_by_id(updated_index: Path, arrays: bool) -> None:
    with FilmSearch(updated_index, arrays=arrays) as fs:
        results = fs.search("", limit=100, snippets=False)
        films = fs.stats().films
    assert results.total == films == 69 - 6 + 3
    assert [hit.id for hit in results.hits] == sorted(hit.id for hit in results.hits)
    assert len({hit.score for hit in results.hits}) == 1


@pytest.mark.parametrize("whole_table_words", [0, array_scores.WHOLE_TABLE_WORDS])
def test_words_sharing_a_hash_are_told_apart(
    seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_table_words: int
) -> None:
    """Words are filed under a 64-bit hash and compared byte for byte: with a hash that
    collides all the time (a word's length), every word is still found as itself, and
    searches rank as the Python scorer does; whether tables are searched (0) or read
    whole into a dict."""

    def weak(word: bytes) -> int:
        return len(word)

    monkeypatch.setattr(array_scores, "WHOLE_TABLE_WORDS", whole_table_words)
    monkeypatch.setattr(postings, "word_hash", weak)
    monkeypatch.setattr(array_scores, "word_hash", weak)
    monkeypatch.setattr(array_scores, "_hash", weak)  # its remembered hashes
    index = tmp_path / "index"
    build_index([seeds_dir], index)
    for reader, _ in segment_readers(index):
        folder = whoosh_compat.segment_folder(reader)
        assert folder is not None
        found = postings.open_postings(
            folder, reader.segment().segment_id(), reader.doc_count_all()
        )
        assert found is not None
        words = [*reader.lexicon("synopsis"), b"notawordanywhere", b"zz"]
        places = array_scores._places(found.fields["synopsis"], words)
        for word, (first, count) in zip(words, places, strict=True):
            expected = found.fields["synopsis"].find(word)
            assert (first, count) == (expected or (0, 0))
            assert count == reader.doc_frequency("synopsis", word)
    with FilmSearch(index, arrays=True) as fast, FilmSearch(index, arrays=False) as slow:
        for text in ("whale trainer accident", "a killer on an island", "marion cotillard"):
            assert_same(fast.search(text, snippets=False), slow.search(text, snippets=False))
