"""The lead tables, on the console's declarative base (created with the other tables by
``console.models.create_schema``). Times are UNIX seconds (float, UTC) like every console table."""

from __future__ import annotations

from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


class LeadRow(Base):
    """One presales lead: the fields of ``kernel.leads.Lead`` (``fields_json``), its quote status with a
    timestamp per step, the ticket it came with and the agent who owns it."""

    __tablename__ = "console_leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="SET NULL"),
                                                     nullable=True, index=True)
    sender_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    channel: Mapped[str] = mapped_column(sa.String(64), default="")
    customer_id: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True, index=True)
    product_line: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True)  # copied for metrics
    region: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True)
    priority: Mapped[str] = mapped_column(sa.String(16), default="warm")
    fields_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # every Lead field (lists as JSON lists)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    owner_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_agents.id"), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    contacted_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    quoted_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    closed_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)  # won or lost
    updated_at: Mapped[float] = mapped_column(sa.Float)


class LeadChange(Base):
    """The history of a lead: who changed what, when (``kind``: created | edit | status)."""

    __tablename__ = "console_lead_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_row_id: Mapped[int] = mapped_column(sa.ForeignKey("console_leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(128))  # "bot" or "agent:<username>"
    changes_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # {field: [before, after]}
    at: Mapped[float] = mapped_column(sa.Float)


class LeadOutbox(Base):
    """A webhook event waiting to be (or already) delivered: written in the transaction of the change it reports,
    sent by ``console.leads.sender`` in order per lead. ``locked_until`` is the lease of the replica sending it."""

    __tablename__ = "console_lead_outbox"
    __table_args__ = (sa.Index("ix_console_lead_outbox_pending", "delivered_at", "dead_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True)  # uuid4: X-Kefu-Delivery
    event_type: Mapped[str] = mapped_column(sa.String(32))
    lead_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    payload_json: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[float] = mapped_column(sa.Float)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(sa.Float)
    locked_until: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    locked_by: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True)
    delivered_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    dead_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)


class PresalesDay(Base):
    """Per UTC day: the bot's presales intakes that ended without a lead (from the ``presales_outcome`` slot in the
    events table): pointed to checkout (below the bulk threshold) or cancelled by the customer. With the leads of the
    day they give the qualification rate: leads / (leads + checkouts)."""

    __tablename__ = "console_presales_days"
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    checkouts: Mapped[int] = mapped_column(sa.Integer, default=0)
    cancelled: Mapped[int] = mapped_column(sa.Integer, default=0)


def row_fields(row: LeadRow) -> Dict[str, Any]:
    import json

    try:
        value = json.loads(row.fields_json or "{}")
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}
