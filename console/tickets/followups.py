"""Follow-ups: a closed ticket that the customer rated low (agent CSAT at or below ``service.follow_up_rating``
in console/config.yml, 2 by default, 0 turns it off) comes back as a follow-up for a supervisor.

The ticket keeps its state (``closed``: the customer is not put back in the queue and the bot keeps the
conversation); the follow-up is a row of its own in ``console_followups`` (a new table, so no column is added to
``console_tickets``), listed to supervisors (``GET /api/followups``, the dashboard's follow-up card) until one of them
marks it done with a note. A second low rating of the same ticket reopens its follow-up; a later good rating leaves
it for the supervisor to judge. The dashboard counts a follow-up as a reopened ticket (not a first-contact
resolution, console/dashboard.py).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from console.models import Agent, Base, Ticket
from console.tickets.core import BadRequest, NotFound

DEFAULT_FOLLOW_UP_RATING = 2
FOLLOW_UP_STATES = ("open", "done", "all")
MAX_NOTE = 2000


class FollowUpRow(Base):
    __tablename__ = "console_followups"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(32), default="low_csat")
    rating: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    done_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True, index=True)
    done_by: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_agents.id"), nullable=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")


def follow_up_rating(config: Mapping[str, Any]) -> int:
    """The highest agent CSAT that opens a follow-up (``service.follow_up_rating``); 0 turns follow-ups off."""
    value = (config.get("service") or {}).get("follow_up_rating", DEFAULT_FOLLOW_UP_RATING)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise ValueError(f"service.follow_up_rating must be an integer from 0 to 5, not {value!r}")
    return value


def follow_up_on_rating(session: Session, ticket: Ticket, rating: int, now: float,
                        threshold: int) -> Optional[FollowUpRow]:
    """Open (or reopen) the ticket's follow-up when ``rating`` is at or below ``threshold``; the caller commits.
    Returns the follow-up, or None when the rating is good enough."""
    if rating > threshold:
        return None
    row = session.scalars(sa.select(FollowUpRow).where(FollowUpRow.ticket_id == ticket.id)).first()
    if row is None:
        try:
            with session.begin_nested():  # the API and the events tail may store the same rating at once
                row = FollowUpRow(ticket_id=ticket.id, reason="low_csat", rating=rating, created_at=now, note="")
                session.add(row)
                session.flush()
            return row
        except IntegrityError:
            row = session.scalars(sa.select(FollowUpRow).where(FollowUpRow.ticket_id == ticket.id)).one()
    if row.done_at is not None:  # a new low rating after a supervisor closed the follow-up: it is open again
        row.created_at, row.done_at, row.done_by = now, None, None
    row.rating = rating
    return row


def follow_up_json(row: FollowUpRow, ticket: Ticket, agents: Mapping[int, str],
                   iso: Callable[[Optional[float]], Optional[str]]) -> Dict[str, Any]:
    return {
        "id": row.id, "ticket_id": row.ticket_id, "reason": row.reason, "rating": row.rating,
        "state": "done" if row.done_at is not None else "open",
        "created_at": iso(row.created_at), "done_at": iso(row.done_at),
        "done_by": agents.get(row.done_by) if row.done_by else None, "note": row.note,
        "ticket": {"channel": ticket.channel, "language": ticket.language, "team": ticket.team,
                   "category": ticket.category, "resolution": ticket.resolution, "summary": ticket.summary[:300],
                   "agent": agents.get(ticket.assignee_id) if ticket.assignee_id else None,
                   "closed_at": iso(ticket.closed_at)},
    }


def list_follow_ups(session: Session, state: str, limit: int, iso: Callable[[Optional[float]], Optional[str]],
                    follow_up_id: Optional[int] = None) -> List[Dict[str, Any]]:
    """Follow-ups, open ones oldest first (the supervisor's queue), done ones newest first."""
    if state not in FOLLOW_UP_STATES:
        raise BadRequest(f"state must be one of {', '.join(FOLLOW_UP_STATES)}")
    query = sa.select(FollowUpRow, Ticket).join(Ticket, Ticket.id == FollowUpRow.ticket_id)
    if follow_up_id is not None:
        query = query.where(FollowUpRow.id == follow_up_id)
    if state == "open":
        query = query.where(FollowUpRow.done_at.is_(None)).order_by(FollowUpRow.created_at, FollowUpRow.id)
    elif state == "done":
        query = query.where(FollowUpRow.done_at.is_not(None)).order_by(FollowUpRow.done_at.desc())
    else:
        query = query.order_by(FollowUpRow.created_at.desc())
    rows = list(session.execute(query.limit(limit)))
    agents = {agent_id: name for agent_id, name in session.execute(sa.select(Agent.id, Agent.display_name))}
    return [follow_up_json(f, t, agents, iso) for f, t in rows]


def complete_follow_up(session: Session, follow_up_id: int, agent_id: int, note: str, now: float) -> FollowUpRow:
    """A supervisor has dealt with it; the caller commits. An already finished follow-up is a bad request."""
    note = (note or "").strip()
    if not note:
        raise BadRequest("note is required: say what was done for the customer")
    if len(note) > MAX_NOTE:
        raise BadRequest(f"note is longer than {MAX_NOTE} characters")
    row = session.get(FollowUpRow, follow_up_id, with_for_update=True)
    if row is None:
        raise NotFound(f"follow-up {follow_up_id} does not exist")
    if row.done_at is not None:
        raise BadRequest(f"follow-up {follow_up_id} is already done")
    row.done_at, row.done_by, row.note = now, agent_id, note
    return row
