"""Search (console/search): what a query asks for, the keys a ticket carries, the paged search in the caller's scope
on SQLite and PostgreSQL (open and closed, order number, phone suffix, customer id, ticket number, literal text with
LIKE wildcards and unicode), the one-off fill of older tickets, erasure, and the HTTP API against a real console
process (hostile input answers 400, never 500)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.accounts import create_agent
from console.admin.models import AdminSeed
from console.live import Hub
from console.models import Agent, Ticket, create_schema, make_engine
from console.search.index import BACKFILL_MARK, backfill
from console.search.keys import QueryError, context_keys, like_pattern, message_keys, parse_query
from console.search.models import SearchKey
from console.search.service import SearchService, snippet
from console.settings import load_settings
from console.tickets import BadRequest, TicketService
from kernel.handoff import parse_context
from tests.console.process import Console, EventsTable, context

ORDER = "KF20261120001"


# ------------------------------------------------------------------------------------------------ pure
@pytest.mark.parametrize(("raw", "field", "value"), [
    ("KF20261120001", "order", ORDER),
    ("kf-2026-1120-001", "order", ORDER),
    ("ＫＦ２０２６１１２０００１", "order", ORDER),
    (" 5678 ", "phone", "5678"),
    ("C0001", "customer", "C0001"),
    ("#12", "ticket", "12"),
    ("杯子碎了", "text", "杯子碎了"),
    ("100%_off", "text", "100%_off"),
    ("订单 KF20261120001 的杯子碎了", "text", "订单 KF20261120001 的杯子碎了"),
    ("12345", "text", "12345"),
])
def test_a_query_is_read_as_one_field(raw: str, field: str, value: str) -> None:
    query = parse_query(raw)
    assert (query.field, query.value) == (field, value)


def test_a_named_field_must_fit_and_bad_queries_say_why() -> None:
    assert parse_query("5678", "text").field == "text"
    assert parse_query("12", "ticket").value == "12"
    for raw, field, words in ((ORDER, "phone", "four"), ("hello", "order", "order number"), ("x", "auto", "2"),
                              ("", "auto", "empty"), ("   ", "auto", "empty"), (None, "auto", "required"),
                              (["a"], "auto", "required"), ("a" * 101, "auto", "100"), ("a" * 5000, "auto", "100"),
                              ("a\x00b", "auto", "control"), ("ok", "sql", "field"), ("C1", "customer", "customer"),
                              ("#x", "ticket", "ticket")):
        with pytest.raises(QueryError, match=words):
            parse_query(raw, field)


def test_like_wildcards_match_themselves() -> None:
    assert like_pattern("100%_off\\") == "%100\\%\\_off\\\\%"


def test_the_keys_of_a_ticket_and_of_a_message() -> None:
    body = context("s", slots={"order_id": ORDER, "phone_suffix": "5678", "verified_customer_id": "C0002"}, facts=[],
                   transcript=[{"author": "customer", "event": "user", "text": "还有订单 kf-2026-1121-002", "timestamp": 1},
                               {"author": "customer", "event": "user", "text": "尾号 4321", "timestamp": 2}])
    keys = context_keys(body, body["customer"])
    assert keys == {("order", ORDER), ("order", "KF20261121002"), ("phone", "5678"), ("phone", "4321"),
                    ("customer", "C0001"), ("customer", "C0002")}
    assert message_keys("customer", "1234") == {("phone", "1234")}
    assert message_keys("bot", "1234") == set()  # only the customer gives their digits
    assert message_keys("agent", f"订单 {ORDER} 已退款") == {("order", ORDER)}
    assert message_keys("customer", None) == set()


def test_a_snippet_is_cut_around_the_words_and_masks_phone_numbers() -> None:
    text = "前面很长的一段话" * 10 + "我的手机 13812345678 杯子碎了" + "后面" * 40
    cut = snippet(text, "杯子碎了")
    assert "杯子碎了" in cut and cut.startswith("…") and cut.endswith("…")
    assert "13812345678" not in cut


# ------------------------------------------------------------------------------------------------ the service
@pytest.fixture(params=["sqlite", "postgresql"])
def searched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[TicketService, SearchService]]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'c.db'}"
    settings = load_settings({"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_DB_URL": url,
                              "KEFU_RASA_URL": "http://127.0.0.1:9", "KEFU_RASA_TOKEN": "t"})
    engine = make_engine(url)
    create_schema(engine)
    service = TicketService(settings, engine, None, Hub())  # type: ignore[arg-type]
    service.directory.load()
    yield service, SearchService(service.store, service.views)
    engine.dispose()


def agent(service: TicketService, username: str, role: str, teams: List[str]) -> Agent:
    with Session(service.engine, expire_on_commit=False) as session:
        row = create_agent(session, username, username.title(), role, teams, "pw-123456789")
        session.commit()
        return row


def make(service: TicketService, **fields: Any) -> int:
    payload, created, _ = service.ingest.create(parse_context(context(f"s-{uuid.uuid4().hex[:8]}", **fields)))
    assert created
    return int(payload["id"])


def set_state(service: TicketService, ticket_id: int, state: str) -> None:
    with service.sessions() as session:
        row = session.get(Ticket, ticket_id)
        row.state, row.closed_at = state, time.time()
        session.commit()


def ids(result: Dict[str, Any]) -> List[int]:
    return [r["ticket"]["id"] for r in result["results"]]


def test_search_finds_open_and_closed_tickets_by_each_field_in_scope(searched) -> None:
    service, search = searched
    boss = agent(service, "boss", "supervisor", [])
    wang = agent(service, "wang", "agent", ["complaints"])
    li = agent(service, "li", "agent", ["presales"])
    anonymous = {"id": None, "name": None, "tier": None, "verified": False}
    closed = make(service, slots={"order_id": ORDER, "phone_suffix": "5678"})
    set_state(service, closed, "closed")
    other = make(service, customer=anonymous, slots={}, facts=[], summary="顾客问 100%_off 的优惠券怎么用",
                 transcript=[{"author": "customer", "event": "user", "text": "😀 Ünïcode 优惠券", "timestamp": 1}])
    presales = make(service, category="presales", reason="presales", customer=anonymous, slots={}, facts=[],
                    summary="要 500 个杯子的报价", transcript=[])
    assert ids(search.search(boss, ORDER)) == [closed]
    assert ids(search.search(boss, "kf 2026 1120 001")) == [closed]
    assert ids(search.search(boss, ORDER, state="open")) == []
    assert ids(search.search(boss, ORDER, state="closed")) == [closed]
    assert ids(search.search(wang, "5678")) == [closed]
    assert ids(search.search(wang, "C0001")) == [closed]
    assert ids(search.search(wang, f"#{closed}")) == [closed]
    assert ids(search.search(wang, "100%_off")) == [other]
    assert ids(search.search(wang, "100%%off")) == []  # % is a character, not a wildcard
    assert ids(search.search(wang, "Ünïcode")) == [other]
    assert ids(search.search(wang, "😀 Ün")) == [other]
    assert ids(search.search(wang, "优惠券")) == [other]
    # an agent sees their teams' tickets: the presales ticket is li's, not wang's
    assert ids(search.search(wang, "报价")) == [] and ids(search.search(li, "报价")) == [presales]
    assert ids(search.search(li, ORDER)) == []
    assert ids(search.search(boss, "报价")) == [presales]
    match = search.search(wang, "优惠券")["results"][0]["match"]
    assert match["field"] == "text" and match["in"] == "summary" and "优惠券" in match["snippet"]
    found = search.search(boss, ORDER)["results"][0]
    assert found["match"] == {"field": "order", "value": ORDER}
    assert found["ticket"]["customer"]["name"] == "王*"  # masked as the bot attached it
    for bad in ({"q": "_"}, {"q": ""}, {"q": "x" * 101}, {"q": "ok", "state": "everything"},
                {"q": "ok", "page": 0}, {"q": "ok", "per_page": 51}, {"q": "ok", "field": "1; DROP TABLE"}):
        with pytest.raises(BadRequest):
            search.search(boss, **bad)


def test_search_pages_newest_first_and_finds_a_number_given_later(searched) -> None:
    service, search = searched
    boss = agent(service, "boss", "supervisor", [])
    made = [make(service, customer={"id": "C0042", "name": "赵*", "tier": None, "verified": True}, slots={},
                 facts=[]) for _ in range(5)]
    for ticket_id in made[:-1]:
        set_state(service, ticket_id, "closed")
    first = search.search(boss, "C0042", per_page=2)
    assert first["total"] == 5 and first["pages"] == 3 and ids(first) == made[::-1][:2]
    assert ids(search.search(boss, "C0042", page=3, per_page=2)) == [made[0]]
    assert ids(search.search(boss, "C0042", page=4, per_page=2)) == []
    # the customer gives an order number and their digits after the handoff (the events tail's path)
    with service.sessions() as session:
        for text in (f"是这个订单 {ORDER.lower()}", "尾号 9876"):
            assert service.ingest.attach_event(session, ticket_sender(service, made[-1]),
                                               {"event": "user", "text": text, "timestamp": time.time()})
        session.commit()
    assert ids(search.search(boss, ORDER)) == [made[-1]]
    assert ids(search.search(boss, "9876")) == [made[-1]]


def ticket_sender(service: TicketService, ticket_id: int) -> str:
    with service.sessions() as session:
        return session.get(Ticket, ticket_id).sender_id


def test_older_tickets_get_their_keys_once(searched) -> None:
    service, search = searched
    boss = agent(service, "boss", "supervisor", [])
    old = make(service, slots={"order_id": ORDER})
    with service.sessions() as session:  # as if made before search existed
        session.execute(sa.delete(SearchKey))
        session.commit()
    assert ids(search.search(boss, ORDER)) == []
    assert backfill(service.sessions) >= 3  # two order numbers (slot, card) and the customer id
    assert ids(search.search(boss, ORDER)) == [old]
    with service.sessions() as session:
        assert session.get(AdminSeed, BACKFILL_MARK) is not None
        session.execute(sa.delete(SearchKey))
        session.commit()
    assert backfill(service.sessions) == 0  # once per database


# ------------------------------------------------------------------------------------------------ HTTP
def test_the_search_api_answers_hostile_input_with_400_and_finds_closed_tickets(console: Console,
                                                                              events: EventsTable) -> None:
    sender = f"search-{uuid.uuid4().hex[:8]}"
    ticket_id = console.handoff(sender, slots={"order_id": ORDER, "phone_suffix": "5678"})["ticket_id"]
    wang, li, admin = console.login("wang"), console.login("li"), console.login("admin")
    assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
    assert wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).status_code == 200
    answer = wang.get("/api/search", params={"q": "kf-2026-1120-001"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 1 and body["results"][0]["ticket"]["state"] == "closed"
    assert body["query"] == {"q": ORDER, "field": "order", "state": "all"}
    assert li.get("/api/search", params={"q": ORDER}).json()["total"] == 0  # another team's ticket
    assert admin.get("/api/search", params={"q": "5678", "field": "phone"}).json()["total"] == 1
    hostile = ["%", "%%", "_", "' OR 1=1 --", "a" * 101, "x" * 10_000, "文" * 2_000, "\x00\x01", "\u202e\u0000",
               "😀" * 101, "\\", "[a-z]*"]
    for q in hostile:
        response = wang.get("/api/search", params={"q": q})
        # a clear answer: results, or 400 (or 413 for a URL over the server's limit) with the reason
        assert response.status_code in (200, 400, 413), (q[:20], response.status_code, response.text[:200])
        assert response.json()["results" if response.status_code == 200 else "message"] is not None
    for params in ({}, {"q": "ok", "page": "x"}, {"q": "ok", "page": "-1"}, {"q": "ok", "page": "9" * 30},
                   {"q": "ok", "per_page": "1000"}, {"q": "ok", "state": "'"}, {"q": "ok", "field": "%"}):
        response = wang.get("/api/search", params=params)
        assert response.status_code == 400 and response.json()["error"] == "bad_request", (params, response.text)
    for q in ("100%_off", "' OR 1=1 --", "杯子"):
        assert wang.get("/api/search", params={"q": q}).status_code == 200
    assert console.login("wang").get("/api/search", params={"q": "%"}).status_code == 400  # one character
    assert "Traceback" not in console.log()
    response = __import__("httpx").get(f"{console.url}/api/search", params={"q": ORDER})
    assert response.status_code == 401
    del events


def test_erasing_a_customer_removes_their_search_keys(tmp_path: Path) -> None:
    from console.privacy.stores import ConsoleStore

    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    settings = load_settings({"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_DB_URL": url,
                              "KEFU_RASA_URL": "http://127.0.0.1:9", "KEFU_RASA_TOKEN": "t"})
    service = TicketService(settings, engine, None, Hub())  # type: ignore[arg-type]
    service.directory.load()
    made = make(service)
    with service.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SearchKey)) > 0
    store = ConsoleStore(engine)
    counts = store._anonymise_tickets([made], lambda s: "erased:x", dry_run=False, batch=100)
    assert counts["console_search_keys"] >= 2
    with service.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SearchKey)) == 0
    engine.dispose()
