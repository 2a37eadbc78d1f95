"""The events tail survives poison events: retried, dead-lettered, reported by /health, listed for ops."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List

import httpx
import pytest

from console.events_tail import EventsTail
from tests.console.process import Console, EventsTable, FakeRasa


def texts(console: Console, ticket_id: int) -> List[str]:
    return [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == "customer"]


def health(console: Console) -> Any:
    return httpx.get(f"{console.url}/health", timeout=30).json()


@pytest.fixture()
def poisoned(tmp_path: Path, fake_rasa: FakeRasa) -> Console:
    console = Console.create(tmp_path / "dl", fake_rasa.url, extra={"KEFU_CONSOLE_TAIL_MAX_TRIES": "3"})
    return console.start()


def test_poison_events_are_dead_lettered_and_the_tail_moves_on(poisoned: Console) -> None:
    console = poisoned
    try:
        events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
        ticket_id = console.handoff("dl-1")["ticket_id"]
        assert health(console)["status"] == "ok"
        events.user("dl-1", "before the poison")
        # a timestamp that is not a number, and an intent name that cannot be encoded (lone surrogate)
        events.raw("dl-1", json.dumps({"event": "user", "text": "bad time", "timestamp": "not-a-time",
                                       "parse_data": {"intent": {"name": "greet"}}}))
        events.raw("dl-1", '{"event": "user", "text": "bad intent", "timestamp": %f, '
                           '"parse_data": {"intent": {"name": "\\ud800x", "confidence": 0.5}}}' % time.time())
        events.user("dl-1", "after the poison \x00with a NUL")  # stored without the NUL
        assert console.wait_for(lambda: "after the poison with a NUL" in texts(console, ticket_id), timeout=60), \
            console.log()[-3000:]
        assert texts(console, ticket_id) == ["我的杯子碎了", "before the poison", "after the poison with a NUL"]
        state = health(console)
        assert state["status"] == "degraded", state
        assert any("dead-lettered 2 event(s)" in r for r in state["reasons"]), state
        assert state["events_tail"]["dead_letters"] == 2
        listed = console.login("admin").get("/api/ops/dead-letters").json()
        assert listed["total"] == 2
        newest, oldest = listed["dead_letters"]
        assert oldest["tries"] == 3 and "ValueError" in oldest["error"] and "not-a-time" in oldest["raw"]
        assert "UnicodeEncodeError" in newest["error"] and "\\ud800x" in newest["raw"]
        assert newest["sender_id"] == "dl-1"
        assert console.login("wang").get("/api/ops/dead-letters").status_code == 403  # supervisors only
        assert "kefu_console_events_dead_letters_total 2.0" in httpx.get(f"{console.url}/metrics", timeout=30).text
        # a restart keeps reporting the recent dead letters (and does not dead-letter them again)
        console.stop()
        console.start()
        state = health(console)
        assert state["status"] == "degraded" and state["events_tail"]["dead_letters"] == 2, state
        assert console.login("admin").get("/api/ops/dead-letters").json()["total"] == 2
    finally:
        console.stop()


def test_an_event_that_fails_once_is_retried_not_dead_lettered(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    """A failure that goes away (here: the ticket table locked by another writer for a moment) costs a retry."""
    console = Console.create(tmp_path / "retry", fake_rasa.url, extra={"KEFU_CONSOLE_TAIL_MAX_TRIES": "50"}).start()
    try:
        import sqlalchemy as sa

        events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
        ticket_id = console.handoff("rt-1")["ticket_id"]
        # hold a write lock on the console database: the tail's writes fail with "database is locked"
        engine = sa.create_engine(console.env["KEFU_CONSOLE_DB_URL"], connect_args={"timeout": 0.1})
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            events.user("rt-1", "during the lock")
            console.wait_for(lambda: health(console)["events_tail"]["error"], timeout=120)
            conn.exec_driver_sql("ROLLBACK")
        assert console.wait_for(lambda: "during the lock" in texts(console, ticket_id), timeout=60)
        assert console.login("admin").get("/api/ops/dead-letters").json()["total"] == 0
        assert console.wait_for(lambda: health(console)["status"] == "ok", timeout=30), health(console)
    finally:
        console.stop()


def tail_with(**status: Any) -> EventsTail:
    tail = EventsTail("sqlite://", service=None, lag_seconds=60, dead_letter_window=3600)  # type: ignore[arg-type]
    tail.status.running = True
    tail.status.last_poll_at = 1000.0
    for key, value in status.items():
        setattr(tail.status, key, value)
    return tail


def test_health_reasons() -> None:
    assert tail_with().health(now=1001) == ("ok", [])
    state, reasons = tail_with(behind_since=900.0).health(now=1000)
    assert state == "degraded" and reasons == ["events tail lags: behind the events table for 100 s"]
    assert tail_with(behind_since=990.0).health(now=1000) == ("ok", [])
    state, reasons = tail_with(last_poll_at=800.0).health(now=1000)
    assert reasons == ["events tail lags: no poll for 200 s"]
    state, reasons = tail_with(error="OperationalError: down").health(now=1001)
    assert reasons == ["events tail error: OperationalError: down"]
    state, reasons = tail_with(dead_letters=1, last_dead_letter_at=900.0, last_dead_letter="event 7 ...").health(now=1001)
    assert state == "degraded" and reasons == ["events tail dead-lettered 1 event(s); last: event 7 ..."]
    assert tail_with(dead_letters=1, last_dead_letter_at=900.0, last_poll_at=4500.0).health(now=4501) == ("ok", [])
    assert tail_with(running=False).health(now=1001)[1] == ["events tail is not running"]
