"""SQL tables of the console (SQLAlchemy 2; SQLite by default, PostgreSQL by URL).

Times are UNIX seconds (float, UTC): portable between SQLite and PostgreSQL and
cheap to compare; the API renders them as ISO 8601.
"""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: What an agent account may be (``Agent.role``).
ROLES = ("agent", "supervisor")


class Base(DeclarativeBase):
    pass


class Agent(Base):
    __tablename__ = "console_agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    role: Mapped[str] = mapped_column(sa.String(16))  # agent | supervisor
    teams: Mapped[str] = mapped_column(sa.String(255), default="")  # comma separated team ids
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[float] = mapped_column(sa.Float)
    last_seen_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    # presence and automatic assignment (console/routing): what the agent chose in the top bar (online | away |
    # offline), when, and the last heartbeat of their console (its live stream); an online or away agent without a
    # heartbeat for ``assignment.presence_timeout_seconds`` counts as offline
    presence: Mapped[str] = mapped_column(sa.String(16), default="offline", server_default="offline")
    presence_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    heartbeat_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    # open tickets the assigner gives the agent at most (null: ``assignment.default_capacity``); 0 = never
    capacity: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True)
    # when the assigner last gave the agent a ticket (round-robin: the least recently assigned first)
    last_assigned_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)


class SessionRow(Base):
    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # HMAC of the cookie value
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("console_agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float] = mapped_column(sa.Float)
    expires_at: Mapped[float] = mapped_column(sa.Float)


class Ticket(Base):
    __tablename__ = "console_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    sender_id: Mapped[str] = mapped_column(sa.String(255), index=True)
    channel: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(32), index=True)
    team: Mapped[str] = mapped_column(sa.String(32), index=True)
    category: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.String(32))
    trigger: Mapped[str] = mapped_column(sa.String(128), default="")
    priority: Mapped[int] = mapped_column(sa.Integer, default=0)
    language: Mapped[str] = mapped_column(sa.String(16))
    customer_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    sentiment_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    context_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    assignee_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_agents.id"), nullable=True)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    assigned_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    first_response_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    closed_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
    resolution: Mapped[Optional[str]] = mapped_column(sa.String(32), nullable=True)
    csat_rating: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True)
    csat_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)


class Message(Base):
    __tablename__ = "console_messages"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "event_key", name="uq_console_message_event"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(16))  # customer | bot | agent | system
    agent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("console_agents.id"), nullable=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    data_json: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # transcript | live
    event_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[float] = mapped_column(sa.Float)


class Note(Base):
    __tablename__ = "console_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("console_agents.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[float] = mapped_column(sa.Float)


class Transition(Base):
    __tablename__ = "console_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(sa.String(32))
    to_state: Mapped[str] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(128))
    team: Mapped[str] = mapped_column(sa.String(32))
    detail_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    at: Mapped[float] = mapped_column(sa.Float)


class TailCursor(Base):
    """How far the console has read Rasa's events table (durable across restarts)."""

    __tablename__ = "console_tail_cursor"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated_at: Mapped[float] = mapped_column(sa.Float)


class DeadLetter(Base):
    """An event the tail gave up on after ``KEFU_CONSOLE_TAIL_MAX_TRIES`` failed tries: the raw event and the
    error, for an operator to look at (``GET /api/ops/dead-letters``); the tail moved on past it."""

    __tablename__ = "console_dead_letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), default="rasa_events")
    event_id: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    sender_id: Mapped[str] = mapped_column(sa.Text, default="")
    raw: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    tries: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[float] = mapped_column(sa.Float, index=True)


class ReadMark(Base):
    """How far an agent has read a ticket: customer messages after ``seen_at`` are unread for that agent."""

    __tablename__ = "console_read_marks"
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("console_agents.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("console_tickets.id"), primary_key=True)
    seen_at: Mapped[float] = mapped_column(sa.Float)


class ConversationDay(Base):
    """Per conversation and UTC day: customer messages and FAQ outcomes (for containment and FAQ rates)."""

    __tablename__ = "console_conversation_days"
    sender_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    channel: Mapped[str] = mapped_column(sa.String(64), default="")
    user_messages: Mapped[int] = mapped_column(sa.Integer, default=0)
    faq_answered: Mapped[int] = mapped_column(sa.Integer, default=0)
    faq_clarify: Mapped[int] = mapped_column(sa.Integer, default=0)
    faq_no_answer: Mapped[int] = mapped_column(sa.Integer, default=0)
    first_at: Mapped[float] = mapped_column(sa.Float)
    last_at: Mapped[float] = mapped_column(sa.Float)


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def import_models() -> None:
    """Import every module whose tables join the console metadata (the migrations' agreement test reads them)."""
    import console.admin.models  # noqa: F401  (the teams, canned responses and admin audit tables join the metadata)
    import console.customers.models  # noqa: F401  (the conversation table joins the metadata)
    import console.feedback.models  # noqa: F401  (the feedback table joins the metadata)
    import console.leads.models  # noqa: F401  (the lead tables join the metadata; console/leads imports this module)
    import console.privacy.models  # noqa: F401  (the privacy audit and lock tables join the metadata)
    import console.search.models  # noqa: F401  (the search keys table joins the metadata)
    import console.tickets.followups  # noqa: F401  (the follow-up table joins the metadata)
    import console.widget.models  # noqa: F401  (the widget's attachment, contact, seen and comment tables)


def create_schema(engine: sa.Engine) -> None:
    """Bring the console database to this release's schema: Alembic revisions (``kernel/migrations/console``),
    upgraded under a lock when the database is behind, or a refusal when ``KEFU_MIGRATE_ON_START`` is off."""
    from kernel.migrations import ensure

    if engine.url.get_backend_name() == "sqlite" and engine.url.database:
        from pathlib import Path

        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    import_models()
    ensure(engine, "console")
