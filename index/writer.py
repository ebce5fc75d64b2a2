"""Build and update a filmsearch index on disk.

``build_index`` is both the first build and every later update: files whose
content is unchanged are skipped, changed files are replaced, and films whose
files are gone from the given folders are removed. Each run ends in one Whoosh
commit, which is atomic: readers see the old index or the new one, never a mix.
A first build or a ``rebuild`` is written to a temporary folder beside the
index and moved into place only once it is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import LockError

from .analysis import DEFAULT_STEMMER, STEMMERS
from .documents import iter_source_files, parse_bytes, read_bytes
from .errors import DocumentError, IndexLockedError, IndexMismatchError, IndexNotFoundError
from .schema import build_schema, film_to_document

#: Written beside the Whoosh files on every build; marks a folder as a filmsearch index.
MANIFEST = "filmsearch.json"
FORMAT_VERSION = 1

ProgressCallback = Callable[[int, int], None]
ProblemCallback = Callable[[DocumentError, bool], None]


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
    if read_manifest(index_dir) is None or not whoosh_index.exists_in(index_dir):
        raise IndexNotFoundError(index_dir)
    return whoosh_index.open_dir(index_dir)


def file_digest(data: bytes) -> str:
    """A short content digest used to detect unchanged files."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def indexed_sources(ix: Any) -> dict[str, str]:
    """Map every indexed source path to the digest of the version indexed."""
    with ix.reader() as reader:
        keys = [term.decode("utf-8") if isinstance(term, bytes) else term
                for term in reader.lexicon("source")]
    return dict(key.rsplit("\t", 1) for key in keys)


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
    if os.path.isdir(index_dir) and os.listdir(index_dir) and read_manifest(index_dir) is None:
        raise IndexMismatchError(
            f"{index_dir} exists and is not a filmsearch index; choose another --index folder"
        )
    if os.path.exists(index_dir) and not os.path.isdir(index_dir):
        raise IndexMismatchError(f"{index_dir} is a file, not an index folder")


def _move_into_place(built: str, index_dir: str) -> None:
    """Replace ``index_dir`` by the finished build in ``built``."""
    old = None
    if os.path.exists(index_dir):
        old = tempfile.mkdtemp(prefix=".filmsearch-old-", dir=os.path.dirname(index_dir))
        os.rmdir(old)
        os.rename(index_dir, old)
    os.rename(built, index_dir)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def build_index(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: str | os.PathLike[str],
    *,
    stemmer: str | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    on_problem: ProblemCallback | None = None,
) -> BuildReport:
    """Index the seed documents under ``paths`` into ``index_dir``; return what was done.

    ``stemmer`` is one of ``STEMMERS``; it defaults to the existing index's stemmer,
    or to Snowball for a new index. Asking for a different stemmer than the
    index's needs ``rebuild=True``. Bad documents are reported through
    ``on_problem(error, skipped)`` and in the report, and never stop the build.
    """
    started = time.perf_counter()
    index_dir = os.path.abspath(os.fspath(index_dir))
    manifest = read_manifest(index_dir)
    current = manifest.get("stemmer") if manifest else None
    stemmer = stemmer or current or DEFAULT_STEMMER
    if stemmer not in STEMMERS:
        raise ValueError(f"unknown stemmer {stemmer!r}; choose one of {', '.join(STEMMERS)}")
    if current and current != stemmer and not rebuild:
        raise IndexMismatchError(
            f"the index at {index_dir} was built with the {current} stemmer; "
            f"add --rebuild to rebuild it with {stemmer}"
        )
    fresh = rebuild or manifest is None or not whoosh_index.exists_in(index_dir)
    report = BuildReport(index_dir=index_dir)

    def problem(error: DocumentError, skipped: bool) -> None:
        (report.skipped if skipped else report.warnings).append(error)
        if on_problem:
            on_problem(error, skipped)

    roots = [os.path.abspath(os.fspath(p)) for p in paths]
    sources: list[str] = []
    for item in iter_source_files(roots):
        if isinstance(item, DocumentError):
            problem(item, True)
        else:
            sources.append(item)

    if fresh:
        _prepare_target(index_dir)
        parent = os.path.dirname(index_dir)
        os.makedirs(parent, exist_ok=True)
        workdir = tempfile.mkdtemp(prefix=".filmsearch-build-", dir=parent)
        ix = whoosh_index.create_in(workdir, build_schema(stemmer))
        known: dict[str, str] = {}
    else:
        workdir = index_dir
        ix = whoosh_index.open_dir(index_dir)
        known = indexed_sources(ix)
    try:
        try:
            writer = ix.writer(limitmb=128)
        except LockError:
            raise IndexLockedError(
                f"the index at {index_dir} is being written by another process; "
                "try again when it has finished"
            ) from None
        try:
            _index_sources(writer, sources, known, report, problem, progress)
            for path in known.keys() - set(sources):
                if _under(path, roots):
                    report.removed += writer.delete_by_term("path", path)
            if report.changed or fresh:
                writer.commit()
            else:
                writer.cancel()
        except BaseException:
            writer.cancel()
            raise
        report.films = ix.doc_count()
        _write_manifest(workdir, stemmer, report.films)
        if fresh:
            _move_into_place(workdir, index_dir)
    except BaseException:
        if fresh:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    finally:
        ix.close()
    report.seconds = time.perf_counter() - started
    return report


def _index_sources(writer: Any, sources: list[str], known: dict[str, str], report: BuildReport,
                   problem: ProblemCallback, progress: ProgressCallback | None) -> None:
    for done, path in enumerate(sources, start=1):
        _index_source(writer, path, known, report, problem)
        if progress:
            progress(done, len(sources))


def _index_source(writer: Any, path: str, known: dict[str, str], report: BuildReport,
                  problem: ProblemCallback) -> None:
    """Add, replace or skip the film in one file."""
    try:
        data = read_bytes(path)
        digest = file_digest(data)
        if known.get(path) == digest:
            report.unchanged += 1
            return
        parsed = parse_bytes(data, path)
    except DocumentError as error:
        problem(error, True)
        return
    for warning in parsed.warnings:
        problem(warning, False)
    if path in known:
        writer.delete_by_term("path", path)
        report.replaced += 1
    else:
        report.added += 1
    writer.add_document(**film_to_document(parsed.film, digest))
