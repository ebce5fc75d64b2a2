"""``filmsearch serve``: a web page and a JSON HTTP API over one index (the ``serve`` extra).

    from filmsearch.search.server import create_app, run_server

    app = create_app("my-index")                     # an ASGI app (FastAPI)
    run_server("my-index", "127.0.0.1", 8000, None)  # serve it until Ctrl-C

A thin layer over ``FilmSearch``: the page at ``/`` and ``/films/{id}`` is rendered
from Jinja2 templates in ``web/`` (autoescaped: film text is untrusted), works
without JavaScript, and ``web/static/app.js`` updates the results as one types.
``/api/search`` answers with the CLI's ``--json`` document. Searches go through a
pool of FilmSearch objects (one by default), each used by one request at a time;
each re-opens the index when a reindex commits, so a running server sees new
films without a restart. Every response carries a strict Content-Security-Policy;
CORS only with ``cors``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import threading
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
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

from filmsearch.index import Film, FilmSearchError, IndexNotFoundError

from .highlight import Snippet
from .query import MAX_QUERY_CHARS, QueryError
from .results import SNIPPET_FIELDS, Hit, Results
from .searcher import DEFAULT_TIME_LIMIT, FilmSearch
from .terminal import for_json

WEB = Path(__file__).resolve().parent / "web"
log = logging.getLogger("filmsearch.serve")
#: Most films one search request may ask for, and the deepest result (offset + limit) served.
MAX_LIMIT = 100
#: Films on one page of the HTML results.
PAGE_SIZE = 10
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
#: Synopsis words (most frequent first) that make the query for similar films.
SIMILAR_WORDS = 12
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
_LETTERS = re.compile(r"(?<![^\W\d_])[^\W\d_]{3,30}(?![^\W\d_])")  # words of 3 to 30 letters
#: Words too common in synopses to say what a film is about (with Whoosh's stop words).
_FILLER = frozenset(
    """
    about after again against also although another around back because been before being both
    but can could did directed does down during each even ever every film films first from gets
    getting had has have having her here hers herself him himself his how into its itself just
    later like made make makes many more most much must new now off once one only other our out
    over own plays produced released same screenplay she should some starring stars still such
    takes than that their theirs them themselves then there these they this those through too
    two under until upon very was way were what when where which while who whom whose why will
    with would written year years you your
    """.split()  # noqa: SIM905 (a list of words reads better as words)
) | frozenset(STOP_WORDS)


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
    """What one search asks for, from the page's form or the API's parameters."""

    q: str = ""
    genre: str | None = None
    director: str | None = None
    cast: str | None = None
    year: str | None = None
    runtime: str | None = None

    @property
    def empty(self) -> bool:
        return not self.q.strip() and not any(
            (self.genre, self.director, self.cast, self.year, self.runtime)
        )

    def params(self, **extra: Any) -> str:
        """The URL query string of this search (empty fields left out)."""
        fields = {**dataclasses.asdict(self), **extra}
        return urlencode({k: v for k, v in fields.items() if v not in (None, "")})


def _form(
    q: str | None,
    genre: str | None,
    director: str | None,
    cast: str | None,
    year: str | None,
    runtime: str | None,
) -> SearchForm:
    def clean(value: str | None) -> str | None:
        return value.strip() or None if value else None

    return SearchForm(
        q=q or "",
        genre=clean(genre),
        director=clean(director),
        cast=clean(cast),
        year=clean(year),
        runtime=clean(runtime),
    )


def run_search(
    fs: FilmSearch,
    form: SearchForm,
    limit: int,
    offset: int = 0,
    sort: str | None = None,
    plain: bool = False,
) -> Results:
    """The page of results ``offset``..``offset + limit`` for ``form`` (ApiError if refused).

    Pages come from asking the library for ``offset + limit`` films (at most
    MAX_LIMIT) and keeping the last ``limit``; ranks stay those of the whole list.
    """
    if len(form.q) > MAX_QUERY_CHARS:
        raise ApiError(413, f"the query is longer than {MAX_QUERY_CHARS:,} characters")
    if form.empty:
        raise ApiError(400, "give a query or at least one filter")
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0 or offset + limit > MAX_LIMIT:
        raise ApiError(400, f"offset + limit may be at most {MAX_LIMIT}")
    if sort not in (None, "", "relevance"):
        # Issue 15 adds sorting to the library; until then results come by relevance.
        raise ApiError(400, "sort must be 'relevance' (other orders are not available yet)")
    results = fs.search(
        form.q,
        genre=form.genre,
        director=form.director,
        cast=form.cast,
        year=form.year,
        runtime=form.runtime,
        limit=offset + limit,
        plain=plain,
        time_limit=DEFAULT_TIME_LIMIT,
    )
    return dataclasses.replace(results, hits=results.hits[offset:])


def film_to_dict(film: Film) -> dict[str, Any]:
    """The film as ``filmsearch show --json`` prints it."""
    return {
        "id": film.id,
        "title": film.title,
        "year": film.year,
        "runtime": film.runtime,
        "director": ", ".join(film.directors),
        "directors": list(film.directors),
        "cast": list(film.cast),
        "genres": list(film.genres),
        "synopsis": film.synopsis,
        "wiki": film.wiki,
        "path": film.path,
    }


def similar_films(fs: FilmSearch, film_id: str, limit: int = SIMILAR_LIMIT) -> list[Hit] | None:
    """Films like ``film_id`` (None if there is no such film), best first.

    A stand-in until the library has its own (issue 15): the film's title words
    and the ``SIMILAR_WORDS`` most frequent lower-case words of its synopsis and
    wiki text (longer first among equals), searched as plain words (BM25F
    weighs rare words up), without the film itself.
    """
    film = fs.get(film_id)
    if film is None:
        return None
    words = [w.lower() for w in _LETTERS.findall(film.title)]
    # Words written in lower case somewhere: names of characters (Ali, Sam) say little.
    counts = Counter(w for w in _LETTERS.findall(f"{film.synopsis}\n{film.wiki}") if w.islower())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))
    words += [w for w, _ in ranked if w not in _FILLER][:SIMILAR_WORDS]
    words = [w for w in dict.fromkeys(words) if w not in _FILLER]
    if not words:
        return []
    results = fs.search(" ".join(words), plain=True, limit=limit + 1, snippets=False)
    others = [hit for hit in results if hit.id != film_id][:limit]
    return [dataclasses.replace(hit, rank=rank) for rank, hit in enumerate(others, start=1)]


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
    env.globals.update(snippet_parts=snippet_parts, snippet_fields=SNIPPET_FIELDS)
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

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(
        q: str | None = None,
        genre: str | None = None,
        director: str | None = None,
        cast: str | None = None,
        year: str | None = None,
        runtime: str | None = None,
        page_number: str | None = Query(None, alias="page"),
    ) -> HTMLResponse:
        form = _form(q, genre, director, cast, year, runtime)
        try:
            number = min(max(int(page_number or 1), 1), MAX_LIMIT // PAGE_SIZE)
        except ValueError:
            number = 1
        context: dict[str, Any] = {"form": form, "results": None, "error": None}
        context.update(corrected=None, facets=None, previous=None, next=None)
        if form.empty:
            return page("index.html", **context)
        try:
            with pool.use() as fs:
                results = run_search(fs, form, PAGE_SIZE, (number - 1) * PAGE_SIZE)
        except QueryError as error:
            context["error"] = ApiError(400, error.message, error.position)
            return page("index.html", 400, **context)
        except ApiError as error:
            context["error"] = error
            return page("index.html", error.status, **context)
        shown_to = (number - 1) * PAGE_SIZE + len(results.hits)
        context.update(
            results=results,
            corrected=getattr(results, "corrected", None),  # issue 15: typo correction
            facets=getattr(results, "facets", None),  # issue 15: facets
            first=(number - 1) * PAGE_SIZE + 1,
            last=shown_to,
            previous=form.params(page=number - 1) if number > 1 else None,
            next=form.params(page=number + 1) if shown_to < min(results.total, MAX_LIMIT) else None,
        )
        return page("index.html", **context)

    @app.get("/films/{film_id}", response_class=HTMLResponse, include_in_schema=False)
    def film_page(film_id: str) -> HTMLResponse:
        with pool.use() as fs:
            film = fs.get(film_id)
            similar = similar_films(fs, film_id) if film else None
        if film is None:
            raise ApiError(404, "no film with this id")
        return page("film.html", film=film, similar=similar or [])

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    # ---- the API --------------------------------------------------------------------

    @app.get("/api/search", response_class=JSON, summary="Search films")
    def api_search(
        q: str = Query("", description="Query text, as for `filmsearch search`."),
        limit: int = Query(10, ge=1, le=MAX_LIMIT, description="Films to return."),
        offset: int = Query(0, ge=0, description=f"Films to skip; offset + limit ≤ {MAX_LIMIT}."),
        sort: str | None = Query(None, description="Order: 'relevance' (the only one for now)."),
        genre: str | None = Query(None, description="Only films of this genre."),
        director: str | None = Query(None, description="Only films by this director."),
        cast: str | None = Query(None, description="Only films with this cast member."),
        year: str | None = Query(None, description="A year or range: 2012, 2010..2015, ..1990"),
        runtime: str | None = Query(None, description="Minutes: 90..120, ..100"),
        plain: bool = Query(False, description="Read `q` as words only, never as syntax."),
    ) -> JSON:
        """The CLI's `--json` document for this search; hits are those from `offset` on."""
        form = _form(q, genre, director, cast, year, runtime)
        with pool.use() as fs:
            results = run_search(fs, form, limit, offset, sort, plain)
        return JSON(results.to_dict())

    @app.get("/api/films/{film_id}", response_class=JSON, summary="One film, all fields")
    def api_film(film_id: str) -> JSON:
        with pool.use() as fs:
            film = fs.get(film_id)
        if film is None:
            raise ApiError(404, "no film with this id")
        return JSON(film_to_dict(film))

    @app.get("/api/films/{film_id}/similar", response_class=JSON, summary="Films like this one")
    def api_similar(
        film_id: str, limit: int = Query(SIMILAR_LIMIT, ge=1, le=MAX_LIMIT - 1)
    ) -> JSON:
        with pool.use() as fs:
            similar = similar_films(fs, film_id, limit)
        if similar is None:
            raise ApiError(404, "no film with this id")
        return JSON({"id": film_id, "hits": [hit.to_dict() for hit in similar]})

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
    "film_to_dict",
    "run_search",
    "run_server",
    "similar_films",
    "suggestions",
]
