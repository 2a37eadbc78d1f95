"""Action calls that carry only the events the action server has not seen yet: the protocol (issue 24, cut 8).

Rasa 3.6 sends the whole tracker with every custom action call (``RemoteAction._action_call_format``): every event
of the session, turned into dicts and JSON by Rasa and parsed again by the action server. That grows with the
conversation: at the 50th turn it was the largest part of what a turn costs more than the 2nd (4 ms of Rasa CPU, 3 ms
of the action server's; docs/results/turn-profile.md).

The call stays Rasa's (``next_action``, ``sender_id``, ``tracker``, ``domain``, ``version``) with one more field,
:data:`FIELD`:

- ``{"log": <token>}`` beside a tracker with all its events: keep these events as the conversation's log ``token``
  (a random token the Rasa side makes for each log it starts);
- ``{"log": <token>, "base": n, "events": [...]}`` with ``tracker.events`` left out: the conversation's events are
  the first ``n`` of log ``token``, then ``events`` (which the action server adds to the log).

An action server that does not hold log ``token`` for the conversation, or holds fewer than ``n`` events of it (it
restarted, it is another replica, it let the log go), answers :data:`UNKNOWN_STATUS` with :data:`UNKNOWN` in its
body, and Rasa sends the same call again with every event. In check mode the Rasa side sends every event *and* the
delta: the action server compares the two and logs ``action_events.differs`` where they disagree (the test stacks
fail on that, tests/stack.py).

Each call also carries :data:`HEADER`, a digest of the conversation id, so that a load balancer in front of several
action servers sends a conversation's calls to the one that holds its log (deploy/nginx: ``hash`` on it).

``bot.action_events`` is the Rasa side, ``actions.known_events`` the action server's. Pure Python: both
environments import it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

#: the action call's field
FIELD = "kefu_events"
#: what an action server answers when it does not hold the log a delta builds on (HTTP 409 Conflict)
UNKNOWN_STATUS = 409
#: the marker in that answer's body (``{"error": ..., "kefu_events": "unknown"}``)
UNKNOWN = "unknown"
#: the request header naming the conversation (a digest of its id: any id, ASCII, nothing personal in it)
HEADER = "X-Kefu-Conversation"
#: a log token: what the Rasa side makes (32 hex digits); anything else is refused
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


class InvalidDelta(ValueError):
    """The call's :data:`FIELD` is malformed (answered 422: no retry would help; Rasa reads a 400 as an action
    rejecting itself)."""


@dataclass(frozen=True)
class Delta:
    """What one call's :data:`FIELD` says: keep its events as log ``log``; with ``base``, they are the log's first
    ``base`` events followed by ``events``."""

    log: str
    base: Optional[int] = None
    events: Optional[List[Dict[str, Any]]] = None

    @property
    def is_delta(self) -> bool:
        return self.base is not None


def parse(value: Any) -> Delta:
    """:data:`FIELD` of a call, checked: a token of 32 hex digits, and for a delta a base of 0 or more and a list of
    event objects. Raises :class:`InvalidDelta` naming what is wrong."""
    if not isinstance(value, dict):
        raise InvalidDelta(f"{FIELD} must be an object")
    log = value.get("log")
    if not isinstance(log, str) or not _TOKEN.match(log):
        raise InvalidDelta(f"{FIELD}.log must be 32 hex digits")
    if "base" not in value and "events" not in value:
        return Delta(log)
    base, events = value.get("base"), value.get("events")
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise InvalidDelta(f"{FIELD}.base must be a whole number of events, 0 or more")
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise InvalidDelta(f"{FIELD}.events must be a list of event objects")
    return Delta(log, base, events)


def conversation_key(sender_id: str) -> str:
    """The :data:`HEADER` value of a conversation: 16 hex digits of its id's BLAKE2b digest."""
    return hashlib.blake2b(sender_id.encode("utf-8"), digest_size=8).hexdigest()


def unknown_body(sender_id: Optional[str]) -> Dict[str, Any]:
    """The body of the :data:`UNKNOWN_STATUS` answer."""
    return {"error": f"no event log for conversation {sender_id!r}: send every event", FIELD: UNKNOWN}


def is_unknown_answer(status: int, body: Any) -> bool:
    """Whether an answer (its status and body, text or bytes) is the action server asking for every event."""
    if status != UNKNOWN_STATUS or body is None:
        return False
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return f'"{FIELD}": "{UNKNOWN}"' in str(body) or f'"{FIELD}":"{UNKNOWN}"' in str(body)
