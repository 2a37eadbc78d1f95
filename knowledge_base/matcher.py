"""Entry scoring and the answer / clarify / no-answer decision (pure functions over an ``IndexData``).

For one query:

1. candidates = entries of the dense top-k questions, of the lexical top-k questions and of the lexical
   top-k entries (plus the classifier's top entries when the index has a classifier);
2. every candidate gets features that look at *all* its phrasings: best and top-3 mean cosine, cosine to
   the entry centroid, its share of the dense top-10 (a kNN vote), best normalised BM25 over its questions,
   BM25 of the whole entry, the classifier score, and each feature's gap to the best candidate;
3. a logistic-regression ranker (trained by calibration) turns the features into P(right entry);
4. :func:`decide` applies the thresholds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np

from knowledge_base.config import MatchingConfig
from knowledge_base.index import FEATURES, IndexData, Thresholds

ANSWER = "answered"
CLARIFY = "clarify"
NO_ANSWER = "no_answer"

_F = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
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
        order = np.argsort(-self.scores, kind="stable")
        return [Candidate(int(self.entries[i]), float(self.scores[i])) for i in order]


def _top(values: np.ndarray, k: int) -> np.ndarray:
    if values.size <= k:
        return np.argsort(-values, kind="stable")
    part = np.argpartition(-values, k)[:k]
    return part[np.argsort(-values[part], kind="stable")]


def _positions(sorted_values: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Positions of ``values`` in ``sorted_values`` and whether each is there at all."""
    pos = np.searchsorted(sorted_values, values)
    if sorted_values.size == 0:
        return pos, np.zeros(values.shape, dtype=bool)
    clipped = np.minimum(pos, sorted_values.size - 1)
    return clipped, sorted_values[clipped] == values


def _top_positive(values: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k largest strictly positive values, best first (lexical scores are mostly zero)."""
    nonzero = np.flatnonzero(values > 0)
    if nonzero.size == 0:
        return nonzero
    return nonzero[_top(values[nonzero], k)]


ABLATIONS = ("none", "dense", "lexical", "nearest")
_DENSE = [_F[f] for f in FEATURES if f.startswith(("d_", "knn", "clf"))]
_LEXICAL = [_F[f] for f in FEATURES if f.startswith("l_")]
_NEAREST_KEEP = [_F["d_max"], _F["d_max_gap"]]
_GAP_BASES = [_F[b] for b in ("d_max", "d_cent", "l_max", "l_entry", "clf")]
_GAP_COLUMNS = [_F[b + "_gap"] for b in ("d_max", "d_cent", "l_max", "l_entry", "clf")]


def _ablate(feats: np.ndarray, ablation: str) -> np.ndarray:
    if ablation == "dense":
        feats[:, _LEXICAL] = 0.0
    elif ablation == "lexical":
        feats[:, _DENSE] = 0.0
    elif ablation == "nearest":
        keep = feats[:, _NEAREST_KEEP].copy()
        feats[:] = 0.0
        feats[:, _NEAREST_KEEP] = keep
    return feats


def candidate_features(
    index: IndexData,
    vector: np.ndarray,
    terms: Sequence[str],
    config: MatchingConfig,
) -> Tuple[np.ndarray, np.ndarray, Timing]:
    """Candidate entries and their feature matrix for one query (vector must be unit norm)."""
    t0 = time.perf_counter()
    vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
    sims, ids = index.dense.search(vector, min(config.dense_top_k, index.n_questions))
    sims, ids = sims[0], ids[0]
    if ids[-1] < 0:  # fewer neighbours than asked (approximate indexes)
        keep = ids >= 0
        sims, ids = sims[keep], ids[keep]
    term_ids, term_counts = index.lex_questions.query_terms(terms)  # the two BM25 indexes share a vocabulary
    lex_q = index.lex_questions.scores_for(term_ids, term_counts, index.lex_questions.upper_bound(terms))
    lex_e = index.lex_entries.scores_for(term_ids, term_counts, index.lex_entries.upper_bound(terms))
    t1 = time.perf_counter()

    qe = index.question_entry
    ablation = config.ablation
    if ablation not in ABLATIONS:
        raise ValueError(f"matching.ablation must be one of {ABLATIONS}, got {ablation!r}")
    cand = [qe[ids]] if ablation != "lexical" else []
    lex_top = _top_positive(lex_q, config.lexical_top_k)
    if ablation in ("none", "lexical"):
        cand.append(qe[lex_top])
        if ablation == "lexical" or lex_top.size == 0:
            cand.append(_top_positive(lex_e, 10))
    clf_all = None
    if index.classifier is not None and ablation in ("none", "dense"):
        clf_all = index.classifier.probabilities(vector[0])
        cand.append(_top(clf_all, 10))
    entries = np.unique(np.concatenate(cand)).astype(np.int64) if cand else np.zeros(0, dtype=np.int64)
    if entries.size > config.max_candidates:
        # keep the strongest by a cheap pre-score (best fetched cosine + lexical evidence + classifier)
        pre = np.zeros(entries.size, dtype=np.float32)
        pos, found = _positions(entries, qe[ids])
        np.maximum.at(pre, pos[found], sims[found].astype(np.float32))
        lex_best = np.zeros(entries.size, dtype=np.float32)
        pos, found = _positions(entries, qe[lex_top])
        np.maximum.at(lex_best, pos[found], lex_q[lex_top][found])
        pre = pre + 0.5 * lex_best + 0.5 * lex_e[entries]
        if clf_all is not None:
            pre = pre + clf_all[entries]
        entries = np.sort(entries[_top(pre, config.max_candidates)])

    n = entries.size
    feats = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n:
        starts = index.offsets[entries]
        lens = index.offsets[entries + 1] - starts
        seg_starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        rows = np.repeat(np.arange(n), lens)
        question_ids = np.arange(int(lens.sum())) - np.repeat(seg_starts, lens) + np.repeat(starts, lens)
        q_sims = index.vectors[question_ids] @ vector[0]
        feats[:, _F["d_max"]] = np.maximum.reduceat(q_sims, seg_starts)
        feats[:, _F["l_max"]] = np.maximum.reduceat(lex_q[question_ids], seg_starts)
        # mean of each entry's top 3 cosines: order by (entry, -cosine), keep the first 3 of every entry
        if lens.max() <= 3:
            sums = np.bincount(rows, weights=q_sims, minlength=n)
        else:
            order = np.lexsort((-q_sims, rows))
            top3 = (np.arange(order.size) - np.repeat(seg_starts, lens)) < 3
            sums = np.bincount(rows[order][top3], weights=q_sims[order][top3], minlength=n)
        feats[:, _F["d_top3"]] = sums / np.minimum(lens, 3)
        top10 = qe[ids[:10]]
        if top10.size:
            hits, found = _positions(entries, top10)
            feats[:, _F["knn_vote"]] = np.bincount(hits[found], minlength=n) / float(top10.size)
    feats[:, _F["d_cent"]] = index.centroids[entries] @ vector[0]
    feats[:, _F["l_entry"]] = lex_e[entries]
    if clf_all is not None:
        feats[:, _F["clf"]] = clf_all[entries]
    if n:
        base = feats[:, _GAP_BASES]
        feats[:, _GAP_COLUMNS] = base - base.max(axis=0)
        feats = _ablate(feats, ablation)
    t2 = time.perf_counter()
    return entries, feats, Timing(search_ms=(t1 - t0) * 1000.0, fusion_ms=(t2 - t1) * 1000.0)


def score(index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig) -> Scored:
    entries, feats, timing = candidate_features(index, vector, terms, config)
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
