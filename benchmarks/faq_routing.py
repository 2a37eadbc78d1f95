"""Where Rasa's NLU sends FAQ questions: to the knowledge base, or elsewhere.

    PYTHONPATH=. .venv-rasa/bin/python benchmarks/faq_routing.py [--model models/kefu.tar.gz]
        [--data tests/data/faq_heldout.jsonl] [--out docs/results/faq-routing.json]

A customer's FAQ question reaches the knowledge base when NLU predicts
``ask_faq`` or falls back (``nlu_fallback`` also consults the knowledge base,
see actions/fallback.py). Any other intent takes the conversation elsewhere
(an order form, a handoff...). This measures that routing on the held-out
paraphrase set, per language, for in-scope and out-of-scope queries. The
report lists every query with its intent (``queries``), which
``benchmarks/faq_end_to_end.py`` joins with the knowledge base's answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TO_KB = {"ask_faq", "nlu_fallback"}


async def parse_all(model: str, texts: list) -> list:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        out.append(parsed["intent"]["name"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "kefu.tar.gz"))
    parser.add_argument("--data", default=str(ROOT / "tests" / "data" / "faq_heldout.jsonl"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.time()
    intents = asyncio.run(parse_all(args.model, [r["text"] for r in rows]))
    report: dict = {"model": args.model, "data": args.data, "languages": {}}
    groups = defaultdict(list)
    for row, intent in zip(rows, intents, strict=True):
        scope = "oos" if row["label"] == "oos" else "in_scope"
        groups[(row["lang"], scope)].append((row["text"], intent))
    for (lang, scope), items in sorted(groups.items()):
        counts = Counter(intent for _, intent in items)
        to_kb = sum(counts[i] for i in TO_KB)
        report["languages"].setdefault(lang, {})[scope] = {
            "queries": len(items),
            "reach_knowledge_base": round(to_kb / len(items), 4),
            "intents": dict(counts.most_common()),
            "elsewhere_examples": [t for t, i in items if i not in TO_KB][:8],
        }
    report["queries"] = [
        {"text": row["text"], "lang": row["lang"], "label": row["label"], "intent": intent}
        for row, intent in zip(rows, intents, strict=True)
    ]
    report["seconds"] = round(time.time() - started, 1)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
