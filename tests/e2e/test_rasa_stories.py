"""Rasa end-to-end test stories (bot/tests/*.yml) against the trained model.

`rasa test core` reads each story's user text through the NLU pipeline and
checks every predicted intent and action. Custom actions run on a real action
server started for the test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from launcher.processes import process_env
from launcher.settings import ROOT
from tests.stack import MODEL, Stack, model_missing_reason

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    stack = Stack.start(tmp_path_factory.mktemp("e2e"), only=["actions"])
    yield stack
    stack.stop()


def test_end_to_end_stories_pass(action_server, tmp_path: Path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{action_server.env["KEFU_ACTION_URL"]}"\n')
    out = tmp_path / "results"
    result = subprocess.run(
        [
            str(ROOT / ".venv-rasa/bin/rasa"), "test", "core",
            "--model", str(MODEL),
            "--stories", str(ROOT / "bot/tests"),
            "--endpoints", str(endpoints),
            "--out", str(out),
            "--fail-on-prediction-errors",
        ],
        cwd=str(ROOT),
        env=process_env(action_server.env),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (
        f"rasa test core failed (exit {result.returncode}).\n{detail}\n"
        f"--- stdout (tail) ---\n{result.stdout[-3000:]}\n--- stderr (tail) ---\n{result.stderr[-5000:]}"
    )
    stories = [p for p in (ROOT / "bot/tests").glob("test_*.yml")]
    assert stories, "no test stories found"
