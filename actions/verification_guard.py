"""Server-side lockout of phone-suffix verification: per order, per customer, per client IP.

Why: the per-conversation lock (3 wrong suffixes, slots ``order_verify_failures`` /
``order_lookup_locked``) only binds one conversation. A new REST ``sender``, a new socket.io
session or ``/restart`` started from zero, so 24 wrong suffixes from 12 senders and the right one
from a 13th revealed an order. The counts here live in a store every conversation (and every
action-server replica) shares, so the limit holds whoever asks.

What is counted: one *attempt* per phone-suffix check, under three subjects:

- the order number asked about (an unknown order number counts exactly like a wrong suffix,
  under its own number: the lock never says whether an order exists);
- the customer who owns the order (for an unknown order, a stand-in subject derived from the
  order number, so the work and the outcome are the same as for a real customer);
- the client IP (``metadata["kefu_client_ip"]``, set by the REST and socket.io channels; an
  IPv6 address counts per /64), when the message has one.

An attempt is *reserved* atomically before the comparison: if any subject already has its limit
of attempts in the sliding window, the check is refused without comparing (a right suffix
while locked reveals nothing). A right suffix releases its reservation (it does not count); a
wrong one keeps it, so it counts as a failure. Reserving first makes the limit hold under
concurrent guesses from many conversations and replicas. Attempts refused because of a lock
are not counted, so a lock lifts ``window`` seconds after the failures that caused it.

Backends (:func:`guard_from_env`):

- Redis (``KEFU_VERIFY_REDIS_URL``, else ``KEFU_RATE_LIMIT_REDIS_URL``): one sorted set per
  subject, reserved by a Lua script (atomic across replicas);
- SQL (``KEFU_VERIFY_DB_URL``; default a SQLite file ``verification.db`` in the var dir, so the
  embedded default survives an action-server restart): one row per attempt, reserved in one
  transaction (PostgreSQL: per-subject advisory locks; SQLite: the single writer lock);
- in-process (``KEFU_VERIFY_BACKEND=memory``): for tests and single-process experiments only.

Subjects are stored as SHA-256 digests (``subject_digest``): the store holds no order numbers,
customer ids or addresses. When the backend fails, :class:`GuardUnavailable` is raised and the
caller fails closed (no comparison; the customer is offered a human).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

from kernel.logs import mask_id, mask_ip
from kernel.state import sync_redis_client

log = logging.getLogger(__name__)

BACKEND_ENV = "KEFU_VERIFY_BACKEND"
REDIS_URL_ENV = "KEFU_VERIFY_REDIS_URL"
RATE_LIMIT_REDIS_URL_ENV = "KEFU_RATE_LIMIT_REDIS_URL"
DB_URL_ENV = "KEFU_VERIFY_DB_URL"
PER_ORDER_ENV = "KEFU_VERIFY_MAX_PER_ORDER"
PER_CUSTOMER_ENV = "KEFU_VERIFY_MAX_PER_CUSTOMER"
PER_IP_ENV = "KEFU_VERIFY_MAX_PER_IP"
WINDOW_ENV = "KEFU_VERIFY_WINDOW_SECONDS"

DEFAULT_PER_ORDER = 5
DEFAULT_PER_CUSTOMER = 10
DEFAULT_PER_IP = 20
DEFAULT_WINDOW_SECONDS = 3600.0
DB_FILE = "verification.db"
REDIS_PREFIX = "kefu:verify"
#: The in-process backend forgets the oldest subjects beyond this many (bounded memory).
MEMORY_MAX_SUBJECTS = 100_000
#: How often (seconds) the SQL backend deletes attempts older than the window.
SQL_PRUNE_EVERY = 300.0

SCOPE_ORDER = "order"
SCOPE_CUSTOMER = "customer"
SCOPE_IP = "ip"


class GuardUnavailable(RuntimeError):
    """The lockout store cannot be read or written: verification must fail closed."""


class GuardConfigError(ValueError):
    """A lockout setting is malformed (the message names the variable)."""


# ---------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GuardSettings:
    per_order: int = DEFAULT_PER_ORDER
    per_customer: int = DEFAULT_PER_CUSTOMER
    per_ip: int = DEFAULT_PER_IP  # 0: no per-IP limit
    window_seconds: float = DEFAULT_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if self.per_order < 1 or self.per_customer < 1:
            raise GuardConfigError("the per-order and per-customer limits must be at least 1")
        if self.per_ip < 0:
            raise GuardConfigError("the per-IP limit must be 0 (off) or more")
        if not (1.0 <= self.window_seconds <= 30 * 86400.0):
            raise GuardConfigError("the window must be between 1 second and 30 days")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> GuardSettings:
        def integer(name: str, default: int, minimum: int) -> int:
            raw = (env.get(name, "") or "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise GuardConfigError(f"{name} must be a whole number, not {raw!r}") from None
            if value < minimum:
                raise GuardConfigError(f"{name} must be at least {minimum}, not {value}")
            return value

        raw_window = (env.get(WINDOW_ENV, "") or "").strip()
        try:
            window = float(raw_window) if raw_window else DEFAULT_WINDOW_SECONDS
        except ValueError:
            raise GuardConfigError(f"{WINDOW_ENV} must be a number of seconds, not {raw_window!r}") from None
        if not (1.0 <= window <= 30 * 86400.0):
            raise GuardConfigError(f"{WINDOW_ENV} must be between 1 and 2592000 seconds, not {raw_window}")
        return cls(
            per_order=integer(PER_ORDER_ENV, DEFAULT_PER_ORDER, 1),
            per_customer=integer(PER_CUSTOMER_ENV, DEFAULT_PER_CUSTOMER, 1),
            per_ip=integer(PER_IP_ENV, DEFAULT_PER_IP, 0),
            window_seconds=window,
        )


# ---------------------------------------------------------------------------
# Subjects
# ---------------------------------------------------------------------------
def subject_digest(scope: str, value: str) -> str:
    """The stored form of a subject: hex SHA-256 of ``scope NUL value`` (no personal data at rest)."""
    return hashlib.sha256(f"{scope}\0{value}".encode()).hexdigest()


def normalise_ip(raw: Any) -> Optional[str]:
    """``"203.0.113.7"`` → itself; an IPv6 address → its /64 network; anything else → None."""
    if not isinstance(raw, str) or not raw or len(raw) > 64:
        return None
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


@dataclass(frozen=True)
class Subjects:
    """Who a suffix check is about. ``customer_id`` None: the order number is unknown."""

    order_id: str
    customer_id: Optional[str] = None
    client_ip: Optional[str] = None

    def limited(self, settings: GuardSettings) -> List[Tuple[str, str, int]]:
        """``(scope, digest, limit)`` per counted subject; the same shape for known and unknown orders."""
        customer = self.customer_id if self.customer_id else f"\0unknown-order\0{self.order_id}"
        out = [
            (SCOPE_ORDER, subject_digest(SCOPE_ORDER, self.order_id), settings.per_order),
            (SCOPE_CUSTOMER, subject_digest(SCOPE_CUSTOMER, customer), settings.per_customer),
        ]
        ip = normalise_ip(self.client_ip)
        if ip and settings.per_ip > 0:
            out.append((SCOPE_IP, subject_digest(SCOPE_IP, ip), settings.per_ip))
        return out


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt (``locked`` False) or a refusal (``locked`` True, nothing reserved)."""

    locked: bool
    #: scope -> attempts in the window (including this one when reserved)
    counts: Dict[str, int]
    limits: Dict[str, int]
    handle: Any = None

    @property
    def locked_scopes(self) -> List[str]:
        return [s for s, c in self.counts.items() if c >= self.limits[s]]

    @property
    def locks_if_failed(self) -> bool:
        """True when this attempt, if it turns out wrong, reaches a limit."""
        return not self.locked and bool(self.locked_scopes)


# ---------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------
class CounterBackend(Protocol):
    name: str

    def reserve(self, subjects: Sequence[Tuple[str, int]], now: float, window: float) -> Tuple[bool, List[int], Any]:
        """Atomically: if every subject has fewer than its limit in ``(now - window, now]``, add one
        attempt to each and return ``(True, counts including it, handle)``; else ``(False, counts, None)``."""

    def release(self, handle: Any) -> None:
        """Remove a reserved attempt (the suffix was right)."""

    def count(self, digest: str, now: float, window: float) -> int:
        """Attempts of one subject in the window (inspection and tests)."""


class MemoryBackend:
    """In-process sliding window: exact, bounded, lost on restart, not shared between processes."""

    name = "memory"

    def __init__(self, max_subjects: int = MEMORY_MAX_SUBJECTS) -> None:
        self._lock = threading.Lock()
        self._attempts: Dict[str, Deque[Tuple[float, str]]] = {}
        self._max = max_subjects

    def _live(self, digest: str, horizon: float) -> Deque[Tuple[float, str]]:
        q = self._attempts.get(digest)
        if q is None:
            return deque()
        while q and q[0][0] <= horizon:
            q.popleft()
        return q

    def reserve(self, subjects: Sequence[Tuple[str, int]], now: float, window: float) -> Tuple[bool, List[int], Any]:
        horizon = now - window
        with self._lock:
            counts = [len(self._live(d, horizon)) for d, _ in subjects]
            if any(c >= limit for c, (_, limit) in zip(counts, subjects, strict=True)):
                return False, counts, None
            attempt = uuid.uuid4().hex
            for digest, _ in subjects:
                self._attempts.setdefault(digest, deque()).append((now, attempt))
            self._evict(horizon)
            return True, [c + 1 for c in counts], (attempt, [d for d, _ in subjects])

    def _evict(self, horizon: float) -> None:
        if len(self._attempts) <= self._max:
            return
        for digest in [d for d, q in self._attempts.items() if not q or q[-1][0] <= horizon]:
            del self._attempts[digest]
        while len(self._attempts) > self._max:  # still full: forget the oldest subjects
            del self._attempts[next(iter(self._attempts))]

    def release(self, handle: Any) -> None:
        attempt, digests = handle
        with self._lock:
            for digest in digests:
                q = self._attempts.get(digest)
                if q is not None:
                    self._attempts[digest] = deque(e for e in q if e[1] != attempt)

    def count(self, digest: str, now: float, window: float) -> int:
        with self._lock:
            return len(self._live(digest, now - window))


_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local ttl_ms = tonumber(ARGV[3])
local member = ARGV[4]
local counts = {}
local refused = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', horizon)
  counts[i] = redis.call('ZCARD', key)
  if counts[i] >= tonumber(ARGV[4 + i]) then refused = 1 end
end
if refused == 0 then
  for i, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, member)
    redis.call('PEXPIRE', key, ttl_ms)
    counts[i] = counts[i] + 1
  end
end
table.insert(counts, 1, refused)
return counts
"""


class RedisBackend:
    """One sorted set per subject (``<prefix>:<digest>``, scores = attempt times), reserved by a Lua script."""

    name = "redis"

    def __init__(self, url: str, prefix: str = REDIS_PREFIX, client: Any = None) -> None:
        import redis

        self._errors: Tuple[type, ...] = (redis.RedisError, OSError)
        self.client = client or sync_redis_client(url)
        self.prefix = prefix
        self._script = self.client.register_script(_RESERVE_LUA)

    def key(self, digest: str) -> str:
        return f"{self.prefix}:{digest}"

    def reserve(self, subjects: Sequence[Tuple[str, int]], now: float, window: float) -> Tuple[bool, List[int], Any]:
        keys = [self.key(d) for d, _ in subjects]
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        ttl_ms = int(window * 1000) + 1000
        try:
            result = self._script(keys=keys, args=[repr(now), repr(now - window), ttl_ms, member,
                                                   *[limit for _, limit in subjects]])
        except self._errors as exc:
            raise GuardUnavailable(f"Redis lockout store failed: {type(exc).__name__}") from exc
        refused, counts = int(result[0]), [int(c) for c in result[1:]]
        return (not refused), counts, (None if refused else (member, keys))

    def release(self, handle: Any) -> None:
        member, keys = handle
        try:
            pipe = self.client.pipeline(transaction=True)
            for key in keys:
                pipe.zrem(key, member)
            pipe.execute()
        except self._errors as exc:
            raise GuardUnavailable(f"Redis lockout store failed: {type(exc).__name__}") from exc

    def count(self, digest: str, now: float, window: float) -> int:
        try:
            return int(self.client.zcount(self.key(digest), f"({now - window!r}", "+inf"))
        except self._errors as exc:
            raise GuardUnavailable(f"Redis lockout store failed: {type(exc).__name__}") from exc


class SqlBackend:
    """Table ``kefu_verify_attempts`` (one row per attempt and subject) on any SQLAlchemy database."""

    name = "sql"

    def __init__(self, url: str, engine: Any = None, clock: Callable[[], float] = time.time) -> None:
        import sqlalchemy as sa
        from sqlalchemy import exc as sa_exc

        self.sa, self._errors = sa, (sa_exc.SQLAlchemyError, OSError)
        if engine is None:
            if url.startswith("sqlite"):
                engine = sa.create_engine(url, connect_args={"timeout": 5, "check_same_thread": False})
            else:
                engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                                          connect_args={"connect_timeout": 3} if url.startswith("postgres") else {})
        self.engine = engine
        self.metadata = sa.MetaData()
        self.table = sa.Table(
            "kefu_verify_attempts",
            self.metadata,
            sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), primary_key=True,
                      autoincrement=True),
            sa.Column("subject", sa.String(64), nullable=False),
            sa.Column("attempt", sa.String(32), nullable=False),
            sa.Column("at", sa.Float, nullable=False),
            sa.Index("ix_kefu_verify_attempts_subject_at", "subject", "at"),
            sa.Index("ix_kefu_verify_attempts_at", "at"),
        )
        self._schema_ready = False
        self._last_prune = 0.0
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        from kernel.migrations import ensure

        ensure(self.engine, "verification")  # under the migration lock: replicas starting together are safe
        self._schema_ready = True

    def reserve(self, subjects: Sequence[Tuple[str, int]], now: float, window: float) -> Tuple[bool, List[int], Any]:
        sa, t = self.sa, self.table
        horizon = now - window
        attempt = uuid.uuid4().hex
        digests = [d for d, _ in subjects]
        try:
            self._ensure_schema()
            with self.engine.begin() as conn:
                if self._postgres:  # serialise reservations per subject across connections and replicas
                    for digest in sorted(set(digests)):
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(int(digest[:15], 16))))
                # insert first: on SQLite this takes the single writer lock before anything is counted
                conn.execute(t.insert(), [{"subject": d, "attempt": attempt, "at": now} for d in digests])
                rows = conn.execute(
                    sa.select(t.c.subject, sa.func.count())
                    .where(t.c.subject.in_(digests), t.c.at > horizon)
                    .group_by(t.c.subject)
                ).all()
                found = {subject: int(n) for subject, n in rows}
                counts = [found.get(d, 0) for d in digests]  # including this attempt
                if any(c > limit for c, (_, limit) in zip(counts, subjects, strict=True)):
                    conn.execute(t.delete().where(t.c.attempt == attempt))
                    return False, [c - 1 for c in counts], None
            self._maybe_prune(horizon)
            return True, counts, attempt
        except self._errors as exc:
            raise GuardUnavailable(f"SQL lockout store failed: {type(exc).__name__}") from exc

    def _maybe_prune(self, horizon: float) -> None:
        now = self._clock()
        if now - self._last_prune < SQL_PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.delete().where(self.table.c.at <= horizon))
        except self._errors as exc:  # pruning is housekeeping; the next reservation reports real failures
            log.warning("verification lockout: pruning old attempts failed: %s", type(exc).__name__)

    def release(self, handle: Any) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.delete().where(self.table.c.attempt == handle))
        except self._errors as exc:
            raise GuardUnavailable(f"SQL lockout store failed: {type(exc).__name__}") from exc

    def count(self, digest: str, now: float, window: float) -> int:
        sa, t = self.sa, self.table
        try:
            self._ensure_schema()
            with self.engine.connect() as conn:
                return int(conn.scalar(
                    sa.select(sa.func.count()).select_from(t).where(t.c.subject == digest, t.c.at > now - window)
                ) or 0)
        except self._errors as exc:
            raise GuardUnavailable(f"SQL lockout store failed: {type(exc).__name__}") from exc

    def dispose(self) -> None:
        self.engine.dispose()


# ---------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------
@dataclass
class VerificationGuard:
    backend: Any  # CounterBackend
    settings: GuardSettings = field(default_factory=GuardSettings)
    clock: Callable[[], float] = time.time

    def reserve(self, subjects: Subjects) -> Attempt:
        """Reserve one suffix check for ``subjects``, or refuse it when a limit is reached.

        Raises :class:`GuardUnavailable` when the store fails (the caller must fail closed).
        """
        limited = subjects.limited(self.settings)
        ok, counts, handle = self.backend.reserve(
            [(digest, limit) for _, digest, limit in limited], self.clock(), self.settings.window_seconds
        )
        attempt = Attempt(
            locked=not ok,
            counts={scope: c for (scope, _, _), c in zip(limited, counts, strict=True)},
            limits={scope: limit for scope, _, limit in limited},
            handle=handle,
        )
        if attempt.locked:
            log.warning(
                "verification refused: lockout on %s (order %s, client %s, counts %s)",
                ",".join(attempt.locked_scopes), mask_id(subjects.order_id), mask_ip(normalise_ip(subjects.client_ip)),
                attempt.counts,
            )
        return attempt

    def succeeded(self, attempt: Attempt) -> None:
        """The suffix was right: the reserved attempt does not count. Never raises."""
        if attempt.locked or attempt.handle is None:
            return
        try:
            self.backend.release(attempt.handle)
        except GuardUnavailable as exc:  # the attempt stays counted: safe, only stricter
            log.warning("verification lockout: could not release a successful attempt: %s", exc)

    def failed(self, subjects: Subjects, attempt: Attempt) -> None:
        """The suffix was wrong: the reservation stays as a failure. Logs when it starts a lockout."""
        if attempt.locks_if_failed:
            log.warning(
                "verification lockout started on %s for %.0fs (order %s, client %s)",
                ",".join(attempt.locked_scopes), self.settings.window_seconds, mask_id(subjects.order_id),
                mask_ip(normalise_ip(subjects.client_ip)),
            )

    def count(self, scope: str, value: str) -> int:
        """Attempts in the window for one subject (``value`` as given, e.g. an order number)."""
        if scope == SCOPE_IP:
            value = normalise_ip(value) or value
        return self.backend.count(subject_digest(scope, value), self.clock(), self.settings.window_seconds)


def _var_dir(env: Mapping[str, str]) -> str:
    try:
        from kernel.settings import var_dir_of

        return str(var_dir_of(env))
    except ImportError:  # an action server deployed without the launcher package
        return env.get("KEFU_VAR_DIR", "") or "var"


def guard_from_env(env: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time) -> VerificationGuard:
    """The guard the environment configures (see the module docstring). Raises GuardConfigError."""
    settings = GuardSettings.from_env(env)
    kind = (env.get(BACKEND_ENV, "") or "auto").strip().lower()
    redis_url = (env.get(REDIS_URL_ENV, "") or env.get(RATE_LIMIT_REDIS_URL_ENV, "") or "").strip()
    db_url = (env.get(DB_URL_ENV, "") or "").strip()
    backend: Any
    if kind not in ("auto", "redis", "sql", "memory"):
        raise GuardConfigError(f"{BACKEND_ENV} must be auto, redis, sql or memory, not {kind!r}")
    if kind == "redis" or (kind == "auto" and redis_url):
        if not redis_url:
            raise GuardConfigError(f"{BACKEND_ENV}=redis needs {REDIS_URL_ENV} (or {RATE_LIMIT_REDIS_URL_ENV})")
        backend = RedisBackend(redis_url)
    elif kind == "memory":
        backend = MemoryBackend()
    else:
        if not db_url:
            directory = _var_dir(env)
            os.makedirs(directory, exist_ok=True)
            db_url = f"sqlite:///{os.path.join(directory, DB_FILE)}"
        backend = SqlBackend(db_url, clock=clock)
    log.info(
        "verification lockout: %s store, %d per order / %d per customer / %s per IP in %.0fs",
        backend.name, settings.per_order, settings.per_customer, settings.per_ip or "no limit",
        settings.window_seconds,
    )
    return VerificationGuard(backend, settings, clock)


_lock = threading.Lock()
_guard: Optional[VerificationGuard] = None


def get_guard() -> VerificationGuard:
    """The process-wide guard, built from the environment on first use (GuardConfigError if misconfigured)."""
    global _guard
    with _lock:
        if _guard is None:
            _guard = guard_from_env()
        return _guard


def set_guard(guard: Optional[VerificationGuard]) -> None:
    """Replace the process-wide guard (tests, or an embedding application)."""
    global _guard
    with _lock:
        _guard = guard
