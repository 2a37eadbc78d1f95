"""Where a turn's time goes in the Rasa process (issue 24): opt-in spans, one JSON line a turn.

With ``KEFU_TURN_PROFILE=<file>``, ``python -m bot.server`` wraps the Rasa methods a REST or socket turn passes
through (:data:`TARGETS`) after Kefu's runtime (:mod:`bot.runtime`) is installed, so the spans sit outside its
patches. Each webhook request is a turn: its spans (name, parent, wall ms, process CPU ms) are appended to the file
as one JSON object when the response leaves, e.g.::

    {"sender": "rest:alice", "pid": 123, "spans": [["turn", -1, 41.2, 39.8], ["lock.acquire", 0, 0.1, 0.1], ...]}

Without the variable nothing is wrapped: the runtime is exactly :mod:`bot.runtime`'s. Process CPU
(``time.process_time``: every thread, TensorFlow's pools too) is the measure to read on a shared machine; wall time
also holds the waits (the action server, the database). Spans nest by the asyncio context they run in
(:mod:`contextvars`), so a concurrent turn never becomes another turn's child; turns are meant to be profiled one
at a time (``benchmarks/turn_profile.py`` does), since process CPU is shared by whatever runs at once.

:func:`parts` folds a turn's spans into the parts ``benchmarks/turn_profile.py`` reports: each span's own
(exclusive) time, named by what it is and where it ran (a tracker replay while loading is not one while streaming
events). Importing this module imports no Rasa.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import time
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

ENV = "KEFU_TURN_PROFILE"

#: (wall seconds, CPU seconds) now
Clock = Callable[[], Tuple[float, float]]


def default_clock() -> Tuple[float, float]:
    return time.perf_counter(), time.process_time()


@dataclass
class Turn:
    """The spans of one turn, in the order they started; ``spans[i] = [name, parent, wall_ms, cpu_ms]``."""

    clock: Clock = default_clock
    sender: str = ""
    spans: List[List[Any]] = field(default_factory=list)
    _started: List[Tuple[float, float]] = field(default_factory=list)

    def start(self, name: str, parent: int) -> int:
        self.spans.append([name, parent, 0.0, 0.0])
        self._started.append(self.clock())
        return len(self.spans) - 1

    def end(self, index: int) -> None:
        wall, cpu = self.clock()
        wall0, cpu0 = self._started[index]
        self.spans[index][2] = round((wall - wall0) * 1000.0, 3)
        self.spans[index][3] = round((cpu - cpu0) * 1000.0, 3)

    def record(self) -> Dict[str, Any]:
        return {"sender": self.sender, "pid": os.getpid(), "spans": self.spans}


_TURN: ContextVar[Optional[Turn]] = ContextVar("kefu_turn_profile", default=None)
_PARENT: ContextVar[int] = ContextVar("kefu_turn_profile_parent", default=-1)


def begin(clock: Clock = default_clock) -> Tuple[Turn, Token, Token]:
    """Start a turn in the current context, with its root span ``turn`` open."""
    turn = Turn(clock)
    turn_token = _TURN.set(turn)
    parent_token = _PARENT.set(turn.start("turn", -1))
    return turn, turn_token, parent_token


def finish(turn: Turn, turn_token: Token, parent_token: Token) -> Dict[str, Any]:
    """Close the root span, leave the turn's context, and give the record."""
    turn.end(0)
    for var, token in ((_PARENT, parent_token), (_TURN, turn_token)):
        try:
            var.reset(token)
        except ValueError:  # another context (should not happen within one request)
            var.set(None if var is _TURN else -1)  # type: ignore[arg-type]
    return turn.record()


def current() -> Optional[Turn]:
    return _TURN.get()


@contextmanager
def span(name: str) -> Iterator[None]:
    """A span of the current turn (nothing outside a turn)."""
    turn = _TURN.get()
    if turn is None:
        yield
        return
    index = turn.start(name, _PARENT.get())
    token = _PARENT.set(index)
    try:
        yield
    finally:
        _PARENT.reset(token)
        turn.end(index)


# -- what the spans mean --------------------------------------------------------------------------------------------

#: parts in the order a turn passes through them (the report's rows and the chart's stacking order)
ORDER = (
    "channel (webhook, JSON in/out)",
    "lock acquire",
    "tracker load: query",
    "tracker load: replay events",
    "processor (tracker updates, logging, routing)",
    "NLU",
    "policies",
    "action call: payload (tracker + domain to JSON)",
    "action call: HTTP round trip (Rasa side)",
    "action call: validate the response (jsonschema)",
    "action call: Rasa side other",
    "bot responses (NLG templates)",
    "in-process actions (utter, listen, slots)",
    "reply (bot messages to the channel)",
    "tracker save: insert new events",
    "event broker: reload tracker for the diff",
    "event broker: publish",
    "lock release",
)


def node_label(node: str) -> str:
    """A graph node's name as a reader knows it: ``run_bot.nlu.tokenizer.NormalisingJiebaTokenizer0`` ->
    ``NormalisingJiebaTokenizer0``; ``run_TEDPolicy2`` -> ``TEDPolicy2``; ``select_prediction`` as it is."""
    name = node[4:] if node.startswith("run_") else node
    return name.rsplit(".", 1)[-1]


#: spans whose part is fixed by their name alone
_FIXED_PARTS = {
    "lock.acquire": "lock acquire",
    "lock.release": "lock release",
    "tracker.load": "tracker load: query",
    "tracker.save": "tracker save: insert new events",
    "broker.stream": "event broker: reload tracker for the diff",
    "broker.publish": "event broker: publish",
    "nlu": "NLU: graph other",
    "policies": "policies: graph other",
    "action.payload": "action call: payload (tracker + domain to JSON)",
    "action.http": "action call: HTTP round trip (Rasa side)",
    "action.validate": "action call: validate the response (jsonschema)",
    "nlg": "bot responses (NLG templates)",
    "reply": "reply (bot messages to the channel)",
    "extract_slots": "in-process actions (utter, listen, slots)",
}
_PROCESSOR = "processor (tracker updates, logging, routing)"


def part_of(name: str, parent: Optional[str], grandparent: Optional[str] = None) -> str:
    """The part a span's own (exclusive) time belongs to, from its name and where it ran."""
    if name == "turn":
        return ORDER[0]
    if name in _FIXED_PARTS:
        return _FIXED_PARTS[name]
    if name == "tracker.replay":
        if parent == "tracker.load":
            return "tracker load: replay events"
        return "event broker: reload tracker for the diff" if parent == "broker.stream" else _PROCESSOR
    if name.startswith("node:"):
        label = node_label(name[5:])
        if parent == "nlu":
            return f"NLU: {label}"
        if parent == "policies":
            return f"policy: {label}" if label.endswith(tuple("0123456789")) else "policies: graph other"
        return f"graph: {label}"
    if name.startswith("action:"):
        return "action call: Rasa side other"
    if name.startswith("run_action:"):
        return "in-process actions (utter, listen, slots)"
    return _PROCESSOR
    if name == "tracker.load":
        return "tracker load: query"
    if name == "tracker.save":
        return "tracker save: insert new events"
    if name == "broker.stream":
        return "event broker: reload tracker for the diff"
    if name == "broker.publish":
        return "event broker: publish"
    if name == "nlu":
        return "NLU: graph other"
    if name == "policies":
        return "policies: graph other"
    if name.startswith("node:"):
        label = node_label(name[5:])
        if parent == "nlu":
            return f"NLU: {label}"
        if parent == "policies":
            return f"policy: {label}" if label.endswith(tuple("0123456789")) else "policies: graph other"
        return f"graph: {label}"
    if name == "action.payload":
        return "action call: payload (tracker + domain to JSON)"
    if name == "action.http":
        return "action call: HTTP round trip (Rasa side)"
    if name == "action.validate":
        return "action call: validate the response (jsonschema)"
    if name == "nlg":
        return "bot responses (NLG templates)"
    if name.startswith("action:"):
        return "action call: Rasa side other"
    if name == "reply":
        return "reply (bot messages to the channel)"
    if name.startswith("run_action:") or name == "extract_slots":
        return "in-process actions (utter, listen, slots)"
    return "processor (tracker updates, logging, routing)"


def group_of(part: str) -> str:
    """The row of :data:`ORDER` a detailed part sums into (``NLU: DIETClassifier5`` -> ``NLU``)."""
    if part.startswith("NLU"):
        return "NLU"
    if part.startswith("polic"):
        return "policies"
    if part.startswith("graph:"):
        return "processor (tracker updates, logging, routing)"
    return part


def exclusive(spans: List[List[Any]]) -> List[Tuple[str, Optional[str], Optional[str], float, float]]:
    """Each span's own time: (name, parent name, grandparent name, wall ms, CPU ms) with its children's taken
    out (never below zero: a child's clock readings can straddle its parent's by rounding)."""
    child_wall = [0.0] * len(spans)
    child_cpu = [0.0] * len(spans)
    for _name, parent, wall, cpu in spans:
        if parent >= 0:
            child_wall[parent] += wall
            child_cpu[parent] += cpu
    out = []
    for i, (name, parent, wall, cpu) in enumerate(spans):
        parent_name = spans[parent][0] if parent >= 0 else None
        grand = spans[spans[parent][1]][0] if parent >= 0 and spans[parent][1] >= 0 else None
        out.append((name, parent_name, grand, max(0.0, wall - child_wall[i]), max(0.0, cpu - child_cpu[i])))
    return out


def parts(record: Dict[str, Any]) -> Dict[str, Dict[str, float]]:
    """A turn record folded into parts: ``{part: {"wall_ms": .., "cpu_ms": .., "calls": n}}``; the parts' sums
    are the root span's (the whole turn in the Rasa process)."""
    out: Dict[str, Dict[str, float]] = {}
    for name, parent, grand, wall, cpu in exclusive(record["spans"]):
        part = part_of(name, parent, grand)
        entry = out.setdefault(part, {"wall_ms": 0.0, "cpu_ms": 0.0, "calls": 0})
        entry["wall_ms"] += wall
        entry["cpu_ms"] += cpu
        entry["calls"] += 1
    return out


def read(path: str, offset: int = 0) -> Tuple[List[Dict[str, Any]], int]:
    """The records appended to ``path`` after byte ``offset``, and the new offset (whole lines only)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    records = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return records, offset + end


# -- the wrappers ---------------------------------------------------------------------------------------------------

_installed: Optional[str] = None
NAMED = re.compile(r"[^A-Za-z0-9_.:-]")


def _wrap(owner: Any, attribute: str, name: Callable[..., str]) -> None:
    """Replace ``owner.attribute`` (a method, static or class method, sync or async) by one that runs it in a
    span named ``name(*args, **kwargs)`` during a turn, and as it is otherwise."""
    raw = owner.__dict__[attribute]
    original = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw

    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _TURN.get() is None:
                return await original(*args, **kwargs)
            with span(name(*args, **kwargs)):
                return await original(*args, **kwargs)

    else:

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            if _TURN.get() is None:
                return original(*args, **kwargs)
            with span(name(*args, **kwargs)):
                return original(*args, **kwargs)

    if isinstance(raw, staticmethod):
        setattr(owner, attribute, staticmethod(wrapper))
    elif isinstance(raw, classmethod):
        setattr(owner, attribute, classmethod(wrapper))
    else:
        setattr(owner, attribute, wrapper)


def _wrap_lock(owner: Any) -> None:
    original = owner.lock

    @asynccontextmanager
    async def lock(self: Any, *args: Any, **kwargs: Any) -> Any:
        manager = original(self, *args, **kwargs)
        with span("lock.acquire"):
            value = await manager.__aenter__()
        try:
            yield value
        except BaseException as error:
            with span("lock.release"):
                suppressed = await manager.__aexit__(type(error), error, error.__traceback__)
            if not suppressed:
                raise
        else:
            with span("lock.release"):
                await manager.__aexit__(None, None, None)

    owner.lock = lock


def _on_app(app: Any, path: str) -> None:
    async def on_request(request: Any) -> None:
        if request.method == "POST" and request.path.startswith("/webhooks/"):
            request.ctx.kefu_turn_profile = begin()

    async def on_response(request: Any, response: Any) -> None:
        started = getattr(request.ctx, "kefu_turn_profile", None)
        if started is None:
            return
        request.ctx.kefu_turn_profile = None
        record = finish(*started)
        record["status"] = getattr(response, "status", None)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    app.register_middleware(on_request, "request")
    app.register_middleware(on_response, "response")


def install(path: str) -> None:
    """Wrap the Rasa methods of a turn (idempotent; only ``bot.server`` calls it, when ``KEFU_TURN_PROFILE`` is
    set)."""
    global _installed
    if _installed is not None:
        return
    from rasa.core import run as rasa_run
    from rasa.core.actions.action import RemoteAction
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.lock_store import LockStore
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
    from rasa.engine.graph import GraphNode
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    def fixed(label: str) -> Callable[..., str]:
        return lambda *args, **kwargs: label

    def remember_sender(self: Any, message: Any) -> str:
        turn = _TURN.get()
        if turn is not None:
            turn.sender = str(getattr(message, "sender_id", ""))
        return "processor"

    def action_name(self: Any, *args: Any, **kwargs: Any) -> str:
        action = kwargs.get("action", args[0] if args else None)
        return f"run_action:{action.name() if action is not None else '?'}"

    _wrap(MessageProcessor, "handle_message", remember_sender)
    _wrap(MessageProcessor, "parse_message", fixed("nlu"))
    _wrap(MessageProcessor, "_predict_next_with_tracker", fixed("policies"))
    _wrap(MessageProcessor, "run_action_extract_slots", fixed("extract_slots"))
    _wrap(MessageProcessor, "_run_action", action_name)
    _wrap(MessageProcessor, "_send_bot_messages", fixed("reply"))
    _wrap(GraphNode, "__call__", lambda self, *a, **k: f"node:{self._node_name}")
    _wrap(RemoteAction, "run", lambda self, *a, **k: f"action:{NAMED.sub('_', self.name())}")
    _wrap(RemoteAction, "_action_call_format", fixed("action.payload"))
    _wrap(RemoteAction, "_validate_action_result", fixed("action.validate"))
    _wrap(TemplatedNaturalLanguageGenerator, "generate", fixed("nlg"))
    _wrap(EndpointConfig, "request", fixed("action.http"))
    _wrap(FailSafeTrackerStore, "retrieve", fixed("tracker.load"))
    _wrap(FailSafeTrackerStore, "save", fixed("tracker.save"))
    _wrap(TrackerStore, "stream_events", fixed("broker.stream"))
    _wrap(SQLEventBroker, "publish", fixed("broker.publish"))
    _wrap(DialogueStateTracker, "from_dict", fixed("tracker.replay"))
    _wrap_lock(LockStore)

    configure_app = rasa_run.configure_app

    @functools.wraps(configure_app)
    def configure_app_with_profile(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        _on_app(app, path)
        return app

    rasa_run.configure_app = configure_app_with_profile
    _installed = path
