"""``filmsearch serve``: a web page and a JSON HTTP API over one index (the ``serve`` extra).

    from filmsearch.search.server import create_app, run_server

    app = create_app("my-index")                     # an ASGI app (FastAPI)
    run_server("my-index", "127.0.0.1", 8000, None)  # serve it until Ctrl-C

A thin layer over ``FilmSearch``: the page at ``/`` and ``/films/{id}`` is rendered
from Jinja2 templates in ``web/`` (autoescaped: film text is untrusted), works
without JavaScript (facets, sorting, pages and "search instead for" are plain
links and form fields), and ``web/static/app.js`` updates the results as one types
by fetching the same page and swapping its result parts in. ``/api/search`` and
``/api/films/{id}/similar`` answer with the CLI's ``--json`` documents. Searches go through a
pool of FilmSearch objects (one by default), each used by one request at a time;
each re-opens the index when a reindex commits, so a running server sees new
films without a restart. Every response carries a strict Content-Security-Policy;
CORS only with ``cors``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import socket
import threading
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from whoosh.analysis import STOP_WORDS

from filmsearch.index import FilmSearchError, IndexNotFoundError
from filmsearch.index.errors import SemanticUnavailableError

from .facets import FACETS, check_facets
from .highlight import Snippet
from .ordering import SORTS, check_sort
from .query import MAX_QUERY_CHARS, QueryError
from .results import SNIPPET_FIELDS, Results
from .searcher import DEFAULT_TIME_LIMIT, MODES, FilmSearch
from .similar import FilmNotFoundError
from .terminal import for_json

WEB = Path(__file__).resolve().parent / "web"
log = logging.getLogger("filmsearch.serve")
#: Most films one search request may ask for, and the largest offset (films skipped).
MAX_LIMIT, MAX_OFFSET = 100, 10_000
#: Films on one page of the HTML results, and the facets the page counts.
PAGE_SIZE = 10
PAGE_FACETS = ("decade", "genre", "director")
#: Filters a search takes as parameters (repeated: any of the values); facets are named alike.
FILTERS = ("director", "cast", "genre", "year", "runtime", "decade")
FACETS_HELP = f"Count the matches by these (comma-separated or repeated): {', '.join(FACETS)}."
#: How the page names each sort order (``ordering.SORTS``).
SORT_NAMES = {
    "relevance": "Best match",
    "year": "Year, oldest first",
    "-year": "Year, newest first",
    "title": "Title",
    "runtime": "Shortest first",
    "-runtime": "Longest first",
}
#: FilmSearch objects (open index readers) shared by the request threads. One is best:
#: searching holds the GIL, and each FilmSearch keeps word-score caches of its own
#: (about 110 MB each after 460 dev queries on 6,802 films); with 4, throughput at
#: concurrency 4 fell from 71 to 46 requests/s (benchmarks/serve.py).
POOL_SIZE = 1
#: Seconds a request waits for a free FilmSearch before answering 503.
POOL_WAIT = 30.0
#: Completions returned by /api/suggest by default and at most, and films looked at for them.
SUGGEST_LIMIT, MAX_SUGGEST_LIMIT, SUGGEST_DEPTH = 8, 20, 40
#: Seconds a completion search may take (it runs on every keystroke).
SUGGEST_TIME_LIMIT = 0.5
#: Words of the box's text used for completions (the last is the prefix being typed).
SUGGEST_WORDS = 4
#: Longest word looked at for completions (no title or name has longer ones).
SUGGEST_WORD_CHARS = 60
#: Similar films on a film's page and from /api/films/{id}/similar by default.
SIMILAR_LIMIT = 5
#: Host names whose server only accepts requests naming a loopback host (DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_WORD = re.compile(r"[^\W_]+")


class JSON(JSONResponse):
    """JSON as the CLI prints it: UTF-8, C1 and bidi controls escaped (``for_json``)."""

    def render(self, content: Any) -> bytes:
        return for_json(content, indent=None).encode("utf-8")


class ApiError(Exception):
    """An error answered as ``{"error": message, "position": position}`` (or a page)."""

    def __init__(self, status: int, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.position = position


class SearcherPool:
    """Up to ``size`` FilmSearch objects, each used by one request at a time.

    FilmSearch is not thread-safe; the request threads borrow one each. One that
    failed on something other than a bad query is closed and replaced.
    """

    def __init__(self, index_dir: str, size: int = POOL_SIZE) -> None:
        self.index_dir = index_dir
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._free: list[FilmSearch] = []

    @contextmanager
    def use(self) -> Iterator[FilmSearch]:
        if not self._slots.acquire(timeout=POOL_WAIT):
            raise ApiError(503, "the server is busy; try again")
        try:
            with self._lock:
                fs = self._free.pop() if self._free else None
            fs = fs or FilmSearch(self.index_dir)
            try:
                yield fs
            except (QueryError, ApiError):
                self._give_back(fs)
                raise
            except BaseException:
                fs.close()
                raise
            self._give_back(fs)
        finally:
            self._slots.release()

    def _give_back(self, fs: FilmSearch) -> None:
        with self._lock:
            self._free.append(fs)

    def close(self) -> None:
        with self._lock:
            free, self._free = self._free, []
        for fs in free:
            fs.close()


@dataclasses.dataclass(frozen=True)
class SearchForm:
    """What one search asks for, from the page's address or the API's parameters.

    ``filters`` are (field, value) pairs of ``FILTERS`` in the order given: values of
    one field are alternatives (OR), different fields must all hold (AND).
    """

    q: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    sort: str = "relevance"
    exact: bool = False
    mode: str | None = None
    offset: int = 0

    @property
    def empty(self) -> bool:
        return not self.q.strip() and not self.filters

    def values(self, field: str) -> list[str]:
        """The values given for ``field``, in order."""
        return [value for name, value in self.filters if name == field]

    def has(self, field: str, value: str) -> bool:
        return any(
            name == field and given.casefold() == value.casefold() for name, given in self.filters
        )

    def with_filter(self, field: str, value: str) -> SearchForm:
        """This search with ``field`` also allowing ``value`` (from the first page)."""
        if self.has(field, value):
            return dataclasses.replace(self, offset=0)
        return dataclasses.replace(self, filters=(*self.filters, (field, value)), offset=0)

    def without_filter(self, field: str, value: str) -> SearchForm:
        """This search without the filter ``field``: ``value`` (from the first page)."""
        kept = tuple(
            (name, given)
            for name, given in self.filters
            if not (name == field and given.casefold() == value.casefold())
        )
        return dataclasses.replace(self, filters=kept, offset=0)

    def with_text(self, q: str) -> SearchForm:
        """This search with other query text (from the first page, correction on)."""
        return dataclasses.replace(self, q=q, exact=False, offset=0)

    def url(self, **changes: Any) -> str:
        """The page's address for this search (``changes`` as for dataclasses.replace);
        values at their defaults are left out."""
        form = dataclasses.replace(self, **changes) if changes else self
        pairs: list[tuple[str, str]] = [("q", form.q)] if form.q else []
        pairs += list(form.filters)
        if form.sort != "relevance":
            pairs.append(("sort", form.sort))
        if form.exact:
            pairs.append(("exact", "true"))
        if form.mode:
            pairs.append(("mode", form.mode))
        if form.offset:
            pairs.append(("offset", str(form.offset)))
        return "/?" + urlencode(pairs) if pairs else "/"

    def search_options(self, leave_out: str | None = None) -> dict[str, list[str] | None]:
        """The filters as ``FilmSearch.search`` takes them (without the field ``leave_out``)."""
        return {
            field: (self.values(field) or None) if field != leave_out else None for field in FILTERS
        }


def make_form(
    q: str | None,
    filters: Mapping[str, Sequence[str] | None],
    *,
    sort: str | None = None,
    exact: bool = False,
    mode: str | None = None,
    offset: int = 0,
) -> SearchForm:
    """A SearchForm from request parameters (blank filter values left out); ApiError for an
    unknown sort or mode."""
    try:
        checked_sort = check_sort(sort or "relevance")
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    if mode is not None and mode not in MODES:
        raise ApiError(400, f"unknown mode {mode!r}; modes are {', '.join(MODES)}")
    pairs = tuple(
        (field, value.strip())
        for field in FILTERS
        for value in filters.get(field) or ()
        if value and value.strip()
    )
    return SearchForm(
        q=q or "", filters=pairs, sort=checked_sort, exact=exact, mode=mode, offset=offset
    )


def facet_names(facets: Sequence[str]) -> tuple[str, ...]:
    """Facet names from repeated and comma-separated parameters; ApiError for an unknown one."""
    try:
        return check_facets([name for given in facets for name in given.split(",")])
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def run_search(
    fs: FilmSearch,
    form: SearchForm,
    limit: int,
    facets: Sequence[str] = (),
    plain: bool = False,
) -> Results:
    """The films ``form.offset + 1`` to ``form.offset + limit`` of ``form``'s search, with
    the ``facets`` counted over every match (ApiError if refused)."""
    if len(form.q) > MAX_QUERY_CHARS:
        raise ApiError(413, f"the query is longer than {MAX_QUERY_CHARS:,} characters")
    if form.empty:
        raise ApiError(400, "give a query or at least one filter")
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    if not 0 <= form.offset <= MAX_OFFSET:
        raise ApiError(400, f"offset must be between 0 and {MAX_OFFSET:,}")
    return _search(
        fs,
        form,
        limit=limit,
        offset=form.offset,
        sort=form.sort,
        facets=list(facets),
        mode=form.mode,
        plain=plain,
    )


def _search(
    fs: FilmSearch, form: SearchForm, leave_out: str | None = None, **options: Any
) -> Results:
    """``fs.search`` of ``form``'s text and filters (but ``leave_out``) with ``options``."""
    given = form.search_options(leave_out)
    return fs.search(
        form.q,
        director=given["director"],
        cast=given["cast"],
        genre=given["genre"],
        year=given["year"],
        runtime=given["runtime"],
        decade=given["decade"],
        exact=form.exact,
        time_limit=DEFAULT_TIME_LIMIT,
        **options,
    )


def refine_counts(
    fs: FilmSearch, form: SearchForm, results: Results
) -> dict[str, list[dict[str, str | int]]]:
    """The page's facet counts: ``results.facets``, except that a facet whose field is
    filtered counts the films matching every *other* filter, so that its values show
    what choosing them too (OR) would add. A count that cannot be made in time keeps
    the one from ``results``."""
    counts = dict(results.facets)
    for name in counts:
        if not form.values(name):
            continue
        try:
            others = _search(
                fs,
                form,
                leave_out=name,
                limit=1,
                facets=[name],
                mode="lexical",  # facets count the films matching the words in every mode
                snippets=False,
            )
        except QueryError:
            continue
        if not others.partial:
            counts[name] = others.facets.get(name, counts[name])
    return counts


def _page_offset(given: str | None) -> int:
    """The page's ``offset`` parameter as a number of films (0 if it is not one)."""
    try:
        return min(max(int(given or 0), 0), MAX_OFFSET)
    except ValueError:
        return 0


def _without_paths(message: str, index_dir: str) -> str:
    """``message`` without the server's index path (visitors are not told it)."""
    return message.replace(f" at {index_dir}", "").replace(index_dir, "the index")


def _fold(text: str) -> str:
    """Lower case without accents, as the index compares names and titles."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _completes(text: str, complete: Sequence[str], prefix: str) -> bool:
    words = _WORD.findall(_fold(text))
    return all(w in words for w in complete) and any(w.startswith(prefix) for w in words)


def suggestions(fs: FilmSearch, text: str, limit: int = SUGGEST_LIMIT) -> list[dict[str, str]]:
    """Titles, directors and cast names that complete ``text`` (its last word is a prefix).

    Only word characters of ``text`` are used, so quotes, colons and operators
    typed in the box never reach the query parser as syntax.
    """
    words = [_fold(w)[:SUGGEST_WORD_CHARS] for w in _WORD.findall(text[-200:])][-SUGGEST_WORDS:]
    if not words:
        return []
    *complete, prefix = words
    complete = [w for w in complete if w not in STOP_WORDS]
    clauses = []
    for field in ("title", "director", "cast"):
        terms = [f"{field}:{w}" for w in complete] + [f"({field}:{prefix}* OR {field}:{prefix})"]
        clauses.append("(" + " AND ".join(terms) + ")")
    try:
        results = fs.search(
            " OR ".join(clauses),
            limit=SUGGEST_DEPTH,
            snippets=False,
            exact=True,  # a half-typed word is a prefix, not a misspelling
            mode="lexical",  # completions match words; no model for a keystroke
            time_limit=SUGGEST_TIME_LIMIT,
        )
    except QueryError:  # out of time with nothing found: completions are a nicety
        return []
    titles: dict[str, dict[str, str]] = {}
    names: dict[tuple[str, str], dict[str, str]] = {}
    for hit in results:
        if _completes(hit.title, complete, prefix):
            titles.setdefault(
                hit.title.casefold(), {"text": hit.title, "kind": "title", "id": hit.id}
            )
        for kind, people in (("director", hit.directors), ("cast", hit.cast)):
            for name in people:
                if _completes(name, complete, prefix):
                    names.setdefault((kind, name.casefold()), {"text": name, "kind": kind})
    return [*titles.values(), *names.values()][:limit]


def snippet_parts(snippet: Snippet) -> list[tuple[str, bool]]:
    """The snippet's text as (piece, matched) pairs, for templates to escape and mark."""
    parts, last = [], 0
    for start, end in snippet.spans:
        parts += [(snippet.text[last:start], False), (snippet.text[start:end], True)]
        last = end
    parts.append((snippet.text[last:], False))
    return [(text, marked) for text, marked in parts if text]


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(WEB / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        snippet_parts=snippet_parts,
        snippet_fields=SNIPPET_FIELDS,
        sort_names=SORT_NAMES,
        filter_fields=FILTERS,
    )
    env.filters["quote"] = lambda text: quote(str(text), safe="")
    return env


def create_app(
    index_dir: str | os.PathLike[str],
    *,
    cors: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
    pool_size: int = POOL_SIZE,
) -> FastAPI:
    """The web app over the index in ``index_dir`` (opened at the first request).

    ``cors``: an origin allowed to call the API from its pages (none by default).
    ``allowed_hosts``: Host header values accepted (all by default); ``run_server``
    gives the loopback names when it binds a loopback address, so that another
    site cannot reach the server through DNS rebinding.
    """
    pool = SearcherPool(os.path.abspath(os.fspath(index_dir)), pool_size)
    env = _templates()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="filmsearch",
        summary="Full-text search over film synopses.",
        docs_url=None,  # the interactive docs load scripts from a CDN; the schema is enough
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.pool = pool
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    def page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=code)

    def wants_html(request: Request) -> bool:
        return not request.url.path.startswith(("/api/", "/healthz", "/openapi"))

    def error_response(request: Request, error: ApiError) -> Response:
        if wants_html(request):
            return page("error.html", error.status, status=error.status, message=error.message)
        return JSON({"error": error.message, "position": error.position}, error.status)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, error: ApiError) -> Response:
        return error_response(request, error)

    @app.exception_handler(QueryError)
    async def on_query_error(request: Request, error: QueryError) -> Response:
        return error_response(request, ApiError(400, error.message, error.position))

    # Visitors are not told the server's paths: the operator sees the error in the log.
    @app.exception_handler(IndexNotFoundError)
    async def on_no_index(request: Request, error: IndexNotFoundError) -> Response:
        log.error("%s", error)
        return error_response(request, ApiError(503, "no index has been built yet"))

    @app.exception_handler(SemanticUnavailableError)
    async def on_no_vectors(request: Request, error: SemanticUnavailableError) -> Response:
        return error_response(request, ApiError(400, _without_paths(str(error), pool.index_dir)))

    @app.exception_handler(FilmSearchError)
    async def on_index_error(request: Request, error: FilmSearchError) -> Response:
        log.error("%s", error)
        return error_response(request, ApiError(503, "the index cannot be read"))

    @app.exception_handler(RequestValidationError)
    async def on_bad_parameter(request: Request, error: RequestValidationError) -> Response:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem.get("loc", ())[1:])
            problems.append(f"{where}: {problem.get('msg', 'invalid')}".lstrip(": "))
        return error_response(request, ApiError(400, "; ".join(problems) or "bad request"))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = "not found" if error.status_code == 404 else str(error.detail)
        return error_response(request, ApiError(error.status_code, message))

    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    if cors:
        app.add_middleware(
            CORSMiddleware, allow_origins=[cors], allow_methods=["GET"], allow_headers=[]
        )
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    # Added last, so outermost: the answers of the host check and CORS get the headers too.
    app.middleware("http")(security_headers)

    # ---- the page -------------------------------------------------------------------

    @app.api_route(
        "/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
    )
    def home(
        q: str | None = None,
        genre: Annotated[list[str] | None, Query()] = None,
        director: Annotated[list[str] | None, Query()] = None,
        cast: Annotated[list[str] | None, Query()] = None,
        year: Annotated[list[str] | None, Query()] = None,
        runtime: Annotated[list[str] | None, Query()] = None,
        decade: Annotated[list[str] | None, Query()] = None,
        sort: str | None = None,
        exact: str | None = None,
        mode: str | None = None,
        offset: str | None = None,
    ) -> HTMLResponse:
        filters = {"genre": genre, "director": director, "cast": cast, "year": year}
        filters.update(runtime=runtime, decade=decade)
        context: dict[str, Any] = {"form": SearchForm(), "results": None, "error": None}
        context.update(facets={}, previous=None, next=None)
        try:
            form = make_form(
                q,
                filters,
                sort=sort,
                exact=(exact or "").lower() in ("1", "true", "on", "yes"),
                mode=mode or None,
                offset=_page_offset(offset),
            )
        except ApiError as error:
            form = make_form(q, filters, offset=_page_offset(offset))
            context.update(form=form, error=error)
            return page("index.html", error.status, **context)
        context["form"] = form
        if form.empty:
            return page("index.html", **context)
        try:
            with pool.use() as fs:
                results = run_search(fs, form, PAGE_SIZE, PAGE_FACETS)
                facets = refine_counts(fs, form, results)
        except QueryError as error:
            context["error"] = ApiError(400, error.message, error.position)
            return page("index.html", 400, **context)
        except ApiError as error:
            context["error"] = error
            return page("index.html", error.status, **context)
        except SemanticUnavailableError as error:
            context["error"] = ApiError(400, _without_paths(str(error), pool.index_dir))
            return page("index.html", 400, **context)
        after = form.offset + PAGE_SIZE
        context.update(
            results=results,
            facets=facets,
            previous=form.url(offset=max(form.offset - PAGE_SIZE, 0)) if form.offset else None,
            next=form.url(offset=after) if after < results.total and after <= MAX_OFFSET else None,
        )
        return page("index.html", **context)

    @app.api_route(
        "/films/{film_id}",
        methods=["GET", "HEAD"],
        response_class=HTMLResponse,
        include_in_schema=False,
    )
    def film_page(film_id: str) -> HTMLResponse:
        with pool.use() as fs:
            film = fs.get(film_id)
            if film is None:
                raise ApiError(404, "no film with this id")
            try:
                similar = fs.similar(film_id, limit=SIMILAR_LIMIT, snippets=False).hits
            except (QueryError, FilmNotFoundError):  # out of time, or removed meanwhile
                similar = []
        return page("film.html", film=film, similar=similar)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    # ---- the API --------------------------------------------------------------------

    @app.get("/api/search", response_class=JSON, summary="Search films")
    def api_search(
        q: str = Query("", description="Query text, as for `filmsearch search`."),
        limit: int = Query(10, ge=1, le=MAX_LIMIT, description="Films to return."),
        offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Films of the order to skip."),
        sort: str = Query("relevance", description=f"Order: {', '.join(SORTS)} (ties by id)."),
        genre: Annotated[
            list[str] | None, Query(description="Only films of this genre (repeat: any).")
        ] = None,
        director: Annotated[
            list[str] | None, Query(description="Only films by this director (repeat: any).")
        ] = None,
        cast: Annotated[
            list[str] | None, Query(description="Only films with this cast member (repeat: any).")
        ] = None,
        year: Annotated[
            list[str] | None, Query(description="A year or range: 2012, 2010..2015, ..1990")
        ] = None,
        runtime: Annotated[
            list[str] | None, Query(description="Minutes: 90..120, ..100 (repeat: any).")
        ] = None,
        decade: Annotated[
            list[str] | None, Query(description="A decade: 1990s or 90s (repeat: any).")
        ] = None,
        facets: Annotated[list[str] | None, Query(description=FACETS_HELP)] = None,
        exact: bool = Query(False, description="Search the words as typed: no correction."),
        mode: str | None = Query(None, description=f"Ranking: {', '.join(MODES)}."),
        plain: bool = Query(False, description="Read `q` as words only, never as syntax."),
    ) -> JSON:
        """The CLI's `--json` document for this search: repeating a filter means any of its
        values, different filters must all hold."""
        filters = {"genre": genre, "director": director, "cast": cast, "year": year}
        filters.update(runtime=runtime, decade=decade)
        form = make_form(q, filters, sort=sort, exact=exact, mode=mode, offset=offset)
        names = facet_names(facets or [])
        with pool.use() as fs:
            results = run_search(fs, form, limit, names, plain)
        return JSON(results.to_dict())

    @app.get("/api/films/{film_id}", response_class=JSON, summary="One film, all fields")
    def api_film(film_id: str) -> JSON:
        with pool.use() as fs:
            film = fs.get(film_id)
        if film is None:
            raise ApiError(404, "no film with this id")
        return JSON(film.to_dict())

    @app.get("/api/films/{film_id}/similar", response_class=JSON, summary="Films like this one")
    def api_similar(
        film_id: str,
        limit: int = Query(SIMILAR_LIMIT, ge=1, le=MAX_LIMIT),
        offset: int = Query(0, ge=0, le=MAX_OFFSET),
    ) -> JSON:
        """The document `filmsearch similar ID --json` prints: never the film itself."""
        try:
            with pool.use() as fs:
                results = fs.similar(film_id, limit=limit, offset=offset)
        except FilmNotFoundError:
            raise ApiError(404, "no film with this id") from None
        return JSON(results.to_dict())

    @app.get("/api/suggest", response_class=JSON, summary="Completions for the search box")
    def api_suggest(
        q: str = Query("", description="Text typed so far; its last word is a prefix."),
        limit: int = Query(SUGGEST_LIMIT, ge=1, le=MAX_SUGGEST_LIMIT),
    ) -> JSON:
        """Titles and director or cast names completing `q`: `{"query", "suggestions"}`."""
        if len(q) > MAX_QUERY_CHARS:
            raise ApiError(413, f"the query is longer than {MAX_QUERY_CHARS:,} characters")
        with pool.use() as fs:
            found = suggestions(fs, q, limit)
        return JSON({"query": q, "suggestions": found})

    @app.head("/healthz", include_in_schema=False)  # one operation in the schema: the GET
    @app.get("/healthz", response_class=JSON, summary="Whether the index can be searched")
    def healthz() -> JSON:
        with pool.use() as fs:
            fs.get("")  # moves to the newest commit; raises if the index cannot be read
        return JSON({"status": "ok"})

    return app


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (OSError, such as address in use, if not)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def server_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _print_now(line: str) -> None:
    print(line, flush=True)


class _QuietForcedExit(logging.Filter):
    """Drops the traceback uvicorn logs when a second Ctrl-C cancels the app while it
    shuts down (asyncio.CancelledError): the user asked for exactly that."""

    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__()
        self.server = server

    def filter(self, record: logging.LogRecord) -> bool:
        cancelled = "CancelledError" in record.getMessage() or (
            record.exc_info is not None and isinstance(record.exc_info[1], asyncio.CancelledError)
        )
        return not (self.server.should_exit and cancelled)


def run_server(
    index_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    cors: str | None = None,
    *,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the index at ``http://host:port/`` until Ctrl-C (or SIGTERM), then return.

    Raises the library's errors if the index cannot be opened, and OSError if
    the address cannot be bound, before anything is served. ``announce`` is
    given the line that says where the server is (default: print it).
    """
    FilmSearch(index_dir).close()  # fail now, not at the first request
    # Starlette's host check cannot read IPv6 Host headers ("[::1]:8000"): IPv4 only.
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    allowed = ["localhost", "127.0.0.1", host] if loopback else None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {port!r}")
    sock = _listen(host, port)
    app = create_app(index_dir, cors=cors, allowed_hosts=allowed)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, server_header=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    logging.getLogger("uvicorn.error").addFilter(_QuietForcedExit(server))
    (announce or _print_now)(
        f"filmsearch: serving {os.path.abspath(index_dir)} at {server_url(sock)} (Ctrl-C stops)"
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled once it has stopped
        pass
    finally:
        sock.close()


__all__ = [
    "MAX_LIMIT",
    "SearcherPool",
    "create_app",
    "run_search",
    "run_server",
    "suggestions",
]
