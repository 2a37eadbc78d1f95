"""The fast query path returns exactly what the straightforward all-numpy one returned.

``_reference_candidate_features`` below is the matcher's previous implementation, kept verbatim (dense
BM25 vectors over every document, ``np.unique`` unions, ``np.maximum.at`` pre-scores, segment
reductions). The fast path (joint posting walk, sparse BM25, plain-Python bookkeeping, the jieba
re-implementation) must give the same candidates, the same feature matrix and the same scores, bit for
bit, on synthetic knowledge bases that exercise every branch (pruned and unpruned vocabularies, exact
and HNSW indexes, uniform and uneven question counts, a classifier, every ablation, candidate caps) and
on the fixture knowledge base with real queries.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np
import pytest

from knowledge_base.building.assemble import assemble
from knowledge_base.config import IndexConfig, MatchingConfig
from knowledge_base.learning.ablation import ablated_features
from knowledge_base.serving.index import FEATURES, EntryRecord, IndexData, Ranker
from knowledge_base.serving.lexical import _EN_STOP, _TOKEN, Vocabulary, _jieba, _segment, tokenize
from knowledge_base.serving.runtime import KnowledgeBase
from knowledge_base.serving.scoring import candidate_features, score

from .conftest import FIXTURE_FAQ

HELDOUT = Path(__file__).resolve().parents[1] / "data" / "faq_heldout.jsonl"

# ---------------------------------------------------------------- the reference (previous implementation)

_F = {name: i for i, name in enumerate(FEATURES)}
_DENSE = [_F[f] for f in FEATURES if f.startswith(("d_", "knn", "clf"))]
_LEXICAL = [_F[f] for f in FEATURES if f.startswith("l_")]
_NEAREST_KEEP = [_F["d_max"], _F["d_max_gap"]]
_GAP_BASES = [_F[b] for b in ("d_max", "d_cent", "l_max", "l_entry", "clf")]
_GAP_COLUMNS = [_F[b + "_gap"] for b in ("d_max", "d_cent", "l_max", "l_entry", "clf")]


def _ref_top(values: np.ndarray, k: int) -> np.ndarray:
    if values.size <= k:
        return np.argsort(-values, kind="stable")
    part = np.argpartition(-values, k)[:k]
    return part[np.argsort(-values[part], kind="stable")]


def _ref_positions(sorted_values: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    pos = np.searchsorted(sorted_values, values)
    if sorted_values.size == 0:
        return pos, np.zeros(values.shape, dtype=bool)
    clipped = np.minimum(pos, sorted_values.size - 1)
    return clipped, sorted_values[clipped] == values


def _ref_top_positive(values: np.ndarray, k: int) -> np.ndarray:
    nonzero = np.flatnonzero(values > 0)
    if nonzero.size == 0:
        return nonzero
    return nonzero[_ref_top(values[nonzero], k)]


def _ref_ablate(feats: np.ndarray, ablation: str) -> np.ndarray:
    if ablation == "dense":
        feats[:, _LEXICAL] = 0.0
    elif ablation == "lexical":
        feats[:, _DENSE] = 0.0
    elif ablation == "nearest":
        keep = feats[:, _NEAREST_KEEP].copy()
        feats[:] = 0.0
        feats[:, _NEAREST_KEEP] = keep
    return feats


def _reference_candidate_features(
    index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig, ablation: str = "none"
) -> Tuple[np.ndarray, np.ndarray]:
    vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1)
    sims, ids = index.dense.search(vector, min(config.dense_top_k, index.n_questions))
    sims, ids = sims[0], ids[0]
    if ids[-1] < 0:
        keep = ids >= 0
        sims, ids = sims[keep], ids[keep]
    term_ids, term_counts = index.lex_questions.query_terms(terms)
    lex_q = index.lex_questions.scores_for(term_ids, term_counts, index.lex_questions.upper_bound(terms))
    lex_e = index.lex_entries.scores_for(term_ids, term_counts, index.lex_entries.upper_bound(terms))

    qe = index.question_entry
    cand = [qe[ids]] if ablation != "lexical" else []
    lex_top = _ref_top_positive(lex_q, config.lexical_top_k)
    if ablation in ("none", "lexical"):
        cand.append(qe[lex_top])
        if ablation == "lexical" or lex_top.size == 0:
            cand.append(_ref_top_positive(lex_e, 10))
    clf_all = None
    if index.classifier is not None and ablation in ("none", "dense"):
        clf_all = index.classifier.probabilities(vector[0])
        cand.append(_ref_top(clf_all, 10))
    entries = np.unique(np.concatenate(cand)).astype(np.int64) if cand else np.zeros(0, dtype=np.int64)
    if entries.size > config.max_candidates:
        pre = np.zeros(entries.size, dtype=np.float32)
        pos, found = _ref_positions(entries, qe[ids])
        np.maximum.at(pre, pos[found], sims[found].astype(np.float32))
        lex_best = np.zeros(entries.size, dtype=np.float32)
        pos, found = _ref_positions(entries, qe[lex_top])
        np.maximum.at(lex_best, pos[found], lex_q[lex_top][found])
        pre = pre + 0.5 * lex_best + 0.5 * lex_e[entries]
        if clf_all is not None:
            pre = pre + clf_all[entries]
        entries = np.sort(entries[_ref_top(pre, config.max_candidates)])

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
        if lens.max() <= 3:
            sums = np.bincount(rows, weights=q_sims, minlength=n)
        else:
            order = np.lexsort((-q_sims, rows))
            top3 = (np.arange(order.size) - np.repeat(seg_starts, lens)) < 3
            sums = np.bincount(rows[order][top3], weights=q_sims[order][top3], minlength=n)
        feats[:, _F["d_top3"]] = sums / np.minimum(lens, 3)
        top10 = qe[ids[:10]]
        if top10.size:
            hits, found = _ref_positions(entries, top10)
            feats[:, _F["knn_vote"]] = np.bincount(hits[found], minlength=n) / float(top10.size)
    feats[:, _F["d_cent"]] = index.centroids[entries] @ vector[0]
    feats[:, _F["l_entry"]] = lex_e[entries]
    if clf_all is not None:
        feats[:, _F["clf"]] = clf_all[entries]
    if n:
        base = feats[:, _GAP_BASES]
        feats[:, _GAP_COLUMNS] = base - base.max(axis=0)
        feats = _ref_ablate(feats, ablation)
    return entries, feats


def _reference_predict(ranker: Ranker, matrix: np.ndarray) -> np.ndarray:
    z = matrix @ np.asarray(ranker.coef, dtype=np.float32) + np.float32(ranker.intercept)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def _reference_ranked(
    index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig, ablation: str = "none"
):
    entries, feats = _reference_candidate_features(index, vector, terms, config, ablation)
    scores = _reference_predict(index.ranker, feats) if entries.size else np.zeros(0, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    order = np.argsort(-scores, kind="stable")
    return [(int(entries[i]), float(scores[i])) for i in order]


# ---------------------------------------------------------------- synthetic knowledge bases


def _synthetic(
    n_entries: int,
    questions: Sequence[int],
    seed: int,
    classifier_min_examples: float = 1e9,
    exact_max_vectors: int = 10000,
    vocab_size: int = 3000,
) -> Tuple[IndexData, List[np.ndarray], List[List[str]]]:
    """Clustered vectors and Zipf terms (many ties among BM25 scores), uneven question counts."""
    rng = np.random.default_rng(seed)
    dim = 32
    counts = [questions[i % len(questions)] for i in range(n_entries)]
    n_q = sum(counts)
    centres = rng.standard_normal((max(4, n_entries // 8), dim)).astype(np.float32)
    owner = rng.integers(len(centres), size=n_q)
    vectors = centres[owner] + 0.5 * rng.standard_normal((n_q, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ranks = np.arange(1, vocab_size + 1)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    lengths = rng.integers(3, 12, size=n_q)
    terms = [[f"w:{w}" for w in rng.choice(vocab_size, size=int(n), p=probs)] for n in lengths]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    per_vecs = [vectors[offsets[i] : offsets[i + 1]] for i in range(n_entries)]
    per_toks = [terms[offsets[i] : offsets[i + 1]] for i in range(n_entries)]
    records = [EntryRecord(f"e{i}", "synthetic", {"en": "a"}, {"en": "q"}) for i in range(n_entries)]
    index = assemble(
        records,
        [["q"] * c for c in counts],
        per_vecs,
        per_toks,
        IndexConfig(exact_max_vectors=exact_max_vectors, hnsw_m=8, hnsw_ef_construction=40, hnsw_ef_search=32),
        classifier_min_examples=classifier_min_examples,
        encoder_id="synthetic",
        vocab=Vocabulary.build(terms),
    )
    # a trained-looking ranker with every weight non-zero, so that every feature reaches the scores
    index.ranker = Ranker([float(w) for w in rng.normal(0.0, 3.0, size=len(FEATURES))], -1.5)
    queries_v: List[np.ndarray] = []
    queries_t: List[List[str]] = []
    for i in range(60):
        q = int(rng.integers(n_q))
        v = vectors[q] + 0.4 * rng.standard_normal(dim).astype(np.float32)
        queries_v.append((v / np.linalg.norm(v)).astype(np.float32))
        kept = [t for t in terms[q] if rng.random() < 0.7]
        if i % 5 == 0:
            kept = kept + kept[:2]  # repeated terms (query counts above 1)
        if i % 7 == 0:
            kept = [f"unknown:{i}", f"unknown:{i + 1}"]  # no known term: the entry-level fallback
        if i % 11 == 0:
            kept = []
        queries_t.append(kept + [f"w:{int(rng.integers(vocab_size * 2))}"] if i % 11 else kept)
    return index, queries_v, queries_t


SYNTHETIC = {
    # 1,300 questions: BM25 pruning on; exact search
    "pruned-flat": dict(n_entries=500, questions=(1, 2, 3, 5), seed=1),
    # 400 questions: no pruning; entries of up to 7 questions (the top-3 mean path)
    "unpruned-uneven": dict(n_entries=120, questions=(1, 7, 2, 4), seed=2),
    # HNSW (the approximate index may return fewer neighbours than asked)
    "hnsw": dict(n_entries=700, questions=(2, 3), seed=3, exact_max_vectors=500),
    # a classifier over the vectors (its probabilities become candidates and a feature)
    "classifier": dict(n_entries=40, questions=(5, 6), seed=4, classifier_min_examples=4.0),
    # fewer questions than the dense top 10 (the kNN vote's denominator)
    "tiny": dict(n_entries=4, questions=(1, 2), seed=5, vocab_size=40),
}


@pytest.fixture(scope="module", params=sorted(SYNTHETIC))
def synthetic(request):
    return _synthetic(**SYNTHETIC[request.param])


def _assert_same(
    index: IndexData, vector: np.ndarray, terms: Sequence[str], config: MatchingConfig, ablation: str = "none"
) -> None:
    """The product's candidate features (``ablation="none"``) or a benchmark ablation's
    (``knowledge_base.learning.ablation``) against the reference."""
    features = candidate_features if ablation == "none" else ablated_features(ablation)
    ref_entries, ref_feats = _reference_candidate_features(index, vector, terms, config, ablation)
    entries, feats, _ = features(index, vector, terms, config)
    assert entries.dtype == np.int64 and feats.dtype == np.float32 and feats.flags.c_contiguous
    np.testing.assert_array_equal(entries, ref_entries)
    assert feats.shape == ref_feats.shape
    assert np.array_equal(feats, ref_feats), np.abs(feats - ref_feats).max()
    ranked = [(c.entry, c.score) for c in score(index, vector, terms, config, features).ranked()]
    assert ranked == _reference_ranked(index, vector, terms, config, ablation)


@pytest.mark.parametrize("ablation", ["none", "dense", "lexical", "nearest"])
@pytest.mark.parametrize("max_candidates", [20, 4, 500])
def test_candidates_features_and_scores_are_unchanged(synthetic, ablation: str, max_candidates: int) -> None:
    index, vectors, terms = synthetic
    config = replace(MatchingConfig(), max_candidates=max_candidates)
    for vector, query_terms in zip(vectors, terms, strict=True):
        _assert_same(index, vector, query_terms, config, ablation)


def test_synthetic_sets_reach_every_branch() -> None:
    """Guard for the test above: the synthetic sets really exercise pruning, uneven entries, HNSW with
    short result lists, a classifier, the candidate cap and the no-lexical-match fallback."""
    pruned, _, _ = _synthetic(**SYNTHETIC["pruned-flat"])
    assert (pruned.lex_questions.idf == 0).any()
    uneven, _, _ = _synthetic(**SYNTHETIC["unpruned-uneven"])
    assert not (uneven.lex_questions.idf == 0).any() and np.diff(uneven.offsets).max() > 3
    hnsw, vectors, terms = _synthetic(**SYNTHETIC["hnsw"])
    assert type(hnsw.dense).__name__ == "IndexHNSWFlat"
    clf, _, _ = _synthetic(**SYNTHETIC["classifier"])
    assert clf.classifier is not None
    config = MatchingConfig()
    sizes = [candidate_features(hnsw, v, t, config)[0].size for v, t in zip(vectors, terms, strict=True)]
    assert max(sizes) == config.max_candidates
    assert any(not t or all(x.startswith("unknown:") for x in t[:-1]) for t in terms)


def test_joint_postings_match_the_dense_bm25(synthetic) -> None:
    index, _, queries = synthetic
    lex_q, lex_e = index.lex_questions, index.lex_entries
    for terms in queries:
        ids, counts = lex_q.query_terms(terms)
        dense_q = lex_q.scores_for(ids, counts, lex_q.upper_bound(terms))
        dense_e = lex_e.scores_for(ids, counts, lex_e.upper_bound(terms))
        sparse_q, sparse_e = index.postings.score(terms)
        assert np.array_equal(sparse_q.at(np.arange(lex_q.n_docs)), dense_q)
        assert np.array_equal(sparse_e.at(np.arange(lex_e.n_docs)), dense_e)
        np.testing.assert_array_equal(sparse_q.positive_docs(), np.flatnonzero(dense_q > 0))
        np.testing.assert_array_equal(sparse_e.positive_docs(), np.flatnonzero(dense_e > 0))


def test_ranker_predict_is_unchanged() -> None:
    rng = np.random.default_rng(5)
    ranker = Ranker([float(w) for w in rng.normal(0, 5, size=len(FEATURES))], 0.7)
    matrix = rng.normal(0, 4, size=(50, len(FEATURES))).astype(np.float32)
    assert np.array_equal(ranker.predict(matrix), _reference_predict(ranker, matrix))


# ---------------------------------------------------------------- segmentation


def _cjk_chunks(texts: Sequence[str]) -> List[str]:
    from kernel.language import normalise

    return [m.group(0) for t in texts for m in _TOKEN.finditer(normalise(t)) if "\u3400" <= m.group(0)[0]]


def test_segment_matches_jieba() -> None:
    texts = [line for path in FIXTURE_FAQ.glob("*.yml") for line in path.read_text(encoding="utf-8").splitlines()]
    if HELDOUT.exists():
        texts += [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line]
    chunks = _cjk_chunks(texts)
    alphabet = sorted(set("".join(chunks)))
    rng = random.Random(7)
    # random strings over the same characters (many dictionary words and ties), and over every CJK block
    # jieba treats differently (extension A, compatibility ideographs, U+9FD6..U+9FFF come out alone)
    chunks += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))) for _ in range(3000)]
    blocks = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x9FD0, 0x9FFF)]
    for _ in range(500):
        chunks.append("".join(chr(rng.randint(*rng.choice(blocks))) for _ in range(rng.randint(1, 8))))
    jieba = _jieba()
    assert len(chunks) > 3500
    for chunk in chunks:
        assert _segment(chunk) == jieba.lcut(chunk, HMM=False), chunk


def test_tokenize_terms_are_unchanged_for_real_questions() -> None:
    jieba = _jieba()

    def reference(text: str) -> List[str]:
        from kernel.language import is_cjk, normalise

        terms: List[str] = []
        for match in _TOKEN.finditer(normalise(text[:2000])):
            chunk = match.group(0)
            if is_cjk(chunk[0]):
                terms += ["w:" + w for w in jieba.lcut(chunk, HMM=False)]
                terms += ["c:" + ch for ch in chunk]
                terms += ["c:" + chunk[i : i + 2] for i in range(len(chunk) - 1)]
            elif chunk not in _EN_STOP:
                terms.append("w:" + chunk)
                if len(chunk) >= 5 and not chunk.isdigit():
                    padded = f"<{chunk}>"
                    terms += ["g:" + padded[i : i + 4] for i in range(len(padded) - 3)]
        return terms

    texts = [
        "退款多久能到账",
        "請問可以用信用卡分期嗎",
        "How long does a refund take?",
        "退款 refund 多久 how long 退貨",
    ]
    if HELDOUT.exists():
        texts += [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line]
    for text in texts:
        assert tokenize(text) == reference(text), text


# ---------------------------------------------------------------- the fixture knowledge base, real queries


def test_fixture_kb_ranks_real_queries_as_before(built_kb) -> None:
    matcher = KnowledgeBase(built_kb).matcher()
    queries = ["退款多久到账", "可以用支付宝付钱吗", "what time do stores open", "你们卖汽车吗", "退貨", "refund"]
    if HELDOUT.exists():
        queries += [json.loads(line)["text"] for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line]
    from kernel.language import normalise

    checked = 0
    for text in queries:
        normalised = normalise(re.sub(r"\s+", " ", text).strip())
        vector = matcher.encoder.encode_queries([normalised])[0]
        terms = tokenize(normalised)
        for ablation in ("none", "lexical"):
            _assert_same(matcher.index, vector, terms, matcher.config.matching, ablation)
        checked += 1
    assert checked >= 6
