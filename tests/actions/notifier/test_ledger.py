"""The notice ledger: one claim wins, only its holder records the outcome, held and abandoned notices come back,
opt-outs cancel; on SQLite and on PostgreSQL (CI), with two ledgers standing for two notifier replicas."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Iterator, Tuple

import pytest
import sqlalchemy as sa

from actions.notifier.ledger import Ledger, LedgerUnavailable
from tests.services import POSTGRES_URL, postgres_unavailable_reason, require_ci_services

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def _pg_url() -> str:
    reason = postgres_unavailable_reason()
    if reason:
        if require_ci_services():
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"notices_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def replicas(request: pytest.FixtureRequest, tmp_path) -> Iterator[Tuple[Ledger, Ledger]]:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'app.db'}" if request.param == "sqlite" else _pg_url()
    a, b = Ledger(url, "replica-a"), Ledger(url, "replica-b")
    yield a, b
    a.close()
    b.close()


def test_one_claim_wins_and_only_its_holder_records_the_outcome(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    assert a.claim("restock:1", "restock", "wechat", "wechat:o1", NOW)
    assert not b.claim("restock:1", "restock", "wechat", "wechat:o1", NOW)
    assert not b.sent("restock:1", NOW), "a replica that does not hold the claim records nothing"
    assert a.sent("restock:1", NOW)
    later = NOW + timedelta(days=1)
    assert not a.claim("restock:1", "restock", "wechat", "wechat:o1", later), "a sent notice is never claimed again"
    assert not b.claim("restock:1", "restock", "wechat", "wechat:o1", later)
    notice = a.notice("restock:1")
    assert notice is not None and notice.state == "sent" and notice.attempts == 1 and notice.sent_at == NOW


def test_a_held_notice_comes_back_at_its_retry_time_to_one_replica(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    assert a.claim("restock:2", "restock", "wechat", "wechat:o2", NOW)
    assert a.held("restock:2", NOW + timedelta(minutes=5), "window closed")
    assert not b.claim("restock:2", "restock", "wechat", "wechat:o2", NOW + timedelta(minutes=4))
    due = NOW + timedelta(minutes=6)
    assert b.claim("restock:2", "restock", "wechat", "wechat:o2", due)
    assert not a.claim("restock:2", "restock", "wechat", "wechat:o2", due)
    assert b.sent("restock:2", due)
    assert b.notice("restock:2").attempts == 2  # type: ignore[union-attr]


def test_the_claim_of_a_dead_replica_is_taken_over_when_its_lease_runs_out(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    assert a.claim("restock:3", "restock", "socketio", "web:s3", NOW)
    assert not b.claim("restock:3", "restock", "socketio", "web:s3", NOW + a.lease - timedelta(seconds=1))
    assert b.claim("restock:3", "restock", "socketio", "web:s3", NOW + a.lease + timedelta(seconds=1))
    assert not a.sent("restock:3"), "the old holder lost its claim and records nothing"
    assert b.failed("restock:3", "blocked")
    assert a.states(["restock:3", "restock:404"]) == {"restock:3": "failed"}


def test_opt_out_and_cancel(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    assert a.opted_out_at("wechat", "wechat:o4") is None
    a.opt_out("wechat", "wechat:o4", NOW)
    b.opt_out("wechat", "wechat:o4", NOW + timedelta(hours=1))  # again, from the other replica: the later time
    assert a.opted_out_at("wechat", "wechat:o4") == NOW + timedelta(hours=1)
    a.cancel("restock:4", "restock", "wechat", "wechat:o4")
    b.cancel("restock:4", "restock", "wechat", "wechat:o4")
    assert not b.claim("restock:4", "restock", "wechat", "wechat:o4", NOW + timedelta(days=3))
    assert a.sent("restock:5") is False  # never claimed
    assert a.claim("restock:5", "restock", "wechat", "wechat:o4", NOW)
    assert a.sent("restock:5", NOW)
    a.cancel("restock:5", "restock", "wechat", "wechat:o4")
    assert a.states(["restock:4", "restock:5"]) == {"restock:4": "cancelled", "restock:5": "sent"}
    assert a.counts() == {"cancelled": 1, "sent": 1}


def test_racing_replicas_claim_each_notice_exactly_once(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    keys = [f"restock:race{i}" for i in range(40)]
    won = {"replica-a": [], "replica-b": []}
    start = threading.Barrier(2)

    def run(ledger: Ledger) -> None:
        start.wait()
        for key in keys:
            if ledger.claim(key, "restock", "socketio", f"web:{key}", NOW):
                won[ledger.owner].append(key)

    threads = [threading.Thread(target=run, args=(ledger,)) for ledger in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won["replica-a"] + won["replica-b"]) == sorted(keys)
    assert not set(won["replica-a"]) & set(won["replica-b"])


def test_an_unreachable_database_is_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(LedgerUnavailable, match="unavailable"):
        Ledger("postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2", "replica-a")
    missing_dir = tmp_path / "no" / "such" / "dir" / "app.db"
    with pytest.raises(LedgerUnavailable):
        Ledger(f"sqlite:///{missing_dir}", "replica-a")


def test_order_watches(replicas: Tuple[Ledger, Ledger]) -> None:
    a, b = replicas
    assert a.watch_order("KF20261119001", "wechat", "wechat:o1", "zh-Hans", "paid", now=NOW)
    assert not b.watch_order("KF20261119001", "wechat", "wechat:o1", "zh-Hans", "paid", now=NOW), "one watch"
    assert a.watch_order("KF20261119001", "socketio", "web:s1", "en", "paid", now=NOW), "another conversation"
    [first, second] = a.active_watches(NOW + timedelta(days=1))
    assert (first.channel, first.status, first.created_at) == ("wechat", "paid", NOW) and second.language == "en"
    a.watch_told(first.id, "shipped", still_active=True)
    b.end_watch(second.id)
    [only] = b.active_watches(NOW + timedelta(days=1))
    assert (only.id, only.status) == (first.id, "shipped")
    assert a.active_watches(NOW + timedelta(days=31)) == [], "a watch lasts 30 days"
    later = NOW + timedelta(days=40)
    assert a.watch_order("KF20261119001", "wechat", "wechat:o1", "zh-Hans", "shipped", now=later), "looked up again"
    assert [w.created_at for w in a.active_watches(later)] == [later]
