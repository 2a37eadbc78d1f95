"""`python -m launcher` (what `make run` runs): starts every process, shows the URLs and the demo logins,
Ctrl-C stops them all; it imports none of the processes it starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from kernel.settings import ROOT, resolve
from launcher.banner import banner, demo_logins
from launcher.processes import process_env, specs
from tests.console.process import PASSWORDS
from tests.harness import LOOPBACK, Command, Condition, ServerProcess, environ_without, free_port, port_open
from tests.stack import model_missing_reason

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


def _environment(tmp_path, **overrides):
    env = environ_without()
    return resolve({**env, "KEFU_VAR_DIR": str(tmp_path), **overrides})


def test_the_launcher_imports_none_of_the_processes_it_starts():
    probe = ("import sys, launcher.__main__, launcher.banner, launcher.processes; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'console', 'bot', 'actions', 'knowledge_base'}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_banner_shows_the_demo_logins_the_console_seeds(tmp_path):
    env = _environment(tmp_path)
    text = banner(env, demo_logins(specs(env)["console"].argv, process_env(env)))
    assert f"{env['KEFU_CONSOLE_URL']}/console" in text
    shown = text.split("Demo console accounts:", 1)[1]
    for username, password in PASSWORDS.items():
        assert f"{username} / {password}" in shown, text


def test_without_demo_accounts_the_banner_shows_no_password(tmp_path):
    env = _environment(tmp_path, KEFU_CONSOLE_DEMO_ACCOUNTS="false")
    text = banner(env, demo_logins(specs(env)["console"].argv, process_env(env)))
    assert "KEFU_CONSOLE_DEMO_ACCOUNTS is off" in text
    assert not [p for p in PASSWORDS.values() if p in text], text


def test_a_console_that_cannot_list_its_logins_still_gets_a_banner(tmp_path):
    env = _environment(tmp_path)
    broken = demo_logins([sys.executable, "-c", "import sys; sys.exit('no accounts file')"], process_env(env))
    missing = demo_logins([str(tmp_path / "no-such-python")], process_env(env))
    for logins in (broken, missing):
        assert len(logins) == 1 and "unavailable" in logins[0] and "python -m console accounts" in logins[0]
    assert "no accounts file" in broken[0]
    assert "Press Ctrl-C" in banner(env, broken)


def test_ctrl_c_stops_every_process(tmp_path):
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    ports = {name: free_port() for name in ("KEFU_RASA_PORT", "KEFU_ACTION_PORT", "KEFU_CONSOLE_PORT",
                                            "KEFU_NOTIFIER_PORT")}
    env = environ_without()
    env.update({k: str(v) for k, v in ports.items()})
    env.update({
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_TRACKER_DB": str(tmp_path / "tracker.db"),
        "KEFU_EVENTS_DB": str(tmp_path / "events.db"),
        "KEFU_CONSOLE_DB_URL": f"sqlite:///{tmp_path / 'console.db'}",
        "KEFU_APP_DB_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "KEFU_RASA_TOKEN": uuid.uuid4().hex,
    })
    url = f"http://127.0.0.1:{ports['KEFU_RASA_PORT']}/webhooks/rest/webhook"

    def kefu_answers() -> bool:
        return bool(requests.post(url, json={"sender": "launcher-test", "message": "hi"}, timeout=5).json())

    # the launcher in its own session, all its output in one log (tests/harness.py); it must not exit
    # before Kefu answers (ProcessExited shows its output) and Kefu must answer within 240 s
    command = Command("launcher", [sys.executable, "-m", "launcher"], env,
                      Condition(f"Kefu answering on {url}", kefu_answers), cwd=ROOT)
    launcher = ServerProcess.start(command, tmp_path / "launcher.log")
    try:
        launcher.wait_ready(timeout=240)
        launcher.send(signal.SIGINT)
        assert launcher.wait_exit(60) is not None, launcher.tail()
    finally:
        launcher.stop(signal.SIGKILL)  # no-op once it has exited
    output = launcher.log()
    assert f"wang / {PASSWORDS['wang']}" in output, output[:3000]  # the newcomer sees the demo logins
    # Every child is gone: nothing of the process group is left, and the ports are free.
    leftovers = subprocess.run(["pgrep", "-g", str(launcher.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], output[-3000:]
    for port in ports.values():
        assert not port_open(LOOPBACK, port), f"port {port} still open"
