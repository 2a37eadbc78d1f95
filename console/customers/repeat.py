"""Repeat contacts: a ticket opened for a customer (or, unverified, a conversation) who had a ticket about the
same topic in the last 7 days is flagged with that earlier ticket and offered to its agent.

Same topic: the same category (presales, complaint, after-sales, other); when both tickets name an order
(the ``order_id`` slot of their contexts) it must be the same order. The earlier ticket's agent is offered the
repeat (``preferred_agent`` of the ticket) when they are active and work in the new ticket's team: the queue
card and the context panel say so, and the ticket stays in the team's queue for whoever is free.

Written in the ticket's own transaction (``console.tickets.ingest``), so a link exists once per ticket.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.history import context_customer, customer_of, customer_tickets
from console.customers.models import ConversationRow, TicketLink
from console.customers.record import valid_customer_id
from console.models import Agent, Ticket

REPEAT_WINDOW_SECONDS = 7 * 24 * 3600


def order_of(context_json: Optional[str]) -> Optional[str]:
    """The order a ticket's context is about (its ``order_id`` slot), or None."""
    try:
        context = json.loads(context_json or "{}")
    except ValueError:
        return None
    slots = context.get("slots") if isinstance(context, dict) else None
    value = slots.get("order_id") if isinstance(slots, dict) else None
    return value if isinstance(value, str) and value else None


def same_topic(earlier: Ticket, ticket: Ticket) -> bool:
    if earlier.category != ticket.category:
        return False
    before, now = order_of(earlier.context_json), order_of(ticket.context_json)
    return before is None or now is None or before == now


def find_repeat(session: Session, ticket: Ticket, customer_id: Optional[str],
                window: float = REPEAT_WINDOW_SECONDS) -> Optional[Ticket]:
    """The newest earlier ticket of the same customer (or conversation) about the same topic within ``window``
    seconds before ``ticket`` opened, or None."""
    since = ticket.created_at - window
    if customer_id:
        candidates = customer_tickets(session, customer_id)
    else:
        candidates = list(session.scalars(sa.select(Ticket).where(Ticket.sender_id == ticket.sender_id)
                                          .order_by(Ticket.id.desc()).limit(50)))
    for earlier in candidates:  # newest first
        if earlier.id == ticket.id or earlier.created_at > ticket.created_at or earlier.created_at < since:
            continue
        if customer_id is None and customer_of(session, earlier) is not None:
            continue  # that conversation's earlier ticket was a verified customer's; this one is not known to be
        if same_topic(earlier, ticket):
            return earlier
    return None


def previous_agent(session: Session, earlier: Ticket, team: str) -> Optional[Agent]:
    """The earlier ticket's agent, when active and working in ``team``."""
    agent = session.get(Agent, earlier.assignee_id) if earlier.assignee_id else None
    if agent is None or not agent.active or team not in [t for t in agent.teams.split(",") if t]:
        return None
    return agent


def link_ticket(session: Session, ticket: Ticket, now: float,
                window: float = REPEAT_WINDOW_SECONDS) -> TicketLink:
    """Record the new ticket's customer and whether it repeats an earlier one (the caller's transaction)."""
    existing = session.get(TicketLink, ticket.id)
    if existing is not None:
        return existing
    customer_id = context_customer(ticket.customer_json)
    if customer_id is None:
        row = session.get(ConversationRow, ticket.sender_id)
        customer_id = valid_customer_id(row.customer_id) if row is not None else None
    earlier = find_repeat(session, ticket, customer_id, window)
    agent = previous_agent(session, earlier, ticket.team) if earlier is not None else None
    link = TicketLink(ticket_id=ticket.id, customer_id=customer_id, repeat_of=earlier.id if earlier else None,
                      previous_agent_id=agent.id if agent else None, created_at=now)
    session.add(link)
    session.flush()
    return link


def links_for(session: Session, ticket_ids: Iterable[int]) -> Dict[int, TicketLink]:
    ids = list(ticket_ids)
    if not ids:
        return {}
    return {link.ticket_id: link for link in session.scalars(sa.select(TicketLink).where(TicketLink.ticket_id.in_(ids)))}
