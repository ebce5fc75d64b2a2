"""Text from documents and indexes made safe to show on a terminal.

Film text, titles, ids and file names are untrusted: an ANSI or OSC escape
sequence in them could recolour the screen, retitle the window or write the
clipboard (OSC 52), and bidirectional overrides could make text read other than
it is. Every human-facing output goes through ``for_terminal``; JSON keeps the
data and only has C1 and bidi controls escaped as JSON ``\\uXXXX`` (``for_json``),
since JSON already escapes C0 controls.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

#: C0 and C1 controls and DEL, and the Unicode bidi embeddings, overrides and isolates.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: What JSON leaves raw with ensure_ascii=False and a terminal may still act on.
_UNSAFE_IN_JSON = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"


@functools.cache
def _pattern(characters: str) -> re.Pattern[str]:
    """A pattern of any one of ``characters`` (a character class), compiled when first
    needed: the three of this module take 2 ms to compile, and most text needs none."""
    return re.compile(f"[{characters}]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def for_terminal(text: str, *, multiline: bool = False) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``, ``\\u202e``).

    One line unless ``multiline``, which keeps newlines and tabs.
    """
    if text.isprintable():  # every character escaped here is one str.isprintable refuses
        return text
    return _pattern(_UNSAFE if multiline else _UNSAFE + "\n\t").sub(_visible, text)


def for_json(data: Any, *, indent: int | None = 2) -> str:
    """JSON text of ``data``, UTF-8 kept readable, with no raw control character in it."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _pattern(_UNSAFE_IN_JSON).sub(lambda m: f"\\u{ord(m.group()):04x}", text)
