"""The ticket service: every change to tickets goes through here.

Agent actions that the customer must hear about (claim, reply, transfer,
close, hand back) are delivered through Rasa first and committed after: when
Rasa is down the request fails with nothing changed, and the agent retries.
When the customer's channel refuses delivery (WeChat's 48-hour window, an
unsubscribed user) the action still succeeds: the message is stored flagged
``delivery.delivered = false`` with the reason, and the response says
``delivered: false`` so the agent knows the customer did not get it.
Actions on one ticket are serialised by a per-ticket lock (one console
process; a conditional UPDATE guards against a second process as well).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import i18n
from bot.language import detect, resolve
from bot.logging_json import bind_conversation
from console import queueing
from console.context import HandoffContext, event_key
from console.live import Hub, Viewer
from console.models import Agent, Message, Note, Ticket, Transition
from console.rasa_client import DeliveryRefused, RasaClient
from console.settings import Settings
from console.states import Action, InvalidTransition, State, is_open, next_state
from kernel.text import clean_text as strip_poison

log = logging.getLogger("kefu.console.tickets")

MAX_TEXT = 4000
CSAT_WINDOW_SECONDS = 24 * 3600
_DIGIT_RATING = re.compile(r"^\s*([1-5])\s*(?:分|星|stars?|points?|/\s*5)?\s*[.!。！]?\s*$", re.IGNORECASE)



def listen_event(timestamp: float) -> Dict[str, Any]:
    """``action_listen`` after the bot resumes: while paused Rasa logged the customer's messages
    without listening, and its policies only predict for a user turn that follows a listen."""
    return {"event": "action", "name": "action_listen", "timestamp": timestamp + 0.001}

class NotFound(LookupError):
    pass


class Forbidden(PermissionError):
    pass


class BadRequest(ValueError):
    pass


@dataclass(frozen=True)
class QueueStatus:
    ticket_id: Optional[int]
    state: Optional[str]
    team: Optional[str]
    position: int
    eta_seconds: int
    staffed: bool
    opens_at: Optional[float]
    timezone: str = "UTC"

    def to_json(self) -> Dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "state": self.state,
            "team": self.team,
            "position": self.position,
            "eta_seconds": self.eta_seconds,
            "staffed": self.staffed,
            "opens_at": queueing.iso(self.opens_at) if not self.staffed else None,
            "opens_at_local": queueing.local_time(self.opens_at, self.timezone) if not self.staffed else None,
        }


def viewer_of(agent: Agent) -> Viewer:
    return Viewer(agent.id, agent.role, frozenset(t for t in agent.teams.split(",") if t))


def _loads(raw: Optional[str], default: Any) -> Any:
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_rating(text: Optional[str]) -> Optional[int]:
    """A bare 1-5 answer to the rating prompt ("5", "4分", "3 stars")."""
    match = _DIGIT_RATING.match(text or "")
    return int(match.group(1)) if match else None


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was chosen as the victim
# and may simply run again
_TRANSIENT_SQLSTATES = {"40P01", "40001"}


def _transient(error: DBAPIError) -> bool:
    return getattr(error.orig, "pgcode", None) in _TRANSIENT_SQLSTATES


class TicketService:
    def __init__(self, settings: Settings, engine: sa.Engine, rasa: RasaClient, hub: Hub,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.rasa = rasa
        self.hub = hub
        self.clock = clock
        self.staffed = queueing.StaffedHours.from_config(settings.config["staffed_hours"])
        self._locks: Dict[int, asyncio.Lock] = {}

    # -- helpers -------------------------------------------------------------------------------
    @property
    def _cfg(self) -> Dict[str, Any]:
        return self.settings.config

    def _lock(self, ticket_id: int) -> asyncio.Lock:
        return self._locks.setdefault(ticket_id, asyncio.Lock())

    def team_for(self, category: str) -> str:
        return self._cfg["routing"].get(category) or self._cfg["routing"]["other"]

    def _get(self, session: Session, ticket_id: int, lock: bool = False) -> Ticket:
        """``lock``: take the ticket's row lock first (see ``_commit`` on the lock order)."""
        ticket = session.get(Ticket, ticket_id, with_for_update=True) if lock else session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} does not exist")
        bind_conversation(ticket.sender_id)  # this request's log lines carry the conversation id
        return ticket

    def _check_scope(self, agent: Agent, ticket: Ticket) -> None:
        if not viewer_of(agent).may_see(ticket.team, ticket.assignee_id):
            raise Forbidden("this ticket belongs to another team")

    def _record(self, session: Session, ticket: Ticket, from_state: str, to_state: str, action: str,
                actor: str, detail: Optional[Dict[str, Any]] = None) -> Transition:
        now = self.clock()
        row = Transition(ticket_id=ticket.id, from_state=from_state, to_state=to_state, action=action,
                         actor=actor, team=ticket.team, detail_json=_dumps(detail or {}), at=now)
        session.add(row)
        ticket.updated_at = now
        return row

    # -- serialisation -------------------------------------------------------------------------
    def agent_json(self, agent: Optional[Agent]) -> Optional[Dict[str, Any]]:
        if agent is None:
            return None
        return {"id": agent.id, "username": agent.username, "display_name": agent.display_name,
                "role": agent.role, "teams": [t for t in agent.teams.split(",") if t]}

    def message_json(self, message: Message, agents: Dict[int, Agent]) -> Dict[str, Any]:
        agent = agents.get(message.agent_id) if message.agent_id else None
        data = _loads(message.data_json, None)
        delivery = data.get("delivery") if isinstance(data, dict) and isinstance(data.get("delivery"), dict) else None
        return {
            "id": message.id, "ticket_id": message.ticket_id, "author": message.author,
            "agent": {"id": agent.id, "display_name": agent.display_name} if agent else None,
            "text": message.text, "data": data, "source": message.source,
            "created_at": queueing.iso(message.created_at),
            "delivered": not (delivery and delivery.get("delivered") is False),
            "delivery": delivery,
        }

    def note_json(self, note: Note, agents: Dict[int, Agent]) -> Dict[str, Any]:
        agent = agents.get(note.agent_id)
        return {"id": note.id, "ticket_id": note.ticket_id,
                "agent": {"id": agent.id, "display_name": agent.display_name} if agent else None,
                "text": note.text, "created_at": queueing.iso(note.created_at)}

    @staticmethod
    def transition_json(row: Transition) -> Dict[str, Any]:
        return {"id": row.id, "from": row.from_state, "to": row.to_state, "action": row.action, "actor": row.actor,
                "team": row.team, "detail": _loads(row.detail_json, {}), "at": queueing.iso(row.at)}

    def _agents(self, session: Session) -> Dict[int, Agent]:
        return {a.id: a for a in session.scalars(sa.select(Agent))}

    def ticket_json(self, session: Session, ticket: Ticket, agents: Optional[Dict[int, Agent]] = None) -> Dict[str, Any]:
        agents = agents if agents is not None else self._agents(session)
        now = self.clock()
        sla_cfg = self._cfg["sla"]
        sla = queueing.sla_status(ticket.category, ticket.created_at, ticket.first_response_at, ticket.closed_at, now,
                                  sla_cfg["first_response_seconds"], sla_cfg["complaint_resolve_seconds"])
        last = session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        ).first()
        count = session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.ticket_id == ticket.id))
        assignee = agents.get(ticket.assignee_id) if ticket.assignee_id else None
        waited = (ticket.assigned_at or ticket.closed_at or now) - ticket.created_at
        return {
            "id": ticket.id, "sender_id": ticket.sender_id, "channel": ticket.channel, "state": ticket.state,
            "team": ticket.team, "category": ticket.category, "reason": ticket.reason, "trigger": ticket.trigger,
            "priority": ticket.priority,
            "effective_priority": queueing.effective_priority(
                ticket.priority, waited if ticket.state == State.QUEUED.value else 0,
                self._cfg["priority"].get("aging_per_minute", 1)),
            "language": ticket.language,
            "customer": _loads(ticket.customer_json, {}),
            "assignee": ({"id": assignee.id, "username": assignee.username, "display_name": assignee.display_name}
                         if assignee else None),
            "summary": ticket.summary, "sentiment": _loads(ticket.sentiment_json, {}),
            "created_at": queueing.iso(ticket.created_at), "updated_at": queueing.iso(ticket.updated_at),
            "assigned_at": queueing.iso(ticket.assigned_at), "first_response_at": queueing.iso(ticket.first_response_at),
            "closed_at": queueing.iso(ticket.closed_at), "resolution": ticket.resolution,
            "csat": {"rating": ticket.csat_rating, "at": queueing.iso(ticket.csat_at)} if ticket.csat_rating else None,
            "last_message": ({"author": last.author, "text": last.text, "created_at": queueing.iso(last.created_at)}
                             if last else None),
            "message_count": int(count or 0),
            "sla": {
                "waiting_seconds": sla.waiting_seconds,
                "first_response_due": queueing.iso(sla.first_response_due),
                "first_response_overdue": sla.first_response_overdue,
                "resolve_due": queueing.iso(sla.resolve_due),
                "resolve_overdue": sla.resolve_overdue,
            },
        }

    def detail_json(self, session: Session, ticket: Ticket) -> Dict[str, Any]:
        agents = self._agents(session)
        out = self.ticket_json(session, ticket, agents)
        out["context"] = _loads(ticket.context_json, {})
        out["messages"] = [self.message_json(m, agents) for m in session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at, Message.id))]
        out["notes"] = [self.note_json(n, agents) for n in session.scalars(
            sa.select(Note).where(Note.ticket_id == ticket.id).order_by(Note.created_at, Note.id))]
        out["transitions"] = [self.transition_json(t) for t in session.scalars(
            sa.select(Transition).where(Transition.ticket_id == ticket.id).order_by(Transition.at, Transition.id))]
        return out

    # -- queue -------------------------------------------------------------------------------------
    def _queue_items(self, session: Session, team: str) -> List[queueing.QueueItem]:
        rows = session.execute(sa.select(Ticket.id, Ticket.priority, Ticket.created_at)
                               .where(Ticket.state == State.QUEUED.value, Ticket.team == team))
        return [queueing.QueueItem(r.id, r.priority, r.created_at) for r in rows]

    def _agents_online(self, session: Session, team: str) -> int:
        now = self.clock()
        window = self._cfg["eta"].get("online_window_seconds", 120)
        online = self.hub.online_agent_ids()
        count = 0
        for agent in session.scalars(sa.select(Agent).where(Agent.active.is_(True))):
            teams = agent.teams.split(",")
            if team not in teams and agent.role != "supervisor":
                continue
            if agent.id in online or (agent.last_seen_at and now - agent.last_seen_at <= window):
                count += 1
        return count

    def _recent_waits(self, session: Session, team: str) -> List[float]:
        limit = int(self._cfg["eta"].get("history_tickets", 30))
        rows = session.execute(sa.select(Ticket.created_at, Ticket.assigned_at)
                               .where(Ticket.team == team, Ticket.assigned_at.is_not(None))
                               .order_by(Ticket.assigned_at.desc()).limit(limit))
        return [r.assigned_at - r.created_at for r in rows]

    def queue_status_of(self, session: Session, ticket: Optional[Ticket]) -> QueueStatus:
        now = self.clock()
        staffed = self.staffed.is_staffed(now)
        opens_at = None if staffed else self.staffed.next_open(now)
        if ticket is None:
            return QueueStatus(None, None, None, 0, 0, staffed, opens_at, self.staffed.tz)
        position = 0
        eta = 0
        if ticket.state == State.QUEUED.value:
            aging = self._cfg["priority"].get("aging_per_minute", 1)
            position = queueing.queue_position(ticket.id, self._queue_items(session, ticket.team), now, aging)
            eta = queueing.expected_wait_seconds(position, self._recent_waits(session, ticket.team),
                                                 self._agents_online(session, ticket.team),
                                                 float(self._cfg["eta"].get("default_wait_seconds", 120)))
            if not staffed and opens_at:
                eta += int(opens_at - now)
        return QueueStatus(ticket.id, ticket.state, ticket.team, position, eta, staffed, opens_at, self.staffed.tz)

    def queue_status(self, sender_id: str) -> QueueStatus:
        with self.sessions() as session:
            ticket = self.open_ticket(session, sender_id)
            return self.queue_status_of(session, ticket)

    @staticmethod
    def open_ticket(session: Session, sender_id: str, lock: bool = False) -> Optional[Ticket]:
        query = sa.select(Ticket).where(
            Ticket.sender_id == sender_id, Ticket.state.in_([State.QUEUED.value, State.ASSIGNED.value])
        ).order_by(Ticket.id.desc()).limit(1)
        return session.scalars(query.with_for_update() if lock else query).first()

    # -- creation (bot -> queued) ---------------------------------------------------------------
    def create(self, ctx: HandoffContext, via: str = "api") -> Tuple[Dict[str, Any], bool, QueueStatus]:
        """Open a ticket for ``ctx`` (idempotent on handoff_id; attaches to the customer's open ticket)."""
        with self.sessions() as session:
            try:
                ticket, created = self.create_in(session, ctx, via)
                session.commit()
            except IntegrityError:
                session.rollback()
                ticket = session.scalars(sa.select(Ticket).where(Ticket.handoff_id == ctx.handoff_id)).one()
                created = False
            status = self.queue_status_of(session, ticket)
            payload = self.ticket_json(session, ticket)
        if created:
            self.announce_created(payload)
        return payload, created, status

    def announce_created(self, payload: Dict[str, Any]) -> None:
        log.info("ticket %s created: reason=%s", payload["id"], payload["reason"])
        self.hub.publish("ticket.created", {"ticket": payload}, payload["team"], None)

    def create_in(self, session: Session, ctx: HandoffContext, via: str) -> Tuple[Ticket, bool]:
        """Add the ticket to ``session`` (the caller commits, then calls ``announce_created``)."""
        existing = session.scalars(sa.select(Ticket).where(Ticket.handoff_id == ctx.handoff_id)).first() \
            or self.open_ticket(session, ctx.sender_id)
        if existing is not None:
            return existing, False
        now = self.clock()
        sentiment_label = (ctx.sentiment or {}).get("label")
        priority = ctx.priority if ctx.priority is not None else queueing.ticket_priority(
            ctx.category, ctx.customer.tier, sentiment_label, ctx.reason, self._cfg["priority"])
        ticket = Ticket(
            handoff_id=ctx.handoff_id, sender_id=ctx.sender_id, channel=ctx.channel, state=State.QUEUED.value,
            team=self.team_for(ctx.category), category=ctx.category, reason=ctx.reason, trigger=ctx.trigger,
            priority=priority, language=ctx.language,
            customer_json=_dumps({"id": ctx.customer.id, "name": ctx.customer.name, "tier": ctx.customer.tier,
                                  "verified": ctx.customer.verified}),
            summary=ctx.summary, sentiment_json=_dumps(ctx.sentiment or {}), context_json=_dumps(ctx.to_dict()),
            created_at=now, updated_at=now,
        )
        session.add(ticket)
        session.flush()
        next_state(State.BOT, Action.ESCALATE)
        self._record(session, ticket, State.BOT.value, State.QUEUED.value, Action.ESCALATE.value, "bot",
                     {"reason": ctx.reason, "trigger": ctx.trigger, "via": via})
        seen = set()
        for entry in ctx.transcript:
            key = event_key(ctx.sender_id, entry.event, entry.timestamp, entry.text)
            if key in seen:
                continue
            seen.add(key)
            data = dict(entry.data or {})
            if entry.intent:
                data["intent"] = {"name": entry.intent, "confidence": entry.confidence}
            session.add(Message(ticket_id=ticket.id, author=entry.author, text=entry.text,
                                data_json=_dumps(data) if data else None, source="transcript",
                                event_key=key, created_at=entry.timestamp))
        session.flush()
        return ticket, True

    # -- events from Rasa (customer and bot messages) ---------------------------------------------
    def attach_event(self, session: Session, sender_id: str, event: Dict[str, Any]) -> Optional[Tuple[Ticket, Message]]:
        """Add a user/bot event to the sender's open ticket (idempotent). Caller commits, then ``announce``."""
        kind = event.get("event")
        if kind not in ("user", "bot"):
            return None
        ticket = self.open_ticket(session, sender_id, lock=True)  # ticket row before message rows: see _commit
        text = strip_poison(str(event.get("text") or ""))  # a NUL or lone surrogate must not poison the ticket
        timestamp = float(event.get("timestamp") or self.clock())
        if ticket is None:
            if kind == "user":
                self._maybe_rating_reply(session, sender_id, text, timestamp)
            return None
        key = event_key(sender_id, kind, timestamp, event.get("text"))
        exists = session.scalar(sa.select(Message.id).where(Message.ticket_id == ticket.id, Message.event_key == key))
        if exists:
            return None
        if kind == "user":
            author = "customer"
            data: Dict[str, Any] = {}
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if intent.get("name"):
                data["intent"] = {"name": intent.get("name"), "confidence": intent.get("confidence")}
            ticket.language = resolve(detect(text).language, ticket.language) if text and not text.startswith("/") else ticket.language
        else:
            data = dict(event.get("data") or {})
            data = {k: v for k, v in data.items() if v not in (None, [], {})}
            kefu_event = ((data.get("custom") or {}) if isinstance(data.get("custom"), dict) else {}).get("kefu_event")
            if isinstance(kefu_event, dict) and kefu_event.get("type") == "agent_message":
                author = "agent"
            elif isinstance(kefu_event, dict):
                author = "system"
            else:
                author = "bot"
        message = Message(ticket_id=ticket.id, author=author, text=text, data_json=_dumps(data) if data else None,
                          source="live", event_key=key, created_at=timestamp)
        session.add(message)
        ticket.updated_at = self.clock()
        return ticket, message

    def _maybe_rating_reply(self, session: Session, sender_id: str, text: str, timestamp: float) -> None:
        """A WeChat customer typing "4" after the rating prompt: store it even if NLU does not route it."""
        rating = parse_rating(text)
        if rating is None:
            return
        ticket = session.scalars(sa.select(Ticket).where(Ticket.sender_id == sender_id, Ticket.state == State.CLOSED.value)
                                 .order_by(Ticket.closed_at.desc()).limit(1)).first()
        if ticket and ticket.closed_at and ticket.csat_rating is None and 0 <= timestamp - ticket.closed_at <= CSAT_WINDOW_SECONDS:
            ticket.csat_rating = rating
            ticket.csat_at = timestamp
            ticket.updated_at = self.clock()
            session.info.setdefault("updated_tickets", []).append(ticket.id)

    def announce_message(self, session: Session, ticket: Ticket, message: Message) -> None:
        agents = self._agents(session)
        payload = {"ticket_id": ticket.id, "message": self.message_json(message, agents),
                   "ticket": self.ticket_json(session, ticket, agents)}
        self.hub.publish("message.created", payload, ticket.team, ticket.assignee_id)

    def announce_ticket(self, session: Session, ticket: Ticket, transition: Optional[Transition] = None,
                        previous_team: Optional[str] = None) -> Dict[str, Any]:
        payload = self.ticket_json(session, ticket)
        self.hub.publish("ticket.updated",
                         {"ticket": payload, "transition": self.transition_json(transition) if transition else None},
                         ticket.team, ticket.assignee_id, previous_team=previous_team)
        return payload

    # -- agent actions -------------------------------------------------------------------------------
    def _bot_event(self, ticket: Ticket, text: str, kefu_event: Dict[str, Any], agent: Optional[Agent] = None,
                   buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
        data: Dict[str, Any] = {"custom": {"kefu_event": kefu_event}}
        if buttons:
            data["buttons"] = buttons
        metadata: Dict[str, Any] = {"kefu_ticket_id": ticket.id}
        if agent is not None:
            metadata["kefu_agent"] = agent.display_name
        return {"event": "bot", "text": text, "data": data, "metadata": metadata, "timestamp": self.clock()}

    def _channel(self, ticket: Ticket) -> str:
        return ticket.channel or "latest"

    def _team_name(self, team: str, language: str) -> str:
        for item in self._cfg["teams"]:
            if item["id"] == team:
                names = item["name"]
                return names.get(language) or names.get("zh-Hans") or team
        return team

    # Each action: check (read) -> deliver through Rasa -> apply in a short transaction. Rasa's broker
    # echoes what was delivered and the events tail may store that echo first: the apply step then
    # updates the echoed row (same event identity) instead of inserting, and a lost race is retried.
    # Lock order: every transaction that writes a ticket's messages locks the ticket row first (the
    # apply step through ``_get(lock=True)``, the tail through ``open_ticket(lock=True)``). Without it
    # the tail (INSERT echo, then UPDATE ticket) and an action (UPDATE ticket, then INSERT the same
    # message) deadlocked on PostgreSQL and the agent got a 500. A deadlock or serialisation failure
    # that still happens (another writer) is retried like a lost race.
    def _checked(self, agent: Agent, ticket_id: int, action: Action) -> Ticket:
        with self.sessions() as session:
            ticket = self._get(session, ticket_id)
            self._check_scope(agent, ticket)
            next_state(ticket.state, action)
            return ticket

    def _commit(self, apply: Callable[[Session], Callable[[Session], Any]]) -> Any:
        error: Optional[Exception] = None
        for _attempt in range(3):
            with self.sessions() as session:
                try:
                    after = apply(session)
                    session.commit()
                except DBAPIError as caught:
                    if not isinstance(caught, IntegrityError) and not _transient(caught):
                        raise
                    session.rollback()
                    log.warning("ticket transaction retried: %s", type(getattr(caught, "orig", caught)).__name__)
                    error = caught
                    continue
                return after(session)
        raise error if error else RuntimeError("commit failed")

    async def _deliver(self, ticket: Ticket, events: List[Dict[str, Any]]) -> Optional[DeliveryRefused]:
        """Append ``events`` through Rasa (delivering the bot messages). A refused delivery is returned, not
        raised, and the action goes on; when Rasa did not save the events (plain Rasa drops them when an
        output channel raises), the state events (resume, slots, listen) are appended again without
        side effects, so the conversation's state still follows the ticket."""
        try:
            await self.rasa.append_events(ticket.sender_id, events, self._channel(ticket))
            return None
        except DeliveryRefused as refused:
            state = [e for e in events if e.get("event") != "bot"]
            if state and not refused.event_saved:
                await self.rasa.append_events(ticket.sender_id, state, self._channel(ticket),
                                              execute_side_effects=False)
            log.warning("ticket %s: message not delivered (errcode %s)", ticket.id, refused.errcode)
            return refused

    @staticmethod
    def _delivery(refused: Optional[DeliveryRefused]) -> Dict[str, Any]:
        return {"delivered": refused is None, "delivery": refused.to_json() if refused else None}

    def _store_sent(self, session: Session, ticket: Ticket, event: Dict[str, Any], author: str,
                    agent: Optional[Agent], refused: Optional[DeliveryRefused] = None) -> Message:
        key = event_key(ticket.sender_id, "bot", event["timestamp"], event["text"])
        message = session.scalars(sa.select(Message).where(Message.ticket_id == ticket.id,
                                                           Message.event_key == key)).first()
        if message is None:
            message = Message(ticket_id=ticket.id, event_key=key, source="live", created_at=event["timestamp"])
            session.add(message)
        message.author = author
        message.agent_id = agent.id if agent else None
        message.text = event["text"]
        data = dict(event["data"])
        if refused is not None:
            data["delivery"] = refused.to_json()
        message.data_json = _dumps(data)
        session.flush()
        return message

    async def claim(self, agent: Agent, ticket_id: int) -> Dict[str, Any]:
        async with self._lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.CLAIM)
            event = self._bot_event(ticket, i18n.text("msg_handoff_agent_joined", ticket.language,
                                                      agent=agent.display_name),
                                    {"type": "agent_joined", "agent": agent.display_name}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = self._get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.CLAIM)
                from_state = current.state
                current.state, current.assignee_id, current.assigned_at = to_state.value, agent.id, self.clock()
                row = self._record(session, current, from_state, to_state.value, Action.CLAIM.value,
                                   f"agent:{agent.username}")
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (self.announce_ticket(s, current, row),
                                  {**self.detail_json(s, current), **self._delivery(refused)})[1]

            return self._commit(apply)

    async def reply(self, agent: Agent, ticket_id: int, text: str) -> Dict[str, Any]:
        text = clean_text(text)
        async with self._lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.REPLY)
            if ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can reply")
            event = self._bot_event(ticket, text, {"type": "agent_message", "agent": agent.display_name}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = self._get(session, ticket_id, lock=True)
                if current.first_response_at is None:
                    current.first_response_at = event["timestamp"]
                current.updated_at = self.clock()
                message = self._store_sent(session, current, event, "agent", agent, refused)

                def after(s: Session) -> Dict[str, Any]:
                    self.announce_message(s, current, message)
                    return {"message": self.message_json(message, self._agents(s)), **self._delivery(refused)}
                return after

            return self._commit(apply)

    def add_note(self, agent: Agent, ticket_id: int, text: str) -> Dict[str, Any]:
        text = clean_text(text)
        with self.sessions() as session:
            ticket = self._get(session, ticket_id)
            self._check_scope(agent, ticket)
            note = Note(ticket_id=ticket.id, agent_id=agent.id, text=text, created_at=self.clock())
            session.add(note)
            session.commit()
            payload = {"ticket_id": ticket.id, "note": self.note_json(note, {agent.id: agent})}
            self.hub.publish("note.created", payload, ticket.team, ticket.assignee_id)
            return {"note": payload["note"]}

    async def transfer(self, agent: Agent, ticket_id: int, team: str, note: Optional[str]) -> Dict[str, Any]:
        if team not in self.settings.teams:
            raise BadRequest(f"team must be one of {', '.join(self.settings.teams)}")
        note = clean_text(note) if note else None
        async with self._lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.TRANSFER)
            if team == ticket.team:
                raise BadRequest("the ticket is already in that team")
            team_label = self._team_name(team, ticket.language)  # the customer sees words, never the team id
            event = self._bot_event(ticket, i18n.text("msg_handoff_transferred", ticket.language, team=team_label),
                                    {"type": "transferred", "team": team, "team_label": team_label}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = self._get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.TRANSFER)
                previous_team, from_state = current.team, current.state
                current.team, current.state, current.assignee_id, current.assigned_at = team, to_state.value, None, None
                row = self._record(session, current, from_state, to_state.value, Action.TRANSFER.value,
                                   f"agent:{agent.username}", {"from_team": previous_team, "to_team": team})
                if note:
                    session.add(Note(ticket_id=current.id, agent_id=agent.id, text=note, created_at=self.clock()))
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (self.announce_ticket(s, current, row, previous_team=previous_team),
                                  {**self.detail_json(s, current), **self._delivery(refused)})[1]

            return self._commit(apply)

    async def close(self, agent: Agent, ticket_id: int, resolution: str) -> Dict[str, Any]:
        if resolution not in self.settings.resolutions:
            raise BadRequest(f"resolution must be one of {', '.join(self.settings.resolutions)}")
        async with self._lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.CLOSE)
            if ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can close it")
            event = self._bot_event(
                ticket, i18n.text("msg_handoff_closed_csat", ticket.language),
                {"type": "handoff_closed", "ticket_id": ticket.id, "csat": True}, agent,
                buttons=i18n.buttons("msg_handoff_closed_csat", ticket.language))
            events = [{"event": "resume", "timestamp": event["timestamp"] - 0.001}, event,
                      {"event": "slot", "name": "csat_ticket", "value": str(ticket.id), "timestamp": event["timestamp"]},
                      listen_event(event["timestamp"])]
            refused = await self._deliver(ticket, events)

            def apply(session: Session) -> Callable[[Session], Any]:
                current = self._get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.CLOSE)
                from_state = current.state
                current.state, current.closed_at, current.resolution = to_state.value, self.clock(), resolution
                row = self._record(session, current, from_state, to_state.value, Action.CLOSE.value,
                                   f"agent:{agent.username}", {"resolution": resolution})
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (self.announce_ticket(s, current, row),
                                  {**self.detail_json(s, current), **self._delivery(refused)})[1]

            return self._commit(apply)

    async def return_to_bot(self, agent: Agent, ticket_id: int, note: Optional[str]) -> Dict[str, Any]:
        note = clean_text(note) if note else None
        async with self._lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.RETURN)
            if ticket.state == State.ASSIGNED.value and ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can hand it back")
            event = self._bot_event(ticket, i18n.text("msg_handoff_returned", ticket.language),
                                    {"type": "returned_to_bot"}, agent)
            events = [{"event": "resume", "timestamp": event["timestamp"] - 0.001}, event, listen_event(event["timestamp"])]
            refused = await self._deliver(ticket, events)

            def apply(session: Session) -> Callable[[Session], Any]:
                current = self._get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.RETURN)
                from_state, now = current.state, self.clock()
                current.state, current.closed_at = to_state.value, now
                row = self._record(session, current, from_state, to_state.value, Action.RETURN.value,
                                   f"agent:{agent.username}", {"note": note} if note else {})
                if note:
                    session.add(Note(ticket_id=current.id, agent_id=agent.id, text=note, created_at=now))
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (self.announce_ticket(s, current, row),
                                  {**self.detail_json(s, current), **self._delivery(refused)})[1]

            return self._commit(apply)

    def record_csat(self, sender_id: str, rating: Any, ticket_id: Optional[int] = None) -> Dict[str, Any]:
        with self.sessions() as session:
            ticket = self.csat_in(session, sender_id, rating, ticket_id)
            session.commit()
            self.announce_ticket(session, ticket)
            return {"ticket_id": ticket.id, "rating": ticket.csat_rating}

    def csat_in(self, session: Session, sender_id: str, rating: Any, ticket_id: Optional[int] = None) -> Ticket:
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise BadRequest("rating must be an integer from 1 to 5")
        query = sa.select(Ticket).where(Ticket.sender_id == sender_id, Ticket.state == State.CLOSED.value)
        if ticket_id is not None:
            query = query.where(Ticket.id == ticket_id)
        ticket = session.scalars(query.order_by(Ticket.closed_at.desc()).limit(1)).first()
        if ticket is None:
            raise NotFound("this customer has no closed ticket to rate")
        ticket.csat_rating = rating
        ticket.csat_at = self.clock()
        ticket.updated_at = ticket.csat_at
        return ticket

    # -- queries -------------------------------------------------------------------------------------
    def list_tickets(self, agent: Agent, state: str = "open", team: Optional[str] = None, mine: bool = False,
                     limit: int = 200) -> List[Dict[str, Any]]:
        states = {"open": [State.QUEUED.value, State.ASSIGNED.value], "all": [s.value for s in State if s != State.BOT]}
        wanted = states.get(state) or ([state] if state in {s.value for s in State} - {"bot"} else None)
        if wanted is None:
            raise BadRequest("state must be open, all, queued, assigned, closed or returned_to_bot")
        with self.sessions() as session:
            query = sa.select(Ticket).where(Ticket.state.in_(wanted))
            if team:
                query = query.where(Ticket.team == team)
            if mine:
                query = query.where(Ticket.assignee_id == agent.id)
            if agent.role != "supervisor":
                teams = [t for t in agent.teams.split(",") if t]
                query = query.where(sa.or_(Ticket.team.in_(teams), Ticket.assignee_id == agent.id))
            query = query.order_by(Ticket.id.desc()).limit(max(1, min(500, limit)))
            agents = self._agents(session)
            items = [self.ticket_json(session, t, agents) for t in session.scalars(query)]
        rank = {State.QUEUED.value: 0, State.ASSIGNED.value: 1}
        items.sort(key=lambda t: (rank.get(t["state"], 2), -t["effective_priority"] if t["state"] == "queued" else 0,
                                  t["created_at"] if t["state"] in rank else "", -t["id"] if t["state"] not in rank else 0))
        return items

    def get_detail(self, agent: Agent, ticket_id: int) -> Dict[str, Any]:
        with self.sessions() as session:
            ticket = self._get(session, ticket_id)
            self._check_scope(agent, ticket)
            return self.detail_json(session, ticket)


def clean_text(text: Any) -> str:
    if not isinstance(text, str):
        raise BadRequest("text must be a string")
    text = strip_poison(text).strip()
    if not text:
        raise BadRequest("text must not be empty")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters")
    return text


__all__ = ["TicketService", "NotFound", "Forbidden", "BadRequest", "InvalidTransition", "QueueStatus", "is_open",
           "parse_rating", "clean_text", "viewer_of"]
