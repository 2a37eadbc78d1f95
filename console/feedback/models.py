"""The feedback table (new, so existing console databases gain it at start-up without a migration)."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base

#: ``FeedbackRow.kind`` and the range of its ``value``
KINDS = {
    "answer": (0, 1),  # a bot FAQ answer: 1 helped (👍), 0 did not (👎)
    "bot_csat": (1, 5),  # satisfaction with a conversation the bot handled alone
    "ces": (1, 5),  # customer effort after a handoff: 1 very easy … 5 very hard
}


class FeedbackRow(Base):
    __tablename__ = "console_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: idempotency: the Rasa event that carried it (``kernel.handoff.event_key`` style), unique
    event_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    sender_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    value: Mapped[int] = mapped_column(sa.Integer)
    #: for ``answer``: the knowledge-base entry and the customer's question it answered
    entry_id: Mapped[Optional[str]] = mapped_column(sa.String(128), nullable=True, index=True)
    question: Mapped[str] = mapped_column(sa.Text, default="")
    #: for ``ces``: the ticket the handoff opened
    ticket_id: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True, index=True)
    channel: Mapped[str] = mapped_column(sa.String(64), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="")
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
