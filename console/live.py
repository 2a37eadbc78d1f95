"""Live fan-out to browsers (SSE): one in-process hub, filtered by what each agent may see.

One console process serves the browsers; scale-out would put a PostgreSQL
LISTEN/NOTIFY or Redis channel behind ``publish``.

A stream belongs to a login session: ``end_session``/``end_agent`` close the streams of a logout or a
deactivation in this process at once (the ``END`` frame); the stream itself re-checks its session
every few seconds, which catches what another process did (``python -m console users deactivate``)
and expiry.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Optional, Set


@dataclass(frozen=True)
class Viewer:
    agent_id: int
    role: str
    teams: FrozenSet[str]

    def may_see(self, team: str, assignee_id: Optional[int]) -> bool:
        return self.role == "supervisor" or team in self.teams or assignee_id == self.agent_id


#: Put into a subscription's queue to end its stream.
END = "\x00end"


@dataclass(eq=False)
class Subscription:
    viewer: Viewer
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    session_id: str = ""


class Hub:
    def __init__(self) -> None:
        self._subs: Set[Subscription] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[int] = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop that owns the subscribers; publishes from other threads are handed to it."""
        self._loop = loop
        self._thread = threading.get_ident()

    def subscribe(self, viewer: Viewer, session_id: str = "") -> Subscription:
        sub = Subscription(viewer, session_id=session_id)
        self._subs.add(sub)
        return sub

    def _end(self, match: Callable[[Subscription], bool]) -> int:
        ended = 0
        for sub in list(self._subs):
            if match(sub):
                self._subs.discard(sub)
                try:
                    sub.queue.put_nowait(END)
                except asyncio.QueueFull:
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sub.queue.put_nowait(END)
                ended += 1
        return ended

    def end_session(self, session_id: str) -> int:
        """End the streams of one login session (logout); returns how many."""
        return self._end(lambda sub: bool(session_id) and sub.session_id == session_id)

    def end_agent(self, agent_id: int) -> int:
        """End every stream of an agent (deactivated, password changed); returns how many."""
        return self._end(lambda sub: sub.viewer.agent_id == agent_id)

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def online_agent_ids(self) -> Set[int]:
        return {s.viewer.agent_id for s in self._subs}

    def publish_to(self, event: str, payload: Dict[str, Any], wants: Callable[[Viewer], bool]) -> int:
        """Queue ``event`` for every subscriber whose viewer ``wants`` it (not about a ticket: an agent's presence)."""
        if self._loop is not None and threading.get_ident() != self._thread:
            self._loop.call_soon_threadsafe(self.publish_to, event, payload, wants)
            return 0
        frame = f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"
        sent = 0
        for sub in list(self._subs):
            if not wants(sub.viewer):
                continue
            try:
                sub.queue.put_nowait(frame)
                sent += 1
            except asyncio.QueueFull:
                # a stuck browser: drop it, it reconnects and refetches
                self._subs.discard(sub)
        return sent

    def publish(self, event: str, payload: Dict[str, Any], team: str, assignee_id: Optional[int],
                previous_team: Optional[str] = None) -> int:
        """Queue ``event`` for every subscriber allowed to see the ticket (before or after a transfer)."""
        return self.publish_to(event, payload, lambda viewer: viewer.may_see(team, assignee_id) or (
            previous_team is not None and viewer.may_see(previous_team, None)))
