"""Whoosh modules that a search imports but never uses, loaded when first used instead.

``whoosh.query.terms`` imports ``whoosh.lang.morph_en`` for its ``Variations``
query, which filmsearch never builds; importing it compiles hundreds of regular
expressions (8 ms, 4% of a command-line search). ``defer_morph_en`` puts a
stand-in module in its place whose ``variations`` loads the real module, and
hands over to it, the first time it is called.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterable

MORPH_EN = "whoosh.lang.morph_en"


def defer_morph_en() -> None:
    """Stand in for ``whoosh.lang.morph_en`` until ``variations`` is called (if it is not
    imported yet)."""
    if MORPH_EN in sys.modules:
        return
    spec = importlib.util.find_spec(MORPH_EN)
    if spec is None or spec.loader is None:
        return
    stand_in = types.ModuleType(MORPH_EN, "Stands in for Whoosh's morph_en until it is used.")

    def variations(word: str) -> Iterable[str]:
        real = sys.modules.get(MORPH_EN)
        if real is stand_in or real is None:
            real = importlib.util.module_from_spec(spec)
            sys.modules[MORPH_EN] = real
            spec.loader.exec_module(real)  # type: ignore[union-attr]
        return real.variations(word)  # type: ignore[no-any-return]

    stand_in.variations = variations  # type: ignore[attr-defined]
    sys.modules[MORPH_EN] = stand_in
