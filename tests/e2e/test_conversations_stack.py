"""The conversation test set (tests/data/conversations, issue 25) on the real stack: Rasa on the trained model, the
action server with the built knowledge base and the demo store, the console; one stack with agents on duty, one
outside working hours.

Every dialogue is played and judged (tests/conversations.py). The run is held to the committed baseline
(``tests/data/conversations/baseline.json``, written by ``benchmarks/conversations.py --baseline``): dialogues
resolved there stay resolved and no more conversations get a wrong reply. The measures and every dialogue's replies
are written to the test's directory (``conversations.json``) for whoever reads a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conversations import (
    BASELINE,
    baseline_regressions,
    load_set,
    play_all,
    start_stacks,
    stop_stacks,
    summarise,
)
from tests.stack import model_missing_reason

pytestmark = pytest.mark.stack


def test_the_conversation_set_does_not_regress(tmp_path: Path) -> None:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    dialogues = load_set()
    stacks = start_stacks(tmp_path, sorted({d.hours for d in dialogues}))
    try:
        report = summarise(play_all(stacks, dialogues))
    finally:
        stop_stacks(stacks)
    (tmp_path / "conversations.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report["all"], ensure_ascii=False))
    assert report["all"]["conversations"] == len(dialogues)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    problems = baseline_regressions(report, baseline)
    assert not problems, "\n".join(problems) + f"\n(every reply: {tmp_path / 'conversations.json'})"
