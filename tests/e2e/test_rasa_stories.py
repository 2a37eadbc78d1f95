"""Rasa end-to-end test stories against the trained model and a live action server, on production's runtime.

``python -m bot.server test core`` (what ``make test-stories`` runs) is ``rasa test core`` with Kefu's runtime
installed as ``python -m bot.server run`` installs it (bot/runtime.py): it reads each story's user text through
the NLU pipeline and checks every predicted intent and action. The process reports which patches were in place
(``KEFU_RUNTIME_REPORT``) and the test requires all of them. Rasa's story test predicts each step from the
story's own events: it never runs the actions nor the processor's message loop, so the turn router, never-silent,
waiting and control-command patches cannot change its verdicts (tests/e2e/test_*_stack.py drive those through
the REST channel).

- ``bot/tests/``: every capability, with the demo store database.
- ``bot/tests-backend-down/``: the same action server with its store backend
  unreachable; the conversation must still follow its steps (the apology texts
  are checked by tests/actions).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.runtime import PATCHES
from kernel.settings import ROOT
from launcher.processes import process_env
from tests.harness import free_port
from tests.stack import MODEL, Stack, model_missing_reason

pytestmark = pytest.mark.stack

SUITES = {
    "all capabilities": ("bot/tests", {}),
    "store backend down": (
        "bot/tests-backend-down",
        {"KEFU_STORE_BACKEND": "http", "KEFU_STORE_HTTP_BASE": f"http://127.0.0.1:{free_port()}/api/v1"},
    ),
}


@pytest.mark.parametrize("suite", list(SUITES))
def test_end_to_end_stories_pass(suite: str, tmp_path: Path):
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    stories, extra_env = SUITES[suite]
    assert list((ROOT / stories).glob("test_*.yml")), f"no test stories in {stories}"
    stack = Stack.start(tmp_path / "stack", extra_env=extra_env, only=["actions"])
    try:
        endpoints = tmp_path / "endpoints.yml"
        endpoints.write_text(f'action_endpoint:\n  url: "{stack.env["KEFU_ACTION_URL"]}"\n')
        out = tmp_path / "results"
        report = tmp_path / "runtime.json"
        result = subprocess.run(
            [
                str(ROOT / ".venv-rasa/bin/python"), "-m", "bot.server", "test", "core",
                "--model", str(MODEL),
                "--stories", str(ROOT / stories),
                "--endpoints", str(endpoints),
                "--out", str(out),
                "--fail-on-prediction-errors",
            ],
            cwd=str(ROOT),
            env={**process_env(stack.env), "KEFU_RUNTIME_REPORT": str(report)},
            capture_output=True,
            text=True,
            timeout=1800,
        )
    finally:
        stack.stop()
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (
        f"rasa test core failed (exit {result.returncode}).\n{detail}\n"
        f"--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr (tail) ---\n{result.stderr[-3000:]}\n"
        f"--- action server (tail) ---\n{stack.log('actions')[-3000:]}"
    )
    runtime = json.loads(report.read_text(encoding="utf-8"))
    assert runtime["installed"] == {patch: True for patch in PATCHES}, f"the stories ran without {runtime}"
