"""Freshness and single use of signed WeChat / WeCom requests.

A WeChat signature covers only ``token``, ``timestamp`` and ``nonce`` (plain mode) or those plus
the ciphertext (``msg_signature``); nothing in it expires. Whoever sees one signed URL (a proxy
log, a browser history, a packet capture) could post it again, and in plain mode with any body
he likes. Two rules close that:

- **Freshness**: a ``timestamp`` more than :data:`MAX_CLOCK_SKEW_SECONDS` (5 minutes) away from
  the server clock is refused (:func:`check_timestamp`), on the URL-verification GET too;
- **Single use**: a (timestamp, nonce, signature) triple that was accepted once is refused
  afterwards. The guard remembers each triple a little longer than the freshness window, after
  which the timestamp rule refuses it anyway:

  - :class:`RedisReplayGuard`: ``SET key 1 NX EX ttl``, shared by every Rasa replica
    (``KEFU_WECHAT_REDIS_URL``);
  - :class:`InProcessReplayGuard`: one Rasa process, bounded (oldest entries evicted first; an
    eviction is logged because it reopens that triple until its timestamp goes stale).

Genuine WeChat retries of a message come with a new timestamp, nonce and signature, so they pass;
a retry that reused the very same URL would be refused (the message was processed once already).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Any, Optional, Protocol

from bot.channels.wechat.crypto import SignatureError

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW_SECONDS = 300
#: Seen triples are kept for the whole window on both sides of "now", plus a margin.
REPLAY_TTL_SECONDS = 2 * MAX_CLOCK_SKEW_SECONDS + 60
DEFAULT_MAX_ENTRIES = 200_000


class StaleRequest(SignatureError):
    """The timestamp is missing, not a number, or too far from the server clock: answer 403."""


class ReplayedRequest(SignatureError):
    """This (timestamp, nonce, signature) was accepted before: answer 403."""


def check_timestamp(timestamp: Optional[str], now: Optional[float] = None, max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> None:
    """Raise :class:`StaleRequest` unless ``timestamp`` (epoch seconds) is within ``max_skew`` of now."""
    try:
        value = int(str(timestamp).strip())
    except (TypeError, ValueError):
        raise StaleRequest("timestamp missing or not a number") from None
    now = time.time() if now is None else now
    if abs(now - value) > max_skew:
        raise StaleRequest(f"timestamp {int(now - value)} s away from the server clock (limit {int(max_skew)} s)")


def replay_key(product: str, timestamp: str, nonce: str, signature: str) -> str:
    """A short key for the triple (the signature is not stored as is)."""
    digest = hashlib.sha256("\n".join((product, timestamp, nonce, signature.strip().lower())).encode("utf-8"))
    return digest.hexdigest()[:40]


class ReplayGuard(Protocol):
    async def first_use(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL, False afterwards."""


class InProcessReplayGuard:
    def __init__(self, ttl: float = REPLAY_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expires (monotonic), oldest first

    async def first_use(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        if len(self._seen) >= self.max_entries:
            self._seen.popitem(last=False)
            logger.warning("wechat.replay_store_full entries=%d evicting the oldest", self.max_entries)
        self._seen[key] = now + self.ttl
        return True


class RedisReplayGuard:
    def __init__(self, redis: Any, prefix: str = "kefu:wechat:replay", ttl: int = REPLAY_TTL_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    async def first_use(self, key: str) -> bool:
        return bool(await self.redis.set(f"{self.prefix}:{key}", "1", nx=True, ex=self.ttl))
