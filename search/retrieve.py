"""Retrieve: the second stage of a search, from a ``QueryPlan`` to the matching films.

``plan_query(plan, schema, parser)`` builds the Whoosh query of a plan: its words as
BM25F keyword clauses (``bm25f.Keywords`` of ``FieldedWord``), its syntax, if
the user meant any, through the query parser (``search.query``); then weights
it for what it is (a description or keywords, filler words, year and genre
hints). ``fit_to_index`` adjusts it to the index being searched: names count
only as names, very long descriptions keep their rarest words. ``matches``
runs it within the search's time budget and returns every (document, score).

Ranking the matches (relevance, a sort, or hybrid fusion) and highlighting
the hits are the searcher's next stages.
"""

from __future__ import annotations

import copy
import heapq
import itertools
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from whoosh import collectors
from whoosh import query as wq

from . import memo, ranking, term_scores
from .bm25f import FieldedWord, Keywords, NameMatch, ScoredOr, all_terms, prune_keywords
from .ordering import sort_key
from .query import bound_query
from .term_scores import Budget, SearchTimeout, doc_frequency, scored_matches
from .understand import QueryPlan

if TYPE_CHECKING:
    from whoosh.qparser import QueryParser

#: Fields holding people's names: a free word counts in them only as a name.
NAME_FIELDS = ("director", "cast")
#: A free word is a name when it is in at least this many times as many films' names
#: as films' synopses (``is_name``).
NAME_EVIDENCE = 2.0
#: Seconds past the deadline (at most a tenth of the time limit) for collecting the
#: matches scored before it.
COLLECT_GRACE = 0.25


def plan_query(plan: QueryPlan, schema: Any, parser: Callable[[], QueryParser]) -> wq.Query:
    """The query of ``plan`` (not yet bounded or filtered); QueryError for bad syntax.
    ``parser()`` gives the query parser, asked for only when the plan has syntax: a
    search of plain words neither makes one nor loads Whoosh's parser."""
    if plan.syntax is None:
        return _weighted(words_query(plan.words, schema), plan)
    from .parser import parse_query  # here: Whoosh's query parser loads for syntax only

    return _weighted(parse_query(plan.syntax, parser()), plan)


def words_query(words: tuple[str, ...] | list[str], schema: Any) -> wq.Query:
    """Free words as the parser would make them: each distinct word a FieldedWord over
    ``ranking.FIELD_WEIGHTS``'s fields, analysed by each field's analyzer, OR-ed in a
    Keywords group (a few times faster than parsing)."""
    clauses = []
    for word in dict.fromkeys(w.lower() for w in words):
        clause = memo.ANYWHERE.get(("word", word), schema, partial(_word_clause, word, schema))
        if clause is not None:
            clauses.append(clause)
    if not clauses:  # nothing but stop words (or nothing at all)
        return wq.NullQuery if words else wq.Every()
    return clauses[0] if len(clauses) == 1 else Keywords(clauses)


def _word_clause(word: str, schema: Any) -> FieldedWord | None:
    terms: list[wq.Query] = []
    for field, weight in ranking.FIELD_WEIGHTS.items():
        tokens = analysed(schema[field].analyzer, word)
        if len(tokens) == 1:
            terms.append(wq.Term(field, tokens[0], boost=weight))
        elif tokens:
            terms.append(wq.Phrase(field, list(tokens), boost=weight))
    if not terms:
        return None
    clause = FieldedWord(terms)
    clause.word = word
    return clause


#: (id of an analyzer, word) -> the word's tokens; the analyzers themselves, by id, so
#: that an id stays theirs while their words are kept.
_ANALYSED: dict[tuple[int, str], tuple[str, ...]] = {}
_ANALYZERS: dict[int, Any] = {}
#: Most words whose analysis is remembered (then it starts again).
ANALYSED_KEPT = 100_000


def analysed(analyzer: Any, word: str) -> tuple[str, ...]:
    """The tokens ``analyzer`` makes of a query ``word``, remembered: stemming a
    description's sixty words through three analyzers took milliseconds a query."""
    key = (id(analyzer), word)
    tokens = _ANALYSED.get(key)
    if tokens is None:
        if len(_ANALYSED) >= ANALYSED_KEPT:
            _ANALYSED.clear()
            _ANALYZERS.clear()
        texts = getattr(analyzer, "texts", None)  # analysis.FusedAnalyzer's, without tokens
        tokens = texts(word) if texts is not None else None
        if tokens is None:
            tokens = tuple(token.text for token in analyzer(word, mode="query"))
        _ANALYSED[key] = tokens
        _ANALYZERS[id(analyzer)] = analyzer  # after: a clear in between leaves no orphan
    return tokens


def _weighted(q: wq.Query, plan: QueryPlan) -> wq.Query:
    """Weight a keyword query for what it is: descriptions get VERBOSE_FIELD_WEIGHTS,
    filler words FILLER_WEIGHT, and the plan's year and genre hints are attached.

    Only a query whose top is a Keywords group is changed; see ``ranking``.
    """
    if not isinstance(q, Keywords):
        return q
    q = copy.copy(q)
    verbose = len(q.subqueries) > ranking.COORDINATION_MAX_CLAUSES
    q.subqueries = [
        memo.ANYWHERE.get(("weighted", verbose), sub, partial(_weighted_clause, sub, verbose))
        for sub in q.subqueries
    ]
    q.hints = plan.hints
    q.words = plan.words
    return q


def _weighted_clause(q: wq.Query, verbose: bool) -> wq.Query:
    if verbose:
        q = _reweigh_fields(q, ranking.VERBOSE_FIELD_WEIGHTS)
    if ranking.FILLER_WEIGHT != 1.0:
        q = _weigh_filler(q)
    return q


def _reweigh_fields(q: wq.Query, weights: dict[str, float]) -> wq.Query:
    if not isinstance(q, FieldedWord):
        return q
    q = copy.copy(q)
    subqueries = []
    for term in q.subqueries:
        weight = weights.get(getattr(term, "fieldname", ""))
        if weight is not None:
            term = copy.copy(term)
            term.boost = weight  # type: ignore[attr-defined]  # every field clause has a boost
        subqueries.append(term)
    q.subqueries = subqueries
    return q


def _weigh_filler(q: wq.Query) -> wq.Query:
    if isinstance(q, FieldedWord) and q.word in ranking.FILLER_WORDS:
        q = copy.copy(q)
        q.boost = ranking.FILLER_WEIGHT
    return q


def fit_to_index(q: wq.Query, reader: Any) -> wq.Query:
    """``q`` adjusted to the index: free words count in director and cast only where
    they are names there (``is_name``), whole names typed in a row match as names
    (``NameMatch``), and a description keeps its ``ranking.MAX_KEYWORDS`` rarest words."""
    term_scores.doc_frequencies(reader, _looked_up(q, reader))
    q = _names_as_names(q, reader)
    return prune_keywords(q, reader, ranking.MAX_KEYWORDS)


def _looked_up(q: wq.Query, reader: Any) -> Iterator[tuple[str, str]]:
    """The (field, word) pairs whose document frequencies fitting ``q`` looks up (those
    of a keyword clause only the first time it is fitted to this index)."""
    known = memo.in_index(reader)
    for clause in q.subqueries if isinstance(q, Keywords) else [q]:
        if not isinstance(clause, FieldedWord) or known.first("looked up", clause):
            yield from all_terms(clause)
    words = getattr(q, "words", ())
    if words:
        analyzer = reader.schema["cast"].analyzer
        for word in dict.fromkeys(words):
            if known.first(("name", word), analyzer):  # a word of a possible whole name
                for token in analysed(analyzer, word)[:1]:
                    for field in NAME_FIELDS:
                        yield field, token


def is_name(reader: Any, word: FieldedWord) -> bool:
    """Whether a free word is a person's name in this index rather than a common word:
    it is in NAME_EVIDENCE times as many films' names as films' synopses (``hanks``,
    ``nolan``; not ``whale``, though James Whale directed ten films, nor ``king``)."""
    in_names = in_text = 0
    for term in word.subqueries:
        if not isinstance(term, wq.Term):
            continue
        if term.fieldname in NAME_FIELDS:
            in_names = max(in_names, doc_frequency(reader, term.fieldname, term.text))
        elif term.fieldname == "synopsis":
            in_text = doc_frequency(reader, "synopsis", term.text)
    return in_names > 0 and in_names >= NAME_EVIDENCE * in_text


def _names_as_names(q: wq.Query, reader: Any) -> wq.Query:
    if isinstance(q, FieldedWord):
        return memo.in_index(reader).get("names", q, partial(_fitted_word, q, reader))
    if isinstance(q, wq.compound.BinaryQuery):  # AndNot, AndMaybe: the positive side
        q = copy.copy(q)
        q.a = _names_as_names(q.a, reader)
        q.subqueries = (q.a, q.b)
    elif isinstance(q, wq.compound.CompoundQuery):
        q = copy.copy(q)
        q.subqueries = [_names_as_names(sub, reader) for sub in q.subqueries]
        if isinstance(q, Keywords):
            q.subqueries += _whole_names(q.words, reader)
    return q


def _fitted_word(word: FieldedWord, reader: Any) -> wq.Query:
    return word if is_name(reader, word) else _without_names(word)


def _without_names(word: FieldedWord) -> wq.Query:
    word = copy.copy(word)
    word.subqueries = [
        sub for sub in word.subqueries if getattr(sub, "fieldname", None) not in NAME_FIELDS
    ]
    return word


def _whole_names(words: tuple[str, ...], reader: Any) -> list[wq.Query]:
    """A NameMatch for each run of two typed words that is (part of) a name in the index
    ("james whale", "marion cotillard"), each pair once."""
    analyzer = reader.schema["cast"].analyzer
    tokens = [next(iter(analysed(analyzer, word)), None) for word in words]
    named = {  # the name fields each typed word is in (most words are in none)
        token: [field for field in NAME_FIELDS if doc_frequency(reader, field, token)]
        for token in set(tokens)
        if token is not None
    }
    pairs = dict.fromkeys(
        (a, b)
        for a, b in itertools.pairwise(tokens)
        if a is not None and b is not None and a != b and named[a] and named[b]
    )
    found: list[wq.Query] = []
    for a, b in pairs:
        phrases: list[wq.Query] = [
            wq.Phrase(field, [a, b], boost=ranking.FIELD_WEIGHTS[field])
            for field in named[a]
            if field in named[b]
        ]
        if phrases:
            found.append(NameMatch(phrases))
    return found


def filtered(q: wq.Query, filters: wq.Query | None) -> wq.Query:
    """``q`` restricted to the films ``filters`` match, with its costs bounded."""
    if filters is not None:
        q = filters if isinstance(q, wq.Every) else wq.And([q, filters])
    return bound_query(q)


class BudgetCollector(collectors.WrappingCollector):
    """Stops collecting (``collectors.TimeLimit``) when the search's budget has run out.

    Whoosh's TimeLimitCollector would do this with a timer thread per search
    and, by default, a SIGALRM handler that raises wherever the main thread is
    (also inside filmsearch's caches) and replaces the program's own handler;
    this one looks at the clock between matches, as the scorers do between
    posting blocks. Matches already scored when the time ran out (filmsearch's
    scorers hand over what they had) are still collected for ``COLLECT_GRACE``
    seconds.
    """

    def __init__(self, child: Any, budget: Budget) -> None:
        super().__init__(child)
        self.budget = budget
        self.grace = min(COLLECT_GRACE, 0.1 * (budget.seconds or 0.0))

    def collect_matches(self) -> None:
        child = self.child
        for count, sub_docnum in enumerate(child.matches()):
            if count % 64 == 0 and self.budget.overdue(self.grace):
                self.budget.timed_out = True
                raise collectors.TimeLimit
            child.collect(sub_docnum)


class Matches:
    """Every film a query matched, in no particular order: (document number, score)
    pairs, or two arrays when the query was scored with numpy (``array_scores``)."""

    def __init__(self, pairs: list[tuple[int, float]] | None = None, arrays: Any = None) -> None:
        self._pairs = pairs
        self.arrays: tuple[Any, Any] | None = arrays

    def __len__(self) -> int:
        return len(self.arrays[0]) if self.arrays is not None else len(self._pairs or ())

    def pairs(self) -> list[tuple[int, float]]:
        """Every (document number, score)."""
        if self._pairs is None:
            arrays: Any = self.arrays  # set when the pairs are not
            docs, scores = arrays
            self._pairs = list(zip(docs.tolist(), scores.tolist(), strict=True))
        return self._pairs

    def docnums(self) -> list[int]:
        """Every document number."""
        if self.arrays is not None:
            return list(self.arrays[0].tolist())
        return [docnum for docnum, _ in self.pairs()]

    def contenders(self, count: int) -> list[tuple[int, float]]:
        """The (document number, score) pairs that may be among the ``count`` best:
        every match scoring at least the ``count``-th best score, in no order."""
        if self.arrays is not None:
            docs, scores = self._contending(count)
            return list(zip(docs.tolist(), scores.tolist(), strict=True))
        pairs = self.pairs()
        if 0 < count < len(pairs):
            cutoff = heapq.nlargest(count, (score for _, score in pairs))[-1]
            return [pair for pair in pairs if pair[1] >= cutoff]
        return list(pairs)

    def best(self, count: int, id_rank: list[int]) -> list[tuple[int, float]]:
        """The ``count`` best (document number, score) pairs, by score, ties by
        ``id_rank[docnum]`` (``ordering.sort_key("relevance", ...)``)."""
        if self.arrays is None:
            return heapq.nsmallest(count, self.pairs(), key=sort_key("relevance", id_rank, None))
        import numpy as np

        if count <= 0:
            return []
        docs, scores = self._contending(count)
        order = np.lexsort((_rank_array(id_rank)[docs], -scores))[:count]
        return list(zip(docs[order].tolist(), scores[order].tolist(), strict=True))

    def _contending(self, count: int) -> tuple[Any, Any]:
        """The arrays of the matches scoring at least the ``count``-th best score."""
        import numpy as np

        docs, scores = self.arrays or (np.zeros(0, dtype=np.int64), np.zeros(0))
        if 0 < count < len(docs):
            threshold = np.partition(scores, len(scores) - count)[len(scores) - count]
            keep = scores >= threshold
            docs, scores = docs[keep], scores[keep]
        return docs, scores


#: The last id_rank list seen, and it as an array (one tuple, replaced whole: threads
#: may search at once).
_RANKS: tuple[Any, Any] = (None, None)


def _rank_array(id_rank: list[int]) -> Any:
    global _RANKS
    import numpy as np

    cached = _RANKS
    if cached[0] is not id_rank:
        cached = _RANKS = (id_rank, np.asarray(id_rank, dtype=np.int64))
    return cached[1]


def matches(searcher: Any, q: wq.Query, budget: Budget) -> Matches:
    """Every film that matches ``q``, with its score.

    When ``budget`` runs out, what was found by then (``budget.timed_out`` is set).
    """
    if isinstance(q, wq.Every) and q.fieldname in (None, "", "*"):  # every film, one score
        return every_film(searcher, float(q.boost))
    if isinstance(q, (ScoredOr, FieldedWord)):  # keywords only: no need for a collector
        found = scored_matches(q, searcher)
        if isinstance(found, tuple):
            return Matches(arrays=found)
        if found is not None:
            return Matches(found)
    collector = BudgetCollector(collectors.UnlimitedCollector(), budget)
    try:
        searcher.search_with_collector(q, collector)
    except (collectors.TimeLimit, SearchTimeout):
        budget.timed_out = True
    results = collector.results()
    return Matches([(docnum, score or 0.0) for score, docnum in results.top_n])


def every_film(searcher: Any, score: float) -> Matches:
    """Every film of the index, each scored ``score``, as Whoosh's ``Every()`` matches them
    (a query of no words), read a segment at a time instead of walking a matcher."""
    if term_scores.arrays_on():
        import numpy as np

        from .array_scores import live

        leaves = searcher.leaf_searchers()
        docs = [np.flatnonzero(live(leaf.reader())) + offset for leaf, offset in leaves]
        found = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
        return Matches(arrays=(found, np.full(len(found), score)))
    pairs = []
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
        pairs += [
            (doc + offset, score) for doc in range(reader.doc_count_all()) if doc not in deleted
        ]
    return Matches(pairs)


def terms_by_field(q: wq.Query, fields: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """The query's words in each of ``fields``, in their analyzed (stemmed) form (for
    highlighting)."""
    found: dict[str, set[str]] = {}
    for field, text in all_terms(q):
        if field in fields:
            word: str | bytes = text  # whoosh declares str, but gives bytes for some queries
            found.setdefault(field, set()).add(
                word.decode("utf-8") if isinstance(word, bytes) else word
            )
    return {field: frozenset(words) for field, words in found.items()}
