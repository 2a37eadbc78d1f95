"""Where Rasa's NLU sends real Chinese buyer messages (DataCLUE CIC dev): the knowledge base, a person, or elsewhere.

    PYTHONPATH=. .venv-rasa/bin/python benchmarks/nlu_routing_cic.py --data DIR [--model models/kefu.tar.gz]
        [--out docs/results/nlu-routing-cic.json]

``faq_routing.py`` measures routing on our own held-out paraphrases; this measures it on 2,000 buyer messages that
nobody here wrote. CIC holds every kind of buyer turn in a shop's chat (questions, bargaining, "I'll take it",
complaints, greetings), so not every message belongs in the knowledge base. The report gives, per predicted intent,
the share and examples, and, per CIC buyer intent (``label_des``), where its messages went. A first message read
as ``csat_rating`` is always wrong (the bot has asked for no rating), and ``complain``, ``presales_quote`` and
``human_handoff`` hand the customer to a person at once.

``after_guards`` is where the *bot* sends them, with the checks that follow NLU: a ``complain`` with nothing to
complain about (``actions.escalation.unfounded_complaint``) and a ``csat_rating`` that is not a bare rating
(``actions.ratings.is_bare_rating``) go to the fallback ladder, that is the knowledge base.

The data folder (``dev.json``) is given with ``--data``, ``$KEFU_CIC_DIR`` or ``$KEFU_EVAL_DIR`` (its ``cic/``
sub-folder); nothing is read otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_data import EVAL_DIR_ENV, EvalDataMissing, locate, require  # noqa: E402
from faq_routing import TO_KB, parse_all  # noqa: E402

TO_PERSON = {"complain", "presales_quote", "human_handoff"}
LONG_NUMBER = re.compile(r"\d{7,}")  # phone and order numbers in the buyers' messages: masked in the report
MISREAD_RATING = {"csat_rating"}


def destination(intent: str) -> str:
    if intent in TO_KB:
        return "knowledge_base"
    if intent in TO_PERSON:
        return "person"
    if intent in MISREAD_RATING:
        return "read_as_rating"
    return "other"


def destination_after_guards(intent: str, text: str) -> str:
    """Where the bot sends a first message that NLU read as ``intent``, after the checks that follow NLU."""
    from actions.escalation import unfounded_complaint
    from actions.ratings import is_bare_rating

    if intent == "csat_rating" and not is_bare_rating([], text):
        return "knowledge_base"
    if intent == "complain" and unfounded_complaint([{"event": "user", "text": text,
                                                      "parse_data": {"intent": {"name": intent}}}]):
        return "knowledge_base"
    return destination(intent)


def report(rows: Sequence[Dict[str, str]], intents: Sequence[str]) -> Dict[str, object]:
    by_intent: Dict[str, List[str]] = defaultdict(list)
    by_label: Dict[str, Counter] = defaultdict(Counter)
    for row, intent in zip(rows, intents, strict=True):
        by_intent[intent].append(LONG_NUMBER.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 3), row["sentence"]))
        by_label[row["label_des"]][destination(intent)] += 1
    total = len(rows)
    where = Counter(destination(i) for i in intents)
    after = [destination_after_guards(i, row["sentence"]) for row, i in zip(rows, intents, strict=True)]
    by_label_after: Dict[str, Counter] = defaultdict(Counter)
    for row, dest in zip(rows, after, strict=True):
        by_label_after[row["label_des"]][dest] += 1
    kept = [LONG_NUMBER.sub(lambda m: m.group(0)[:3] + "*" * (len(m.group(0)) - 3), row["sentence"])
            for row, i, dest in zip(rows, intents, after, strict=True) if i == "complain" and dest != "person"]
    return {
        "queries": total,
        "destinations": {k: round(v / total, 4) for k, v in where.most_common()},
        "after_guards": {k: round(v / total, 4) for k, v in Counter(after).most_common()},
        "complain_kept_by_the_bot": {"n": len(kept), "examples": kept[:12]},
        "by_buyer_intent_after_guards": {
            label: {k: round(v / sum(c.values()), 3) for k, v in c.most_common()} | {"n": sum(c.values())}
            for label, c in sorted(by_label_after.items(), key=lambda kv: -sum(kv[1].values()))},
        "intents": {k: {"share": round(len(v) / total, 4), "examples": v[:6]}
                    for k, v in sorted(by_intent.items(), key=lambda kv: -len(kv[1]))},
        "by_buyer_intent": {label: {k: round(v / sum(c.values()), 3) for k, v in c.most_common()} | {"n": sum(c.values())}
                            for label, c in sorted(by_label.items(), key=lambda kv: -sum(kv[1].values()))},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help=f"CIC folder (default: $KEFU_CIC_DIR, else ${EVAL_DIR_ENV}/cic; required)")
    parser.add_argument("--model", default=str(ROOT / "models" / "kefu.tar.gz"))
    parser.add_argument("--out", type=Path, default=None, help="the report (JSON)")
    args = parser.parse_args(argv)
    try:
        folder = locate(args.data, os.environ, own_env="KEFU_CIC_DIR", subdir="cic")
        data = require(folder, ["dev.json"], f"--data DIR, $KEFU_CIC_DIR or ${EVAL_DIR_ENV} (with a cic/ folder)")
    except EvalDataMissing as error:
        parser.error(str(error))
    rows = [json.loads(line) for line in (data / "dev.json").read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.time()
    intents = asyncio.run(parse_all(args.model, [r["sentence"] for r in rows]))
    result = {"model": args.model, **report(rows, intents), "seconds": round(time.time() - started, 1)}
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({"queries": result["queries"], "destinations": result["destinations"],
                      "after_guards": result["after_guards"]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
