"""Access, erasure and retention across every store, with the audit record and the job lock.

- :meth:`Privacy.export`: everything about one customer (all their conversations) or one conversation, as
  JSON-ready data, store by store.
- :meth:`Privacy.erase`: the same scope deleted or anonymised (``dry_run``: counted, nothing changed).
- :meth:`Privacy.retain`: what the retention policy says is due, kind by kind; holds the ``retention`` lock
  so that one replica runs it at a time.

Each call writes one ``console_privacy_audit`` row (also a dry run, also a failure).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from console.privacy.models import PrivacyAudit, PrivacyLock, subject_digest
from console.privacy.policy import KINDS, Policy
from console.privacy.stores import Locations, Scope, Stores, Tokens
from console.privacy.subjects import Subject

log = logging.getLogger("kefu.console.privacy")

RETENTION_LOCK = "retention"
#: a retention run holds its lock this long; a replica that died frees it when the lease ends
LOCK_SECONDS = 3600.0
Report = Dict[str, Dict[str, int]]


class NotFound(LookupError):
    """No store holds anything about the subject."""


@dataclass
class RetainResult:
    ran: bool
    report: Report
    reason: str = ""


def _merge(report: Report, store: str, counts: Dict[str, int]) -> None:
    into = report.setdefault(store, {})
    for table, n in counts.items():
        into[table] = into.get(table, 0) + int(n)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


class Privacy:
    def __init__(self, engine: sa.Engine, where: Locations, policy: Policy,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.where = where
        self.policy = policy
        self.clock = clock

    def _stores(self) -> Stores:
        return Stores.open(self.where, self.engine)

    # -- scope
    def scope(self, stores: Stores, subject: Subject) -> Scope:
        if subject.kind == "conversation":
            return Scope(senders={subject.value})
        customers = {subject.value}
        senders = stores.console.senders_of(customers) | stores.shop.senders_of(customers)
        return Scope(senders=senders, customers=customers)

    # -- audit
    def _audit(self, actor: str, action: str, subject_kind: str, digest: str, dry_run: bool,
               counts: Any, error: Optional[str] = None) -> None:
        with Session(self.engine) as session, session.begin():
            session.add(PrivacyAudit(at=self.clock(), actor=actor[:128], action=action, subject_kind=subject_kind,
                                     subject_digest=digest, dry_run=dry_run,
                                     counts_json=json.dumps(counts, sort_keys=True), error=error))

    def audit_log(self, limit: int = 100) -> list:
        with Session(self.engine) as session:
            rows = session.scalars(sa.select(PrivacyAudit).order_by(PrivacyAudit.id.desc()).limit(limit))
            return [{"id": r.id, "at": datetime.fromtimestamp(r.at, tz=timezone.utc).isoformat(), "actor": r.actor,
                     "action": r.action, "subject_kind": r.subject_kind, "subject_digest": r.subject_digest,
                     "dry_run": r.dry_run, "counts": json.loads(r.counts_json or "{}"), "error": r.error}
                    for r in rows]

    # -- access
    def export(self, subject: Subject, actor: str) -> Dict[str, Any]:
        stores = self._stores()
        try:
            scope = self.scope(stores, subject)
            data: Dict[str, Any] = {
                "subject": {"kind": subject.kind, "id": subject.value},
                "exported_at": datetime.fromtimestamp(self.clock(), tz=timezone.utc).isoformat(),
                "conversation_ids": sorted(scope.senders),
                "console": stores.console.export(scope),
                "rasa": stores.rasa.export(scope),
                "knowledge_base": stores.unanswered.export(scope),
                "notifier": stores.app.export(scope),
                "wechat_outbox": stores.outbox.export(scope),
                "shop": stores.shop.export(scope),
            }
        finally:
            stores.close()
        counts = {store: {table: len(rows) for table, rows in tables.items() if isinstance(rows, list)}
                  for store, tables in data.items() if isinstance(tables, dict) and store != "subject"}
        if not any(sum(tables.values()) for tables in counts.values()):
            self._audit(actor, "export", subject.kind, subject_digest(subject.kind, subject.value), False, counts,
                        "nothing found")
            raise NotFound(f"no store holds anything about {subject.describe()}")
        self._audit(actor, "export", subject.kind, subject_digest(subject.kind, subject.value), False, counts)
        log.info("privacy.export kind=%s actor=%s", subject.kind, actor)
        return data

    # -- erasure
    def erase(self, subject: Subject, actor: str, dry_run: bool = False) -> Dict[str, Any]:
        stores = self._stores()
        batch = self.policy.batch
        report: Report = {}
        try:
            scope = self.scope(stores, subject)
            # what feeds the others first: the broker's rows (the console's tail) before the console's copy
            for store, counts in stores.rasa.erase(scope, dry_run, batch).items():
                _merge(report, store, counts)
            _merge(report, "console", stores.console.erase(scope, Tokens(), dry_run, batch))
            _merge(report, "knowledge_base", stores.unanswered.erase(scope, dry_run, batch))
            _merge(report, "notifier", stores.app.erase(scope, dry_run, batch))
            _merge(report, "wechat_outbox", stores.outbox.erase(scope, dry_run, batch))
            _merge(report, "shop", stores.shop.erase(scope, dry_run, batch))
        except Exception as error:
            self._audit(actor, "erase", subject.kind, subject_digest(subject.kind, subject.value), dry_run, report,
                        f"{type(error).__name__}: {error}"[:500])
            raise
        finally:
            stores.close()
        touched = sum(n for tables in report.values() for n in tables.values())
        digest = subject_digest(subject.kind, subject.value)
        if not touched:
            self._audit(actor, "erase", subject.kind, digest, dry_run, report, "nothing found")
            raise NotFound(f"no store holds anything about {subject.describe()}")
        self._audit(actor, "erase", subject.kind, digest, dry_run, report)
        log.info("privacy.erase kind=%s actor=%s dry_run=%s rows=%d", subject.kind, actor, dry_run, touched)
        return {"subject": {"kind": subject.kind, "id": subject.value}, "dry_run": dry_run,
                "conversations": len(scope.senders), "rows": report}

    # -- retention
    def _acquire(self, now: float, holder: str) -> bool:
        """Take the retention lease (a row per job: an insert the primary key lets one replica win, or a
        conditional update of an expired lease)."""
        try:
            with Session(self.engine) as session, session.begin():
                session.add(PrivacyLock(name=RETENTION_LOCK, holder=holder, until=now + LOCK_SECONDS))
            return True
        except sa_exc.IntegrityError:
            pass
        with self.engine.begin() as conn:
            taken = conn.execute(sa.update(PrivacyLock).where(
                PrivacyLock.name == RETENTION_LOCK,
                sa.or_(PrivacyLock.until < now, PrivacyLock.holder == holder))
                .values(holder=holder, until=now + LOCK_SECONDS)).rowcount
        return taken == 1

    def _release(self, holder: str, day: Optional[str]) -> None:
        values: Dict[str, Any] = {"holder": None, "until": 0.0}
        if day is not None:
            values.update(last_day=day, last_finished_at=self.clock())
        with self.engine.begin() as conn:
            conn.execute(sa.update(PrivacyLock).where(PrivacyLock.name == RETENTION_LOCK,
                                                      PrivacyLock.holder == holder).values(**values))

    def last_run_day(self) -> Optional[str]:
        with Session(self.engine) as session:
            row = session.get(PrivacyLock, RETENTION_LOCK)
            return row.last_day if row is not None else None

    def retain(self, actor: str, dry_run: bool = False, scheduled_day: Optional[str] = None) -> RetainResult:
        """Run the retention policy. ``scheduled_day`` (the daily run): skipped when that day's run is done."""
        now = self.clock()
        holder = _holder()
        if not dry_run:
            if not self._acquire(now, holder):
                return RetainResult(False, {}, "another replica is running the retention job")
            if scheduled_day is not None and self.last_run_day() == scheduled_day:
                self._release(holder, None)
                return RetainResult(False, {}, f"the retention job already ran on {scheduled_day}")
        report: Report = {}
        stores = self._stores()
        batch = self.policy.batch
        finished = False
        try:
            for kind in KINDS:
                cutoff = self.policy.cutoff(kind, now)
                if cutoff is None:
                    continue
                if kind == "transcripts":
                    for store, counts in stores.rasa.retain(cutoff, dry_run, batch).items():
                        _merge(report, store, counts)
                    _merge(report, "console", stores.console.retain(kind, cutoff, Tokens(), dry_run, batch))
                elif kind in ("tickets", "leads", "feedback"):
                    _merge(report, "console", stores.console.retain(kind, cutoff, Tokens(), dry_run, batch))
                elif kind == "unanswered":
                    _merge(report, "knowledge_base", stores.unanswered.retain(cutoff, dry_run, batch))
                elif kind == "notices":
                    _merge(report, "notifier", stores.app.retain(cutoff, dry_run, batch))
                    _merge(report, "shop", stores.shop.retain(cutoff, dry_run, batch))
                    _merge(report, "wechat_outbox", stores.outbox.retain(cutoff, dry_run, batch))
            finished = True
        except Exception as error:
            self._audit(actor, "retain", "policy", "", dry_run, report, f"{type(error).__name__}: {error}"[:500])
            raise
        finally:
            stores.close()
            if not dry_run:
                self._release(holder, (scheduled_day or datetime.fromtimestamp(now, tz=timezone.utc)
                                       .strftime("%Y-%m-%d")) if finished else None)
        self._audit(actor, "retain", "policy", "", dry_run, {"days": self.policy.days, "rows": report})
        log.info("privacy.retain actor=%s dry_run=%s rows=%d", actor, dry_run,
                 sum(n for tables in report.values() for n in tables.values()))
        return RetainResult(True, report)
