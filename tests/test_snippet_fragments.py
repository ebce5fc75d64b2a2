"""Snippets made without Whoosh's fragmenter: the same fragments, chosen the same way,
from the same tokens; and what a reader of a snippet can count on."""

from __future__ import annotations

import functools
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis import RegexTokenizer
from whoosh.highlight import FIRST, BasicFragmentScorer, ContextFragmenter, top_fragments

from filmsearch.index.analysis import text_analyzer
from filmsearch.search.highlight import (
    ELLIPSIS,
    FASTER_EXPRESSIONS,
    SEPARATOR,
    WordForms,
    context_fragments,
    make_snippet,
    top,
    word_forms,
)

ANALYZER = text_analyzer("snowball")
#: letters that are words, or not, in ASCII or not, and the separators between them
CHARACTERS = "aAbzZ09_*.éßİKΣς  ,'\n\t\x1c\x1f-…"
WORDS = ["whale", "Whales", "trainer", "the", "a", "orca", "Céline", "u.s", "dying", "x*y", "ok."]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=CHARACTERS, max_size=60))
def test_the_faster_expressions_find_the_same_tokens(text: str) -> None:
    for slow, (fast, _) in FASTER_EXPRESSIONS.items():
        spans = [m.span() for m in re.finditer(slow, text)]
        assert [m.span() for m in re.finditer(fast, text)] == spans
        if text.isascii():
            assert [m.span() for m in re.finditer(fast, text, re.ASCII)] == spans


class Tokenized:
    """An analyzer of a RegexTokenizer alone, for WordForms over other expressions."""

    def __init__(self, expression: str) -> None:
        self.items = [RegexTokenizer(expression)]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=CHARACTERS, max_size=60),
    st.sampled_from([r"[\w\*]+(\.?[\w\*]+)*", r"\w+(\.?\w+)*", r"(?P<x>\w)(\w*)", r"\w*", r"\w+"]),
)
def test_words_and_bounds_are_the_tokenizers(text: str, expression: str) -> None:
    analyzer = Tokenized(expression)
    forms = WordForms(analyzer)
    words, bounds = forms.tokens(text)
    tokens = [(t.text, t.startchar, t.endchar) for t in analyzer.items[0](text, chars=True)]
    assert [(word, bounds[2 * n], bounds[2 * n + 1]) for n, word in enumerate(words)] == tokens
    assert (forms.splitter is None) == (expression == r"\w*")  # it can match nothing


class Matched:
    """What Whoosh's ContextFragmenter reads of a token."""

    def __init__(self, start: int, end: int, form: str | None) -> None:
        self.startchar, self.endchar, self.matched, self.text = start, end, form is not None, form
        self.boost = 1.0

    def copy(self) -> Matched:
        return self


streams = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 12), st.sampled_from([None, None, "x", "y"])),
    min_size=1,
    max_size=80,
)


@settings(max_examples=600, deadline=None)
@given(streams, st.integers(1, 120), st.integers(1, 40), st.integers(1, 4))
def test_the_fragments_and_choice_are_whooshs(
    stream: list[tuple[int, int, str | None]], max_chars: int, surround: int, count: int
) -> None:
    """Tokens of any length, gaps of any length, matches anywhere: the same fragments,
    the same ones chosen, in the same order."""
    words, bounds, tokens, hits, forms = [], [], [], [], []
    at = 0
    for number, (size, gap, form) in enumerate(stream):
        at += gap
        words.append("w" * size)
        bounds += [at, at + size]
        tokens.append(Matched(at, at + size, form))
        if form is not None:
            hits.append(number)
            forms.append(form)
        at += size
    text = " " * at
    fragmenter = ContextFragmenter(max_chars, surround, charlimit=0)
    expected = top_fragments(
        fragmenter.fragment_tokens(text, tokens), count, BasicFragmentScorer(), FIRST
    )
    chosen = top(context_fragments(words, bounds, hits, forms, max_chars, surround), count)
    assert [(start, end, spans) for _, start, end, spans in chosen] == [
        (f.startchar, f.endchar, [(m.startchar, m.endchar) for m in f.matches]) for f in expected
    ]


texts = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", ", ", ". ", "\n", " - ", "   "])),
    min_size=1,
    max_size=150,
).map(lambda pairs: "".join(word + separator for word, separator in pairs))


def analysed(text: str) -> list[str]:
    return [token.text for token in ANALYZER(text, mode="query")]


@settings(max_examples=300, deadline=None)
@given(
    texts,
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
    st.integers(10, 150),
    st.integers(1, 40),
    st.integers(1, 3),
)
def test_what_a_snippet_promises(
    text: str, picks: list[str], max_chars: int, surround: int, fragments: int
) -> None:
    """Each span is a word that analyses to a query term; the snippet is pieces of the
    field, at most ``fragments`` of them, each with at most ``surround + max_chars``
    characters of words besides the one that ends it."""
    terms = frozenset(form for word in picks for form in analysed(word))
    snippet = make_snippet(
        text, terms, ANALYZER, max_chars=max_chars, surround=surround, fragments=fragments
    )
    for start, end in snippet.spans:
        assert analysed(snippet.text[start:end]) and set(analysed(snippet.text[start:end])) <= terms
    if not snippet.spans:
        return
    flat = re.sub(r"[\r\n\t]", " ", text)
    pieces = snippet.text.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS).split(SEPARATOR)
    assert len(pieces) <= fragments
    for piece in pieces:
        assert piece in flat
        sizes = [len(m.group()) for m in re.finditer(r"[\w\*]+(\.?[\w\*]+)*", piece)]
        assert sum(sizes) - max(sizes) <= surround + max_chars


def test_a_word_longer_than_a_fragment_is_never_a_snippet() -> None:
    word = "whale" + "s" * 300  # stems to "whalesss…": not a match
    long_match = "orca" * 80
    snippet = make_snippet(
        f"a {long_match} then an orca", frozenset({"orca", long_match}), ANALYZER
    )
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["orca"]
    assert make_snippet(word, frozenset({"whale"}), ANALYZER).spans == ()


def test_the_words_of_a_query_are_judged_once() -> None:
    forms = word_forms(text_analyzer("snowball"))
    assert forms is not None
    terms = frozenset({"whale"})
    words = ["A", "whale", "and", "whales", "A"]
    assert forms.hits(words, terms) == ([1, 3], ["whale", "whale"])
    judged, found = forms._verdicts[terms]
    assert judged == set(words) and found == {"whale": "whale", "whales": "whale"}
    assert forms.hits(["whales", "orca"], terms) == ([0], ["whale"])


TRICKY = [
    "ΟΔΟΣ", "Σίσυφος", "İstanbul", "straße", "naïve", "Naive", "a.b.c", "x..y", "*star", "e",
    "i", "dying", "skies", "sky", "Antibes", "ﬁsh", "\u212aelvin", "ǅemal", "1980s", "U.S.",
    "whale", "WHALES", "Céline", "celine", "the", "Ⅻ", "o'neil", "o\u2019neil", "running", "run",
]  # fmt: skip
TRICKY_SEPARATORS = [" ", ". ", ".", "'", "\u2019", "-", "\n", "…", " Σ ", "  "]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(TRICKY), st.sampled_from(TRICKY_SEPARATORS)),
        min_size=1,
        max_size=60,
    ).map(lambda pairs: "".join(word + separator for word, separator in pairs)),
    st.lists(st.sampled_from(TRICKY), min_size=1, max_size=4),
    st.sampled_from(["snowball", "none"]),
)
def test_words_found_by_their_starts_are_all_the_matches(
    text: str, picks: list[str], stemmer: str
) -> None:
    """Cases, accents, a sigma, letters whose lower case is longer, dots within and
    between words: the snippets are those of Whoosh's fragmenter over every token."""
    analyzer = text_analyzer(stemmer)
    terms = frozenset(t.text for word in picks for t in analyzer(word, mode="query"))
    whole = make_snippet(text, terms, functools.partial(analyzer.__call__), surround=10)
    assert make_snippet(text, terms, analyzer, surround=10) == whole


def test_a_final_sigma_is_found_whatever_follows_it() -> None:
    """The lower case of the whole text has a sigma where the word alone has a final one
    (the word is followed by a letter after an apostrophe): the word still matches."""
    terms = frozenset(t.text for t in ANALYZER("ΟΔΟΣ", mode="query"))
    snippet = make_snippet("- ΟΔΟΣ'A", terms, ANALYZER)
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["ΟΔΟΣ"]


def test_only_the_words_where_a_query_word_may_start_are_analysed() -> None:
    analyzer = text_analyzer("snowball")
    text = "The whale trainer saw whales, and a whaler. Nowhale here."
    snippet = make_snippet(text, frozenset({"whale"}), analyzer)
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["whale", "whales"]
    forms = word_forms(analyzer)
    assert forms is not None
    assert set(forms.analysed) == {"whale", "whales", "whaler"} and not forms.unstemmed
