"""``python -m launcher shell|interactive [rasa options]``: talk to the bot in the terminal, on production's runtime.

What ``make shell`` and ``make interactive`` call. The Rasa side is ``python -m bot.server shell|interactive``
(Rasa's own command with Kefu's runtime installed, bot/runtime.py) in the foreground, with this terminal. It needs
the action server: when one already answers at ``KEFU_ACTION_URL`` (``make run`` is up) it is used; otherwise this
starts one as ``make run`` does (launcher/processes.py), on ``KEFU_ACTION_PORT`` or a free port when that is taken,
with its output in ``<var dir>/develop-actions.log``, and stops it when the shell ends (``/stop``; SIGTERM or a
closed terminal end Rasa first). Rasa's own port is ``KEFU_RASA_PORT`` unless taken
(``make run``'s server), then a free one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from kernel.settings import ROOT, resolve, var_dir_of
from launcher.processes import process_env, specs

COMMANDS = ("shell", "interactive")
#: how long the action server may take to load the knowledge base and answer /health
ACTION_SERVER_START_SECONDS = 240.0


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own http URL
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_taken(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def with_option(args: Sequence[str], names: Sequence[str], value: str) -> List[str]:
    """``args`` plus ``names[0] value`` unless one of ``names`` is given already."""
    if any(arg in names or arg.split("=", 1)[0] in names for arg in args):
        return list(args)
    return [*args, names[0], value]


class ActionServer:
    """The action server of a development session: one that answers already, or one started here."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.process: Optional[subprocess.Popen] = None
        self.log: Optional[Path] = None

    def ensure(self) -> str:
        """The action server's URL, starting one when none answers (raises RuntimeError with its log tail)."""
        spec = specs(self.env)["actions"]
        if answers(spec.health_url):
            return self.env["KEFU_ACTION_URL"]
        host = self.env["KEFU_HOST"]
        if port_taken(host, int(self.env["KEFU_ACTION_PORT"])):
            port = str(free_port(host))
            self.env["KEFU_ACTION_PORT"] = port
            self.env["KEFU_ACTION_URL"] = f"http://{host}:{port}/webhook"
            spec = specs(self.env)["actions"]
        var_dir = var_dir_of(self.env)
        var_dir.mkdir(parents=True, exist_ok=True)
        self.log = var_dir / "develop-actions.log"
        with self.log.open("wb") as log:
            # its own session: Ctrl-C in the shell reaches Rasa, and this stops the action server afterwards
            self.process = subprocess.Popen(spec.argv, cwd=str(ROOT), env=process_env(self.env), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        deadline = time.monotonic() + ACTION_SERVER_START_SECONDS
        while not answers(spec.health_url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"the action server did not start ({spec.health_url}); its log:\n{tail}")
            time.sleep(0.5)
        return self.env["KEFU_ACTION_URL"]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass


def rasa_command(command: str, args: Sequence[str], env: Mapping[str, str]) -> List[str]:
    """``python -m bot.server <command>`` with ``make run``'s model, endpoints and a free Rasa port."""
    host = env["KEFU_HOST"]
    port = env["KEFU_RASA_PORT"]
    if port_taken(host, int(port)):
        port = str(free_port(host))
    options = with_option(args, ["--model", "-m"], env["KEFU_MODEL"])
    options = with_option(options, ["--endpoints"], env.get("KEFU_ENDPOINTS", "endpoints.yml"))
    options = with_option(options, ["--port", "-p"], port)
    return [str(ROOT / ".venv-rasa/bin/python"), "-m", "bot.server", command, *options]


def main(command: str, args: Sequence[str], environ: Optional[Mapping[str, str]] = None) -> int:
    if command not in COMMANDS:
        raise ValueError(f"unknown command {command!r}; one of {COMMANDS}")
    env = resolve(environ)
    model = Path(env["KEFU_MODEL"])
    if not (model if model.is_absolute() else ROOT / model).exists():
        print(f"No trained Rasa model at {env['KEFU_MODEL']}: `make model` trains it.", file=sys.stderr)
        return 1
    actions = ActionServer(env)
    running: List[subprocess.Popen] = []

    def stop(signum: int, _frame: object) -> None:
        """SIGTERM or a closed terminal: end the Rasa side, then (finally, below) the action server."""
        for child in running:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        try:
            url = actions.ensure()
        except RuntimeError as error:
            print(str(error), file=sys.stderr)
            return 1
        started = f" (started here, log: {actions.log})" if actions.process else " (already running)"
        print(f"Action server: {url}{started}", flush=True)
        running.append(subprocess.Popen(rasa_command(command, args, env), cwd=str(ROOT), env=process_env(env)))
        while True:
            try:
                return running[0].wait()
            except KeyboardInterrupt:  # the terminal's Ctrl-C reaches Rasa too: wait for it to end
                continue
    finally:
        actions.stop()
