"""A crafted index folder must not run code (issue 12, Security).

Whoosh keeps the schema, the segment list and every document's stored fields
as pickles. These tests put a payload that would create a marker file into each
of them, in an index otherwise built by filmsearch, and check that the CLI and
the library refuse it with one line, never run it, and that real indexes still
open.
"""

from __future__ import annotations

import copyreg
import glob
import importlib
import io
import os
import pickle
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import whoosh
import whoosh.index
from hypothesis import given
from hypothesis import strategies as st
from whoosh.filedb.structfile import StructFile
from whoosh.util.varints import varint

from filmsearch.index import FilmSearchError, build_index
from filmsearch.index.safe_pickle import ALLOWED, ForbiddenPickleError, RestrictedUnpickler
from filmsearch.index.schema import build_schema
from filmsearch.search import FilmSearch

from .conftest import SEEDS, seed_text

TIMEOUT = 120


class Shell:
    """Unpickles as ``os.system(command)``; pickling it runs nothing."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


class Call:
    """Unpickles as ``subprocess.call(argv)``."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv

    def __reduce__(self) -> tuple[Any, ...]:
        return (subprocess.call, (self.argv,))


def touch(marker: Path) -> str:
    return f"touch {marker}"


# ---------------------------------------------------------------- crafting


def newest_toc(index_dir: Path) -> Path:
    tocs = glob.glob(str(index_dir / "_MAIN_*.toc"))
    return Path(max(tocs, key=lambda name: int(name.rsplit("_", 1)[1].split(".")[0])))


def split_toc(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """A whoosh3 table of contents as (header, schema pickle, generation, segments pickle)."""
    stream = StructFile(io.BytesIO(data))
    for _ in range(3):
        stream.read_varint()  # sizes of int, long, float
    stream.read_int()  # -12345
    stream.read_int()  # TOC version
    for _ in range(3):
        stream.read_varint()  # Whoosh release
    header_end = stream.tell()
    length = stream.read_varint()
    schema_start = stream.tell()
    generation_start = schema_start + length
    segments_start = generation_start + 8  # generation and an unused int
    return (
        data[:header_end],
        data[schema_start:generation_start],
        data[generation_start:segments_start],
        data[segments_start:],
    )


def rewrite_toc(
    index_dir: Path, schema: bytes | None = None, segments: bytes | None = None
) -> None:
    toc = newest_toc(index_dir)
    header, old_schema, generation, old_segments = split_toc(toc.read_bytes())
    schema = old_schema if schema is None else schema
    segments = old_segments if segments is None else segments
    toc.write_bytes(header + varint(len(schema)) + schema + generation + segments)


def make_index(root: Path) -> tuple[Path, Path]:
    """A real filmsearch index of three seed files: (its folder, the films folder)."""
    films = root / "films"
    films.mkdir()
    for name in sorted(os.listdir(SEEDS))[:3]:
        shutil.copy(SEEDS / name, films / name)
    (films / "whale.txt").write_text(
        seed_text(title="Whale Song", content="A whale sings to a lonely trainer."),
        encoding="utf-8",
    )
    index_dir = root / "index"
    build_index([films], index_dir)
    return index_dir, films


def craft_schema_shell(index_dir: Path, marker: Path) -> None:
    """The whole pickled schema is a payload."""
    rewrite_toc(index_dir, schema=pickle.dumps(Shell(touch(marker)), 2))


def craft_schema_nested(index_dir: Path, marker: Path) -> None:
    """A genuine schema with a payload deep inside one analyzer."""
    schema = build_schema()
    schema["synopsis"].analyzer.items[-1] = Call(["touch", str(marker)])
    rewrite_toc(index_dir, schema=pickle.dumps(schema, 2))


def craft_segments(index_dir: Path, marker: Path) -> None:
    """The pickled segment list (read by StructFile.read_pickle) is a payload."""
    rewrite_toc(index_dir, segments=pickle.dumps([Shell(touch(marker))], -1))


def craft_stored_fields(index_dir: Path, marker: Path) -> None:
    """A document whose stored synopsis unpickles as a payload, committed by Whoosh itself."""
    ix = whoosh.index.open_dir(str(index_dir))
    writer = ix.writer()
    writer.add_document(
        id="evil",
        path="/evil.txt",
        title="Whale Evil",
        synopsis="whale whale whale",
        _stored_synopsis=Shell(touch(marker)),
    )
    writer.commit(merge=False)
    ix.close()


def fake_manifest(index_dir: Path) -> None:
    (index_dir / "filmsearch.json").write_text("{}", encoding="utf-8")


# ---------------------------------------------------------------- running


def run_cli(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FILMSEARCH_INDEX", "FILMSEARCH_DEBUG")}
    return subprocess.Popen(
        [sys.executable, "-m", "filmsearch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_all(commands: list[list[str]]) -> list[tuple[list[str], int, str, str]]:
    """Run CLI commands side by side; (args, exit code, stdout, stderr) of each."""
    started = [(args, run_cli(*args)) for args in commands]
    results = []
    for args, process in started:
        out, err = process.communicate(timeout=TIMEOUT)
        results.append((args, process.returncode, out, err))
    return results


def assert_refused_by_cli(commands: list[list[str]], *markers: Path) -> None:
    for args, code, _out, err in run_all(commands):
        assert not any(marker.exists() for marker in markers), (
            f"filmsearch {' '.join(args)} ran the index's code"
        )
        assert code != 0, f"filmsearch {' '.join(args)} accepted a crafted index"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"filmsearch {' '.join(args)} printed:\n{err}"
        assert "Traceback" not in err
        assert "refuses to load" in err, err
        assert "not a filmsearch index or tampered with" in err, err


def assert_refused(action: Callable[[], Any], marker: Path) -> None:
    with pytest.raises(FilmSearchError) as raised:
        action()
    assert not marker.exists()
    assert "refuses to load" in str(raised.value)
    assert "\n" not in str(raised.value)


def assert_genuine_index_works(seed_index: Path) -> None:
    with FilmSearch(seed_index) as fs:
        assert fs.search("whale").hits


def all_commands(index_dir: Path, films: Path, film_id: str) -> list[list[str]]:
    where = ["--index", str(index_dir)]
    return [
        ["search", "whale", *where],
        ["show", film_id, *where],
        ["stats", *where],
        ["index", str(films), "-q", *where],
    ]


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("manifest", ["kept", "faked as {}"])
def test_crafted_schema_never_runs_from_the_cli(
    tmp_path: Path, seed_index: Path, manifest: str
) -> None:
    """Every command that opens an index, each in a fresh interpreter (nothing imported or
    patched before it reads the table of contents). With a faked manifest, one command
    of each way in: a searcher (search, show, stats open it alike) and a writer."""
    index_dir, films = make_index(tmp_path)
    marker = tmp_path / "pwned"
    craft_schema_shell(index_dir, marker)
    commands = all_commands(index_dir, films, "whale")
    if manifest != "kept":
        fake_manifest(index_dir)
        commands = [args for args in commands if args[0] in ("search", "index")]
    assert_refused_by_cli(commands, marker)
    assert_genuine_index_works(seed_index)


@pytest.mark.parametrize(
    "craft", [craft_schema_shell, craft_schema_nested, craft_segments], ids=lambda f: f.__name__
)
def test_crafted_table_of_contents_never_runs_from_the_library(
    tmp_path: Path, seed_index: Path, craft: Callable[[Path, Path], None]
) -> None:
    index_dir, films = make_index(tmp_path)
    marker = tmp_path / "pwned"
    craft(index_dir, marker)
    assert_refused(lambda: FilmSearch(index_dir), marker)
    assert_refused(lambda: build_index([films], index_dir), marker)
    fake_manifest(index_dir)
    assert_refused(lambda: FilmSearch(index_dir), marker)
    assert_genuine_index_works(seed_index)


def test_crafted_nested_schema_and_segments_never_run_from_the_cli(
    tmp_path: Path, seed_index: Path
) -> None:
    """A nested payload in the schema, read by a searcher; a crafted segment list, read by
    a writer (the library test runs both ways in for both)."""
    commands = []
    markers = []
    for craft, command in ((craft_schema_nested, "search"), (craft_segments, "index")):
        root = tmp_path / craft.__name__
        root.mkdir()
        index_dir, films = make_index(root)
        markers.append(root / "pwned")
        craft(index_dir, markers[-1])
        where = ["--index", str(index_dir)]
        commands.append(["search", "whale", *where] if command == "search" else
                        ["index", str(films), "-q", *where])  # fmt: skip
    assert_refused_by_cli(commands, *markers)
    assert_genuine_index_works(seed_index)


def test_crafted_stored_fields_never_run(tmp_path: Path, seed_index: Path) -> None:
    index_dir, films = make_index(tmp_path)
    marker = tmp_path / "pwned"
    craft_stored_fields(index_dir, marker)
    with FilmSearch(index_dir) as fs:  # opening reads no stored field
        assert_refused(lambda: fs.get("evil"), marker)
        assert_refused(lambda: fs.search("whale whale"), marker)
    (films / "whale.txt").write_text(seed_text(title="Changed"), encoding="utf-8")
    where = ["--index", str(index_dir)]
    assert_refused_by_cli(
        [["search", "whale", *where], ["show", "evil", *where], ["index", str(films), *where]],
        marker,
    )
    assert_genuine_index_works(seed_index)


def test_rebuild_replaces_a_crafted_index(tmp_path: Path) -> None:
    """The one-line error says to rebuild; rebuilding works and runs nothing."""
    index_dir, films = make_index(tmp_path)
    marker = tmp_path / "pwned"
    craft_schema_shell(index_dir, marker)
    [(_, code, _, err)] = run_all(
        [["index", str(films), "--rebuild", "-q", "--index", str(index_dir)]]
    )
    assert code == 0, err
    assert not marker.exists()
    with FilmSearch(index_dir) as fs:
        assert [hit.title for hit in fs.search("whale sings").hits][:1] == ["Whale Song"]


def test_genuine_index_loads(seed_index: Path) -> None:
    with FilmSearch(seed_index) as fs:
        hits = fs.search('whale "rode to the land"').hits
        assert hits and hits[0].title == "Whale Rider"
        assert fs.get(hits[0].id) is not None
        assert fs.stats().films == 69
    [(_, code, out, err)] = run_all([["show", hits[0].id, "--index", str(seed_index)]])
    assert code == 0 and "Whale Rider" in out, err


@pytest.mark.parametrize("stemmer", ["porter", "lancaster", "none"])
def test_every_stemmer_loads(tmp_path: Path, stemmer: str) -> None:
    films = tmp_path / "films"
    films.mkdir()
    (films / "a.txt").write_text(seed_text(content="Whales were singing."), encoding="utf-8")
    build_index([films], tmp_path / "index", stemmer=stemmer)
    with FilmSearch(tmp_path / "index") as fs:
        assert fs.search("whales singing").hits


# ---------------------------------------------------------------- the allow-list itself

DANGEROUS = [
    ("os", "system"),
    ("posix", "system"),
    ("subprocess", "Popen"),
    ("subprocess", "call"),
    ("builtins", "eval"),
    ("builtins", "exec"),
    ("builtins", "getattr"),
    ("builtins", "__import__"),
    ("__builtin__", "eval"),
    ("importlib", "import_module"),
    ("copyreg", "_reconstructor"),
    ("pickle", "loads"),
    ("whoosh.util.loading", "find_object"),
    ("whoosh.columns", "CompressedBytesColumn"),  # imports a module named in its state
    ("whoosh.analysis.morph", "StemFilter"),  # calls whatever stemfn its state holds
]


def global_pickle(module: str, name: str, argument: str = "true") -> bytes:
    """A protocol-0 pickle that calls module.name(argument)."""
    return f"c{module}\n{name}\n(V{argument}\ntR.".encode()


@pytest.mark.parametrize(("module", "name"), DANGEROUS)
def test_dangerous_names_are_refused(module: str, name: str) -> None:
    assert (module, name) not in ALLOWED
    with pytest.raises(ForbiddenPickleError, match="refuses to load"):
        whoosh.index.pickle.loads(global_pickle(module, name))


def test_allowed_callables_refuse_what_filmsearch_never_writes() -> None:
    loads = whoosh.index.pickle.loads
    with pytest.raises(ForbiddenPickleError):  # a pattern that backtracks for ever
        loads(pickle.dumps(__import__("re").compile(r"(a+)+$"), 2))
    with pytest.raises(ForbiddenPickleError):  # a codec other than latin-1
        loads(b"c_codecs\nencode\n(Vx\nVrot13\ntR.")
    with pytest.raises(ForbiddenPickleError):  # defaultdict of anything but int
        loads(b"ccollections\ndefaultdict\n(c__builtin__\nfrozenset\ntR.")
    stem_filter = pickle.dumps(build_schema()["synopsis"].analyzer.items[-1], 2)
    assert loads(stem_filter).stemmer == "snowball"
    with pytest.raises(ForbiddenPickleError, match="unknown stemmer"):
        loads(stem_filter.replace(b"snowball", b"os.syst\x00"))
    # what filmsearch does write still loads
    assert loads(pickle.dumps(build_schema("porter"), 2)) == build_schema("porter")


def test_segment_names_cannot_be_paths(tmp_path: Path) -> None:
    index_dir, _ = make_index(tmp_path)
    toc = newest_toc(index_dir)
    header, schema, generation, segments = split_toc(toc.read_bytes())
    segid = pickle.loads(segments)[0].segid.encode()
    toc.write_bytes(
        header
        + varint(len(schema))
        + schema
        + generation
        + segments.replace(segid, b"/" * len(segid))
    )
    with pytest.raises(FilmSearchError, match="segment named"):
        FilmSearch(index_dir)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_payloads_are_refused_at_every_protocol(protocol: int) -> None:
    payload = pickle.dumps(Shell("true"), protocol)  # GLOBAL up to 3, STACK_GLOBAL from 4
    for loads in (whoosh.codec.whoosh3.loads, whoosh.columns.loads, whoosh.formats.loads):
        with pytest.raises(ForbiddenPickleError):
            loads(payload)
    with pytest.raises(ForbiddenPickleError):
        StructFile(io.BytesIO(payload)).read_pickle()


def test_inst_and_extension_opcodes_are_refused() -> None:
    loads = whoosh.codec.whoosh3.loads
    with pytest.raises(ForbiddenPickleError, match=r"os\.system"):
        loads(b"(S'true'\nios\nsystem\n.")  # INST
    with pytest.raises(ForbiddenPickleError):  # EXT1 of an unregistered code
        loads(b"\x80\x02\x82\xf0X\x04\x00\x00\x00true\x85R.")
    copyreg.add_extension("os", "system", 0xF0)
    try:
        with pytest.raises(ForbiddenPickleError, match=r"os\.system"):
            loads(b"\x80\x02\x82\xf0X\x04\x00\x00\x00true\x85R.")
    finally:
        copyreg.remove_extension("os", "system", 0xF0)


PLAIN_DATA = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(min_size=1),  # b"" pickles as bytes(): no filmsearch index holds it
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(value=PLAIN_DATA, protocol=st.integers(2, pickle.HIGHEST_PROTOCOL))
def test_plain_data_loads_as_pickle_loads_it(value: Any, protocol: int) -> None:
    """Numbers, text, bytes and containers (what Whoosh pickles) load unchanged,
    whether or not their bytes look like an opcode that names a class."""
    data = pickle.dumps(value, protocol)
    assert whoosh.codec.whoosh3.loads(data) == value
    assert StructFile(io.BytesIO(data)).read_pickle() == value


#: (module, global, how to feed it a pickle): every place Whoosh unpickles.
PATCH_POINTS = [
    ("whoosh.index", "pickle", "module"),
    ("whoosh.filedb.structfile", "load", "file"),
    ("whoosh.codec.whoosh3", "loads", "bytes"),
    ("whoosh.columns", "loads", "bytes"),
    ("whoosh.formats", "loads", "bytes"),
    ("whoosh.externalsort", "load", "file"),
    ("whoosh.multiproc", "pickle", "module"),
    ("whoosh.codec.whoosh2", "loads", "bytes"),
    ("whoosh.codec.plaintext", "loads", "bytes"),
    ("whoosh.filedb.fileindex", "pickle", "module"),
    ("whoosh.util.loading", "pickle", "module"),
    ("whoosh.legacy", "RenamingUnpickler", "renaming"),
    ("whoosh.util.loading", "RenamingUnpickler", "renaming"),
]


@pytest.mark.parametrize(("module", "name", "kind"), PATCH_POINTS, ids=lambda v: str(v))
def test_every_whoosh_unpickler_is_restricted(module: str, name: str, kind: str) -> None:
    loader = getattr(importlib.import_module(module), name)
    payload = pickle.dumps(Shell("true"), 2)
    with pytest.raises(ForbiddenPickleError):
        if kind == "module":
            loader.loads(payload)
        elif kind == "file":
            loader(io.BytesIO(payload))
        elif kind == "renaming":
            loader(io.BytesIO(payload), {}).load()
        else:
            loader(payload)


def test_whoosh3_reads_go_through_the_restriction() -> None:
    """The real readers, not only the globals: TOC.read's loader and StructFile.read_pickle."""
    payload = pickle.dumps(Shell("true"), 2)
    with pytest.raises(ForbiddenPickleError):
        StructFile(io.BytesIO(payload)).read_pickle()
    with pytest.raises(ForbiddenPickleError):
        whoosh.formats.Positions().decode_positions(b"\x00" * 4 + payload)


def test_no_whoosh_module_keeps_an_unrestricted_unpickler() -> None:
    """Import every Whoosh module: a new one that unpickles would fail the import loudly."""
    raw = {id(pickle), id(pickle.loads), id(pickle.load), id(pickle.Unpickler)}
    for info in pkgutil.walk_packages(whoosh.__path__, "whoosh."):
        try:
            module = importlib.import_module(info.name)
        except ImportError as error:  # Whoosh's own dead modules (gae, old filedb)
            assert "safe_pickle" not in str(error), error
            continue
        for attribute, value in vars(module).items():
            assert id(value) not in raw, f"{info.name}.{attribute} unpickles unrestricted"


def test_allow_list_is_what_a_real_index_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building, updating, opening and searching an index of the seeds looks up every
    ALLOWED name: the list is not wider than needed."""
    used: set[tuple[str, str]] = set()
    find_class = RestrictedUnpickler.find_class

    def recording(self: RestrictedUnpickler, module: str, name: str) -> Any:
        used.add((module, name))
        return find_class(self, module, name)

    monkeypatch.setattr(RestrictedUnpickler, "find_class", recording)
    films = tmp_path / "films"
    shutil.copytree(SEEDS, films)
    build_index([films], tmp_path / "index")
    (films / "extra.txt").write_text(seed_text(title="Extra"), encoding="utf-8")
    build_index([films], tmp_path / "index")
    for arrays in (True, False):  # numpy over the postings files, or Whoosh's postings
        with FilmSearch(tmp_path / "index", arrays=arrays) as fs:
            for hit in fs.search('whale "rode to the land" year:1990..2010').hits:
                assert fs.get(hit.id) is not None
    # Indexes built before the analyzers were fused hold Whoosh's plain chains, and those
    # built before posting blocks were pickled at protocol 5 name _codecs.encode for bytes.
    older = {("whoosh.analysis.analyzers", "CompositeAnalyzer"), ("_codecs", "encode")}
    assert used | older == set(ALLOWED)
