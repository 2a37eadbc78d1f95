"""What the channel remembers about a WeChat user between requests.

- **The last numbered menu.** WeChat text has no buttons, so Rasa buttons are
  sent as "1. …  2. …"; when the customer then answers "2", the channel sends
  the button's payload to Rasa instead of the digit.
- **Unsubscribes.** An ``unsubscribe`` event is recorded with its time; the
  output channel does not push to a user who left (the API would refuse with
  43004), and a new ``subscribe`` clears the record.

In-process for one Rasa process, Redis for several replicas.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional, Protocol, Tuple

MENU_TTL_SECONDS = 24 * 3600
UNSUBSCRIBE_TTL_SECONDS = 90 * 24 * 3600


class UserMemory(Protocol):
    async def remember_menu(self, user: str, payloads: List[str]) -> None: ...

    async def menu(self, user: str) -> List[str]: ...

    async def forget_menu(self, user: str) -> None: ...

    async def record_unsubscribe(self, user: str, at: float) -> None: ...

    async def clear_unsubscribe(self, user: str) -> None: ...

    async def unsubscribed_at(self, user: str) -> Optional[float]: ...


class InProcessUserMemory:
    def __init__(self, menu_ttl: float = MENU_TTL_SECONDS) -> None:
        self.menu_ttl = menu_ttl
        self._menus: Dict[str, Tuple[float, List[str]]] = {}
        self._unsubscribed: Dict[str, float] = {}

    async def remember_menu(self, user: str, payloads: List[str]) -> None:
        self._menus[user] = (time.monotonic() + self.menu_ttl, list(payloads))

    async def menu(self, user: str) -> List[str]:
        item = self._menus.get(user)
        if item is None:
            return []
        if item[0] <= time.monotonic():
            del self._menus[user]
            return []
        return list(item[1])

    async def forget_menu(self, user: str) -> None:
        self._menus.pop(user, None)

    async def record_unsubscribe(self, user: str, at: float) -> None:
        self._unsubscribed[user] = at
        self._menus.pop(user, None)

    async def clear_unsubscribe(self, user: str) -> None:
        self._unsubscribed.pop(user, None)

    async def unsubscribed_at(self, user: str) -> Optional[float]:
        return self._unsubscribed.get(user)


class RedisUserMemory:
    def __init__(self, redis: Any, prefix: str = "kefu:wechat:user", menu_ttl: int = MENU_TTL_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.menu_ttl = menu_ttl

    async def remember_menu(self, user: str, payloads: List[str]) -> None:
        await self.redis.set(f"{self.prefix}:menu:{user}", json.dumps(payloads, ensure_ascii=False), ex=self.menu_ttl)

    async def menu(self, user: str) -> List[str]:
        raw = await self.redis.get(f"{self.prefix}:menu:{user}")
        return list(json.loads(raw)) if raw else []

    async def forget_menu(self, user: str) -> None:
        await self.redis.delete(f"{self.prefix}:menu:{user}")

    async def record_unsubscribe(self, user: str, at: float) -> None:
        await self.redis.set(f"{self.prefix}:unsubscribed:{user}", repr(at), ex=UNSUBSCRIBE_TTL_SECONDS)
        await self.forget_menu(user)

    async def clear_unsubscribe(self, user: str) -> None:
        await self.redis.delete(f"{self.prefix}:unsubscribed:{user}")

    async def unsubscribed_at(self, user: str) -> Optional[float]:
        raw = await self.redis.get(f"{self.prefix}:unsubscribed:{user}")
        return float(raw) if raw else None
