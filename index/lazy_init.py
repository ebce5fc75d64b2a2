"""Whoosh modules that a search imports but never runs, run when first used instead.

- ``whoosh.lang.snowball``'s ``__init__`` imports the Snowball stemmers of fourteen
  languages (4 % of a command-line search's instructions); filmsearch uses the
  English one only, importing ``whoosh.lang.snowball.english``, which the
  package's ``__path__`` still finds.
- ``whoosh.lang.morph_en``, imported by ``whoosh.query.terms`` for the ``Variations``
  query, which filmsearch never builds, compiles hundreds of regular expressions
  at import (8 ms, 4 % of a command-line search).
- ``whoosh.lang.porter`` (Porter's stemmer, fourteen regular expressions compiled
  at import) and ``whoosh.lang.dmetaphone`` are imported by ``whoosh.analysis`` for
  the defaults of filters that filmsearch never builds (``StemFilter``'s stem
  function, ``DoubleMetaphoneFilter``): 2 % more.

``defer_module`` registers such a module with its code not run yet. The first
look-up of a name it does not hold yet runs the code, in the same module object
and through the import hooks installed by then (``safe_pickle`` patches every
Whoosh module as it loads); a function named in ``functions`` is a stand-in that
runs the code on its first call, then calls the real function, and stays in the
module, so that whoever took it before (``from whoosh.lang.porter import stem``)
and pickles naming ``whoosh.lang.porter.stem`` reach the same object. Nothing
happens to a module that is imported already.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

SNOWBALL = "whoosh.lang.snowball"
PORTER = "whoosh.lang.porter"
DOUBLE_METAPHONE = "whoosh.lang.dmetaphone"
MORPH_EN = "whoosh.lang.morph_en"


def _find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec the import system finds for ``name`` now, through every finder on
    ``sys.meta_path`` (import hooks included); its parent package must be imported."""
    path = getattr(sys.modules[name.rpartition(".")[0]], "__path__", None)
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        spec = find_spec(name, path) if find_spec is not None else None
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


def defer_module(name: str, functions: Sequence[str] = ()) -> None:
    """Register the module ``name`` (its parent package imported) with its code run on
    the first look-up of a name it does not hold yet, or the first call of one of
    ``functions`` (stand-ins that stay in the module)."""
    if name in sys.modules:
        return
    spec = _find_spec(name)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    real: dict[str, Callable[..., Any]] = {}

    def load() -> None:
        with lock:
            if module.__dict__.get("__getattr__") is not __getattr__:
                return  # run already (or running, in this thread)
            del module.__getattr__
            found = _find_spec(name) or spec
            try:
                found.loader.exec_module(module)  # type: ignore[union-attr]
            except BaseException:
                sys.modules.pop(name, None)  # as a failed import leaves it
                raise
            real.update((function, module.__dict__[function]) for function in functions)
            module.__dict__.update(stand_ins)

    def __getattr__(attribute: str) -> Any:  # the module's __getattr__
        if attribute == "__path__" and spec.submodule_search_locations is None:
            # "from module import name" asks whether a module is a package
            raise AttributeError(f"module {name!r} has no attribute '__path__'")
        load()
        return getattr(module, attribute)

    def stand_in(function: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            load()
            return real[function](*args, **kwargs)

        call.__name__ = call.__qualname__ = function
        call.__module__ = name
        call.__doc__ = f"``{name}.{function}``, whose module runs on the first call."
        return call

    stand_ins = {function: stand_in(function) for function in functions}
    module.__dict__.update(stand_ins)
    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)


def defer_unused_whoosh_modules() -> None:
    """Defer ``whoosh.lang.snowball``, ``porter``, ``dmetaphone`` and ``morph_en`` (see the
    module's docstring); before ``whoosh.analysis`` and ``whoosh.query`` are imported."""
    import whoosh.lang  # noqa: F401  # their parent, imported as usual (it imports nothing)

    defer_module(SNOWBALL)
    defer_module(PORTER, ["stem"])
    defer_module(DOUBLE_METAPHONE, ["double_metaphone"])
    defer_module(MORPH_EN, ["variations"])
