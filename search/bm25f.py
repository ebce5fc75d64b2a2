"""True BM25F for Whoosh: one query word scored once over all the fields it occurs in.

Whoosh's ``BM25F`` model scores each field separately and the parser adds the
field scores up, so a word found in the title, the synopsis and the wiki text
counts three times, and a film that matches one word everywhere beats the film
that matches every word of the query. Real BM25F (Robertson & Zaragoza) first
adds up the word's length-normalised, weighted frequency over the fields and
saturates once (see ``ranking.bm25f``).

``FieldedWord`` is the query node for one word searched in several fields (the
parser builds one per keyword), ``Keywords`` the OR of a query's words; both
are scored a posting list at a time, with numpy over the segment's postings
arrays (``array_scores``) when the search allows it and the segment has them,
else in Python (``term_scores``), to the same scores.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar, cast

from whoosh import query as wq

from . import memo, ranking, term_scores
from .hints import Hints


class FieldedWord(wq.compound.CompoundQuery):
    """One word in several fields (each a ``Term`` whose boost is the field weight);
    ``word`` is the word as typed, in lower case.

    What is worked out from the node alone (``only_terms``, ``word_key``, its text) is
    kept on it: a description's sixty words are the same nodes from one query to the
    next (``retrieve.words_query``), and nodes are never changed once built; a copy
    (which is how every step adjusts one) starts without them."""

    JOINT = " | "
    word = ""

    def __copy__(self) -> FieldedWord:
        copied = type(self).__new__(type(self))
        copied.__dict__.update(
            (name, value) for name, value in self.__dict__.items() if name not in _DERIVED
        )
        return copied

    def _derived(self, name: str, compute: Callable[[], T]) -> T:
        found: T = self.__dict__.get(name, _UNSET)
        if found is _UNSET:
            found = self.__dict__[name] = compute()
        return found

    def only_terms(self) -> bool:
        """Whether each field clause is a single term (no phrase or wildcard)."""
        return self._derived(
            "_only_terms", lambda: all(isinstance(sub, wq.Term) for sub in self.subqueries)
        )

    def word_key(self) -> tuple[Any, ...]:
        """``term_scores.word_key`` of the word's terms and boost (only_terms)."""
        terms = cast("list[wq.Term]", self.subqueries)
        return self._derived("_word_key", partial(term_scores.word_key, terms, self.boost))

    def __str__(self) -> str:  # a search's Results.parsed: many words, the same from query to query
        return self._derived("_text", super().__str__)

    def __repr__(self) -> str:
        return self._derived("_repr", super().__repr__)

    def scores(self, searcher: Any, context: Any) -> dict[int, float]:
        """BM25F score of every film of the segment that contains the word."""
        if not self.only_terms():
            # Phrases or wildcards inside: plain sum of the parts' scores.
            return term_scores.matcher_scores(
                wq.Or(self.subqueries, boost=self.boost), searcher, context
            )
        terms = cast("list[wq.Term]", self.subqueries)  # checked just above
        return term_scores.word_scores(searcher, terms, self.boost)

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        if self.only_terms() and term_scores.arrays_on():
            from . import array_scores  # imports numpy

            terms = cast("list[wq.Term]", self.subqueries)
            try:
                found = array_scores.word_scores(searcher, terms, self.boost)
            except term_scores.SearchTimeout:
                found = array_scores.EMPTY
            if found is not None:
                return array_scores.live_matcher(found, searcher.reader())
        return _scored_in_time(self, searcher, context)


#: What FieldedWord keeps on itself, and a copy leaves out.
_DERIVED = frozenset({"_only_terms", "_word_key", "_text", "_repr"})
_UNSET: Any = object()
T = TypeVar("T")


def all_terms(q: wq.Query) -> list[tuple[str, Any]]:
    """``list(q.iter_all_terms())``: the (field, word) of every term of the query tree,
    phrases' words too, with a FieldedWord's terms read from it directly (Whoosh walks
    the tree with a generator per node and level, about 0.3 ms for a description)."""
    found: list[tuple[str, Any]] = []
    pending = [q]
    while pending:
        node = pending.pop()
        if isinstance(node, FieldedWord) and node.only_terms():
            found += [(term.fieldname, term.text) for term in node.subqueries]  # type: ignore[attr-defined]  # Terms
        elif node.is_leaf():
            if node.has_terms():
                found += node.terms(phrases=True)
        else:
            pending += reversed(list(node.children()))  # (popped in the tree's order)
    return found


class ScoredOr(wq.Or):
    """OR whose score is the sum of its clauses' scores, computed a clause at a time.

    Clauses with a ``scores`` method (FieldedWord, BaselineWord) read their
    posting lists directly; others (phrases, field clauses, groups) are read
    through their matchers. ``combine`` may rescale the totals.
    """

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        if term_scores.arrays_on():
            from . import array_scores  # imports numpy

            if array_scores.segment_postings(searcher.reader()) is not None:
                return self._array_matcher(subs, searcher, context)
        totals: defaultdict[int, float] = defaultdict(float)
        matched: defaultdict[int, float] = defaultdict(float)
        for sub in subs:
            try:
                scores = clause_scores(sub, searcher, context)
            except term_scores.SearchTimeout:
                break  # out of time: rank by the clauses scored so far (results flagged partial)
            share = clause_share(sub)
            for doc, score in scores.items():
                totals[doc] += score
                matched[doc] += share
        self.combine(totals, matched, subs, searcher, context)
        return term_scores.scored_docs(totals, searcher.reader())

    def _array_matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        """``_matcher`` over the segment's postings arrays (``array_scores``)."""
        from . import array_scores

        totals, hit = self._array_totals(array_scores.WordArrays([(searcher, 0)]), subs, context)
        return array_scores.scored_docs(totals, hit, searcher.reader())

    def index_arrays(self, searcher: Any, context: Any) -> tuple[Any, Any] | None:
        """Every (document number, score) of the whole index as two arrays, computed over
        all its segments at once (one look-up per clause, not one per segment and clause)
        while ``term_scores.arrays_on`` and every segment has postings arrays; else None
        (then each segment is scored through ``_matcher``)."""
        from . import array_scores

        leaves = searcher.leaf_searchers()
        if len(self.subqueries) < 2 or any(
            array_scores.segment_postings(leaf.reader()) is None for leaf, _ in leaves
        ):
            return None
        words = array_scores.WordArrays(leaves, searcher.reader())
        totals, hit = self._array_totals(words, list(self.subqueries), context)
        return array_scores.live_scores(totals, hit, searcher.reader(), leaves)

    def _array_totals(self, words: Any, subs: list[wq.Query], context: Any) -> tuple[Any, Any]:
        """Each film's total over the segments of ``words`` (an ``array_scores.WordArrays``),
        and which films any clause matched."""
        import numpy as np

        leaves = words.leaves
        size = sum(leaf.reader().doc_count_all() for leaf, _ in leaves)
        docs, scores, shares = [], [], []
        try:
            for first in range(0, len(subs), CLAUSES_AT_ONCE):  # out of time: those scored
                group = subs[first : first + CLAUSES_AT_ONCE]
                plain = [
                    sub if isinstance(sub, FieldedWord) and sub.only_terms() else None
                    for sub in group
                ]
                batch = iter(
                    words.scores(
                        [
                            (cast("list[wq.Term]", word.subqueries), word.boost, word.word_key())
                            for word in plain
                            if word is not None
                        ]
                    )
                )
                for sub, word in zip(group, plain, strict=True):
                    found = next(batch) if word is not None else None
                    if found is None:
                        found = words.from_clause(partial(clause_scores, sub, context=context))
                    docs.append(found[0])
                    scores.append(found[1])
                    shares.append(clause_share(sub))
        except term_scores.SearchTimeout:
            pass
        # each film's clause scores added up in clause order, as _matcher does: long clauses
        # a clause at a time (np.add.at: no joined arrays, faster than bincount over them),
        # many short ones all at once (np.add.at's cost per call would dominate)
        postings = sum(len(found_docs) for found_docs in docs)
        parts = docs  # the documents of the clauses, or all of them joined
        if postings >= CLAUSE_POSTINGS_ALONE * len(docs):
            totals = np.zeros(size)
            for found_docs, found_scores in zip(docs, scores, strict=True):
                np.add.at(totals, found_docs, found_scores)
        else:
            parts = [np.concatenate(docs or [np.zeros(0, dtype=np.int64)])]
            totals = np.bincount(parts[0], np.concatenate(scores or [np.zeros(0)]), minlength=size)
            totals = totals.astype(float, copy=False)
        clauses = None  # each film's matched clauses, bit i for clause i (few clauses only)
        if len(subs) <= ranking.COORDINATION_MAX_CLAUSES:
            kind = np.min_scalar_type(2 ** len(docs) - 1)
            clauses = np.zeros(size, dtype=kind)
            for number, found_docs in enumerate(docs):  # each film once per clause
                np.add.at(clauses, found_docs, kind.type(1 << number))
            hit = clauses > 0
        else:
            hit = np.zeros(size, dtype=bool)
            for found_docs in parts:
                hit[found_docs] = True
        hinted = self._hinted_arrays(leaves, context)
        self.combine_arrays(totals, hit, clauses, shares, subs, hinted)
        return totals, hit

    def combine(
        self,
        totals: dict[int, float],
        matched: dict[int, float],
        subs: list[wq.Query],
        searcher: Any,
        context: Any,
    ) -> None:
        """Adjust ``totals`` in place; ``matched`` sums the boosts of the clauses each
        film matched."""

    def combine_arrays(
        self,
        totals: Any,
        hit: Any,
        clauses: Any,
        shares: list[float],
        subs: list[wq.Query],
        hinted: list[tuple[Any, float]],
    ) -> None:
        """``combine`` over arrays: ``hit`` marks the films any clause matched, ``clauses``
        has bit i set for the films clause i matched (None past
        ``ranking.COORDINATION_MAX_CLAUSES`` clauses), ``shares`` is each scored clause's
        ``clause_share``, ``hinted`` the films of each hint, with its boost."""

    def _hinted_arrays(
        self, leaves: list[tuple[Any, int]], context: Any
    ) -> list[tuple[Any, float]]:
        """No hints (see Keywords)."""
        return []


class Keywords(ScoredOr):
    """The OR of a query's keyword clauses; short queries get a coordination factor.

    ``score = sum of clause scores * ranking.coordination(matched, clauses)``
    (Lucene's classic coordination factor, clauses counted by their boosts, so
    filler words count for little) when the query has at most
    ``ranking.COORDINATION_MAX_CLAUSES`` clauses, so that a film matching every
    word of a keyword query comes first. Verbose descriptions are left to BM25F.
    """

    #: The year and genre hints of the query text, and its words in order (``retrieve``).
    hints = Hints()
    words: tuple[str, ...] = ()

    def combine(
        self,
        totals: dict[int, float],
        matched: dict[int, float],
        subs: list[wq.Query],
        searcher: Any,
        context: Any,
    ) -> None:
        factor = self._coordination(subs)
        if factor is not None:
            for doc, share in matched.items():
                totals[doc] *= factor(share)
        boosted: set[int] = set()
        for docs, boost in self._hinted(searcher, context):
            for doc in docs:
                if doc in totals and doc not in boosted:
                    totals[doc] *= 1.0 + boost
                    boosted.add(doc)

    def combine_arrays(
        self,
        totals: Any,
        hit: Any,
        clauses: Any,
        shares: list[float],
        subs: list[wq.Query],
        hinted: list[tuple[Any, float]],
    ) -> None:
        import numpy as np

        factor = self._coordination(subs)
        if factor is not None and clauses is not None:
            by_clauses = [factor(_share_sum(shares, bits)) for bits in range(2 ** len(shares))]
            by_clauses[0] = 1.0  # films no clause matched: left as they are (0)
            totals *= np.array(by_clauses)[clauses]
        unboosted = hit.copy()
        for docs, boost in hinted:
            boosted = np.zeros_like(hit)
            boosted[docs] = True
            boosted &= unboosted
            totals[boosted] *= 1.0 + boost
            unboosted &= ~boosted

    def _hinted_arrays(
        self, leaves: list[tuple[Any, int]], context: Any
    ) -> list[tuple[Any, float]]:
        import numpy as np

        from . import array_scores

        return [
            (
                np.concatenate(
                    [
                        array_scores.query_docs(hinted, leaf, context) + offset
                        for leaf, offset in leaves
                    ]
                ),
                boost,
            )
            for hinted, boost in self._hints()
        ]

    def _coordination(self, subs: list[wq.Query]) -> Callable[[float], float] | None:
        """The coordination factor of a film by the boosts of the clauses it matched;
        None for a description (more than COORDINATION_MAX_CLAUSES clauses: 1)."""
        if len(subs) > ranking.COORDINATION_MAX_CLAUSES:
            return None
        # filler words count for little, whole names not at all (a bonus)
        weight = sum(clause_share(sub) for sub in subs) or 1.0
        return lambda share: ranking.coordination(share, weight, len(subs))

    def _hinted(self, searcher: Any, context: Any) -> Iterator[tuple[list[int], float]]:
        """The films of the segment in each hinted year range and genre, with its boost."""
        for hinted, boost in self._hints():
            yield term_scores.query_docs(hinted, searcher, context), boost

    def _hints(self) -> list[tuple[wq.Query, float]]:
        """A query for each hinted year range and genre, with its boost."""
        boosts: list[tuple[wq.Query, float]] = [
            (wq.NumericRange("year", low, high), ranking.YEAR_HINT_BOOST)
            for low, high in self.hints.years
        ]
        boosts += [
            (wq.Term("genre", genre), ranking.GENRE_HINT_BOOST) for genre in self.hints.genres
        ]
        return [(hinted, boost) for hinted, boost in boosts if boost]


#: Clauses whose words are scored together (``array_scores.WordArrays``); a search that
#: runs out of time keeps the groups scored before.
CLAUSES_AT_ONCE = 32
#: A query's clauses' scores are added to the totals a clause at a time when they have this
#: many postings each on average, else all at once.
CLAUSE_POSTINGS_ALONE = 1 << 13


def _share_sum(shares: list[float], bits: int) -> float:
    """The sum of the shares of the clauses whose bits are set, in clause order (as
    ``_matcher`` adds them up film by film)."""
    total = 0.0
    for number, share in enumerate(shares):
        if bits >> number & 1:
            total += share
    return total


def boost_of(q: wq.Query) -> float:
    """A clause's boost (whoosh declares it on most query classes, not on Query)."""
    return float(getattr(q, "boost", 1.0))


def clause_scores(q: wq.Query, searcher: Any, context: Any) -> dict[int, float]:
    """A clause's score of each film of the segment: read from its posting lists where it
    can (``scores``), else from its matcher."""
    if hasattr(q, "scores"):
        return q.scores(searcher, context)  # type: ignore[no-any-return]
    return term_scores.matcher_scores(q, searcher, context)


def clause_share(q: wq.Query) -> float:
    """What a clause counts for in the coordination factor: its boost (filler words
    little), nothing for a whole name (a bonus)."""
    return 0.0 if isinstance(q, NameMatch) else boost_of(q)


class NameMatch(wq.Or):
    """Words typed in a row that are a person's name in director or cast (one phrase per
    field, each weighted as its field): a bonus, not counted in the coordination factor."""

    def scores(self, searcher: Any, context: Any) -> dict[int, float]:
        """Each film's score, from the phrases' matchers, which are not even made in a
        segment where no film has both words in one field (most typed pairs: the
        postings arrays tell at once)."""
        if term_scores.arrays_on() and not self._may_match(searcher.reader()):
            return {}
        return term_scores.matcher_scores(self, searcher, context)

    def _may_match(self, reader: Any) -> bool:
        from . import array_scores  # imports numpy

        return any(
            not isinstance(phrase, wq.Phrase)
            or array_scores.share_a_film(reader, phrase.fieldname, phrase.words) is not False
            for phrase in self.subqueries
        )


class BaselineWord(wq.compound.CompoundQuery):
    """One word scored with plain BM25 over ``ranking.BASELINE_FIELDS`` read as one text."""

    JOINT = " + "

    def scores(self, searcher: Any, context: Any) -> dict[int, float]:
        """Plain BM25 score of every film of the segment that contains the word."""
        terms = cast("list[wq.Term]", self.subqueries)  # the baseline parser makes Terms
        return term_scores.baseline_word_scores(searcher, terms)

    def _matcher(self, subs: list[wq.Query], searcher: Any, context: Any) -> Any:
        return _scored_in_time(self, searcher, context)


def _scored_in_time(q: FieldedWord | BaselineWord, searcher: Any, context: Any) -> Any:
    """A matcher over ``q.scores``; nothing if the search's time ran out (flagged partial)."""
    try:
        scores = q.scores(searcher, context)
    except term_scores.SearchTimeout:
        scores = {}
    return term_scores.scored_docs(scores, searcher.reader())


def baseline_query(text: str, schema: Any) -> wq.Query:
    """Plain BM25: the text's distinct words, each a BaselineWord, OR-ed together."""
    analyzer = schema["synopsis"].analyzer
    words = dict.fromkeys(token.text for token in analyzer(text))
    clauses = [
        BaselineWord([wq.Term(field, word) for field in ranking.BASELINE_FIELDS]) for word in words
    ]
    return ScoredOr(clauses) if clauses else wq.NullQuery


def prune_keywords(q: wq.Query, reader: Any, limit: int) -> wq.Query:
    """Bound the work of very long queries: repeated clauses once, then the ``limit`` rarest.

    Each Keywords group keeps at most ``limit`` clauses, those whose words occur in
    the fewest films (highest idf), the way Elasticsearch's more_like_this caps
    its query terms; rare words carry nearly all of a long query's BM25 score.
    """
    if isinstance(q, Keywords):
        unique = list(
            {repr(sub): sub for sub in q.subqueries}.values()  # a FieldedWord's is kept
        )
        if len(unique) > limit:
            known = memo.in_index(reader)
            frequency = {
                id(sub): known.get("df", sub, partial(_doc_frequency, sub, reader))
                for sub in unique
            }
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
    return max(
        (term_scores.doc_frequency(reader, field, text) for field, text in all_terms(q)),
        default=0,
    )
