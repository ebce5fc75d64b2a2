"""Build and update a filmsearch index on disk.

``build_index`` is both the first build and every later update: files whose
content is unchanged are skipped, changed files are replaced, and films whose
files are gone from the given folders are removed. Each run ends in one Whoosh
commit, which is atomic: readers see the old index or the new one, never a mix.
A first build or a ``rebuild`` is written to a hidden folder inside the index
folder and published as the index's next generation only once it is complete.
One writer at a time holds the lock in ``locking``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import pickle
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from whoosh import index as whoosh_index
from whoosh import multiproc
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, LockError, clean_files
from whoosh.multiproc import MpWriter, SubWriterTask

from . import whoosh_compat
from .analysis import DEFAULT_STEMMER, STEMMERS
from .errors import (
    DocumentError,
    FilmSearchError,
    IndexDamagedError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    NotFilmsError,
    SemanticUnavailableError,
    reading_index,
)
from .fast_writer import FastSegmentWriter
from .formats import FORMATS, iter_source_files, read_source, stream_digest
from .locking import LOCK_FILE, writer_lock
from .manifest import (  # re-exported: the read-only half, apart for a search's quick start
    MANIFEST,
    MATRIX_PREFIX,
    VECTORS_META,
    has_vectors,
    open_index,
    read_manifest,
    schema_stemmer,
)
from .postings import PostingsCapture
from .schema import build_schema, document_to_film, film_to_document, index_text

if TYPE_CHECKING:  # pragma: no cover  (numpy: the semantic extra)
    from .embedding import PendingVectors

whoosh_compat.check_parallel_writer()

#: The manifest while it is written; hidden, so that a racing writer never takes it for
#: a stranger's file.
MANIFEST_TMP = ".filmsearch.json.tmp"
FORMAT_VERSION = 1
INDEX_NAME = "MAIN"
BUILD_PREFIX = ".filmsearch-build-"
#: Memory for the writer's posting buffers (split between worker processes): past it, a
#: segment's postings so far are spilled to a sorted run on disk (``inverter``). 100,000
#: films fit without spilling; a process's resident size is about 1.5 times its share.
WRITER_MB = 768
#: The writer of the segments a build adds (a test may set Whoosh's ``SegmentWriter``).
SEGMENT_WRITER: type = FastSegmentWriter
#: Corpora larger than this (bytes of source files, about 1,000 films) use every core.
PARALLEL_BYTES = 1024 * 1024

PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class BuildProgress:
    """Where a build is: sent to ``build_index``'s ``progress`` callback after each film,
    after each file, and when the commit starts (``phase`` "committing")."""

    phase: str  # "reading", "committing" or "embedding"
    films: int  # films read so far, unchanged files' films included
    files_done: int
    files_total: int
    bytes_done: int  # of the source files, counted a whole file at a time
    bytes_total: int
    embedded: int = 0  # films embedded so far ("embedding" phase)
    to_embed: int = 0  # films that need a new vector in this build


ProgressCallback = Callable[[BuildProgress], None]
ProblemCallback = Callable[[DocumentError, bool], None]


def path_list(paths: PathArg | Iterable[PathArg], argument: str) -> list[str]:
    """One path or an iterable of paths, as a list of strings; TypeError naming ``argument``."""
    items: object = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    if isinstance(items, bytes) or not isinstance(items, Iterable):
        raise TypeError(f"{argument} must be a path or an iterable of paths, not {items!r:.60}")
    result = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"{argument} must hold str or os.PathLike paths, not {item!r:.60}")
        result.append(os.fspath(item))
    return result


@dataclass
class BuildReport:
    """What one build or update did. ``embedded``: films given a new vector (``semantic``);
    ``vectors``: whether the index has film vectors after the build."""

    index_dir: str
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    films: int = 0
    seconds: float = 0.0
    skipped: list[DocumentError] = field(default_factory=list)
    warnings: list[DocumentError] = field(default_factory=list)
    #: How many of the skipped files are not film documents at all (a README, a licence).
    not_films: int = 0
    embedded: int = 0
    vectors: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def indexed_sources(ix: Any) -> dict[str, tuple[str, int]]:
    """Map every source path in the index to the digest of its indexed version and its film count.

    Only live documents count: Whoosh's term list and document frequencies still
    count deleted documents until their segment is merged away, so they cannot
    tell whether a file's films are in the index. Paths are as stored (escaped by
    ``index_text``). A path whose live films come from two versions gets the
    digest "", so that its next update replaces them.
    """
    known: dict[str, tuple[str, int]] = {}
    with ix.reader() as reader:
        if reader.schema["source"].stored:
            keys: Iterator[str] = (
                stored.get("source", "") for stored in reader.all_stored_fields()
            )
        else:  # an index built before ``source`` was stored: count live postings
            keys = _live_source_terms(reader)
        for key in keys:
            path, _, digest = key.rpartition("\t")
            old_digest, count = known.get(path, (digest, 0))
            known[path] = (digest if old_digest == digest else "", count + 1)
    return known


def _live_source_terms(reader: Any) -> Iterator[str]:
    """Each ``source`` term once per live document that holds it."""
    for term in reader.lexicon("source"):
        key = term.decode("utf-8") if isinstance(term, bytes) else term
        for _ in reader.postings("source", term).all_ids():  # skips deleted documents
            yield key


def _write_manifest(index_dir: str, stemmer: str, films: int) -> None:
    manifest = {
        "format": FORMAT_VERSION,
        "stemmer": stemmer,
        "films": films,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = os.path.join(index_dir, MANIFEST_TMP)
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
    os.replace(tmp, os.path.join(index_dir, MANIFEST))


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _ours(name: str) -> bool:
    """Whether a name in an index folder is one that filmsearch writes before the manifest."""
    return name in (LOCK_FILE, MANIFEST_TMP) or name.startswith(BUILD_PREFIX)


def _prepare_target(index_dir: str) -> None:
    """Refuse to build into a folder that holds anything but a filmsearch index.

    A missing or empty folder is fine, and so is one holding only what a
    writer creates before its manifest (the lock file, a build folder): that is
    another writer's first build, which the lock will name. Anything else, hidden
    files included, is somebody's data.
    """
    if os.path.exists(index_dir) and not os.path.isdir(index_dir):
        raise IndexMismatchError(f"{index_dir} is a file, not an index folder")
    if not os.path.isdir(index_dir) or read_manifest(index_dir) is not None:
        return
    foreign = sorted(name for name in os.listdir(index_dir) if not _ours(name))
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise IndexMismatchError(
            f"{index_dir} is not empty and is not a filmsearch index (it holds "
            f"{foreign[0]!r}{more}); choose an empty or new --index folder"
        )


def _remove_stale_builds(index_dir: str) -> None:
    """Delete build folders left by writers that were killed (we hold the lock)."""
    for name in os.listdir(index_dir):
        if name.startswith(BUILD_PREFIX):
            shutil.rmtree(os.path.join(index_dir, name), ignore_errors=True)


def _publish(workdir: str, index_dir: str) -> tuple[int, int]:
    """Make the finished build in ``workdir`` the index's newest generation.

    The segment files are moved in first; readers switch over only when the
    new table of contents is renamed into place (atomically, by Whoosh).
    Returns the number of films and the new generation.
    """
    built = FileStorage(workdir)
    target = FileStorage(index_dir)
    toc = TOC.read(built, INDEX_NAME)
    toc_name = whoosh_compat.toc_filename(INDEX_NAME, toc.generation)
    for name in os.listdir(workdir):
        if name != toc_name:
            os.replace(os.path.join(workdir, name), os.path.join(index_dir, name))
    toc.generation = max(whoosh_compat.latest_generation(target, INDEX_NAME), -1) + 1
    toc.write(target, INDEX_NAME)
    clean_files(target, INDEX_NAME, toc.generation, toc.segments)
    return sum(segment.doc_count() for segment in toc.segments), toc.generation


def drop_vectors(index_dir: str) -> None:
    """Delete the index's film vectors: the description first, so they vanish at once."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(index_dir, VECTORS_META))
    for name in os.listdir(index_dir):
        if name.startswith(MATRIX_PREFIX) and name.endswith(".npy"):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(index_dir, name))


def _embed(
    ix: Any,
    index_dir: str,
    model: str | None,
    report: BuildReport,
    progress: ProgressCallback | None,
) -> PendingVectors:
    """Embed the new and changed films of ``ix`` (``embedding.prepare_vectors``); not published."""
    from .embedding import prepare_vectors

    with ix.reader() as reader:
        films = [document_to_film(stored) for stored in reader.all_stored_fields()]

    def embedding_progress(done: int, total: int) -> None:
        if progress:
            progress(BuildProgress("embedding", len(films), 0, 0, 0, 0, done, total))

    pending = prepare_vectors(index_dir, films, model, progress=embedding_progress)
    report.embedded = pending.embedded
    return pending


def build_index(
    paths: PathArg | Iterable[PathArg],
    index_dir: PathArg,
    *,
    stemmer: str | None = None,
    rebuild: bool = False,
    source_format: str = "auto",
    jobs: int | None = None,
    progress: ProgressCallback | None = None,
    on_problem: ProblemCallback | None = None,
    semantic: bool | None = None,
    model: str | None = None,
) -> BuildReport:
    """Index the film files under ``paths`` (one path or several) into ``index_dir``.

    Returns a BuildReport of what was done.

    ``source_format`` is one of ``FORMATS``: seed documents, CSV dumps, JSON
    Lines, or "auto" to detect each file's format. ``jobs`` is the number of
    processes that analyse text; by default every core when the files to read
    add up to more than ``PARALLEL_BYTES``, else one.

    ``stemmer`` is one of ``STEMMERS``; it defaults to the existing index's stemmer,
    or to Snowball for a new index. Asking for a different stemmer than the
    index's needs ``rebuild=True``. Bad documents are reported through
    ``on_problem(error, skipped)`` and in the report, and never stop the build.

    A file reached twice (a folder given twice, a folder and a file in it, a
    link) is read once. Within one file, the first film with a given id is
    kept; later films with the same id are reported (``duplicate id``) and
    skipped. A changed file that can no longer be read loses its films, as a
    fresh build would not have them either.

    ``semantic=True`` also gives every film a sentence-embedding vector (the
    ``semantic`` extra; ``model`` names the model, default the bundled
    all-MiniLM-L6-v2), kept beside the index and updated with it: only new or
    changed films are embedded. ``semantic=None`` keeps whatever the index has
    (vectors are updated if it has them); ``semantic=False`` drops them. A first
    build or a rebuild publishes the vectors together with the index; an update
    publishes them right after its commit (searches meanwhile rank the changed
    films with their previous vectors, new ones lexically).

    Raises IndexLockedError if another process is writing the same index,
    IndexMismatchError if ``index_dir`` is a folder that is neither empty nor a
    filmsearch index, and FilmSearchError (or OSError, such as a full disk) if
    writing fails; the index is then left as it was last committed.
    """
    started = time.perf_counter()
    roots = [os.path.abspath(path) for path in path_list(paths, "paths")]
    if not isinstance(index_dir, (str, os.PathLike)):
        raise TypeError(f"index_dir must be a str or os.PathLike path, not {index_dir!r:.60}")
    index_dir = os.path.abspath(os.fspath(index_dir))
    if stemmer is not None and stemmer not in STEMMERS:
        raise ValueError(f"unknown stemmer {stemmer!r}; choose one of {', '.join(STEMMERS)}")
    if source_format not in FORMATS:
        raise ValueError(f"unknown format {source_format!r}; choose one of {', '.join(FORMATS)}")
    _prepare_target(index_dir)
    asked = semantic
    if semantic is None:
        semantic = has_vectors(index_dir) or None
    if semantic:
        why = "--semantic" if asked else "this index has film vectors: updating them"
        try:
            from . import embedding  # numpy; sentence-transformers once a film is embedded
        except ImportError:
            raise SemanticUnavailableError(
                f"{why} needs the semantic extra: pip install 'filmsearch[semantic]'"
                + ("" if asked else " (or --no-semantic to drop them)")
            ) from None
        embedding.check_ready(index_dir, model, why)  # fails before any work
    report = BuildReport(index_dir=index_dir)

    def problem(error: DocumentError, skipped: bool) -> None:
        (report.skipped if skipped else report.warnings).append(error)
        report.not_films += isinstance(error, NotFilmsError)
        if on_problem:
            on_problem(error, skipped)

    sources = _unique_sources(iter_source_files(roots), problem)

    with writer_lock(index_dir):
        _prepare_target(index_dir)  # again: the folder cannot change under the lock
        _remove_stale_builds(index_dir)
        existing, known = _read_existing(index_dir, tolerate_damage=rebuild)
        try:
            current = schema_stemmer(existing.schema) if existing else None
            if stemmer and current and stemmer != current and not rebuild:
                raise IndexMismatchError(
                    f"the index at {index_dir} was built with the {current} stemmer; "
                    f"add --rebuild to rebuild it with {stemmer}"
                )
            stemmer = stemmer or current or DEFAULT_STEMMER
            if existing and not rebuild:
                _update(
                    existing,
                    sources,
                    known,
                    roots,
                    report,
                    problem,
                    progress,
                    source_format,
                    jobs or 1,
                )
                report.films = existing.doc_count()
                generation = existing.latest_generation()
                if semantic and (
                    report.changed or not embedding.vectors_current(index_dir, generation)
                ):
                    _embed(existing, index_dir, model, report, progress).publish(generation)
        finally:
            if existing:
                existing.close()
        if not existing or rebuild:
            if read_manifest(index_dir) is None:  # a rebuild keeps the manifest of the old index
                _write_manifest(index_dir, stemmer, 0)  # marks the folder as ours from now on
            workdir = tempfile.mkdtemp(prefix=BUILD_PREFIX, dir=index_dir)
            try:
                with closing(whoosh_index.create_in(workdir, build_schema(stemmer))) as ix:
                    _update(
                        ix,
                        sources,
                        {},
                        roots,
                        report,
                        problem,
                        progress,
                        source_format,
                        jobs or _default_jobs(sources),
                        always=True,
                    )
                pending = None
                if semantic:
                    with closing(whoosh_index.open_dir(workdir)) as ix:
                        pending = _embed(ix, index_dir, model, report, progress)
                report.films, generation = _publish(workdir, index_dir)
                if pending:
                    pending.publish(generation)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        if semantic is False:
            drop_vectors(index_dir)
        report.vectors = has_vectors(index_dir)
        if report.changed or not current or rebuild:
            _write_manifest(index_dir, stemmer, report.films)
    report.seconds = time.perf_counter() - started
    return report


def _unique_sources(items: Iterable[str | DocumentError], problem: ProblemCallback) -> list[str]:
    """The source files to read, each once (by real path), in order; problems reported."""
    sources: list[str] = []
    seen_files: set[str] = set()
    seen_keys: dict[str, str] = {}
    for item in items:
        if isinstance(item, DocumentError):
            problem(item, True)
            continue
        real = os.path.realpath(item)
        if real in seen_files:
            continue
        seen_files.add(real)
        key = index_text(item)
        if key in seen_keys:  # two names that differ only in bytes that are not UTF-8
            problem(DocumentError(item, 1, f"same name as {seen_keys[key]} once escaped"), True)
            continue
        seen_keys[key] = item
        sources.append(item)
    return sources


def _read_existing(
    index_dir: str, tolerate_damage: bool
) -> tuple[Any | None, dict[str, tuple[str, int]]]:
    """The existing index, open, and its indexed sources; (None, {}) if there is none.

    A damaged index raises IndexDamagedError, or counts as none with ``tolerate_damage``.
    """
    if read_manifest(index_dir) is None:
        return None, {}
    ix = None
    try:
        ix = open_index(index_dir)
        with reading_index(index_dir):
            return ix, indexed_sources(ix)
    except IndexNotFoundError:
        return None, {}
    except IndexDamagedError:
        if ix is not None:
            ix.close()
        if tolerate_damage:
            return None, {}
        raise


def _default_jobs(sources: list[str]) -> int:
    """Every core for a large corpus; one process when starting workers costs more than it saves."""
    total = 0
    for path in sources:
        with contextlib.suppress(OSError):
            total += os.path.getsize(path)
        if total > PARALLEL_BYTES:
            return os.cpu_count() or 1
    return 1


def _update(
    ix: Any,
    sources: list[str],
    known: dict[str, tuple[str, int]],
    roots: list[str],
    report: BuildReport,
    problem: ProblemCallback,
    progress: ProgressCallback | None,
    source_format: str,
    jobs: int,
    always: bool = False,
) -> None:
    """Apply the sources to ``ix`` in one writer: commit if anything changed, else cancel.

    With ``jobs`` > 1, worker processes analyse documents, each writing its own
    segment (see ``_FilmMpWriter``). Whatever fails or interrupts the build
    (Ctrl-C included), the writer is cancelled and its workers stopped before
    the exception goes on, so the index stays as last committed.
    """
    try:
        if jobs > 1:
            writer: Any = _FilmMpWriter(ix, procs=jobs, limitmb=WRITER_MB // jobs)
        else:
            writer = SEGMENT_WRITER(ix, limitmb=WRITER_MB)
            _capture_postings(writer)
    except LockError:
        raise IndexLockedError(
            f"the index at {ix.storage.folder} is being written by another process"
        ) from None
    try:
        read = _index_sources(writer, sources, known, report, problem, progress, source_format)
        escaped_roots = [index_text(root) for root in roots]
        for path in known.keys() - {index_text(source) for source in sources}:
            if _under(path, escaped_roots):
                report.removed += writer.delete_by_term("path", path)
        if report.changed or always:
            if progress:
                progress(replace(read, phase="committing"))
            writer.commit()
        else:
            _cancel(writer)
    except BaseException:
        with _sigint_deferred():
            _cancel(writer)
            _remove_unreferenced_files(ix)
        raise
    _stop_workers(writer)


def _remove_unreferenced_files(ix: Any) -> None:
    """Delete the segment files a failed writer left beside the committed index.

    Best effort (a full disk should not stay full of them); we hold the lock,
    and Whoosh does the same after every commit.
    """
    with contextlib.suppress(Exception):
        toc = TOC.read(ix.storage, INDEX_NAME)
        clean_files(ix.storage, INDEX_NAME, toc.generation, toc.segments)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) for the duration; one that came is raised again at the end.

    A KeyboardInterrupt in the middle of starting a worker would leave a process
    nobody knows the PID of, and one in the middle of stopping workers would
    leave some running. Only the main thread receives KeyboardInterrupt.
    """
    interrupted: list[int] = []
    old = signal.getsignal(signal.SIGINT)
    if old is None or threading.current_thread() is not threading.main_thread():
        yield  # a handler set outside Python cannot be put back; other threads get no SIGINT
        return
    signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if interrupted:
            signal.raise_signal(signal.SIGINT)


def _cancel(writer: Any) -> None:
    """Cancel a writer and stop the worker processes of a parallel one.

    Whoosh's MpWriter.cancel() only flags its workers in this process, so they
    would wait for documents forever; they are terminated here. A writer whose
    commit failed halfway may refuse to cancel: its lock and temporary files are
    then released by hand. A second Ctrl-C waits until this is done.
    """
    with _sigint_deferred():
        try:
            _stop_workers(writer)
        finally:
            try:
                writer.cancel()
            except Exception:
                whoosh_compat.cleanup_failed_writer(writer)


def _stop_workers(writer: Any) -> None:
    if isinstance(writer, _FilmMpWriter):
        writer.stop_workers()


def _index_sources(
    writer: Any,
    sources: list[str],
    known: dict[str, tuple[str, int]],
    report: BuildReport,
    problem: ProblemCallback,
    progress: ProgressCallback | None,
    source_format: str,
) -> BuildProgress:
    """Add, replace or skip the films of every source; report progress after each film."""
    sizes = [_size(path) for path in sources]
    state = BuildProgress("reading", 0, 0, len(sources), 0, sum(sizes))
    films = 0  # read so far (the state is made only for a callback: 5 µs a film)

    def film_read() -> None:
        nonlocal films
        films += 1
        if progress:
            progress(replace(state, films=films))

    for done, (path, size) in enumerate(zip(sources, sizes, strict=True), start=1):
        _index_source(writer, path, known, report, problem, source_format, film_read)
        state = replace(state, films=films, files_done=done, bytes_done=state.bytes_done + size)
        if progress:
            progress(state)
    return state


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _index_source(
    writer: Any,
    path: str,
    known: dict[str, tuple[str, int]],
    report: BuildReport,
    problem: ProblemCallback,
    source_format: str,
    film_read: Callable[[], None],
) -> None:
    """Add, replace or skip the films of one file; ``film_read()`` after each film."""
    key = index_text(path)
    old_digest, old_count = known.get(key, ("", 0))
    try:
        digest = stream_digest(path)
        if old_digest == digest:
            report.unchanged += old_count
            for _ in range(old_count):
                film_read()
            return
        films = read_source(path, source_format)
        first = next(films, None)  # a file-level error (unreadable, no title column) comes here
    except DocumentError as error:
        problem(error, True)
        first, films = None, iter(())
    if old_count:
        writer.delete_by_term("path", key)
    added = 0
    first_of_id: dict[str, int] = {}  # id: line
    for item in itertools.chain([first] if first else [], films):
        if isinstance(item, DocumentError):
            problem(item, True)
            continue
        film_id = index_text(item.film.id)
        if film_id in first_of_id:
            problem(
                DocumentError(
                    path,
                    item.line,
                    f"duplicate id {film_id!r}, first on line {first_of_id[film_id]}; skipped",
                ),
                True,
            )
            continue
        first_of_id[film_id] = item.line
        for warning in item.warnings:
            problem(warning, False)
        _add_document(writer, film_to_document(item.film, digest))
        added += 1
        film_read()
    replaced = min(old_count, added)
    report.replaced += replaced
    report.added += added - replaced
    report.removed += old_count - replaced


def _capture_postings(writer: Any) -> None:
    """Save the postings of the segment ``writer`` writes as arrays too (``index.postings``)."""
    schema = writer.schema
    fields = [name for name in schema.names() if schema[name].scorable]
    capture = PostingsCapture(fields, writer.storage.folder)
    whoosh_compat.capture_postings(writer, capture, tee=not isinstance(writer, FastSegmentWriter))


def _add_document(writer: Any, document: dict[str, Any]) -> None:
    """Add one document; what Whoosh raises other than OSError becomes FilmSearchError."""
    try:
        writer.add_document(**document)
    except OSError:
        raise
    except Exception as error:
        raise FilmSearchError(
            f"could not index a film of {document.get('path', '?')} "
            f"({type(error).__name__}: {error}); the index was left as it was"
        ) from error


@dataclass(frozen=True)
class _WorkerFailure:
    """What a worker process sends back instead of its segment when it fails."""

    message: str
    errno: int | None = None

    def raise_(self) -> None:
        if self.errno is not None:
            raise OSError(self.errno, self.message)
        raise FilmSearchError(self.message)


class _Worker(SubWriterTask):
    """A worker process of a parallel build: Whoosh's ``SubWriterTask`` loop with a
    ``FastSegmentWriter``.

    It ignores Ctrl-C (the parent stops it), never prints a traceback, and
    reports a failure on the result queue instead of its segment.
    """

    writer: Any

    def run(self) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # (until here, _sigint_deferred's)
        try:
            self._write_segment()
        except BaseException as error:
            if isinstance(error, OSError) and error.errno is not None:
                strerror = error.strerror or os.strerror(error.errno)
                failure = _WorkerFailure(
                    f"{strerror} (in a worker process writing the index); "
                    "the index was left as it was",
                    error.errno,
                )
            elif isinstance(error, FilmSearchError):
                failure = _WorkerFailure(str(error))
            else:
                failure = _WorkerFailure(
                    f"a worker process failed ({type(error).__name__}: {error}); "
                    "the index was left as it was"
                )
            with contextlib.suppress(BaseException):
                self.resultqueue.put(failure, timeout=5)
            raise SystemExit(1) from None  # ends the process quietly

    def _write_segment(self) -> None:
        """Index the job files until told to finish; send back the finished segment.

        Without the cyclic garbage collector: the worker's heap is its segment's postings,
        millions of long-lived objects that each full collection walks again (3 to 4 % of
        a build's time), and indexing makes no reference cycles to collect (the process
        ends with its segment).
        """
        gc.disable()
        ix = self.storage.open_index(self.indexname)
        self.writer = writer = SEGMENT_WRITER(ix, _lk=False, **self.kwargs)
        _capture_postings(writer)
        while True:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        segment = whoosh_compat.finalize_segment(writer)
        self.resultqueue.put((None, set(), segment), timeout=5)

    def _process_file(self, filename: str, doc_count: int) -> None:
        writer = self.writer
        tempstorage = writer.temp_storage()
        with tempstorage.open_file(filename).raw_file() as handle:
            for _ in range(doc_count):
                # Whoosh's own loader for job files, which safe_pickle restricts.
                code, fields = multiproc.pickle.load(handle)
                assert code == 0
                _add_document(writer, fields)
        tempstorage.delete_file(filename)


class _FilmMpWriter(MpWriter):
    """Whoosh's multiprocessing writer, made to fail loudly instead of losing films.

    Whoosh's MpWriter waits for a dead worker forever when its job queue is
    full, drops the results of workers that died (committing without their
    films), and leaves its workers to Ctrl-C. Here: workers are ``_Worker``
    processes that ignore SIGINT; the parent checks on them while it waits,
    raises the failure a worker reports (FilmSearchError, or OSError such as
    ENOSPC), and before committing checks that the workers' segments hold every
    document sent. Each worker writes its own segment (``multisegment``).
    It overrides Whoosh's private hooks ``_new_task``, ``_enqueue`` and ``_commit``,
    which ``whoosh_compat`` checks, and commits through it.
    """

    def __init__(self, ix: Any, procs: int, limitmb: int) -> None:
        base: Any = super()  # Whoosh's methods are untyped
        base.__init__(ix, procs=procs, multisegment=True, limitmb=limitmb)
        self.sent = 0
        _capture_postings(self)  # segments merged at commit

    def _new_task(self) -> _Worker:
        worker: Any = _Worker  # its __init__ is Whoosh's, untyped
        task: _Worker = worker(
            self.storage,
            self.indexname,
            self.jobqueue,
            self.resultqueue,
            self.subargs,
            self.multisegment,
        )
        self.tasks.append(task)
        with _sigint_deferred():  # neither this process nor the worker may stop halfway
            task.start()
        return task

    def add_document(self, **fields: Any) -> None:
        self.sent += 1
        base: Any = super()  # Whoosh's methods are untyped
        base.add_document(**fields)

    def _enqueue(self) -> None:
        filename = f"{len(self.tasks)}-{self.sent}-{os.getpid()}.doclist"
        whoosh: Any = self  # Whoosh's methods are untyped
        with whoosh.temp_storage().create_file(filename).raw_file() as handle:
            for item in self.docbuffer:
                pickle.dump(item, handle, 5)  # twice as fast to load as Whoosh's protocol 2
        if len(self.tasks) < self.procs:
            self._new_task()
        self._put((filename, len(self.docbuffer)))
        self.docbuffer = []

    def _put(self, job: tuple[str, int] | None) -> None:
        """Queue a job (None: finish), checking on the workers while the queue is full."""
        while True:
            try:
                self.jobqueue.put(job, timeout=0.1)
                return
            except queue.Full:
                self._check_workers(all_must_live=True)

    def _check_workers(self, all_must_live: bool) -> None:
        """Raise if a worker failed, or (``all_must_live``) if every worker has ended."""
        codes = [task.exitcode for task in self.tasks]
        if any(code not in (None, 0) for code in codes) or (
            all_must_live and all(code is not None for code in codes)
        ):
            self._raise_failure(codes)

    def _raise_failure(self, codes: list[int | None]) -> None:
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                item = self.resultqueue.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(item, _WorkerFailure):
                item.raise_()
        raise FilmSearchError(
            "a worker process ended unexpectedly (exit codes "
            f"{', '.join(str(code) for code in codes)}); the index was left as it was"
        )

    def _results(self) -> list[Any]:
        """One ``(run, fieldnames, segment)`` result per worker, or the failure raised."""
        results: list[Any] = []
        missing_since: float | None = None
        while len(results) < len(self.tasks):
            try:
                item = self.resultqueue.get(timeout=0.1)
            except queue.Empty:
                self._check_workers(all_must_live=False)
                ended = sum(task.exitcode is not None for task in self.tasks)
                if ended <= len(results):
                    missing_since = None
                elif missing_since is None:
                    missing_since = time.monotonic()
                elif time.monotonic() - missing_since > 5:  # ended, said nothing
                    self._raise_failure([task.exitcode for task in self.tasks])
                continue
            if isinstance(item, _WorkerFailure):
                item.raise_()
            results.append(item)
        return results

    def _commit(self, mergetype: Any, optimize: Any, merge: Any) -> None:
        if self.docbuffer:
            self._enqueue()
        for _ in self.tasks:
            self._put(None)
        finalsegments = whoosh_compat.merge_segments(self, mergetype, optimize, merge)
        results = self._results()
        for task in self.tasks:
            task.join(10)
        received = sum(segment.doc_count() for _, _, segment in results)
        if received != self.sent:
            raise FilmSearchError(
                f"the worker processes indexed {received} of {self.sent} films; "
                "the index was left as it was"
            )
        finalsegments += [segment for _, _, segment in results]
        whoosh_compat.commit_segments(self, finalsegments)

    def stop_workers(self) -> None:
        """Terminate the workers still running, wait for them, and close the queues."""
        started = [task for task in self.tasks if getattr(task, "_popen", None) is not None]
        for task in started:
            if task.exitcode is None:
                with contextlib.suppress(OSError):
                    task.terminate()
        for task in started:
            task.join(5)
            if task.exitcode is None:
                with contextlib.suppress(OSError):
                    task.kill()
                task.join(5)
        for channel in (self.jobqueue, self.resultqueue):
            with contextlib.suppress(Exception):
                channel.cancel_join_thread()
                channel.close()
