"""A durable outbox for customer-service messages: a late reply survives a failed send and a restart.

WeChat takes a passive reply only within 5 seconds; anything later (a slow turn, the rest of a
long answer, an agent's message that met a timeout) goes through the customer-service message
API, which can time out, be busy or be down. Such a message is first written here, then sent;
:class:`OutboxSender` (a background task of the channel, started with the server) drains the due
rows, retries with exponential backoff, and gives up after a bounded number of tries with a
logged error.

- **Durable**: one SQL table (SQLAlchemy; ``KEFU_WECHAT_OUTBOX_URL``, else ``KEFU_APP_DB_URL``, else a SQLite file
  ``wechat_outbox.db`` in ``KEFU_VAR_DIR``; PostgreSQL when several Rasa replicas share it; its schema is
  migrated by ``kefu-migrate``, store ``wechat_outbox``, and checked here by :mod:`kernel.migrations.light`), or
  Redis (:class:`RedisOutbox`, for a ``redis://`` URL). A process that stops with rows pending
  sends them when it (or another replica) starts again.
- **Claimed atomically**: a row is sent by whoever flips it from free to claimed in one
  conditional ``UPDATE`` (``rowcount == 1``; in Redis a Lua script); two replicas never send one row twice. A claim is a
  lease: a sender that died mid-send frees the row when the lease ends.
- **In order per recipient**: a row is not sent while an earlier row for the same recipient is
  still pending.
- **Refusals are final**: errcodes that say the message can never be delivered (48-hour window,
  unsubscribed, invalid user...) end the row at once (:data:`REFUSED_ERRCODES`).

Exactly once, except in one window: WeChat's API has no idempotency key, so a process killed
after WeChat accepted a message but before the row was marked sent sends it again after the
lease (at least once there). Rows are kept (status ``sent``/``failed``) for
``KEFU_WECHAT_OUTBOX_KEEP_DAYS`` days for audits, then deleted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set

import sqlalchemy as sa

from kernel.migrations.light import ensure as ensure_schema
from kernel.state import redis_client, sync_redis_client

logger = logging.getLogger(__name__)

OUTBOX_URL_ENV = "KEFU_WECHAT_OUTBOX_URL"
APP_DB_URL_ENV = "KEFU_APP_DB_URL"
MAX_ATTEMPTS_ENV = "KEFU_WECHAT_OUTBOX_MAX_ATTEMPTS"
BASE_DELAY_ENV = "KEFU_WECHAT_OUTBOX_RETRY_SECONDS"
KEEP_DAYS_ENV = "KEFU_WECHAT_OUTBOX_KEEP_DAYS"
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BASE_DELAY = 2.0
MAX_DELAY = 600.0
DEFAULT_KEEP_DAYS = 7
#: How long a claim holds: longer than one send (2 tries of the client's 5 s timeout).
LEASE_SECONDS = 60.0
#: Between two looks at the table when nothing is due locally (rows from other replicas).
POLL_SECONDS = 2.0
BATCH = 100

#: The API says this message can never be delivered: no retry.
REFUSED_ERRCODES = frozenset(
    {
        40003,  # invalid openid
        43004,  # the user has unsubscribed
        43019,  # the user blocked the account
        45015,  # out of the 48-hour customer-service window
        45047,  # too many messages since the user last wrote
        81013,  # WeCom: invalid user
        45002,  # content too long (a bug; retrying cannot help)
        44002,  # empty post data
        44003,  # empty content
    }
)

PENDING, SENT, FAILED = "pending", "sent", "failed"

metadata = sa.MetaData()
outbox_table = sa.Table(
    "kefu_wechat_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),  # wechat | wecom
    sa.Column("account", sa.String(128), nullable=False),  # AppID or CorpID:AgentID
    sa.Column("recipient", sa.String(256), nullable=False),  # openid / UserID
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default=PENDING),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("claimed_until", sa.Float, nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("last_error", sa.String(256), nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Index("ix_kefu_wechat_outbox_due", "status", "next_attempt_at"),
)


def default_url(environ: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if environ is None else environ
    # Scale-out deployments already give every process Kefu's own application database
    # (KEFU_APP_DB_URL, PostgreSQL): the replicas then share one durable outbox.
    url = (env.get(OUTBOX_URL_ENV) or env.get(APP_DB_URL_ENV) or "").strip()
    if url:
        return url
    var_dir = Path(env.get("KEFU_VAR_DIR") or "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir.resolve() / 'wechat_outbox.db'}"


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class OutboxSettings:
    url: str
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    keep_days: float = DEFAULT_KEEP_DAYS

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> OutboxSettings:
        env = os.environ if environ is None else environ
        return cls(
            url=default_url(env),
            max_attempts=int(_positive(env, MAX_ATTEMPTS_ENV, DEFAULT_MAX_ATTEMPTS)),
            base_delay=_positive(env, BASE_DELAY_ENV, DEFAULT_BASE_DELAY),
            keep_days=_positive(env, KEEP_DAYS_ENV, DEFAULT_KEEP_DAYS),
        )

    def delay(self, attempts: int) -> float:
        """Seconds before try ``attempts + 1``: base, 2×base, 4×base… at most 10 minutes."""
        return min(self.base_delay * (2 ** max(attempts - 1, 0)), MAX_DELAY)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    channel: str
    account: str
    recipient: str
    text: str
    attempts: int


def _masked(user: str) -> str:
    return f"{user[:3]}…{user[-3:]}" if len(user) > 8 else user[:2] + "…"


class SqlOutbox:
    """The table and its atomic operations. Blocking SQL runs in a worker thread."""

    def __init__(self, settings: OutboxSettings) -> None:
        self.settings = settings
        connect_args: Dict[str, Any] = {}
        if settings.url.startswith("sqlite"):
            connect_args = {"timeout": 30, "check_same_thread": False}
        self.engine = sa.create_engine(settings.url, connect_args=connect_args, pool_pre_ping=True, future=True)
        # the schema is kefu-migrate's (store wechat_outbox); this process has no Alembic: the light check
        ensure_schema(self.engine, "wechat_outbox", [outbox_table])

    def __repr__(self) -> str:  # the URL may carry a password
        return f"SqlOutbox(dialect={self.engine.dialect.name!r})"

    # -- blocking parts ---------------------------------------------------------
    def _put(self, channel: str, account: str, recipient: str, texts: Sequence[str]) -> List[int]:
        now = time.time()
        ids: List[int] = []
        with self.engine.begin() as conn:
            for text in texts:
                result = conn.execute(
                    outbox_table.insert().values(
                        channel=channel, account=account, recipient=recipient, text=text, status=PENDING,
                        attempts=0, created_at=now, next_attempt_at=now,
                    )
                )
                ids.append(int(result.inserted_primary_key[0]))
        return ids

    def _candidates(self, channel: str, account: str, limit: int) -> List[Any]:
        query = (
            sa.select(outbox_table)
            .where(outbox_table.c.channel == channel, outbox_table.c.account == account, outbox_table.c.status == PENDING)
            .order_by(outbox_table.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def _claim(self, row_id: int, now: float, token: str) -> bool:
        c = outbox_table.c
        with self.engine.begin() as conn:
            result = conn.execute(
                outbox_table.update()
                .where(
                    c.id == row_id, c.status == PENDING, c.next_attempt_at <= now,
                    sa.or_(c.claimed_until.is_(None), c.claimed_until < now),
                )
                .values(claimed_until=now + LEASE_SECONDS, claim_token=token, attempts=c.attempts + 1)
            )
            return result.rowcount == 1

    def _finish(self, row_id: int, token: str, status: str, error: Optional[str]) -> None:
        c = outbox_table.c
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(c.id == row_id, c.claim_token == token)
                .values(status=status, finished_at=time.time(), claimed_until=None, last_error=error)
            )

    def _postpone(self, row_id: int, token: str, at: float, error: str) -> None:
        c = outbox_table.c
        with self.engine.begin() as conn:
            conn.execute(
                outbox_table.update()
                .where(c.id == row_id, c.claim_token == token)
                .values(next_attempt_at=at, claimed_until=None, last_error=error)
            )

    def _next_due(self, channel: str, account: str) -> Optional[float]:
        c = outbox_table.c
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(sa.func.coalesce(c.claimed_until, c.next_attempt_at))).where(
                    c.channel == channel, c.account == account, c.status == PENDING
                )
            ).scalar()
        return None if value is None else float(value)

    def _purge(self, before: float) -> int:
        c = outbox_table.c
        with self.engine.begin() as conn:
            return conn.execute(outbox_table.delete().where(c.status != PENDING, c.finished_at < before)).rowcount

    def rows(self, recipient: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every row (tests and operators)."""
        query = sa.select(outbox_table).order_by(outbox_table.c.id)
        if recipient is not None:
            query = query.where(outbox_table.c.recipient == recipient)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- async API ---------------------------------------------------------------
    async def put(self, channel: str, account: str, recipient: str, texts: Sequence[str]) -> List[int]:
        return await asyncio.to_thread(self._put, channel, account, recipient, list(texts))

    async def candidates(self, channel: str, account: str, limit: int = BATCH) -> List[Any]:
        return await asyncio.to_thread(self._candidates, channel, account, limit)

    async def claim(self, row_id: int, token: str) -> bool:
        return await asyncio.to_thread(self._claim, row_id, time.time(), token)

    async def finish(self, row_id: int, token: str, status: str, error: Optional[str] = None) -> None:
        await asyncio.to_thread(self._finish, row_id, token, status, error)

    async def postpone(self, row_id: int, token: str, at: float, error: str) -> None:
        await asyncio.to_thread(self._postpone, row_id, token, at, error)

    async def next_due(self, channel: str, account: str) -> Optional[float]:
        return await asyncio.to_thread(self._next_due, channel, account)

    async def purge(self) -> int:
        return await asyncio.to_thread(self._purge, time.time() - self.settings.keep_days * 86400)

    def close(self) -> None:
        self.engine.dispose()


_CLAIM = """
local row = KEYS[1]
if redis.call('HGET', row, 'status') ~= 'pending' then return 0 end
if tonumber(redis.call('HGET', row, 'next_attempt_at')) > tonumber(ARGV[1]) then return 0 end
local claimed = redis.call('HGET', row, 'claimed_until')
if claimed and claimed ~= '' and tonumber(claimed) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', row, 'claimed_until', ARGV[2], 'claim_token', ARGV[3])
redis.call('HINCRBY', row, 'attempts', 1)
return 1
"""

_FINISH = """
local row = KEYS[1]
if redis.call('HGET', row, 'claim_token') ~= ARGV[1] then return 0 end
redis.call('HSET', row, 'status', ARGV[2], 'finished_at', ARGV[3], 'claimed_until', '', 'last_error', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('EXPIRE', row, ARGV[6])
return 1
"""

_POSTPONE = """
local row = KEYS[1]
if redis.call('HGET', row, 'claim_token') ~= ARGV[1] then return 0 end
redis.call('HSET', row, 'next_attempt_at', ARGV[2], 'claimed_until', '', 'last_error', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class _RedisRow:
    id: int
    channel: str
    account: str
    recipient: str
    text: str
    attempts: int


class RedisOutbox:
    """The same outbox in Redis (``KEFU_WECHAT_OUTBOX_URL=redis://…``): a hash per row, a sorted set of
    pending row ids per account (ordered by id), claims and completions as Lua scripts (atomic).
    Use a Redis with persistence (AOF) if a Redis restart must not lose pending rows."""

    def __init__(self, settings: OutboxSettings, prefix: str = "kefu:wechat:outbox") -> None:
        self.settings = settings
        self.prefix = prefix
        self.redis = redis_client(settings.url, decode_responses=True)

    def __repr__(self) -> str:
        return "RedisOutbox()"

    def _row(self, row_id: int) -> str:
        return f"{self.prefix}:row:{row_id}"

    def _pending(self, channel: str, account: str) -> str:
        return f"{self.prefix}:pending:{channel}:{account}"

    async def put(self, channel: str, account: str, recipient: str, texts: Sequence[str]) -> List[int]:
        now = time.time()
        ids: List[int] = []
        for text in texts:
            row_id = int(await self.redis.incr(f"{self.prefix}:next_id"))
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._row(row_id), mapping={
                    "id": row_id, "channel": channel, "account": account, "recipient": recipient, "text": text,
                    "status": PENDING, "attempts": 0, "created_at": now, "next_attempt_at": now,
                    "claimed_until": "", "claim_token": "", "last_error": "",
                })
                pipe.zadd(self._pending(channel, account), {str(row_id): row_id})
                await pipe.execute()
            ids.append(row_id)
        return ids

    async def _load(self, row_id: int) -> Dict[str, str]:
        return await self.redis.hgetall(self._row(row_id))

    async def candidates(self, channel: str, account: str, limit: int = BATCH) -> List[Any]:
        rows: List[Any] = []
        for member in await self.redis.zrange(self._pending(channel, account), 0, limit - 1):
            data = await self._load(int(member))
            if data.get("status") == PENDING:
                rows.append(_RedisRow(int(member), data["channel"], data["account"], data["recipient"], data["text"],
                                      int(data.get("attempts") or 0)))
        return rows

    async def claim(self, row_id: int, token: str) -> bool:
        now = time.time()
        return bool(await self.redis.eval(_CLAIM, 1, self._row(row_id), repr(now), repr(now + LEASE_SECONDS), token))

    async def finish(self, row_id: int, token: str, status: str, error: Optional[str] = None) -> None:
        data = await self._load(row_id)
        keep = int(self.settings.keep_days * 86400)
        await self.redis.eval(
            _FINISH, 2, self._row(row_id), self._pending(data.get("channel", ""), data.get("account", "")),
            token, status, repr(time.time()), error or "", str(row_id), str(max(keep, 1)),
        )

    async def postpone(self, row_id: int, token: str, at: float, error: str) -> None:
        await self.redis.eval(_POSTPONE, 1, self._row(row_id), token, repr(at), error)

    async def next_due(self, channel: str, account: str) -> Optional[float]:
        due: Optional[float] = None
        for member in await self.redis.zrange(self._pending(channel, account), 0, BATCH - 1):
            data = await self._load(int(member))
            at = float(data.get("claimed_until") or data.get("next_attempt_at") or 0)
            due = at if due is None else min(due, at)
        return due

    async def purge(self) -> int:
        return 0  # finished rows expire on their own

    def rows(self, recipient: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every row still kept (tests and operators); synchronous, like :meth:`SqlOutbox.rows`."""
        client = sync_redis_client(self.settings.url, decode_responses=True)
        try:
            found = []
            for key in client.scan_iter(f"{self.prefix}:row:*"):
                data: Dict[str, Any] = client.hgetall(key)
                if recipient is None or data.get("recipient") == recipient:
                    data["id"], data["attempts"] = int(data["id"]), int(data.get("attempts") or 0)
                    found.append(data)
            return sorted(found, key=lambda row: row["id"])
        finally:
            client.close()

    def close(self) -> None:
        """The asyncio client closes with its event loop."""


def open_outbox(settings: OutboxSettings) -> Any:
    """:class:`RedisOutbox` for a ``redis://``/``rediss://`` URL, else :class:`SqlOutbox`."""
    if settings.url.startswith(("redis://", "rediss://")):
        return RedisOutbox(settings)
    return SqlOutbox(settings)


#: Sends one text to one recipient; raises ``ApiError`` (with ``errcode``) on failure.
SendText = Callable[[str, str], Awaitable[None]]


class OutboxSender:
    """Drains one account's rows: started with the server, woken when a row is added locally."""

    def __init__(
        self, outbox: Any, channel: str, account: str, send: SendText, refused: FrozenSet[int] = REFUSED_ERRCODES
    ) -> None:
        self.outbox = outbox
        self.channel = channel
        self.account = account
        self.send = send
        #: errcodes that end a row at once (微信客服 has its own: bot/channels/wechat_kf/protocol.py)
        self.refused = refused
        self.settings = outbox.settings
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task[Any]] = None
        self._stopping = False

    async def put(self, recipient: str, texts: Sequence[str]) -> None:
        """Store the texts durably (before any send), then wake the sender."""
        if not texts:
            return
        ids = await self.outbox.put(self.channel, self.account, recipient, texts)
        logger.info("%s.outbox_queued user=%s rows=%s", self.channel, _masked(recipient), ids)
        self.start()  # normally running since the server started; this covers use without Sanic
        self._wake.set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name=f"kefu-{self.channel}-outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            except Exception:
                logger.exception("%s.outbox_stop_failed", self.channel)
            self._task = None

    async def _run(self) -> None:
        try:
            purged = await self.outbox.purge()
            if purged:
                logger.info("%s.outbox_purged rows=%d", self.channel, purged)
        except Exception as error:
            logger.warning("%s.outbox_purge_failed error=%s", self.channel, type(error).__name__)
        while not self._stopping:
            try:
                await self.drain_once()
                wait = POLL_SECONDS
                due = await self.outbox.next_due(self.channel, self.account)
                if due is not None:
                    wait = min(max(due - time.time(), 0.05), POLL_SECONDS)
            except Exception as error:  # the database is down: try again later, never die
                logger.error("%s.outbox_unavailable error=%s", self.channel, type(error).__name__)
                wait = POLL_SECONDS
            # Not asyncio.wait_for(self._wake.wait()): on Python 3.10 it swallows a cancellation that arrives
            # when the wake-up is already set (a put() during the drain), and this loop then runs forever; that
            # hung `asyncio.run` in CI (stops 31 and 33: py-spy showed runners._cancel_all_tasks waiting on it).
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=wait)
            finally:
                waiter.cancel()
            self._wake.clear()

    async def drain_once(self) -> int:
        """Send every due row this sender can claim, in order per recipient; the number sent."""
        sent = 0
        blocked: Set[str] = set()
        for row in await self.outbox.candidates(self.channel, self.account):
            if self._stopping:
                break
            if row.recipient in blocked:
                continue
            token = secrets.token_hex(16)
            if not await self.outbox.claim(row.id, token):
                blocked.add(row.recipient)  # not due, or another replica has it: keep the order
                continue
            if await self._send_row(OutboxRow(row.id, row.channel, row.account, row.recipient, row.text, row.attempts + 1), token):
                sent += 1
            else:
                blocked.add(row.recipient)
        return sent

    async def _send_row(self, row: OutboxRow, token: str) -> bool:
        try:
            await self.send(row.recipient, row.text)
        except Exception as error:
            errcode = getattr(error, "errcode", None)
            reason = f"errcode {errcode}" if errcode is not None else type(error).__name__
            if errcode in self.refused:
                await self.outbox.finish(row.id, token, FAILED, reason)
                logger.error(
                    "%s.outbox_refused user=%s row=%d errcode=%s not retried",
                    self.channel, _masked(row.recipient), row.id, errcode,
                )
                return False
            if row.attempts >= self.settings.max_attempts:
                await self.outbox.finish(row.id, token, FAILED, reason)
                logger.error(
                    "%s.outbox_gave_up user=%s row=%d attempts=%d last_error=%s",
                    self.channel, _masked(row.recipient), row.id, row.attempts, reason,
                )
                return False
            delay = self.settings.delay(row.attempts)
            await self.outbox.postpone(row.id, token, time.time() + delay, reason)
            logger.warning(
                "%s.outbox_retry user=%s row=%d attempt=%d error=%s next_in=%.1fs",
                self.channel, _masked(row.recipient), row.id, row.attempts, reason, delay,
            )
            return False
        await self.outbox.finish(row.id, token, SENT)
        logger.info("%s.outbox_sent user=%s row=%d attempt=%d", self.channel, _masked(row.recipient), row.id, row.attempts)
        return True
