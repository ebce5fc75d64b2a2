"""Restricted unpickling for everything Whoosh reads from an index folder.

Whoosh keeps parts of an index as pickles: the schema and the segment list in
the table of contents (``_MAIN_<gen>.toc``), compound-file directories,
postings blocks, positions, and the stored fields of every document. Plain
``pickle.loads`` on such bytes runs whatever code they name, so an index folder
handed over by someone else could run a shell command on ``filmsearch search``.

Importing this module (``filmsearch.index`` does) replaces every unpickler
Whoosh uses with ``RestrictedUnpickler``, which resolves only the classes and
functions on ``ALLOWED``: the ones a filmsearch index needs, found by recording
what loading and searching real indexes unpickles. Anything else, or an allowed
callable given arguments filmsearch never writes, raises ``ForbiddenPickleError``
(a ``pickle.UnpicklingError``, so ``errors.reading_index`` reports it as a
damaged index, and a ``FilmSearchError``).

The patch points are module globals inside Whoosh (``whoosh.index.pickle``,
``whoosh.codec.whoosh3.loads``, ...). Each is checked before it is replaced, and
every Whoosh module, now or when imported later, is searched for a pickle loader
that is not patched: a Whoosh upgrade that moves them fails loudly at import
instead of quietly unpickling unchecked data.
"""

from __future__ import annotations

import _pickle
import codecs
import collections
import importlib.machinery
import io
import pickle
import re
import sys
import types
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from .errors import FilmSearchError


class ForbiddenPickleError(pickle.UnpicklingError, FilmSearchError):
    """An index pickle names a class or function, or holds a value, that
    filmsearch does not allow: the folder is not a filmsearch index, or was
    tampered with."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"filmsearch refuses to load {what} from the index: "
            "not a filmsearch index or tampered with"
        )


class SafePickleInstallError(RuntimeError):
    """Whoosh no longer loads pickles where this module expects (a Whoosh upgrade)."""


# Callables that pickles written by Whoosh for filmsearch reach, but which take
# arguments: each accepts only what filmsearch writes.


def _latin1_bytes(text: object, encoding: object) -> bytes:
    """``_codecs.encode``: how pickle protocol 2 writes a bytes object."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise ForbiddenPickleError(f"_codecs.encode({type(text).__name__}, {encoding!r:.40})")
    return codecs.encode(text, "latin1")


def _int_defaultdict(factory: object = None) -> collections.defaultdict[Any, int]:
    """``collections.defaultdict``: Whoosh's per-field lengths in each segment."""
    if factory is not int:
        raise ForbiddenPickleError(f"collections.defaultdict({getattr(factory, '__name__', '?')})")
    return collections.defaultdict(int)


_known_patterns: frozenset[tuple[str, int]] | None = None


def _known_regexes() -> frozenset[tuple[str, int]]:
    """(pattern, flags) of every regular expression in the filmsearch schema.

    Read from the schema without a stemmer (building nltk stemmers costs 40 ms);
    the stemmers add no tokenizer.
    """
    global _known_patterns
    if _known_patterns is None:
        from .schema import build_schema

        found = set()
        for _, field in build_schema("none").items():
            for item in getattr(field.analyzer, "items", [field.analyzer]):
                for value in [item, *getattr(item, "__dict__", {}).values()]:  # .words
                    expression = getattr(value, "expression", None)
                    if isinstance(expression, re.Pattern):
                        found.add((expression.pattern, expression.flags))
        _known_patterns = frozenset(found)
    return _known_patterns


def _known_regex(pattern: object, flags: object = 0) -> re.Pattern[str]:
    """``re._compile``: how a compiled pattern pickles. Only the tokenizer patterns
    filmsearch uses compile (a crafted one could backtrack for ever on a query)."""
    if (pattern, flags) not in _known_regexes():
        raise ForbiddenPickleError(f"the regular expression {pattern!r:.60}")
    assert isinstance(pattern, str) and isinstance(flags, int)
    return re.compile(pattern, flags)


def _allowed() -> dict[tuple[str, str], Any]:
    """What a pickle in a filmsearch index may name, resolved once (find_class imports nothing).

    Recorded from building (``--jobs 1`` and ``2``, every stemmer), updating,
    opening and searching indexes of the seeds and of the 6,802-film corpus.
    The schema is pickled at protocol 2, so its builtins have Python 2 names.
    """
    from whoosh import fields, formats
    from whoosh.analysis import analyzers, filters, tokenizers
    from whoosh.codec import whoosh3

    from . import analysis

    allowed: dict[tuple[str, str], Any] = {}
    for module, names in (
        # the schema, in the table of contents
        (fields, ("Schema", "ID", "NUMERIC", "TEXT")),
        (formats, ("Existence", "Positions")),
        (analyzers, ("CompositeAnalyzer",)),  # the analyzers of indexes built before fusing
        (tokenizers, ("RegexTokenizer", "IDTokenizer")),
        (filters, ("LowercaseFilter", "CharsetFilter", "StopFilter")),
        (
            analysis,
            (
                "TextAnalyzer",
                "NameAnalyzer",
                "NltkStemFilter",
                "NameListTokenizer",
                "NameGapFilter",
            ),
        ),
        # the segment list, in the table of contents
        (whoosh3, ("W3Codec", "W3Segment")),
    ):
        for name in names:
            allowed[module.__name__, name] = getattr(module, name)
    allowed.update(
        {
            ("__builtin__", "frozenset"): frozenset,  # stop words, stemmer's ignore list
            ("__builtin__", "long"): int,  # NUMERIC(int)
            ("builtins", "int"): int,  # defaultdict(int) of field lengths
            ("collections", "defaultdict"): _int_defaultdict,
            ("re", "_compile"): _known_regex,  # RegexTokenizer's pattern
            ("_codecs", "encode"): _latin1_bytes,  # bytes in postings blocks (protocol 2)
        }
    )
    return allowed


ALLOWED: dict[tuple[str, str], Any] = {}

#: Errors that mean "damaged" already, passed through as they are (Whoosh's
#: external sort also reads a run until EOFError).
_PASS_THROUGH = (pickle.UnpicklingError, EOFError)


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only the names on ``ALLOWED``."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[module, name]
        except KeyError:
            raise ForbiddenPickleError(f"{module}.{name}"[:120]) from None

    def persistent_load(self, pid: Any) -> Any:
        raise ForbiddenPickleError("a persistent object reference")

    def load(self) -> Any:
        try:
            return super().load()
        except _PASS_THROUGH:
            raise
        except Exception as error:  # an allowed class's constructor or __setstate__ refused
            raise ForbiddenPickleError(
                f"an object it cannot rebuild ({type(error).__name__}: {error})"[:200]
            ) from error


#: Every opcode through which a pickle can reach a class or function: GLOBAL, INST,
#: STACK_GLOBAL, EXT1/2/4, PERSID, BINPERSID. The opcodes that call (REDUCE, BUILD,
#: NEWOBJ, OBJ) can only call what one of these put on the stack.
_NAMING_OPCODES = re.compile(b"[ciPQ\x82\x83\x84\x93]")


def safe_loads(data: bytes | bytearray | memoryview, /, **kwargs: Any) -> Any:
    """``pickle.loads`` through RestrictedUnpickler.

    A pickle in which no byte could be an opcode that names a class or function
    (most postings blocks and positions: numbers and strings) cannot run
    anything, and is read by ``pickle.loads`` itself, three times faster than an
    Unpickler object for these small pickles. The buffered reader lets the
    unpickler read ahead; over a bare BytesIO it calls ``read`` once per opcode.
    """
    if not _NAMING_OPCODES.search(data):
        return pickle.loads(data, **kwargs)
    return RestrictedUnpickler(io.BufferedReader(io.BytesIO(data)), **kwargs).load()


def safe_load(file: IO[bytes], /, **kwargs: Any) -> Any:
    """``pickle.load`` through RestrictedUnpickler."""
    return RestrictedUnpickler(file, **kwargs).load()


_SEGMENT_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def safe_read_pickle(file: IO[bytes], /, **kwargs: Any) -> Any:
    """``pickle.load`` for StructFile.read_pickle, which also reads the TOC's segment list:
    a segment's name becomes part of file names, so it must not be a path."""
    from whoosh.codec.base import Segment

    obj = safe_load(file, **kwargs)
    if isinstance(obj, list):
        for segment in obj:
            if isinstance(segment, Segment):
                for attribute in ("indexname", "segid", "name"):
                    value = getattr(segment, attribute, "x")
                    if not isinstance(value, str) or not _SEGMENT_NAME.fullmatch(value):
                        raise ForbiddenPickleError(f"a segment named {value!r:.60}")
    return obj


def _renaming_unpickler() -> type[pickle.Unpickler]:
    """A restricted stand-in for whoosh.util.loading.RenamingUnpickler (old TOCs)."""

    class RestrictedRenamingUnpickler(RestrictedUnpickler):
        def __init__(
            self, f: IO[bytes], objmap: dict[str, str], shortcuts: dict[str, str] | None = None
        ) -> None:
            super().__init__(f)
            if shortcuts:
                objmap = {k % shortcuts: v % shortcuts for k, v in objmap.items()}
            self._objmap = objmap

        def find_class(self, module: str, name: str) -> Any:
            fqname = self._objmap.get(f"{module}.{name}", f"{module}.{name}")
            module, _, name = fqname.rpartition(".")
            return super().find_class(module, name)

    return RestrictedRenamingUnpickler


def _pickle_proxy() -> types.ModuleType:
    """A stand-in for the ``pickle`` module in Whoosh modules that use ``pickle.loads``."""
    proxy = types.ModuleType("pickle", "pickle, with filmsearch's restricted loaders")
    proxy.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith("__")})
    for name, value in _LOADER_STANDINS.items():
        setattr(proxy, name, value)
    return proxy


_LOADER_STANDINS: dict[str, Any] = {
    "loads": safe_loads,
    "load": safe_load,
    "Unpickler": RestrictedUnpickler,
    "_loads": safe_loads,
    "_load": safe_load,
    "_Unpickler": RestrictedUnpickler,
}

#: Objects through which a module could unpickle without going through ALLOWED.
_RAW_LOADERS = (
    pickle,
    _pickle,
    pickle.loads,
    pickle.load,
    pickle.Unpickler,
    vars(pickle)["_loads"],  # the pure-Python versions
    vars(pickle)["_load"],
    pickle._Unpickler,
)

#: Every place Whoosh unpickles: module -> {global name: what it must be now}.
#: Modules Whoosh imports lazily are patched when they are first imported.
_PATCH_POINTS: dict[str, dict[str, str]] = {
    "whoosh.index": {"pickle": "module"},  # TOC.read: the schema
    "whoosh.filedb.structfile": {"load": "load"},  # read_pickle: segment list, compound dirs
    "whoosh.codec.whoosh3": {"loads": "loads"},  # postings blocks, inlined postings
    "whoosh.columns": {"loads": "loads"},  # PickleColumn: stored fields
    "whoosh.formats": {"loads": "loads"},  # positions and characters of postings
    "whoosh.util.loading": {"pickle": "module", "RenamingUnpickler": "renaming"},
    "whoosh.legacy": {"RenamingUnpickler": "renaming"},  # version -110 TOCs
    "whoosh.externalsort": {"load": "load"},  # sort runs of a build (temp files)
    "whoosh.multiproc": {"pickle": "module"},  # job files of a parallel build (temp files)
    "whoosh.codec.whoosh2": {"loads": "loads"},
    "whoosh.codec.plaintext": {"loads": "loads"},
    "whoosh.filedb.fileindex": {"pickle": "module"},
    "whoosh.filedb.misc": {"loads": "loads", "depickle": "loads"},
}


_PICKLE_PROXY = _pickle_proxy()
_RENAMING_UNPICKLER = _renaming_unpickler()
_STANDINS = (_PICKLE_PROXY, _RENAMING_UNPICKLER, safe_loads, safe_load, safe_read_pickle)


def _standin(module_name: str, kind: str) -> Any:
    if kind == "module":
        return _PICKLE_PROXY
    if kind == "renaming":
        return _RENAMING_UNPICKLER
    if module_name == "whoosh.filedb.structfile":
        return safe_read_pickle
    return safe_load if kind == "load" else safe_loads


def _original(kind: str) -> Callable[[Any], bool]:
    """A test that a global still is the loader Whoosh had when this was written."""
    if kind == "renaming":
        return lambda value: isinstance(value, type) and issubclass(value, pickle.Unpickler)
    expected = {"module": pickle, "load": pickle.load, "loads": pickle.loads}[kind]
    return lambda value: value is expected


def _patch(module: types.ModuleType) -> None:
    """Replace the pickle loaders of one Whoosh module, loudly if they are not where expected."""
    for name, kind in _PATCH_POINTS.get(module.__name__, {}).items():
        current = getattr(module, name, None)
        if any(current is standin for standin in _STANDINS):
            continue
        if not _original(kind)(current):
            raise SafePickleInstallError(
                f"{module.__name__}.{name} is {current!r:.80}, not the pickle loader "
                "filmsearch.index.safe_pickle replaces: Whoosh changed; update safe_pickle"
            )
        setattr(module, name, _standin(module.__name__, kind))
    _check_no_raw_loader(module)


def _check_no_raw_loader(module: types.ModuleType) -> None:
    """Fail if a Whoosh module can still reach a pickle loader that is not restricted."""
    raw_ids = {id(loader) for loader in _RAW_LOADERS}
    for name, value in list(vars(module).items()):
        raw = id(value) in raw_ids or (
            isinstance(value, type)
            and issubclass(value, pickle.Unpickler)
            and not issubclass(value, RestrictedUnpickler)
        )
        if raw:
            raise SafePickleInstallError(
                f"{module.__name__}.{name} unpickles without filmsearch's restriction: "
                "Whoosh changed; add it to filmsearch.index.safe_pickle._PATCH_POINTS"
            )


# The loader and the finder below are plain classes at run time (the import system
# needs only their methods): importlib.abc imports importlib.resources, and with it
# tempfile and shutil, on every search's start.
if TYPE_CHECKING:
    from importlib.abc import Loader as _Loader
else:
    _Loader = object


class _PatchingLoader(_Loader):
    """Runs a Whoosh module's own loader, then patches the module."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        created: types.ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _patch(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... for tracebacks
        return getattr(self._loader, name)


class _WhooshImportHook:
    """Patches every Whoosh module imported after install (Whoosh imports some lazily)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("whoosh."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def _whoosh_modules() -> list[types.ModuleType]:
    return [
        module
        for name, module in list(sys.modules.items())
        if (name == "whoosh" or name.startswith("whoosh.")) and isinstance(module, types.ModuleType)
    ]


def install() -> None:
    """Restrict every unpickler of Whoosh, now and in Whoosh modules imported later. Idempotent."""
    if not ALLOWED:
        ALLOWED.update(_allowed())
    if not any(isinstance(finder, _WhooshImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WhooshImportHook())
    import whoosh.index
    import whoosh.legacy  # noqa: F401  # imported by whoosh.index; named here for the check below

    for module_name in ("whoosh.index", "whoosh.filedb.structfile", "whoosh.codec.whoosh3"):
        if module_name not in sys.modules:
            raise SafePickleInstallError(
                f"{module_name} is gone: Whoosh changed; update safe_pickle"
            )
    for module in _whoosh_modules():
        _patch(module)


install()
