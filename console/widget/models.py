"""The widget's tables in the console database (migration 0004): attachments, contacts left off hours, what the
shopper has seen, and CSAT comments. Conversation ids are Rasa sender ids (``web:<session id>``)."""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


class AttachmentRow(Base):
    """A file a shopper attached. The bytes live in the upload folder under ``stored_name`` (random, no
    extension); ``event_key`` is the identity of the user event the console appended to the conversation for it
    (``kernel.handoff.event_key``), so the ticket's message finds its attachment whichever way it arrived."""

    __tablename__ = "console_attachments"
    __table_args__ = (sa.UniqueConstraint("conversation_id", "client_id", name="uq_console_attachment_client"),)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    #: the widget's id for this upload: a retry or a duplicate delivery names it again
    client_id: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16))  # image | file
    mime: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(128))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    stored_name: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.String(255))
    event_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    event_at: Mapped[float] = mapped_column(sa.Float)
    #: when Rasa took the user event (None: stored, not yet in the conversation; the next retry delivers it)
    delivered_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)


class ContactRow(Base):
    """How a shopper who was handed over outside staffed hours may be reached (each optional, validated)."""

    __tablename__ = "console_contacts"
    conversation_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    #: the open ticket when it was left (None when the console learnt of the handoff later)
    ticket_id: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True, index=True)
    phone: Mapped[str] = mapped_column(sa.String(32), default="")
    wechat: Mapped[str] = mapped_column(sa.String(32), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="")
    created_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float, index=True)


class SeenRow(Base):
    """Up to when the shopper has seen the agents' replies in the widget (the panel open on a visible page)."""

    __tablename__ = "console_widget_seen"
    conversation_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    seen_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float, index=True)


class CsatCommentRow(Base):
    """The shopper's words after a rating: about an agent's ticket (``ticket_id``) or the bot (``kind`` bot)."""

    __tablename__ = "console_csat_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # agent | bot
    ticket_id: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True, index=True)
    rating: Mapped[int] = mapped_column(sa.Integer)
    comment: Mapped[str] = mapped_column(sa.Text)
    #: the widget's id for the comment: a resend stores it once
    client_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
