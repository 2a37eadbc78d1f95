"""The bot's ``service_feedback`` slot becomes a ``console_feedback`` row (console/feedback/record.py, through the
events tail): one row per event, whatever replays it; bad values are skipped, not stored and not fatal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.feedback.models import FeedbackRow
from console.feedback.record import InvalidFeedback, parse, record_feedback
from console.models import create_schema
from tests.console.process import Console, EventsTable


def feedback_event(value: Any, ts: float) -> Dict[str, Any]:
    return {"event": "slot", "name": "service_feedback", "value": value, "timestamp": ts}


ANSWER = {"kind": "answer", "value": 0, "entry_id": "refund.time", "question": "退款要几天到账", "offer": "ab12",
          "channel": "socketio", "language": "zh-Hans"}


def rows(url: str) -> List[Dict[str, Any]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM console_feedback ORDER BY id"))]
    finally:
        engine.dispose()


def test_parse_checks_kind_range_and_entry() -> None:
    assert parse(ANSWER) == {"kind": "answer", "value": 0, "entry_id": "refund.time", "question": "退款要几天到账",
                             "ticket_id": None, "channel": "socketio", "language": "zh-Hans"}
    assert parse({"kind": "ces", "value": "5", "ticket_id": "12", "language": "xx"})["ticket_id"] == 12
    for bad, message in [({"kind": "nps", "value": 3}, "unknown kind"), ({"kind": "bot_csat", "value": 6}, "not in 1..5"),
                         ({"kind": "answer", "value": 2, "entry_id": "x"}, "not in 0..1"),
                         ({"kind": "bot_csat", "value": True}, "not in"), ({"kind": "answer", "value": 1}, "entry"),
                         ("4", "not an object")]:
        with pytest.raises(InvalidFeedback, match=message):
            parse(bad)


def _idempotent_on(url: str) -> None:
    engine = sa.create_engine(url)
    create_schema(engine)
    ts = time.time()
    with Session(engine) as session, session.begin():
        first = record_feedback(session, "conv-1", feedback_event(ANSWER, ts))
        again = record_feedback(session, "conv-1", feedback_event(ANSWER, ts))  # the same event, replayed
        assert first is again
        other = record_feedback(session, "conv-1", feedback_event({**ANSWER, "value": 1}, ts + 1))
        assert other is not first
        assert record_feedback(session, "conv-1", feedback_event({"kind": "bot_csat", "value": 9}, ts + 2)) is None
        assert record_feedback(session, "conv-1", feedback_event(None, ts + 3)) is None  # a slot reset
        assert record_feedback(session, "conv-1", {"event": "slot", "name": "language", "value": "en"}) is None
    with Session(engine) as session, session.begin():  # a later transaction (a console restart) replays it too
        assert record_feedback(session, "conv-1", feedback_event(ANSWER, ts)) is not None
    with Session(engine) as session:
        stored = session.scalars(sa.select(FeedbackRow).order_by(FeedbackRow.id)).all()
        assert [(r.kind, r.value, r.entry_id, r.question) for r in stored] == [
            ("answer", 0, "refund.time", "退款要几天到账"), ("answer", 1, "refund.time", "退款要几天到账")]
    engine.dispose()


def test_one_row_per_event_on_sqlite(tmp_path: Path) -> None:
    _idempotent_on(f"sqlite:///{tmp_path}/console.db")


def test_one_row_per_event_on_postgresql(pg_schema_url: str) -> None:
    _idempotent_on(pg_schema_url)


def test_the_events_tail_stores_feedback_once_across_a_restart(console: Console, events: EventsTable) -> None:
    now = time.time()
    events.user("web-7", "退款要几天到账", intent="ask_faq", channel="socketio", ts=now - 5)
    events.emit("web-7", feedback_event(ANSWER, now - 4))
    events.emit("wechat:o1", {"event": "user", "text": "谢谢", "timestamp": now - 3, "input_channel": "wechat",
                              "parse_data": {"intent": {"name": "thanks", "confidence": 0.9}, "entities": []}})
    # no channel in the value: the conversation's channel
    events.emit("wechat:o1", feedback_event({"kind": "bot_csat", "value": 4, "language": "zh-Hant"}, now - 2))
    events.emit("wechat:o1", feedback_event({"kind": "ces", "value": 2, "ticket_id": 41}, now - 1))
    events.emit("web-7", feedback_event({"kind": "answer", "value": 7, "entry_id": "x"}, now))  # the bot's bug: skipped
    events.user("web-7", "after the bad one", channel="socketio")
    url = console.env["KEFU_CONSOLE_DB_URL"]

    def stored() -> List[Dict[str, Any]]:
        try:
            return rows(url)
        except sa.exc.OperationalError:  # the console has not created the table yet
            return []

    console.wait_for(lambda: len(stored()) >= 3 and
                     console.internal_get("/health").json().get("events_tail", {}).get("cursor", 0) >= 7, timeout=60)
    got = [(r["sender_id"], r["kind"], r["value"], r["channel"], r["language"], r["ticket_id"], r["entry_id"])
           for r in stored()]
    assert got == [("web-7", "answer", 0, "socketio", "zh-Hans", None, "refund.time"),
                   ("wechat:o1", "bot_csat", 4, "wechat", "zh-Hant", None, None),
                   ("wechat:o1", "ces", 2, "wechat", "", 41, None)]
    # the broker table replayed from the start (a console database restored from a backup): nothing doubles
    console.stop()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE console_tail_cursor SET last_id = 0"))
    engine.dispose()
    console.start()
    console.wait_for(lambda: console.internal_get("/health").json().get("events_tail", {}).get("cursor", 0) >= 7,
                     timeout=60)
    assert len(stored()) == 3
