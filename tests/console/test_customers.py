"""One customer across channels (issue 23): the conversation record from the events tail, the customer's
history on a ticket and over ``/api/customers``, repeat contacts within 7 days offered to the earlier agent.

The console runs as a process (tests/console/process.py) on SQLite and, where it is up, PostgreSQL; the record
and repeat rules are also checked directly on a database session.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import unquote, urlparse

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from console.customers.history import context_customer, customer_of, customer_tickets, recent_orders
from console.customers.models import ConversationRow, TicketLink
from console.customers.record import record_event
from console.customers.repeat import REPEAT_WINDOW_SECONDS, find_repeat, link_ticket
from console.models import Agent, Ticket, create_schema, make_engine
from tests.console.process import Console, EventsTable, context

ORDER_CARD = {
    "type": "order_status", "version": 1, "language": "zh-Hans", "order_id": "KF20261101001", "status": "delivered",
    "status_label": "已签收", "channel": "online", "created_at": "2026-11-01T02:00:00Z",
    "items": [{"sku": "P001-BK", "name": "保温杯", "variant": "黑色 500ml", "quantity": 1,
               "amount": {"cents": 12900, "text": "¥129.00"}}],
    "amounts": {"currency": "CNY", "total": {"cents": 12900, "text": "¥129.00"}},
    "shipping": {"carrier": "SF Express", "carrier_label": "顺丰速运", "tracking_number": "SF1234567890",
                 "expected_delivery": "2026-11-03", "recipient": "王*", "phone": "138****5678",
                 "address": "上海市浦东新区****"},
}


# -- a Rasa stand-in that serves trackers (the transcript endpoint reads them) --------------------------------
class TrackerRasa:
    """Answers ``GET /conversations/{id}/tracker`` with the events set for that id, and accepts appends."""

    def __init__(self) -> None:
        self.trackers: Dict[str, List[Dict[str, Any]]] = {}
        self.tokens: List[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                parsed = urlparse(self.path)
                parts = parsed.path.split("/")
                outer.tokens.append(parsed.query)
                if len(parts) == 4 and parts[1] == "conversations" and parts[3] == "tracker":
                    events = outer.trackers.get(unquote(parts[2]), [])
                    body = json.dumps({"sender_id": unquote(parts[2]), "events": events}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def tracker_rasa() -> Iterator[TrackerRasa]:
    rasa = TrackerRasa()
    yield rasa
    rasa.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def customer_console(request: pytest.FixtureRequest, tmp_path: Path, tracker_rasa: TrackerRasa) -> Iterator[Console]:
    db_url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    console = Console.create(tmp_path / "console", tracker_rasa.url, db_url=db_url).start()
    yield console
    console.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    session = sessionmaker(engine, expire_on_commit=False)()
    yield session
    session.close()
    engine.dispose()


def handoff(console: Console, body: Dict[str, Any]) -> Dict[str, Any]:
    response = console.internal("/internal/handoffs", body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def close(console: Console, user: str, ticket_id: int) -> None:
    client = console.login(user)
    client.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    client.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "refund_or_replacement"}).raise_for_status()


def wechat_then_web(console: Console, events: EventsTable) -> Dict[str, Any]:
    """C0001 complains on WeChat (verified by the bound openid; wang closes it, the customer rates it 4), then
    writes in the widget, is verified by the web token there and complains again."""
    wechat = f"wechat:o_{uuid.uuid4().hex[:12]}"
    web = f"web:{uuid.uuid4().hex}"
    first = handoff(console, context(wechat, channel="wechat", facts=[
        {"type": "order_status", "timestamp": time.time() - 30, "data": ORDER_CARD}]))
    events.user(wechat, "我的杯子碎了", intent="complain", channel="wechat")
    events.emit(wechat, {"event": "slot", "name": "verified_customer_id", "value": "C0001"})
    events.emit(wechat, {"event": "slot", "name": "verified_via", "value": "wechat"})
    close(console, "wang", first["ticket_id"])
    rated = console.internal("/internal/csat", {"sender_id": wechat, "rating": 4})
    assert rated.status_code == 200, rated.text
    events.user(web, "你好", channel="socketio")
    events.emit(web, {"event": "slot", "name": "verified_customer_id", "value": "C0001"})
    events.emit(web, {"event": "slot", "name": "verified_via", "value": "web_token"})
    events.emit(web, {"event": "slot", "name": "language", "value": "zh-Hans"})
    assert console.wait_for(lambda: conversation_linked(console, web), timeout=30), "the tail did not link the web chat"
    second = handoff(console, context(web, channel="socketio", slots={}, facts=[]))
    return {"wechat": wechat, "web": web, "first": first["ticket_id"], "second": second["ticket_id"]}


def conversation_linked(console: Console, sender_id: str) -> bool:
    response = console.login("admin").get("/api/customers/C0001")
    return response.status_code == 200 and any(c["sender_id"] == sender_id for c in response.json()["conversations"])


# -- the record from the events tail ---------------------------------------------------------------------
def test_the_record_counts_messages_and_keeps_the_verified_customer(db: Session) -> None:
    record_event(db, "web:a", {"event": "user", "text": "你好", "timestamp": 100.0, "input_channel": "socketio"})
    record_event(db, "web:a", {"event": "slot", "name": "language", "value": "zh-Hant", "timestamp": 101.0})
    record_event(db, "web:a", {"event": "slot", "name": "verified_customer_id", "value": "C0001", "timestamp": 102.0})
    record_event(db, "web:a", {"event": "slot", "name": "verified_via", "value": "web_token", "timestamp": 102.0})
    record_event(db, "web:a", {"event": "user", "text": "在吗", "timestamp": 90.0, "input_channel": "rest"})
    record_event(db, "web:a", {"event": "slot", "name": "verified_customer_id", "value": None, "timestamp": 103.0})
    record_event(db, "web:a", {"event": "bot", "text": "您好", "timestamp": 104.0})
    db.commit()
    row = db.get(ConversationRow, "web:a")
    assert (row.channel, row.language, row.customer_id, row.verified_via, row.user_messages) == \
        ("socketio", "zh-Hant", "C0001", "web_token", 2)
    assert (row.first_at, row.last_at, row.verified_at) == (90.0, 102.0, 102.0)  # a lapsed identity keeps the link


@pytest.mark.parametrize("value", ["C0001\x00", "C 0001", "C0001\n", " C0001 ", "", "   ", "x" * 65, "../C0001", "C0001;drop",
                                   "'C0001'", 1234, True, {"id": "C0001"}, ["C0001"], "Ｃ０００１"])
def test_a_hostile_customer_id_links_nothing(db: Session, value: Any) -> None:
    record_event(db, "rest:h", {"event": "slot", "name": "verified_customer_id", "value": value, "timestamp": 5.0})
    record_event(db, "rest:h", {"event": "slot", "name": "verified_via", "value": "hacker", "timestamp": 5.0})
    db.commit()
    assert db.get(ConversationRow, "rest:h") is None


@pytest.mark.parametrize("stamp", ["soon", float("nan"), float("inf"), None, True, [1]])
def test_a_hostile_timestamp_counts_as_now_and_a_hostile_sender_is_skipped(db: Session, stamp: Any) -> None:
    before = time.time()
    record_event(db, "rest:t", {"event": "user", "text": "hi", "timestamp": stamp, "input_channel": {"x": 1}})
    assert record_event(db, "s" * 256, {"event": "user", "text": "hi", "timestamp": 1.0}) is None
    db.commit()
    row = db.get(ConversationRow, "rest:t")
    assert row.channel == "" and row.user_messages == 1 and row.first_at >= before
    assert db.scalar(sa.select(sa.func.count()).select_from(ConversationRow)) == 1


# -- repeat contacts (the rules, on a session) ------------------------------------------------------------
def _agent(db: Session, username: str, teams: str, active: bool = True) -> Agent:
    agent = Agent(username=username, display_name=username, role="agent", teams=teams, password_hash="x",
                  active=active, created_at=0.0)
    db.add(agent)
    db.flush()
    return agent


def _ticket(db: Session, sender: str, created: float, category: str = "complaint", customer: Any = None,
            assignee: Any = None, order: Any = None, team: str = "complaints") -> Ticket:
    ticket = Ticket(handoff_id=uuid.uuid4().hex, sender_id=sender, channel=sender.split(":")[0], state="closed",
                    team=team, category=category, reason="complaint", language="zh-Hans",
                    customer_json=json.dumps({"id": customer, "verified": customer is not None}),
                    context_json=json.dumps({"slots": {"order_id": order} if order else {}}),
                    assignee_id=assignee.id if assignee else None, created_at=created, updated_at=created)
    db.add(ticket)
    db.flush()
    return ticket


def test_a_repeat_is_the_same_customer_and_topic_within_seven_days(db: Session) -> None:
    now = 10 * REPEAT_WINDOW_SECONDS
    wang = _agent(db, "wang", "after_sales,complaints")
    li = _agent(db, "li", "presales")
    old = _ticket(db, "wechat:o1", now - REPEAT_WINDOW_SECONDS - 60, customer="C0001", assignee=li)
    recent = _ticket(db, "wechat:o1", now - 3 * 86400, customer="C0001", assignee=wang, order="KF20261101001")
    _ticket(db, "wechat:o1", now - 3600, category="presales", customer="C0001", assignee=li, team="presales")
    _ticket(db, "rest:other", now - 60, customer="C0002", assignee=li)
    new = _ticket(db, "web:w1", now, customer="C0001", order="KF20261101001")
    assert find_repeat(db, new, "C0001").id == recent.id  # newest same-topic ticket; presales is another topic
    link = link_ticket(db, new, now)
    assert (link.customer_id, link.repeat_of, link.previous_agent_id) == ("C0001", recent.id, wang.id)
    # another order is another topic; the 8-day-old ticket is outside the window
    other_order = _ticket(db, "web:w2", now, customer="C0001", order="KF20261101002")
    assert find_repeat(db, other_order, "C0001") is None
    assert find_repeat(db, other_order, "C0001", window=REPEAT_WINDOW_SECONDS + 3600).id == old.id
    # the earlier agent is offered the repeat only while active and in the new ticket's team
    wang.active = False
    again = _ticket(db, "web:w3", now, customer="C0001")
    assert link_ticket(db, again, now).previous_agent_id is None
    stranger = _ticket(db, "web:w4", now, customer="C0003")
    assert link_ticket(db, stranger, now).repeat_of is None
    db.commit()


def test_an_unverified_conversation_repeats_only_its_own_tickets(db: Session) -> None:
    now = 5 * REPEAT_WINDOW_SECONDS
    first = _ticket(db, "rest:anon", now - 86400)
    _ticket(db, "rest:someone-else", now - 60)
    new = _ticket(db, "rest:anon", now)
    assert link_ticket(db, new, now).repeat_of == first.id
    assert link_ticket(db, new, now).customer_id is None  # one link per ticket


def test_a_tickets_customer_is_its_verified_context_else_its_conversation(db: Session) -> None:
    db.add(ConversationRow(sender_id="web:v", channel="socketio", language="", customer_id="C0002", user_messages=1,
                           first_at=1.0, last_at=1.0))
    own = _ticket(db, "web:v", 10.0, customer="C0001")
    anonymous = _ticket(db, "web:v", 20.0)
    assert customer_of(db, own) == "C0001" and customer_of(db, anonymous) == "C0002"
    assert [t.id for t in customer_tickets(db, "C0002")] == [anonymous.id]
    assert context_customer(json.dumps({"id": "C0001", "verified": False})) is None
    assert context_customer(json.dumps({"id": "C0001\x00", "verified": True})) is None
    assert context_customer("not json") is None
    # a LIKE wildcard in an id is matched literally
    _ticket(db, "rest:u", 30.0, customer="C_001")
    assert customer_tickets(db, "C%") == [] and customer_tickets(db, "C_00%") == []


def test_recent_orders_are_masked_and_one_per_order(db: Session) -> None:
    ticket = Ticket(handoff_id="h", sender_id="rest:o", channel="rest", state="closed", team="complaints",
                    category="complaint", reason="complaint", language="zh-Hans", created_at=50.0, updated_at=50.0,
                    context_json=json.dumps({"facts": [
                        {"type": "order_list", "timestamp": 40.0, "data": {"type": "order_list", "orders": [
                            {"order_id": "KF20261101001", "status": "paid", "total": {"text": "¥129.00"}},
                            {"order_id": "KF20261101002", "status": "shipped", "total": {"text": "¥59.00"}}]}},
                        {"type": "order_status", "timestamp": 45.0, "data": ORDER_CARD},
                        {"type": "stock", "data": {"type": "stock"}}, "junk", {"type": "order_status", "data": []}]}))
    db.add(ticket)
    db.flush()
    orders = recent_orders(db, [ticket])
    assert [o["order_id"] for o in orders] == ["KF20261101001", "KF20261101002"]
    full = orders[0]
    assert full["status"] == "delivered" and full["total"] == "¥129.00" and full["carrier"] == "顺丰速运"
    assert full["items"] == [{"name": "保温杯", "variant": "黑色 500ml", "quantity": 1}]
    text = json.dumps(orders, ensure_ascii=False)
    assert "138" not in text and "浦东" not in text and "王" not in text and "SF1234567890" not in text


# -- the API -------------------------------------------------------------------------------------------------
def test_one_customer_on_wechat_and_the_web_is_one_record(customer_console: Console) -> None:
    console = customer_console
    events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
    seen = wechat_then_web(console, events)
    detail = console.ticket(seen["second"], user="wang")
    assert detail["repeat_of"] == seen["first"] and detail["preferred_agent"]["username"] == "wang"
    history = detail["customer_history"]
    assert history["customer_id"] == "C0001"
    [earlier, current] = sorted(history["tickets"], key=lambda t: t["id"])
    assert (earlier["id"], earlier["state"], earlier["resolution"], earlier["csat"], earlier["agent"]["display_name"],
            earlier["channel"], earlier["openable"]) == (seen["first"], "closed", "refund_or_replacement", 4, "小王",
                                                         "wechat", True)
    assert current["current"] and current["repeat_of"] == seen["first"]
    channels = {c["sender_id"]: c for c in history["conversations"]}
    assert set(channels) == {seen["wechat"], seen["web"]}
    assert channels[seen["wechat"]]["channel"] == "wechat" and channels[seen["wechat"]]["verified_via"] == "wechat"
    assert channels[seen["web"]]["channel"] == "socketio" and channels[seen["web"]]["current"]
    assert channels[seen["wechat"]]["ticket_ids"] == [seen["first"]] and channels[seen["web"]]["user_messages"] == 1
    assert [o["order_id"] for o in history["orders"]] == ["KF20261101001"]
    assert "138****5678" not in json.dumps(history, ensure_ascii=False)
    # the queue shows the flag too
    listed = {t["id"]: t for t in console.login("wang").get("/api/tickets").json()["tickets"]}
    assert listed[seen["second"]]["repeat_of"] == seen["first"]
    # the same record by customer id, for any agent; another team's ticket shows no summary and does not open
    by_id = console.login("li").get("/api/customers/C0001").json()
    assert {t["id"] for t in by_id["tickets"]} == {seen["first"], seen["second"]}
    assert all(t["openable"] is False and t["summary"] is None for t in by_id["tickets"])
    assert console.login("li").get(f"/api/tickets/{seen['first']}").status_code == 403


def test_the_transcript_of_a_customers_conversation(customer_console: Console, tracker_rasa: TrackerRasa) -> None:
    console = customer_console
    events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
    seen = wechat_then_web(console, events)
    tracker_rasa.trackers[seen["wechat"]] = [
        {"event": "user", "text": "我的杯子碎了", "timestamp": 100.0, "input_channel": "wechat"},
        {"event": "bot", "text": "非常抱歉", "timestamp": 101.0},
        {"event": "slot", "name": "verified_customer_id", "value": "C0001", "timestamp": 101.0},
        {"event": "bot", "text": "人工客服小王已接入", "timestamp": 101.5,
         "data": {"custom": {"kefu_event": {"type": "agent_joined", "agent": "小王"}}}},
        {"event": "bot", "text": "我来帮您处理", "timestamp": 102.0,
         "data": {"custom": {"kefu_event": {"type": "agent_message", "agent": "小王"}}}},
    ]
    wang = console.login("wang")
    got = wang.get("/api/customers/C0001/transcript", params={"sender_id": seen["wechat"]})
    assert got.status_code == 200, got.text
    assert [(m["author"], m["text"]) for m in got.json()["messages"]] == [
        ("customer", "我的杯子碎了"), ("bot", "非常抱歉"), ("system", "人工客服小王已接入"), ("agent", "我来帮您处理")]
    assert got.json()["messages"][3]["agent"] == "小王"
    assert any(console.env["KEFU_RASA_TOKEN"] in q for q in tracker_rasa.tokens)  # the server-side token
    # a conversation that is not this customer's, and bad input
    assert wang.get("/api/customers/C0001/transcript", params={"sender_id": "wechat:o_stranger"}).status_code == 404
    assert wang.get("/api/customers/C0002/transcript", params={"sender_id": seen["wechat"]}).status_code == 404
    for bad in ({}, {"sender_id": ""}, {"sender_id": "x" * 256}, {"sender_id": "web:a\x01b"}):
        response = wang.get("/api/customers/C0001/transcript", params=bad)
        assert response.status_code == 400 and "sender_id" in response.json()["message"], bad
    # Rasa down: a clear 502, and the ticket and the record still answer
    tracker_rasa.close()
    down = wang.get("/api/customers/C0001/transcript", params={"sender_id": seen["wechat"]})
    assert down.status_code == 502 and down.json()["error"] == "rasa_unavailable"
    assert console.ticket(seen["second"], user="wang")["customer_history"]["tickets"]
    assert wang.get("/api/customers/C0001").status_code == 200


def test_the_customer_api_needs_an_agent_and_refuses_hostile_ids(console: Console) -> None:
    handoff(console, context("rest:api-1"))
    assert console.internal_get("/api/customers/C0001").status_code == 401  # the service token is not an agent
    import httpx

    assert httpx.get(f"{console.url}/api/customers/C0001", timeout=10).status_code == 401
    wang = console.login("wang")
    assert wang.get("/api/customers/C0001").status_code == 200
    missing = wang.get("/api/customers/C9999")
    assert missing.status_code == 404 and "C9999" in missing.json()["message"]
    for bad in ("C0001%20OR%201=1", "%00C0001", "_C0001", "C" + "1" * 64, "C0001%0A", "%E5%AE%A2%E6%88%B7"):
        response = wang.get(f"/api/customers/{bad}")
        assert response.status_code == 400 and "customer_id" in response.json()["message"], bad
    # a LIKE wildcard is an id like any other: it finds nobody
    assert wang.get("/api/customers/C%25").status_code == 400
    assert wang.get("/api/customers/C0").status_code == 404


def test_an_unverified_customer_sees_the_conversations_own_earlier_tickets(console: Console) -> None:
    first = handoff(console, context("rest:anon-1", customer={}))
    close(console, "wang", first["ticket_id"])
    second = handoff(console, context("rest:anon-1", customer={}))
    detail = console.ticket(second["ticket_id"], user="wang")
    history = detail["customer_history"]
    assert history["customer_id"] is None and detail["repeat_of"] == first["ticket_id"]
    assert [t["id"] for t in history["tickets"]] == [second["ticket_id"], first["ticket_id"]]
    assert [c["sender_id"] for c in history["conversations"]] == ["rest:anon-1"]
    other = handoff(console, context("rest:anon-2", customer={}))
    assert console.ticket(other["ticket_id"])["repeat_of"] is None
    with sa.create_engine(console.env["KEFU_CONSOLE_DB_URL"]).connect() as conn:
        links = conn.execute(sa.select(TicketLink.__table__.c.ticket_id, TicketLink.__table__.c.repeat_of)).all()
    assert sorted(links) == sorted([(first["ticket_id"], None), (second["ticket_id"], first["ticket_id"]),
                                    (other["ticket_id"], None)])
