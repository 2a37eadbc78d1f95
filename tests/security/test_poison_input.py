"""Poison input against the console's events tail, on PostgreSQL (console database and Rasa's event broker).

A NUL cannot be stored in a PostgreSQL ``text`` column and a lone surrogate cannot be encoded as UTF-8.
Before issue 20 one such customer message in a conversation with an open ticket made every poll of
the tail fail, for good: no customer message reached any agent again. Now:

- end to end: a customer sends a NUL (and a lone surrogate) over socket.io while an agent holds the
  ticket; the next customer message still reaches the agent (real Rasa, action server and console);
- a poison event written straight into the broker table is retried, dead-lettered, and the tail moves
  on; ``/health`` says ``degraded`` with the reason.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import httpx
import pytest
import sqlalchemy as sa

from tests.console.process import Console, FakeRasa, context
from tests.console.streams import stream_of
from tests.stack import ROOT, Stack, model_missing_reason

ENDPOINTS = """\
action_endpoint:
  url: ${KEFU_ACTION_URL}
tracker_store:
  type: SQL
  dialect: "sqlite"
  db: ${KEFU_TRACKER_DB}
event_broker:
  type: SQL
  dialect: postgresql
  url: ${KEFU_EVENTS_DB_URL}
"""


@pytest.fixture()
def databases(pg_url: str) -> Iterator[Tuple[str, str]]:
    """Two fresh PostgreSQL databases: Rasa's event broker and the console's."""
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    names = [f"kefu_poison_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("events", "console")]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = pg_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class BrokerTable:
    """Rasa's SQL event broker table on PostgreSQL (rasa.core.brokers.sql.SQLEventBroker's schema)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)
        with self.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, "
                                 "sender_id VARCHAR(255), data TEXT)"))

    def raw(self, sender_id: str, data: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"), {"s": sender_id, "d": data})

    def user(self, sender_id: str, text: str) -> None:
        # json.dumps escapes NUL and lone surrogates (\\u0000, \\ud800), as Rasa's broker writes them
        self.raw(sender_id, json.dumps({"event": "user", "text": text, "timestamp": time.time(),
                                        "sender_id": sender_id, "input_channel": "socketio",
                                        "parse_data": {"intent": {"name": "inform", "confidence": 0.9}}}))

    def sender_of(self, text: str) -> Optional[str]:
        with self.engine.connect() as conn:
            for sender, data in conn.execute(sa.text("SELECT sender_id, data FROM events ORDER BY id")):
                event = json.loads(data)
                if event.get("event") == "user" and event.get("text") == text:
                    return sender
        return None


def customer_texts(console: Console, ticket_id: int) -> List[str]:
    return [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == "customer"]


def health(url: str) -> Dict[str, Any]:
    return httpx.get(f"{url}/health", timeout=30).json()


def test_poison_event_in_the_broker_table_is_dead_lettered(tmp_path: Path, databases: Tuple[str, str]) -> None:
    events_url, console_url = databases
    broker = BrokerTable(events_url)
    rasa = FakeRasa()
    console = Console.create(tmp_path / "console", rasa.url, db_url=console_url, extra={
        "KEFU_EVENTS_DB_URL": events_url, "KEFU_CONSOLE_DEMO_ACCOUNTS": "true", "KEFU_CONSOLE_TAIL_MAX_TRIES": "3"})
    console.env.pop("KEFU_EVENTS_DB", None)
    console.start()
    try:
        sender = "web:poison-" + uuid.uuid4().hex[:8]
        ticket_id = console.handoff(sender, channel="socketio")["ticket_id"]
        wang = console.login("wang")
        assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
        stream = stream_of(console, "wang")
        broker.user(sender, "before")
        assert stream.next("message.created", where=lambda d: d["message"]["text"] == "before")
        # the attacker's events: NUL and a lone surrogate in the text, a surrogate where nobody cleans it,
        # and a timestamp that is not a number
        broker.user(sender, "nul\x00 and \ud800 surrogate")
        broker.raw(sender, json.dumps({"event": "user", "text": "x", "timestamp": time.time(),
                                       "parse_data": {"intent": {"name": "greet\udfff", "confidence": 1}}}))
        broker.raw(sender, json.dumps({"event": "user", "text": "y", "timestamp": "soon"}))
        broker.user(sender, "the next message")
        got = stream.next("message.created", timeout=120, where=lambda d: d["message"]["text"] == "the next message")
        assert got is not None, f"the tail stalled on the poison: health={health(console.url)}"
        texts = customer_texts(console, ticket_id)
        assert texts[-2:] == ["nul and  surrogate", "the next message"], texts
        assert not any("\x00" in t for t in texts)
        state = health(console.url)
        assert state["status"] == "degraded", state
        assert any("dead-lettered 2 event(s)" in reason for reason in state["reasons"]), state
        letters = console.login("admin").get("/api/ops/dead-letters").json()["dead_letters"]
        assert [d["tries"] for d in letters] == [3, 3]
        assert "soon" in letters[0]["raw"] and "greet\\udfff" in letters[1]["raw"]
        assert "UnicodeEncodeError" in letters[1]["error"]
    finally:
        console.stop()
        rasa.close()


@pytest.mark.stack
def test_nul_over_socketio_with_an_open_ticket_on_postgresql(tmp_path: Path, databases: Tuple[str, str]) -> None:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    import socketio

    events_url, console_url = databases
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(ENDPOINTS, encoding="utf-8")
    stack = Stack.start(tmp_path / "stack", extra_env={
        "KEFU_ENDPOINTS": str(endpoints), "KEFU_CREDENTIALS": str(ROOT / "credentials.yml"),
        "KEFU_EVENTS_DB_URL": events_url, "KEFU_CONSOLE_DB_URL": console_url,
        "KEFU_CONSOLE_DEMO_ACCOUNTS": "true", "KEFU_CONSOLE_TAIL_INTERVAL": "0.2",
    })
    client = socketio.Client(reconnection=False)
    confirmed: Dict[str, Any] = {}
    ready = threading.Event()

    @client.on("session_confirm")
    def _confirm(data: Any = None) -> None:
        confirmed["id"] = data.get("session_id") if isinstance(data, dict) else data
        ready.set()

    try:
        console = Console(workdir=tmp_path / "stack", env=dict(stack.env))
        broker = BrokerTable(events_url)
        client.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io", wait_timeout=30)
        client.emit("session_request", {"session_id": None})
        assert ready.wait(30), "no session_confirm"

        def say(text: str) -> None:
            client.emit("user_uttered", {"message": text, "session_id": confirmed["id"],
                                         "metadata": {"message_id": uuid.uuid4().hex}})

        marker = f"你好 {uuid.uuid4().hex[:6]}"
        say(marker)
        sender = console.wait_for(lambda: broker.sender_of(marker), timeout=120)
        assert sender, "the customer's first message never reached the event broker"
        # the bot escalated: the ticket is open and wang holds it
        created = console.internal("/internal/handoffs", context(sender, channel="socketio"))
        assert created.status_code in (200, 201), created.text
        ticket_id = created.json()["ticket_id"]
        wang = console.login("wang")
        assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
        stream = stream_of(console, "wang")
        say("杯子碎了\x00\x00 还有 \ud800 这个")
        say("请尽快处理")
        got = stream.next("message.created", timeout=180, where=lambda d: d["message"]["text"] == "请尽快处理")
        assert got is not None, f"the next customer message never reached the agent: health={health(console.url)}"
        texts = customer_texts(console, ticket_id)
        assert "请尽快处理" in texts and not any("\x00" in t or "\ud800" in t for t in texts), texts
        assert health(console.url)["events_tail"]["error"] is None
    finally:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - already gone
            pass
        stack.stop()
