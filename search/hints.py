"""What a description says besides its words: when the film is from, what kind it is.

People write "animated movie from the early 2000s" or "a horror film I saw in
1995". ``read_hints`` finds such year, decade and genre hints in free text;
``ranking`` turns them into soft boosts (never filters: memories of dates are
often wrong).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import ranking

_DECADE = re.compile(r"\b(early|mid|late)?[\s-]*(?:(19|20)(\d)0|'?(\d)0)'?s\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(19[0-9]{2}|20[0-2][0-9])\b")
_WORD = re.compile(r"[a-z-]+")
_DIGIT = re.compile(r"\d")
#: How every decade _DECADE matches ends: a cheap test before the costly expression.
_DECADE_END = re.compile(r"0'?s", re.IGNORECASE)


@dataclass(frozen=True)
class Hints:
    """Year ranges (inclusive) and genre words a description mentions."""

    years: tuple[tuple[int, int], ...] = ()
    genres: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.years or self.genres)


def read_hints(text: str) -> Hints:
    """The decades ("90s", "early 2000s"), years ("1995") and genre words in ``text``."""
    years = _years(text) if _DIGIT.search(text) else []  # (both are written with digits)
    return Hints(tuple(dict.fromkeys(years)), _genres(text))


def _years(text: str) -> list[tuple[int, int]]:
    """The year ranges of the decades and years written in ``text``, in order."""
    years: list[tuple[int, int]] = []
    if _DECADE_END.search(text):
        for match in _DECADE.finditer(text):
            part, century, decade, short = match.groups()
            if century:
                start = int(century + decade + "0")
            else:  # '90s: the 1900s for 20-90, the 2000s for 00-10
                start = (1900 if int(short) >= 2 else 2000) + int(short) * 10
            low, high = {"early": (0, 4), "mid": (3, 7), "late": (5, 9)}.get(
                (part or "").lower(), (0, 9)
            )
            years.append((start + low, start + high))
    undated = _DECADE.sub(" ", text) if years else text  # (the years of no decade)
    for match in _YEAR.finditer(undated):
        year = int(match.group(1))
        years.append((year - ranking.YEAR_HINT_SLACK, year + ranking.YEAR_HINT_SLACK))
    return years


def _genres(text: str) -> tuple[str, ...]:
    """The genres the words of ``text`` name, each once, in order."""
    words = _WORD.findall(text.lower())
    return tuple(dict.fromkeys(ranking.GENRE_HINTS[w] for w in words if w in ranking.GENRE_HINTS))
