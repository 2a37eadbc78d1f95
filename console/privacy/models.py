"""The privacy tables (new tables, created at start-up with the others; no existing table gains a column).

- ``console_privacy_audit``: who exported, erased or ran the retention job, when, about whom and what it
  touched. The subject is kept as a SHA-256 digest (``subject_digest``), not in clear: after an erasure the
  audit can still prove that customer C was erased (hash C and look), without keeping C's id readable.
- ``console_privacy_locks``: one row per job name; the replica that holds the lease runs the job, the others
  skip it (several consoles, a CronJob next to the console's own schedule). ``last_day`` is the UTC day of
  the last finished scheduled run, so the daily job runs once a day whoever runs it.
"""

from __future__ import annotations

import hashlib
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from console.models import Base


def subject_digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()


class PrivacyAudit(Base):
    __tablename__ = "console_privacy_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float] = mapped_column(sa.Float, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))  # "agent:<username>", "cli:<os user>", "schedule"
    action: Mapped[str] = mapped_column(sa.String(16))  # export | erase | retain
    subject_kind: Mapped[str] = mapped_column(sa.String(16))  # customer | conversation | policy
    subject_digest: Mapped[str] = mapped_column(sa.String(64), index=True, default="")
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    counts_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # {store: {table: rows}}
    error: Mapped[Optional[str]] = mapped_column(sa.Text, nullable=True)


class PrivacyLock(Base):
    __tablename__ = "console_privacy_locks"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[Optional[str]] = mapped_column(sa.String(128), nullable=True)
    until: Mapped[float] = mapped_column(sa.Float, default=0.0)
    last_day: Mapped[Optional[str]] = mapped_column(sa.String(10), nullable=True)  # YYYY-MM-DD (UTC)
    last_finished_at: Mapped[Optional[float]] = mapped_column(sa.Float, nullable=True)
