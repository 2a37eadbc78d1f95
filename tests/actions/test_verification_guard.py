"""The server-side verification lockout (actions/verification_guard.py) on every backend.

In-process, SQLite, PostgreSQL (``pg_schema_url``) and Redis (``redis_url``) run the same tests;
time is an injected clock, never a sleep. A backend that is down raises GuardUnavailable.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest
import sqlalchemy as sa

from actions.verification_guard import (
    DB_FILE,
    GuardConfigError,
    GuardSettings,
    GuardUnavailable,
    MemoryBackend,
    RedisBackend,
    SqlBackend,
    Subjects,
    VerificationGuard,
    guard_from_env,
    normalise_ip,
    subject_digest,
)
from kernel.logs import mask_id, mask_ip

SETTINGS = GuardSettings(per_order=5, per_customer=10, per_ip=20, window_seconds=3600)


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
def backend_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory of backends that share one store (like two action-server replicas)."""
    made: List[Any] = []
    if request.param == "memory":
        shared = MemoryBackend()

        def factory() -> Any:
            return shared
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'verify.db'}"

        def factory() -> Any:
            made.append(SqlBackend(url))
            return made[-1]
    elif request.param == "postgresql":
        url = request.getfixturevalue("pg_schema_url")

        def factory() -> Any:
            made.append(SqlBackend(url))
            return made[-1]
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"kefu:test-verify:{uuid.uuid4().hex}"

        def factory() -> Any:
            made.append(RedisBackend(url, prefix=prefix))
            return made[-1]
    yield factory
    for backend in made:
        if isinstance(backend, SqlBackend):
            backend.dispose()
        else:
            for key in backend.client.scan_iter(f"{backend.prefix}:*"):
                backend.client.delete(key)
            backend.client.close()


def guard(factory: Callable[[], Any], clock: Clock, settings: GuardSettings = SETTINGS) -> VerificationGuard:
    return VerificationGuard(factory(), settings, clock)


def fail(g: VerificationGuard, subjects: Subjects) -> bool:
    """One wrong suffix; True when it was refused by the lock instead."""
    attempt = g.reserve(subjects)
    if not attempt.locked:
        g.failed(subjects, attempt)
    return attempt.locked


def test_per_order_lock_across_replicas_and_expiry(backend_factory: Callable[[], Any]) -> None:
    clock = Clock()
    one, two = guard(backend_factory, clock), guard(backend_factory, clock)
    order = Subjects("KF20261120001", "C0001")
    for i in range(5):
        clock.now += 10
        assert fail(one if i % 2 else two, order) is False
    assert one.count("order", "KF20261120001") == 5 and two.count("customer", "C0001") == 5
    # locked for everyone: even the right suffix is refused without a comparison
    locked = two.reserve(order)
    assert locked.locked and locked.locked_scopes == ["order"] and locked.handle is None
    assert one.count("order", "KF20261120001") == 5  # a refused attempt is not counted
    # the window slides: the first failure (t+10) leaves the window at t+10+3600
    clock.now = 1_800_000_000.0 + 10 + 3600 - 1
    assert one.reserve(order).locked
    clock.now += 1
    attempt = one.reserve(order)
    assert not attempt.locked and attempt.counts["order"] == 5
    one.succeeded(attempt)  # a right suffix does not count
    assert two.count("order", "KF20261120001") == 4


def test_unknown_order_counts_under_its_number_like_a_wrong_suffix(backend_factory: Callable[[], Any]) -> None:
    clock = Clock()
    g = guard(backend_factory, clock)
    unknown, known = Subjects("KF20261231999", None), Subjects("KF20261120001", "C0001")
    outcomes_unknown = [fail(g, unknown) for _ in range(7)]
    outcomes_known = [fail(g, known) for _ in range(7)]
    assert outcomes_unknown == outcomes_known == [False] * 5 + [True] * 2
    assert g.count("order", "KF20261231999") == 5
    # an unknown order's stand-in customer is per order: unknown orders never lock each other
    assert not g.reserve(Subjects("KF20261231998", None)).locked


def test_per_customer_lock_spans_their_orders(backend_factory: Callable[[], Any]) -> None:
    clock = Clock()
    g = guard(backend_factory, clock)
    orders = [f"KF202611{d:02d}001" for d in range(1, 4)]
    results = [fail(g, Subjects(orders[i % 3], "C0001")) for i in range(12)]
    assert results == [False] * 10 + [True] * 2  # 10 per customer, fewer than 5 on each order
    refused = g.reserve(Subjects("KF20261130001", "C0001"))
    assert refused.locked and refused.locked_scopes == ["customer"]
    assert not g.reserve(Subjects("KF20261130001", "C0002")).locked


def test_per_ip_lock_spans_orders_and_customers(backend_factory: Callable[[], Any]) -> None:
    clock = Clock()
    g = guard(backend_factory, clock)
    results = [fail(g, Subjects(f"KF2026110{i % 9 + 1}0{i:02d}", f"C{i:04d}", "2001:db8::1")) for i in range(21)]
    assert results == [False] * 20 + [True]
    # the same /64 is the same client; another address is not
    assert g.reserve(Subjects("KF20261201001", "C0999", "2001:db8::ffff")).locked_scopes == ["ip"]
    assert not g.reserve(Subjects("KF20261201001", "C0999", "2001:db9::1")).locked
    assert not g.reserve(Subjects("KF20261201002", "C0998", None)).locked  # no IP: only order and customer


def test_concurrent_guesses_never_exceed_the_limit(backend_factory: Callable[[], Any]) -> None:
    clock = Clock()
    guards = [guard(backend_factory, clock) for _ in range(4)]
    order = Subjects("KF20261120001", "C0001")
    reserved: List[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def guess(g: VerificationGuard) -> None:
        start.wait()
        attempt = g.reserve(order)
        with lock:
            reserved.append(not attempt.locked)

    threads = [threading.Thread(target=guess, args=(guards[i % 4],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(reserved) == 5 and len(reserved) == 16
    assert guards[0].count("order", "KF20261120001") == 5


def test_sqlite_counts_survive_a_restart_and_store_no_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'verify.db'}"
    clock = Clock()
    first = VerificationGuard(SqlBackend(url), SETTINGS, clock)
    for _ in range(5):
        fail(first, Subjects("KF20261120001", "C0001", "203.0.113.7"))
    first.backend.dispose()
    second = VerificationGuard(SqlBackend(url), SETTINGS, clock)
    assert second.reserve(Subjects("KF20261120001", "C0001")).locked
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM kefu_verify_attempts")) for v in row)
    engine.dispose()
    second.backend.dispose()
    assert subject_digest("order", "KF20261120001") in dump
    assert "KF2026" not in dump and "C0001" not in dump and "203.0.113" not in dump


def test_backends_that_are_down_raise_guard_unavailable(tmp_path: Path) -> None:
    order = Subjects("KF20261120001", "C0001")
    redis_down = VerificationGuard(RedisBackend("redis://127.0.0.1:9/0"), SETTINGS)
    with pytest.raises(GuardUnavailable):
        redis_down.reserve(order)
    pg_down = VerificationGuard(SqlBackend("postgresql+psycopg2://kefu@127.0.0.1:9/none"), SETTINGS)
    with pytest.raises(GuardUnavailable):
        pg_down.reserve(order)
    sqlite_down = VerificationGuard(SqlBackend(f"sqlite:///{tmp_path / 'missing-dir' / 'v.db'}"), SETTINGS)
    with pytest.raises(GuardUnavailable):
        sqlite_down.reserve(order)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    assert GuardSettings.from_env({}) == GuardSettings(5, 10, 20, 3600.0)
    env = {"KEFU_VERIFY_MAX_PER_ORDER": "3", "KEFU_VERIFY_MAX_PER_CUSTOMER": "6", "KEFU_VERIFY_MAX_PER_IP": "0",
           "KEFU_VERIFY_WINDOW_SECONDS": "90"}
    assert GuardSettings.from_env(env) == GuardSettings(3, 6, 0, 90.0)
    for name, value in [("KEFU_VERIFY_MAX_PER_ORDER", "0"), ("KEFU_VERIFY_MAX_PER_ORDER", "five"),
                        ("KEFU_VERIFY_MAX_PER_IP", "-1"), ("KEFU_VERIFY_WINDOW_SECONDS", "0.5"),
                        ("KEFU_VERIFY_WINDOW_SECONDS", "an hour")]:
        with pytest.raises(GuardConfigError, match=name):
            GuardSettings.from_env({name: value})
    with pytest.raises(GuardConfigError, match="KEFU_VERIFY_BACKEND"):
        guard_from_env({"KEFU_VERIFY_BACKEND": "mongo"})
    with pytest.raises(GuardConfigError, match="KEFU_VERIFY_REDIS_URL"):
        guard_from_env({"KEFU_VERIFY_BACKEND": "redis"})


def test_backend_choice(tmp_path: Path) -> None:
    embedded = guard_from_env({"KEFU_VAR_DIR": str(tmp_path)})
    assert isinstance(embedded.backend, SqlBackend) and str(tmp_path / DB_FILE) in embedded.backend.engine.url.database
    embedded.backend.dispose()
    assert isinstance(guard_from_env({"KEFU_RATE_LIMIT_REDIS_URL": "redis://r:6379/3"}).backend, RedisBackend)
    own = guard_from_env({"KEFU_VERIFY_REDIS_URL": "redis://v:6379/4", "KEFU_RATE_LIMIT_REDIS_URL": "redis://r/3"})
    assert own.backend.client.connection_pool.connection_kwargs["host"] == "v"
    sql = guard_from_env({"KEFU_VERIFY_DB_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert isinstance(sql.backend, SqlBackend)
    sql.backend.dispose()
    memory = guard_from_env({"KEFU_VERIFY_BACKEND": "memory", "KEFU_RATE_LIMIT_REDIS_URL": "redis://r:6379/3"})
    assert isinstance(memory.backend, MemoryBackend)


def test_masks_and_ip_normalisation() -> None:
    assert mask_id("KF20261120001") == "KF2…01" and mask_id("C01") == "***"
    assert mask_ip("203.0.113.7") == "203.0.113.x" and mask_ip(None) == "-"
    assert normalise_ip("::ffff:203.0.113.7") == "203.0.113.7"
    assert normalise_ip("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert normalise_ip("not an ip") is None and normalise_ip(["1.2.3.4"]) is None and normalise_ip("1" * 100) is None
