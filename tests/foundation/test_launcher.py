"""`python -m launcher` (what `make run` runs): starts every process, Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

from launcher.settings import ROOT, resolve
from tests.stack import free_port, model_missing_reason

pytestmark = pytest.mark.stack


def test_env_command_prints_every_setting_without_secrets_in_defaults(tmp_path):
    env = {**os.environ, "KEFU_VAR_DIR": str(tmp_path), "KEFU_RASA_TOKEN": "from-env"}
    out = subprocess.run([sys.executable, "-m", "launcher", "env"], cwd=ROOT, env=env, capture_output=True,
                         text=True, check=True).stdout
    assert "export KEFU_RASA_TOKEN=from-env" in out
    assert "export KEFU_ACTION_URL=" in out


def test_token_is_generated_once_and_kept(tmp_path):
    first = resolve({"KEFU_VAR_DIR": str(tmp_path)})["KEFU_RASA_TOKEN"]
    second = resolve({"KEFU_VAR_DIR": str(tmp_path)})["KEFU_RASA_TOKEN"]
    assert first == second and len(first) >= 24
    assert oct((tmp_path / "rasa_token").stat().st_mode)[-3:] == "600"
    assert resolve({"KEFU_VAR_DIR": str(tmp_path), "KEFU_RASA_TOKEN": "x"})["KEFU_RASA_TOKEN"] == "x"


def test_ctrl_c_stops_every_process(tmp_path):
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    ports = {name: free_port() for name in ("KEFU_RASA_PORT", "KEFU_ACTION_PORT", "KEFU_CONSOLE_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update({k: str(v) for k, v in ports.items()})
    env.update({
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_TRACKER_DB": str(tmp_path / "tracker.db"),
        "KEFU_EVENTS_DB": str(tmp_path / "events.db"),
        "KEFU_CONSOLE_DB_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "KEFU_RASA_TOKEN": uuid.uuid4().hex,
    })
    launcher = subprocess.Popen([sys.executable, "-m", "launcher"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        url = f"http://127.0.0.1:{ports['KEFU_RASA_PORT']}/webhooks/rest/webhook"
        while True:
            assert launcher.poll() is None, launcher.stdout.read()
            try:
                replies = requests.post(url, json={"sender": "launcher-test", "message": "hi"}, timeout=5).json()
                if replies:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "Kefu did not answer within 240 s"
            time.sleep(1)
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=60)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    output = launcher.stdout.read()
    # Every child is gone: nothing of the process group is left, and the ports are free.
    leftovers = subprocess.run(["pgrep", "-g", str(launcher.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], output[-3000:]
    for port in ports.values():
        with __import__("socket").socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
