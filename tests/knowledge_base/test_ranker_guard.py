"""The ranker is learned only from enough calibration queries, and only kept when it ranks them at least as well as
the hand-set weights (a knowledge base with a handful of reviewed phrasings once learned a ranker that put
similarity's weight below zero and ranked nothing right: benchmarks/kb_learning_week.py)."""

from __future__ import annotations

import numpy as np

from knowledge_base.building.calibration import MIN_RANKER_QUERIES, CalibrationRows, train_ranker
from knowledge_base.serving.index import FEATURES, Ranker

D_MAX, CLF = FEATURES.index("d_max"), FEATURES.index("clf")


def _rows(answerable: int, unanswerable: int, candidates: int = 5) -> CalibrationRows:
    """Within every answerable query the right candidate is the most similar one (the hand-set weights rank it
    first), but across queries similarity misleads: queries without a right candidate are far more similar."""
    rng = np.random.default_rng(7)
    features, correct = [], []
    for q in range(answerable + unanswerable):
        f = np.zeros((candidates, len(FEATURES)))
        if q < answerable:
            f[:, D_MAX] = rng.uniform(0.05, 0.15, candidates)
            f[0, D_MAX] = 0.2
            c = np.zeros(candidates, dtype=bool)
            c[0] = True
        else:
            f[:, D_MAX] = rng.uniform(0.8, 0.9, candidates)
            c = np.zeros(candidates, dtype=bool)
        features.append(f)
        correct.append(c)
    n = len(features)
    return CalibrationRows(features, correct, [False] * n, [False] * n)


def test_a_ranker_that_ranks_worse_than_the_hand_set_weights_is_not_kept() -> None:
    assert train_ranker(_rows(MIN_RANKER_QUERIES * 2, 200)) == Ranker.default()


def test_too_few_queries_keep_the_hand_set_weights() -> None:
    assert train_ranker(_rows(MIN_RANKER_QUERIES - 1, 0)) == Ranker.default()


def test_enough_consistent_evidence_learns_a_ranker() -> None:
    rows = _rows(MIN_RANKER_QUERIES * 3, 0)
    for f in rows.features:  # a feature the hand-set weights ignore separates right from wrong even better
        f[:, CLF] = 0.0
        f[0, CLF] = 1.0
    learned = train_ranker(rows)
    assert learned != Ranker.default() and learned.coef[CLF] > 0
