"""FilmSearch: open an index, search it, fetch films, report statistics.

    with FilmSearch("my-index") as fs:
        for hit in fs.search("whale trainer accident", limit=5):
            print(hit.rank, hit.title, hit.snippets["synopsis"].text)

This is the only module that holds a Whoosh searcher; it is reused between
queries, refreshed when the index has a newer commit, and closed on exit.

Each search has a time budget (``time_limit``, ``DEFAULT_TIME_LIMIT`` seconds):
when it runs out, the films found so far are returned with ``partial=True``,
or, if none were found, a QueryError says the query took too long.
"""

from __future__ import annotations

import dataclasses
import heapq
import importlib.util
import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing
from typing import TYPE_CHECKING, Any, TypeVar

from whoosh import query as wq

from filmsearch.index.documents import Film
from filmsearch.index.errors import (
    FilmSearchError,
    IndexDamagedError,
    SemanticUnavailableError,
    reading_index,
)
from filmsearch.index.manifest import (
    VECTORS_META,
    has_vectors,
    open_index,
    read_manifest,
    schema_stemmer,
)
from filmsearch.index.schema import document_to_film

from . import ranking, retrieve
from .bm25f import FieldedWord, ScoredOr, baseline_query
from .facets import check_facets, count_facets
from .highlight import make_snippet
from .ordering import FilmTable, check_sort, sort_key
from .query import (
    DecadeArg,
    NamesArg,
    QueryError,
    RangesArg,
    bound_query,
    filter_query,
)
from .results import SNIPPET_FIELDS, Hit, Results
from .retrieve import filtered, fit_to_index, plan_query, terms_by_field
from .similar import FilmNotFoundError, similar_query
from .spelling import MAX_SUGGESTIONS, SUGGEST_BELOW, Speller, Vocabulary, query_spans
from .term_scores import (
    SearchTimeout,
    arrays_enabled,
    check_time,
    time_budget,
)
from .understand import QueryPlan, understand

if TYPE_CHECKING:  # pragma: no cover  (numpy: the semantic extra)
    from whoosh.qparser import QueryParser

    from .explain import Part
    from .fusion import Fusion
    from .semantic import SemanticRanker
    from .stats import IndexStats

T = TypeVar("T")

#: How often opening is tried when a concurrent writer removes the files being opened.
OPEN_ATTEMPTS = 5
#: A first page by relevance reads the film ids of the matches that may be on it (ties
#: at its last score) when at most this many; else every film's id (30 ms on 6,802 films).
MAX_CONTENDERS = 100
#: Searches by relevance after which a FilmSearch reads every film's id (for ties) once,
#: rather than the first page's each time.
IDS_AFTER = 16
#: Films whose stored fields a FilmSearch keeps (``_stored``): on the dev requests, half
#: of a first page's films were on an earlier query's first page (about 10 MB).
STORED_KEPT = 4096
#: Seconds a search may take by default (``FilmSearch.search``'s ``time_limit``). Parsing,
#: building the hits and their snippets come on top: about a second at most.
DEFAULT_TIME_LIMIT = 2.0


#: ``FilmSearch(arrays=None)`` scores with numpy from this many films (documents) on.
ONE_OFF_ARRAYS_FROM = 30_000

#: How ``FilmSearch.search`` can rank: "hybrid" (BM25F fused with semantic similarity, the
#: default when the index has film vectors), "semantic" (similarity alone), "lexical" (BM25F).
MODES = ("hybrid", "semantic", "lexical")


class FilmSearch:
    """A searcher over one filmsearch index. Use it as a context manager, or call close().

    ``model`` names the query model for semantic ranking (default: the one the
    index's vectors were made with). With ``arrays`` (the default), keyword
    queries are scored with numpy over the postings arrays each segment has
    (``array_scores``; the same scores, faster); with False, a posting at a
    time in Python; with None, arrays only on an index of ``ONE_OFF_ARRAYS_FROM``
    films or more (for a process that searches once: importing numpy costs
    about 90 ms, more than the Python scorer spends on a smaller index).
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str],
        *,
        model: str | None = None,
        arrays: bool | None = True,
    ) -> None:
        self.index_dir = os.path.abspath(os.fspath(index_dir))
        self.model = model
        self._index, self._searcher = self._open()
        if arrays is None:
            arrays = self._searcher.doc_count_all() >= ONE_OFF_ARRAYS_FROM
        self.arrays: bool = arrays
        self._use_schema(self._searcher.schema)
        self._ranker: SemanticRanker | None = None
        self._ranker_key: tuple[int, int, int] | None = None
        self._film_ids: tuple[Any, list[str], dict[str, int], list[int]] | None = None
        self._film_table: FilmTable | None = None
        self._speller: Speller | None = None
        self._stored_kept: tuple[Any, dict[int, dict[str, Any]]] = (None, {})
        self._best_searches: tuple[Any, int] = (None, 0)  # searcher, searches by relevance

    def _open(self) -> tuple[Any, Any]:
        """Open the newest generation of the index and a searcher on it.

        A writer publishing a new generation deletes the files of the old one,
        so a reader that read the old table of contents can find a file gone:
        it then tries again with the newer generation.
        """
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            index = None
            generation = None
            try:
                index = open_index(self.index_dir)  # reads the table of contents, may race too
                generation = index.latest_generation()
                with self._reading():
                    return index, index.searcher(weighting=ranking.weighting())
            except IndexDamagedError as error:
                if index is not None:
                    index.close()
                if (
                    attempt == OPEN_ATTEMPTS
                    or not isinstance(error.__cause__, FileNotFoundError)
                    or generation == self._generation()  # no newer one: the file is lost
                ):
                    raise
                time.sleep(0.02 * attempt)
        raise AssertionError("unreachable")

    def _generation(self) -> int | None:
        """The newest generation of the index's table of contents, None if unreadable."""
        try:
            with closing(open_index(self.index_dir)) as index:
                return int(index.latest_generation())
        except FilmSearchError:
            return None

    def _use_schema(self, schema: Any) -> None:
        self._schema = schema
        self._made_parser: QueryParser | None = None

    @property
    def _parser(self) -> QueryParser:
        """The query parser, made when first needed: a search of plain words needs none."""
        if self._made_parser is None:
            from .parser import make_parser

            self._made_parser = make_parser(self._schema)
        return self._made_parser

    def _plan_query(self, plan: QueryPlan) -> wq.Query:
        """``retrieve.plan_query`` of ``plan`` in this index's schema."""
        return plan_query(plan, self._schema, lambda: self._parser)

    def _reading(self) -> AbstractContextManager[None]:
        """Turn what Whoosh raises on missing or corrupt files into IndexDamagedError."""
        return reading_index(self.index_dir)

    def __enter__(self) -> FilmSearch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the index files."""
        self._searcher.close()
        self._index.close()

    def _current(self) -> Any:
        """The searcher, moved to the index's newest generation if there is one."""
        with self._reading():
            up_to_date = self._searcher.up_to_date()
        if not up_to_date:
            self._reopen()
        return self._searcher

    def _reopen(self) -> None:
        old_index, old_searcher = self._index, self._searcher
        self._index, self._searcher = self._open()
        old_searcher.close()
        old_index.close()
        self._use_schema(self._searcher.schema)  # a rebuild may change the stemmer

    def _retrying(self, work: Callable[[Any], T], fresh: bool = True) -> T:
        """``work(searcher)`` on the newest generation, tried again on a newer one if a
        concurrent rebuild removed files it was reading. Without ``fresh``, on the
        generation of the search's first step (one look at the folder a search)."""
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            try:
                searcher = self._current() if fresh or attempt > 1 else self._searcher
                with self._reading(), arrays_enabled(self.arrays):
                    return work(searcher)
            except IndexDamagedError as error:
                if attempt == OPEN_ATTEMPTS or not isinstance(error.__cause__, FileNotFoundError):
                    raise
                time.sleep(0.02 * attempt)
                self._reopen()
        raise AssertionError("unreachable")

    def search(
        self,
        text: str = "",
        *,
        director: NamesArg | None = None,
        cast: NamesArg | None = None,
        genre: NamesArg | None = None,
        year: RangesArg | None = None,
        runtime: RangesArg | None = None,
        decade: DecadeArg | None = None,
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        facets: Sequence[str] | None = None,
        exact: bool = False,
        explain: bool = False,
        snippets: bool = True,
        plain: bool = False,
        baseline: bool = False,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        mode: str | None = None,
    ) -> Results:
        """Rank films for ``text`` (query syntax in search.query), filtered by the options.

        ``director``, ``cast`` and ``genre`` take a name or a list of names, ``year``
        and ``runtime`` a value or a list of values, ``decade`` ``"1990s"`` (or
        ``"90s"``, ``1990``) or a list: any value of a list may hold (OR), and
        every option given must hold (AND). ``year`` and ``runtime`` values are
        ``2012``, ``(2010, 2015)``, ``(None, 100)``, or the strings ``"2010..2015"``,
        ``"..100"``, ``"90.."``; a tuple is one range.
        ``text`` is read as ``understand.understand`` says: syntax where it was
        meant, the rest as words, so pasted descriptions are never refused; with
        ``plain`` it is read as words only.
        With ``baseline``, the words are ranked by plain BM25 over title, synopsis
        and wiki text as one field (``ranking.BASELINE_*``), for comparison.

        ``sort`` is one of ``ordering.SORTS`` (ties by film id); ``offset`` skips
        that many films of the order, ``limit`` is the page size, and hits keep
        their rank in the whole order. ``facets`` names facets of ``facets.FACETS``
        to count over every film that matches (``Results.facets``).

        With ``explain``, each hit's ``explanation`` takes its score apart: per
        query word and field, the other factors, and in hybrid mode the words
        and meaning parts (``search.explain``); the parts add up to the score.

        Misspelt words are corrected (``search.spelling``) unless ``exact``:
        ``Results.corrected`` is then the query searched. When fewer than
        ``spelling.SUGGEST_BELOW`` films match, ``Results.suggestions`` lists up
        to ``spelling.MAX_SUGGESTIONS`` other spellings that find films.

        ``time_limit`` is the seconds the search may take once the query is
        parsed (None: no limit; the bounds of ``search.query`` hold either
        way). When it runs out, the best films found so far are returned with
        ``partial=True``; if none were found, QueryError says the query took
        too long. ``partial`` is also set when a wildcard stood for more words
        than are searched, and when snippets were left out for lack of time.

        ``mode`` is one of ``MODES``; by default "hybrid" when the index has film
        vectors (``build_index(..., semantic=True)``) and the semantic extra is
        installed, else "lexical" (``Results.note`` says why, if the index has
        vectors). In "hybrid" and "semantic" modes, films that match no query
        word can rank too, filters and field clauses still apply, and snippets
        come from the words; a sort other than relevance orders the films that
        ranking returns (the best ``depth`` by words and the ``depth`` nearest by
        meaning), and ``total`` is then their number. Facets count the films that
        match the words and filters. Asking for those modes on an index without
        vectors raises SemanticUnavailableError. Loading the model (the first
        such query in a process, seconds) is not counted in ``time_limit``.
        Raises QueryError for malformed query text or options.
        """
        if time_limit is not None and (
            isinstance(time_limit, bool)
            or not isinstance(time_limit, (int, float))
            or math.isnan(time_limit)
            or time_limit <= 0
        ):
            raise ValueError(
                f"time_limit must be a positive number of seconds or None, not {time_limit!r}"
            )
        if time_limit is not None and math.isinf(time_limit):
            time_limit = None
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        _check_page(limit, offset)
        sort = check_sort(sort)
        facet_names = check_facets(facets)
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        typed = text
        looked = False  # whether this search has looked for a newer generation
        if not exact and not baseline and text.strip():
            corrected = self._retrying(lambda searcher: self._spell(searcher, text, plain, None))
            text = corrected if isinstance(corrected, str) else text
            looked = True
        # Parsing is bounded by the query's length (query.MAX_QUERY_CHARS, MAX_WORD_CHARS);
        # the budget is for reading the index.
        plan = understand(text, plain=plain or baseline)
        if baseline:
            q = baseline_query(" ".join(plan.words), self._schema)
        else:
            q = self._plan_query(plan)
        words_only = isinstance(q, (ScoredOr, FieldedWord))
        filters = filter_query(
            self._schema,
            director=director,
            cast=cast,
            genre=genre,
            year=year,
            runtime=runtime,
            decade=decade,
        )
        q = filtered(q, filters)
        if baseline or not text.strip():
            mode = "lexical"  # nothing to embed
        mode, ranker, note = self._ranking(mode)
        # Before the budget: the first query loads the model.
        cosines = ranker.query_scores(text) if ranker is not None else None
        wanted = offset + limit

        with time_budget(time_limit) as budget:

            def run(searcher: Any) -> Results:
                fitted = fit_to_index(q, searcher.reader())
                matches = retrieve.matches(searcher, fitted, budget)
                table = self._table(searcher) if sort != "relevance" or facet_names else None
                total = len(matches)
                fusion: Fusion | None = None
                if ranker is None and sort == "relevance":
                    ranked = self._best(searcher, matches, wanted)
                elif ranker is None:
                    _, _, id_rank = self._ids(searcher)
                    ranked = heapq.nsmallest(
                        wanted, matches.pairs(), key=sort_key(sort, id_rank, table)
                    )
                else:
                    ids, docnum_of, id_rank = self._ids(searcher)
                    depth = max(wanted, ranker.params.depth)
                    lexical = [
                        (ids[docnum], score) for docnum, score in matches.best(depth, id_rank)
                    ]
                    allowed: set[str] | None = None
                    if not words_only:  # field clauses, phrases, operators: their matches only
                        allowed = {ids[docnum] for docnum in matches.docnums()}
                    elif filters is not None:
                        allowed = {ids[docnum] for docnum in searcher.docs_for_query(filters)}
                    fused = ranker.rank(
                        text,
                        lexical,
                        mode=mode,
                        limit=wanted if sort == "relevance" else max(wanted, 2 * depth),
                        allowed_ids=allowed,
                        scores=cosines,
                    )
                    ranked = [(docnum_of[i], score) for i, score in fused if i in docnum_of]
                    if explain:
                        fusion = self._fusion(mode, ranker, text, lexical, cosines, ids)
                    if mode == "semantic":
                        total = len(allowed) if allowed is not None else searcher.doc_count()
                    total = max(total, len(ranked))
                    if sort != "relevance":
                        ranked = sorted(ranked, key=sort_key(sort, id_rank, table))
                        total = len(ranked)
                if budget.timed_out and not ranked:
                    raise _took_too_long(time_limit)
                counted = (
                    count_facets(table, matches.docnums(), facet_names)
                    if table is not None and facet_names
                    else {}
                )
                terms = terms_by_field(fitted, SNIPPET_FIELDS) if snippets else {}
                hits = []
                for rank, (docnum, score) in enumerate(ranked[offset:wanted], start=offset + 1):
                    with_snippets = snippets and not _out_of_time()
                    hit = self._hit(
                        rank, self._stored(searcher, docnum), score, terms, with_snippets
                    )
                    if explain and not _out_of_time():
                        why = _explanation(searcher, fitted, docnum, score, fusion)
                        hit = dataclasses.replace(hit, explanation=why)
                    hits.append(hit)
                return Results(
                    query=typed,
                    total=total,
                    hits=hits,
                    parsed=str(fitted),
                    understood=str(plan),
                    partial=budget.partial,
                    mode=mode,
                    note=note,
                    offset=offset,
                    sort=sort,
                    facets=counted,
                    corrected=text if text != typed else None,
                )

            results = self._retrying(run, fresh=not looked)
        if results.total < SUGGEST_BELOW and not baseline and typed.strip():

            def suggest(searcher: Any) -> list[str]:
                found: list[str] = []
                for suggestion in self._spell(searcher, typed, plain, "suggest"):
                    if len(found) == MAX_SUGGESTIONS:
                        break
                    if suggestion != text and self._finds_films(
                        searcher, suggestion, plain, filters, time_limit
                    ):
                        found.append(suggestion)
                return found

            suggestions = self._retrying(suggest, fresh=False)
            results = dataclasses.replace(results, suggestions=suggestions)
        return results

    def _finds_films(
        self,
        searcher: Any,
        text: str,
        plain: bool,
        filters: wq.Query | None,
        time_limit: float | None,
    ) -> bool:
        """Whether ``text`` (with the filters) matches a film."""
        q = filtered(self._plan_query(understand(text, plain=plain)), filters)
        with time_budget(time_limit) as budget:
            return bool(retrieve.matches(searcher, fit_to_index(q, searcher.reader()), budget))

    def _spell(self, searcher: Any, text: str, plain: bool, suggest: str | None) -> Any:
        """``text`` corrected (a str), or with ``suggest``, the spellings to suggest (a list)."""
        if self._speller is None or self._speller.vocabulary.reader is not searcher.reader():
            self._speller = Speller(Vocabulary(searcher.reader(), self._schema))
        plan = understand(text, plain=plain)
        if plan.syntax is None:
            q = None
        else:
            from .parser import parse_query

            q = parse_query(plan.syntax, self._parser)
        spans = query_spans(text, q)
        return self._speller.suggest(text, spans) if suggest else self._speller.correct(text, spans)

    def similar(
        self,
        film_id: str,
        *,
        limit: int = 10,
        offset: int = 0,
        snippets: bool = True,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
    ) -> Results:
        """Films like the film ``film_id``, best first, never the film itself.

        Ranked by words: the film's key terms (its synopsis and wiki text) and its
        directors, cast and genres (``search.similar``), with ``limit``, ``offset``
        and ``time_limit`` as in ``search``. ``Results.query`` is
        ``"similar:<id>"``. Raises FilmNotFoundError (a KeyError) for an unknown id.
        """
        if not isinstance(film_id, str):
            raise TypeError(f"film_id must be a str, not {type(film_id).__name__}")
        _check_page(limit, offset)
        wanted = offset + limit

        def run(searcher: Any) -> Results:
            stored = searcher.document(id=film_id)
            if not stored:
                raise FilmNotFoundError(f"no film with id {film_id!r}")
            q = bound_query(similar_query(document_to_film(stored), searcher))
            with time_budget(time_limit) as budget:
                matches = retrieve.matches(searcher, q, budget)
                ranked = self._best(searcher, matches, wanted)
                if budget.timed_out and not ranked:
                    raise _took_too_long(time_limit)
                terms = terms_by_field(q, SNIPPET_FIELDS) if snippets else {}
                hits = [
                    self._hit(
                        rank,
                        self._stored(searcher, docnum),
                        score,
                        terms,
                        snippets and not _out_of_time(),
                    )
                    for rank, (docnum, score) in enumerate(ranked[offset:], start=offset + 1)
                ]
                return Results(
                    query=f"similar:{film_id}",
                    total=len(matches),
                    hits=hits,
                    parsed=str(q),
                    partial=budget.partial,
                    offset=offset,
                )

        return self._retrying(run)

    @staticmethod
    def _fusion(
        mode: str,
        ranker: SemanticRanker,
        text: str,
        lexical: list[tuple[str, float]],
        cosines: Any,
        ids: list[str],
    ) -> Fusion:
        """What explaining a hybrid or semantic score needs (see ``semantic.rank``)."""
        from .fusion import Fusion
        from .semantic import query_words

        depth = max(ranker.params.depth, len(lexical))
        bm25 = dict(reversed(lexical[:depth]))  # the best score of an id, as the fusion takes
        row_of = ranker.store.row_of
        return Fusion(
            mode=mode,
            bm25=bm25,
            top=max(bm25.values(), default=0.0),
            cosine=lambda film_id: (
                float(cosines[row_of[film_id]])
                if film_id in row_of and cosines is not None
                else 0.0
            ),
            weight=ranker.params.semantic_weight(query_words(text)),
            ids=ids,
        )

    def _ranking(self, mode: str | None) -> tuple[str, SemanticRanker | None, str]:
        """The mode to rank in, its semantic ranker (None for "lexical"), and a note when
        the default fell back to "lexical" although the index has vectors."""
        if mode == "lexical" or (mode is None and not has_vectors(self.index_dir)):
            return "lexical", None, ""
        try:
            ranker = self._semantic_ranker()
        except FilmSearchError as error:
            if mode is None:
                return "lexical", None, f"ranked by words only: {error}"
            raise
        return mode or "hybrid", ranker, ""

    def _semantic_ranker(self) -> SemanticRanker:
        """The index's vectors and the query model, loaded again when the vectors change."""
        try:
            stat = os.stat(os.path.join(self.index_dir, VECTORS_META))
        except FileNotFoundError:
            raise SemanticUnavailableError(
                f"the index at {self.index_dir} has no film vectors; add them with "
                "filmsearch index PATHS --semantic"
            ) from None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._ranker is None or key != self._ranker_key:
            if importlib.util.find_spec("sentence_transformers") is None:
                raise SemanticUnavailableError(
                    "semantic ranking needs sentence-transformers: "
                    "pip install 'filmsearch[semantic]'"
                )
            from .semantic import SemanticRanker

            ranker = SemanticRanker.open(self.index_dir, self.model)
            if ranker is None:
                return self._semantic_ranker()  # the vectors were dropped meanwhile: says so
            _ = ranker.encoder  # load the model now; raises if it does not fit the vectors
            self._ranker, self._ranker_key = ranker, key
        return self._ranker

    def _ids(self, searcher: Any) -> tuple[list[str], dict[str, int], list[int]]:
        """Film id by document number, document number by film id, and each document's
        position among the ids in sorted order (for ties), for this searcher."""
        if self._film_ids is None or self._film_ids[0] is not searcher:
            ids = film_ids(searcher.reader())
            order = sorted((film_id, docnum) for docnum, film_id in enumerate(ids) if film_id)
            id_rank = [0] * len(ids)
            for position, (_, docnum) in enumerate(order):
                id_rank[docnum] = position
            docnum_of = dict(order)
            self._film_ids = (searcher, ids, docnum_of, id_rank)
        return self._film_ids[1], self._film_ids[2], self._film_ids[3]

    def _best(
        self, searcher: Any, matches: retrieve.Matches, wanted: int
    ) -> list[tuple[int, float]]:
        """The ``wanted`` best (document number, score) matches, ties by film id.

        Until every film's id is read (``_ids``, kept for the searcher; after
        ``IDS_AFTER`` searches), the ids of the few matches that may be among them
        are read from their stored fields instead: a one-off search (the command
        line) need not read them all.
        """
        searcher_of, searches = self._best_searches
        searches = searches + 1 if searcher_of is searcher else 1
        self._best_searches = (searcher, searches)
        if searches > IDS_AFTER or (self._film_ids is not None and self._film_ids[0] is searcher):
            return matches.best(wanted, self._ids(searcher)[2])
        contenders = matches.contenders(wanted)
        if len(contenders) > MAX_CONTENDERS:  # many ties at the last score
            return matches.best(wanted, self._ids(searcher)[2])
        film_id = {docnum: self._stored(searcher, docnum)["id"] for docnum, _ in contenders}
        return sorted(contenders, key=lambda match: (-match[1], film_id[match[0]]))[:wanted]

    def _stored(self, searcher: Any, docnum: int) -> dict[str, Any]:
        """A film's stored fields, kept for a while (``STORED_KEPT`` films per searcher):
        the first page's films are read for their ids, then for their hits."""
        searcher_of, kept = self._stored_kept
        if searcher_of is not searcher:
            kept = {}
            self._stored_kept = (searcher, kept)
        found = kept.get(docnum)
        if found is None:
            if len(kept) >= STORED_KEPT:
                kept.clear()
            found = kept[docnum] = searcher.stored_fields(docnum)
        return found

    def _table(self, searcher: Any) -> FilmTable:
        """The sort and facet values of this searcher's films (read as they are needed)."""
        if self._film_table is None or self._film_table.searcher is not searcher:
            self._film_table = FilmTable(searcher)
        return self._film_table

    def _hit(
        self,
        rank: int,
        stored: dict[str, Any],
        score: float,
        terms: dict[str, frozenset[str]],
        snippets: bool,
    ) -> Hit:
        film = document_to_film(stored)
        extracts = {}
        if snippets:
            for name in SNIPPET_FIELDS:
                text = getattr(film, name)
                extracts[name] = make_snippet(
                    text, terms.get(name, frozenset()), self._schema[name].analyzer
                )
        return Hit(
            rank=rank,
            id=film.id,
            title=film.title,
            year=film.year,
            runtime=film.runtime,
            directors=film.directors,
            cast=film.cast,
            genres=film.genres,
            score=float(score),
            path=film.path,
            snippets=extracts,
        )

    def get(self, film_id: str) -> Film | None:
        """The whole film with this id, or None."""
        stored = self._retrying(lambda searcher: searcher.document(id=film_id))
        return document_to_film(stored) if stored else None

    def stats(self) -> IndexStats:
        """Counts and settings of the index."""
        manifest = read_manifest(self.index_dir) or {}
        return self._retrying(lambda searcher: self._stats(searcher.reader(), manifest))

    def _stats(self, reader: Any, manifest: dict[str, Any]) -> IndexStats:
        from .stats import IndexStats

        size = sum(
            os.path.getsize(os.path.join(self.index_dir, name))
            for name in os.listdir(self.index_dir)
            if os.path.isfile(os.path.join(self.index_dir, name))
        )
        fields = [name for name in self._schema.names() if name != "source"]
        terms = sum(
            1 for name in fields if self._schema[name].indexed for _ in reader.lexicon(name)
        )
        return IndexStats(
            index_dir=self.index_dir,
            films=reader.doc_count(),
            terms=terms,
            fields=fields,
            stemmer=schema_stemmer(self._schema),
            size_bytes=size,
            built_at=manifest.get("built_at", "?"),
        )


def _explanation(
    searcher: Any, q: wq.Query, docnum: int, score: float, fusion: Fusion | None
) -> Part | None:
    """The hit's score taken apart (None if the time ran out meanwhile)."""
    from .explain import explain_fused, explain_lexical  # here: only --explain needs it

    try:
        if fusion is None:
            return explain_lexical(q, searcher, docnum, score)
        film_id = fusion.ids[docnum]
        bm25 = fusion.bm25.get(film_id, 0.0)
        words = explain_lexical(q, searcher, docnum, bm25) if bm25 else None
        return explain_fused(
            fusion.mode, score, words, bm25, fusion.top, fusion.cosine(film_id), fusion.weight
        )
    except SearchTimeout:
        return None


def _check_page(limit: object, offset: object) -> None:
    """TypeError/ValueError naming ``limit`` or ``offset`` unless they make a page."""
    bounds = (("limit", limit, 1, "at least 1"), ("offset", offset, 0, "0 or more"))
    for name, number, least, wording in bounds:
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"{name} must be an int, not {type(number).__name__}")
        if number < least:
            raise ValueError(f"{name} must be {wording}, got {number}")


def _out_of_time() -> bool:
    """Whether the search's deadline has passed (the search is then marked timed out:
    hits made after it get no snippets, and the results are partial)."""
    try:
        check_time()
    except SearchTimeout:
        return True
    return False


def _took_too_long(time_limit: float | None) -> QueryError:
    return QueryError(
        f"the query took longer than {time_limit:g} s and found nothing in that time; "
        "narrow it: fewer or longer wildcard words (*, ?), shorter phrases, "
        "fewer OR clauses, or a field or year filter"
    )


def film_ids(reader: Any) -> list[str]:
    """The film id of each document number ("" for deleted documents).

    Read from the id terms' term infos, segment by segment: an id term with one
    posting records its document as its first (and last) one, so only the ids
    that occur more than once in a segment (an update within one writing) need
    their postings read. Reading every id's postings took 0.3 s on 6,802 films.
    """
    ids = [""] * reader.doc_count_all()
    for segment, offset in reader.leaf_readers():
        deletions = segment.has_deletions()
        for term, info in segment.iter_field("id"):
            film_id = term.decode("utf-8") if isinstance(term, bytes) else term
            if info.doc_frequency() == 1:
                docnums: Any = (info.min_id(),)
            else:
                docnums = segment.postings("id", term).all_ids()
            for docnum in docnums:
                if not (deletions and segment.is_deleted(docnum)):
                    ids[offset + docnum] = film_id
    return ids
