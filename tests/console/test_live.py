"""Customer messages from Rasa's event stream, console restarts, SSE, and PostgreSQL."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import httpx

from tests.console.process import Console, EventsTable, FakeRasa, context


def texts(console: Console, ticket_id: int, author: str = "customer") -> List[str]:
    return [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == author]


def test_customer_messages_reach_the_open_ticket_once(console: Console, events: EventsTable) -> None:
    ticket_id = console.handoff("live-1")["ticket_id"]
    events.user("live-1", "还在吗？<b>急</b>")
    events.user("someone-else", "not for this ticket")
    events.emit("live-1", {"event": "action", "name": "action_listen"})
    assert console.wait_for(lambda: "还在吗？<b>急</b>" in texts(console, ticket_id))
    assert texts(console, ticket_id) == ["我的杯子碎了", "还在吗？<b>急</b>"]
    # the transcript message replayed by the broker is recognised (same event identity)
    first = console.ticket(ticket_id)["context"]["transcript"][0]
    events.emit("live-1", {"event": "user", "text": first["text"], "timestamp": first["timestamp"],
                           "parse_data": {"intent": {"name": "complain", "confidence": 0.9}}})
    events.user("live-1", "订单号 KF20261101001")
    assert console.wait_for(lambda: "订单号 KF20261101001" in texts(console, ticket_id))
    assert texts(console, ticket_id).count("我的杯子碎了") == 1


def test_agent_messages_echoed_by_the_broker_are_not_doubled(console: Console, events: EventsTable,
                                                             fake_rasa: FakeRasa) -> None:
    ticket_id = console.handoff("echo-1")["ticket_id"]
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "您好"}).raise_for_status()
    for sent in fake_rasa.events_for("echo-1"):  # what Rasa's broker would publish for the appended events
        events.emit("echo-1", sent)
    events.user("echo-1", "marker")
    assert console.wait_for(lambda: "marker" in texts(console, ticket_id))
    messages = console.ticket(ticket_id)["messages"]
    assert [m["text"] for m in messages if m["author"] == "agent"] == ["您好"]
    assert len([m for m in messages if m["author"] == "system"]) == 1  # agent_joined, once


def test_no_message_lost_while_the_console_restarts(console: Console, events: EventsTable) -> None:
    ticket_id = console.handoff("restart-1")["ticket_id"]
    events.user("restart-1", "before the restart")
    assert console.wait_for(lambda: "before the restart" in texts(console, ticket_id))
    console.stop()
    events.user("restart-1", "sent while the console was down 1")
    events.user("restart-1", "sent while the console was down 2")
    console.start()
    assert console.wait_for(lambda: "sent while the console was down 2" in texts(console, ticket_id))
    assert texts(console, ticket_id) == ["我的杯子碎了", "before the restart", "sent while the console was down 1",
                                         "sent while the console was down 2"]


def test_ticket_opened_from_the_event_stream_when_the_console_was_down(console: Console,
                                                                      events: EventsTable) -> None:
    console.stop()
    body = context("outbox-1")
    events.emit("outbox-1", {"event": "slot", "name": "handoff_request", "value": body})
    events.user("outbox-1", "有人吗")
    events.raw("outbox-1", "this is not json")
    console.start()
    admin = console.login("admin")
    tickets = console.wait_for(lambda: admin.get("/api/tickets").json()["tickets"])
    assert [t["sender_id"] for t in tickets] == ["outbox-1"]
    ticket_id = tickets[0]["id"]
    assert console.wait_for(lambda: "有人吗" in texts(console, ticket_id))
    assert console.ticket(ticket_id)["transitions"][0]["detail"]["via"] == "events"
    # the bot's own POST arriving late is the same ticket
    late = console.internal("/internal/handoffs", body)
    assert late.status_code == 200 and late.json()["ticket_id"] == ticket_id


def test_rating_typed_after_close_and_rating_slot(console: Console, events: EventsTable) -> None:
    for sender, how in (("rate-1", "digit"), ("rate-2", "slot")):
        ticket_id = console.handoff(sender)["ticket_id"]
        wang = console.login("wang")
        wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
        wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
        if how == "digit":
            events.user(sender, "4分", intent="csat_rating")
            expected = 4
        else:
            events.emit(sender, {"event": "slot", "name": "csat_rating", "value": {"rating": 2, "ticket_id": str(ticket_id)}})
            expected = 2
        def rated(ticket_id: int = ticket_id, expected: int = expected) -> bool:
            return (console.ticket(ticket_id)["csat"] or {}).get("rating") == expected

        assert console.wait_for(rated), how


class SSE:
    def __init__(self, console: Console, user: str) -> None:
        self.events: queue.Queue[Dict[str, Any]] = queue.Queue()
        client = console.login(user)
        self.cookies = client.cookies
        self.url = console.url
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            pass  # the console stopped at the end of the test

    def _read(self) -> None:
        with httpx.Client(base_url=self.url, cookies=self.cookies, timeout=None) as client:
            with client.stream("GET", "/api/stream") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                name = None
                for line in response.iter_lines():
                    if self.stop:
                        return
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        self.events.put({"event": name, "data": json.loads(line[6:])})

    def next(self, kind: str, timeout: float = 20.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.events.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item["event"] == kind:
                return item["data"]
        raise AssertionError(f"no {kind} event")


def test_sse_pushes_new_tickets_messages_and_state_changes(console: Console, events: EventsTable) -> None:
    wang, li = SSE(console, "wang"), SSE(console, "li")
    assert wang.next("hello")["agent"]["username"] == "wang" and li.next("hello")
    ticket_id = console.handoff("sse-1")["ticket_id"]
    assert wang.next("ticket.created")["ticket"]["id"] == ticket_id
    events.user("sse-1", "<img src=x onerror=alert(1)>")
    message = wang.next("message.created")
    assert message["ticket_id"] == ticket_id and message["message"]["text"] == "<img src=x onerror=alert(1)>"
    console.login("wang").post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    updated = wang.next("ticket.updated")
    assert updated["ticket"]["state"] == "assigned" and updated["transition"]["action"] == "claim"
    # li (presales) sees only presales tickets: the first ticket event li gets is the presales one
    presales_id = console.handoff("sse-2", reason="presales", category="presales")["ticket_id"]
    assert li.next("ticket.created")["ticket"]["id"] == presales_id
    wang.stop = li.stop = True


def test_console_on_postgresql(tmp_path: Path, fake_rasa: FakeRasa, pg_schema_url: str) -> None:
    console = Console.create(tmp_path / "pg", fake_rasa.url, db_url=pg_schema_url).start()
    try:
        events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
        ticket_id = console.handoff("pg-1")["ticket_id"]
        wang = console.login("wang")
        wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
        wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "<script>x</script>"}).raise_for_status()
        console.stop()
        events.user("pg-1", "while down")
        console.start()
        assert console.wait_for(lambda: "while down" in texts(console, ticket_id))
        wang = console.login("wang")
        assert wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).status_code == 200
        assert console.internal("/internal/csat", {"sender_id": "pg-1", "rating": 5}).status_code == 200
        detail = console.ticket(ticket_id)
        assert detail["state"] == "closed" and detail["csat"]["rating"] == 5
        assert [m["text"] for m in detail["messages"] if m["author"] == "agent"] == ["<script>x</script>"]
        assert console.login("admin").get("/api/metrics/dashboard").json()["handed_off"] == 1
    finally:
        console.stop()


def test_customer_replies_on_my_ticket_are_unread_until_i_open_it(console: Console, events: EventsTable) -> None:
    """Issue 27 defect 6: a customer reply on the agent's own ticket showed no unread marker. The list tells each
    agent how many customer messages on their own tickets they have not read; opening the ticket (POST .../seen)
    clears it for that agent only."""
    ticket_id = console.handoff("unread-1")["ticket_id"]
    wang = console.login("wang")

    def unread(client) -> int:  # type: ignore[no-untyped-def]
        items = client.get("/api/tickets").json()["tickets"]
        return next(t for t in items if t["id"] == ticket_id)["unread"]

    assert unread(wang) == 0  # queued: nobody's own ticket yet
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    assert unread(wang) == 0  # the transcript before the claim was read when claiming
    events.user("unread-1", "还在吗？")
    events.user("unread-1", "订单号 KF20261101001")
    assert console.wait_for(lambda: unread(wang) == 2)
    assert unread(console.login("admin")) == 0  # a supervisor sees the ticket, it is not theirs to read
    seen = wang.post(f"/api/tickets/{ticket_id}/seen", json={})
    assert seen.status_code == 200 and seen.json() == {"ticket_id": ticket_id, "unread": 0}
    assert unread(wang) == 0
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "在的，请稍等"}).raise_for_status()
    assert unread(wang) == 0  # the agent's own reply is never unread
    events.user("unread-1", "好的")
    assert console.wait_for(lambda: unread(wang) == 1)
    # scope and errors: another team's agent cannot mark it, an unknown ticket is a 404, CSRF is required
    assert console.login("li").post(f"/api/tickets/{ticket_id}/seen", json={}).status_code == 403
    assert wang.post("/api/tickets/999999/seen", json={}).status_code == 404
    assert wang.post(f"/api/tickets/{ticket_id}/seen", json={}, headers={"X-CSRF-Token": "forged"}).status_code == 403
