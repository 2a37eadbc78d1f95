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
