"""Presales numbers: for the supervisor dashboard (``presales`` in /api/metrics/dashboard) and /metrics.

Pure functions over rows; ``presales_summary`` gathers them for a window. The qualification rate is leads / (leads +
intakes the bot pointed to checkout), the checkouts counted by the events tail from the ``presales_outcome`` slot
(``PresalesDay``, by UTC day: a window starting mid-day counts that whole day's checkouts).
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.leads.models import LeadOutbox, LeadRow, PresalesDay
from console.leads.sla import OPEN_STATUSES, quote_state
from console.models import Ticket
from console.queueing import StaffedHours
from kernel.leads import STATUSES


def median_seconds(values: Sequence[Optional[float]]) -> Optional[float]:
    clean = [v for v in values if v is not None and v >= 0]
    return round(statistics.median(clean), 1) if clean else None


def presales_summary(session: Session, start: float) -> Dict[str, Any]:
    rows = list(session.execute(sa.select(LeadRow.product_line, LeadRow.channel, LeadRow.status, LeadRow.created_at,
                                          LeadRow.contacted_at, LeadRow.quoted_at, LeadRow.ticket_id)
                                .where(LeadRow.created_at >= start)))
    presales_tickets = [t for t, in session.execute(sa.select(Ticket.id).where(
        Ticket.category == "presales", Ticket.created_at >= start))]
    with_lead = {r.ticket_id for r in rows if r.ticket_id is not None} & set(presales_tickets)
    statuses = Counter(r.status for r in rows)
    since = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%d")
    checkouts, cancelled = session.execute(sa.select(sa.func.coalesce(sa.func.sum(PresalesDay.checkouts), 0),
                                                     sa.func.coalesce(sa.func.sum(PresalesDay.cancelled), 0))
                                           .where(PresalesDay.day >= since)).one()
    qualified = len(rows) + int(checkouts)
    return {
        "leads": len(rows),
        "by_product_line": dict(Counter(r.product_line or "" for r in rows).most_common()),
        "by_channel": dict(Counter(r.channel or "" for r in rows).most_common()),
        "by_status": {s: statuses.get(s, 0) for s in STATUSES},
        "presales_tickets": len(presales_tickets),
        "presales_tickets_with_lead": len(with_lead),
        "first_contact_seconds": {"median": median_seconds([r.contacted_at - r.created_at for r in rows
                                                            if r.contacted_at]),
                                  "count": sum(1 for r in rows if r.contacted_at)},
        "quote_seconds": {"median": median_seconds([r.quoted_at - r.created_at for r in rows if r.quoted_at]),
                          "count": sum(1 for r in rows if r.quoted_at)},
        "checkouts": int(checkouts),  # intakes below the bulk threshold, pointed to normal checkout by the bot
        "cancelled": int(cancelled),
        "qualification_rate": round(len(rows) / qualified, 4) if qualified else None,
        "won": statuses.get("won", 0),
        "lost": statuses.get("lost", 0),
    }


def lead_counts(session: Session) -> List[Any]:
    """(product_line, channel, status, count) over every lead, for /metrics."""
    return list(session.execute(sa.select(LeadRow.product_line, LeadRow.channel, LeadRow.status, sa.func.count())
                                .group_by(LeadRow.product_line, LeadRow.channel, LeadRow.status)))


def quote_overdue_counts(session: Session, staffed: Optional[StaffedHours], now: float) -> Dict[str, int]:
    """Open leads (new or contacted) past the quote time the customer was promised, by product line."""
    counts: Counter = Counter()
    for product_line, status, created_at, fields_json in session.execute(
            sa.select(LeadRow.product_line, LeadRow.status, LeadRow.created_at, LeadRow.fields_json)
            .where(LeadRow.status.in_(OPEN_STATUSES))):
        if quote_state(status, created_at, fields_json, staffed, now)["overdue"]:
            counts[product_line or ""] += 1
    return dict(counts)


def outbox_counts(session: Session) -> Dict[str, int]:
    """Webhook events by delivery state: pending, delivered, dead."""
    row = session.execute(sa.select(
        sa.func.count().filter(LeadOutbox.delivered_at.is_(None), LeadOutbox.dead_at.is_(None)),
        sa.func.count().filter(LeadOutbox.delivered_at.is_not(None)),
        sa.func.count().filter(LeadOutbox.dead_at.is_not(None)))).one()
    return {"pending": int(row[0] or 0), "delivered": int(row[1] or 0), "dead": int(row[2] or 0)}
