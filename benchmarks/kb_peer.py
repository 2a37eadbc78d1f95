"""Side by side on the project FAQ set: our matcher, its ablations, and Rasa's ResponseSelector.

Variants, each answering every query of the held-out set (tests/data/faq_heldout.jsonl):

- ``full``: the product (dense + lexical, entry-level features, calibrated ranker and thresholds);
- ``dense``: vectors only (no lexical candidates or features), calibrated the same way;
- ``lexical``: BM25 only (no vector features; the query is still encoded, so its latency is not lower);
- ``nearest``: the weak baseline, best single-question cosine with a calibrated threshold;
- ``rasa_response_selector``: Rasa 3.6's ResponseSelector trained on the same questions (retrieval intent
  ``faq/<entry id>``) with Kefu's NLU tokenizer (normalising jieba) and count-vector featurizers, in a
  temporary directory with ``.venv-rasa/bin/rasa train nlu``. It has no out-of-scope notion of its own:
  a query is refused when the selector's confidence is below ``--rasa-threshold`` (0.5, not tuned).

Usage (trains a Rasa model: heavy, minutes on 2 cores)::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_peer.py [--skip-rasa] [--out results/kb_peer.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.building.indexing import build_index, records_from_entries  # noqa: E402
from knowledge_base.building.source import load_entries  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.learning.ablation import ABLATIONS, ablated_features, ablated_matcher  # noqa: E402
from knowledge_base.learning.evaluation import OOS, evaluate_matcher, read_examples  # noqa: E402
from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id  # noqa: E402
from knowledge_base.serving.matcher import Matcher  # noqa: E402

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PY = ROOT / ".venv-rasa" / "bin" / "python"

_PARSE_SCRIPT = r"""
import asyncio, json, sys, time
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
out = []
async def main():
    for line in open(sys.argv[2], encoding="utf-8"):
        text = json.loads(line)["text"]
        t = time.perf_counter()
        result = await agent.parse_message(text)
        ms = (time.perf_counter() - t) * 1000.0
        sel = (result.get("response_selector") or {}).get("faq") or {}
        resp = sel.get("response") or {}
        ranking = [r.get("intent_response_key") for r in (sel.get("ranking") or [])][:5]
        out.append({"key": resp.get("intent_response_key"), "confidence": resp.get("confidence", 0.0), "ranking": ranking, "ms": ms})
asyncio.run(main())
json.dump(out, open(sys.argv[3], "w"))
"""


def ours(variant: str, config, entries, test) -> Dict:
    """The product's matcher (``full``), or one of its evidence ablations (``knowledge_base.learning.ablation``):
    calibration trains the ranker and thresholds of the ablated matcher, as the product's build does for its own."""
    data = records_from_entries(entries)
    encoder = get_encoder(resolve_encoder_id(config.encoder, [q for g in data.questions for q in g]))
    t0 = time.perf_counter()
    if variant == "full":
        built = build_index(data, encoder, config)
    else:
        built = build_index(data, encoder, config, features=ablated_features(variant))
    build_s = time.perf_counter() - t0
    if variant == "full":
        matcher = Matcher(built.index, built.encoder, config)
    else:
        matcher = ablated_matcher(built.index, built.encoder, config, variant)
    result = evaluate_matcher(matcher, test)
    result["build_seconds"] = round(build_s, 1)
    result["encoder"] = encoder.id
    return result


def rasa_response_selector(entries, test, threshold: float, epochs: int) -> Dict:
    with tempfile.TemporaryDirectory(prefix="kb_peer_rasa_") as tmp:
        tmpdir = Path(tmp)
        nlu = {"version": "3.1", "nlu": []}
        responses = {}
        for entry in entries:
            examples = [q for _lang, q in entry.all_questions()]
            nlu["nlu"].append({"intent": f"faq/{entry.id}", "examples": "".join(f"- {q}\n" for q in examples)})
            responses[f"utter_faq/{entry.id}"] = [{"text": entry.answer_for("en")}]
        (tmpdir / "nlu.yml").write_text(yaml.safe_dump(nlu, allow_unicode=True, sort_keys=False), encoding="utf-8")
        domain = {"version": "3.1", "intents": ["faq"], "responses": responses}
        (tmpdir / "domain.yml").write_text(
            yaml.safe_dump(domain, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        config = {
            "recipe": "default.v1",
            "language": "zh",
            "assistant_id": "kb_peer",
            "pipeline": [
                {
                    "name": "bot.nlu.tokenizer.NormalisingJiebaTokenizer",
                    "dictionary_path": str(ROOT / "bot" / "nlu" / "dictionary"),
                },
                {"name": "CountVectorsFeaturizer"},
                {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
                {"name": "ResponseSelector", "epochs": epochs, "retrieval_intent": "faq", "random_seed": 1},
            ],
            "policies": [],
        }
        (tmpdir / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="2", TF_CPP_MIN_LOG_LEVEL="2")
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(RASA),
                "train",
                "nlu",
                "--config",
                "config.yml",
                "--nlu",
                "nlu.yml",
                "--domain",
                "domain.yml",
                "--out",
                "models",
                "--fixed-model-name",
                "peer",
            ],
            cwd=tmpdir,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        train_s = time.perf_counter() - t0
        queries = tmpdir / "queries.jsonl"
        queries.write_text(
            "\n".join(json.dumps({"text": ex.text}, ensure_ascii=False) for ex in test), encoding="utf-8"
        )
        (tmpdir / "parse.py").write_text(_PARSE_SCRIPT, encoding="utf-8")
        subprocess.run(
            [str(RASA_PY), "parse.py", str(tmpdir / "models" / "peer.tar.gz"), str(queries), str(tmpdir / "out.json")],
            cwd=tmpdir,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        parsed = json.loads((tmpdir / "out.json").read_text(encoding="utf-8"))
    n_in = n_oos = correct = top1 = refused_oos = predicted_oos = 0
    rr = 0.0
    for ex, p in zip(test, parsed, strict=False):
        ranking = [k.split("/", 1)[1] for k in p["ranking"] if k and "/" in k]
        best = ranking[0] if ranking else None
        predicted = OOS if (best is None or p["confidence"] < threshold) else best
        predicted_oos += predicted == OOS
        if ex.label == OOS:
            n_oos += 1
            refused_oos += predicted == OOS
        else:
            n_in += 1
            correct += predicted == ex.label
            top1 += best == ex.label
            if ex.label in ranking:
                rr += 1.0 / (ranking.index(ex.label) + 1)
    ms = [p["ms"] for p in parsed]
    return {
        "in_scope_accuracy": round(correct / n_in, 4),
        "in_scope_top1_no_threshold": round(top1 / n_in, 4),
        "oos_recall": round(refused_oos / n_oos, 4) if n_oos else None,
        "oos_precision": round(refused_oos / predicted_oos, 4) if predicted_oos else None,
        "overall_accuracy": round((correct + refused_oos) / (n_in + n_oos), 4),
        "mrr_at_5": round(rr / n_in, 4),
        "latency_ms": {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3)},
        "train_seconds": round(train_s, 1),
        "threshold": threshold,
        "epochs": epochs,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", type=Path, default=ROOT / "tests" / "data" / "faq_heldout.jsonl")
    variants = ("full", *ABLATIONS)
    parser.add_argument("--variants", default=",".join(variants), help=f"comma-separated, of: {', '.join(variants)}")
    parser.add_argument("--skip-rasa", action="store_true")
    parser.add_argument("--rasa-threshold", type=float, default=0.5)
    parser.add_argument("--rasa-epochs", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v not in variants]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(variants)}")
    config = load_config()
    entries = load_entries(config.sources)
    test = read_examples(args.test)
    results: Dict[str, Dict] = {}
    t_all = time.perf_counter()
    for variant in args.variants.split(","):
        results[variant] = ours(variant, config, entries, test)
        print(
            variant,
            json.dumps(
                {
                    k: results[variant][k]
                    for k in (
                        "in_scope_accuracy",
                        "in_scope_top1_no_threshold",
                        "oos_recall",
                        "overall_accuracy",
                        "mrr_at_5",
                        "latency_ms",
                    )
                }
            ),
            flush=True,
        )
    if not args.skip_rasa:
        results["rasa_response_selector"] = rasa_response_selector(entries, test, args.rasa_threshold, args.rasa_epochs)
        print("rasa_response_selector", json.dumps(results["rasa_response_selector"]), flush=True)
    summary = {
        "test": str(args.test),
        "entries": len(entries),
        "queries": len(test),
        "wall_seconds": round(time.perf_counter() - t_all, 1),
        "results": results,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
