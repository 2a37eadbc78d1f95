"""What the 微信客服 channel keeps between requests and restarts: the sync cursor of each account,
a ledger of the messages handed to the bot (by msgid), and the WeCom-side session state.

- **SQL** (SQLAlchemy): ``KEFU_WXKF_STATE_URL``, else ``KEFU_APP_DB_URL``, else a SQLite file
  ``wxkf_state.db`` in ``KEFU_VAR_DIR``; PostgreSQL when several Rasa replicas share it. The schema is migrated
  by ``kefu-migrate`` (store ``wechat_kf``) and checked here by :mod:`kernel.migrations.light`.
- **Redis** (``redis://…``): the same in keys, claims as a Lua script.

A message is *claimed* (with a lease and the claiming process's id) before it is handed to the bot
and *done* after; the cursor is stored only after every message of a page is done. A claim left by
a process that died is taken over after its lease (or at once by the same process); the caller
then asks the tracker whether the turn happened (:mod:`bot.channels.wechat_kf.sync`).
Ledger rows older than :data:`KEEP_SECONDS` (sync_msg returns 3 days) are deleted.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import sqlalchemy as sa

from kernel.migrations.light import ensure as ensure_schema
from kernel.state import redis_client

STATE_URL_ENV = "KEFU_WXKF_STATE_URL"
APP_DB_URL_ENV = "KEFU_APP_DB_URL"
#: How long a claim holds: longer than one bot turn.
LEASE_SECONDS = 120.0
#: sync_msg returns the last 3 days; one more day of margin.
KEEP_SECONDS = 4 * 86400

NEW, DONE, BUSY, STALE = "new", "done", "busy", "stale"
CLAIMED = "claimed"

metadata = sa.MetaData()
cursor_table = sa.Table(
    "kefu_wxkf_cursor",
    metadata,
    sa.Column("corp_id", sa.String(64), primary_key=True),
    sa.Column("open_kfid", sa.String(128), primary_key=True),
    sa.Column("cursor", sa.String(256), nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
ledger_table = sa.Table(
    "kefu_wxkf_messages",
    metadata,
    sa.Column("corp_id", sa.String(64), primary_key=True),
    sa.Column("msgid", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("claimed_until", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("done_at", sa.Float, nullable=True),
)
session_table = sa.Table(
    "kefu_wxkf_sessions",
    metadata,
    sa.Column("corp_id", sa.String(64), primary_key=True),
    sa.Column("open_kfid", sa.String(128), primary_key=True),
    sa.Column("external_userid", sa.String(128), primary_key=True),
    sa.Column("servicer", sa.String(128), nullable=False, default=""),
    sa.Column("updated_at", sa.Float, nullable=False),
)


def default_url(environ: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if environ is None else environ
    url = (env.get(STATE_URL_ENV) or env.get(APP_DB_URL_ENV) or "").strip()
    if url:
        return url
    var_dir = Path(env.get("KEFU_VAR_DIR") or "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir.resolve() / 'wxkf_state.db'}"


@dataclass(frozen=True)
class Claim:
    outcome: str  # NEW | DONE | BUSY | STALE


class SqlState:
    """The three tables; blocking SQL runs in a worker thread."""

    def __init__(self, url: str, corp_id: str, owner: str, lease: float = LEASE_SECONDS) -> None:
        self.corp_id = corp_id
        self.owner = owner
        self.lease = lease
        connect_args: Dict[str, Any] = {"timeout": 30, "check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, future=True)
        # the schema is kefu-migrate's (store wechat_kf); this process has no Alembic: the light check
        ensure_schema(self.engine, "wechat_kf", [cursor_table, ledger_table, session_table])

    def __repr__(self) -> str:  # the URL may carry a password
        return f"SqlState(dialect={self.engine.dialect.name!r})"

    # -- blocking parts ---------------------------------------------------------
    def _cursor(self, open_kfid: str) -> str:
        c = cursor_table.c
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(c.cursor).where(c.corp_id == self.corp_id, c.open_kfid == open_kfid)
            ).scalar()
        return value or ""

    def _save_cursor(self, open_kfid: str, cursor: str) -> None:
        c = cursor_table.c
        now = time.time()
        with self.engine.begin() as conn:
            updated = conn.execute(
                cursor_table.update()
                .where(c.corp_id == self.corp_id, c.open_kfid == open_kfid)
                .values(cursor=cursor, updated_at=now)
            ).rowcount
            if not updated:
                try:
                    with conn.begin_nested():
                        conn.execute(cursor_table.insert().values(
                            corp_id=self.corp_id, open_kfid=open_kfid, cursor=cursor, updated_at=now))
                except sa.exc.IntegrityError:  # another replica inserted it meanwhile
                    conn.execute(
                        cursor_table.update()
                        .where(c.corp_id == self.corp_id, c.open_kfid == open_kfid)
                        .values(cursor=cursor, updated_at=now)
                    )

    def _claim(self, msgid: str) -> str:
        c = ledger_table.c
        now = time.time()
        with self.engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(ledger_table.insert().values(
                        corp_id=self.corp_id, msgid=msgid, status=CLAIMED, owner=self.owner,
                        claimed_until=now + self.lease, created_at=now))
                return NEW
            except sa.exc.IntegrityError:
                pass
            taken = conn.execute(
                ledger_table.update()
                .where(
                    c.corp_id == self.corp_id, c.msgid == msgid, c.status == CLAIMED,
                    sa.or_(c.claimed_until < now, c.owner == self.owner),
                )
                .values(owner=self.owner, claimed_until=now + self.lease)
            ).rowcount
            if taken == 1:
                return STALE
            status = conn.execute(
                sa.select(c.status).where(c.corp_id == self.corp_id, c.msgid == msgid)
            ).scalar()
        return DONE if status == DONE else BUSY

    def _done(self, msgid: str) -> None:
        c = ledger_table.c
        with self.engine.begin() as conn:
            conn.execute(
                ledger_table.update()
                .where(c.corp_id == self.corp_id, c.msgid == msgid)
                .values(status=DONE, done_at=time.time())
            )

    def _servicer(self, open_kfid: str, external_userid: str) -> str:
        c = session_table.c
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(c.servicer).where(
                    c.corp_id == self.corp_id, c.open_kfid == open_kfid, c.external_userid == external_userid)
            ).scalar()
        return value or ""

    def _set_servicer(self, open_kfid: str, external_userid: str, servicer: str) -> None:
        c = session_table.c
        where = (c.corp_id == self.corp_id, c.open_kfid == open_kfid, c.external_userid == external_userid)
        with self.engine.begin() as conn:
            conn.execute(session_table.delete().where(*where))
            if servicer:
                conn.execute(session_table.insert().values(
                    corp_id=self.corp_id, open_kfid=open_kfid, external_userid=external_userid,
                    servicer=servicer, updated_at=time.time()))

    def _purge(self) -> int:
        c = ledger_table.c
        with self.engine.begin() as conn:
            return conn.execute(
                ledger_table.delete().where(c.corp_id == self.corp_id, c.created_at < time.time() - KEEP_SECONDS)
            ).rowcount

    def messages(self) -> Dict[str, str]:
        """msgid → status (tests and operators)."""
        c = ledger_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(c.msgid, c.status).where(c.corp_id == self.corp_id))
            return {row.msgid: row.status for row in rows}

    # -- async API ---------------------------------------------------------------
    async def cursor(self, open_kfid: str) -> str:
        return await asyncio.to_thread(self._cursor, open_kfid)

    async def save_cursor(self, open_kfid: str, cursor: str) -> None:
        await asyncio.to_thread(self._save_cursor, open_kfid, cursor)

    async def claim(self, msgid: str) -> str:
        return await asyncio.to_thread(self._claim, msgid)

    async def done(self, msgid: str) -> None:
        await asyncio.to_thread(self._done, msgid)

    async def servicer(self, open_kfid: str, external_userid: str) -> str:
        return await asyncio.to_thread(self._servicer, open_kfid, external_userid)

    async def set_servicer(self, open_kfid: str, external_userid: str, servicer: str) -> None:
        await asyncio.to_thread(self._set_servicer, open_kfid, external_userid, servicer)

    async def purge(self) -> int:
        return await asyncio.to_thread(self._purge)

    async def close(self) -> None:
        self.engine.dispose()


_CLAIM = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
if redis.call('HSETNX', key, 'status', 'claimed') == 1 then
  redis.call('HSET', key, 'owner', ARGV[2], 'claimed_until', ARGV[3])
  redis.call('EXPIRE', key, ARGV[4])
  return 'new'
end
if redis.call('HGET', key, 'status') == 'done' then return 'done' end
local until_ = tonumber(redis.call('HGET', key, 'claimed_until') or '0')
if until_ < now or redis.call('HGET', key, 'owner') == ARGV[2] then
  redis.call('HSET', key, 'owner', ARGV[2], 'claimed_until', ARGV[3])
  return 'stale'
end
return 'busy'
"""


class RedisState:
    """The same state in Redis (``KEFU_WXKF_STATE_URL=redis://…``); give that Redis persistence (AOF)."""

    def __init__(self, url: str, corp_id: str, owner: str, lease: float = LEASE_SECONDS,
                 prefix: str = "kefu:wxkf") -> None:
        self.redis = redis_client(url, decode_responses=True)
        self.corp_id = corp_id
        self.owner = owner
        self.lease = lease
        self.prefix = f"{prefix}:{corp_id}"

    def __repr__(self) -> str:
        return "RedisState()"

    async def cursor(self, open_kfid: str) -> str:
        return await self.redis.get(f"{self.prefix}:cursor:{open_kfid}") or ""

    async def save_cursor(self, open_kfid: str, cursor: str) -> None:
        await self.redis.set(f"{self.prefix}:cursor:{open_kfid}", cursor)

    async def claim(self, msgid: str) -> str:
        now = time.time()
        return str(await self.redis.eval(
            _CLAIM, 1, f"{self.prefix}:msg:{msgid}", repr(now), self.owner, repr(now + self.lease), str(KEEP_SECONDS)))

    async def done(self, msgid: str) -> None:
        await self.redis.hset(f"{self.prefix}:msg:{msgid}", "status", DONE)

    async def servicer(self, open_kfid: str, external_userid: str) -> str:
        return await self.redis.get(f"{self.prefix}:servicer:{open_kfid}:{external_userid}") or ""

    async def set_servicer(self, open_kfid: str, external_userid: str, servicer: str) -> None:
        key = f"{self.prefix}:servicer:{open_kfid}:{external_userid}"
        if servicer:
            await self.redis.set(key, servicer, ex=KEEP_SECONDS)
        else:
            await self.redis.delete(key)

    async def purge(self) -> int:
        return 0  # ledger keys expire on their own

    async def close(self) -> None:
        await self.redis.close()


def open_state(url: str, corp_id: str, owner: str, lease: float = LEASE_SECONDS) -> Any:
    """:class:`RedisState` for a ``redis://``/``rediss://`` URL, else :class:`SqlState`."""
    if url.startswith(("redis://", "rediss://")):
        return RedisState(url, corp_id, owner, lease)
    return SqlState(url, corp_id, owner, lease)
