"""Abuse limits shared by Kefu's public channels: per-sender rate limits and request size limits.

Rate limits (``RateLimiter.allow(key) -> bool``, one call per message):

- :class:`SlidingWindowRateLimiter`: in-process, exact sliding window (the embedded default);
- :class:`RedisRateLimiter`: a fixed-window counter in Redis (``INCR`` + ``EXPIRE`` on
  ``<prefix>:rate:<key>:<window number>``), shared by every replica. When Redis is down it
  logs a warning (at most once a minute), falls back to an in-process sliding window for
  ``retry_seconds`` and then tries Redis again: a Redis outage never refuses a customer who
  is within the limit, and a flood is still held back per replica;
- :class:`Unlimited`: a limit of 0 switches the check off.

:func:`rate_limiter` builds the right one from a limit, a window and an optional Redis URL.
``KEFU_RATE_LIMIT_REDIS_URL`` is the Redis every channel's limits share when set.

Size limits: :func:`read_body` reads a request body on a ``stream=True`` Sanic route and stops
at ``max_bytes`` (a larger ``Content-Length`` is refused before any of the body is read), so a
huge POST costs neither memory nor parsing.

Client address and metadata: :func:`client_ip` gives the client's IP (``X-Forwarded-For`` only
when the peer is one of ``KEFU_TRUSTED_PROXIES``, default loopback) and :func:`server_metadata`
drops client-supplied ``kefu_*`` keys (except ``kefu_user_token``) and sets ``kefu_client_ip``:
keys with that prefix are the server's word, never the client's.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Protocol, Sequence

logger = logging.getLogger(__name__)

RATE_LIMIT_REDIS_URL_ENV = "KEFU_RATE_LIMIT_REDIS_URL"
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
#: After a Redis error, how long the in-process fallback is used before Redis is tried again.
DEFAULT_REDIS_RETRY_SECONDS = 5.0
#: Redis answers on loopback or a LAN in milliseconds; a hung Redis must not hold up a customer.
REDIS_TIMEOUT_SECONDS = 0.5
_WARN_EVERY_SECONDS = 60.0


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Count one message for ``key``; False when over the limit."""


class Unlimited:
    """No limit (a configured limit of 0)."""

    async def allow(self, key: str) -> bool:
        return True


@dataclass
class SlidingWindowRateLimiter:
    """At most ``limit`` messages per key in any ``window_seconds``; in-process, bounded memory."""

    limit: int = DEFAULT_RATE_LIMIT_MESSAGES
    window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 20000
    _hits: OrderedDict[str, Deque[float]] = field(default_factory=OrderedDict)

    async def allow(self, key: str) -> bool:
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = deque()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and now - hits[0] >= self.window_seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


class RedisRateLimiter:
    """Fixed-window counter per key in Redis, shared by all replicas; see the module docstring."""

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
        self._down_until = float("-inf")
        self._last_warning = float("-inf")

    def key_for(self, key: str) -> str:
        bucket = int(self.wall_clock() // self.window_seconds)
        return f"{self.prefix}:rate:{key}:{bucket}"

    async def allow(self, key: str) -> bool:
        now = self.clock()
        if now < self._down_until:
            return await self.fallback.allow(key)
        redis_key = self.key_for(key)
        try:
            count = await self.client.incr(redis_key)
            if int(count) == 1:
                await self.client.expire(redis_key, self.window_seconds * 2)
        except Exception as error:  # Redis down: fail open to the per-process limit
            self._down_until = now + self.retry_seconds
            if now - self._last_warning >= _WARN_EVERY_SECONDS:
                self._last_warning = now
                logger.warning(
                    "ratelimit.redis_unavailable prefix=%s error=%s: using per-process limits for %.0fs",
                    self.prefix, type(error).__name__, self.retry_seconds,
                )
            return await self.fallback.allow(key)
        return int(count) <= self.limit


def redis_client(url: str) -> Any:
    """An asyncio Redis client with short timeouts (the limiter fails open on any error)."""
    import redis.asyncio as redis_asyncio

    return redis_asyncio.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )


def rate_limiter(
    limit: int,
    window_seconds: float,
    prefix: str,
    redis_url: Optional[str] = None,
    client: Any = None,
) -> RateLimiter:
    """The limiter for a channel: Redis when a URL or client is given, in-process otherwise."""
    if limit <= 0:
        return Unlimited()
    if client is None and redis_url:
        client = redis_client(redis_url)
    if client is not None:
        return RedisRateLimiter(client, limit, window_seconds, prefix=prefix)
    return SlidingWindowRateLimiter(limit, window_seconds)


# --------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------


def setting(
    credentials: Optional[Mapping[str, Any]],
    key: str,
    env: str,
    default: Any = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Any:
    """The environment variable when set, else the credentials.yml value, else ``default``."""
    value = (environ if environ is not None else os.environ).get(env)
    if value not in (None, ""):
        return value
    value = (credentials or {}).get(key)
    return default if value in (None, "") else value


def int_setting(value: Any, name: str, minimum: int = 0) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number


def float_setting(value: Any, name: str, minimum: float = 0.0) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not number >= minimum:  # also refuses NaN
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number


def shared_redis_url(environ: Optional[Mapping[str, str]] = None) -> str:
    return ((environ if environ is not None else os.environ).get(RATE_LIMIT_REDIS_URL_ENV) or "").strip()


# --------------------------------------------------------------------------
# request size
# --------------------------------------------------------------------------


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is limited to {limit} bytes")
        self.limit = limit


async def read_body(request: Any, max_bytes: int) -> bytes:
    """The body of a request on a ``stream=True`` route, at most ``max_bytes``; else :class:`BodyTooLarge`.

    Also lowers Sanic's own limit for this request, so that Sanic does not read a refused body
    to its end: it closes the connection after the 413 instead.
    """
    if request.body:  # a non-streaming route (or a test client) already read it
        if len(request.body) > max_bytes:
            raise BodyTooLarge(max_bytes)
        return bytes(request.body)
    length = request.headers.get("content-length")
    stream = getattr(request, "stream", None)
    if stream is not None and hasattr(stream, "request_max_size"):
        stream.request_max_size = max_bytes
    if length is not None:
        try:
            if int(length) > max_bytes:
                raise BodyTooLarge(max_bytes)
        except ValueError:
            pass  # Sanic refuses a malformed Content-Length itself
    if stream is None:
        return b""
    from sanic.exceptions import PayloadTooLarge

    chunks = []
    size = 0
    try:
        while True:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(max_bytes)
            chunks.append(chunk)
    except PayloadTooLarge:
        raise BodyTooLarge(max_bytes) from None
    body = b"".join(chunks)
    request.body = body
    return body


# --------------------------------------------------------------------------
# client address and server-owned metadata
# --------------------------------------------------------------------------

TRUSTED_PROXIES_ENV = "KEFU_TRUSTED_PROXIES"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"
CLIENT_IP_KEY = "kefu_client_ip"
#: The only ``kefu_*`` metadata key a client may send (the shop's signed web-user token).
CLIENT_KEFU_KEYS = frozenset({"kefu_user_token"})


def trusted_proxies(environ: Optional[Mapping[str, str]] = None) -> List[Any]:
    """``KEFU_TRUSTED_PROXIES``: comma-separated addresses or networks (default loopback)."""
    value = (environ if environ is not None else os.environ).get(TRUSTED_PROXIES_ENV)
    text = DEFAULT_TRUSTED_PROXIES if value is None else value
    networks = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{TRUSTED_PROXIES_ENV}: {part!r} is not an IP address or network") from None
    return networks


def _ip(value: Optional[str]) -> Optional[Any]:
    try:
        return ipaddress.ip_address((value or "").strip().strip("[]"))
    except ValueError:
        return None


def client_ip(peer: Optional[str], forwarded_for: Optional[str], proxies: Sequence[Any]) -> Optional[str]:
    """The client's address: the peer, or (when the peer is a trusted proxy) the nearest
    untrusted address in ``X-Forwarded-For`` read from the right."""
    address = _ip(peer)
    if address is None:
        return None

    def trusted(ip: Any) -> bool:
        return any(ip.version == net.version and ip in net for net in proxies)

    if not trusted(address) or not forwarded_for:
        return str(address)
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return str(address)  # a malformed hop: trust nothing left of it
        address = hop_ip
        if not trusted(hop_ip):
            break
    return str(address)


def server_metadata(metadata: Optional[Mapping[str, Any]], ip: Optional[str]) -> Dict[str, Any]:
    """The client's metadata without ``kefu_*`` keys it may not set, plus ``kefu_client_ip``."""
    out = {
        k: v for k, v in (metadata or {}).items()
        if not (isinstance(k, str) and k.startswith("kefu_")) or k in CLIENT_KEFU_KEYS
    }
    if ip:
        out[CLIENT_IP_KEY] = ip
    return out
