"""What is worked out for a query node is kept by the node's identity (search.memo), or on
the node (a FieldedWord's own key and text): the
same node gives the same result without working it out again, another node with the
same content is worked out anew, and the memo stays within its size."""

from __future__ import annotations

import copy

from whoosh import query as wq

from filmsearch.search.bm25f import FieldedWord
from filmsearch.search.memo import NodeMemo, in_index


def test_a_node_is_worked_out_once_per_kind() -> None:
    memo = NodeMemo()
    node, twin = wq.Term("synopsis", "whale"), wq.Term("synopsis", "whale")
    calls: list[str] = []

    def work(label: str) -> str:
        calls.append(label)
        return label

    assert memo.get("a", node, lambda: work("a")) == "a"
    assert memo.get("a", node, lambda: work("again")) == "a"  # kept
    assert memo.get("b", node, lambda: work("b")) == "b"  # another kind
    assert memo.get("a", twin, lambda: work("twin")) == "twin"  # equal content, other node
    assert calls == ["a", "b", "twin"]


def test_first_says_yes_once() -> None:
    memo = NodeMemo()
    node = wq.Term("title", "orca")
    assert memo.first("seen", node) is True
    assert memo.first("seen", node) is False
    assert memo.first("other", node) is True


def test_the_memo_starts_again_when_full_and_keeps_its_nodes_alive() -> None:
    memo = NodeMemo(kept=3)
    nodes = [wq.Term("title", str(number)) for number in range(5)]
    for node in nodes:
        memo.get("k", node, lambda: 1)
        assert len(memo.results) <= 3
    assert len(memo.results) <= 3 and all(memo.nodes[id(node)] is node for node in nodes[3:])


def test_each_index_generation_has_its_own_memo() -> None:
    class Reader:
        """Stands for a Whoosh reader (weakly referenced)."""

    first, second = Reader(), Reader()
    assert in_index(first) is in_index(first)
    assert in_index(first) is not in_index(second)


def test_a_copied_word_works_out_its_own_terms_key_and_text() -> None:
    """A FieldedWord keeps what it worked out on itself; a copy, which the search steps
    change (fewer fields, another boost), works it out anew."""
    word = FieldedWord([wq.Term("title", "orca", boost=2.5), wq.Phrase("cast", ["ann", "lee"])])
    assert not word.only_terms() and "ann" in str(word) and "ann" in repr(word)
    fewer = copy.copy(word)
    fewer.subqueries = word.subqueries[:1]
    assert fewer.only_terms() and "ann" not in str(fewer) and "ann" not in repr(fewer)
    lighter = copy.copy(fewer)
    lighter.boost = 0.1
    assert lighter.word_key() != fewer.word_key()
    assert not word.only_terms()  # the original keeps its own
