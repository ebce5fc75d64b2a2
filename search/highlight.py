"""Snippets: the best fragments of a field's text, with the matched words located.

A Snippet keeps its text and the character spans of the matched words, so one
extraction serves every output: plain text, ANSI terminal, HTML and JSON offsets.
Fragment choice is Whoosh's (``ContextFragmenter`` + ``BasicFragmentScorer``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
    set_matched_filter,
    top_fragments,
)

ELLIPSIS = "…"
SEPARATOR = f" {ELLIPSIS} "


@dataclass(frozen=True)
class Snippet:
    """A short extract of a field, and the ``(start, end)`` offsets of the matched words in it."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def render(self, before: str, after: str, escape: Callable[[str], str] = lambda s: s) -> str:
        """The text with every matched word wrapped in ``before`` / ``after``."""
        out, last = [], 0
        for start, end in self.spans:
            out += [escape(self.text[last:start]), before, escape(self.text[start:end]), after]
            last = end
        out.append(escape(self.text[last:]))
        return "".join(out)

    def html(self) -> str:
        """HTML-escaped text with matches in ``<mark>``."""
        return self.render("<mark>", "</mark>", html.escape)


def _lead(text: str, max_chars: int) -> Snippet:
    """The start of ``text``, cut at a word boundary: the snippet when nothing matched."""
    text = " ".join(text[: max_chars * 2].split())
    if len(text) <= max_chars:
        return Snippet(text)
    cut = text.rfind(" ", 0, max_chars)
    return Snippet(text[: cut if cut > max_chars // 2 else max_chars] + ELLIPSIS)


def make_snippet(
    text: str,
    terms: frozenset[str],
    analyzer: Any,
    *,
    max_chars: int = 220,
    fragments: int = 2,
    surround: int = 50,
) -> Snippet:
    """The best ``fragments`` pieces of ``text`` that contain ``terms`` (analyzed forms)."""
    if not text:
        return Snippet("")
    best = []
    if terms:
        tokens = analyzer(text, chars=True, mode="query", removestops=False)
        fragmenter = ContextFragmenter(maxchars=max_chars, surround=surround)
        found = fragmenter.fragment_tokens(text, set_matched_filter(tokens, terms))
        best = top_fragments(found, fragments, BasicFragmentScorer(), FIRST)
    if not best:
        return _lead(text, max_chars)
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    if best[0].startchar > 0:
        pieces.append(ELLIPSIS)
        length = len(ELLIPSIS)
    for number, fragment in enumerate(best):
        if number:
            pieces.append(SEPARATOR)
            length += len(SEPARATOR)
        piece = text[fragment.startchar : fragment.endchar]
        shift = length - fragment.startchar
        spans += [(shift + m.startchar, shift + m.endchar) for m in fragment.matches]
        pieces.append(piece)
        length += len(piece)
    if best[-1].endchar < len(text):
        pieces.append(ELLIPSIS)
    flat = "".join(pieces).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return Snippet(flat, tuple(spans))
