"""De-duplication of WeChat's retries: each message is processed exactly once.

WeChat retries a message up to three times when it has no answer within five
seconds, sometimes with a new timestamp, nonce and ciphertext. The first
delivery *claims* the message's key; when it has answered, it *settles* the key
with what it answered (the passive reply XML, or ``None`` for ``success``).
A retry that finds the key waits, within its own window, for that outcome and
answers the same. Two implementations of one small interface:

- :class:`InProcessReplyLedger` for one Rasa process (the embedded default);
- :class:`RedisReplyLedger` for several replicas, so a retry that lands on
  another replica is still processed once.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional, Protocol

#: How long a claimed-but-unsettled key blocks reprocessing (a crashed replica frees it).
PENDING_TTL_SECONDS = 60
#: How long a settled outcome is kept: WeChat's retries all arrive within ~15 s.
SETTLED_TTL_SECONDS = 300


@dataclass(frozen=True)
class Outcome:
    """What the first delivery answered: plaintext reply XML, or ``None`` for ``success``."""

    reply_xml: Optional[str]


class ReplyLedger(Protocol):
    async def claim(self, key: str) -> bool:
        """True when this delivery is the first one and must process the message."""

    async def settle(self, key: str, outcome: Outcome) -> None:
        """Record what the first delivery answered."""

    async def wait(self, key: str, timeout: float) -> Optional[Outcome]:
        """The settled outcome, waiting up to ``timeout`` seconds; ``None`` if still pending."""

    async def close(self) -> None:
        """Release connections."""


@dataclass
class _Entry:
    expires: float
    settled: asyncio.Event
    outcome: Optional[Outcome] = None


class InProcessReplyLedger:
    def __init__(
        self, pending_ttl: float = PENDING_TTL_SECONDS, settled_ttl: float = SETTLED_TTL_SECONDS
    ) -> None:
        self.pending_ttl = pending_ttl
        self.settled_ttl = settled_ttl
        self._entries: Dict[str, _Entry] = {}

    def _prune(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]

    async def claim(self, key: str) -> bool:
        now = time.monotonic()
        self._prune(now)
        if key in self._entries:
            return False
        self._entries[key] = _Entry(expires=now + self.pending_ttl, settled=asyncio.Event())
        return True

    async def settle(self, key: str, outcome: Outcome) -> None:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(expires=0.0, settled=asyncio.Event())
        entry.outcome = outcome
        entry.expires = time.monotonic() + self.settled_ttl
        entry.settled.set()

    async def wait(self, key: str, timeout: float) -> Optional[Outcome]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.settled.is_set():
            return entry.outcome
        try:
            await asyncio.wait_for(entry.settled.wait(), timeout=max(timeout, 0.0))
        except asyncio.TimeoutError:
            return None
        return entry.outcome

    async def close(self) -> None:
        self._entries.clear()


class RedisReplyLedger:
    """Keys ``<prefix>:<key>``: ``{"s": "pending"}`` then ``{"s": "done", "reply": ...}``."""

    def __init__(
        self,
        redis: Any,
        prefix: str = "kefu:wechat:dedup",
        pending_ttl: int = PENDING_TTL_SECONDS,
        settled_ttl: int = SETTLED_TTL_SECONDS,
        poll_interval: float = 0.05,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.pending_ttl = pending_ttl
        self.settled_ttl = settled_ttl
        self.poll_interval = poll_interval

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def claim(self, key: str) -> bool:
        return bool(await self.redis.set(self._key(key), json.dumps({"s": "pending"}), nx=True, ex=self.pending_ttl))

    async def settle(self, key: str, outcome: Outcome) -> None:
        value = json.dumps({"s": "done", "reply": outcome.reply_xml}, ensure_ascii=False)
        await self.redis.set(self._key(key), value, ex=self.settled_ttl)

    async def _read(self, key: str) -> Optional[Outcome]:
        raw = await self.redis.get(self._key(key))
        if raw is None:
            return None
        data = json.loads(raw)
        return Outcome(data.get("reply")) if data.get("s") == "done" else None

    async def wait(self, key: str, timeout: float) -> Optional[Outcome]:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            outcome = await self._read(key)
            if outcome is not None or time.monotonic() >= deadline:
                return outcome
            await asyncio.sleep(min(self.poll_interval, max(deadline - time.monotonic(), 0.0)))

    async def close(self) -> None:
        """The Redis client belongs to the channel, which closes it."""
