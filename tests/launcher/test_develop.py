"""``make shell`` (``python -m launcher shell``): a person types in a terminal and the bot answers, on production's
runtime, with the action server started for the session and stopped after it (launcher/develop.py).

The shell runs in a real pseudo-terminal (Rasa's prompt needs one). Its output is read until an expected text
appears or the process ends; a hung shell is killed after a generous deadline (a failure, not a timing assertion).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import uuid
from pathlib import Path
from typing import Dict, List

import pytest

from kernel.settings import ROOT
from launcher.develop import rasa_command, with_option
from tests.harness import LOOPBACK, environ_without, free_port, port_open
from tests.stack import MODEL, model_missing_reason

pytestmark = pytest.mark.stack

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\r")
#: the Beijing stores' answer in the knowledge base (knowledge_base/faq/stores.yml): only the action server has it
BEIJING_ANSWER = "建国路96号"
DEADLINE = 300.0  # the model and the knowledge base load first


class Terminal:
    """A process on a pseudo-terminal: type into it, read what it shows (colours and cursor moves removed)."""

    def __init__(self, argv: List[str], env: Dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        # a terminal of 50 x 160 characters (a pseudo-terminal starts at 0 x 0; Rasa's tables divide its width)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.process = subprocess.Popen(argv, cwd=str(ROOT), env=env, stdin=slave, stdout=slave, stderr=slave,
                                        start_new_session=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, text: str, deadline: float = DEADLINE) -> bool:
        end = time.monotonic() + deadline
        while text not in self.seen and time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 1.0)
            if not ready:
                if self.process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the process closed the terminal
                break
            self.seen += ANSI.sub("", chunk.decode("utf-8", errors="replace"))
        return text in self.seen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode("utf-8"))

    def close(self) -> None:
        """SIGTERM first: the launcher then stops Rasa and the action server it started (its own session)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)


@pytest.fixture()
def shell_env(tmp_path: Path) -> Dict[str, str]:
    environ = environ_without()
    environ.update({
        "KEFU_HOST": LOOPBACK,
        "KEFU_RASA_PORT": str(free_port()),
        "KEFU_ACTION_PORT": str(free_port()),
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_APP_DB_URL": f"sqlite:///{tmp_path / 'kefu_app.db'}",
        "KEFU_TRACKER_DB": str(tmp_path / "tracker.db"),
        "KEFU_EVENTS_DB": str(tmp_path / "events.db"),
        "KEFU_MODEL": str(MODEL),
        "KEFU_RASA_TOKEN": uuid.uuid4().hex,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
    })
    return environ


def test_make_shell_talks_to_the_bot_and_stops_its_action_server(shell_env: Dict[str, str]) -> None:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    terminal = Terminal([sys.executable, "-m", "launcher", "shell"], shell_env)
    try:
        assert terminal.read_until("Your input ->"), f"no prompt:\n{terminal.seen[-4000:]}"
        assert "started here" in terminal.seen, terminal.seen[-4000:]
        terminal.type("北京店地址\r")
        assert terminal.read_until(BEIJING_ANSWER), f"no answer from the knowledge base:\n{terminal.seen[-4000:]}"
        terminal.type("/stop\r")  # Rasa's way out of its shell; the launcher then stops the action server
        assert terminal.process.wait(timeout=120) == 0, terminal.seen[-4000:]
    finally:
        terminal.close()
    assert not port_open(LOOPBACK, int(shell_env["KEFU_ACTION_PORT"])), "the action server outlived the shell"
    log = Path(shell_env["KEFU_VAR_DIR"]) / "develop-actions.log"
    assert "stores.beijing" in log.read_text(encoding="utf-8", errors="replace")  # the action server's FAQ turn



def test_make_interactive_reads_the_project_and_sigterm_stops_everything(shell_env: Dict[str, str]) -> None:
    """``rasa interactive`` loads config.yml, domain.yml and data (the links at the project root) with the trained
    model, asks about the first message; SIGTERM to the launcher ends Rasa and the action server."""
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    terminal = Terminal([sys.executable, "-m", "launcher", "interactive", "--skip-visualization"], shell_env)
    try:
        assert terminal.read_until("Your input ->"), f"no prompt:\n{terminal.seen[-4000:]}"
        terminal.type("你好\r")
        assert terminal.read_until("with intent 'greet'"), f"no question about the message:\n{terminal.seen[-4000:]}"
        terminal.type("y")
        assert terminal.read_until("utter_greet"), f"no next action to confirm:\n{terminal.seen[-4000:]}"
        os.kill(terminal.process.pid, signal.SIGTERM)
        assert terminal.process.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        terminal.close()
    assert not port_open(LOOPBACK, int(shell_env["KEFU_ACTION_PORT"])), "the action server outlived the session"

def test_without_a_model_the_shell_says_so_and_starts_nothing(shell_env: Dict[str, str], tmp_path: Path) -> None:
    shell_env["KEFU_MODEL"] = str(tmp_path / "no-such-model.tar.gz")
    result = subprocess.run([sys.executable, "-m", "launcher", "shell"], cwd=str(ROOT), env=shell_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "No trained Rasa model" in result.stderr and "make model" in result.stderr
    assert not port_open(LOOPBACK, int(shell_env["KEFU_ACTION_PORT"]))


def test_the_shell_gets_make_runs_model_endpoints_and_a_free_rasa_port() -> None:
    env = {"KEFU_HOST": LOOPBACK, "KEFU_RASA_PORT": str(free_port()), "KEFU_MODEL": "models/kefu.tar.gz"}
    argv = rasa_command("shell", [], env)
    assert argv[1:4] == ["-m", "bot.server", "shell"] and argv[0].endswith(".venv-rasa/bin/python")
    assert argv[4:] == ["--model", "models/kefu.tar.gz", "--endpoints", "endpoints.yml", "--port",
                        env["KEFU_RASA_PORT"]]
    # the user's own options win, in either spelling
    mine = rasa_command("interactive", ["-m", "other.tar.gz", "--port=6000", "--endpoints", "mine.yml"], env)
    assert mine[4:] == ["-m", "other.tar.gz", "--port=6000", "--endpoints", "mine.yml"]
    assert with_option(["--modelx", "a"], ["--model"], "b") == ["--modelx", "a", "--model", "b"]


def test_a_taken_rasa_port_is_not_reused() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        argv = rasa_command("shell", [], {"KEFU_HOST": LOOPBACK, "KEFU_RASA_PORT": port, "KEFU_MODEL": "m"})
    chosen = argv[argv.index("--port") + 1]
    assert chosen != port and chosen.isdigit()


def test_launcher_env_exports_everything_rasa_s_config_files_read(tmp_path: Path) -> None:
    """``eval "$(.venv/bin/python -m launcher env)"`` is enough for a plain ``rasa shell`` from the project root:
    every ``${VAR}`` of endpoints.yml and credentials.yml gets a value (Rasa refuses an unset one)."""
    env = {**environ_without(), "KEFU_VAR_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "launcher", "env"], cwd=str(ROOT), env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    exported = {line.split("=", 1)[0].removeprefix("export ") for line in out.splitlines()}
    needed = {name for config in ("endpoints.yml", "credentials.yml")
              for line in (ROOT / config).read_text(encoding="utf-8").splitlines()
              if not line.lstrip().startswith("#") for name in re.findall(r"\$\{(\w+)\}", line.split(" #")[0])}
    assert {"KEFU_ACTION_URL", "KEFU_TRACKER_DB", "KEFU_EVENTS_DB"} <= needed
    assert needed <= exported, sorted(needed - exported)
