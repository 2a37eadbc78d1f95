"""The conversation table (a new table, so existing console databases gain it at start-up without a
migration; columns are never added to the older tables until issue 26 brings migrations)."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


class ConversationRow(Base):
    """One conversation (Rasa sender id) as the console saw it in the event stream."""

    __tablename__ = "console_conversations"
    sender_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(64), default="")  # the input channel of its messages
    language: Mapped[str] = mapped_column(sa.String(16), default="")  # the bot's latest ``language`` slot
    #: the verified customer (``verified_customer_id`` slot); None until the bot verified someone
    customer_id: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True, index=True)
    verified_via: Mapped[Optional[str]] = mapped_column(sa.String(16), nullable=True)  # phone | wechat | wecom | web_token
    verified_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    user_messages: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_at: Mapped[float] = mapped_column(sa.Float, index=True)
    last_at: Mapped[float] = mapped_column(sa.Float, index=True)


class TicketLink(Base):
    """What the console knows of a ticket's customer when the ticket opened: the customer id (the handoff context's
    verified customer, else the conversation's), and, for a repeat contact, the earlier ticket about the same topic
    within the window (``console.customers.repeat``) and the agent who had it. A new table beside
    ``console_tickets`` (no column is added to that one before migrations exist)."""

    __tablename__ = "console_ticket_links"
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True, index=True)
    #: the earlier ticket this one repeats (same customer or conversation, same topic, within the window)
    repeat_of: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="SET NULL"),
                                                     nullable=True, index=True)
    #: the earlier ticket's agent, offered the repeat (active and in the new ticket's team when it opened)
    previous_agent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_agents.id", ondelete="SET NULL"),
                                                             nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
