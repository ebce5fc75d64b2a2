"""A Whoosh package whose ``__init__`` runs when one of its own names is first used,
not when one of its submodules is imported.

``whoosh.lang.snowball``'s ``__init__`` imports the Snowball stemmers of fourteen
languages (4 % of a command-line search's instructions); filmsearch uses the
English one only, importing ``whoosh.lang.snowball.english``. ``defer_snowball``
registers the package's module with its ``__init__`` not run yet: a submodule is
still found through the package's ``__path__``, and the first look-up of any
other name (``whoosh.lang.snowball.classes``, as ``whoosh.lang`` does for another
language) runs the ``__init__`` then, in the same module object, so nothing else
changes.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from typing import Any

SNOWBALL = "whoosh.lang.snowball"


def defer_package_init(name: str) -> None:
    """Register the package ``name``, whose parent is imported, with its ``__init__`` run
    on the first use of a name it defines; nothing if it is imported already."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    loader = spec.loader
    module = importlib.util.module_from_spec(spec)
    lock = threading.Lock()

    def __getattr__(attribute: str) -> Any:  # the module's __getattr__
        with lock:
            if module.__dict__.get("__getattr__") is __getattr__:
                del module.__getattr__
                try:
                    loader.exec_module(module)
                except BaseException:
                    sys.modules.pop(name, None)  # as a failed import leaves it
                    raise
        return getattr(module, attribute)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, module)


def defer_snowball() -> None:
    """``whoosh.lang.snowball`` without its fourteen languages until one is asked for."""
    import whoosh.lang  # noqa: F401  # the parent, imported as usual

    defer_package_init(SNOWBALL)
