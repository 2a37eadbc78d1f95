"""B2B questions on the real stack: answered by the bot, taken by the presales desk, or handed to a person.

    PYTHONPATH=. .venv/bin/python benchmarks/presales_b2b.py [--data tests/data/faq_heldout.jsonl]
        [--out docs/results/presales-b2b.json]

Starts Rasa, the action server and the console (``tests.stack``, the processes of ``make run`` on the trained model
``models/kefu.tar.gz``) and sends every held-out question labelled ``b2b.*`` or ``custom_orders.*`` as the first
message of a new conversation. Each reply is classified:

- ``answered``: the bot replied with the knowledge base's answer to the labelled entry (``answered_other``: another
  entry's answer);
- ``intake``: the presales desk started collecting the need for a quote (the right place for a real quote request);
- ``person``: the conversation went to a person at once (what every ``presales_quote`` turn did before issue 22);
- ``other``: anything else (a form, "did you mean", "no answer").

The intent NLU gave each question is recorded too, so that ``before`` (the old rule: ``presales_quote`` hands over)
can be read from the same model: a question read as ``presales_quote`` went to a person.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernel.i18n import text  # noqa: E402
from knowledge_base.building.source import load_entries  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402

PREFIXES = ("b2b.", "custom_orders.")
LANGS = ("zh-Hans", "zh-Hant", "en")


def heldout(path: Path, prefixes: Iterable[str] = PREFIXES) -> List[Dict[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["label"].startswith(tuple(prefixes))]


def answers_by_entry() -> Dict[str, List[str]]:
    config = load_config()
    out: Dict[str, List[str]] = {}
    for entry in load_entries(config.sources):
        out[entry.id] = [a for a in entry.answer.values() if a]
    return out


def classify(replies: List[Mapping[str, Any]], label: str, answers: Mapping[str, List[str]]) -> str:
    said = [str(r.get("text") or "") for r in replies]
    joined = "\n".join(said)
    if any(text("msg_presales_intro", lang)[:12] in joined for lang in LANGS):
        return "intake"
    if any(answer and answer in line for answer in answers.get(label, []) for line in said):
        return "answered"
    if any(answer and answer in line for entry, texts in answers.items() for answer in texts for line in said):
        return "answered_other"
    if any(text("msg_handoff_reason_presales", lang)[:8] in joined or "人工客服" in joined or "真人客服" in joined
           or "support team" in joined for lang in LANGS):
        return "person"
    return "other"


def measure(stack: Any, rows: List[Dict[str, str]]) -> Dict[str, Any]:
    answers = answers_by_entry()
    results = []
    for row in rows:
        sender = f"b2b-{uuid.uuid4().hex[:10]}"
        replies = stack.say(sender, row["text"])
        events = stack.tracker(sender)["events"]
        intent = next((e.get("parse_data", {}).get("intent", {}).get("name") for e in events
                       if e.get("event") == "user"), None)
        results.append({**row, "intent": intent, "outcome": classify(replies, row["label"], answers),
                        "reply": " / ".join(str(r.get("text") or "")[:80] for r in replies)})
    return summarise(results)


def summarise(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    report: Dict[str, Any] = {"groups": {}, "queries": results}
    for prefix in PREFIXES:
        group = [r for r in results if r["label"].startswith(prefix)]
        policy = [r for r in group if r["label"] != "b2b.request_quote"]
        report["groups"][prefix.rstrip(".")] = {
            "queries": len(group),
            "outcomes": dict(Counter(r["outcome"] for r in group).most_common()),
            "policy_questions": len(policy),
            "policy_answered_by_the_bot": sum(r["outcome"] == "answered" for r in policy),
            "before_to_a_person": sum(r["intent"] == "presales_quote" for r in group),
            "quote_requests": {r["text"]: r["outcome"] for r in group if r["label"] == "b2b.request_quote"},
        }
    return report


def main() -> None:
    from tests.security.channel_clients import seeded_store
    from tests.stack import Stack, model_missing_reason

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT / "tests" / "data" / "faq_heldout.jsonl"))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    reason = model_missing_reason()
    if reason:
        sys.exit(reason)
    rows = heldout(Path(args.data))
    started = time.time()
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack.start(Path(workdir), extra_env=seeded_store(Path(workdir)), only=["actions", "rasa", "console"])
        try:
            report = measure(stack, rows)
        finally:
            stack.stop()
    report["seconds"] = round(time.time() - started, 1)
    print(json.dumps(report["groups"], ensure_ascii=False, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
