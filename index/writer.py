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
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, LockError, clean_files

from .analysis import DEFAULT_STEMMER, STEMMERS, NltkStemFilter
from .errors import (
    DocumentError,
    IndexDamagedError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    reading_index,
)
from .formats import FORMATS, iter_source_files, read_source, stream_digest
from .locking import writer_lock
from .schema import build_schema, film_to_document

#: Written beside the Whoosh files on every build; marks a folder as a filmsearch index.
MANIFEST = "filmsearch.json"
FORMAT_VERSION = 1
INDEX_NAME = "MAIN"
BUILD_PREFIX = ".filmsearch-build-"
#: Memory for the writer's posting buffers (split between worker processes).
WRITER_MB = 256
#: Corpora larger than this (bytes of source files, about 1,000 films) use every core.
PARALLEL_BYTES = 1024 * 1024

PathArg = str | os.PathLike[str]


@dataclass(frozen=True)
class BuildProgress:
    """Where a build is: sent to ``build_index``'s ``progress`` callback after each film,
    after each file, and when the commit starts (``phase`` "committing")."""

    phase: str  # "reading" or "committing"
    films: int  # films read so far, unchanged files' films included
    files_done: int
    files_total: int
    bytes_done: int  # of the source files, counted a whole file at a time
    bytes_total: int


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
    """What one build or update did."""

    index_dir: str
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    films: int = 0
    seconds: float = 0.0
    skipped: list[DocumentError] = field(default_factory=list)
    warnings: list[DocumentError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def read_manifest(index_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The index's manifest, or None if the folder holds no filmsearch index."""
    try:
        with open(os.path.join(index_dir, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def open_index(index_dir: str | os.PathLike[str]) -> Any:
    """Open an existing filmsearch index for reading or writing."""
    index_dir = os.path.abspath(index_dir)
    if read_manifest(index_dir) is None:
        names = os.listdir(index_dir) if os.path.isdir(index_dir) else []
        if any(name.endswith(".toc") for name in names):
            raise IndexMismatchError(
                f"{index_dir} holds a Whoosh index that filmsearch did not build; not opening "
                "it, because opening an index runs code stored in it (pickle)"
            )
        raise IndexNotFoundError(index_dir)
    with reading_index(index_dir):
        if not whoosh_index.exists_in(index_dir):
            raise IndexNotFoundError(index_dir)
        return whoosh_index.open_dir(index_dir)


def indexed_sources(ix: Any) -> dict[str, tuple[str, int]]:
    """Map every indexed source path to the digest of the version indexed and its film count."""
    known = {}
    with ix.reader() as reader:
        for term in reader.lexicon("source"):
            key = term.decode("utf-8") if isinstance(term, bytes) else term
            path, digest = key.rsplit("\t", 1)
            known[path] = (digest, reader.doc_frequency("source", term))
    return known


def _write_manifest(index_dir: str, stemmer: str, films: int) -> None:
    manifest = {
        "format": FORMAT_VERSION,
        "stemmer": stemmer,
        "films": films,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = os.path.join(index_dir, MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
    os.replace(tmp, os.path.join(index_dir, MANIFEST))


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _prepare_target(index_dir: str) -> None:
    """Refuse to build into a folder that holds anything but a filmsearch index."""
    if os.path.exists(index_dir) and not os.path.isdir(index_dir):
        raise IndexMismatchError(f"{index_dir} is a file, not an index folder")
    visible = (
        [name for name in os.listdir(index_dir) if not name.startswith(".")]
        if os.path.isdir(index_dir)
        else []
    )
    if visible and read_manifest(index_dir) is None:
        raise IndexMismatchError(
            f"{index_dir} exists and is not a filmsearch index; choose another --index folder"
        )


def schema_stemmer(schema: Any) -> str:
    """The stemmer an index was built with, read from its schema."""
    for item in getattr(schema["synopsis"].analyzer, "items", ()):
        if isinstance(item, NltkStemFilter):
            return item.stemmer
    return "none"


def _remove_stale_builds(index_dir: str) -> None:
    """Delete build folders left by writers that were killed (we hold the lock)."""
    for name in os.listdir(index_dir):
        if name.startswith(BUILD_PREFIX):
            shutil.rmtree(os.path.join(index_dir, name), ignore_errors=True)


def _publish(workdir: str, index_dir: str) -> int:
    """Make the finished build in ``workdir`` the index's newest generation.

    The segment files are moved in first; readers switch over only when the
    new table of contents is renamed into place (atomically, by Whoosh).
    Returns the number of films.
    """
    built = FileStorage(workdir)
    target = FileStorage(index_dir)
    toc = TOC.read(built, INDEX_NAME)
    toc_name = TOC._filename(INDEX_NAME, toc.generation)
    for name in os.listdir(workdir):
        if name != toc_name:
            os.replace(os.path.join(workdir, name), os.path.join(index_dir, name))
    toc.generation = max(TOC._latest_generation(target, INDEX_NAME), -1) + 1
    toc.write(target, INDEX_NAME)
    clean_files(target, INDEX_NAME, toc.generation, toc.segments)
    return sum(segment.doc_count() for segment in toc.segments)


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
    Raises IndexLockedError if another process is writing the same index.
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
    report = BuildReport(index_dir=index_dir)

    def problem(error: DocumentError, skipped: bool) -> None:
        (report.skipped if skipped else report.warnings).append(error)
        if on_problem:
            on_problem(error, skipped)

    sources: list[str] = []
    for item in iter_source_files(roots):
        if isinstance(item, DocumentError):
            problem(item, True)
        else:
            sources.append(item)

    with writer_lock(index_dir):
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
        finally:
            if existing:
                existing.close()
        if not existing or rebuild:
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
                report.films = _publish(workdir, index_dir)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        if report.changed or not current or rebuild:
            _write_manifest(index_dir, stemmer, report.films)
    report.seconds = time.perf_counter() - started
    return report


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

    With ``jobs`` > 1, Whoosh's multiprocessing writer analyses documents in
    ``jobs`` worker processes, each writing its own segment, merged at commit.
    """
    try:
        if jobs > 1:
            writer = ix.writer(procs=jobs, limitmb=WRITER_MB // jobs, multisegment=True)
        else:
            writer = ix.writer(limitmb=WRITER_MB)
    except LockError:
        raise IndexLockedError(
            f"the index at {ix.storage.folder} is being written by another process"
        ) from None
    try:
        read = _index_sources(writer, sources, known, report, problem, progress, source_format)
        for path in known.keys() - set(sources):
            if _under(path, roots):
                report.removed += writer.delete_by_term("path", path)
    except BaseException:
        _cancel(writer)
        raise
    if report.changed or always:
        if progress:
            progress(replace(read, phase="committing"))
        writer.commit()
    else:
        _cancel(writer)


def _cancel(writer: Any) -> None:
    """Cancel a writer, stopping the worker processes of a multiprocessing writer.

    Whoosh's MpWriter.cancel() only flags its workers in this process, so they
    would wait for documents forever.
    """
    try:
        writer.cancel()
    finally:
        for task in getattr(writer, "tasks", []):
            if task.is_alive():
                task.terminate()
                task.join(5)


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

    def film_read() -> None:
        nonlocal state
        state = replace(state, films=state.films + 1)
        if progress:
            progress(state)

    for done, (path, size) in enumerate(zip(sources, sizes, strict=True), start=1):
        _index_source(writer, path, known, report, problem, source_format, film_read)
        state = replace(state, files_done=done, bytes_done=state.bytes_done + size)
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
    try:
        digest = stream_digest(path)
        old_digest, old_count = known.get(path, ("", 0))
        if old_digest == digest:
            report.unchanged += old_count
            for _ in range(old_count):
                film_read()
            return
        films = read_source(path, source_format)
        first = next(films, None)  # a file-level error (unreadable, no title column) comes here
    except DocumentError as error:
        problem(error, True)
        return
    if path in known:
        writer.delete_by_term("path", path)
    added = 0
    for item in itertools.chain([first] if first else [], films):
        if isinstance(item, DocumentError):
            problem(item, True)
            continue
        for warning in item.warnings:
            problem(warning, False)
        writer.add_document(**film_to_document(item.film, digest))
        added += 1
        film_read()
    replaced = min(old_count, added)
    report.replaced += replaced
    report.added += added - replaced
    report.removed += old_count - replaced
