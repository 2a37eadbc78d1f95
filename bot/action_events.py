"""Custom action calls send the action server only the events it has not seen (issue 24, cut 8).

Rasa 3.6 sends the whole tracker with every custom action call: ``RemoteAction._action_call_format`` turns every event
of the session into a dict, the HTTP client into JSON, and the action server parses it all again. At the 50th turn
of a conversation that was the largest part of what the turn cost more than the 2nd: +4.1 ms of Rasa CPU for the call,
+0.6 ms for the payload, +3 ms for the action server's parsing (docs/results/turn-profile.md).

``install()`` wraps ``RemoteAction.run`` and ``RemoteAction._action_call_format`` to use the protocol of
:mod:`kernel.action_events`: the replica remembers, per conversation, the event objects its last successful call
carried and the log token they were sent under; the next call sends only the events after the part of them that the
tracker still holds (the same objects, in the same places, with the same timestamps), and the action server (``actions.known_events``) puts the whole list back
together before any action reads it. The actions get exactly the tracker they got before: the first call of a
tracker (a conversation read from the database, a new replica), a call after any failure and a call the action
server cannot resolve (answered 409: it restarted, or it is another replica) send every event, Rasa's own call. The
rest of the call (slots, latest message, domain, version) is Rasa's, built by Rasa's own ``_action_call_format``.

``KEFU_ACTION_EVENTS_CHECK=1`` sends every event with the delta too; the action server compares the two, logs
``action_events.differs`` where they disagree and uses every event (the test stacks run with it and fail on
that log line). ``KEFU_ACTION_EVENTS=0`` sends every event, as Rasa does.

``bot.server`` installs this before ``bot.action_failures`` (whose apology then covers a call that fails after its
retry); ``KEFU_RUNTIME_BASELINE=1`` leaves it out (bot/runtime.py).
"""

from __future__ import annotations

import contextvars
import copy
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, List, Optional

from kernel.action_events import FIELD, HEADER, conversation_key, is_unknown_answer
from kernel.recent import put_recent

#: conversations whose last call this replica remembers (``KEFU_ACTION_EVENTS_CONVERSATIONS``; 0: every call sends
#: every event). Rasa runs each action on a copy of the turn's tracker (``MessageProcessor._run_action``), which holds
#: the same event objects, so what a call carried is kept here by conversation, not on a tracker.
CONVERSATIONS = int(os.environ.get("KEFU_ACTION_EVENTS_CONVERSATIONS", "") or 500)

_installed: Optional[Any] = None
_installed_format: Optional[Any] = None  # Rasa's own RemoteAction._action_call_format, once installed


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip() not in ("", "0")


@dataclass
class Sent:
    """The log token and the event objects a conversation's last successful call carried, with their timestamps
    then: Rasa logs the policies' events of an action (``PolicyPrediction.events``) on the turn's tracker after the
    call, the same objects with a new timestamp (``MessageProcessor._log_action_on_tracker``), so an event sent is
    only the same if its timestamp is too."""

    log: str
    events: List[Any]
    stamps: List[Any] = field(default_factory=list)

    @classmethod
    def of(cls, log: str, events: List[Any]) -> Sent:
        return cls(log, events, [event.timestamp for event in events])


@dataclass
class Plan:
    """One call: the log it builds on and how many of its events the action server has (``base``; None: send every
    event, starting log ``log``)."""

    log: str
    base: Optional[int]
    check: bool
    events: List[Any] = field(default_factory=list)  # the tracker's events when the call was made


_SENT: OrderedDict[str, Sent] = OrderedDict()
_plan: contextvars.ContextVar[Optional[Plan]] = contextvars.ContextVar("kefu_action_events_plan", default=None)


def new_log() -> str:
    return uuid.uuid4().hex


def shared_prefix(sent: Sent, events: Any) -> int:
    """How many of the events sent before are still the tracker's first events: the same objects, in order, with the
    timestamps they were sent with."""
    count = 0
    for before, stamp, now in zip(sent.events, sent.stamps, events, strict=False):
        if before is not now or now.timestamp != stamp:
            break
        count += 1
    return count


def remember(sender_id: str, sent: Optional[Sent]) -> None:
    """Keep (or, with None, forget) what ``sender_id``'s last successful call carried; the least recently used
    conversations beyond :data:`CONVERSATIONS` are forgotten."""
    put_recent(_SENT, sender_id, sent, CONVERSATIONS)


def plan_for(tracker: Any, check: bool) -> Plan:
    """The next call of ``tracker``'s conversation: a delta on the log of its last successful call when the tracker
    still begins with the events that call carried (the same objects), otherwise every event."""
    sent = _SENT.get(tracker.sender_id)
    base = 0 if sent is None else shared_prefix(sent, tracker.events)
    if sent is None or base == 0:
        return Plan(new_log(), None, check)
    _SENT.move_to_end(tracker.sender_id)
    return Plan(sent.log, base, check)


class _WithoutEvents:
    """A tracker as Rasa's ``_action_call_format`` reads it, whose state leaves the events out (``None``, as Rasa's
    ``current_state`` does at ``EventVerbosity.NONE``)."""

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker
        self.sender_id = tracker.sender_id

    def current_state(self, event_verbosity: Any = None) -> Any:
        from rasa.shared.core.trackers import EventVerbosity

        return self._tracker.current_state(EventVerbosity.NONE)


def call_body(original_format: Any, action: Any, tracker: Any, domain: Any, plan: Plan) -> Any:
    """Rasa's call with :data:`kernel.action_events.FIELD`: every event and the log to keep them as, or (a delta)
    no events in the tracker and the ones after ``plan.base`` in the field; in check mode both."""
    plan.events = list(tracker.events)
    if plan.base is None:
        body = original_format(action, tracker, domain)
        body[FIELD] = {"log": plan.log}
        return body
    body = original_format(action, tracker if plan.check else _WithoutEvents(tracker), domain)
    body[FIELD] = {"log": plan.log, "base": plan.base,
                   "events": [event.as_dict() for event in plan.events[plan.base:]]}
    return body


def asks_for_every_event(error: BaseException) -> bool:
    """Whether a failed call is the action server answering that it does not hold the log (Rasa's ``run`` raises a
    ``RasaException`` from the HTTP error)."""
    from rasa.utils.endpoints import ClientResponseError

    cause = error.__cause__
    return isinstance(cause, ClientResponseError) and is_unknown_answer(cause.status, cause.text)


def format_wrapper(original: Any) -> Any:
    def _action_call_format(self: Any, tracker: Any, domain: Any) -> Any:
        plan = _plan.get()
        if plan is None:
            return original(self, tracker, domain)
        return call_body(original, self, tracker, domain, plan)

    _action_call_format.__doc__ = original.__doc__
    return _action_call_format


class _Sticky:
    """The action endpoint, adding the conversation's :data:`kernel.action_events.HEADER` to the call."""

    def __init__(self, endpoint: Any, sender_id: str) -> None:
        self._endpoint = endpoint
        self._key = conversation_key(sender_id)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), HEADER: self._key}
        return await self._endpoint.request(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoint, name)


def sticky(action: Any, sender_id: str) -> Any:
    """``action`` calling its endpoint with the conversation's header (a copy: one RemoteAction's endpoint may serve
    several conversations at once)."""
    if action.action_endpoint is None:
        return action
    clone = copy.copy(action)
    clone.action_endpoint = _Sticky(action.action_endpoint, sender_id)
    return clone


def run_wrapper(original: Any) -> Any:
    from rasa.shared.exceptions import RasaException

    async def call(self: Any, plan: Plan, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        token = _plan.set(plan)
        try:
            return await original(sticky(self, tracker.sender_id), output_channel, nlg, tracker, domain)
        finally:
            _plan.reset(token)

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        if not _flag("KEFU_ACTION_EVENTS", "1"):
            return await original(self, output_channel, nlg, tracker, domain)
        plan = plan_for(tracker, _flag("KEFU_ACTION_EVENTS_CHECK", "0"))
        remember(tracker.sender_id, None)  # until this call has succeeded, the next one sends every event
        try:
            result = await call(self, plan, output_channel, nlg, tracker, domain)
        except RasaException as error:
            if plan.base is None or not asks_for_every_event(error):
                raise
            plan = Plan(new_log(), None, plan.check)
            result = await call(self, plan, output_channel, nlg, tracker, domain)
        remember(tracker.sender_id, Sent.of(plan.log, plan.events))
        return result

    run.__doc__ = original.__doc__
    return run


def install() -> None:
    """Wrap RemoteAction.run and RemoteAction._action_call_format (idempotent)."""
    global _installed, _installed_format
    from rasa.core.actions import action as rasa_action

    if _installed is not None:
        return
    original_run = rasa_action.RemoteAction.run
    original_format = rasa_action.RemoteAction._action_call_format
    rasa_action.RemoteAction._action_call_format = format_wrapper(original_format)  # type: ignore[method-assign]
    rasa_action.RemoteAction.run = run_wrapper(original_run)  # type: ignore[method-assign]
    _installed_format = original_format
    _installed = original_run
