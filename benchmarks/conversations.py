"""Multi-turn conversations on the real stack (issue 25): containment, wrong replies, per category.

    PYTHONPATH=. .venv/bin/python benchmarks/conversations.py [--out docs/results/conversations.json]
        [--baseline] [--only ID,ID] [--workers 4]

Starts two stacks (``tests.conversations.start_stacks``: Rasa on the trained model ``models/kefu.tar.gz``, the
action server with the built knowledge base and the demo store, the console; one with agents on duty, one outside
working hours) and plays every dialogue of ``tests/data/conversations`` (format, checks and verdicts in its
README). Prints the measures and a Markdown table for ``docs/benchmarks.md``. ``--baseline`` also writes
``tests/data/conversations/baseline.json``, which ``tests/e2e/test_conversations_stack.py`` holds every later run
to (dialogues resolved there must stay resolved; no more wrong conversations).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conversations import (  # noqa: E402
    BASELINE,
    CATEGORIES,
    baseline_of,
    load_set,
    play_all,
    start_stacks,
    stop_stacks,
    summarise,
)


def _cell(value: Any) -> str:
    return "–" if value is None else f"{value}"


def markdown(report: Mapping[str, Any]) -> str:
    rows: List[str] = [
        "| set | conversations | multi-turn resolved % | wrong reply % (in scope) | out-of-scope handled % "
        "| containment % | person handled % |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: Dict[str, Mapping[str, Any]] = {"all": report["all"], **report["languages"]}
    for name, m in groups.items():
        rows.append(f"| {name} | {m['conversations']} | {_cell(m['multi_turn_resolved'])} | {_cell(m['wrong_reply'])} "
                    f"| {_cell(m['oos_handled'])} | {_cell(m['containment'])} | {_cell(m['person_handled'])} |")
    rows += ["", "| category | conversations | resolved | unresolved | wrong |", "|---|---|---|---|---|"]
    for category in CATEGORIES:
        c = report["categories"].get(category)
        if c:
            rows.append(f"| {category} | {c['conversations']} | {c.get('resolved', 0)} | {c.get('unresolved', 0)} "
                        f"| {c.get('wrong', 0)} |")
    return "\n".join(rows)


def main() -> int:
    from tests.stack import model_missing_reason

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", action="store_true", help=f"also write {BASELINE.relative_to(ROOT)}")
    parser.add_argument("--only", default="", help="comma-separated dialogue ids")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    reason = model_missing_reason()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    dialogues = load_set()
    if args.only:
        wanted = set(args.only.split(","))
        dialogues = [d for d in dialogues if d.id in wanted]
    started = time.time()
    with tempfile.TemporaryDirectory() as workdir:
        stacks = start_stacks(Path(workdir), sorted({d.hours for d in dialogues}))
        try:
            results = play_all(stacks, dialogues, args.workers)
        finally:
            stop_stacks(stacks)
    report = summarise(results)
    report["seconds"] = round(time.time() - started, 1)
    print(json.dumps({k: report[k] for k in ("all", "languages", "categories", "seconds")}, ensure_ascii=False,
                     indent=1))
    print(markdown(report))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.baseline:
        BASELINE.write_text(json.dumps(baseline_of(report), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
