"""A real Kefu stack for integration tests: action server, Rasa server and console as processes.

Every stack gets free ports and its own var/ directory (tracker database,
token), so tests never touch a developer's ``make run``. The Rasa model is the
one ``make model`` produced (``models/kefu.tar.gz``).

    stack = Stack.start(tmp_path)            # waits until both answer
    replies = stack.say("alice", "你好")     # REST channel round trip
    stack.restart("rasa")                    # same ports, same databases
    stack.stop()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import quote

import requests

from launcher.processes import ProcessSpec, process_env, specs
from launcher.settings import ROOT, resolve

MODEL = ROOT / "models" / "kefu.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def model_missing_reason() -> Optional[str]:
    if not MODEL.exists():
        return f"no trained Rasa model at {MODEL}: run `make model` (make test does)"
    return None


class ProcessGroup(ABC):
    """Processes started in their own sessions, with a health URL each and a log file in ``workdir``
    (shared by :class:`Stack` and the multi-process cluster of tests/cluster)."""

    workdir: Path
    processes: Dict[str, subprocess.Popen]

    @abstractmethod
    def health_url(self, name: str) -> str:
        """The URL that answers below 500 once process ``name`` is ready."""

    def wait_ready(self, names: List[str], timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            url = self.health_url(name)
            while True:
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-4000:]}")
                try:
                    if requests.get(url, timeout=2).status_code < 500:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {timeout}s:\n{self.log(name)[-4000:]}")
                time.sleep(0.5)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.processes.get(name)
        if proc and proc.poll() is None:
            os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def alive(self, name: str) -> bool:
        proc = self.processes.get(name)
        return bool(proc and proc.poll() is None)


@dataclass
class Stack(ProcessGroup):
    env: Dict[str, str]
    workdir: Path
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)
    specs: Dict[str, ProcessSpec] = field(default_factory=dict)

    @classmethod
    def start(
        cls,
        workdir: Path,
        extra_env: Optional[Mapping[str, str]] = None,
        only: Optional[List[str]] = None,
        timeout: float = 240.0,
    ) -> Stack:
        workdir.mkdir(parents=True, exist_ok=True)
        base = {
            "KEFU_HOST": "127.0.0.1",
            "KEFU_RASA_PORT": str(free_port()),
            "KEFU_ACTION_PORT": str(free_port()),
            "KEFU_CONSOLE_PORT": str(free_port()),
            "KEFU_CONSOLE_DB_URL": f"sqlite:///{workdir / 'console.db'}",
            "KEFU_VAR_DIR": str(workdir),
            "KEFU_TRACKER_DB": str(workdir / "tracker.db"),
            "KEFU_EVENTS_DB": str(workdir / "events.db"),
            "KEFU_MODEL": str(MODEL),
            "KEFU_RASA_TOKEN": uuid.uuid4().hex,
        }
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
        environ.update(base)
        environ.update(extra_env or {})
        stack = cls(env=resolve(environ), workdir=workdir)
        stack.specs = specs(stack.env)
        for name in only or list(stack.specs):
            stack._spawn(name)
        stack.wait_ready(only or list(stack.specs), timeout)
        return stack

    # -- processes ---------------------------------------------------------
    def health_url(self, name: str) -> str:
        return self.specs[name].health_url

    def _spawn(self, name: str) -> None:
        spec = self.specs[name]
        log = open(self.workdir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            spec.argv,
            cwd=str(ROOT),
            env=process_env(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def restart(self, name: str) -> None:
        self.kill(name)
        self._spawn(name)
        self.wait_ready([name])

    def stop(self) -> None:
        for name in list(self.processes):
            self.kill(name)

    # -- clients -----------------------------------------------------------
    @property
    def rasa_url(self) -> str:
        return self.env["KEFU_RASA_URL"]

    @property
    def token(self) -> str:
        return self.env["KEFU_RASA_TOKEN"]

    def say(self, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        response = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def conversation_id(sender: str) -> str:
        """The conversation of a channel's sender: scoped ids as they are, a signed widget session id
        as ``web:<id>``, anything else as the REST sender ``rest:<sender>`` (kernel/conversation_ids.py)."""
        from kernel.conversation_ids import is_scoped, rest_id, web_id
        from kernel.session_ids import _FORMAT as SIGNED_SESSION

        if is_scoped(sender):
            return sender
        return web_id(sender) if SIGNED_SESSION.match(sender) else rest_id(sender)

    def tracker(self, sender: str) -> Dict[str, Any]:
        """The tracker of ``sender``'s conversation (see :meth:`conversation_id`)."""
        response = requests.get(
            f"{self.rasa_url}/conversations/{quote(self.conversation_id(sender), safe=':')}/tracker",
            params={"token": self.token},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()
