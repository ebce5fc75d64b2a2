"""What pure functions of query nodes gave, remembered by the node's identity.

A description's sixty words are the same Whoosh query nodes from one query to
the next (``retrieve.words_query`` keeps each word's node), so what is worked
out for a node (its weighted form, whether it is a name in this index, its
largest document frequency) is kept; what a ``bm25f.FieldedWord`` works out from
itself alone (its key, its text) it keeps on itself. Query nodes are never changed
once built: every step that adjusts one works on a copy (``copy.copy``), so a
node's identity stands for its content. Each entry holds its node, so that the
identity is not given to another object while the entry lives.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: Most results kept per memo (then it starts again).
MEMO_KEPT = 50_000


class NodeMemo:
    """``function(node)`` results by (what was asked, the node's identity)."""

    def __init__(self, kept: int = MEMO_KEPT) -> None:
        self.kept = kept
        self.results: dict[tuple[Hashable, int], Any] = {}
        #: the nodes asked about, by identity: kept alive so that no other node takes the id
        #: (no tuple per result: fewer objects for the garbage collector to walk)
        self.nodes: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get(self, kind: Hashable, node: Any, compute: Callable[[], T]) -> T:
        """The result of ``compute()`` for ``node``, worked out on the first request."""
        key = (kind, id(node))
        try:
            found: T = self.results[key]
        except KeyError:
            found = compute()
            self._keep(key, node, found)
        return found

    def first(self, kind: Hashable, node: Any) -> bool:
        """Whether this is the first time ``node`` is asked about for ``kind``."""
        key = (kind, id(node))
        if key in self.results:
            return False
        self._keep(key, node, True)
        return True

    def _keep(self, key: tuple[Hashable, int], node: Any, result: Any) -> None:
        # Under the lock, every result's node is kept (threads may search at once).
        with self._lock:
            if len(self.results) >= self.kept:
                self.results.clear()
                self.nodes.clear()
            self.nodes[id(node)] = node
            self.results[key] = result


#: Results that hold whatever the index.
ANYWHERE = NodeMemo()
#: reader -> results that depend on the index it reads (names, document frequencies).
_BY_READER: weakref.WeakKeyDictionary[Any, NodeMemo] = weakref.WeakKeyDictionary()


def in_index(reader: Any) -> NodeMemo:
    """The memo of results that hold while ``reader`` (one generation of an index) lives."""
    memo = _BY_READER.get(reader)
    if memo is None:
        memo = _BY_READER.setdefault(reader, NodeMemo())
    return memo
