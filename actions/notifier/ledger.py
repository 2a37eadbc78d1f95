"""The notifier's record of every notice: who claimed it, whether it went out, and the customers who opted out.

Two tables in the application database (``KEFU_APP_DB_URL``; SQLite by default, PostgreSQL with several
replicas), through SQLAlchemy Core:

- ``kefu_notices``: one row per notice, keyed by what it is about (``restock:<subscription id>``). A notifier
  *claims* a notice before it sends it: the first claim is an INSERT that the key's unique constraint lets one
  replica win; a later claim (a held notice whose retry time came, or a claim whose holder died: its lease ran
  out) is a conditional UPDATE that one replica wins. Only the holder of the claim may record the outcome.
- ``kefu_notice_optouts``: a conversation that said "别再通知我"; notices about requests made before that moment
  are cancelled, a later request subscribes again.
- ``kefu_order_watches``: orders a verified customer looked up, watched for 30 days (or until delivered or
  cancelled) so that a status change reaches the conversation; the status the customer was last told.

States: ``sending`` (claimed, lease running), ``sent``, ``held`` (the channel cannot take it now: WeChat's 48-hour
window; retried at ``next_try``), ``failed`` (the channel refused for good: unfollowed, blocked), ``cancelled``
(opted out). ``sent``, ``failed`` and ``cancelled`` are final.

Exactly once: a notice is sent only by the holder of its claim. If a notifier dies after the channel took the
message and before it wrote ``sent``, the lease runs out and another replica sends it again: that window (one
database write) is the only way a customer can get a notice twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

log = logging.getLogger("kefu.notifier.ledger")

FINAL = frozenset({"sent", "failed", "cancelled"})
MAX_DETAIL = 200

metadata = sa.MetaData()

notices = sa.Table(
    "kefu_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(256), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_try", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("detail", sa.String(MAX_DETAIL), nullable=True),
)

optouts = sa.Table(
    "kefu_notice_optouts",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("sender_id", sa.String(256), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


order_watches = sa.Table(
    "kefu_order_watches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.String(256), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),  # the status the customer was last told
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.UniqueConstraint("order_id", "channel", "sender_id"),
)


class LedgerUnavailable(RuntimeError):
    """The database did not answer; nothing was claimed or recorded."""


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    channel: str
    sender_id: str
    state: str
    attempts: int
    sent_at: Optional[datetime] = None
    detail: Optional[str] = None


@dataclass(frozen=True)
class OrderWatch:
    id: int
    order_id: str
    channel: str
    sender_id: str
    language: str
    status: str
    created_at: datetime


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        folder = Path(url[len("sqlite:///"):].split("?")[0]).parent
        if not folder.exists() and folder.parent.exists():  # var/ on a fresh checkout; never a whole tree
            folder.mkdir(exist_ok=True)
    if url.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": 15, "check_same_thread": False})
    return sa.create_engine(url, pool_pre_ping=True)


class Ledger:
    """Claims and outcomes of notices; ``owner`` names this notifier (host and pid) in its claims."""

    def __init__(self, url: str, owner: str, lease: timedelta = timedelta(minutes=5)) -> None:
        self.owner = owner[:64]
        self.lease = lease
        self.engine = create_engine(url)
        from kernel.migrations import ensure

        try:
            ensure(self.engine, "notifier")  # the schema by migration (kernel.migrations), never create_all
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"notice ledger unavailable: {type(error).__name__}") from error

    def _tx(self):  # noqa: ANN202 - a context manager of SQLAlchemy's
        return self.engine.begin()

    # -- claims -----------------------------------------------------------------------------------
    def claim(self, key: str, kind: str, channel: str, sender_id: str, now: Optional[datetime] = None) -> bool:
        """Whether this notifier now holds the claim on ``key`` (and may send it)."""
        now = now or _now()
        lease_until = now + self.lease
        try:
            with self._tx() as conn:
                conn.execute(notices.insert().values(
                    key=key, kind=kind, channel=channel[:32], sender_id=sender_id[:256], state="sending",
                    owner=self.owner, lease_until=lease_until, attempts=1, created_at=now,
                ))
            return True
        except sa_exc.IntegrityError:
            pass  # a row exists: take it over only when its retry time came or its holder's lease ran out
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"claim failed: {type(error).__name__}") from error
        due = sa.or_(
            sa.and_(notices.c.state == "held", notices.c.next_try <= now),
            sa.and_(notices.c.state == "sending", notices.c.lease_until < now),
        )
        try:
            with self._tx() as conn:
                result = conn.execute(
                    notices.update().where(notices.c.key == key, due).values(
                        state="sending", owner=self.owner, lease_until=lease_until,
                        attempts=notices.c.attempts + 1,
                    )
                )
            return result.rowcount == 1
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"claim failed: {type(error).__name__}") from error

    def _finish(self, key: str, **values: object) -> bool:
        try:
            with self._tx() as conn:
                result = conn.execute(
                    notices.update()
                    .where(notices.c.key == key, notices.c.owner == self.owner, notices.c.state == "sending")
                    .values(lease_until=None, **values)
                )
            return result.rowcount == 1
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"recording the outcome failed: {type(error).__name__}") from error

    def sent(self, key: str, now: Optional[datetime] = None) -> bool:
        return self._finish(key, state="sent", sent_at=now or _now(), next_try=None, detail=None)

    def held(self, key: str, retry_at: datetime, detail: str) -> bool:
        return self._finish(key, state="held", next_try=retry_at, detail=detail[:MAX_DETAIL])

    def failed(self, key: str, detail: str) -> bool:
        return self._finish(key, state="failed", next_try=None, detail=detail[:MAX_DETAIL])

    def cancel(self, key: str, kind: str, channel: str, sender_id: str, now: Optional[datetime] = None) -> None:
        """Record ``key`` as cancelled (opted out) unless it already went out or failed."""
        now = now or _now()
        try:
            with self._tx() as conn:
                updated = conn.execute(
                    notices.update().where(notices.c.key == key, notices.c.state.not_in(list(FINAL)))
                    .values(state="cancelled", lease_until=None, next_try=None, detail="opted out")
                ).rowcount
                exists = updated or conn.execute(sa.select(notices.c.id).where(notices.c.key == key)).first()
                if not exists:
                    conn.execute(notices.insert().values(
                        key=key, kind=kind, channel=channel[:32], sender_id=sender_id[:256], state="cancelled",
                        attempts=0, created_at=now, detail="opted out",
                    ))
        except sa_exc.IntegrityError:
            return  # another replica recorded it first
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"cancel failed: {type(error).__name__}") from error

    # -- reads ------------------------------------------------------------------------------------
    def states(self, keys: Iterable[str]) -> Dict[str, str]:
        """The state of each of ``keys`` that has a row."""
        wanted = list(dict.fromkeys(keys))
        out: Dict[str, str] = {}
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start:start + 500]
                    for key, state in conn.execute(
                        sa.select(notices.c.key, notices.c.state).where(notices.c.key.in_(chunk))
                    ):
                        out[key] = state
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"reading notices failed: {type(error).__name__}") from error
        return out

    def notice(self, key: str) -> Optional[Notice]:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(notices).where(notices.c.key == key)).mappings().first()
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"reading a notice failed: {type(error).__name__}") from error
        if row is None:
            return None
        return Notice(row["key"], row["kind"], row["channel"], row["sender_id"], row["state"], row["attempts"],
                      _utc(row["sent_at"]), row["detail"])

    def counts(self) -> Dict[str, int]:
        """How many notices are in each state (the health endpoint and the tests)."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(notices.c.state, sa.func.count()).group_by(notices.c.state)).all()
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"counting notices failed: {type(error).__name__}") from error
        return {state: int(n) for state, n in rows}

    # -- order watches ----------------------------------------------------------------------------
    def watch_order(self, order_id: str, channel: str, sender_id: str, language: str, status: str,
                    days: int = 30, now: Optional[datetime] = None) -> bool:
        """Watch an order the customer looked up (verified) in this conversation, from ``status`` on; True when
        the watch is new (or was over and starts again), False when it was already running."""
        now = now or _now()
        key = {"order_id": order_id[:32], "channel": channel[:32], "sender_id": sender_id[:256]}
        values = {"language": language[:8], "status": status[:24], "until": now + timedelta(days=days)}
        try:
            with self._tx() as conn:
                row = conn.execute(sa.select(order_watches.c.id, order_watches.c.active, order_watches.c.until).where(
                    *(order_watches.c[k] == v for k, v in key.items()))).first()
                if row is None:
                    conn.execute(order_watches.insert().values(created_at=now, active=True, **key, **values))
                    return True
                running = bool(row.active) and (_utc(row.until) or now) > now
                conn.execute(order_watches.update().where(order_watches.c.id == row.id).values(
                    active=True, **values, **({} if running else {"created_at": now})))
                return not running
        except sa_exc.IntegrityError:
            return False  # a concurrent lookup of the same order in the same conversation made it
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"watching the order failed: {type(error).__name__}") from error

    def active_watches(self, now: Optional[datetime] = None, limit: int = 5000) -> List[OrderWatch]:
        now = now or _now()
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(order_watches).where(
                    order_watches.c.active.is_(True), order_watches.c.until > now,
                ).order_by(order_watches.c.id).limit(limit)).mappings().all()
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"reading order watches failed: {type(error).__name__}") from error
        return [OrderWatch(r["id"], r["order_id"], r["channel"], r["sender_id"], r["language"], r["status"],
                           _utc(r["created_at"]) or now) for r in rows]

    def watch_told(self, watch_id: int, told: str, still_active: bool) -> None:
        """The customer now knows status ``told``; a final status (or an order gone) ends the watch."""
        try:
            with self._tx() as conn:
                conn.execute(order_watches.update().where(order_watches.c.id == watch_id).values(
                    status=told[:24], active=still_active))
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"updating an order watch failed: {type(error).__name__}") from error

    def end_watch(self, watch_id: int) -> None:
        try:
            with self._tx() as conn:
                conn.execute(order_watches.update().where(order_watches.c.id == watch_id).values(active=False))
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"ending an order watch failed: {type(error).__name__}") from error

    # -- opt-outs ---------------------------------------------------------------------------------
    def opt_out(self, channel: str, sender_id: str, now: Optional[datetime] = None) -> None:
        """The conversation asked for no more notices: requests made until now are cancelled."""
        now = now or _now()
        key = {"channel": channel[:32], "sender_id": sender_id[:256]}
        try:
            with self._tx() as conn:
                if conn.execute(optouts.update().where(
                    optouts.c.channel == key["channel"], optouts.c.sender_id == key["sender_id"]
                ).values(at=now)).rowcount == 0:
                    conn.execute(optouts.insert().values(at=now, **key))
        except sa_exc.IntegrityError:
            self.opt_out(channel, sender_id, now)  # a concurrent first opt-out: now the row exists
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"opt-out failed: {type(error).__name__}") from error

    def opted_out_at(self, channel: str, sender_id: str) -> Optional[datetime]:
        try:
            with self.engine.connect() as conn:
                at = conn.execute(sa.select(optouts.c.at).where(
                    optouts.c.channel == channel[:32], optouts.c.sender_id == sender_id[:256]
                )).scalar()
        except sa_exc.SQLAlchemyError as error:
            raise LedgerUnavailable(f"reading opt-outs failed: {type(error).__name__}") from error
        return _utc(at)

    def close(self) -> None:
        self.engine.dispose()


DEFAULT_DB_URL = "sqlite:///var/kefu_app.db"
_shared: Optional[Ledger] = None
_shared_lock = threading.Lock()


def set_shared_ledger(ledger: Optional[Ledger]) -> None:
    """Replace the process's ledger (tests, or an embedding application)."""
    global _shared
    with _shared_lock:
        _shared = ledger


def shared_ledger(env: Optional[Mapping[str, str]] = None) -> Ledger:
    """The process's ledger on ``KEFU_APP_DB_URL`` (the action server's opt-outs), opened on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            environ = os.environ if env is None else env
            _shared = Ledger(environ.get("KEFU_APP_DB_URL") or DEFAULT_DB_URL, f"{socket.gethostname()}:{os.getpid()}")
        return _shared
