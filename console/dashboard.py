"""Supervisor dashboard metrics. Statistics are pure functions; ``dashboard`` gathers the rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.leads.metrics import presales_summary
from console.models import ConversationDay, Ticket
from console.queueing import iso
from console.states import State
from kernel.handoff import REASONS


def containment_rate(conversations: int, handed_off: int) -> Optional[float]:
    """Share of conversations resolved without a human; None when there were none."""
    if conversations <= 0:
        return None
    return round(max(0, conversations - handed_off) / conversations, 4)


def median_or_none(values: Sequence[float]) -> Optional[float]:
    clean = [v for v in values if v is not None and v >= 0]
    return round(statistics.median(clean), 1) if clean else None


def csat_summary(ratings: Iterable[int]) -> Dict[str, Any]:
    ratings = [r for r in ratings if r is not None]
    distribution = {str(i): 0 for i in range(1, 6)}
    for r in ratings:
        distribution[str(r)] += 1
    return {"average": round(sum(ratings) / len(ratings), 2) if ratings else None, "count": len(ratings),
            "distribution": distribution}


def faq_summary(answered: int, clarify: int, no_answer: int) -> Dict[str, Any]:
    total = answered + clarify + no_answer
    return {"answered": answered, "clarify": clarify, "no_answer": no_answer,
            "answer_rate": round(answered / total, 4) if total else None}


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    days: int

    @property
    def start_day(self) -> str:
        return datetime.fromtimestamp(self.start, timezone.utc).strftime("%Y-%m-%d")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def dashboard(session: Session, now: float, days: int, unanswered: Dict[str, Any]) -> Dict[str, Any]:
    window = Window(now - days * 86400, now, days)
    conv_rows = list(session.execute(
        sa.select(ConversationDay.sender_id, ConversationDay.day, ConversationDay.user_messages,
                  ConversationDay.faq_answered, ConversationDay.faq_clarify, ConversationDay.faq_no_answer)
        .where(ConversationDay.day >= window.start_day)))
    senders = {r.sender_id for r in conv_rows if r.user_messages > 0}
    tickets = list(session.scalars(sa.select(Ticket).where(Ticket.created_at >= window.start)))
    handed = {t.sender_id for t in tickets}
    conversations = len(senders | handed)
    by_reason = Counter(t.reason for t in tickets)
    reasons = {r: by_reason.get(r, 0) for r in REASONS}
    daily_conv: Dict[str, set] = defaultdict(set)
    for r in conv_rows:
        if r.user_messages > 0:
            daily_conv[r.day].add(r.sender_id)
    daily_tickets: Dict[str, List[Ticket]] = defaultdict(list)
    for t in tickets:
        daily_tickets[_day(t.created_at)].append(t)
    days_list = sorted(set(daily_conv) | set(daily_tickets))
    open_rows = list(session.execute(sa.select(Ticket.state, Ticket.created_at)
                                     .where(Ticket.state.in_([State.QUEUED.value, State.ASSIGNED.value]))))
    queued = [r.created_at for r in open_rows if r.state == State.QUEUED.value]
    return {
        "window": {"from": iso(window.start), "to": iso(window.end), "days": days},
        "conversations": conversations,
        "handed_off": len(handed),
        "containment_rate": containment_rate(conversations, len(handed)),
        "handoffs_by_reason": reasons,
        "handoff_rate_by_reason": {r: (round(n / conversations, 4) if conversations else None) for r, n in reasons.items()},
        "faq": faq_summary(sum(r.faq_answered for r in conv_rows), sum(r.faq_clarify for r in conv_rows),
                           sum(r.faq_no_answer for r in conv_rows)),
        "first_response_seconds": _timing([t.first_response_at - t.created_at for t in tickets if t.first_response_at]),
        "handle_seconds": _timing([t.closed_at - t.assigned_at for t in tickets if t.closed_at and t.assigned_at]),
        "csat": csat_summary(t.csat_rating for t in tickets if t.csat_rating),
        "queue": {"queued": len(queued), "assigned": len(open_rows) - len(queued),
                  "oldest_wait_seconds": int(now - min(queued)) if queued else 0},
        "daily": [
            {"date": d, "conversations": len(set(daily_conv.get(d, ())) | {t.sender_id for t in daily_tickets.get(d, [])}),
             "handoffs": len(daily_tickets.get(d, [])),
             "csat_average": csat_summary(t.csat_rating for t in daily_tickets.get(d, []) if t.csat_rating)["average"]}
            for d in days_list
        ],
        "unanswered": unanswered,
        "presales": presales_summary(session, window.start),
    }


def _timing(values: List[float]) -> Dict[str, Any]:
    return {"median": median_or_none(values), "count": len(values)}
