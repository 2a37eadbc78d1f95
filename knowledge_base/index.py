"""The in-memory search index of one knowledge-base build, and its files on disk.

Questions are stored grouped by entry (entry ``e`` owns rows ``offsets[e]:offsets[e+1]``), after
normalisation and de-duplication within the entry. The index holds:

- ``vectors`` (questions x dim, unit norm) and a FAISS index over them (exact inner product up to
  ``exact_max_vectors``, HNSW or IVF above);
- ``centroids``: the normalised mean vector of every entry;
- two BM25 indexes sharing one vocabulary: over single questions and over whole entries
  (all phrasings of an entry as one document, so an entry gains from every phrasing), and, in memory
  only, their posting lists side by side (``JointPostings``) so that a query walks them once;
- optionally a ridge classifier over the vectors (one column per entry) when entries have many examples;
- the ranker weights and the decision thresholds found by calibration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import faiss
import numpy as np

from knowledge_base.config import IndexConfig
from knowledge_base.lexical import BM25Index, JointPostings, Vocabulary, tokenize

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

    @classmethod
    def train(cls, vectors: np.ndarray, labels: np.ndarray, n_entries: int, c: float = 10.0) -> Classifier:
        """Multinomial logistic regression; its linear scores (logits) are stored as weights and bias."""
        coef, intercept = logistic_weights(vectors, labels, n_entries, c, max_iter=500)
        return cls(np.ascontiguousarray(coef.T), intercept)

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        z = vector @ self.weights + self.bias
        z = z - z.max()
        e = np.exp(z)
        return e / e.sum()

    def scores(self, vector: np.ndarray, entries: Optional[np.ndarray] = None) -> np.ndarray:
        if entries is None:
            return vector @ self.weights + self.bias
        return vector @ self.weights[:, entries] + self.bias[entries]


def logistic_weights(
    vectors: np.ndarray, labels: np.ndarray, n_classes: int, c: float, max_iter: int = 3000
) -> Tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression as (classes x dim) weights and a bias per class; classes without an
    example get a bias of -1e4. Two classes: sklearn keeps one row (the second class's logit), split here
    into two opposite halves so that the softmax over both equals its sigmoid."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=max_iter).fit(vectors, labels)
    coef = np.zeros((n_classes, vectors.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -1e4, dtype=np.float32)
    if len(model.classes_) == 2 and model.coef_.shape[0] == 1:
        first, second = model.classes_
        coef[second], coef[first] = model.coef_[0] / 2, -model.coef_[0] / 2
        intercept[second], intercept[first] = model.intercept_[0] / 2, -model.intercept_[0] / 2
    else:
        coef[model.classes_] = model.coef_
        intercept[model.classes_] = model.intercept_
    return coef, intercept


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


def make_dense_index(vectors: np.ndarray, config: IndexConfig) -> faiss.Index:
    """Exact inner product for small sets; HNSW or IVF above ``exact_max_vectors``."""
    n, dim = vectors.shape
    if n <= config.exact_max_vectors:
        index: faiss.Index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    if config.approximate == "ivf":
        nlist = int(max(16, min(65536, 4 * np.sqrt(n))))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, nlist * 40), replace=False)]
        ivf.train(sample)
        ivf.add(vectors)
        ivf.nprobe = config.ivf_nprobe
        return ivf
    if config.approximate != "hnsw":
        raise ValueError(f"index.approximate must be hnsw or ivf, got {config.approximate!r}")
    hnsw = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = config.hnsw_ef_construction
    hnsw.hnsw.efSearch = config.hnsw_ef_search
    hnsw.add(vectors)
    return hnsw


def assemble(
    entries: Sequence[EntryRecord],
    questions: Sequence[Sequence[str]],
    vectors_per_entry: Sequence[np.ndarray],
    tokens_per_entry: Sequence[Sequence[Sequence[str]]],
    index_config: IndexConfig,
    classifier_min_examples: float,
    encoder_id: str,
    vocab: Optional[Vocabulary] = None,
    classifier: Optional[Classifier] = None,
    entry_extra_tokens: Optional[Sequence[Sequence[str]]] = None,
) -> IndexData:
    """Build the in-memory index from already-encoded, already-tokenised questions (grouped by entry).

    ``classifier``: an entry classifier trained elsewhere (an adapted encoder's head); otherwise one is
    trained here when the entries have enough questions. ``entry_extra_tokens``: per entry, terms of its
    answer text (and tags) that join the entry's whole-entry BM25 document only (``answer_terms``)."""
    counts = np.asarray([len(q) for q in questions], dtype=np.int64)
    if (counts == 0).any():
        raise ValueError("every entry needs at least one question")
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    vectors = np.ascontiguousarray(np.vstack(vectors_per_entry), dtype=np.float32)
    flat_tokens = [t for group in tokens_per_entry for t in group]
    entry_docs = [[term for t in group for term in t] for group in tokens_per_entry]
    if entry_extra_tokens is not None:
        if len(entry_extra_tokens) != len(entry_docs):
            raise ValueError("entry_extra_tokens needs one term list per entry")
        entry_docs = [doc + list(extra) for doc, extra in zip(entry_docs, entry_extra_tokens, strict=True)]
    vocab = vocab or Vocabulary.build(flat_tokens + [list(extra) for extra in entry_extra_tokens or []])
    lex_q = BM25Index.build(flat_tokens, vocab=vocab)
    lex_e = BM25Index.build(entry_docs, vocab=vocab)
    centroids = np.vstack([v.mean(axis=0) for v in vectors_per_entry]).astype(np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    labels = np.repeat(np.arange(len(entries)), counts)
    if classifier is None and len(entries) >= 2 and counts.mean() >= classifier_min_examples:
        classifier = Classifier.train(vectors, labels, len(entries))
    return IndexData(
        entries=list(entries),
        offsets=offsets,
        question_texts=[q for group in questions for q in group],
        vectors=vectors,
        centroids=np.ascontiguousarray(centroids),
        dense=make_dense_index(vectors, index_config),
        lex_questions=lex_q,
        lex_entries=lex_e,
        classifier=classifier,
        encoder_id=encoder_id,
    )


def tokenize_all(texts: Sequence[str]) -> List[List[str]]:
    return [tokenize(t) for t in texts]


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
