"""The fused analyzers give exactly the tokens of their filters run one by one."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis.analyzers import CompositeAnalyzer

from filmsearch.index.analysis import (
    NAME_SEPARATOR,
    STEMMERS,
    FusedAnalyzer,
    NameAnalyzer,
    TextAnalyzer,
    exact_analyzer,
    name_analyzer,
    text_analyzer,
)
from filmsearch.index.safe_pickle import safe_loads

#: Letters that stress the fused path: case, accents, letters whose lowercase is longer
#: (İ) or that fold to two letters (ß, æ), word joiners of the tokenizer (. * _),
#: digits, stop words' letters, the name separator.
ALPHABET = "aAbeEiIoOsStTyYzZ09 .*_-'\u2019éÉçÇñÑøØæÆß\u0130\u0131\u01c5\ufb01\u0301\n\t,;"
TEXTS = st.text(alphabet=ALPHABET, max_size=80) | st.lists(
    st.sampled_from(["the", "a", "of", "Running", "runs", "I", "x", "été", "A.B.C", "e.g", "*"]),
    max_size=12,
).map(" ".join)
CALLS = st.fixed_dictionaries(
    {},
    optional={
        "positions": st.booleans(),
        "chars": st.booleans(),
        "boosts": st.booleans(),
        "start_pos": st.integers(0, 5),
        "start_char": st.integers(0, 5),
        "mode": st.sampled_from(["index", "query", ""]),
        "no_morph": st.booleans(),
    },
)
ATTRIBUTES = ("text", "pos", "startchar", "endchar", "boost", "stopped", "name_number", "mode")


def tokens(analyzer: Any, value: str, call: dict[str, Any], fused: bool) -> list[tuple[Any, ...]]:
    run = analyzer if fused else lambda v, **kw: CompositeAnalyzer.__call__(analyzer, v, **kw)
    return [
        tuple(getattr(token, name, None) for name in ATTRIBUTES) for token in run(value, **call)
    ]


def fused_text(stemmer: str = "snowball") -> TextAnalyzer:
    return TextAnalyzer(*text_analyzer(stemmer).items)


def fused_names() -> NameAnalyzer:
    return NameAnalyzer(*name_analyzer().items)


ANALYZERS = [fused_text(stemmer) for stemmer in STEMMERS] + [fused_names()]


@settings(max_examples=300, deadline=None)
@given(value=TEXTS, call=CALLS)
def test_fused_text_tokens_equal_the_filter_chain(value: str, call: dict[str, Any]) -> None:
    for analyzer in ANALYZERS:
        assert tokens(analyzer, value, call, True) == tokens(analyzer, value, call, False)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(TEXTS, max_size=4), call=CALLS)
def test_fused_name_tokens_equal_the_filter_chain(names: list[str], call: dict[str, Any]) -> None:
    value = NAME_SEPARATOR.join(names)
    analyzer = fused_names()
    assert tokens(analyzer, value, call, True) == tokens(analyzer, value, call, False)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(TEXTS, min_size=1, max_size=3))
def test_texts_are_the_texts_of_the_filter_chains_tokens(parts: list[str]) -> None:
    """``texts`` (a query word's tokens, no Token made) gives what the chain of filters
    gives in every mode, names split at the separator."""
    value = NAME_SEPARATOR.join(parts)
    for analyzer in ANALYZERS:
        for mode in ("query", "index"):
            chain = CompositeAnalyzer.__call__(analyzer, value, mode=mode)
            assert analyzer.texts(value) == tuple(token.text for token in chain)


@pytest.mark.parametrize(
    "call",
    [{"tokenize": False}, {"keeporiginal": True}, {"removestops": False, "positions": True}],
)
def test_other_calls_run_the_filters(call: dict[str, Any]) -> None:
    for analyzer in ANALYZERS:
        value = "The Runners ran. é"
        assert tokens(analyzer, value, call, True) == tokens(analyzer, value, call, False)


def test_fused_analyzers_pickle_as_themselves() -> None:
    for analyzer in ANALYZERS:
        assert analyzer.chain_parts() is not None  # the fused path is the one tested above
        analyzer("warm the cache")  # a cached plan is not part of the pickle
        loaded = pickle.loads(pickle.dumps(analyzer, 2))
        assert type(loaded) is type(analyzer)
        assert loaded == analyzer
        assert list(loaded.items) == list(analyzer.items)


def test_a_plain_chain_of_the_same_filters_is_equal() -> None:
    """An index built before the analyzers were fused holds plain chains of the same filters."""
    fused = fused_text()
    plain = CompositeAnalyzer(*fused.items)
    assert fused == plain
    assert plain == fused


def test_a_changed_chain_runs_its_filters() -> None:
    """A chain whose filters are not the expected ones is run as Whoosh runs it."""
    analyzer = fused_text()
    analyzer.items.pop()  # no stemmer: still recognised
    assert [t.text for t in analyzer("Running dogs")] == ["running", "dogs"]
    analyzer.items.pop()  # no stop filter: not recognised, run one by one
    assert [t.text for t in analyzer("the Running dogs")] == ["the", "running", "dogs"]
    assert analyzer.texts("the Running dogs") is None  # callers then run the chain


def test_the_schema_analyzers_are_fused_and_load_from_an_index() -> None:
    """What build_schema pickles into the table of contents loads back, fused, through
    safe_pickle."""
    for analyzer in [*(text_analyzer(s) for s in STEMMERS), exact_analyzer(), name_analyzer()]:
        assert isinstance(analyzer, FusedAnalyzer)
        assert analyzer.chain_parts() is not None
        loaded = safe_loads(pickle.dumps(analyzer, 2))
        assert type(loaded) is type(analyzer)
        assert loaded == analyzer
