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

A Rasa server takes most of a stack's start (35-100 s: TensorFlow traces a one-step fit to build the DIET and TED
models before loading their weights), so test modules whose stacks have the same configuration share one: the
configurations in :data:`SHARED` are started once per session by a :class:`StackPool` (the session fixture
``stack_pool`` in tests/conftest.py: the modules on a shared stack run last, grouped by stack; each stack is spawned
``SPAWN_AHEAD`` tests before its first user, so that Rasa loads while they run, and stopped after its last user).
Modules on a shared stack use their own sender ids (a uuid in each), so no state passes between tests; a module that
needs settings of its own keeps its own stack.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import quote

import requests

from kernel.settings import ROOT, resolve
from launcher.processes import ProcessSpec, process_env, specs
from tests.harness import Command, HttpReady, ProcessGroup, ServerProcess, environ_without, free_port

MODEL = ROOT / "models" / "kefu.tar.gz"

#: every test stack runs the speed patches' check modes (bot/runtime.py SPEED_PATCHES): the Rasa server also does
#: Rasa's own work and logs ``<patch>.differs`` where the two disagree, which fails the stack's stop
CHECKS = {"KEFU_TRACKER_CACHE_CHECK": "1", "KEFU_SURE_RULES_CHECK": "1", "KEFU_RULE_WINDOW_CHECK": "1",
          "KEFU_ACTION_EVENTS_CHECK": "1"}
DIFFERS = re.compile(r"\b(?:tracker_cache|sure_rules|rule_window|action_events)\.differs\b[^\n]*")


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
        stack = cls.configure(workdir, extra_env)
        try:
            stack.launch(only or list(stack.specs), timeout)
        except BaseException:
            stack.stop()  # whatever did start
            raise
        return stack

    @classmethod
    def configure(cls, workdir: Path, extra_env: Optional[Mapping[str, str]] = None) -> Stack:
        """The stack's settings (free ports, ``workdir`` for every file) and commands; nothing started yet."""
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
            **CHECKS,
        })
        environ.update(extra_env or {})
        return cls(workdir, resolve(environ))

    def stop(self) -> None:
        """Stop every process; then fail if the Rasa server (or, for ``action_events``, the action server) logged
        that a speed patch disagreed with Rasa's own code (:data:`CHECKS`)."""
        super().stop()
        found = [match.group(0) for name in ("rasa", "actions") if name in self.specs
                 for match in DIFFERS.finditer(self.log(name))]
        if found:
            raise AssertionError("a speed patch of bot/runtime.py gave another result than Rasa's own code:\n"
                                 + "\n".join(found[:20]))

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


# -- stacks shared by test modules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedConfig:
    """A stack configuration several test modules use as it is: its processes and its settings (given the
    stack's working directory)."""

    only: Tuple[str, ...]
    settings: Callable[[Path], Dict[str, str]]


#: Logins per client IP the shared stacks' consoles take in their window: every module on the stack logs its agents
#: in from 127.0.0.1, more than the default 30 in 5 minutes of a single module (the limit itself is tested on
#: consoles of its own: tests/console/test_ratelimit.py, tests/security/test_console_login.py).
SHARED_LOGIN_IP_LIMIT = "1000"


def demo_shop(staffing: str) -> Callable[[Path], Dict[str, str]]:
    """Settings of a stack on the demo store (actions/store/demo: orders, stock, C0001's WeChat openid, in a database
    of the stack's own) whose console has the staffed hours ``staffing`` (``open``: agents on duty around the clock,
    so no reply depends on the hour the suite runs; ``closed``: never)."""

    def settings(workdir: Path) -> Dict[str, str]:
        from tests.console.process import ALWAYS_STAFFED, NEVER_STAFFED, config_file
        from tests.security.channel_clients import seeded_store

        hours = {"open": ALWAYS_STAFFED, "closed": NEVER_STAFFED}[staffing]
        return {**seeded_store(workdir), "KEFU_CONSOLE_CONFIG": str(config_file(workdir, hours)),
                "KEFU_CONSOLE_LOGIN_IP_LIMIT": SHARED_LOGIN_IP_LIMIT}

    return settings


#: The shared configurations, by the name of the session fixture that gives the stack (tests/conftest.py).
SHARED: Dict[str, SharedConfig] = {
    "staffed_stack": SharedConfig(("actions", "rasa", "console"), demo_shop("open")),
    "unstaffed_stack": SharedConfig(("actions", "rasa", "console"), demo_shop("closed")),
}


class StackPool:
    """The shared stacks of one test session, each in its own directory under ``base``.

    ``spawn`` starts a configuration's processes without waiting (while other tests run); ``get`` waits until they
    answer, starting them first if nobody did and starting again any process a test left stopped; ``stop`` stops one
    or (without a name) all of them.
    """

    def __init__(self, base: Path, configs: Optional[Mapping[str, SharedConfig]] = None) -> None:
        self.base = base
        self.configs = dict(SHARED if configs is None else configs)
        self.stacks: Dict[str, Stack] = {}

    def spawn(self, name: str) -> Stack:
        if name in self.stacks:
            return self.stacks[name]
        config = self.configs[name]
        workdir = self.base / name
        workdir.mkdir(parents=True, exist_ok=True)
        stack = Stack.configure(workdir, config.settings(workdir))
        self.stacks[name] = stack
        try:
            for process in config.only:
                stack.spawn(process)
        except BaseException:
            self.stop(name)
            raise
        return stack

    def get(self, name: str, timeout: float = 240.0) -> Stack:
        stack = self.spawn(name)
        only = self.configs[name].only
        try:
            for process in only:
                if not stack.alive(process):
                    stack.spawn(process)
            stack.wait_ready(only, timeout)
        except BaseException:
            try:
                self.stop(name)  # the next user starts it afresh
            except Exception:  # noqa: BLE001 - the start's failure is the one to report
                pass
            raise
        return stack

    def started(self) -> Iterable[str]:
        return list(self.stacks)

    def stop(self, name: Optional[str] = None) -> None:
        """Stop ``name`` (or every stack); all of them are stopped before the first failure of a stop is raised
        (``Stack.stop`` fails when the Rasa log shows a speed patch that disagreed with Rasa)."""
        failures: List[BaseException] = []
        for each in [name] if name else list(self.stacks):
            stack = self.stacks.pop(each, None)
            if stack is not None:
                try:
                    stack.stop()
                except Exception as error:  # noqa: BLE001 - raised below, once the others are stopped too
                    failures.append(error)
        if failures:
            raise failures[0]
