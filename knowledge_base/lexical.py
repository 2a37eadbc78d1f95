"""Lexical index: BM25 over jieba words and character n-grams, on scipy sparse matrices.

Text is normalised first (``bot.language.normalise``: half-width, Simplified, lower case). Terms:

- ``w:<word>``: jieba words for Chinese, word tokens for Latin script;
- ``c:<ngram>``: Chinese character unigrams and bigrams (robust to segmentation errors);
- ``g:<ngram>``: character 4-grams inside Latin words of 5+ letters (robust to typos and inflection).

Scores are normalised by the query's own upper bound, so they fall in [0, 1] and mean the same thing
across knowledge bases; this makes them usable as ranker features and for thresholds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from bot.language import is_cjk, normalise

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")
_MAX_CHARS = 2000
MAX_DF = 0.1  # share of documents above which a term is dropped from the index ...
MIN_DOCS_FOR_PRUNING = 1000  # ... in collections at least this large

_EN_STOP = frozenset(
    "a an the of to in on at for is are am be do does did i me my we our you your it this that "
    "can could would will should please and or with".split()
)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> List[str]:
    """Terms of one text (normalised internally)."""
    text = normalise((text or "")[:_MAX_CHARS])
    terms: List[str] = []
    for match in _TOKEN.finditer(text):
        chunk = match.group(0)
        if is_cjk(chunk[0]):
            for word in _jieba().lcut(chunk, HMM=False):
                terms.append("w:" + word)
            terms.extend("c:" + ch for ch in chunk)
            terms.extend("c:" + chunk[i : i + 2] for i in range(len(chunk) - 1))
        else:
            if chunk in _EN_STOP:
                continue
            terms.append("w:" + chunk)
            if len(chunk) >= 5 and not chunk.isdigit():
                padded = f"<{chunk}>"
                terms.extend("g:" + padded[i : i + 4] for i in range(len(padded) - 3))
    return terms


@dataclass
class Vocabulary:
    index: Dict[str, int]

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]]) -> Vocabulary:
        index: Dict[str, int] = {}
        for doc in documents:
            for term in doc:
                if term not in index:
                    index[term] = len(index)
        return cls(index)

    def ids(self, terms: Sequence[str]) -> List[int]:
        return [self.index[t] for t in terms if t in self.index]


class BM25Index:
    """Okapi BM25 over a fixed set of documents; a query costs one sparse column gather."""

    def __init__(self, vocab: Vocabulary, weights: sp.csc_matrix, idf: np.ndarray, k1: float, b: float) -> None:
        self.vocab = vocab
        self.weights = weights  # documents x terms, BM25 term weights (idf included)
        self.idf = idf
        self.k1 = k1
        self.b = b
        self._max_idf = float(idf.max()) if idf.size else 1.0

    @property
    def n_docs(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def build(
        cls,
        documents: Sequence[Sequence[str]],
        k1: float = 1.2,
        b: float = 0.75,
        vocab: Optional[Vocabulary] = None,
        max_df: float = MAX_DF,
        min_docs_for_pruning: int = MIN_DOCS_FOR_PRUNING,
    ) -> BM25Index:
        vocab = vocab or Vocabulary.build(documents)
        rows: List[int] = []
        cols: List[int] = []
        for row, doc in enumerate(documents):
            ids = vocab.ids(doc)
            rows.extend([row] * len(ids))
            cols.extend(ids)
        n_docs, n_terms = len(documents), max(len(vocab.index), 1)
        tf = sp.csr_matrix(
            (
                np.ones(len(rows), dtype=np.float32),
                (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
            ),
            shape=(n_docs, n_terms),
        )
        tf.sum_duplicates()
        lengths = np.asarray(tf.sum(axis=1)).ravel()
        avg = float(lengths.mean()) if n_docs else 1.0
        df = np.bincount(tf.indices, minlength=n_terms).astype(np.float32)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        if n_docs >= min_docs_for_pruning:
            # terms in more than max_df of the documents ("吗", "的", "how") carry little weight and have the
            # longest posting lists: they are dropped from the index (and from the normaliser), as max_df does
            # in scikit-learn's vectorizers
            idf[df > max_df * n_docs] = 0.0
        tf = tf.tocoo()
        denom = tf.data + k1 * (1.0 - b + b * lengths[tf.row] / max(avg, 1e-9))
        data = idf[tf.col] * tf.data * (k1 + 1.0) / denom
        keep = data > 0
        weights = sp.csc_matrix((data[keep].astype(np.float32), (tf.row[keep], tf.col[keep])), shape=(n_docs, n_terms))
        return cls(vocab, weights, idf, k1, b)

    def query_terms(self, terms: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """Unique known term ids of a query and their counts."""
        ids = self.vocab.ids(terms)
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        unique, counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        return unique, counts.astype(np.float32)

    def upper_bound(self, terms: Sequence[str]) -> float:
        """Score of a document containing every query term once, at average length: the normaliser.

        Unknown query terms count with the highest idf, so a query made of words the knowledge
        base has never seen scores low instead of looking like a perfect match on its one known word.
        """
        unique_all = set(terms)
        if not unique_all:
            return 1.0
        known, _ = self.query_terms(terms)
        max_idf = self._max_idf
        # pruned (very common) terms have idf 0 and count for nothing, like in the scores
        bound = float(self.idf[known].sum()) + max_idf * (len(unique_all) - len(known))
        return max(bound, 1e-6)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Normalised BM25 of every document (dense vector, length ``n_docs``)."""
        ids, counts = self.query_terms(terms)
        return self.scores_for(ids, counts, self.upper_bound(terms))

    def scores_for(self, ids: np.ndarray, counts: np.ndarray, bound: float) -> np.ndarray:
        """BM25 for already looked-up query terms (indexes sharing a vocabulary look them up once).

        Walks the posting lists of the query's terms (CSC columns) and accumulates with ``bincount``:
        cost proportional to the postings touched, no sparse-matrix objects per query.
        """
        if ids.size == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        indptr, indices, data = self.weights.indptr, self.weights.indices, self.weights.data
        begins, ends = indptr[ids], indptr[ids + 1]
        lengths = ends - begins
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        offsets = np.repeat(begins - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        positions = np.arange(total) + offsets
        weights = data[positions] * np.repeat(counts, lengths)
        raw = np.bincount(indices[positions], weights=weights, minlength=self.n_docs)
        return (raw * (1.0 / bound)).astype(np.float32)

    def to_arrays(self) -> Dict[str, np.ndarray]:
        w = self.weights
        return {
            "lex_data": w.data,
            "lex_indices": w.indices,
            "lex_indptr": w.indptr,
            "lex_shape": np.asarray(w.shape, dtype=np.int64),
            "lex_idf": self.idf,
            "lex_params": np.asarray([self.k1, self.b], dtype=np.float32),
        }

    @classmethod
    def from_arrays(cls, arrays: Dict[str, np.ndarray], terms: Sequence[str]) -> BM25Index:
        shape = tuple(int(x) for x in arrays["lex_shape"])
        weights = sp.csc_matrix((arrays["lex_data"], arrays["lex_indices"], arrays["lex_indptr"]), shape=shape)
        k1, b = (float(x) for x in arrays["lex_params"])
        vocab = Vocabulary({t: i for i, t in enumerate(terms)})
        return cls(vocab, weights, arrays["lex_idf"], k1, b)
