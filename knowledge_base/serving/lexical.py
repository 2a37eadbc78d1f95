"""Lexical index: BM25 over jieba words and character n-grams, on scipy sparse matrices.

Text is normalised first (``kernel.language.normalise``: half-width, Simplified, lower case). Terms:

- ``w:<word>``: jieba words for Chinese, word tokens for Latin script;
- ``c:<ngram>``: Chinese character unigrams and bigrams (robust to segmentation errors);
- ``g:<ngram>``: character 4-grams inside Latin words of 5+ letters (robust to typos and inflection).

Scores are normalised by the query's own upper bound, so they fall in [0, 1] and mean the same thing
across knowledge bases; this makes them usable as ranker features and for thresholds.

On the query path (:class:`JointPostings`) a query's terms are looked up once for both indexes, their
posting lists are walked once, and :class:`LexicalScores` produces normalised float32 scores only for
the documents the matcher asks about (a few dozen), with the arithmetic of the dense vector of
:meth:`BM25Index.scores_for`, bit for bit.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from math import log
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

from kernel.language import is_cjk, normalise

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


# the Chinese characters of jieba's ``re_han_default``; other CJK characters it emits one by one
_JIEBA_HAN = re.compile("[\u4e00-\u9fd5]+")


def _segment(chunk: str) -> List[str]:
    """``jieba.lcut(chunk, HMM=False)`` for a run of CJK characters, without jieba's generic machinery.

    jieba's accurate mode: the DAG of dictionary words starting at every character, then the route of
    highest total log frequency, ties going to the longer word (``max`` over ``(score, end)`` tuples).
    Same dictionary (``jieba.dt.FREQ``, user words included), same arithmetic, same words; every
    dictionary fragment is looked up once instead of twice, and there is no regex split or generator
    per block. Characters outside jieba's Han range come out one by one, as jieba emits them.
    ``tests/knowledge_base/test_fast_path_equivalence.py`` checks it against ``jieba.lcut``.
    """
    tokenizer = _jieba().dt
    tokenizer.check_initialized()
    freq = tokenizer.FREQ
    log_total = log(tokenizer.total)
    words: List[str] = []
    done = 0
    for match in _JIEBA_HAN.finditer(chunk):
        words.extend(chunk[done : match.start()])
        block = match.group(0)
        n = len(block)
        # dag[k]: (end, frequency) of the dictionary words block[k:end+1] (the character alone if none)
        dag: List[List[Tuple[int, int]]] = []
        for k in range(n):
            ends = []
            end = k
            count = freq.get(block[k])
            while count is not None:
                if count:
                    ends.append((end, count))
                end += 1
                if end == n:
                    break
                count = freq.get(block[k : end + 1])
            dag.append(ends or [(k, 0)])
        route: List[Tuple[float, int]] = [(0.0, 0)] * (n + 1)
        for k in range(n - 1, -1, -1):
            route[k] = max((log(count or 1) - log_total + route[end + 1][0], end) for end, count in dag[k])
        k = 0
        while k < n:
            end = route[k][1] + 1
            words.append(block[k:end])
            k = end
        done = match.end()
    words.extend(chunk[done:])
    return words


def tokenize(text: str) -> List[str]:
    """Terms of one text (normalised internally)."""
    text = normalise((text or "")[:_MAX_CHARS])
    terms: List[str] = []
    for match in _TOKEN.finditer(text):
        chunk = match.group(0)
        if is_cjk(chunk[0]):
            for word in _segment(chunk):
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


def answer_terms(text: str) -> List[str]:
    """Terms of an answer text (or tags) for the whole-entry BM25 document, at a lower weight than the
    questions': each distinct word and Chinese bigram once (no term frequency), no Chinese single
    characters (a long answer contains most of the common ones and would match any query)."""
    seen: Dict[str, None] = {}
    for term in tokenize(text):
        if term.startswith("c:") and len(term) == 3:
            continue
        seen.setdefault(term, None)
    return list(seen)


@dataclass(slots=True)
class QueryTerms:
    """The known terms of one query: unique term ids (ascending) and how often the query has each."""

    ids: np.ndarray  # int64, ascending
    counts: List[int]  # parallel to ids
    n_unique: int  # distinct terms of the query, known to the vocabulary or not


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

    def lookup(self, terms: Sequence[str]) -> QueryTerms:
        """One dictionary pass over the query's terms (same ids and counts as ``np.unique`` of :meth:`ids`)."""
        index = self.index
        counts: Dict[int, int] = {}
        for term in terms:
            i = index.get(term)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        ids = sorted(counts)
        return QueryTerms(np.asarray(ids, dtype=np.int64), [counts[i] for i in ids], len(set(terms)))


class LexicalScores:
    """Normalised BM25 of one query over one index, computed where asked.

    ``raw`` is the unnormalised accumulation over every document of the index (float64, from one
    ``np.bincount`` over the query's posting lists). :meth:`at` normalises and rounds to float32 only the
    documents asked for, with the arithmetic of :meth:`BM25Index.scores_for`, so ``at(d)`` equals
    ``scores_for(...)[d]`` exactly.
    """

    __slots__ = ("raw", "scale", "_postings", "_first", "_docs")

    def __init__(self, raw: Optional[np.ndarray], bound: float, postings: Optional[np.ndarray], first: int) -> None:
        self.raw = raw  # None when no document contains a query term
        self.scale = 1.0 / bound
        self._postings = postings  # documents of every posting touched (with repeats), numbered from ``first``
        self._first = first
        self._docs: Optional[np.ndarray] = None

    def at(self, docs: np.ndarray) -> np.ndarray:
        """Normalised scores of ``docs`` (float32)."""
        if self.raw is None:
            return np.zeros(len(docs), dtype=np.float32)
        return (self.raw[docs] * self.scale).astype(np.float32)

    def positive_docs(self) -> np.ndarray:
        """Documents with a score above zero, ascending (``np.flatnonzero(scores_for(...) > 0)``).

        Every stored BM25 weight is positive (zero weights are dropped at build time) and query term
        counts are at least 1, so a document has a positive score exactly when one of its postings was
        touched; sorting the touched postings is cheaper than scanning a dense vector.
        """
        if self._docs is None:
            docs = self._postings
            if docs is None or self.raw is None:
                self._docs = np.zeros(0, dtype=np.int64)
                return self._docs
            if self._first:
                docs = docs[docs >= self._first] - self._first
            else:
                docs = docs[docs < self.raw.size]
            if docs.size == 0:
                self._docs = docs
                return docs
            docs.sort()  # a fresh array (the filter above copies)
            first = np.empty(docs.size, dtype=bool)
            first[0] = True
            np.not_equal(docs[1:], docs[:-1], out=first[1:])
            self._docs = docs[first]
        return self._docs


class JointPostings:
    """The question index and the entry index of a knowledge base, walked together for one query.

    The two indexes share a vocabulary. Column ``t`` here holds term ``t``'s question postings
    (documents ``0 .. n_questions-1``) followed by its entry postings (documents ``n_questions ..``), so a
    query costs one walk over its terms and one ``bincount`` for both indexes. Per document, the sum
    still runs over the query's terms in ascending term order, as in :meth:`BM25Index.scores_for`.
    """

    def __init__(self, questions: BM25Index, entries: BM25Index) -> None:
        if questions.weights.shape[1] != entries.weights.shape[1]:
            raise ValueError("the question and entry indexes must share one vocabulary")
        self.questions = questions
        self.entries = entries
        self.vocab = questions.vocab
        self.n_questions = questions.n_docs
        self.n_docs = questions.n_docs + entries.n_docs
        wq, we = questions.weights, entries.weights
        q_ptr, e_ptr = wq.indptr.astype(np.int64), we.indptr.astype(np.int64)
        q_len, e_len = np.diff(q_ptr), np.diff(e_ptr)
        ptr = q_ptr + e_ptr
        indices = np.empty(int(ptr[-1]), dtype=np.int32 if self.n_docs < 2**31 else np.int64)
        data = np.empty(int(ptr[-1]), dtype=np.float32)
        q_dest = np.arange(q_ptr[-1]) + np.repeat(ptr[:-1] - q_ptr[:-1], q_len)
        e_dest = np.arange(e_ptr[-1]) + np.repeat(ptr[:-1] + q_len - e_ptr[:-1], e_len)
        indices[q_dest] = wq.indices
        data[q_dest] = wq.data
        indices[e_dest] = we.indices.astype(np.int64) + self.n_questions
        data[e_dest] = we.data
        self._indptr = ptr
        self._indices = indices
        self._data = data

    @property
    def nbytes(self) -> int:
        """Memory of this copy of the posting lists (in memory only; builds save the two indexes)."""
        return int(self._indptr.nbytes + self._indices.nbytes + self._data.nbytes)

    def score(self, terms: Sequence[str]) -> Tuple[LexicalScores, LexicalScores]:
        """BM25 of a query's terms over the questions and over the entries, each normalised by its
        index's :meth:`BM25Index.upper_bound`."""
        query = self.vocab.lookup(terms)
        indices, data = self._indices, self._data
        doc_parts: List[np.ndarray] = []
        weight_parts: List[np.ndarray] = []
        begins, ends = self._indptr[query.ids].tolist(), self._indptr[query.ids + 1].tolist()
        for begin, end, count in zip(begins, ends, query.counts, strict=True):
            if begin == end:
                continue
            doc_parts.append(indices[begin:end])
            # the term weight times the query's count, in float32 (x * 1 is exact: skipped)
            weight_parts.append(data[begin:end] if count == 1 else data[begin:end] * np.float32(count))
        bound_q = self.questions.bound(query)
        bound_e = self.entries.bound(query)
        if not doc_parts:
            return LexicalScores(None, bound_q, None, 0), LexicalScores(None, bound_e, None, 0)
        docs = np.concatenate(doc_parts) if len(doc_parts) > 1 else doc_parts[0]
        weights = np.concatenate(weight_parts) if len(weight_parts) > 1 else weight_parts[0]
        raw = np.bincount(docs, weights=weights, minlength=self.n_docs)
        nq = self.n_questions
        return LexicalScores(raw[:nq], bound_q, docs, 0), LexicalScores(raw[nq:], bound_e, docs, nq)


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
        return self._bound(known, len(unique_all))

    def _bound(self, known: np.ndarray, n_unique: int) -> float:
        if n_unique == 0:
            return 1.0
        # pruned (very common) terms have idf 0 and count for nothing, like in the scores
        bound = float(np.add.reduce(self.idf[known])) + self._max_idf * (n_unique - len(known))
        return max(bound, 1e-6)

    def bound(self, query: QueryTerms) -> float:
        """:meth:`upper_bound` of a looked-up query (:meth:`Vocabulary.lookup`)."""
        return self._bound(query.ids, query.n_unique)

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
