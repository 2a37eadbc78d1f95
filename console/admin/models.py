"""The administration tables on the console's ``Base``: teams, canned responses, the admin audit log, and which
seed files were imported (once: after that the database is the source of truth).

JSON columns hold what has no fixed shape in SQL: the names per language, a team's categories and weekly hours.
"""

from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


class TeamRow(Base):
    """A team: its names (zh-Hans, zh-Hant, en), the handoff categories routed to it, and its weekly staffed
    hours (``hours_json`` null: the shop's ``staffed_hours`` of console/config.yml). An inactive team keeps its
    id and names (old tickets still show them) but gets no routing and no transfers."""

    __tablename__ = "console_teams"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    names_json: Mapped[str] = mapped_column(sa.Text)
    categories_json: Mapped[str] = mapped_column(sa.Text, default="[]")
    hours_json: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float)


class CannedRow(Base):
    """A canned response: its title and text per language."""

    __tablename__ = "console_canned"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title_json: Mapped[str] = mapped_column(sa.Text)
    text_json: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[float] = mapped_column(sa.Float)
    updated_at: Mapped[float] = mapped_column(sa.Float)


class AdminAudit(Base):
    """One administrative change: who (``agent:<username>`` or ``cli:<os user>``), when, what (``action`` on
    ``target_kind``/``target_id``), the values before and after (JSON; never a password or its hash), and from
    which address. Rows are only ever added."""

    __tablename__ = "console_admin_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float] = mapped_column(sa.Float, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    action: Mapped[str] = mapped_column(sa.String(32))
    target_kind: Mapped[str] = mapped_column(sa.String(16))
    target_id: Mapped[str] = mapped_column(sa.String(64))
    before_json: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)
    after_json: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)


class AdminSeed(Base):
    """A seed file imported into its table (``teams``, ``canned``): never imported again, so a supervisor who
    removes every canned response does not get them back at the next start."""

    __tablename__ = "console_admin_seeds"
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    at: Mapped[float] = mapped_column(sa.Float)


class EscalationWordsRow(Base):
    """A supervisor's word list for one escalation trigger list (``id``: ``explicit_request.keywords``,
    ``complaint.keywords`` or ``complaint.evidence``), replacing the list of actions/escalation.yml. No row: the
    YAML's list applies. The action server fetches these from ``/internal/escalation-words``."""

    __tablename__ = "console_escalation_words"
    id: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    words_json: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[float] = mapped_column(sa.Float)
    updated_by: Mapped[str] = mapped_column(sa.String(128))
