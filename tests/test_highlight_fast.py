"""Snippets that cost little: the same snippets as from the analyzer's whole token
stream, looked for in the first MAX_SCANNED_CHARS characters of a field."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filmsearch.index.analysis import (
    SNOWBALL_IRREGULAR,
    name_analyzer,
    snowball_english,
    snowball_stem_start,
    text_analyzer,
)
from filmsearch.search.highlight import (
    MAX_SCANNED_CHARS,
    make_snippet,
    scanned_part,
    word_forms,
)

from .conftest import SEEDS

ANALYZERS = {stemmer: text_analyzer(stemmer) for stemmer in ("snowball", "porter", "none")}
WORDS = [
    "whale", "whales", "Whaling", "trainer", "TRAINERS", "accident", "accidental", "the",
    "a", "of", "Céline", "celine", "dying", "die", "skies", "sky", "generously", "running",
    "run", "3.14", "u.s", "x", "is", "happy", "happiness", "orca", "Antibes", "marine*",
]  # fmt: skip
SEPARATORS = [" ", "  ", ", ", ". ", "\n", " - ", "...", "'", " (", ") ", "\t", " " * 30]


def whole_stream(analyzer: Any) -> Any:
    """The analyzer behind a bare callable: make_snippet then runs every token through it."""
    return functools.partial(analyzer.__call__)


def forms(analyzer: Any, text: str) -> list[str]:
    return [token.text for token in analyzer(text, mode="query")]


texts = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=1, max_size=120
).map(lambda pairs: "".join(word + separator for word, separator in pairs))


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    stemmer=st.sampled_from(sorted(ANALYZERS)),
    picks=st.lists(st.sampled_from(WORDS), max_size=4),
    max_chars=st.integers(5, 150),
    surround=st.integers(1, 40),
    fragments=st.integers(1, 3),
    max_scanned=st.integers(10, 2_000),
)
def test_the_snippets_are_those_of_the_whole_token_stream(
    text: str,
    stemmer: str,
    picks: list[str],
    max_chars: int,
    surround: int,
    fragments: int,
    max_scanned: int,
) -> None:
    analyzer = ANALYZERS[stemmer]
    terms = frozenset(form for word in picks for form in forms(analyzer, word))
    options = {"max_chars": max_chars, "surround": surround, "fragments": fragments}
    options["max_scanned"] = max_scanned
    assert word_forms(analyzer) is not None
    assert make_snippet(text, terms, analyzer, **options) == make_snippet(
        text, terms, whole_stream(analyzer), **options
    )


def test_the_snippets_of_the_seeds_are_those_of_the_whole_token_stream() -> None:
    analyzer = ANALYZERS["snowball"]
    for number, path in enumerate(sorted(SEEDS.iterdir())):
        text = path.read_text(encoding="utf-8", errors="replace")
        words = forms(analyzer, text)
        for terms in (words[::97][:4], words[-3:], ["whale", "nothingatall"], words[:40]):
            fast = make_snippet(text, frozenset(terms), analyzer)
            assert fast == make_snippet(text, frozenset(terms), whole_stream(analyzer)), path
            if number == 0 and terms is words[-3:]:
                assert fast.spans  # the test does look at matches


def test_only_the_first_characters_of_a_field_are_scanned() -> None:
    analyzer = ANALYZERS["snowball"]
    filler = "Quiet harbour days. " * (MAX_SCANNED_CHARS // 20)
    early = make_snippet("An orca attacks. " + filler, frozenset({"orca"}), analyzer)
    late = make_snippet(filler + "An orca attacks.", frozenset({"orca"}), analyzer)
    assert [early.text[start:end] for start, end in early.spans] == ["orca"]
    assert late.spans == () and late.text.startswith("Quiet harbour days.")


def test_the_scanned_part_never_cuts_a_word() -> None:
    text = "word " * 10 + "supercalifragilistic end"
    cut = scanned_part(text, 55)  # "supercalifragilistic" spans characters 50 to 70
    assert cut == "word " * 9 + "word"
    assert scanned_part("short text", 55) == "short text"
    assert scanned_part("x" * 100, 55) == "x" * 55  # no space to cut at


def test_other_analyzers_get_snippets_from_their_whole_token_stream() -> None:
    analyzer = name_analyzer()
    assert word_forms(analyzer) is None
    snippet = make_snippet(
        "Marion Cotillard\nMatthias Schoenaerts", frozenset({"marion"}), analyzer
    )
    assert [snippet.text[start:end] for start, end in snippet.spans] == ["Marion"]


WORD_PARTS = st.text(alphabet="aeiouybcdglnrstkmpwxz", max_size=7)
ENDINGS = st.sampled_from(
    ["", "s", "es", "ies", "ied", "ing", "ed", "eed", "eedly", "ly", "ingly", "ational",
     "tional", "enci", "anci", "abli", "entli", "izer", "ization", "ation", "ator", "alism",
     "aliti", "alli", "fulness", "ousli", "ousness", "iveness", "iviti", "biliti", "bli", "ogi",
     "fulli", "lessli", "li", "alize", "icate", "iciti", "ative", "ical", "ness", "ful", "ement",
     "ment", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion", "al", "er", "ic", "able",
     "ible", "ance", "ence", "e", "l", "y", "ys", "yed", "ying", "ss", "sses", "us"]
)  # fmt: skip


@settings(max_examples=2_000, deadline=None)
@given(WORD_PARTS, ENDINGS, ENDINGS)
def test_a_word_starts_with_what_its_stem_says(start: str, ending: str, more: str) -> None:
    word = start + ending + more
    if word and word not in SNOWBALL_IRREGULAR:
        assert word.startswith(snowball_stem_start(snowball_english(word)))


def test_the_irregular_words_are_those_the_stemmer_writes_whole() -> None:
    from whoosh.lang.snowball.english import EnglishStemmer

    special: dict[str, str] = EnglishStemmer._EnglishStemmer__special_words  # type: ignore[attr-defined]
    irregular = {w for w, stem in special.items() if not w.startswith(snowball_stem_start(stem))}
    assert irregular == SNOWBALL_IRREGULAR


@pytest.mark.skipif(not (SEEDS.parent.parent / "shared").exists(), reason="no shared corpus")
def test_the_stems_of_the_corpus_words_start_as_their_words() -> None:
    analyzer = text_analyzer("none")
    words: set[str] = set()
    for path in sorted((SEEDS.parent.parent / "shared" / "corpora" / "films").iterdir())[:800]:
        words.update(forms(analyzer, Path(path).read_text(encoding="utf-8", errors="replace")))
    wrong = [
        word
        for word in words
        if not word.startswith(snowball_stem_start(snowball_english(word)))
        and word not in SNOWBALL_IRREGULAR
    ]
    assert wrong == []


def test_a_full_memory_of_words_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from filmsearch.search import highlight

    monkeypatch.setattr(highlight, "MAX_REMEMBERED_WORDS", 5)
    analyzer = text_analyzer("snowball")
    ascii = "The whale trainer had an accident at the marine park; whales and orcas. " * 3
    for text in (ascii, ascii + "İstanbul"):  # (found by their starts; split and judged)
        for terms in ({"whale"}, {"accid", "orca"}, {"park", "marin", "trainer"}):
            fast = make_snippet(text, frozenset(terms), analyzer)
            assert fast == make_snippet(text, frozenset(terms), whole_stream(analyzer))
            assert fast.spans
    forms = word_forms(analyzer)
    assert forms is not None and len(forms.analysed) <= 5
    assert 0 < len(forms.unstemmed) <= len(set(forms.words(text)))
