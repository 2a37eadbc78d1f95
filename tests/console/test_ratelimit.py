"""The login limiter: sliding window in process and in Redis, Redis outage, and the login route's 429."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from console.ratelimit import LoginLimits
from kernel.ratelimit import FailOpenLimiter
from kernel.ratelimit import RedisSlidingWindow as RedisLimiter
from kernel.ratelimit import SlidingWindowRateLimiter as MemoryLimiter
from kernel.ratelimit import attempt_limiter as make_limiter
from tests.console.process import PASSWORDS, Console, FakeRasa


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_window_slides() -> None:
    clock = Clock()
    limiter = MemoryLimiter(3, 60, clock=clock)
    for _ in range(3):
        assert limiter.check("ip") == 0
        limiter.hit("ip")
        clock.now += 10
    assert limiter.check("ip") == pytest.approx(30)  # the first hit (t=1000) leaves the window at t=1060
    assert limiter.check("other") == 0
    clock.now = 1060.5
    assert limiter.check("ip") == 0  # one slot free again
    limiter.hit("ip")
    assert limiter.check("ip") > 0
    limiter.reset("ip")
    assert limiter.check("ip") == 0


def test_memory_keys_are_bounded() -> None:
    limiter = MemoryLimiter(1, 60, max_keys=100)
    for n in range(1000):
        limiter.hit(f"ip-{n}")
    assert len(limiter._hits) == 100
    assert limiter.check("ip-999") > 0 and limiter.check("ip-0") == 0


def test_redis_window_is_shared_between_limiters(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"kefu:test:{uuid.uuid4().hex}:"
    clock = Clock()
    one, two = RedisLimiter(client, 2, 60, prefix, clock), RedisLimiter(client, 2, 60, prefix, clock)
    try:
        one.hit("user")
        two.hit("user")  # another console process
        assert one.check("user") == pytest.approx(60)
        assert two.check("user") == pytest.approx(60)
        clock.now += 61
        assert one.check("user") == 0
        one.hit("user")
        one.hit("user")
        assert two.check("user") > 0
        two.reset("user")
        assert one.check("user") == 0
        assert 0 < client.ttl(prefix + "user") or client.exists(prefix + "user") == 0
    finally:
        for key in client.scan_iter(prefix + "*"):
            client.delete(key)


def test_redis_down_falls_back_to_the_process_window() -> None:
    limiter = make_limiter(2, 60, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert isinstance(limiter, FailOpenLimiter)
    limiter.hit("ip")
    limiter.hit("ip")
    assert limiter.check("ip") > 0  # still limited, from the in-process window


def test_login_limits_per_ip_and_per_username() -> None:
    limits = LoginLimits(ip_limit=5, user_limit=2, window=60)
    limits.failed("wang")
    limits.failed("wang")
    assert limits.retry_after("10.0.0.1", "wang") > 0  # the username, from any IP
    assert limits.retry_after("10.0.0.1", "li") == 0
    limits.succeeded("wang")
    assert limits.retry_after("10.0.0.1", "wang") == 0
    for _ in range(5):
        limits.attempt("10.0.0.2")
    assert limits.retry_after("10.0.0.2", "li") > 0  # the IP, whatever the username


def test_login_route_answers_429_with_retry_after(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    console = Console.create(tmp_path / "rl", fake_rasa.url, extra={
        "KEFU_CONSOLE_LOGIN_IP_LIMIT": "6", "KEFU_CONSOLE_LOGIN_USER_LIMIT": "3", "KEFU_CONSOLE_LOGIN_WINDOW": "600"})
    console.start()
    try:
        url = f"{console.url}/api/auth/login"
        answers = [httpx.post(url, json={"username": "wang", "password": f"guess-{n}"}, timeout=30) for n in range(5)]
        assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
        limited = answers[-1]
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 600
        # even the right password waits: the username is locked for the window
        assert httpx.post(url, json={"username": "wang", "password": PASSWORDS["wang"]}, timeout=30).status_code == 429
        # another username from the same IP until the IP's own limit (6 attempts counted: 3 + li's)
        assert httpx.post(url, json={"username": "li", "password": PASSWORDS["li"]}, timeout=30).status_code == 200
        assert httpx.post(url, json={"username": "li", "password": "nope-nope"}, timeout=30).status_code == 401
        assert httpx.post(url, json={"username": "admin", "password": "nope-nope"}, timeout=30).status_code == 401
        assert httpx.post(url, json={"username": "admin", "password": PASSWORDS["admin"]}, timeout=30).status_code == 429
        metrics = httpx.get(f"{console.url}/metrics", timeout=30).text
        assert 'kefu_console_logins_total{outcome="rate_limited"}' in metrics
    finally:
        console.stop()
