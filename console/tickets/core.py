"""What the ticket modules share: the store (sessions, clock, configuration, per-ticket locks, row lookup and
transition records), the request errors and the checks of what an agent typed.

Lock order: every transaction that writes a ticket's messages locks the ticket row first (``get(lock=True)``
in an agent action, ``open_ticket(lock=True)`` in the events tail); console/tickets/lifecycle.py says why.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from console import queueing
from console.live import Hub, Viewer
from console.models import Agent, Ticket, Transition
from console.settings import Settings
from console.states import State
from kernel.logs import bind_conversation
from kernel.text import clean_text as strip_poison

if TYPE_CHECKING:
    from console.admin.directory import Directory

#: Every ticket module logs as this one logger (log lines and dashboards keep their name).
LOGGER = "kefu.console.tickets"
MAX_TEXT = 4000


class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class BadRequest(ValueError):
    pass


def loads(raw: Optional[str], default: Any) -> Any:
    """A stored JSON column; ``default`` when empty or unreadable."""
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def clean_text(text: Any) -> str:
    """What an agent typed, checked: a non-empty string of at most ``MAX_TEXT`` characters, without poison."""
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    text = strip_poison(text).strip()
    if not text:
        raise BadRequest("text must not be empty")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters")
    return text


def viewer_of(agent: Agent) -> Viewer:
    return Viewer(agent.id, agent.role, frozenset(t for t in agent.teams.split(",") if t))


class TicketStore:
    """The tickets' database and what every ticket job needs around it."""

    def __init__(self, settings: Settings, engine: sa.Engine, hub: Hub,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.hub = hub
        self.clock = clock
        self._locks: Dict[int, asyncio.Lock] = {}
        #: the current teams and their hours (console.admin.directory; set by TicketService)
        self.directory: Optional[Directory] = None
        #: wakes the assigner (console/routing; set by TicketService): a ticket waits, or an agent has a free place
        self.on_work: Callable[[], None] = lambda: None

    def wake_assigner(self) -> None:
        """A ticket started waiting or an agent's place came free: the assigner looks now, not at its next sweep."""
        self.on_work()

    def hours(self, team: Optional[str]) -> queueing.StaffedHours:
        """The team's staffed hours: its own (console admin), else the shop's (config ``staffed_hours``)."""
        if self.directory is not None:
            return self.directory.hours_for(team)
        return queueing.StaffedHours.from_config(self.config["staffed_hours"])

    @property
    def config(self) -> Dict[str, Any]:
        return self.settings.config

    def lock(self, ticket_id: int) -> asyncio.Lock:
        """Serialises the actions on one ticket in this process."""
        return self._locks.setdefault(ticket_id, asyncio.Lock())

    def get(self, session: Session, ticket_id: int, lock: bool = False) -> Ticket:
        """``lock``: take the ticket's row lock first (the lock order, see the module docstring)."""
        ticket = session.get(Ticket, ticket_id, with_for_update=True) if lock else session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        bind_conversation(ticket.sender_id)  # this request's log lines carry the conversation id
        return ticket

    @staticmethod
    def open_ticket(session: Session, sender_id: str, lock: bool = False) -> Optional[Ticket]:
        query = sa.select(Ticket).where(
            Ticket.sender_id == sender_id, Ticket.state.in_([State.QUEUED.value, State.ASSIGNED.value])
        ).order_by(Ticket.id.desc()).limit(1)
        return session.scalars(query.with_for_update() if lock else query).first()

    def check_scope(self, agent: Agent, ticket: Ticket) -> None:
        if not viewer_of(agent).may_see(ticket.team, ticket.assignee_id):
            raise Forbidden("this ticket belongs to another team")

    def record(self, session: Session, ticket: Ticket, from_state: str, to_state: str, action: str,
               actor: str, detail: Optional[Dict[str, Any]] = None) -> Transition:
        """Add the transition row (every state change has one) and touch the ticket."""
        now = self.clock()
        row = Transition(ticket_id=ticket.id, from_state=from_state, to_state=to_state, action=action,
                         actor=actor, team=ticket.team, detail_json=dumps(detail or {}), at=now)
        session.add(row)
        ticket.updated_at = now
        return row

    @staticmethod
    def agents(session: Session) -> Dict[int, Agent]:
        return {a.id: a for a in session.scalars(sa.select(Agent))}
