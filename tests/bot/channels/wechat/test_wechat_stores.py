"""De-duplication ledger, user memory and token cache: in-process and Redis, same contract."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Awaitable, Callable, Tuple

import pytest

from bot.channels.wechat.client import CachedToken, InProcessTokenCache, RedisTokenCache
from bot.channels.wechat.dedup import InProcessReplyLedger, Outcome, RedisReplyLedger
from bot.channels.wechat.memory import InProcessUserMemory, RedisUserMemory

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


def run(coro_factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_factory())


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Tuple[str, str]:
    if request.param == "redis":
        return "redis", request.getfixturevalue("redis_url")
    return "memory", ""


def _redis(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.from_url(url, decode_responses=True)


def _ledger(backend: Tuple[str, str]) -> Any:
    if backend[0] == "redis":
        return RedisReplyLedger(_redis(backend[1]), prefix=f"test:{uuid.uuid4().hex}")
    return InProcessReplyLedger()


def test_exactly_one_claim_among_concurrent_deliveries(backend) -> None:
    async def scenario() -> None:
        ledger = _ledger(backend)
        claims = await asyncio.gather(*(ledger.claim("msg:1") for _ in range(10)))
        assert claims.count(True) == 1
        assert await ledger.claim("msg:2") is True

    run(scenario)


def test_retry_waits_for_the_first_outcome(backend) -> None:
    async def scenario() -> None:
        ledger = _ledger(backend)
        assert await ledger.claim("k")

        async def first() -> None:
            await asyncio.sleep(0.3)
            await ledger.settle("k", Outcome("<xml>reply</xml>"))

        waiter = asyncio.create_task(ledger.wait("k", 5))
        await first()
        assert await waiter == Outcome("<xml>reply</xml>")
        assert await ledger.wait("k", 0) == Outcome("<xml>reply</xml>")
        assert await ledger.claim("k") is False

    run(scenario)


def test_wait_gives_up_while_still_pending(backend) -> None:
    async def scenario() -> None:
        ledger = _ledger(backend)
        await ledger.claim("slow")
        assert await ledger.wait("slow", 0.2) is None
        await ledger.settle("slow", Outcome(None))
        assert await ledger.wait("slow", 0.2) == Outcome(None)
        assert await ledger.wait("never-claimed", 0.1) is None

    run(scenario)


def test_in_process_ledger_expires_entries() -> None:
    async def scenario() -> None:
        ledger = InProcessReplyLedger(pending_ttl=0.05, settled_ttl=0.05)
        assert await ledger.claim("x")
        await asyncio.sleep(0.1)
        assert await ledger.claim("x")  # a crashed first delivery does not block forever

    run(scenario)


def test_user_memory(backend) -> None:
    async def scenario() -> None:
        memory = (
            RedisUserMemory(_redis(backend[1]), prefix=f"test:{uuid.uuid4().hex}")
            if backend[0] == "redis"
            else InProcessUserMemory()
        )
        assert await memory.menu("o1") == []
        await memory.remember_menu("o1", ["/affirm", "/deny"])
        assert await memory.menu("o1") == ["/affirm", "/deny"]
        await memory.record_unsubscribe("o1", 1714036504.0)
        assert await memory.unsubscribed_at("o1") == 1714036504.0
        assert await memory.menu("o1") == []
        await memory.clear_unsubscribe("o1")
        assert await memory.unsubscribed_at("o1") is None

    run(scenario)


def test_token_cache(backend) -> None:
    async def scenario() -> None:
        cache = (
            RedisTokenCache(_redis(backend[1]), prefix=f"test:{uuid.uuid4().hex}")
            if backend[0] == "redis"
            else InProcessTokenCache()
        )
        now = time.time()
        assert await cache.get("k") is None
        await cache.put("k", CachedToken("t1", now + 100, now + 200))
        assert (await cache.get("k")).value == "t1"
        await cache.invalidate("k", "other")  # somebody else's stale token: keep ours
        assert (await cache.get("k")).value == "t1"
        await cache.invalidate("k", "t1")
        assert await cache.get("k") is None
        order = []

        async def holder(name: str) -> None:
            async with cache.fetch_lock("k"):
                order.append(f"{name}-in")
                await asyncio.sleep(0.1)
                order.append(f"{name}-out")

        await asyncio.gather(holder("a"), holder("b"))
        assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])

    run(scenario)
