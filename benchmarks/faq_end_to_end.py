"""What a customer sees for a FAQ question: NLU routing and the knowledge base's answer together.

    PYTHONPATH=. .venv/bin/python benchmarks/faq_end_to_end.py [--routing docs/results/faq-routing.json]
        [--out docs/results/faq-end-to-end.json]

``benchmarks/faq_routing.py`` (Rasa's environment) records the intent of every held-out query; this script (the
knowledge base's environment) asks the served knowledge base (``var/kb``, ``make kb``) the queries that NLU sends
there. Per language:

- in-scope, right answer: routed to the knowledge base, and it answers or offers "did you mean" with the right
  entry first;
- out-of-scope, handled honestly: NLU says ``out_of_scope``, or the query reaches the knowledge base and it
  declines (no answer, human offered). Any other intent takes the customer into a flow that does not fit (an order
  form, a coupon check...).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from faq_routing import TO_KB  # noqa: E402

from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.serving.runtime import KnowledgeBase  # noqa: E402
from knowledge_base.serving.scoring import NO_ANSWER  # noqa: E402


def _summary(counts: Dict[str, int]) -> Dict[str, float]:
    return {
        "in_scope": counts["in_scope"],
        "in_scope_right_answer": round(counts["in_scope_right"] / max(counts["in_scope"], 1), 4),
        "oos": counts["oos"],
        "oos_handled": round(counts["oos_handled"] / max(counts["oos"], 1), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routing", type=Path, default=ROOT / "docs" / "results" / "faq-routing.json")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    routing = json.loads(args.routing.read_text(encoding="utf-8"))
    if "queries" not in routing:
        print(f"error: {args.routing} has no per-query intents; re-run benchmarks/faq_routing.py", file=sys.stderr)
        return 2
    kb = KnowledgeBase(load_config())
    matcher = kb.matcher()
    tally: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for query in routing["queries"]:
        t = tally[query["lang"]]
        oos = query["label"] == "oos"
        routed = query["intent"] in TO_KB
        result = matcher.match(query["text"], None) if routed else None
        if oos:
            t["oos"] += 1
            if query["intent"] == "out_of_scope" or (result is not None and result.outcome == NO_ANSWER):
                t["oos_handled"] += 1
        else:
            t["in_scope"] += 1
            if result is not None and result.outcome != NO_ANSWER and result.candidates[0].id == query["label"]:
                t["in_scope_right"] += 1
    report = {"routing": str(args.routing), "kb_version": kb.served_version, "languages": {}}
    for lang in sorted(tally):
        report["languages"][lang] = _summary(tally[lang])
    keys = ("in_scope", "in_scope_right", "oos", "oos_handled")
    report["all"] = _summary({k: sum(tally[lang][k] for lang in tally) for k in keys})
    report["encoder"] = matcher.index.encoder_id
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
