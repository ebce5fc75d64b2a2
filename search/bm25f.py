"""True BM25F for Whoosh: one query word scored once over all the fields it occurs in.

Whoosh's ``BM25F`` model scores each field separately and the parser adds the
field scores up, so a word found in the title, the synopsis and the wiki text
counts three times, and a film that matches one word everywhere beats the film
that matches every word of the query. Real BM25F (Robertson & Zaragoza) first
adds up the word's length-normalised, weighted frequency over the fields and
saturates once (see ``ranking.bm25f``).

``FieldedWord`` is the query node for one word searched in several fields (the
parser builds one per keyword); ``BM25FMatcher`` walks the union of the
per-field postings and computes the combined score.
"""

from __future__ import annotations

import copy
from typing import Any

from whoosh import matching
from whoosh.util import make_binary_tree
from whoosh import query as wq
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.qparser import syntax

from . import ranking


class FieldedWord(wq.compound.CompoundQuery):
    """One word in several fields (each a ``Term`` whose boost is the field weight)."""

    JOINT = " | "

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        if not all(isinstance(sub, wq.Term) for sub in subs):
            # Phrases or wildcards inside: plain sum of the parts' scores.
            return wq.Or(subs, boost=self.boost).matcher(searcher, context)
        parent = searcher.get_parent()
        stats: dict[str, tuple[float, float, float]] = {}
        doc_freq = 0
        children = []
        for sub in subs:
            field = sub.fieldname
            if field not in searcher.schema or not searcher.schema[field].scorable:
                continue
            child = sub.matcher(searcher, context)
            doc_freq = max(doc_freq, parent.doc_frequency(field, sub.text))
            stats[field] = (sub.boost, ranking.field_b(field),
                            parent.avg_field_length(field) or 1.0)
            if child.is_active():
                children.append(child)
        if not children:
            return matching.NullMatcher()
        union = make_binary_tree(matching.UnionMatcher, children)
        idf = ranking.idf(doc_freq, parent.doc_count_all())
        return BM25FMatcher(union, searcher, stats, idf * self.boost)


class FieldedWordGroup(syntax.GroupNode):
    """Parser node that turns into a FieldedWord (used by the multifield plugin)."""

    qclass = FieldedWord


class Keywords(wq.Or):
    """OR of a query's clauses; in short queries, scaled by the share of clauses matched.

    ``score = sum of clause scores * (matched / clauses) ** ranking.COORDINATION``
    (Lucene's classic coordination factor) when the query has at most
    ``ranking.COORDINATION_MAX_CLAUSES`` clauses, so that a film matching every
    word of a keyword query comes first. Verbose descriptions are left to BM25F.
    """

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        if not ranking.COORDINATION or len(subs) > ranking.COORDINATION_MAX_CLAUSES:
            return super()._matcher(subs, searcher, context)
        children = [ClauseMatcher(sub.matcher(searcher, context)) for sub in subs]
        children = [child for child in children if child.is_active()]
        if not children:
            return matching.NullMatcher()
        union = make_binary_tree(matching.UnionMatcher, children)
        return CoordinationMatcher(union, len(subs), ranking.COORDINATION)


class KeywordsGroup(syntax.OrGroup):
    """Parser node that turns into Keywords (the parser's default group)."""

    qclass = Keywords


class ClauseMatcher(WrappingMatcher):
    """Marks the matcher of one top-level clause, so that matches can be counted."""

    def _replacement(self, newchild: Any) -> ClauseMatcher:
        return ClauseMatcher(newchild)


class CoordinationMatcher(WrappingMatcher):
    """Scales the child's score by the share of clauses matching the current document."""

    def __init__(self, child: Any, clauses: int, exponent: float) -> None:
        super().__init__(child)
        self._clauses = clauses
        self._exponent = exponent

    def _replacement(self, newchild: Any) -> CoordinationMatcher:
        return CoordinationMatcher(newchild, self._clauses, self._exponent)

    def supports_block_quality(self) -> bool:
        return False

    def score(self) -> float:
        matched = _count_clauses(self.child, self.child.id())
        return self.child.score() * (matched / self._clauses) ** self._exponent


def _count_clauses(m: Any, docnum: int) -> int:
    if isinstance(m, ClauseMatcher):
        return 1 if m.is_active() and m.id() == docnum else 0
    return sum(_count_clauses(child, docnum) for child in m.children())


class BM25FMatcher(WrappingMatcher):
    """Scores the current document with ``ranking.bm25f`` over the matching fields."""

    def __init__(self, child: Any, searcher: Any, stats: dict[str, tuple[float, float, float]],
                 idf: float) -> None:
        super().__init__(child)
        self._searcher = searcher
        self._stats = stats
        self._idf = idf

    def _replacement(self, newchild: Any) -> BM25FMatcher:
        return BM25FMatcher(newchild, self._searcher, self._stats, self._idf)

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        return self._idf * (ranking.K1 + 1)

    def score(self) -> float:
        docnum = self.child.id()
        parts = []
        for leaf in self.child.term_matchers():
            if leaf.is_active() and leaf.id() == docnum:
                field = leaf.term()[0]
                weight, b, avg_length = self._stats[field]
                length = self._searcher.doc_field_length(docnum, field, 1) or 1
                parts.append((leaf.weight(), length, avg_length, weight, b))
        return ranking.bm25f(self._idf, parts)


class BaselineWord(wq.compound.CompoundQuery):
    """One word scored with plain BM25 over ``ranking.BASELINE_FIELDS`` read as one text.

    Term frequency and length are summed over the fields, so the score is that of
    BM25 over their concatenation (df is approximated by the largest per-field df).
    """

    JOINT = " + "

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        parent = searcher.get_parent()
        children = [m for m in (sub.matcher(searcher, context) for sub in subs) if m.is_active()]
        if not children:
            return matching.NullMatcher()
        doc_freq = max(parent.doc_frequency(sub.fieldname, sub.text) for sub in subs)
        avg_length = sum(parent.avg_field_length(f) or 0.0 for f in ranking.BASELINE_FIELDS)
        union = make_binary_tree(matching.UnionMatcher, children)
        return BaselineMatcher(union, searcher, ranking.idf(doc_freq, parent.doc_count_all()),
                               avg_length or 1.0)


class BaselineMatcher(WrappingMatcher):
    """Scores the current document with ``ranking.bm25`` on the summed fields."""

    def __init__(self, child: Any, searcher: Any, idf: float, avg_length: float) -> None:
        super().__init__(child)
        self._searcher, self._idf, self._avg_length = searcher, idf, avg_length

    def _replacement(self, newchild: Any) -> BaselineMatcher:
        return BaselineMatcher(newchild, self._searcher, self._idf, self._avg_length)

    def supports_block_quality(self) -> bool:
        return False

    def score(self) -> float:
        docnum = self.child.id()
        tf = sum(leaf.weight() for leaf in self.child.term_matchers()
                 if leaf.is_active() and leaf.id() == docnum)
        length = sum(self._searcher.doc_field_length(docnum, field, 0) or 0
                     for field in ranking.BASELINE_FIELDS)
        return ranking.bm25(self._idf, tf, length, self._avg_length)


def baseline_query(text: str, schema: Any) -> wq.Query:
    """Plain BM25: the text's distinct words, each a BaselineWord, OR-ed together."""
    analyzer = schema["synopsis"].analyzer
    words = dict.fromkeys(token.text for token in analyzer(text))
    clauses = [BaselineWord([wq.Term(field, word) for field in ranking.BASELINE_FIELDS])
               for word in words]
    return wq.Or(clauses) if clauses else wq.NullQuery


def prune_keywords(q: wq.Query, reader: Any, limit: int) -> wq.Query:
    """Bound the work of very long queries: repeated clauses once, then the ``limit`` rarest.

    Each Keywords group keeps at most ``limit`` clauses, those whose words occur in
    the fewest films (highest idf), the way Elasticsearch's more_like_this caps
    its query terms; rare words carry nearly all of a long query's BM25 score.
    """
    if isinstance(q, Keywords):
        unique = list({repr(sub): sub for sub in q.subqueries}.values())
        if len(unique) > limit:
            frequency = {id(sub): _doc_frequency(sub, reader) for sub in unique}
            found = [sub for sub in unique if frequency[id(sub)]]  # words in no film add nothing
            unique = sorted(found, key=lambda sub: frequency[id(sub)])[:limit] or unique[:limit]
        if len(unique) != len(q.subqueries):
            q = copy.copy(q)
            q.subqueries = unique
        return q
    if isinstance(q, wq.compound.BinaryQuery):  # AndNot, AndMaybe: prune the positive side
        q = copy.copy(q)
        q.a = prune_keywords(q.a, reader, limit)
        q.subqueries = (q.a, q.b)
    elif isinstance(q, wq.compound.CompoundQuery):
        q = copy.copy(q)
        q.subqueries = [prune_keywords(sub, reader, limit) for sub in q.subqueries]
    return q


def _doc_frequency(q: wq.Query, reader: Any) -> int:
    """The largest number of films any of the query's terms occurs in."""
    return max((reader.doc_frequency(field, text) for field, text in q.iter_all_terms()),
               default=0)
