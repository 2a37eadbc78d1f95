"""Calibration from the knowledge base's own questions: ranker weights and decision thresholds.

Cross-validation over questions, with whole entries held out to play out-of-scope:

- the questions of each entry (with at least two) are spread over ``folds`` folds, so every fold
  leaves each entry at least one phrasing;
- in every fold a random ``held_out_entry_share`` of the entries is removed from the fold's index
  entirely; their questions in that fold become pseudo out-of-scope queries (the knowledge base
  really has no answer for them). Real out-of-scope examples, when given, join as well;
- each fold's index is assembled from the remaining questions (no re-encoding: vectors and tokens
  are reused) and answers the fold's queries; with build-time adaptation (``knowledge_base.english.adaptation``)
  the ``refit`` hook instead gives each fold vectors and an entry classifier from a model adapted to that
  fold's index alone (cross-fitting: no fold is asked questions its model was trained on);
- a logistic regression on the candidates' features (label: is the right entry) becomes the ranker;
- when at least 20 real out-of-scope examples are given (the eval CLI's ``oos`` training rows), the
  refusal threshold maximises ``(1 - w) * in-scope accuracy + w * out-of-scope recall`` on them;
- otherwise it maximises the same on the held-out entries' questions, capped so
  that it refuses at most ``max_refused_correct`` (10%) of the calibration questions the ranker gets
  right (held-out sibling entries are harder than real off-topic questions, and would otherwise push
  the threshold too high); the direct-answer threshold is the lowest one at or above it whose answers
  reach ``answer_precision``.

Thin evidence (entries with one phrasing each, a few dozen entries): the cross-validation above has
nothing to ask (``queries`` below ``thin_min_queries``). Then :func:`thin_thresholds` sets the thresholds
from the scores the final index gives to two generic query sets that ship with the product
(``knowledge_base/calibration_data/generic.yml``, per language): typical shop customers' messages and
clearly off-topic ones. ``refuse`` maximises the same weighted objective with the in-domain messages
standing in for in-scope queries, capped to refuse at most ``thin_max_refused`` of them; ``answer`` is
the ``thin_answer_quantile`` of the off-topic scores (at least ``refuse``), so most matches fall in the
"did you mean" band: with one phrasing per entry there is no evidence of precision, and a choice among
three buttons costs the customer one tap while a wrong answer costs trust.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from knowledge_base.building.assemble import assemble
from knowledge_base.config import CalibrationConfig, IndexConfig, MatchingConfig, ThresholdOverrides
from knowledge_base.serving.index import FEATURES, Classifier, EntryRecord, Ranker, Thresholds
from knowledge_base.serving.lexical import Vocabulary
from knowledge_base.serving.scoring import CandidateFeatures, candidate_features

log = logging.getLogger(__name__)

MAX_QUERIES_PER_FOLD = 4000


@dataclass
class CalibrationRows:
    features: List[np.ndarray]  # per query: candidates x features
    correct: List[np.ndarray]  # per query: bool per candidate
    is_oos: List[bool]
    real_oos: List[bool]  # a known out-of-scope example (not a held-out entry's question)


@dataclass(frozen=True)
class CalibrationReport:
    queries: int
    oos_queries: int
    in_scope_accuracy: float
    oos_recall: float
    thresholds: Thresholds
    ranker: Ranker
    #: "own" (cross-validation over the knowledge base's questions) or "generic" (thin evidence: the shipped
    #: generic query sets decided the thresholds); with "generic", ``in_scope_accuracy`` is the share of the
    #: generic in-domain messages not refused and ``oos_recall`` the share of off-topic ones refused
    mode: str = "own"
    generic_queries: int = 0


GENERIC_SETS = Path(__file__).resolve().parent.parent / "calibration_data" / "generic.yml"


@lru_cache(maxsize=4)
def _generic_file(path: str) -> Dict[str, Dict[str, List[str]]]:
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: Dict[str, Dict[str, List[str]]] = {}
    for lang, sets in raw.items():
        if not isinstance(sets, dict):
            raise ValueError(f"{path}: {lang!r} must map in_domain/out_of_scope to lists")
        out[str(lang)] = {
            key: [str(q) for q in sets.get(key) or [] if str(q).strip()] for key in ("in_domain", "out_of_scope")
        }
    return out


def generic_queries(questions: Sequence[str], path: Path = GENERIC_SETS) -> Tuple[List[str], List[str]]:
    """The shipped generic in-domain and off-topic messages for the languages of ``questions``:
    Chinese when any question has a CJK character, English when at least 10% are mostly Latin letters."""
    from kernel.language import ENGLISH, SIMPLIFIED, is_cjk

    sets = _generic_file(str(path))
    n_cjk = sum(any(is_cjk(ch) for ch in q) for q in questions)
    n_latin = sum(sum(ch.isascii() and ch.isalpha() for ch in q) > len(q) / 2 for q in questions)
    langs = []
    if n_cjk:
        langs.append(SIMPLIFIED)
    if n_latin >= 0.1 * max(len(questions), 1) or not langs:
        langs.append(ENGLISH)
    in_domain = [q for lang in langs for q in sets.get(lang, {}).get("in_domain", [])]
    oos = [q for lang in langs for q in sets.get(lang, {}).get("out_of_scope", [])]
    return in_domain, oos


def thin_thresholds(
    in_domain_top: np.ndarray, oos_top: np.ndarray, calibration: CalibrationConfig, margin: float
) -> Thresholds:
    """Thresholds from the best candidate's score on generic in-domain and off-topic messages."""
    in_domain_top = np.asarray(in_domain_top, dtype=np.float64)
    oos_top = np.asarray(oos_top, dtype=np.float64)
    if not in_domain_top.size:
        return Thresholds(margin=margin)
    w = calibration.oos_weight if oos_top.size else 0.0
    grid = np.unique(np.concatenate([[0.0], np.round(in_domain_top, 4), np.round(oos_top, 4)]))
    best_t, best_obj = 0.0, -1.0
    for t in grid:
        kept = float((in_domain_top >= t).mean())
        refused = float((oos_top < t).mean()) if oos_top.size else 0.0
        obj = (1 - w) * kept + w * refused
        if obj > best_obj + 1e-9:
            best_t, best_obj = float(t), obj
    cap = float(np.quantile(in_domain_top, calibration.thin_max_refused))
    refuse = min(best_t, cap)
    answer = float(np.quantile(oos_top, calibration.thin_answer_quantile)) if oos_top.size else 1.0
    return Thresholds(refuse=round(refuse, 4), answer=round(max(answer, refuse), 4), margin=margin)


#: Cross-fitting hook: given the entries a fold's index keeps and, per kept entry, the mask of its questions
#: that the index holds, return vectors for every question of every entry, vectors for the out-of-scope
#: examples, and an entry classifier over the kept entries (in keep order), all from a model that saw only
#: what the index holds.
Refit = Callable[[List[int], List[np.ndarray]], Tuple[List[np.ndarray], Optional[np.ndarray], Optional[Classifier]]]


def _fold_rows(
    entries: Sequence[EntryRecord],
    vectors: Sequence[np.ndarray],
    tokens: Sequence[Sequence[Sequence[str]]],
    oos_vectors: Optional[np.ndarray],
    oos_tokens: Sequence[Sequence[str]],
    matching: MatchingConfig,
    calibration: CalibrationConfig,
    encoder_id: str,
    vocab: Vocabulary,
    refit: Optional[Refit] = None,
    folds: Optional[int] = None,
    entry_extra_tokens: Optional[Sequence[Sequence[str]]] = None,
    features: CandidateFeatures = candidate_features,
) -> CalibrationRows:
    rng = np.random.default_rng(calibration.seed)
    k = max(2, folds or calibration.folds)
    n_entries = len(entries)
    fold_of: List[np.ndarray] = []
    for v in vectors:
        n = len(v)
        if n < 2:
            fold_of.append(np.full(n, -1))
            continue
        order = rng.permutation(n)
        fold_assignment = np.empty(n, dtype=np.int64)
        fold_assignment[order] = (np.arange(n) + rng.integers(k)) % k
        fold_of.append(fold_assignment)
    oos_fold = rng.integers(k, size=0 if oos_vectors is None else len(oos_vectors))
    rows = CalibrationRows([], [], [], [])
    exact = IndexConfig(exact_max_vectors=10**9)
    centroids = np.vstack([v.mean(axis=0) for v in vectors])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    for fold in range(k):
        held_out = set()
        if n_entries >= 5 and calibration.held_out_entry_share > 0:
            n_held = max(1, int(round(calibration.held_out_entry_share * n_entries)))
            held_out = set(rng.choice(n_entries, size=n_held, replace=False).tolist())
        kept_mask = np.ones(n_entries, dtype=bool)
        kept_mask[list(held_out)] = False
        keep_entries = [e for e in range(n_entries) if e not in held_out and (fold_of[e] != fold).any()]
        if len(keep_entries) < 2:
            continue
        train_masks = [fold_of[e] != fold for e in keep_entries]
        fold_vectors, fold_oos, classifier = vectors, oos_vectors, None
        if refit is not None:
            fold_vectors, fold_oos, classifier = refit(keep_entries, train_masks)
        sub_vecs, sub_toks, sub_q = [], [], []
        queries = []  # (vector, tokens, original entry or -1 held-out entry or -2 real out-of-scope)
        for e in range(n_entries):
            in_fold = fold_of[e] == fold
            if e in held_out:
                # an entry with a near twin among the kept ones is answered by that twin: not out-of-scope
                if (
                    kept_mask.any()
                    and float((centroids[kept_mask] @ centroids[e]).max()) >= calibration.twin_similarity
                ):
                    continue
                for i in np.flatnonzero(in_fold):
                    queries.append((fold_vectors[e][i], tokens[e][i], -1))
                continue
            train = ~in_fold
            if not train.any():
                continue
            sub_vecs.append(fold_vectors[e][train])
            sub_toks.append([tokens[e][i] for i in np.flatnonzero(train)])
            sub_q.append([""] * int(train.sum()))
            for i in np.flatnonzero(in_fold):
                queries.append((fold_vectors[e][i], tokens[e][i], e))
        for i in np.flatnonzero(oos_fold == fold):
            queries.append((fold_oos[i], oos_tokens[i], -2))
        if len(queries) > MAX_QUERIES_PER_FOLD:
            pick = rng.choice(len(queries), size=MAX_QUERIES_PER_FOLD, replace=False)
            queries = [queries[i] for i in sorted(pick)]
        sub = assemble(
            [entries[e] for e in keep_entries],
            sub_q,
            sub_vecs,
            sub_toks,
            exact,
            matching.classifier_min_examples,
            encoder_id,
            vocab=vocab,
            classifier=classifier,
            entry_extra_tokens=None if entry_extra_tokens is None else [entry_extra_tokens[e] for e in keep_entries],
        )
        local = {e: i for i, e in enumerate(keep_entries)}
        for vec, toks, original in queries:
            cands, feats, _ = features(sub, vec, toks, matching)
            target = local.get(original, -1)
            rows.features.append(feats)
            rows.correct.append(cands == target)
            rows.is_oos.append(original < 0)
            rows.real_oos.append(original == -2)
    return rows


#: calibration queries with a right candidate needed before the ranker's weights are learned; with fewer (a
#: one-phrasing knowledge base after its first reviewed questions) the hand-set weights stay
MIN_RANKER_QUERIES = 30


def _ranked_right(rows: CalibrationRows, ranker: Ranker) -> int:
    """Calibration queries whose first candidate under ``ranker`` is a right one."""
    return sum(bool(c[int(np.argmax(ranker.predict(f)))]) for f, c in zip(rows.features, rows.correct, strict=False)
               if len(f))


def train_ranker(rows: CalibrationRows) -> Ranker:
    """Logistic regression on the calibration rows' features, kept only when there is enough evidence and it ranks
    the calibration queries at least as well as the hand-set weights (a handful of queries once gave a ranker that
    weighed similarity negatively and ranked nothing right)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([f for f in rows.features if len(f)]) if rows.features else np.zeros((0, len(FEATURES)))
    y = (
        np.concatenate([c for c, f in zip(rows.correct, rows.features, strict=False) if len(f)])
        if rows.features
        else np.zeros(0)
    )
    answerable = sum(1 for c, f in zip(rows.correct, rows.features, strict=False) if len(f) and c.any())
    if answerable < MIN_RANKER_QUERIES or x.shape[0] < 20 or y.sum() < 5 or (~y.astype(bool)).sum() < 5:
        return Ranker.default()
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(x, y.astype(int))
    learned = Ranker([float(c) for c in model.coef_[0]], float(model.intercept_[0]))
    default = Ranker.default()
    if _ranked_right(rows, learned) < _ranked_right(rows, default):
        log.info("kb.calibration.ranker_kept_default queries=%d reason=learned ranks fewer right", answerable)
        return default
    return learned


def _query_outcomes(rows: CalibrationRows, ranker: Ranker):
    top = np.zeros(len(rows.features))
    second = np.zeros(len(rows.features))
    right = np.zeros(len(rows.features), dtype=bool)
    for i, (f, c) in enumerate(zip(rows.features, rows.correct, strict=False)):
        if not len(f):
            continue
        p = ranker.predict(f)
        order = np.argsort(-p)
        top[i] = p[order[0]]
        second[i] = p[order[1]] if len(order) > 1 else 0.0
        right[i] = bool(c[order[0]])
    return top, second, right, np.asarray(rows.is_oos, dtype=bool)


def choose_thresholds(
    top: np.ndarray,
    right: np.ndarray,
    is_oos: np.ndarray,
    calibration: CalibrationConfig,
    margin: float,
    capped: bool = True,
) -> Thresholds:
    grid = np.unique(np.concatenate([[0.0], np.round(top, 4), [1.0]]))
    n_in = max(int((~is_oos).sum()), 1)
    n_oos = int(is_oos.sum())
    w = calibration.oos_weight if n_oos else 0.0
    best_t, best_obj = 0.5, -1.0
    for t in grid:
        answered = top >= t
        acc_in = float((answered & right & ~is_oos).sum()) / n_in
        rec_oos = float((~answered & is_oos).sum()) / n_oos if n_oos else 0.0
        obj = (1 - w) * acc_in + w * rec_oos
        if obj > best_obj + 1e-9:
            best_t, best_obj = float(t), obj
    correct_scores = top[right & ~is_oos]
    if correct_scores.size and (capped or not n_oos):
        # never refuse more than `max_refused_correct` of the questions the ranker gets right: held-out
        # sibling entries make harder out-of-scope examples than customers' real off-topic questions
        retention_t = float(np.quantile(correct_scores, calibration.max_refused_correct))
        best_t = min(best_t, retention_t) if n_oos else retention_t
    answer_t = 1.0
    for t in grid[grid >= best_t]:
        answered = top >= t
        if answered.sum() == 0:
            break
        precision = float((answered & right).sum()) / float(answered.sum())
        if precision >= calibration.answer_precision:
            answer_t = float(t)
            break
    return Thresholds(refuse=round(best_t, 4), answer=round(max(answer_t, best_t), 4), margin=margin)


def calibrate(
    entries: Sequence[EntryRecord],
    vectors: Sequence[np.ndarray],
    tokens: Sequence[Sequence[Sequence[str]]],
    matching: MatchingConfig,
    calibration: CalibrationConfig,
    overrides: ThresholdOverrides,
    encoder_id: str,
    vocab: Vocabulary,
    oos_vectors: Optional[np.ndarray] = None,
    oos_tokens: Sequence[Sequence[str]] = (),
    refit: Optional[Refit] = None,
    folds: Optional[int] = None,
    entry_extra_tokens: Optional[Sequence[Sequence[str]]] = None,
    features: CandidateFeatures = candidate_features,
) -> CalibrationReport:
    """Ranker and thresholds by cross-validation (module docstring); ``features``: the candidate-feature
    function the folds' queries are scored with."""
    rows = _fold_rows(
        entries,
        vectors,
        tokens,
        oos_vectors,
        oos_tokens,
        matching,
        calibration,
        encoder_id,
        vocab,
        refit,
        folds,
        entry_extra_tokens,
        features,
    )
    ranker = train_ranker(rows)
    top, _second, right, is_oos = _query_outcomes(rows, ranker)
    real = np.asarray(rows.real_oos, dtype=bool)
    if real.sum() >= 20:
        # known out-of-scope examples are what customers really send: choose on them, not on held-out entries
        pseudo = is_oos & ~real
        keep = ~pseudo
        top, right, is_oos = top[keep], right[keep], is_oos[keep]
    if len(top) >= 10:
        thresholds = choose_thresholds(top, right, is_oos, calibration, overrides.margin, capped=not real.sum() >= 20)
    else:
        thresholds = Thresholds(margin=overrides.margin)
    answered = top >= thresholds.refuse
    n_in, n_oos = int((~is_oos).sum()), int(is_oos.sum())
    report = CalibrationReport(
        queries=len(top),
        oos_queries=n_oos,
        in_scope_accuracy=float((answered & right & ~is_oos).sum()) / max(n_in, 1),
        oos_recall=float((~answered & is_oos).sum()) / max(n_oos, 1),
        thresholds=thresholds,
        ranker=ranker,
    )
    log.info(
        "kb.calibrated queries=%d oos=%d in_scope_acc=%.3f oos_recall=%.3f refuse=%.3f answer=%.3f",
        report.queries,
        n_oos,
        report.in_scope_accuracy,
        report.oos_recall,
        thresholds.refuse,
        thresholds.answer,
    )
    return report
