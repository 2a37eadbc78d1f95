"""The conversation test set (tests/data/conversations, issue 25) on the real stack: Rasa on the trained model, the
action server with the built knowledge base and the demo store, the console; one stack with agents on duty, one
outside working hours: the session's shared stacks of those configurations (tests/stack.py ``SHARED``; every dialogue
has its own sender).

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
    summarise,
)
from tests.stack import Stack

pytestmark = pytest.mark.stack


def test_the_conversation_set_does_not_regress(tmp_path: Path, staffed_stack: Stack, unstaffed_stack: Stack) -> None:
    dialogues = load_set()
    stacks = {"open": staffed_stack, "closed": unstaffed_stack}
    assert {d.hours for d in dialogues} <= set(stacks)
    report = summarise(play_all(stacks, dialogues))
    (tmp_path / "conversations.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report["all"], ensure_ascii=False))
    assert report["all"]["conversations"] == len(dialogues)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    problems = baseline_regressions(report, baseline)
    assert not problems, "\n".join(problems) + f"\n(every reply: {tmp_path / 'conversations.json'})"
