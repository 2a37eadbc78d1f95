"""The rate limiters (in-process and Redis), the Redis client policy, the settings readers and the capped
body reader: kernel/ratelimit.py, kernel/state.py, kernel/config_values.py and bot/channels/limits.py."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Dict, List, Optional

import pytest

from bot.channels.limits import BodyTooLarge, limit_settings, read_body
from kernel.config_values import float_setting, int_setting, setting
from kernel.ratelimit import (
    FailOpenLimiter,
    RedisOutage,
    RedisRateLimiter,
    SlidingWindowRateLimiter,
    Unlimited,
    attempt_limiter,
    rate_limiter,
    shared_or,
    shared_redis_url,
)
from kernel.state import COMMAND_TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS, redis_client, sync_redis_client
from tests.harness import free_port


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------
# in-process
# --------------------------------------------------------------------------


def test_sliding_window_counts_per_key_and_frees_up_after_the_window() -> None:
    now = [100.0]
    limiter = SlidingWindowRateLimiter(limit=3, window_seconds=10, clock=lambda: now[0])

    async def scenario() -> List[bool]:
        out = [await limiter.allow("alice") for _ in range(4)]  # T T T F
        out.append(await limiter.allow("bob"))  # another sender is not affected
        now[0] = 105.0
        out.append(await limiter.allow("alice"))  # still inside the window
        now[0] = 110.0
        out.append(await limiter.allow("alice"))  # the first hits expired
        return out

    assert run(scenario()) == [True, True, True, False, True, False, True]


def test_refused_messages_do_not_extend_the_block() -> None:
    now = [0.0]
    limiter = SlidingWindowRateLimiter(limit=1, window_seconds=10, clock=lambda: now[0])

    async def scenario() -> List[bool]:
        out = [await limiter.allow("k")]
        for t in (1.0, 5.0, 9.0):
            now[0] = t
            out.append(await limiter.allow("k"))
        now[0] = 10.0
        out.append(await limiter.allow("k"))
        return out

    assert run(scenario()) == [True, False, False, False, True]


def test_memory_stays_bounded_under_many_senders() -> None:
    limiter = SlidingWindowRateLimiter(limit=1, window_seconds=60, max_keys=100)

    async def scenario() -> None:
        for i in range(1000):
            await limiter.allow(f"sender-{i}")

    run(scenario())
    assert len(limiter._hits) == 100


def test_factory_picks_the_backend() -> None:
    assert isinstance(rate_limiter(0, 60, prefix="p"), Unlimited)
    assert isinstance(rate_limiter(5, 60, prefix="p"), SlidingWindowRateLimiter)
    redis_backed = rate_limiter(5, 60, prefix="p", redis_url="redis://127.0.0.1:1/0")
    assert isinstance(redis_backed, RedisRateLimiter) and redis_backed.prefix == "p"
    assert run(Unlimited().allow("x")) is True


def test_check_and_allow_share_one_window() -> None:
    now = [0.0]
    limiter = SlidingWindowRateLimiter(limit=2, window_seconds=10, clock=lambda: now[0])

    async def scenario() -> List[Any]:
        out: List[Any] = [await limiter.allow("k"), limiter.check("k")]
        now[0] = 4.0
        out += [await limiter.allow("k"), limiter.check("k"), await limiter.allow("k")]
        limiter.reset("k")
        out += [limiter.check("k"), await limiter.allow("k")]
        return out

    # the block lasts until the oldest counted message leaves the window (t=10), not longer
    assert run(scenario()) == [True, 0.0, True, pytest.approx(6.0), False, 0.0, True]


def test_attempt_factory_picks_the_backend() -> None:
    assert isinstance(attempt_limiter(0, 60), Unlimited) and Unlimited().check("x") == 0.0
    memory = attempt_limiter(3, 60)
    assert isinstance(memory, SlidingWindowRateLimiter) and memory.max_keys == 100_000
    assert isinstance(attempt_limiter(3, 60, "redis://127.0.0.1:1/0"), FailOpenLimiter)


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------


def test_redis_limit_is_shared_by_replicas(redis_url: str) -> None:
    prefix = f"kefu:test:{uuid.uuid4().hex}"

    async def scenario() -> List[bool]:
        first, second = redis_client(redis_url), redis_client(redis_url)  # two replicas, one Redis
        a = RedisRateLimiter(first, limit=3, window_seconds=60, prefix=prefix)
        b = RedisRateLimiter(second, limit=3, window_seconds=60, prefix=prefix)
        out = [await a.allow("alice"), await b.allow("alice"), await a.allow("alice"), await b.allow("alice"),
               await b.allow("bob")]
        keys = [k async for k in first.scan_iter(f"{prefix}:*")]
        ttls = [await first.ttl(k) for k in keys]
        assert keys and all(0 < ttl <= 120 for ttl in ttls)  # counters expire on their own
        await first.delete(*keys)
        await first.aclose()
        await second.aclose()
        return out

    assert run(scenario()) == [True, True, True, False, True]


def test_redis_window_rolls_over(redis_url: str) -> None:
    prefix = f"kefu:test:{uuid.uuid4().hex}"
    wall = [1_000_000.0]

    async def scenario() -> List[bool]:
        client = redis_client(redis_url)
        limiter = RedisRateLimiter(client, limit=1, window_seconds=60, prefix=prefix, wall_clock=lambda: wall[0])
        out = [await limiter.allow("k"), await limiter.allow("k")]
        wall[0] += 60
        out.append(await limiter.allow("k"))
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        await client.delete(*keys)
        await client.aclose()
        return out

    assert run(scenario()) == [True, False, True]


def test_redis_down_fails_open_to_per_process_limits(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]

    async def scenario() -> List[bool]:
        client = redis_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
        limiter = RedisRateLimiter(client, limit=2, window_seconds=60, prefix="kefu:test", clock=lambda: now[0])
        out = [await limiter.allow("k") for _ in range(3)]  # still limited, per process
        out.append(await limiter.allow("other"))
        await client.aclose()
        return out

    with caplog.at_level(logging.WARNING, logger="kernel.ratelimit"):
        assert run(scenario()) == [True, True, False, True]
    warnings = [r for r in caplog.records if "ratelimit.redis_unavailable" in r.getMessage()]
    assert len(warnings) == 1  # one warning, not one per message


class FlakyRedis:
    """Fails while ``down``; counts like Redis otherwise."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self.counts: Dict[str, int] = {}

    async def incr(self, key: str) -> int:
        self.calls += 1
        if self.down:
            raise ConnectionError("redis is restarting")
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key]

    async def expire(self, key: str, seconds: int) -> bool:
        return True


def test_redis_is_retried_after_the_back_off() -> None:
    now = [0.0]
    redis = FlakyRedis()
    limiter = RedisRateLimiter(redis, limit=5, window_seconds=60, prefix="p", retry_seconds=5, clock=lambda: now[0])

    async def scenario() -> None:
        assert await limiter.allow("k") is True
        assert await limiter.allow("k") is True
        assert redis.calls == 1  # backing off: no connection attempt per message
        redis.down = False
        now[0] = 6.0
        assert await limiter.allow("k") is True
        assert redis.calls == 2 and redis.counts  # back on Redis

    run(scenario())


def test_every_redis_client_fails_fast() -> None:
    """One timeout policy for every Redis client, asyncio and blocking alike (nothing connects here)."""
    for client, decoded in ((redis_client("redis://127.0.0.1:1/0"), False),
                            (sync_redis_client("redis://127.0.0.1:1/0", decode_responses=True), True)):
        options = client.connection_pool.connection_kwargs
        assert options["socket_connect_timeout"] == CONNECT_TIMEOUT_SECONDS
        assert options["socket_timeout"] == COMMAND_TIMEOUT_SECONDS
        assert bool(options.get("decode_responses")) is decoded


def test_channel_limits_share_the_rate_limit_redis_when_set() -> None:
    own = object()
    assert shared_or(own, environ={}) is own
    assert shared_or(None, environ={"KEFU_RATE_LIMIT_REDIS_URL": " "}) is None
    shared = shared_or(own, environ={"KEFU_RATE_LIMIT_REDIS_URL": "redis://limits.example:6380/4"})
    assert shared is not own and shared.connection_pool.connection_kwargs["port"] == 6380


class FlakyAttempts:
    """A check/hit/reset store that fails while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("redis is restarting")

    def check(self, key: str) -> float:
        self._call()
        return 0.0

    def hit(self, key: str) -> None:
        self._call()

    def reset(self, key: str) -> None:
        self._call()


def test_attempt_limits_fail_open_with_the_same_back_off(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    primary = FlakyAttempts()
    fallback = SlidingWindowRateLimiter(limit=2, window_seconds=60, clock=lambda: now[0])
    limiter = FailOpenLimiter(primary, fallback, RedisOutage("kefu:test:", retry_seconds=5, clock=lambda: now[0]))
    with caplog.at_level(logging.WARNING, logger="kernel.ratelimit"):
        limiter.hit("ip")
        limiter.hit("ip")
        assert limiter.check("ip") > 0  # still limited, by the in-process window
        assert primary.calls == 1  # backing off: Redis was tried once
        limiter.reset("ip")
        assert limiter.check("ip") == 0.0
    assert len([r for r in caplog.records if "ratelimit.redis_unavailable" in r.getMessage()]) == 1
    primary.down = False
    now[0] = 6.0
    limiter.hit("user")
    assert primary.calls == 2 and fallback.check("user") == 0.0  # back on Redis; the process window kept warm
    limiter.hit("user")
    assert fallback.check("user") > 0


# --------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------


def test_settings_environment_wins_then_credentials_then_default() -> None:
    env = {"KEFU_X": "7"}
    assert setting({"x": 3}, "x", "KEFU_X", 1, environ=env) == "7"
    assert setting({"x": 3}, "x", "KEFU_Y", 1, environ=env) == 3
    assert setting({"x": ""}, "x", "KEFU_Y", 1, environ={}) == 1
    assert setting(None, "x", "KEFU_Y", 1, environ={"KEFU_Y": ""}) == 1
    assert shared_redis_url({"KEFU_RATE_LIMIT_REDIS_URL": " redis://r:6379/3 "}) == "redis://r:6379/3"
    assert shared_redis_url({}) == ""


@pytest.mark.parametrize("raw", ["abc", "1.5", "", None, "-1"])
def test_bad_integers_are_refused_with_the_name(raw: Optional[str]) -> None:
    with pytest.raises(ValueError, match="KEFU_REST_RATE_LIMIT"):
        int_setting(raw, "KEFU_REST_RATE_LIMIT")


@pytest.mark.parametrize("raw", ["soon", "nan", "0.5", "-3"])
def test_bad_windows_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="KEFU_REST_RATE_WINDOW"):
        float_setting(raw, "KEFU_REST_RATE_WINDOW", minimum=1.0)


def test_good_settings_parse() -> None:
    assert int_setting(" 30 ", "x") == 30 and int_setting(0, "x") == 0
    assert float_setting("60", "x", minimum=1.0) == 60.0


def test_channel_limit_settings_environment_wins_and_names_the_variable() -> None:
    names = ("KEFU_X_RATE_LIMIT", "KEFU_X_RATE_WINDOW", 20, 60.0)
    assert limit_settings(None, *names, environ={}) == (20, 60.0)
    assert limit_settings({"rate_limit_messages": 7, "rate_limit_window_seconds": 30}, *names, environ={}) == (7, 30.0)
    assert limit_settings({"rate_limit_messages": 7}, *names, environ={"KEFU_X_RATE_LIMIT": "0"}) == (0, 60.0)
    with pytest.raises(ValueError, match="KEFU_X_RATE_WINDOW"):
        limit_settings(None, *names, environ={"KEFU_X_RATE_WINDOW": "0.5"})
    with pytest.raises(ValueError, match="KEFU_X_RATE_LIMIT"):
        limit_settings({"rate_limit_messages": "many"}, *names, environ={})


# --------------------------------------------------------------------------
# body reader
# --------------------------------------------------------------------------


class FakeStream:
    def __init__(self, chunks: List[bytes]) -> None:
        self.chunks = list(chunks)
        self.request_max_size = 100 * 1024 * 1024
        self.read_calls = 0

    async def read(self) -> Optional[bytes]:
        self.read_calls += 1
        return self.chunks.pop(0) if self.chunks else None


class FakeRequest:
    def __init__(self, chunks: List[bytes], headers: Optional[Dict[str, str]] = None) -> None:
        self.body = b""
        self.headers = headers or {}
        self.stream = FakeStream(chunks)


def test_body_within_the_limit_is_read_whole() -> None:
    request = FakeRequest([b"ab", b"cd"], {"content-length": "4"})
    assert run(read_body(request, 10)) == b"abcd"
    assert request.body == b"abcd" and request.stream.request_max_size == 10


def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    request = FakeRequest([b"x" * 100], {"content-length": str(10**9)})
    with pytest.raises(BodyTooLarge):
        run(read_body(request, 64 * 1024))
    assert request.stream.read_calls == 0


def test_chunked_body_stops_at_the_limit() -> None:
    request = FakeRequest([b"x" * 40, b"x" * 40, b"x" * 40, b"x" * 40])  # no Content-Length
    with pytest.raises(BodyTooLarge):
        run(read_body(request, 100))
    assert request.stream.read_calls == 3  # never read past the chunk that crossed the limit
