"""The ``filmsearch`` command: a thin layer over ``index.build_index`` and ``search.FilmSearch``.

Exit codes: 0 success, 1 runtime problem (no index yet, unreadable files),
2 bad usage or a bad query. Errors are one line on stderr.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

# Importing makes the objects a command works with (modules, classes, functions) and
# hardly any garbage: the cyclic collector is paused meanwhile, then what was made is
# frozen (gc.freeze), so that no collection walks it again. A one-shot search saves
# 5% of its time (Whoosh also forces a full collection when it closes an index).
_COLLECTING = gc.isenabled()
gc.disable()
try:
    import click

    from filmsearch.index import STEMMERS, DocumentError, FilmSearchError
    from filmsearch.index.errors import IndexMismatchError

    from .facets import FACETS, check_facets
    from .ordering import SORTS
    from .query import QueryError
    from .results import SNIPPET_FIELDS, Hit, Results
    from .searcher import MODES, FilmSearch
    from .similar import FilmNotFoundError
    from .terminal import for_json, for_terminal
    from .understand import MAX_QUERY_CHARS
finally:
    gc.freeze()
    if _COLLECTING:
        gc.enable()

if TYPE_CHECKING:
    from filmsearch.index import BuildProgress, BuildReport

ENV_INDEX = "FILMSEARCH_INDEX"
#: ``index.formats.FORMATS`` and the keys of ``export.EXPORTERS`` (tests/test_cli.py checks):
#: named here, so that a search does not import the builder's readers or the exporter.
SOURCE_FORMATS = ("auto", "seed", "csv", "jsonl")
EXPORT_FORMATS = ("opensearch",)
PLAIN_MARKS = ("*", "*")


def default_index_dir() -> str:
    """Where the index lives when neither --index nor FILMSEARCH_INDEX says."""
    import platformdirs  # here: a search with --index or FILMSEARCH_INDEX starts faster

    return os.path.join(platformdirs.user_data_dir("filmsearch", appauthor=False), "index")


class CliError(click.ClickException):
    """A one-line error with an exit code (1 runtime problem, 2 bad usage)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file: Any = None) -> None:
        say(f"filmsearch: error: {self.format_message()}", err=True)


#: Exit code after Ctrl-C, as shells report a process killed by SIGINT.
EXIT_INTERRUPTED = 130
#: Exit code when the reader of our output went away (``| head``), as ``cat`` gives.
EXIT_BROKEN_PIPE = 141


class FilmSearchGroup(click.Group):
    """Turns library errors and usage errors into one-line messages with the right exit code."""

    def main(  # type: ignore[override]  # always standalone: exits with our codes
        self, args: list[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        try:
            result = super().main(args, prog_name, standalone_mode=False, **extra)
            sys.stdout.flush()  # here, so that a closed pipe is seen before the exit
        except click.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError" and error.ctx:  # bare "filmsearch"
                click.echo(error.ctx.get_help())
                sys.exit(0)
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            if "No such option" in error.format_message():
                hint += "; to search for text that starts with '-', put -- before it"
            CliError(error.format_message() + hint, 2).show()
            sys.exit(2)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            say("filmsearch: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_broken_pipe()
            sys.exit(EXIT_BROKEN_PIPE)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (QueryError, IndexMismatchError) as error:
            raise CliError(str(error), 2) from None
        except FilmSearchError as error:
            raise CliError(str(error), 1) from None
        except BrokenPipeError:  # click would exit 1 with no word
            _quiet_broken_pipe()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as error:
            raise CliError(
                f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
            ) from None
        except Exception as error:
            if os.environ.get("FILMSEARCH_DEBUG"):
                raise
            raise CliError(
                f"internal error: {type(error).__name__}: {error} "
                "(set FILMSEARCH_DEBUG=1 for a traceback)"
            ) from None


def _quiet_broken_pipe() -> None:
    """Point stdout at /dev/null so Python's exit-time flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def say(text: str, *, err: bool = False, multiline: bool = False) -> None:
    """Print text that may hold document or index data, with control characters escaped.

    Output that adds colour of its own escapes each piece with ``for_terminal`` instead.
    """
    click.echo(for_terminal(text, multiline=multiline), err=err)


def index_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--index",
        "index_dir",
        envvar=ENV_INDEX,
        show_envvar=True,
        type=click.Path(file_okay=False),
        default=None,
        help="Index folder (default: a per-user data folder).",
    )(command)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format``, ``--json`` and ``--no-snippets``, for the commands that print films."""
    for option in reversed(
        [
            click.option(
                "--format",
                "output",
                type=click.Choice(["text", "json", "ndjson", "html", "csv"]),
                default="text",
                show_default=True,
                help="Output format.",
            ),
            click.option("--json", "as_json", is_flag=True, help="Same as --format json."),
            click.option("--no-snippets", is_flag=True, help="Leave out snippets (faster)."),
        ]
    ):
        command = option(command)
    return command


def read_stdin() -> str:
    """The query text on standard input (``filmsearch search -``): at most
    MAX_QUERY_CHARS characters are read (the rest would be cut anyway); bytes that
    are not UTF-8 become U+FFFD."""
    data = sys.stdin.buffer.read(4 * MAX_QUERY_CHARS)  # UTF-8 takes at most 4 bytes a character
    return data.decode("utf-8", errors="replace").strip()


def resolve_index(index_dir: str | None) -> str:
    return index_dir or default_index_dir()


def use_color(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def print_json(data: Any, indent: int | None = 2) -> None:
    click.echo(for_json(data, indent=indent))


@click.group(cls=FilmSearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="filmsearch")
def cli() -> None:
    """Full-text search over film synopses.

    \b
    Example:
      filmsearch index seeds/
      filmsearch search whale trainer accident
      filmsearch search 'director:audiard year:2010..2015 cast:"marion cotillard"'
    """


@cli.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@index_option
@click.option(
    "--stemmer",
    type=click.Choice(STEMMERS),
    default=None,
    help="Stemmer for plot text (default: the index's own, else snowball).",
)
@click.option("--rebuild", is_flag=True, help="Build from scratch instead of updating.")
@click.option(
    "--source-format",
    type=click.Choice(SOURCE_FORMATS),
    default="auto",
    show_default=True,
    help="Read every file as this format instead of detecting each file's own.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes analysing text (default: every core for a large corpus).",
)
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Also embed every film for hybrid ranking (needs the semantic extra); --no-semantic "
    "drops the vectors. Default: keep what the index has.",
)
@click.option(
    "--model",
    default=None,
    help="Embedding model: a sentence-transformers folder or name (default: the bundled "
    "all-MiniLM-L6-v2, or $FILMSEARCH_MODEL).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print problems and nothing else.")
def index_command(
    paths: tuple[str, ...],
    index_dir: str | None,
    stemmer: str | None,
    rebuild: bool,
    source_format: str,
    jobs: int | None,
    semantic: bool | None,
    model: str | None,
    quiet: bool,
) -> None:
    """Index the films in PATHS: folders or files of seed documents, CSV dumps
    (Wikipedia Movie Plots, TMDB 5000, or your own columns) and JSON Lines.

    Running it again updates the index: unchanged files are skipped, changed
    ones replaced, and films whose files are gone from PATHS removed.

    With --semantic, every film also gets a sentence-embedding vector, so that
    searches rank by meaning as well as words; later runs embed only new and
    changed films.

    \b
    Example:
      filmsearch index seeds/ --index ./films.idx
      filmsearch index wiki_movie_plots.csv tmdb_5000_movies.csv --jobs 2
      filmsearch index seeds/ --semantic
    """
    from filmsearch.index import build_index  # here: the builder is not a search's to load

    status = StatusLine(enabled=sys.stderr.isatty() and not quiet)

    def report_problem(error: DocumentError, skipped: bool) -> None:
        status.above(f"{'skipped' if skipped else 'warning'}: {error}")

    with status:
        report = build_index(
            paths,
            resolve_index(index_dir),
            stemmer=stemmer,
            rebuild=rebuild,
            source_format=source_format,
            jobs=jobs,
            progress=status.build_progress,
            on_problem=report_problem,
            semantic=semantic,
            model=model,
        )
    if not quiet:
        say(summarize_build(report))
    if report.films == 0 and report.skipped:
        raise CliError("no film could be indexed", 1)


class StatusLine:
    """One line on stderr that redraws itself (a terminal only); messages print above it."""

    #: Seconds between redraws: a build reads thousands of films a second.
    INTERVAL = 0.1

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.text = ""
        self.drawn_at = 0.0

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._clear()

    def _clear(self) -> None:
        if self.enabled and self.text:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def show(self, text: str, force: bool = False) -> None:
        """Replace the line with ``text``, at most every INTERVAL seconds unless ``force``."""
        now = time.monotonic()
        if not self.enabled or (not force and now - self.drawn_at < self.INTERVAL):
            return
        self.text, self.drawn_at = for_terminal(text), now
        self.stream.write("\r\x1b[K" + self.text)
        self.stream.flush()

    def above(self, message: str) -> None:
        """Print ``message`` as its own line on stderr, then redraw the status under it."""
        self._clear()
        self.stream.write(for_terminal(message) + "\n")
        if self.enabled and self.text:
            self.stream.write(self.text)
            self.stream.flush()

    def build_progress(self, state: BuildProgress) -> None:
        """The ``progress`` callback of build_index: films read, share of the bytes, phase."""
        if state.phase == "committing":
            self.show(f"committing {state.films:,} films …", force=True)
            return
        if state.phase == "embedding":
            self.show(
                f"embedding: {state.embedded:,} of {state.to_embed:,} films",
                force=state.embedded in (0, state.to_embed),
            )
            return
        share = state.bytes_done / state.bytes_total if state.bytes_total else 1.0
        self.show(
            f"indexing: {state.films:,} films read, "
            f"file {min(state.files_done + 1, state.files_total)} of {state.files_total} "
            f"({share:.0%} of {state.bytes_total / 1e6:.1f} MB)",
            force=state.films == 1,
        )


def summarize_build(report: BuildReport) -> str:
    return (
        f"{report.films} film{'' if report.films == 1 else 's'} in {report.index_dir}: "
        f"{report.added} added, "
        f"{report.replaced} replaced, {report.unchanged} unchanged, "
        f"{report.removed} removed, {len(report.skipped)} skipped"
        f"{f' ({report.not_films} not films)' if report.not_films else ''}"
        f"{f', {report.embedded} embedded' if report.embedded else ''} "
        f"({report.seconds:.2f} s)"
    )


@cli.command("search")
@click.argument("query", nargs=-1)
@index_option
@click.option(
    "--director", multiple=True, help="Only films by this director (repeat: any of them)."
)
@click.option("--cast", multiple=True, help="Only films with this cast member (repeat: any).")
@click.option("--genre", multiple=True, help="Only films of this genre (repeat: any of them).")
@click.option(
    "--year", multiple=True, help="A year or range: 2012, 2010..2015, ..1990, 2000.. (repeat: any)."
)
@click.option("--decade", multiple=True, help="A decade: 1990s or 90s (repeat: any).")
@click.option("--runtime", multiple=True, help="Running time in minutes: 90..120, ..100")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Most films to show.",
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Films of the order to skip first (the next page: --offset 10).",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="Order of the films; -year and -runtime are descending. Ties by film id.",
)
@click.option(
    "--facets",
    default="",
    metavar="NAMES",
    help=f"Count the matching films by these, comma-separated: {','.join(FACETS)}.",
)
@output_options
@click.option(
    "--exact", is_flag=True, help="Search the words as typed: no correction of misspellings."
)
@click.option(
    "--plain",
    is_flag=True,
    help="Read QUERY as words only: no fields, phrases, operators or wildcards.",
)
@click.option(
    "--explain", is_flag=True, help="Show the parsed query and each film's score, taken apart."
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="Ranking: hybrid (words and meaning; the default when the index has film vectors), "
    "semantic (meaning only) or lexical (words only).",
)
@click.option("--model", default=None, help="Query model (default: the index's vectors' own).")
@click.option(
    "--color/--no-color",
    default=None,
    help="Mark matches in colour (default: on a terminal, unless NO_COLOR is set).",
)
def search_command(
    query: tuple[str, ...],
    index_dir: str | None,
    director: tuple[str, ...],
    cast: tuple[str, ...],
    genre: tuple[str, ...],
    year: tuple[str, ...],
    decade: tuple[str, ...],
    runtime: tuple[str, ...],
    limit: int,
    offset: int,
    sort: str,
    facets: str,
    output: str,
    as_json: bool,
    no_snippets: bool,
    exact: bool,
    plain: bool,
    explain: bool,
    mode: str | None,
    model: str | None,
    color: bool | None,
) -> None:
    """Search the index for QUERY and print the best films.

    QUERY is keywords, "quoted phrases", field:value (title director cast
    genre synopsis wiki year runtime), ranges (year:2010..2015, runtime:..100),
    decades (decade:1990s), AND / OR / NOT and parentheses. Syntax applies
    where it reads as meant; a description reads as words (or say so with
    --plain). QUERY - reads the query from standard input. A filter option
    given twice means either value; different options must all hold.
    Misspelt words are corrected (the output says so) unless --exact.

    \b
    Example:
      filmsearch search whale trainer accident
      filmsearch search 'director:audiard year:2010..2015 cast:"marion cotillard"'
      filmsearch search heist --year 1990..2005 --json
      filmsearch search --genre drama --genre comedy --decade 1990s --sort -year
      filmsearch search love --facets decade,genre --offset 10
      filmsearch search --plain - < description.txt
    """
    text = read_stdin() if query == ("-",) else " ".join(query)
    if not text.strip() and not any((director, cast, genre, year, decade, runtime)):
        raise CliError("give a query or at least one filter (see filmsearch search --help)", 2)
    try:
        facet_names = check_facets(facets)
    except ValueError as error:
        raise CliError(str(error), 2) from None
    output = "json" if as_json else output
    with FilmSearch(resolve_index(index_dir), model=model, arrays=None) as fs:  # searches once
        results = fs.search(
            text,
            director=list(director),
            cast=list(cast),
            genre=list(genre),
            year=[*year],
            decade=list(decade),
            runtime=[*runtime],
            limit=limit,
            offset=offset,
            sort=sort,
            facets=facet_names,
            exact=exact,
            plain=plain,
            explain=explain,
            snippets=not no_snippets,
            mode=mode,
        )
    if results.note:
        say(f"note: {results.note}", err=True)
    if results.partial:
        say(
            "note: partial results: the search ran out of time or a wildcard stood for too "
            "many words; narrow the query for complete results",
            err=True,
        )
    print_results(results, output, color)


def render_text(results: Results, color: bool) -> str:
    """Human-readable results; matched words in bold colour, or between asterisks.

    Film text is shown with control characters escaped (``for_terminal``).
    """
    lines = []
    if results.corrected is not None:
        lines.append(
            f"Showing results for {for_terminal(repr(results.corrected))} "
            f"(search for {for_terminal(repr(results.query))} as typed with --exact)."
        )
    suggestions = (
        ["Did you mean: " + ", ".join(for_terminal(s) for s in results.suggestions) + "?"]
        if results.suggestions
        else []
    )
    if not results.hits:
        if results.total and results.offset:
            lines.append(
                f"{results.total} film{'s' if results.total != 1 else ''} match; "
                f"none after the first {results.offset}."
            )
        else:
            searched = results.query if results.corrected is None else results.corrected
            lines.append(f"No films match {for_terminal(repr(searched))}.")
        return "\n".join(lines + suggestions)
    first, last = results.hits[0].rank, results.hits[-1].rank
    shown = f"showing {len(results.hits)}" if first == 1 else f"showing {first} to {last}"
    order = f", by {SORT_NAMES[results.sort]}" if results.sort != "relevance" else ""
    lines += [
        f"{results.total} film{'s' if results.total != 1 else ''} match; {shown}{order}.",
        *suggestions,
        "",
    ]
    if results.facets:
        lines += [*render_facets(results.facets), ""]
    if any(hit.explanation for hit in results):
        lines += [
            f"understood: {for_terminal(results.understood)}",
            f"parsed: {for_terminal(results.parsed)}",
            "",
        ]
    for hit in results:
        lines.append(f"{hit.rank:>2}. " + _headline(hit, color))
        lines.append(f"    id {for_terminal(hit.id)}")
        if hit.explanation:
            lines += [f"    {for_terminal(line)}" for line in hit.explanation.lines()]
        for name in SNIPPET_FIELDS:
            snippet = hit.snippets.get(name)
            if snippet and snippet.text:
                marks = ("\x1b[1;33m", "\x1b[0m") if color else PLAIN_MARKS
                marked = snippet.render(*marks, escape=for_terminal)
                lines.append(f"    {name}: {marked}")
        lines.append("")
    return "\n".join(lines).rstrip()


#: How the human output names each sort order.
SORT_NAMES = {
    "relevance": "relevance",
    "year": "year, oldest first",
    "-year": "year, newest first",
    "title": "title",
    "runtime": "running time, shortest first",
    "-runtime": "running time, longest first",
}
#: Values shown per facet in the human output.
FACET_VALUES_SHOWN = 6


def render_facets(facets: dict[str, list[dict[str, str | int]]]) -> list[str]:
    """One line per facet: ``genre: Drama 921 · Comedy 549 · …``."""
    lines = []
    for name, values in facets.items():
        shown = " · ".join(
            f"{for_terminal(str(v['value']))} {v['count']}" for v in values[:FACET_VALUES_SHOWN]
        )
        more = " · …" if len(values) > FACET_VALUES_SHOWN else ""
        lines.append(f"{name}: {shown or '(none)'}{more}")
    return lines


#: Columns of ``--format csv``: the table's, one film a row.
CSV_COLUMNS = ("rank", "title", "year", "director", "runtime", "score", "id", *SNIPPET_FIELDS)


def render_csv(results: Results) -> str:
    """The hits as CSV with a header row, the columns of the human table (CSV_COLUMNS).

    Film text has control characters escaped (``for_terminal``), as in the table.
    """
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for hit in results:
        snippets = [
            hit.snippets[name].text if name in hit.snippets else "" for name in SNIPPET_FIELDS
        ]
        row = [hit.rank, hit.title, hit.year, hit.director, hit.runtime, f"{hit.score:.4f}", hit.id]
        writer.writerow(
            [for_terminal("" if value is None else str(value)) for value in [*row, *snippets]]
        )
    return out.getvalue()


def _headline(hit: Hit, color: bool) -> str:
    title = for_terminal(hit.title)
    title = click.style(title, bold=True) if color else title
    parts = [f"{title} ({hit.year})" if hit.year else title]
    if hit.directors:
        parts.append(for_terminal(hit.director))
    if hit.runtime:
        parts.append(f"{hit.runtime} min")
    parts.append(f"score {hit.score:.2f}")
    return "  ·  ".join(parts)


def render_html(results: Results) -> str:
    """An HTML fragment: one <article> per hit, matches in <mark>."""
    import html

    out = [f'<section class="filmsearch-results" data-total="{results.total}">']
    for hit in results:
        out.append(f'<article data-rank="{hit.rank}" data-id="{html.escape(hit.id)}">')
        year = f" ({hit.year})" if hit.year else ""
        out.append(f"<h2>{html.escape(hit.title)}{year}</h2>")
        for name in SNIPPET_FIELDS:
            snippet = hit.snippets.get(name)
            if snippet and snippet.text:
                out.append(f'<p class="{name}">{snippet.html()}</p>')
        out.append("</article>")
    out.append("</section>")
    return "\n".join(out)


@cli.command("similar")
@click.argument("film_id")
@index_option
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Most films to show.",
)
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Films to skip first.")
@output_options
@click.option("--color/--no-color", default=None, help="Mark matches in colour.")
def similar_command(
    film_id: str,
    index_dir: str | None,
    limit: int,
    offset: int,
    output: str,
    as_json: bool,
    no_snippets: bool,
    color: bool | None,
) -> None:
    """Print films like the film FILM_ID: the words that mark its synopsis and wiki
    text, and its director, cast and genres. Never the film itself.

    \b
    Example:
      filmsearch similar 000_d3cc3de14da1a221
      filmsearch similar 000_d3cc3de14da1a221 -n 3 --json
    """
    with FilmSearch(resolve_index(index_dir), arrays=None) as fs:  # searches once
        try:
            results = fs.similar(film_id, limit=limit, offset=offset, snippets=not no_snippets)
        except FilmNotFoundError as error:
            raise CliError(f"{error}; ids are listed by filmsearch search", 1) from None
        film = fs.get(film_id)
    output = "json" if as_json else output
    if results.partial:
        say("note: partial results: the search ran out of time", err=True)
    if output != "text" or film is None:
        print_results(results, output, color)
        return
    year = f" ({film.year})" if film.year else ""
    say(f"Films like {film.title}{year}:")
    print_results(results, output, color)


def print_results(results: Results, output: str, color: bool | None) -> None:
    """``results`` in the output format (text, json, ndjson, html or csv)."""
    if output == "json":
        print_json(results.to_dict())
    elif output == "ndjson":
        for hit in results:
            print_json(hit.to_dict(), indent=None)
    elif output == "html":
        say(render_html(results), multiline=True)
    elif output == "csv":
        click.echo(render_csv(results), nl=False)
    else:
        colored = use_color(color)
        click.echo(render_text(results, colored), color=colored)


@cli.command("show")
@click.argument("film_id")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_command(film_id: str, index_dir: str | None, as_json: bool) -> None:
    """Print everything the index holds about the film FILM_ID.

    \b
    Example:
      filmsearch show 000_d3cc3de14da1a221
    """
    with FilmSearch(resolve_index(index_dir)) as fs:
        film = fs.get(film_id)
    if film is None:
        raise CliError(f"no film with id {film_id!r}; ids are listed by filmsearch search", 1)
    data = film.to_dict()
    if as_json:
        print_json(data)
        return
    for key in ("title", "year", "runtime", "director", "cast", "genres", "path"):
        value = data[key]
        value = ", ".join(value) if isinstance(value, list) else value
        say(f"{key + ':':<10}{'' if value is None else value}")
    say(f"\nsynopsis:\n{film.synopsis}\n\nwiki:\n{film.wiki}", multiline=True)


@cli.command("stats")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def stats_command(index_dir: str | None, as_json: bool) -> None:
    """Print what the index holds: films, terms, fields, stemmer, size, last build.

    \b
    Example:
      filmsearch stats --json
    """
    with FilmSearch(resolve_index(index_dir)) as fs:
        stats = fs.stats()
    if as_json:
        print_json(stats.to_dict())
        return
    for label, value in (
        ("index", stats.index_dir),
        ("films", stats.films),
        ("terms", stats.terms),
        ("fields", ", ".join(stats.fields)),
        ("stemmer", stats.stemmer),
        ("size", f"{stats.size_bytes / 1e6:.2f} MB"),
        ("last build", stats.built_at),
    ):
        say(f"{label + ':':<12}{value}")


@cli.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False))
@index_option
@click.option(
    "--form",
    "forms",
    multiple=True,
    help="Query form to run (repeatable; default: every form in the file).",
)
@click.option(
    "--run",
    "run_path",
    type=click.Path(dir_okay=False),
    help="Write TREC run files (RUN.FORM) and relevance judgements (RUN.qrels).",
)
@click.option("--tag", default="filmsearch", show_default=True, help="Run tag in TREC files.")
@click.option(
    "--baseline",
    is_flag=True,
    help="Also run plain BM25 (one text field, k1=1.2, b=0.75) on the same index.",
)
@click.option(
    "--mode",
    "modes",
    type=click.Choice(MODES),
    multiple=True,
    help="Ranking mode to measure (repeatable, side by side; default: the index's default).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_command(
    queries: str,
    index_dir: str | None,
    forms: tuple[str, ...],
    run_path: str | None,
    tag: str,
    baseline: bool,
    modes: tuple[str, ...],
    as_json: bool,
) -> None:
    """Measure ranking on known-item requests (JSON Lines like tot-dev.jsonl).

    Reports MRR@10, success@1, success@10, nDCG@10, mean latency and the
    queries refused as bad queries for each query form, with every query run
    through the normal search, as a user's would be.

    \b
    Example:
      filmsearch eval ../shared/eval/tot-dev.jsonl --index films.idx --baseline
      filmsearch eval ../shared/eval/tot-dev.jsonl --mode lexical --mode hybrid
    """
    from .evaluation import evaluate, read_requests, write_qrels  # here: searches start faster

    requests = read_requests(queries)
    names = list(forms) or sorted({form for request in requests for form in request.forms})
    if run_path:
        os.makedirs(os.path.dirname(os.path.abspath(run_path)), exist_ok=True)
    systems: list[tuple[bool, str | None]] = [(False, mode) for mode in modes or [None]]
    if baseline:
        systems.append((True, None))
    with contextlib.ExitStack() as files:
        run_files: dict[str, TextIO] = {
            form: files.enter_context(open(f"{run_path}.{form}", "w", encoding="utf-8"))
            for form in (names if run_path else [])
        }
        with (
            FilmSearch(resolve_index(index_dir)) as fs,
            _progress(len(requests) * len(names) * len(systems)) as progress,
        ):
            reports = []
            for number, (is_baseline, mode) in enumerate(systems):
                reports += evaluate(
                    fs,
                    requests,
                    names,
                    baseline=is_baseline,
                    mode=mode,
                    tag=tag,
                    run_files=run_files if number == 0 else None,
                    progress=progress and _shifted(progress, number * len(requests) * len(names)),
                )
        reports.sort(key=lambda report: report.form)
        if run_path:
            with open(f"{run_path}.qrels", "w", encoding="utf-8") as handle:
                write_qrels(requests, handle)
    if as_json:
        print_json({"queries": queries, "forms": [report.to_dict() for report in reports]})
        return
    say(
        f"{'form':<8}{'ranking':<12}{'queries':>8}{'MRR@10':>9}{'succ@1':>9}"
        f"{'succ@10':>9}{'nDCG@10':>9}{'mean ms':>9}{'refused':>9}"
    )
    for r in reports:
        say(
            f"{r.form:<8}{r.system:<12}{r.queries:>8}{r.mrr:>9.3f}{r.success_1:>9.3f}"
            f"{r.success_10:>9.3f}{r.ndcg:>9.3f}{r.mean_ms:>9.1f}{r.refused:>9}"
        )


def _opensearch_index_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from .export import check_index_name

    try:
        return check_index_name(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@cli.command("export")
@index_option
@click.option(
    "--format",
    "export_format",
    type=click.Choice(EXPORT_FORMATS),
    default="opensearch",
    show_default=True,
    help="What to export for.",
)
@click.option(
    "--out",
    type=click.Path(),
    default=".",
    show_default=True,
    help="File prefix (writes PREFIX.ndjson, PREFIX.mapping.json, PREFIX.query.json), "
    "or a folder to write INDEX_NAME.* in.",
)
@click.option(
    "--index-name",
    default="films",
    show_default=True,
    callback=_opensearch_index_name,
    help="OpenSearch index the bulk file's action lines name.",
)
def export_command(index_dir: str | None, export_format: str, out: str, index_name: str) -> None:
    """Write the index's films for OpenSearch or Elasticsearch (a cluster, when one
    machine is not enough): a bulk file, the index mapping and an example query.

    \b
    Example:
      filmsearch export --out films
      curl -XPUT localhost:9200/films -H 'Content-Type: application/json' \\
           --data-binary @films.mapping.json
      curl -XPOST localhost:9200/_bulk -H 'Content-Type: application/x-ndjson' \\
           --data-binary @films.ndjson
    """
    from .export import EXPORTERS  # here: a search does not load the exporter

    report = EXPORTERS[export_format](resolve_index(index_dir), out, index_name=index_name)
    for warning in report.warnings:
        say(f"filmsearch: warning: {warning}", err=True)
    say(report.summary())


@cli.command("serve")
@index_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 or :: for every interface).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--cors",
    metavar="ORIGIN",
    default=None,
    help="Let web pages from ORIGIN call the API (default: no CORS).",
)
def serve_command(index_dir: str | None, host: str, port: int, cors: str | None) -> None:
    """Serve a search page and a JSON API over HTTP until Ctrl-C.

    Needs the serve extra: pip install 'filmsearch[serve]'. The page is at /,
    the API under /api/ (schema at /openapi.json).

    \b
    Example:
      filmsearch serve
      filmsearch serve --port 8080 --cors https://films.example.org
    """
    try:
        from .server import run_server
    except ImportError as error:
        raise CliError(
            f"filmsearch serve needs the serve extra ({error.name or 'a module'} is missing): "
            "pip install 'filmsearch[serve]'"
        ) from None
    try:
        run_server(resolve_index(index_dir), host, port, cors, announce=say)
    except OSError as error:
        if error.filename:  # a file of the index, not the address
            raise
        raise CliError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None


def _shifted(progress: Callable[[int, int], None], start: int) -> Callable[[int, int], None]:
    """A progress callback for one of several passes, counting on from ``start``."""
    return lambda done, total: progress(start + done, total)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on a terminal's stderr, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="evaluating", file=sys.stderr) as bar:
        yield lambda done, _total: bar.update(done - bar.pos)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="filmsearch")
