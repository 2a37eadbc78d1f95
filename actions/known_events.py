"""The action server's side of action calls that carry only new events (kernel/action_events.py, issue 24 cut 8).

:class:`KnownEvents` keeps, per conversation, the events Rasa has sent (the log under the token Rasa made for it) and
turns each call back into the call Rasa 3.6 would have made, a tracker with every event, before any action sees it:
the actions read ``tracker.events`` as before (the handoff attaches the whole transcript, the escalation counts
the conversation's signals). What it keeps is bounded by :data:`BUDGET` events over all conversations
(``KEFU_ACTION_EVENTS_BUDGET``; 0 keeps none, so every delta is answered "send every event"), the conversations used
least recently let go first. A conversation is served by one action call at a time (Rasa's lock), and this runs on
the server's event loop without awaiting, so a call sees a log no other call is changing.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from kernel.action_events import FIELD, Delta, InvalidDelta, parse

logger = logging.getLogger(__name__)

#: events kept over all conversations (about 1.9 KB each as Python objects, measured on a demo conversation)
BUDGET = int(os.environ.get("KEFU_ACTION_EVENTS_BUDGET", "") or 50_000)


class EventsUnknown(Exception):
    """A delta builds on a log this server does not hold: Rasa is asked for every event (HTTP 409)."""

    def __init__(self, sender_id: Optional[str]) -> None:
        super().__init__(f"no event log for conversation {sender_id!r}")
        self.sender_id = sender_id


@dataclass
class Log:
    token: str
    events: List[Dict[str, Any]]


class KnownEvents:
    """Conversations' event logs, least recently used first, at most ``budget`` events in all."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._logs: OrderedDict[str, Log] = OrderedDict()
        self._total = 0

    def __len__(self) -> int:
        return len(self._logs)

    @property
    def total(self) -> int:
        """Events kept, over all conversations."""
        return self._total

    def resolve(self, call: Dict[str, Any]) -> Optional[str]:
        """Give ``call``'s tracker every event of the conversation, from its :data:`FIELD` (removed) and the log it
        names, and keep them; returns ``"full"`` or ``"delta"`` (how the events came). A call without the field is
        left as it is (None). Raises :class:`InvalidDelta` for a malformed field and :class:`EventsUnknown` when the
        log a delta builds on is not held."""
        if FIELD not in call:
            return None
        delta = parse(call.pop(FIELD))
        tracker = call.get("tracker")
        if not isinstance(tracker, dict):
            raise InvalidDelta(f"{FIELD} needs the call's tracker")
        sender_id = tracker.get("sender_id")
        if not isinstance(sender_id, str) or not sender_id:
            raise InvalidDelta(f"{FIELD} needs the tracker's sender_id")
        sent = tracker.get("events")
        if sent is not None and not (isinstance(sent, list) and all(isinstance(e, dict) for e in sent)):
            raise InvalidDelta("tracker.events must be a list of event objects")
        if not delta.is_delta:
            if sent is None:
                raise InvalidDelta(f"{FIELD} without a delta needs the tracker's events")
            events = sent
        else:
            events = self._expanded(sender_id, delta, sent)
        self._keep(sender_id, Log(delta.log, events))
        tracker["events"] = list(events)  # the actions get a list of their own: the log is not theirs to change
        return "delta" if delta.is_delta else "full"

    def _expanded(self, sender_id: str, delta: Delta, sent: Optional[List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
        log = self._logs.get(sender_id)
        if log is None or log.token != delta.log or delta.base > len(log.events):
            if sent is None:
                raise EventsUnknown(sender_id)
            return sent  # check mode: every event came too
        events = log.events[: delta.base] + delta.events
        if sent is not None and sent != events:
            logger.error("action_events.differs conversation_id=%s in=%s", sender_id, first_difference(events, sent))
            return sent
        return events

    def _keep(self, sender_id: str, log: Log) -> None:
        old = self._logs.pop(sender_id, None)
        if old is not None:
            self._total -= len(old.events)
        if len(log.events) > self.budget:
            return
        self._logs[sender_id] = log
        self._total += len(log.events)
        while self._total > self.budget:
            _, evicted = self._logs.popitem(last=False)
            self._total -= len(evicted.events)


def first_difference(ours: List[Dict[str, Any]], theirs: List[Dict[str, Any]]) -> str:
    """Where two event lists first differ: the index, the lengths and the differing fields."""
    for index in range(max(len(ours), len(theirs))):
        a = ours[index] if index < len(ours) else {}
        b = theirs[index] if index < len(theirs) else {}
        if a != b:
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            return f"events[{index}] of {len(ours)}/{len(theirs)}: {fields}"
    return "none"


#: the server's logs (one per process; actions.server)
KNOWN = KnownEvents()
