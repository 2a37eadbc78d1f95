"""Several Rasa replicas write the events table at once: the tail must never skip a row that
commits after a higher id became visible (console.events_tail.readable_prefix)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from console.events_tail import EventsTail, readable_prefix


def test_contiguous_ids_are_all_readable() -> None:
    assert readable_prefix(10, [11, 12, 13], {}, now=0.0) == 3
    assert readable_prefix(10, [], {}, now=0.0) == 0


def test_rows_after_a_fresh_hole_wait() -> None:
    seen: dict = {}
    assert readable_prefix(10, [11, 13, 14], seen, now=100.0, wait=10.0) == 1
    assert seen == {12: 100.0}
    # still open a moment later: still waiting
    assert readable_prefix(11, [13, 14], seen, now=105.0, wait=10.0) == 0
    # the in-flight row committed: everything is readable
    assert readable_prefix(11, [12, 13, 14], seen, now=106.0, wait=10.0) == 3


def test_a_hole_open_longer_than_the_wait_is_a_rolled_back_insert() -> None:
    seen = {12: 100.0}
    assert readable_prefix(11, [13, 14], seen, now=110.5, wait=10.0) == 2


def test_a_hole_at_the_start_waits_too() -> None:
    assert readable_prefix(0, [2, 3], {}, now=0.0) == 0


def _events_table(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"))


def _insert(conn: sa.Connection, sender: str) -> int:
    data = json.dumps({"event": "user", "text": sender, "timestamp": 1.0})
    return conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d) RETURNING id"),
                        {"s": sender, "d": data}).scalar_one()


def test_postgres_shows_a_higher_id_before_a_lower_one_commits(pg_schema_url: str) -> None:
    """The hazard itself, on a real PostgreSQL, and what the tail reads while it lasts."""
    engine = sa.create_engine(pg_schema_url)
    _events_table(engine)
    tail = EventsTail(pg_schema_url, service=None)  # type: ignore[arg-type]  # only _fetch is used
    slow = engine.connect()
    slow_tx = slow.begin()
    first = _insert(slow, "replica-a")  # in flight on "replica A"
    with engine.begin() as fast:
        second = _insert(fast, "replica-b")  # committed by "replica B"
    assert second > first
    rows = tail._fetch(0)
    assert [r.id for r in rows] == [second]  # the lower id is invisible for now
    assert readable_prefix(first - 1, [r.id for r in rows], {}, now=0.0) == 0
    slow_tx.commit()
    slow.close()
    rows = tail._fetch(first - 1)
    assert [r.id for r in rows] == [first, second]
    assert readable_prefix(first - 1, [r.id for r in rows], {}, now=1.0) == 2
    engine.dispose()
