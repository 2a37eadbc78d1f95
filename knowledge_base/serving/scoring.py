"""Entry scoring and the answer / clarify / no-answer decision (pure functions over an ``IndexData``).

For one query:

1. candidates = entries of the dense top-k questions and of the lexical top-k questions (of the top-10
   entries by whole-entry BM25 when no question shares a term), plus the classifier's top entries when the
   index has a classifier;
2. every candidate gets features that look at *all* its phrasings: best and top-3 mean cosine, cosine to
   the entry centroid, its share of the dense top-10 (a kNN vote), best normalised BM25 over its questions,
   BM25 of the whole entry, the classifier score, and each feature's gap to the best candidate;
3. a logistic-regression ranker (trained by calibration) turns the features into P(right entry);
4. :func:`decide` applies the thresholds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Set, Tuple

import numpy as np

from knowledge_base.config import MatchingConfig, ThresholdOverrides
from knowledge_base.serving.index import FEATURES, IndexData, Thresholds
from knowledge_base.serving.lexical import LexicalScores

ANSWER = "answered"
CLARIFY = "clarify"
NO_ANSWER = "no_answer"



@dataclass(frozen=True, slots=True)
class Candidate:
    entry: int
    score: float


@dataclass(frozen=True)
class Decision:
    outcome: str
    candidates: Tuple[Candidate, ...]  # answered: the answer first; clarify: the buttons; no_answer: best guesses


@dataclass
class Timing:
    search_ms: float = 0.0
    fusion_ms: float = 0.0


@dataclass
class Scored:
    entries: np.ndarray  # candidate entry indexes
    features: np.ndarray  # candidates x features
    scores: np.ndarray  # ranker probabilities
    timing: Timing = field(default_factory=Timing)

    def ranked(self) -> List[Candidate]:
        """Best first; equal scores keep entry order (a stable sort, like ``np.argsort(-scores, "stable")``)."""
        entries, scores = self.entries.tolist(), self.scores.tolist()
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
        return [Candidate(entries[i], scores[i]) for i in order]


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k largest values, best first: ``np.argpartition`` then a stable ``np.argsort``
    (array methods: the same operations without the Python-level wrappers)."""
    negated = -values
    if values.size <= k:
        return negated.argsort(kind="stable")
    part = negated.argpartition(k)[:k]
    return part[negated[part].argsort(kind="stable")]


_GAP_BASE_NAMES = ("d_max", "d_cent", "l_max", "l_entry", "clf")  # each has a "<name>_gap" feature


@dataclass(frozen=True, slots=True)
class Retrieved:
    """What the two indexes return for one query, before any candidate is chosen."""

    vector: np.ndarray  # the query, 1 x dim float32
    dense_sims: np.ndarray  # cosines of the dense top-k questions, best first
    dense_entries: List[int]  # entry of each dense hit, best first
    lex_q: LexicalScores  # BM25 over single questions ...
    lex_e: LexicalScores  # ... and over whole entries
    lex_entries: List[int]  # entry of each lexical top question, best first
    lex_values: np.ndarray  # their scores

    def entry_top(self, k: int = 10) -> List[int]:
        """The ``k`` entries with the best whole-entry BM25 (those with a positive score)."""
        e_docs = self.lex_e.positive_docs()
        return e_docs[top_k(self.lex_e.at(e_docs), k)].tolist()


#: The candidate entries and their feature matrix for one query, with timings. The product's is
#: :func:`candidate_features`; evaluation variants (``knowledge_base.learning.ablation``) pass their own to
#: :func:`score`, to calibration and to :class:`~knowledge_base.serving.matcher.Matcher`.
CandidateFeatures = Callable[[IndexData, np.ndarray, Sequence[str], MatchingConfig], Tuple[np.ndarray, np.ndarray, Timing]]


def retrieve(index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig) -> Retrieved:
    """Dense top-k questions (FAISS) and BM25 over questions and entries (one walk of the posting lists)."""
    vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
    sims, ids = index.dense.search(vector, min(config.dense_top_k, index.n_questions))
    sims, ids = sims[0], ids[0]
    if ids[-1] < 0:  # fewer neighbours than asked (approximate indexes)
        keep = ids >= 0
        sims, ids = sims[keep], ids[keep]
    lex_q, lex_e = index.postings.score(terms)  # BM25 over single questions and over whole entries
    qe = index.question_entry
    lex_docs = lex_q.positive_docs()
    lex_values = lex_q.at(lex_docs)
    best = top_k(lex_values, config.lexical_top_k)
    return Retrieved(vector, sims, qe[ids].tolist(), lex_q, lex_e, qe[lex_docs[best]].tolist(), lex_values[best])


def candidate_matrix(
    index: IndexData,
    found: Retrieved,
    candidates: Set[int],
    clf_all: Optional[np.ndarray],
    config: MatchingConfig,
) -> Tuple[np.ndarray, np.ndarray]:
    """At most ``max_candidates`` of ``candidates`` (by a cheap pre-score), ascending, and their features."""
    entry_list = sorted(candidates)
    entries = np.asarray(entry_list, dtype=np.int64)
    entry_lex = found.lex_e.at(entries)
    if len(entry_list) > config.max_candidates:
        pre = _pre_score(entry_list, found.dense_entries, found.dense_sims, found.lex_entries, found.lex_values, entry_lex)
        if clf_all is not None:
            pre = pre + clf_all[entries]
        # entries are ascending, so ascending positions keep them ascending (np.sort(entries[top]))
        keep = top_k(pre, config.max_candidates)
        keep.sort()
        entries, entry_lex = entries[keep], entry_lex[keep]
        entry_list = entries.tolist()
    feats = _features(
        index, found.vector[0], entries, entry_list, found.dense_entries[:10], found.lex_q, entry_lex, clf_all
    )
    return entries, feats


def candidate_features(
    index: IndexData,
    vector: np.ndarray,
    terms: Sequence[str],
    config: MatchingConfig,
) -> Tuple[np.ndarray, np.ndarray, Timing]:
    """Candidate entries and their feature matrix for one query (vector must be unit norm).

    Lookups in the index's large tables are single numpy gathers; the bookkeeping on the few dozen
    values they return (candidate union, pre-score maxima, per-entry maxima, sums and votes) is plain
    Python, which costs less than a numpy call per step on arrays this small. Every value is computed
    with the arithmetic of the all-numpy formulation (float64 sums in ``np.bincount`` order, float32
    where it is float32), so features and scores are the same bit for bit; the equivalence is pinned by
    ``tests/knowledge_base/test_fast_path_equivalence.py``.
    """
    t0 = time.perf_counter()
    found = retrieve(index, vector, terms, config)
    t1 = time.perf_counter()
    cand = set(found.dense_entries)
    cand.update(found.lex_entries)
    if not found.lex_entries:  # no question shares a term: the entries whose whole text does
        cand.update(found.entry_top(10))
    clf_all = None
    if index.classifier is not None:
        clf_all = index.classifier.probabilities(found.vector[0])
        cand.update(top_k(clf_all, 10).tolist())
    entries, feats = candidate_matrix(index, found, cand, clf_all, config)
    t2 = time.perf_counter()
    return entries, feats, Timing(search_ms=(t1 - t0) * 1000.0, fusion_ms=(t2 - t1) * 1000.0)


def _pre_score(
    entry_list: List[int],
    dense_entries: List[int],
    dense_sims: np.ndarray,
    lex_entries: List[int],
    lex_values: np.ndarray,
    entry_lex: np.ndarray,
) -> np.ndarray:
    """Cheap pre-score of every candidate when there are too many (float32): its best fetched cosine
    (floored at 0) + half its best lexical-top question score + half its entry BM25."""
    slot = {e: j for j, e in enumerate(entry_list)}
    dense_best = [0.0] * len(entry_list)
    for e, sim in zip(dense_entries, dense_sims.tolist(), strict=True):
        j = slot.get(e)
        if j is not None and sim > dense_best[j]:
            dense_best[j] = sim
    lex_best = [0.0] * len(entry_list)
    for e, value in zip(lex_entries, lex_values.tolist(), strict=True):
        j = slot.get(e)
        if j is not None and value > lex_best[j]:
            lex_best[j] = value
    return np.asarray(dense_best, dtype=np.float32) + 0.5 * np.asarray(lex_best, dtype=np.float32) + 0.5 * entry_lex


def _features(
    index: IndexData,
    vector: np.ndarray,
    entries: np.ndarray,
    entry_list: List[int],
    top10_entries: List[int],
    lex_q: LexicalScores,
    entry_lex: np.ndarray,
    clf_all: Optional[np.ndarray],
) -> np.ndarray:
    """The feature matrix (candidates x FEATURES, float32) of the final candidates.

    Per-entry values are computed on Python floats and converted to float32 once. This reproduces the
    float32 numpy arithmetic exactly: maxima are exact; sums and means are float64 in the order
    ``np.bincount`` summed them, then rounded to float32; a gap is the difference of two float32 values
    computed in float64 and rounded once to float32, which equals the float32 subtraction (float64 has
    more than twice float32's precision, so the double rounding is innocuous).
    """
    n = len(entry_list)
    if n == 0:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    starts = index.offsets[entries].tolist()
    stops = index.offsets[entries + 1].tolist()
    question_ids = np.asarray([q for a, b in zip(starts, stops, strict=True) for q in range(a, b)], dtype=np.int64)
    q_sims = (index.vectors[question_ids] @ vector).tolist()
    q_lex = lex_q.at(question_ids).tolist()
    over3 = max(b - a for a, b in zip(starts, stops, strict=True)) > 3
    d_max, l_max, d_top3 = [], [], []
    pos = 0
    for a, b in zip(starts, stops, strict=True):
        end = pos + b - a
        cos = q_sims[pos:end]
        d_max.append(max(cos))
        l_max.append(max(q_lex[pos:end]))
        # mean of the entry's top 3 cosines, summed in float64 in the order np.bincount summed them:
        # question order when no entry has more than 3 questions, else best first
        total = 0.0
        for c in sorted(cos, reverse=True)[:3] if over3 else cos:
            total += c
        d_top3.append(total / min(b - a, 3))
        pos = end
    # share of the dense top 10 questions that belong to each candidate (a kNN vote)
    votes = [0] * n
    if top10_entries:
        slot = {e: j for j, e in enumerate(entry_list)}
        for e in top10_entries:
            j = slot.get(e)
            if j is not None:
                votes[j] += 1
        share = float(len(top10_entries))
        votes = [v / share for v in votes]
    columns = {
        "d_max": d_max,
        "d_top3": d_top3,
        "d_cent": (index.centroids[entries] @ vector).tolist(),
        "knn_vote": votes,
        "l_max": l_max,
        "l_entry": entry_lex.tolist(),
        "clf": clf_all[entries].tolist() if clf_all is not None else [0.0] * n,
    }
    for base in _GAP_BASE_NAMES:
        values = columns[base]
        top = max(values)
        columns[base + "_gap"] = [v - top for v in values]
    return np.ascontiguousarray(np.array([columns[f] for f in FEATURES], dtype=np.float32).T)


def score(
    index: IndexData,
    vector: np.ndarray,
    terms: Sequence[str],
    config: MatchingConfig,
    features: CandidateFeatures = candidate_features,
) -> Scored:
    """Candidates of one query scored by the index's ranker (``features``: the candidate-feature function)."""
    entries, feats, timing = features(index, vector, terms, config)
    t0 = time.perf_counter()
    scores = index.ranker.predict(feats) if entries.size else np.zeros(0, dtype=np.float32)
    timing.fusion_ms += (time.perf_counter() - t0) * 1000.0
    return Scored(entries, feats, np.asarray(scores, dtype=np.float32), timing)


def decide(ranked: Sequence[Candidate], thresholds: Thresholds, clarify_max: int = 3) -> Decision:
    """answer when the best candidate is confident and clearly ahead; clarify when it is plausible or
    contested; no answer below the refusal threshold."""
    if not ranked or ranked[0].score < thresholds.refuse:
        return Decision(NO_ANSWER, tuple(ranked[:clarify_max]))
    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    if best.score >= thresholds.answer and best.score - runner_up >= thresholds.margin:
        return Decision(ANSWER, (best,))
    floor = max(thresholds.refuse * 0.5, best.score - 3 * thresholds.margin)
    options = [c for c in ranked[:clarify_max] if c.score >= floor]
    return Decision(CLARIFY, tuple(options))


def apply_overrides(thresholds: Thresholds, overrides: ThresholdOverrides) -> Thresholds:
    """The calibrated thresholds with the configured overrides (config or environment) applied."""
    refuse = overrides.refuse if overrides.refuse is not None else thresholds.refuse
    answer = overrides.answer if overrides.answer is not None else max(thresholds.answer, refuse)
    return Thresholds(refuse=refuse, answer=answer, margin=overrides.margin)
