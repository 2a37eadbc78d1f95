"""The in-memory search index of one knowledge-base build, and its files on disk.

Questions are stored grouped by entry (entry ``e`` owns rows ``offsets[e]:offsets[e+1]``), after
normalisation and de-duplication within the entry. The index holds:

- ``vectors`` (questions x dim, unit norm) and a FAISS index over them (exact inner product up to
  ``exact_max_vectors``, HNSW or IVF above);
- ``centroids``: the normalised mean vector of every entry;
- two BM25 indexes sharing one vocabulary: over single questions and over whole entries
  (all phrasings of an entry as one document, so an entry gains from every phrasing), and, in memory
  only, their posting lists side by side (``JointPostings``) so that a query walks them once;
- optionally an entry classifier over the vectors (logistic regression, one column per entry) when entries
  have many examples;
- the ranker weights and the decision thresholds found by calibration.

Building one (``assemble``, at build time) is ``knowledge_base.building.assemble``'s job; ``save`` and ``load``
here define the files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import faiss
import numpy as np

from knowledge_base.serving.lexical import BM25Index, JointPostings

FEATURES = (
    "d_max",
    "d_top3",
    "d_cent",
    "knn_vote",
    "l_max",
    "l_entry",
    "clf",
    "d_max_gap",
    "d_cent_gap",
    "l_max_gap",
    "l_entry_gap",
    "clf_gap",
)


@dataclass(frozen=True)
class EntryRecord:
    """What the index needs to know about an entry to answer with it."""

    id: str
    category: str
    answer: Mapping[str, str]
    title: Mapping[str, str]  # a representative question per language, for "did you mean" buttons


@dataclass
class Ranker:
    """Logistic regression over candidate features: P(candidate is the right entry)."""

    coef: List[float]
    intercept: float
    features: Tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        self._coef = np.asarray(self.coef, dtype=np.float32)
        self._intercept = np.float32(self.intercept)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        z = matrix @ self._coef + self._intercept
        # np.minimum(np.maximum(...)) is np.clip(z, -30, 30) without its Python-level wrapper
        return 1.0 / (1.0 + np.exp(-np.minimum(np.maximum(z, -30), 30)))

    @classmethod
    def default(cls) -> Ranker:
        """Hand-set weights used before any calibration (and for knowledge bases too small to calibrate)."""
        weights = {
            "d_max": 6.0,
            "d_top3": 2.0,
            "d_cent": 2.0,
            "l_max": 2.5,
            "l_entry": 4.0,
            "l_entry_gap": 2.0,
            "d_max_gap": 4.0,
            "l_max_gap": 2.0,
        }
        return cls(coef=[weights.get(f, 0.0) for f in FEATURES], intercept=-8.0)


@dataclass
class Thresholds:
    refuse: float = 0.5
    answer: float = 0.7
    margin: float = 0.15


@dataclass
class Classifier:
    """Logistic regression from vectors to entries: ``softmax(vectors @ weights + bias)``."""

    weights: np.ndarray  # dim x entries
    bias: np.ndarray  # entries

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        z = vector @ self.weights + self.bias
        z = z - z.max()
        e = np.exp(z)
        return e / e.sum()

    def scores(self, vector: np.ndarray, entries: Optional[np.ndarray] = None) -> np.ndarray:
        if entries is None:
            return vector @ self.weights + self.bias
        return vector @ self.weights[:, entries] + self.bias[entries]


@dataclass
class IndexData:
    entries: List[EntryRecord]
    offsets: np.ndarray  # int64, entries + 1
    question_texts: List[str]
    vectors: np.ndarray
    centroids: np.ndarray
    dense: faiss.Index
    lex_questions: BM25Index
    lex_entries: BM25Index
    classifier: Optional[Classifier]
    ranker: Ranker = field(default_factory=Ranker.default)
    thresholds: Thresholds = field(default_factory=Thresholds)
    encoder_id: str = ""
    question_entry: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    postings: JointPostings = field(init=False, repr=False, compare=False)  # both BM25 indexes, walked at once

    def __post_init__(self) -> None:
        counts = np.diff(self.offsets)
        self.question_entry = np.repeat(np.arange(len(self.entries), dtype=np.int64), counts)
        self.postings = JointPostings(self.lex_questions, self.lex_entries)

    @property
    def n_entries(self) -> int:
        return len(self.entries)

    @property
    def n_questions(self) -> int:
        return int(self.offsets[-1])

    def entry_index(self) -> Dict[str, int]:
        return {e.id: i for i, e in enumerate(self.entries)}


# ---------------------------------------------------------------- files


def save(index: IndexData, directory: Path) -> None:
    """Write every file of a build into ``directory`` (which must not be served yet)."""
    directory.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index.dense, str(directory / "dense.faiss"))
    arrays: Dict[str, np.ndarray] = {
        "offsets": index.offsets,
        "vectors": index.vectors,
        "centroids": index.centroids,
    }
    for prefix, lex in (("q_", index.lex_questions), ("e_", index.lex_entries)):
        arrays.update({prefix + k: v for k, v in lex.to_arrays().items()})
    if index.classifier is not None:
        arrays["clf_weights"] = index.classifier.weights
        arrays["clf_bias"] = index.classifier.bias
    np.savez(directory / "arrays.npz", **arrays)
    terms = sorted(index.lex_questions.vocab.index, key=index.lex_questions.vocab.index.__getitem__)
    meta = {
        "encoder_id": index.encoder_id,
        "entries": [asdict(e) for e in index.entries],
        "questions": index.question_texts,
        "terms": terms,
        "ranker": {
            "coef": index.ranker.coef,
            "intercept": index.ranker.intercept,
            "features": list(index.ranker.features),
        },
        "thresholds": asdict(index.thresholds),
    }
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def load(directory: Path) -> IndexData:
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    with np.load(directory / "arrays.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    lex = {}
    for prefix in ("q_", "e_"):
        sub = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        lex[prefix] = BM25Index.from_arrays(sub, meta["terms"])
    lex["e_"].vocab = lex["q_"].vocab
    classifier = None
    if "clf_weights" in arrays:
        classifier = Classifier(arrays["clf_weights"], arrays["clf_bias"])
    ranker_meta = meta["ranker"]
    return IndexData(
        entries=[EntryRecord(**e) for e in meta["entries"]],
        offsets=arrays["offsets"],
        question_texts=meta["questions"],
        vectors=np.ascontiguousarray(arrays["vectors"]),
        centroids=np.ascontiguousarray(arrays["centroids"]),
        dense=faiss.read_index(str(directory / "dense.faiss")),
        lex_questions=lex["q_"],
        lex_entries=lex["e_"],
        classifier=classifier,
        ranker=Ranker(ranker_meta["coef"], ranker_meta["intercept"], tuple(ranker_meta["features"])),
        thresholds=Thresholds(**meta["thresholds"]),
        encoder_id=meta["encoder_id"],
    )
