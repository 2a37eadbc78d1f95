"""Assembling the in-memory index of a build from encoded, tokenised questions, and the linear models it trains.

Used by the build (``knowledge_base.building.indexing``), by calibration (one index per fold) and by the
optional English adaptation (its head starts from :func:`logistic_weights`). The index itself and its files
are ``knowledge_base.serving.index``.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import faiss
import numpy as np

from knowledge_base.config import IndexConfig
from knowledge_base.serving.index import Classifier, EntryRecord, IndexData
from knowledge_base.serving.lexical import BM25Index, Vocabulary


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


def train_classifier(vectors: np.ndarray, labels: np.ndarray, n_entries: int, c: float = 10.0) -> Classifier:
    """The entry classifier: multinomial logistic regression, its linear scores (logits) kept as weights and bias."""
    coef, intercept = logistic_weights(vectors, labels, n_entries, c, max_iter=500)
    return Classifier(np.ascontiguousarray(coef.T), intercept)


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
        classifier = train_classifier(vectors, labels, len(entries))
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
