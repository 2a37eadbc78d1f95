"""Who a ticket's customer is, and what the console knows of that customer: earlier tickets (outcome, CSAT,
agent), conversations on every channel, open leads and the orders the bot showed them. Reads only.

A ticket's customer is the handoff context's customer when the bot had verified them, else the customer its
conversation was verified as (``console_conversations``, from the events tail), else the one recorded when the
ticket opened (``console_ticket_links``). A ticket whose context names another verified customer is that
customer's, even when its conversation was later verified as someone else.

Orders: the console holds no store credentials and does not reach the action server (docs/architecture.md,
the Kubernetes network policies), so the orders shown are the ones the bot showed this customer in their
tickets' conversations (``kefu_card`` facts and messages, already masked by the bot); only the order number,
status, date, total, item names and the carrier are kept: no recipient, phone or address.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console import queueing
from console.customers.models import ConversationRow, TicketLink
from console.customers.record import valid_customer_id
from console.leads.models import LeadRow
from console.leads.store import lead_summary
from console.live import Viewer
from console.models import Agent, Message, Ticket

MAX_TICKETS = 50
MAX_CONVERSATIONS = 50
MAX_LEADS = 20
MAX_ORDERS = 10
#: candidate rows read before the per-ticket customer check (bounds every query)
MAX_CANDIDATES = 400
CLOSED_LEAD_STATUSES = ("won", "lost")
ORDER_CARDS = ("order_status", "order_list")


def _loads(raw: Optional[str], default: Any) -> Any:
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def context_customer(customer_json: Optional[str]) -> Optional[str]:
    """The verified customer id of a ticket's handoff context, or None (unverified, missing, malformed)."""
    customer = _loads(customer_json, {})
    if not isinstance(customer, dict) or customer.get("verified") is not True:
        return None
    return valid_customer_id(customer.get("id"))


def customer_of(session: Session, ticket: Ticket) -> Optional[str]:
    """The customer a ticket belongs to (module docstring), or None when nobody verified them."""
    found = context_customer(ticket.customer_json)
    if found:
        return found
    row = session.get(ConversationRow, ticket.sender_id)
    if row is not None and valid_customer_id(row.customer_id):
        return row.customer_id
    link = session.get(TicketLink, ticket.id)
    return link.customer_id if link is not None and valid_customer_id(link.customer_id) else None


def _like(customer_id: str) -> str:
    """A LIKE pattern finding the quoted id in ``Ticket.customer_json`` (escape: backslash); a pre-filter only,
    every row it finds is checked by :func:`customer_of`."""
    escaped = customer_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


def customer_tickets(session: Session, customer_id: str, limit: int = MAX_TICKETS) -> List[Ticket]:
    """The customer's tickets, newest first (at most ``limit``)."""
    linked = sa.select(TicketLink.ticket_id).where(TicketLink.customer_id == customer_id)
    conversations = sa.select(ConversationRow.sender_id).where(ConversationRow.customer_id == customer_id)
    query = (sa.select(Ticket).where(sa.or_(Ticket.id.in_(linked), Ticket.sender_id.in_(conversations),
                                            Ticket.customer_json.like(_like(customer_id), escape="\\")))
             .order_by(Ticket.id.desc()).limit(MAX_CANDIDATES))
    out = [t for t in session.scalars(query) if customer_of(session, t) == customer_id]
    return out[:limit]


def known(session: Session, customer_id: str) -> bool:
    """Whether the console has anything of this customer (a conversation, a ticket or a lead)."""
    if session.scalar(sa.select(ConversationRow.sender_id).where(ConversationRow.customer_id == customer_id).limit(1)):
        return True
    if session.scalar(sa.select(LeadRow.id).where(LeadRow.customer_id == customer_id).limit(1)):
        return True
    return bool(customer_tickets(session, customer_id, limit=1))


# -- what the agent sees -------------------------------------------------------------------------------
def _ticket_item(ticket: Ticket, agents: Dict[int, Agent], viewer: Viewer, links: Dict[int, TicketLink],
                 current_id: Optional[int]) -> Dict[str, Any]:
    openable = viewer.may_see(ticket.team, ticket.assignee_id)
    agent = agents.get(ticket.assignee_id) if ticket.assignee_id else None
    link = links.get(ticket.id)
    return {
        "id": ticket.id, "state": ticket.state, "category": ticket.category, "reason": ticket.reason,
        "team": ticket.team, "channel": ticket.channel, "language": ticket.language,
        "resolution": ticket.resolution, "csat": ticket.csat_rating,
        "agent": {"id": agent.id, "display_name": agent.display_name} if agent else None,
        "created_at": queueing.iso(ticket.created_at), "closed_at": queueing.iso(ticket.closed_at),
        "summary": ticket.summary if openable else None,
        "sender_id": ticket.sender_id,
        "repeat_of": link.repeat_of if link is not None else None,
        "openable": openable, "current": ticket.id == current_id,
    }


def _conversation_item(row: Optional[ConversationRow], sender_id: str, tickets: Sequence[Ticket],
                       current_sender: Optional[str]) -> Dict[str, Any]:
    mine = [t for t in tickets if t.sender_id == sender_id]
    channel = (row.channel if row is not None else "") or (mine[0].channel if mine else "")
    last_at = row.last_at if row is not None else max((t.updated_at for t in mine), default=None)
    first_at = row.first_at if row is not None else min((t.created_at for t in mine), default=None)
    return {
        "sender_id": sender_id, "channel": channel,
        "language": (row.language if row is not None else "") or (mine[0].language if mine else ""),
        "verified_via": row.verified_via if row is not None else None,
        "first_at": queueing.iso(first_at), "last_at": queueing.iso(last_at),
        "_last": last_at or 0.0,
        "user_messages": row.user_messages if row is not None else None,
        "ticket_ids": [t.id for t in mine],
        "current": sender_id == current_sender,
    }


def _money_text(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        text = value.get("text")
        return str(text)[:32] if isinstance(text, (str, int, float)) else None
    return None


def _short(value: Any, limit: int = 64) -> Optional[str]:
    return str(value)[:limit] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def order_items(card: Dict[str, Any], seen_at: float) -> List[Dict[str, Any]]:
    """The orders one ``kefu_card`` shows, with only what an agent needs (no recipient, phone or address)."""
    if card.get("type") == "order_status":
        order_id = _short(card.get("order_id"), 32)
        if not order_id:
            return []
        shipping = card.get("shipping") if isinstance(card.get("shipping"), dict) else {}
        amounts = card.get("amounts") if isinstance(card.get("amounts"), dict) else {}
        items = card.get("items") if isinstance(card.get("items"), list) else []
        return [{
            "order_id": order_id, "status": _short(card.get("status"), 32),
            "status_label": _short(card.get("status_label"), 32), "created_at": _short(card.get("created_at"), 40),
            "total": _money_text(amounts.get("total")),
            "items": [{"name": _short(i.get("name")), "variant": _short(i.get("variant")),
                       "quantity": i.get("quantity") if isinstance(i.get("quantity"), int) else None}
                      for i in items[:10] if isinstance(i, dict)],
            "carrier": _short(shipping.get("carrier_label") or shipping.get("carrier"), 32),
            "expected_delivery": _short(shipping.get("expected_delivery"), 16),
            "seen_at": seen_at, "detail": True,
        }]
    if card.get("type") == "order_list":
        out = []
        for entry in (card.get("orders") if isinstance(card.get("orders"), list) else [])[:MAX_ORDERS]:
            if not isinstance(entry, dict) or not _short(entry.get("order_id"), 32):
                continue
            out.append({"order_id": _short(entry.get("order_id"), 32), "status": _short(entry.get("status"), 32),
                        "status_label": _short(entry.get("status_label"), 32),
                        "created_at": _short(entry.get("created_at"), 40), "total": _money_text(entry.get("total")),
                        "items": [], "carrier": None, "expected_delivery": None, "seen_at": seen_at, "detail": False})
        return out
    return []


def _card(value: Any) -> Optional[Dict[str, Any]]:
    """The order card in a context fact (``{"type", "data": card}``) or a bot message's data
    (``{"custom": {"kefu_card": card}}``), or None."""
    if not isinstance(value, dict):
        return None
    custom = value.get("custom") if isinstance(value.get("custom"), dict) else {}
    for candidate in (value.get("data"), custom.get("kefu_card"), value.get("kefu_card"), value):
        if isinstance(candidate, dict):
            card = candidate.get("kefu_card") if isinstance(candidate.get("kefu_card"), dict) else candidate
            if card.get("type") in ORDER_CARDS:
                return card
    return None


def recent_orders(session: Session, tickets: Iterable[Ticket], limit: int = MAX_ORDERS) -> List[Dict[str, Any]]:
    """The orders the bot showed in these tickets' conversations, newest sighting first, one entry per order
    (an order's full card beats a line of a list)."""
    tickets = list(tickets)
    found: List[Dict[str, Any]] = []
    for ticket in tickets:
        context = _loads(ticket.context_json, {})
        for fact in (context.get("facts") if isinstance(context, dict) and isinstance(context.get("facts"), list)
                     else [])[-20:]:
            card = _card(fact)
            if card is not None:
                stamp = fact.get("timestamp") if isinstance(fact.get("timestamp"), (int, float)) else ticket.created_at
                found.extend(order_items(card, float(stamp)))
    if tickets:
        rows = session.execute(
            sa.select(Message.data_json, Message.created_at).where(
                Message.ticket_id.in_([t.id for t in tickets]), Message.author == "bot",
                Message.data_json.like("%kefu_card%"))
            .order_by(Message.created_at.desc()).limit(MAX_CANDIDATES))
        for data_json, created_at in rows:
            card = _card(_loads(data_json, None))
            if card is not None:
                found.extend(order_items(card, created_at))
    best: Dict[str, Dict[str, Any]] = {}
    for item in sorted(found, key=lambda o: (o["detail"], o["seen_at"]), reverse=True):
        best.setdefault(item["order_id"], item)
    newest = sorted(best.values(), key=lambda o: o["seen_at"], reverse=True)[:limit]
    return [{**{k: v for k, v in o.items() if k not in ("seen_at", "detail")}, "seen_at": queueing.iso(o["seen_at"])}
            for o in newest]


def open_leads(session: Session, customer_id: Optional[str], senders: Set[str],
               agents: Dict[int, Agent]) -> List[Dict[str, Any]]:
    match = [LeadRow.sender_id.in_(senders)] if senders else []
    if customer_id:
        match.append(LeadRow.customer_id == customer_id)
    if not match:
        return []
    rows = session.scalars(sa.select(LeadRow).where(sa.or_(*match), LeadRow.status.not_in(CLOSED_LEAD_STATUSES))
                           .order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(MAX_LEADS))
    out = []
    for row in rows:
        owner = agents.get(row.owner_id) if row.owner_id else None
        out.append({**lead_summary(row), "ticket_id": row.ticket_id, "channel": row.channel,
                    "owner": {"id": owner.id, "display_name": owner.display_name} if owner else None,
                    "created_at": queueing.iso(row.created_at)})
    return out


def history(session: Session, viewer: Viewer, customer_id: Optional[str], sender_id: Optional[str] = None,
            current_ticket: Optional[int] = None) -> Dict[str, Any]:
    """What the console knows of ``customer_id`` (or, for a customer nobody verified, of the one conversation
    ``sender_id``): tickets newest first (``openable``: the viewer may open it; another team's ticket shows no
    summary), conversations by last message, open leads, recent orders."""
    if customer_id:
        tickets = customer_tickets(session, customer_id)
        rows = list(session.scalars(sa.select(ConversationRow).where(ConversationRow.customer_id == customer_id)
                                    .order_by(ConversationRow.last_at.desc()).limit(MAX_CONVERSATIONS)))
    else:
        tickets = list(session.scalars(sa.select(Ticket).where(Ticket.sender_id == (sender_id or ""))
                                       .order_by(Ticket.id.desc()).limit(MAX_TICKETS)))
        row = session.get(ConversationRow, sender_id) if sender_id else None
        rows = [row] if row is not None else []
    by_sender = {r.sender_id: r for r in rows}
    senders = list(by_sender) + [t.sender_id for t in tickets if t.sender_id not in by_sender]
    if sender_id and sender_id not in senders:
        senders.append(sender_id)
    for missing in [s for s in senders if s not in by_sender]:
        row = session.get(ConversationRow, missing)
        if row is not None:
            by_sender[missing] = row
    conversations = [_conversation_item(by_sender.get(s), s, tickets, sender_id) for s in dict.fromkeys(senders)]
    conversations.sort(key=lambda c: c["_last"], reverse=True)
    for item in conversations:
        item.pop("_last")
    agents = {a.id: a for a in session.scalars(sa.select(Agent))}
    links = {link.ticket_id: link for link in session.scalars(
        sa.select(TicketLink).where(TicketLink.ticket_id.in_([t.id for t in tickets])))} if tickets else {}
    return {
        "customer_id": customer_id,
        "tickets": [_ticket_item(t, agents, viewer, links, current_ticket) for t in tickets],
        "conversations": conversations[:MAX_CONVERSATIONS],
        "leads": open_leads(session, customer_id, set(senders), agents),
        "orders": recent_orders(session, tickets),
    }


def owns_conversation(session: Session, customer_id: str, sender_id: str) -> bool:
    """Whether conversation ``sender_id`` is one of the customer's (verified in it, or a ticket of theirs)."""
    row = session.get(ConversationRow, sender_id)
    if row is not None and row.customer_id == customer_id:
        return True
    return any(t.sender_id == sender_id for t in customer_tickets(session, customer_id, limit=MAX_CANDIDATES))
