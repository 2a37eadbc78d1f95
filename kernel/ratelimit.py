"""Rate limits for everything Kefu exposes: customers' messages (channels, public history) and agents' logins.

Two ways to ask, one window:

- ``await allow(key) -> bool`` counts one message and says whether it may pass (the channels, the
  console's public history endpoint);
- ``check(key) -> float`` (0 when ``key`` may try now, else the seconds until it may: the
  ``Retry-After``), ``hit(key)`` (record one attempt) and ``reset(key)`` (forget the key): the
  console's login, which checks before any password is hashed, counts failures and clears a
  username's failures on success.

Stores:

- :class:`SlidingWindowRateLimiter`: in-process, exact sliding window, bounded in keys (an attacker
  rotating keys cannot grow memory); answers both ways. The embedded default;
- :class:`RedisRateLimiter`: a fixed-window counter per key in Redis (``INCR`` + ``EXPIRE`` on
  ``<prefix>:rate:<key>:<window number>``), shared by every Rasa replica; ``allow``;
- :class:`RedisSlidingWindow`: a sorted set of attempt times per key in Redis, trimmed and counted
  in one pipeline, shared by every console process; ``check``/``hit``/``reset``;
- :class:`Unlimited`: a limit of 0 switches the check off; answers both ways.

One outage policy (:class:`RedisOutage`) for both Redis stores: when Redis fails, the in-process
window takes over for ``retry_seconds``, then Redis is tried again, and
``ratelimit.redis_unavailable`` is logged at most once a minute. A Redis outage neither refuses
anyone within the limit nor lifts the limit: each process still counts. :class:`RedisRateLimiter`
has it built in; :class:`FailOpenLimiter` wraps a ``check``/``hit``/``reset`` store with it (and
keeps its in-process window warm, so an outage starts from what this process saw).

Factories: :func:`rate_limiter` (channels) and :func:`attempt_limiter` (logins) pick the store from
a limit, a window and an optional Redis URL or client (clients from :mod:`kernel.state`).
``KEFU_RATE_LIMIT_REDIS_URL`` (:func:`shared_redis_url`) is the Redis every channel's limits share.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Mapping, Optional, Protocol

from kernel.state import redis_client, sync_redis_client

logger = logging.getLogger(__name__)

RATE_LIMIT_REDIS_URL_ENV = "KEFU_RATE_LIMIT_REDIS_URL"
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
#: After a Redis error, how long the in-process window is used before Redis is tried again.
DEFAULT_REDIS_RETRY_SECONDS = 5.0
#: Keys an in-process window keeps for the channels; the oldest are forgotten beyond it.
DEFAULT_MAX_KEYS = 20000
_WARN_EVERY_SECONDS = 60.0


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one message for ``key``; False when over the limit."""


class AttemptLimiter(Protocol):
    def check(self, key: str) -> float:
        """0 when ``key`` may try now, else the seconds until it may (for Retry-After)."""

    def hit(self, key: str) -> None:
        """Record one attempt for ``key``."""

    def reset(self, key: str) -> None:
        """Forget ``key``'s attempts."""


class Unlimited:
    """No limit (a configured limit of 0)."""

    async def allow(self, key: str) -> bool:
        return True

    def check(self, key: str) -> float:
        return 0.0

    def hit(self, key: str) -> None:
        """Nothing to count."""

    def reset(self, key: str) -> None:
        """Nothing to forget."""


@dataclass
class SlidingWindowRateLimiter:
    """At most ``limit`` attempts per key in any ``window_seconds``; in-process, bounded memory, thread-safe.

    ``allow`` counts a message only when it passes (a refused message does not extend the block);
    ``hit`` always counts (a failed login is a failure even while blocked). A limit of 0 or less
    limits nothing.
    """

    limit: int = DEFAULT_RATE_LIMIT_MESSAGES
    window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    max_keys: int = DEFAULT_MAX_KEYS
    _hits: OrderedDict[str, Deque[float]] = field(default_factory=OrderedDict)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def _trimmed(self, key: str, now: float) -> Optional[Deque[float]]:
        """``key``'s attempts inside the window (None, and the key dropped, when there are none)."""
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window_seconds:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def _full(self, hits: Optional[Deque[float]]) -> bool:
        return self.limit > 0 and hits is not None and len(hits) >= self.limit

    def _record(self, key: str, hits: Optional[Deque[float]], now: float) -> None:
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        hits.append(now)
        if self.limit > 0:
            while len(hits) > self.limit * 2:  # older attempts can no longer decide anything
                hits.popleft()

    async def allow(self, key: str) -> bool:
        with self._lock:
            now = self.clock()
            hits = self._trimmed(key, now)
            if self._full(hits):
                self._hits.move_to_end(key)
                return False
            self._record(key, hits, now)
            return True

    def check(self, key: str) -> float:
        with self._lock:
            now = self.clock()
            hits = self._trimmed(key, now)
            if hits is None or not self._full(hits):
                return 0.0
            return max(0.001, hits[len(hits) - self.limit] + self.window_seconds - now)

    def hit(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            self._record(key, self._trimmed(key, now), now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisOutage:
    """The outage policy of the Redis stores: after a failure, skip Redis for ``retry_seconds`` and
    warn at most once a minute (the in-process window counts meanwhile)."""

    def __init__(
        self, prefix: str, retry_seconds: float = DEFAULT_REDIS_RETRY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self.clock = clock
        self._down_until = float("-inf")
        self._last_warning = float("-inf")

    def down(self) -> bool:
        """True while backing off after a failure: use the in-process window, do not try Redis."""
        return self.clock() < self._down_until

    def failed(self, error: BaseException) -> None:
        now = self.clock()
        self._down_until = now + self.retry_seconds
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            logger.warning(
                "ratelimit.redis_unavailable prefix=%s error=%s: using per-process limits for %.0fs",
                self.prefix, type(error).__name__, self.retry_seconds,
            )


class RedisRateLimiter:
    """Fixed-window counter per key in Redis, shared by all replicas; fails open to the in-process window."""

    def __init__(
        self,
        client: Any,
        limit: int = DEFAULT_RATE_LIMIT_MESSAGES,
        window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
        prefix: str = "kefu:sio",
        retry_seconds: float = DEFAULT_REDIS_RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.limit = limit
        self.window_seconds = max(1, int(window_seconds))
        self.prefix = prefix
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.wall_clock = wall_clock
        self.fallback = SlidingWindowRateLimiter(limit, float(self.window_seconds), clock=clock)
        self.outage = RedisOutage(prefix, retry_seconds, clock)

    def key_for(self, key: str) -> str:
        bucket = int(self.wall_clock() // self.window_seconds)
        return f"{self.prefix}:rate:{key}:{bucket}"

    async def allow(self, key: str) -> bool:
        if self.outage.down():
            return await self.fallback.allow(key)
        redis_key = self.key_for(key)
        try:
            count = await self.client.incr(redis_key)
            if int(count) == 1:
                await self.client.expire(redis_key, self.window_seconds * 2)
        except Exception as error:  # any Redis failure: fail open to the per-process limit
            self.outage.failed(error)
            return await self.fallback.allow(key)
        return int(count) <= self.limit


class RedisSlidingWindow:
    """The sliding window in Redis: a sorted set of attempt times per key (``<prefix><key>``), expiring
    with the window. Synchronous (the console's login runs it in its request handler)."""

    def __init__(
        self,
        client: Any,
        limit: int,
        window_seconds: float,
        prefix: str = "kefu:console:login:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.limit = limit
        self.window_seconds = window_seconds
        self.prefix = prefix
        self.clock = clock

    def check(self, key: str) -> float:
        name = self.prefix + key
        now = self.clock()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", now - self.window_seconds)
        pipe.zrange(name, 0, -1, withscores=True)
        _, members = pipe.execute()
        if len(members) < self.limit:
            return 0.0
        scores = sorted(score for _member, score in members)
        return max(0.001, scores[len(scores) - self.limit] + self.window_seconds - now)

    def hit(self, key: str) -> None:
        name = self.prefix + key
        now = self.clock()
        pipe = self.client.pipeline()
        pipe.zadd(name, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(name, "-inf", now - self.window_seconds)
        pipe.zremrangebyrank(name, 0, -(self.limit * 2) - 1)
        pipe.expire(name, max(1, math.ceil(self.window_seconds)))
        pipe.execute()

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)


class FailOpenLimiter:
    """A Redis ``check``/``hit``/``reset`` store with the outage policy: while Redis is down the
    in-process ``fallback`` answers, so an outage neither locks everyone out nor lifts the limit.
    Every attempt is also counted in ``fallback``, so an outage starts from what this process saw."""

    def __init__(
        self, primary: AttemptLimiter, fallback: AttemptLimiter, outage: Optional[RedisOutage] = None
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.outage = outage or RedisOutage(str(getattr(primary, "prefix", "")))

    def check(self, key: str) -> float:
        if not self.outage.down():
            try:
                return float(self.primary.check(key) or 0.0)
            except Exception as error:  # any Redis failure
                self.outage.failed(error)
        return self.fallback.check(key)

    def hit(self, key: str) -> None:
        if not self.outage.down():
            try:
                self.primary.hit(key)
            except Exception as error:
                self.outage.failed(error)
        self.fallback.hit(key)

    def reset(self, key: str) -> None:
        if not self.outage.down():
            try:
                self.primary.reset(key)
            except Exception as error:
                self.outage.failed(error)
        self.fallback.reset(key)


def rate_limiter(
    limit: int,
    window_seconds: float,
    prefix: str,
    redis_url: Optional[str] = None,
    client: Any = None,
) -> RateLimiter:
    """A message limiter: none for a limit of 0, Redis when a URL or client is given, else in-process."""
    if limit <= 0:
        return Unlimited()
    if client is None and redis_url:
        client = redis_client(redis_url)
    if client is not None:
        return RedisRateLimiter(client, limit, window_seconds, prefix=prefix)
    return SlidingWindowRateLimiter(limit, window_seconds)


def attempt_limiter(
    limit: int,
    window_seconds: float,
    redis_url: str = "",
    prefix: str = "kefu:console:login:",
    max_keys: int = 100_000,
) -> AttemptLimiter:
    """An attempt limiter: none for a limit of 0, Redis (failing open) when a URL is given, else in-process."""
    if limit <= 0:
        return Unlimited()
    memory = SlidingWindowRateLimiter(limit, window_seconds, max_keys=max_keys)
    if not redis_url:
        return memory
    return FailOpenLimiter(RedisSlidingWindow(sync_redis_client(redis_url), limit, window_seconds, prefix), memory)


def shared_redis_url(environ: Optional[Mapping[str, str]] = None) -> str:
    """``KEFU_RATE_LIMIT_REDIS_URL``: the Redis every channel's limits share (empty: none)."""
    return ((environ if environ is not None else os.environ).get(RATE_LIMIT_REDIS_URL_ENV) or "").strip()


def shared_or(client: Any, environ: Optional[Mapping[str, str]] = None) -> Any:
    """The Redis client for a channel's limits: a client on ``KEFU_RATE_LIMIT_REDIS_URL`` when that is
    set, else ``client`` (the channel's own Redis, or None for in-process limits)."""
    url = shared_redis_url(environ)
    return redis_client(url) if url else client
