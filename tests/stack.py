"""A real Kefu stack for integration tests: action server, Rasa server, notifier and console as processes.

Every stack gets free ports and its own var/ directory (tracker database,
token), so tests never touch a developer's ``make run``. The Rasa model is the
one ``make model`` produced (``models/kefu.tar.gz``). The processes run on the
process harness (tests/harness.py): a stack is a ``ProcessGroup`` of the
commands of ``make run`` (launcher/processes.py).

    stack = Stack.start(tmp_path)            # waits until all answer (or raises with the log tail)
    replies = stack.say("alice", "你好")     # REST channel round trip
    stack.restart("rasa")                    # same ports, same databases
    stack.stop()
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import quote

import requests

from kernel.settings import ROOT, resolve
from launcher.processes import ProcessSpec, process_env, specs
from tests.harness import Command, HttpReady, ProcessGroup, ServerProcess, environ_without, free_port

MODEL = ROOT / "models" / "kefu.tar.gz"


def model_missing_reason() -> Optional[str]:
    if not MODEL.exists():
        return f"no trained Rasa model at {MODEL}: run `make model` (make test does)"
    return None


class Stack(ProcessGroup):
    """The processes of ``make run`` (launcher/processes.py) in one test's ``workdir`` (tests/harness.py)."""

    def __init__(self, workdir: Path, env: Dict[str, str]) -> None:
        super().__init__(workdir)
        self.env = env
        self.specs: Dict[str, ProcessSpec] = specs(env)
        for name in self.specs:
            self.add(self._command(name))

    def _command(self, name: str) -> Command:
        spec = self.specs[name]
        return Command(spec.name, spec.argv, process_env(self.env), HttpReady(spec.health_url), cwd=ROOT)

    def spawn(self, name: str) -> ServerProcess:
        """Start ``name`` with the stack's current ``env``: a test may change a setting before a restart."""
        self.add(self._command(name))
        return super().spawn(name)

    @classmethod
    def start(
        cls,
        workdir: Path,
        extra_env: Optional[Mapping[str, str]] = None,
        only: Optional[List[str]] = None,
        timeout: float = 240.0,
    ) -> Stack:
        workdir.mkdir(parents=True, exist_ok=True)
        environ = environ_without()
        environ.update({
            "KEFU_HOST": "127.0.0.1",
            "KEFU_RASA_PORT": str(free_port()),
            "KEFU_ACTION_PORT": str(free_port()),
            "KEFU_CONSOLE_PORT": str(free_port()),
            "KEFU_NOTIFIER_PORT": str(free_port()),
            "KEFU_APP_DB_URL": f"sqlite:///{workdir / 'kefu_app.db'}",
            "KEFU_CONSOLE_DB_URL": f"sqlite:///{workdir / 'console.db'}",
            "KEFU_VAR_DIR": str(workdir),
            "KEFU_TRACKER_DB": str(workdir / "tracker.db"),
            "KEFU_EVENTS_DB": str(workdir / "events.db"),
            "KEFU_MODEL": str(MODEL),
            "KEFU_RASA_TOKEN": uuid.uuid4().hex,
        })
        environ.update(extra_env or {})
        stack = cls(workdir, resolve(environ))
        try:
            stack.launch(only or list(stack.specs), timeout)
        except BaseException:
            stack.stop()  # whatever did start
            raise
        return stack

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
