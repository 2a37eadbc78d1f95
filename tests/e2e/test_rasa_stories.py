"""Rasa end-to-end test stories against the trained model and a live action server.

`rasa test core` reads each story's user text through the NLU pipeline and
checks every predicted intent and action.

- ``bot/tests/``: every capability, with the demo store database.
- ``bot/tests-backend-down/``: the same action server with its store backend
  unreachable; the conversation must still follow its steps (the apology texts
  are checked by tests/actions).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

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
        result = subprocess.run(
            [
                str(ROOT / ".venv-rasa/bin/rasa"), "test", "core",
                "--model", str(MODEL),
                "--stories", str(ROOT / stories),
                "--endpoints", str(endpoints),
                "--out", str(out),
                "--fail-on-prediction-errors",
            ],
            cwd=str(ROOT),
            env=process_env(stack.env),
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
