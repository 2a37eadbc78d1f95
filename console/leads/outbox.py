"""The webhook events of a lead, written to ``console_lead_outbox`` in the transaction of the change they report
(so a change and its event commit or roll back together; ``console.leads.sender`` delivers them).

Events: ``lead.created`` (a handoff brought a lead), ``lead.updated`` (an agent edited the card),
``lead.status_changed`` (the quote status moved). The payload is the event's own record: the lead as it is after
the change, the ticket id, the ticket's transcript (customer, bot and agent messages with their times), what
changed and when. Rows are written whether or not a webhook URL is configured: nothing is lost when it is
configured later.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.leads.models import LeadOutbox
from console.models import Message
from console.queueing import iso

EVENTS = ("lead.created", "lead.updated", "lead.status_changed")
TRANSCRIPT_AUTHORS = ("customer", "bot", "agent")
MAX_TRANSCRIPT = 500


def transcript(session: Session, ticket_id: Optional[int]) -> List[Dict[str, Any]]:
    if ticket_id is None:
        return []
    rows = session.execute(sa.select(Message.author, Message.text, Message.created_at)
                           .where(Message.ticket_id == ticket_id, Message.author.in_(TRANSCRIPT_AUTHORS))
                           .order_by(Message.created_at, Message.id))
    items = [{"author": r.author, "text": r.text, "at": iso(r.created_at)} for r in rows]
    return items[-MAX_TRANSCRIPT:]


def enqueue(session: Session, event_type: str, lead: Dict[str, Any], ticket_id: Optional[int], now: float,
            change: Optional[Dict[str, Any]] = None) -> LeadOutbox:
    """Add the event's row to ``session`` (the caller's transaction)."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown lead event {event_type!r}")
    event_id = str(uuid.uuid4())
    payload = {"event_id": event_id, "event": event_type, "occurred_at": iso(now), "ticket_id": ticket_id,
               "lead": lead, "change": change or {}, "transcript": transcript(session, ticket_id)}
    row = LeadOutbox(event_id=event_id, event_type=event_type, lead_id=lead["lead_id"],
                     payload_json=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                     created_at=now, attempts=0, next_attempt_at=now)
    session.add(row)
    return row
