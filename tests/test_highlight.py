"""Snippets: the matched words are located, marked and escaped correctly."""

from __future__ import annotations

from filmsearch.index.analysis import text_analyzer
from filmsearch.search.highlight import ELLIPSIS, Snippet, make_snippet

TEXT = (
    "Ali takes a job as a bouncer. " * 10 + "She suffers a tragic accident during a "
    "show at the marine park, where she was a whale trainer. " + "Filler words here. " * 20
)


def test_snippet_spans_point_at_the_matched_words() -> None:
    snippet = make_snippet(TEXT, frozenset({"whale", "trainer", "accid"}), text_analyzer())
    marked = {snippet.text[start:end] for start, end in snippet.spans}
    assert marked == {"whale", "trainer", "accident"}
    assert snippet.text.startswith(ELLIPSIS) and len(snippet.text) < 300


def test_render_wraps_matches_and_html_escapes() -> None:
    snippet = Snippet("a <b> whale & more", ((6, 11),))
    assert snippet.render("[", "]") == "a <b> [whale] & more"
    assert snippet.html() == "a &lt;b&gt; <mark>whale</mark> &amp; more"


def test_without_matches_the_snippet_is_the_start_of_the_text() -> None:
    snippet = make_snippet(TEXT, frozenset({"nothing"}), text_analyzer())
    assert snippet.spans == ()
    assert snippet.text.startswith("Ali takes a job") and snippet.text.endswith(ELLIPSIS)


def test_newlines_do_not_leak_into_snippets() -> None:
    snippet = make_snippet(
        "First line\nsecond whale line\r\nthird", frozenset({"whale"}), text_analyzer()
    )
    assert "\n" not in snippet.text and "\r" not in snippet.text
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["whale"]
