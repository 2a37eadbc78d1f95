"""The search keys of tickets: exact values (an order number, a phone suffix, a customer id) that find a ticket
through an index instead of reading every message."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


class SearchKey(Base):
    """``kind``: ``order`` (canonical order number), ``phone`` (the last four digits the customer gave) or
    ``customer`` (the customer id); ``value`` as the query is normalised to."""

    __tablename__ = "console_search_keys"
    __table_args__ = (sa.Index("ix_console_search_keys_kind_value", "kind", "value"),)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
