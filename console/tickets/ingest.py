"""What comes into the tickets from the bot's side: a handoff opens a ticket (the internal API, or the
``handoff_request`` slot in the events tail when the console was down), customer and bot messages join the
customer's open ticket, and CSAT ratings land on the closed one (a low one opens a follow-up for a supervisor).

Every entry is idempotent: a handoff on its ``handoff_id``, a message on its event identity
(``kernel.handoff.event_key``), so the API and the events tail can both deliver the same thing.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console import queueing
from console.customers.repeat import link_ticket
from console.leads import LeadStore
from console.leads.routing import owner_team, route_lead
from console.models import Agent, Message, Ticket
from console.search.index import index_message, index_ticket
from console.states import Action, State, next_state
from console.tickets.core import BadRequest, NotFound, TicketStore, dumps
from console.tickets.followups import follow_up_on_rating, follow_up_rating
from console.tickets.views import QueueStatus, TicketViews
from console.widget.uploads import attachment_for_event
from kernel.handoff import HandoffContext, event_key
from kernel.language import detect, resolve
from kernel.text import clean_text as strip_poison

CSAT_WINDOW_SECONDS = 24 * 3600
_DIGIT_RATING = re.compile(r"^\s*([1-5])\s*(?:分|星|stars?|points?|/\s*5)?\s*[.!。！]?\s*$", re.IGNORECASE)


def parse_rating(text: Optional[str]) -> Optional[int]:
    """A bare 1-5 answer to the rating prompt ("5", "4分", "3 stars")."""
    match = _DIGIT_RATING.match(text or "")
    return int(match.group(1)) if match else None


class TicketIngest:
    def __init__(self, store: TicketStore, views: TicketViews, leads: LeadStore) -> None:
        self.store = store
        self.views = views
        self.leads = leads

    def team_for(self, category: str) -> str:
        routing = self.store.config["routing"]
        return routing.get(category) or routing["other"]

    def _route(self, session: Session, ctx: HandoffContext) -> Tuple[str, Optional[Agent]]:
        """The ticket's team: a lead's routing rule, else the category's team; a lead whose customer had an
        earlier lead with an owner goes to that owner's team (the owner is returned as the preferred agent)."""
        team = route_lead(ctx.lead, self.store.config["presales"]["routing"]) or self.team_for(ctx.category)
        owner = None
        if ctx.lead is not None:
            owner = self.leads.previous_owner(session, ctx.sender_id, ctx.customer.id)
            if owner is not None:
                team = owner_team(team, [t for t in owner.teams.split(",") if t], self.store.settings.teams)
        return team, owner

    # -- handoffs (bot -> queued) ----------------------------------------------------------------------
    def create(self, ctx: HandoffContext, via: str = "api") -> Tuple[Dict[str, Any], bool, QueueStatus]:
        """Open a ticket for ``ctx`` (idempotent on handoff_id; attaches to the customer's open ticket)."""
        with self.store.sessions() as session:
            try:
                ticket, created = self.create_in(session, ctx, via)
                session.commit()
            except IntegrityError:  # the events tail stored the same handoff (or lead) at the same moment
                session.rollback()
                ticket, created = self.create_in(session, ctx, via)
                session.commit()
            status = self.views.queue_status_of(session, ticket)
            payload = self.views.ticket_json(session, ticket)
        if created:
            self.views.announce_created(payload)
            self.store.wake_assigner()  # an online agent with a free place gets it (console/routing)
        return payload, created, status

    def create_in(self, session: Session, ctx: HandoffContext, via: str) -> Tuple[Ticket, bool]:
        """Add the ticket to ``session`` (the caller commits, then calls ``views.announce_created``). A lead in
        the context is stored with it, in the same transaction (once per ``lead_id``), also when the customer's
        open ticket is returned instead of a new one."""
        existing = session.scalars(sa.select(Ticket).where(Ticket.handoff_id == ctx.handoff_id)).first() \
            or self.store.open_ticket(session, ctx.sender_id)
        if existing is not None:
            if ctx.lead is not None:
                self.leads.create_in(session, ctx.lead, existing, ctx.customer.id)
            return existing, False
        team, owner = self._route(session, ctx)
        now = self.store.clock()
        sentiment_label = (ctx.sentiment or {}).get("label")
        priority = ctx.priority if ctx.priority is not None else queueing.ticket_priority(
            ctx.category, ctx.customer.tier, sentiment_label, ctx.reason, self.store.config["priority"])
        ticket = Ticket(
            handoff_id=ctx.handoff_id, sender_id=ctx.sender_id, channel=ctx.channel, state=State.QUEUED.value,
            team=team, category=ctx.category, reason=ctx.reason, trigger=ctx.trigger,
            priority=priority, language=ctx.language,
            customer_json=dumps({"id": ctx.customer.id, "name": ctx.customer.name, "tier": ctx.customer.tier,
                                 "verified": ctx.customer.verified}),
            summary=ctx.summary, sentiment_json=dumps(ctx.sentiment or {}), context_json=dumps(ctx.to_dict()),
            created_at=now, updated_at=now,
        )
        session.add(ticket)
        session.flush()
        link_ticket(session, ticket, now)  # its customer, and the earlier ticket it repeats (console.customers)
        next_state(State.BOT, Action.ESCALATE)
        self.store.record(session, ticket, State.BOT.value, State.QUEUED.value, Action.ESCALATE.value, "bot",
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
            if entry.event == "user":  # a photo or file the shopper attached before the handoff (console.widget)
                attachment = attachment_for_event(session, key)
                if attachment is not None:
                    data["attachment"] = attachment
            session.add(Message(ticket_id=ticket.id, author=entry.author, text=entry.text,
                                data_json=dumps(data) if data else None, source="transcript",
                                event_key=key, created_at=entry.timestamp))
        session.flush()
        index_ticket(session, ticket)  # order numbers, phone suffix, customer id: found by search (console/search)
        if ctx.lead is not None:
            self.leads.create_in(session, ctx.lead, ticket, ctx.customer.id, owner)
        return ticket, True

    # -- events from Rasa (customer and bot messages) ---------------------------------------------------
    def attach_event(self, session: Session, sender_id: str, event: Dict[str, Any]) -> Optional[Tuple[Ticket, Message]]:
        """Add a user/bot event to the sender's open ticket (idempotent). Caller commits, then ``announce``."""
        kind = event.get("event")
        if kind not in ("user", "bot"):
            return None
        ticket = self.store.open_ticket(session, sender_id, lock=True)  # ticket row before message rows (lock order)
        text = strip_poison(str(event.get("text") or ""))  # a NUL or lone surrogate must not poison the ticket
        timestamp = float(event.get("timestamp") or self.store.clock())
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
            attachment = attachment_for_event(session, key)  # a photo or file the shopper attached (console.widget)
            if attachment is not None:
                data["attachment"] = attachment
            elif text and not text.startswith("/"):
                ticket.language = resolve(detect(text).language, ticket.language)
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
        message = Message(ticket_id=ticket.id, author=author, text=text, data_json=dumps(data) if data else None,
                          source="live", event_key=key, created_at=timestamp)
        session.add(message)
        index_message(session, ticket.id, author, text)  # an order number or phone suffix given later
        ticket.updated_at = self.store.clock()
        return ticket, message

    def _maybe_rating_reply(self, session: Session, sender_id: str, text: str, timestamp: float) -> None:
        """A WeChat customer typing "4" after the rating prompt: store it even if NLU does not route it."""
        rating = parse_rating(text)
        if rating is None:
            return
        ticket = session.scalars(sa.select(Ticket).where(Ticket.sender_id == sender_id, Ticket.state == State.CLOSED.value)
                                 .order_by(Ticket.closed_at.desc()).limit(1)).first()
        if ticket and ticket.closed_at and ticket.csat_rating is None and 0 <= timestamp - ticket.closed_at <= CSAT_WINDOW_SECONDS:
            self._rate(session, ticket, rating, timestamp)
            session.info.setdefault("updated_tickets", []).append(ticket.id)

    # -- CSAT ----------------------------------------------------------------------------------------
    def record_csat(self, sender_id: str, rating: Any, ticket_id: Optional[int] = None) -> Dict[str, Any]:
        with self.store.sessions() as session:
            ticket = self.csat_in(session, sender_id, rating, ticket_id)
            session.commit()
            self.views.announce_ticket(session, ticket)
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
        self._rate(session, ticket, rating, self.store.clock())
        return ticket

    def _rate(self, session: Session, ticket: Ticket, rating: int, at: float) -> None:
        """Store the agent CSAT; a low one (``service.follow_up_rating``) makes the ticket a follow-up for a
        supervisor (console/tickets/followups.py), in the same transaction."""
        ticket.csat_rating = rating
        ticket.csat_at = at
        ticket.updated_at = self.store.clock()
        follow_up_on_rating(session, ticket, rating, ticket.updated_at, follow_up_rating(self.store.config))
