"""Sliding-window limits for the console's login: per client IP and per username.

A password guesser is slowed down before any password is hashed, so a flood of logins costs the
console a dictionary lookup (or one Redis round trip) per request, not an scrypt each. Two stores:

- in-process (the default, one console process): a deque of attempt times per key, bounded in keys;
- Redis (``KEFU_CONSOLE_REDIS_URL``, several console processes): a sorted set per key, trimmed and
  counted in one pipeline, so every process sees the same window.

``check`` never records; ``hit`` records one attempt; ``reset`` forgets a key (a successful login
clears its username's failures).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import OrderedDict, deque
from typing import Any, Callable, Deque, Optional, Protocol

log = logging.getLogger("kefu.console.ratelimit")


class Limiter(Protocol):
    def check(self, key: str) -> float:
        """0 when ``key`` may try now, else the seconds until it may (for Retry-After)."""

    def hit(self, key: str) -> None:
        """Record one attempt for ``key``."""

    def reset(self, key: str) -> None:
        """Forget ``key``'s attempts."""


class MemoryLimiter:
    """At most ``limit`` attempts per ``window`` seconds per key, in this process."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self._hits: OrderedDict[str, Deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _trimmed(self, key: str, now: float) -> Optional[Deque[float]]:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def check(self, key: str) -> float:
        with self._lock:
            now = self.clock()
            hits = self._trimmed(key, now)
            if hits is None or len(hits) < self.limit:
                return 0.0
            return max(0.001, hits[len(hits) - self.limit] + self.window - now)

    def hit(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            hits = self._trimmed(key, now)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:  # an attacker rotating keys cannot grow memory
                    self._hits.popitem(last=False)
            hits.append(now)
            if len(hits) > self.limit * 2:
                hits.popleft()

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisLimiter:
    """The same window in Redis (a sorted set of attempt times per key, expiring with the window)."""

    def __init__(self, client: Any, limit: int, window: float, prefix: str = "kefu:console:login:",
                 clock: Callable[[], float] = time.time) -> None:
        self.client, self.limit, self.window, self.prefix, self.clock = client, limit, window, prefix, clock

    def check(self, key: str) -> float:
        name = self.prefix + key
        now = self.clock()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", now - self.window)
        pipe.zrange(name, 0, -1, withscores=True)
        _, members = pipe.execute()
        if len(members) < self.limit:
            return 0.0
        scores = sorted(score for _member, score in members)
        return max(0.001, scores[len(scores) - self.limit] + self.window - now)

    def hit(self, key: str) -> None:
        name = self.prefix + key
        now = self.clock()
        pipe = self.client.pipeline()
        pipe.zadd(name, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(name, "-inf", now - self.window)
        pipe.zremrangebyrank(name, 0, -(self.limit * 2) - 1)
        pipe.expire(name, max(1, math.ceil(self.window)))
        pipe.execute()

    def reset(self, key: str) -> None:
        self.client.delete(self.prefix + key)


class FailOpenLimiter:
    """Wraps a Redis limiter: when Redis is down, fall back to an in-process window (logged once a minute),
    so a Redis outage neither locks every agent out nor lifts the limit."""

    def __init__(self, primary: Limiter, fallback: Limiter) -> None:
        self.primary, self.fallback = primary, fallback
        self._warned = 0.0

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning("login rate limit: Redis unavailable (%s), using the in-process window",
                        type(error).__name__)

    def check(self, key: str) -> float:
        try:
            return float(self.primary.check(key) or 0.0)
        except Exception as error:  # noqa: BLE001 - any Redis failure
            self._warn(error)
            return self.fallback.check(key)

    def hit(self, key: str) -> None:
        try:
            self.primary.hit(key)
        except Exception as error:  # noqa: BLE001
            self._warn(error)
        self.fallback.hit(key)  # kept warm, so an outage starts from what this process saw

    def reset(self, key: str) -> None:
        try:
            self.primary.reset(key)
        except Exception as error:  # noqa: BLE001
            self._warn(error)
        self.fallback.reset(key)


def make_limiter(limit: int, window: float, redis_url: str = "", prefix: str = "kefu:console:login:") -> Limiter:
    memory = MemoryLimiter(limit, window)
    if not redis_url:
        return memory
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return FailOpenLimiter(RedisLimiter(client, limit, window, prefix), memory)


class LoginLimits:
    """What the login route asks: may this IP / username try now, and recording the outcome."""

    def __init__(self, ip_limit: int, user_limit: int, window: float, redis_url: str = "") -> None:
        self.by_ip = make_limiter(ip_limit, window, redis_url, "kefu:console:login:ip:")
        self.by_user = make_limiter(user_limit, window, redis_url, "kefu:console:login:user:")

    def retry_after(self, ip: str, username: str) -> float:
        return max(self.by_ip.check(ip), self.by_user.check(username))

    def attempt(self, ip: str) -> None:
        self.by_ip.hit(ip)

    def failed(self, username: str) -> None:
        self.by_user.hit(username)

    def succeeded(self, username: str) -> None:
        self.by_user.reset(username)
