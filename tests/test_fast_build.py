"""The fast segment writer (``index.fast_writer``) writes the index Whoosh's own writer writes:
the same words, postings block by block, term statistics, stored fields, field lengths,
postings arrays and search results; and the index it writes updates, deletes and merges
as any other."""

from __future__ import annotations

import json
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.writing import SegmentWriter

from benchmarks.synthetic import generate_films
from filmsearch.index import build_index, fast_writer, writer
from filmsearch.index.documents import Film
from filmsearch.index.fast_writer import FastSegmentWriter
from filmsearch.index.postings import open_postings
from filmsearch.index.schema import build_schema, film_to_document
from filmsearch.index.writer import _capture_postings, open_index
from filmsearch.search import FilmSearch

QUERIES = ("kalo mi", "director:lolo", '"ka lo"', "year:1990..2000 sa", "tor OR ren -vi")


def blocks(matcher: Any) -> list[tuple[Any, ...]]:
    """Every block of a posting list: its header and its decoded ids, weights and values."""
    if not isinstance(matcher, W3LeafMatcher):
        return [("list", list(matcher.all_ids()))]
    found = []
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        matcher._read_values()
        found.append(
            (
                matcher._blocklength,
                matcher._maxid,
                matcher._maxweight,
                matcher._minlength,
                matcher._maxlength,
                tuple(matcher._ids),
                tuple(matcher._weights),
                tuple(matcher._values),
            )
        )
        matcher._next_block()
    return found


def snapshot(index_dir: Path, by_segment: bool = True, queries: bool = True) -> dict[str, Any]:
    """Everything Whoosh and the search read from an index: segment by segment, or
    (``by_segment=False``, for parallel builds, whose workers share out the films as
    they come) each word's and each film's content by film id."""
    content: dict[str, Any] = {}
    ix = open_index(index_dir)
    with closing(ix), ix.reader() as reader:
        content["films"] = (reader.doc_count(), reader.doc_count_all())
        for number, (leaf, offset) in enumerate(reader.leaf_readers()):
            ids = [leaf.stored_fields(doc).get("id") for doc in range(leaf.doc_count_all())]
            if by_segment:
                _segment(content, f"{number}@{offset}:", leaf)
            else:
                _films(content, leaf, ids)
            segment = leaf.segment()
            arrays = open_postings(str(index_dir), segment.segment_id(), leaf.doc_count_all())
            assert arrays is not None, "every new segment has its postings arrays"
            for field, table in sorted(arrays.fields.items()):
                end = table.words_at + int(table.word_ends[-1])
                words = bytes(arrays._buffer[table.words_at : end])
                for position in range(len(table.hashes)):
                    begin = int(table.word_ends[position - 1]) if position else 0
                    word = words[begin : int(table.word_ends[position])]
                    docs, freqs = arrays.postings(field, word)  # type: ignore[misc]
                    if by_segment:
                        content[f"{number}:fsp:{field}:{word!r}"] = (docs.tolist(), freqs.tolist())
                    else:
                        pairs = zip(docs.tolist(), freqs.tolist(), strict=True)
                        content.setdefault(f"fsp:{field}:{word!r}", []).extend(
                            (ids[doc], freq) for doc, freq in pairs
                        )
    for value in content.values():
        if not by_segment and isinstance(value, list):
            value.sort(key=repr)
    if not queries:
        return content
    with FilmSearch(index_dir) as search:
        for query in QUERIES:
            results = search.search(query, limit=20, snippets=False, time_limit=None)
            content[f"query:{query}"] = [(hit.id, round(hit.score, 9)) for hit in results]
    return content


def _segment(content: dict[str, Any], prefix: str, leaf: Any) -> None:
    content[prefix + "stored"] = list(leaf.all_stored_fields())
    for field, word in leaf.all_terms():
        info = leaf.term_info(field, word)
        content[f"{prefix}{field}:{word!r}"] = (
            info.weight(),
            info.doc_frequency(),
            info.min_length(),
            info.max_length(),
            info.max_weight(),
            info.min_id(),
            info.max_id(),
            blocks(leaf.postings(field, word)),
        )
    for field in leaf.schema.scorable_names():
        content[f"{prefix}length:{field}"] = (
            leaf.field_length(field),
            _or_error(leaf.min_field_length, field),
            _or_error(leaf.max_field_length, field),
            [leaf.doc_field_length(doc, field) for doc in range(leaf.doc_count_all())],
        )


def _or_error(method: Any, field: str) -> Any:
    """Whoosh's min/max field length fails on a field no document has (either writer)."""
    try:
        return method(field)
    except TypeError as error:
        return repr(error)


def _films(content: dict[str, Any], leaf: Any, ids: list[Any]) -> None:
    live = [doc for doc in range(leaf.doc_count_all()) if not leaf.is_deleted(doc)]
    content.setdefault("stored", []).extend(leaf.stored_fields(doc) for doc in live)
    for field, word in leaf.all_terms():
        matcher = leaf.postings(field, word)
        postings = content.setdefault(f"{field}:{word!r}", [])
        while matcher.is_active():
            postings.append((ids[matcher.id()], matcher.weight(), matcher.value()))
            matcher.next()
    for field in leaf.schema.scorable_names():
        content.setdefault(f"length:{field}", []).extend(
            (ids[doc], leaf.doc_field_length(doc, field)) for doc in live
        )


def write_corpus(path: Path, count: int, seed: int, start: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for film in generate_films(count, seed=seed):
            film["id"] = str(start + int(str(film["id"])))
            handle.write(json.dumps(film) + "\n")
    return path


def build_both(
    monkeypatch: pytest.MonkeyPatch, sources: list[Path], fast: Path, whoosh: Path, jobs: int
) -> None:
    build_index(sources, fast, jobs=jobs)
    with monkeypatch.context() as patch:
        patch.setattr(writer, "SEGMENT_WRITER", SegmentWriter)
        build_index(sources, whoosh, jobs=jobs)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_fast_build_writes_what_whoosh_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    corpus = write_corpus(tmp_path / "films.jsonl", 220, seed=11)
    build_both(monkeypatch, [corpus], tmp_path / "fast", tmp_path / "whoosh", jobs)
    fast = snapshot(tmp_path / "fast", by_segment=jobs == 1)
    assert fast == snapshot(tmp_path / "whoosh", by_segment=jobs == 1)
    assert any(key.endswith("length:wiki") for key in fast)
    if jobs == 1:
        assert any(len(value[-1]) > 1 for key, value in fast.items() if ":wiki:" in key)


def test_updates_deletions_and_merges_after_a_fast_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "films"
    folder.mkdir()
    write_corpus(folder / "a.jsonl", 60, seed=1)
    write_corpus(folder / "b.jsonl", 50, seed=2, start=1000)
    for step in range(3):
        if step == 1:  # change one file, drop another, add a third
            write_corpus(folder / "a.jsonl", 40, seed=3)
            (folder / "b.jsonl").unlink()
            write_corpus(folder / "c.jsonl", 20, seed=4, start=2000)
        if step == 2:
            write_corpus(folder / "d.jsonl", 10, seed=5, start=3000)
        jobs = 2 if step == 0 else 1
        build_both(monkeypatch, [folder], tmp_path / "fast", tmp_path / "whoosh", jobs)
        fast = snapshot(tmp_path / "fast", by_segment=False)
        assert fast == snapshot(tmp_path / "whoosh", by_segment=False)


def test_a_merge_into_the_new_segment_goes_through_whoosh_with_the_new_films(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``commit(optimize=True)``: the old segments' postings come through Whoosh's pool
    and the new films' from the inverter, in one segment."""
    first = write_corpus(tmp_path / "first.jsonl", 80, seed=6)
    build_both(monkeypatch, [first], tmp_path / "fast", tmp_path / "whoosh", jobs=2)
    films = [Film(id=f"new{n}", title=f"Kalo mi {n}", synopsis="sa ren vi " * n) for n in range(30)]
    for name, kind in (("fast", FastSegmentWriter), ("whoosh", SegmentWriter)):
        ix = open_index(tmp_path / name)
        with closing(ix):
            segment_writer = kind(ix)
            _capture_postings(segment_writer)
            for film in films:
                segment_writer.add_document(**film_to_document(film, "digest"))
            segment_writer.commit(optimize=True)
    fast = snapshot(tmp_path / "fast", by_segment=False)
    assert fast == snapshot(tmp_path / "whoosh", by_segment=False)
    assert fast["films"] == (110, 110)


def test_spilled_runs_merge_into_the_same_segment(tmp_path: Path) -> None:
    corpus = list(generate_films(150, seed=8))
    schema = build_schema()
    for name, limit in (("memory", None), ("spilled", 10_000)):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), schema)
        with closing(ix):
            segment_writer = FastSegmentWriter(ix)
            _capture_postings(segment_writer)
            if limit:
                segment_writer.inverter.limit = limit
            for number, film in enumerate(corpus):
                document = film_to_document(_film(film, number), "digest")
                segment_writer.add_document(**document)
            if limit:
                assert len(segment_writer.inverter.runs) > 3
            segment_writer.commit()
        (tmp_path / name / writer.MANIFEST).write_text("{}")
    assert snapshot(tmp_path / "spilled") == snapshot(tmp_path / "memory")


def _film(fields: dict[str, Any], number: int) -> Film:
    return Film(
        id=str(number),
        title=str(fields["title"]),
        synopsis=str(fields["synopsis"]),
        wiki=str(fields["wiki"]),
        directors=tuple(fields["director"]),  # type: ignore[arg-type]
        cast=tuple(fields["cast"]),  # type: ignore[arg-type]
        genres=tuple(fields["genre"]),  # type: ignore[arg-type]
        year=int(fields["year"]),  # type: ignore[arg-type]
        runtime=int(fields["runtime"]),  # type: ignore[arg-type]
    )


text = st.lists(
    st.sampled_from([*"ab cdé ÉİßﬁKa-'.,\n\t0123456789", "the ", "and ", "Žižek ", "x" * 30]),
    max_size=40,
).map("".join)
names = st.lists(text.filter(lambda name: name.strip() != ""), max_size=4).map(tuple)
films = st.lists(
    st.builds(
        Film,
        id=st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
        title=text.filter(lambda title: title.strip() != ""),
        synopsis=text,
        wiki=text,
        directors=names,
        cast=names,
        genres=names,
        year=st.none() | st.integers(1890, 2030),
        runtime=st.none() | st.integers(1, 500),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(films=films)
def test_any_films_index_as_whoosh_indexes_them(tmp_path: Path, films: list[Film]) -> None:
    fast, whoosh = snapshots_of_both_writers(tmp_path / str(id(films)), build_schema(), films)
    assert fast == whoosh


def snapshots_of_both_writers(
    folder: Path, schema: Any, films: list[Film]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``films`` written into one segment by the fast writer and by Whoosh's, each in a
    folder under ``folder``: the two segments' snapshots."""
    found = []
    for kind in (FastSegmentWriter, SegmentWriter):
        target = folder / kind.__name__
        target.mkdir(parents=True)
        ix = whoosh_index.create_in(str(target), schema)
        with closing(ix):
            segment_writer = kind(ix)
            _capture_postings(segment_writer)
            for film in films:
                segment_writer.add_document(**film_to_document(film, "digest"))
            segment_writer.commit()
        (target / writer.MANIFEST).write_text("{}")
        found.append(snapshot(target, queries=False))
    return found[0], found[1]


def test_a_document_that_fails_leaves_no_postings_behind(tmp_path: Path) -> None:
    """A document Whoosh refuses halfway (a year that is not a number) leaves no postings
    behind: every word's postings and postings arrays are those written without it.
    (Whoosh's per-document writer keeps the refused document's field lengths, whichever
    writer is used; a build stops at such an error anyway.)"""
    films = [_film(film, number) for number, film in enumerate(generate_films(30, seed=9))]
    schema = build_schema()
    for name in ("clean", "refused"):
        (tmp_path / name).mkdir()
        ix = whoosh_index.create_in(str(tmp_path / name), schema)
        with closing(ix):
            segment_writer = FastSegmentWriter(ix)
            _capture_postings(segment_writer)
            for film in films:
                if name == "refused" and film.id == "12":
                    document = film_to_document(film, "digest")
                    with pytest.raises(ValueError):
                        segment_writer.add_document(**{**document, "year": "not a year"})
                segment_writer.add_document(**film_to_document(film, "digest"))
            segment_writer.commit()
        (tmp_path / name / writer.MANIFEST).write_text("{}")
    refused, clean = (
        {
            key: value
            for key, value in snapshot(tmp_path / name, queries=False).items()
            if ":length:" not in key
        }
        for name in ("refused", "clean")
    )
    assert refused == clean


def test_boosted_fields_and_long_posting_lists_are_written_as_whoosh_writes_them(
    tmp_path: Path,
) -> None:
    """Weights other than 1 in every block shape: a field boost (every weight 1.5, or a
    multiple of it), words twice in a film, and posting lists of several blocks."""
    schema = build_schema()
    schema["synopsis"].format.field_boost = 1.5
    schema["wiki"].format.field_boost = 0.3
    corpus = [_film(film, number) for number, film in enumerate(generate_films(300, seed=12))]
    corpus += [Film(id=f"rep{n}", title="ka ka lo", synopsis="mi mi " * (n + 1)) for n in range(3)]
    fast, whoosh = snapshots_of_both_writers(tmp_path, schema, corpus)
    assert fast == whoosh
    synopsis = [value for key, value in fast.items() if key.startswith("0@0:synopsis:")]
    assert any(len(value[-1]) > 1 for value in synopsis)  # several blocks
    weights = {weight for value in synopsis for block in value[-1] for weight in block[6]}
    assert {1.5, 3.0} <= weights


@settings(max_examples=200, deadline=None)
@given(
    doc=st.integers(0, 40),
    weight=st.sampled_from([1.0, 2.0, 0.0, -1.0, 1.5, 1.0000001, 1e-50, 3.4e39]),
    value=st.sampled_from([b"", b"x", b"\x00\x00\x00\x01" + bytes(600)]),
    fixed=st.sampled_from([None, -1, 0, 1]),
    lengths=st.sampled_from([b"", bytes(range(42)), bytes(42)]),
)
def test_a_word_in_one_film_is_written_as_any_other(
    doc: int, weight: float, value: bytes, fixed: int | None, lengths: bytes
) -> None:
    """``_posting_bytes``, the shortcut for a word in a single film, writes what
    ``_term_bytes`` writes for it (which the tests above compare with Whoosh's writer)."""
    deflater = zlib.compressobj(1, zlib.DEFLATED, 12, 4)  # as whoosh_compat.TermSink's
    shortcut = fast_writer._posting_bytes(doc, weight, value, lengths, fixed, 1, deflater)
    general = fast_writer._term_bytes([doc], [weight], [value], lengths, fixed, 128, 1, deflater)
    assert shortcut == general
