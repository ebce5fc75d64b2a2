"""The Whoosh internals filmsearch leans on (index.whoosh_compat) give what Whoosh's public
API gives, on random words and patterns over the bundled seeds, so that a Whoosh upgrade
that changes them fails here, loudly, instead of changing scores without a word."""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import whoosh.index
from hypothesis import given
from hypothesis import strategies as st
from whoosh import query as wq

from filmsearch.index import whoosh_compat
from filmsearch.index.schema import document_to_film, film_to_document
from filmsearch.index.writer import INDEX_NAME
from filmsearch.search import ranking, term_scores

TEXT_FIELDS = list(ranking.FIELD_WEIGHTS)
ALL_FIELDS = [*TEXT_FIELDS, "id", "path"]


@pytest.fixture(scope="module")
def edited_index(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds index with 5 films deleted and 2 added in a segment of their own."""
    target = tmp_path_factory.mktemp("edited") / "index"
    shutil.copytree(seed_index, target)
    ix = whoosh.index.open_dir(str(target), indexname=INDEX_NAME)
    with ix.reader() as reader:
        stored = list(reader.all_stored_fields())
    writer = ix.writer()
    for doc in stored[3:60:12]:
        writer.delete_by_term("id", doc["id"])
    writer.commit(merge=False)
    writer = ix.writer()
    for number, doc in enumerate(stored[5:7]):
        copy = dataclasses.replace(document_to_film(doc), id=f"copy-{number}")
        writer.add_document(**film_to_document(copy, "digest"))
    writer.commit(merge=False)
    return target


@pytest.fixture(scope="module")
def searchers(seed_index: Path, edited_index: Path) -> Iterator[dict[str, Any]]:
    """A searcher with the engine's weighting on each index."""
    opened = {
        name: whoosh.index.open_dir(str(path), indexname=INDEX_NAME).searcher(
            weighting=ranking.weighting()
        )
        for name, path in (("seeds", seed_index), ("edited", edited_index))
    }
    yield opened
    for searcher in opened.values():
        searcher.close()


def leaves(searcher: Any) -> list[Any]:
    return [leaf for leaf, _ in searcher.leaf_searchers()]


_WORDS: dict[tuple[int, tuple[str, ...]], list[tuple[str, str]]] = {}


def words_of(searcher: Any, fields: list[str]) -> list[tuple[str, str]]:
    """Every (field, word) of the index's segments, in order (read once per searcher)."""
    key = (id(searcher), tuple(fields))
    if key not in _WORDS:
        _WORDS[key] = _read_words(searcher, fields)
    return _WORDS[key]


def _read_words(searcher: Any, fields: list[str]) -> list[tuple[str, str]]:
    found = set()
    for leaf in leaves(searcher):
        reader = leaf.reader()
        for field in fields:
            from_bytes = reader.schema[field].from_bytes
            found.update((field, from_bytes(btext)) for btext in reader.lexicon(field))
    return sorted(found)


def public_postings(reader: Any, field: str, text: str, deleted: bool) -> dict[int, float]:
    """{document: frequency} read with the public id/weight/next loop; ``deleted``: the
    unfiltered postings, as posting_blocks gives them."""
    if (field, text) not in reader:
        return {}
    matcher = reader.postings(field, text)
    if deleted and reader.has_deletions():
        matcher = matcher.child  # FilterMatcher's public child, from its start
        matcher.reset()
    found = {}
    while matcher.is_active():
        found[matcher.id()] = matcher.weight()
        matcher.next()
    return found


def reference_bm25f(searcher: Any, terms: list[wq.Term], boost: float) -> dict[int, float]:
    """BM25F of a word in several fields of a segment, from public reader statistics and
    ranking's functions only."""
    parent, reader = searcher.get_parent(), searcher.reader()
    doc_freq = max(parent.doc_frequency(t.fieldname, t.text) for t in terms)
    if not doc_freq:
        return {}
    idf = ranking.idf(doc_freq, parent.doc_count_all())
    parts: dict[int, list[tuple[float, float, float, float, float]]] = {}
    for term in terms:
        field = term.fieldname
        for doc, freq in public_postings(reader, field, term.text, deleted=True).items():
            length = reader.doc_field_length(doc, field, 1)
            average = parent.avg_field_length(field)
            part = (freq, length, average, term.boost, ranking.field_b(field))
            parts.setdefault(doc, []).append(part)
    return {doc: boost * ranking.bm25f(idf, found) for doc, found in parts.items()}


def assert_scores_equal(got: dict[int, float], expected: dict[int, float]) -> None:
    assert sorted(got) == sorted(expected)
    for doc, score in expected.items():
        assert math.isclose(got[doc], score, rel_tol=1e-9), (doc, got[doc], score)


INDEXES = st.sampled_from(["seeds", "edited"])


def test_this_whoosh_has_every_internal_used() -> None:
    assert whoosh_compat.FAST_POSTINGS and whoosh_compat.FAST_PATTERNS
    assert not [
        name
        for owner, names in whoosh_compat.REQUIRED.items()
        for name in whoosh_compat.missing(owner, names)
    ]


def test_a_missing_internal_is_named_at_import() -> None:
    class Upgraded:
        def _kept(self) -> None: ...

    assert whoosh_compat.missing(Upgraded, ("_kept", "_gone")) == ["Upgraded._gone"]
    error = whoosh_compat.WhooshIncompatibleError(["Upgraded._gone"])
    assert isinstance(error, ImportError)
    assert "Upgraded._gone" in str(error) and whoosh_compat.TESTED in str(error)


def test_the_edited_index_has_deletions_and_segments(searchers: dict[str, Any]) -> None:
    searcher = searchers["edited"]
    assert len(leaves(searcher)) >= 2
    assert any(leaf.reader().has_deletions() for leaf in leaves(searcher))


def postings_of(reader: Any, field: str, text: str) -> list[tuple[int, float]]:
    """Every (document, frequency) posting_blocks gives, in order."""
    found: list[tuple[int, float]] = []
    for ids, freqs in whoosh_compat.posting_blocks(reader, field, text):
        found.extend(zip(ids, freqs, strict=True))
    return found


@given(data=st.data(), name=INDEXES)
def test_posting_blocks_read_what_the_public_loop_reads(
    searchers: dict[str, Any], data: st.DataObject, name: str
) -> None:
    searcher = searchers[name]
    field, text = data.draw(st.sampled_from(words_of(searcher, ALL_FIELDS)))
    for leaf in leaves(searcher):
        reader = leaf.reader()
        found = postings_of(reader, field, text)
        assert dict(found) == public_postings(reader, field, text, deleted=True)
        assert [doc for doc, _ in found] == sorted({doc for doc, _ in found})
        kept = {doc: freq for doc, freq in found if not reader.is_deleted(doc)}
        assert kept == public_postings(reader, field, text, deleted=False)


@given(data=st.data(), name=INDEXES, boost=st.sampled_from([1.0, ranking.FILLER_WEIGHT, 2.0]))
def test_word_scores_are_bm25f_from_public_statistics(
    searchers: dict[str, Any], data: st.DataObject, name: str, boost: float
) -> None:
    searcher = searchers[name]
    _, word = data.draw(st.sampled_from(words_of(searcher, TEXT_FIELDS)))
    fields = data.draw(st.lists(st.sampled_from(TEXT_FIELDS), min_size=1, max_size=4, unique=True))
    terms = [wq.Term(field, word, boost=ranking.FIELD_WEIGHTS[field]) for field in fields]
    for leaf in leaves(searcher):
        got = term_scores.word_scores(leaf, terms, boost)
        assert_scores_equal(got, reference_bm25f(leaf, terms, boost))


@given(data=st.data(), name=INDEXES)
def test_field_clauses_are_bm25f_of_that_field(
    searchers: dict[str, Any], data: st.DataObject, name: str
) -> None:
    """Whoosh's public matcher, with the engine's weighting, scores one field's word as
    ranking.bm25f with that field alone."""
    searcher = searchers[name]
    field, word = data.draw(st.sampled_from(words_of(searcher, TEXT_FIELDS)))
    boost = data.draw(st.sampled_from([1.0, 3.0]))
    for leaf in leaves(searcher):
        matcher = wq.Term(field, word, boost=boost).matcher(leaf)
        got = {}
        while matcher.is_active():
            got[matcher.id()] = matcher.score()
            matcher.next()
        term = wq.Term(field, word, boost=1.0)
        expected = reference_bm25f(leaf, [term], boost)
        reader = leaf.reader()
        assert_scores_equal(got, {d: s for d, s in expected.items() if not reader.is_deleted(d)})


@st.composite
def patterns(draw: st.DrawFn, lexicon: list[tuple[str, str]]) -> wq.Query:
    """A prefix or wildcard made from a word of the index, scored (Whoosh's constant score,
    its default, applies to expansions of two words or more, so it would not compare)."""
    field, word = draw(st.sampled_from(lexicon))
    cut = draw(st.integers(1, max(1, len(word) - 1)))
    kind = draw(st.sampled_from(["prefix", "any", "one", "inside"]))
    if kind == "prefix":
        return wq.Prefix(field, word[:cut], constantscore=False)
    text = {
        "any": word[:cut] + "*" + word[cut + 1 :],
        "one": word[:cut] + "?" + word[cut + 1 :],
        "inside": word[:cut] + "*" + word[-1:] + "*",
    }[kind]
    return wq.Wildcard(field, text, constantscore=False)


def public_expansion(q: Any, reader: Any) -> list[str]:
    """The words Whoosh's public API expands ``q`` to, cut as filmsearch cuts them."""
    from_bytes = reader.schema[q.field()].from_bytes
    words = sorted({from_bytes(btext) for _, btext in q.expanded_terms(reader)})
    if len(words) > term_scores.MAX_EXPANSIONS:
        words = sorted(sorted(words, key=len)[: term_scores.MAX_EXPANSIONS])
    return words


@given(data=st.data(), name=INDEXES)
def test_expansions_are_whooshs_words_and_scores(
    searchers: dict[str, Any], data: st.DataObject, name: str
) -> None:
    searcher = searchers[name]
    q = data.draw(patterns(words_of(searcher, TEXT_FIELDS)))
    for leaf in leaves(searcher):
        reader = leaf.reader()
        words = term_scores.expand(q, reader)
        assert words == public_expansion(q, reader)
        if len(words) < term_scores.MAX_EXPANSIONS:  # uncut: Whoosh's own matcher scores it
            got = term_scores.scored_docs(term_scores.expansion_scores(q, leaf), reader)
            ours = dict(got.scored()) if isinstance(got, term_scores.ScoredDocs) else {}
            matcher = q.matcher(leaf)
            public = {}
            while matcher.is_active():
                public[matcher.id()] = matcher.score()
                matcher.next()
            assert_scores_equal(ours, public)


@given(data=st.data(), name=INDEXES)
def test_public_fallbacks_give_the_same(
    searchers: dict[str, Any], data: st.DataObject, name: str
) -> None:
    """Without the internals (a Whoosh that renamed them), the public slow paths answer alike."""
    searcher = searchers[name]
    lexicon = words_of(searcher, TEXT_FIELDS)
    field, text = data.draw(st.sampled_from(lexicon))
    q = data.draw(patterns(lexicon))
    for leaf in leaves(searcher):
        reader = leaf.reader()
        fast = postings_of(reader, field, text)
        words = term_scores.expand(q, reader)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(whoosh_compat, "FAST_POSTINGS", False)
            patch.setattr(whoosh_compat, "FAST_PATTERNS", False)
            assert postings_of(reader, field, text) == fast
            assert term_scores.expand(q, reader) == words
