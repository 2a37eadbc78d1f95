"""Evidence ablations of the matcher, for benchmarks only (``benchmarks/kb_peer.py``): what each kind of evidence
is worth, measured by switching the others off.

- ``dense``: vectors only: no lexical candidates, lexical features zero;
- ``lexical``: BM25 only: candidates from the lexical top questions and the top entries by whole-entry BM25,
  vector and classifier features zero (the query is still encoded, so its latency is not lower);
- ``nearest``: the weak baseline: dense candidates only, every feature zero except the best single-question
  cosine and its gap to the best candidate.

The product never runs these: they are candidate-feature functions (``knowledge_base.serving.scoring``'s
``CandidateFeatures``) that a benchmark passes to ``build_index`` (so that calibration trains the ranker and the
thresholds of the ablated matcher) and sets on the matcher it evaluates (:func:`ablated_matcher`). Their
candidates and features are pinned against the matcher's reference implementation by
``tests/knowledge_base/test_fast_path_equivalence.py``.
"""

from __future__ import annotations

import time
from typing import Sequence, Set, Tuple

import numpy as np

from knowledge_base.config import KBConfig, MatchingConfig
from knowledge_base.serving.encoders import Encoder
from knowledge_base.serving.index import FEATURES, IndexData
from knowledge_base.serving.matcher import Matcher
from knowledge_base.serving.scoring import CandidateFeatures, Timing, candidate_matrix, retrieve, top_k

ABLATIONS = ("dense", "lexical", "nearest")

_F = {name: i for i, name in enumerate(FEATURES)}
_DENSE = [_F[f] for f in FEATURES if f.startswith(("d_", "knn", "clf"))]
_LEXICAL = [_F[f] for f in FEATURES if f.startswith("l_")]
_NEAREST_KEEP = [_F["d_max"], _F["d_max_gap"]]


def _switch_off(feats: np.ndarray, ablation: str) -> np.ndarray:
    if ablation == "dense":
        feats[:, _LEXICAL] = 0.0
    elif ablation == "lexical":
        feats[:, _DENSE] = 0.0
    else:  # nearest
        keep = feats[:, _NEAREST_KEEP].copy()
        feats[:] = 0.0
        feats[:, _NEAREST_KEEP] = keep
    return feats


def ablated_features(ablation: str) -> CandidateFeatures:
    """The candidate-feature function of one ablation (``ABLATIONS``)."""
    if ablation not in ABLATIONS:
        raise ValueError(f"ablation must be one of {ABLATIONS}, got {ablation!r}")

    def features(
        index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig
    ) -> Tuple[np.ndarray, np.ndarray, Timing]:
        t0 = time.perf_counter()
        found = retrieve(index, vector, terms, config)
        t1 = time.perf_counter()
        cand: Set[int] = set(found.dense_entries) if ablation != "lexical" else set()
        if ablation == "lexical":
            cand.update(found.lex_entries)
            cand.update(found.entry_top(10))
        clf_all = None
        if index.classifier is not None and ablation == "dense":
            clf_all = index.classifier.probabilities(found.vector[0])
            cand.update(top_k(clf_all, 10).tolist())
        entries, feats = candidate_matrix(index, found, cand, clf_all, config)
        if entries.size:
            feats = _switch_off(feats, ablation)
        t2 = time.perf_counter()
        return entries, feats, Timing(search_ms=(t1 - t0) * 1000.0, fusion_ms=(t2 - t1) * 1000.0)

    features.__name__ = f"{ablation}_candidate_features"
    return features


def ablated_matcher(index: IndexData, encoder: Encoder, config: KBConfig, ablation: str) -> Matcher:
    """A matcher that scores with the ablation's features (build its index with the same ``features``)."""
    matcher = Matcher(index, encoder, config)
    matcher.candidate_features = ablated_features(ablation)  # type: ignore[method-assign]
    return matcher


__all__ = ["ABLATIONS", "ablated_features", "ablated_matcher"]
