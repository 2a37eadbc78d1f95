"""Presales leads in the console (issue 22) as a real process: stored with the handoff (internal API and events
tail, once per lead id), edited and moved by agents with clear refusals, exported as CSV, looked up by the action
server, routed by product line and region with the previous owner, counted on the dashboard and /metrics."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest

from console.settings import SettingsError, load_config, load_settings
from tests.console.leads import ROUTED, presales_context
from tests.console.process import ALWAYS_STAFFED, Console, EventsTable, FakeRasa, config_file


def handoff(console: Console, body: Dict[str, Any]) -> Dict[str, Any]:
    response = console.internal("/internal/handoffs", body)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(params=["sqlite", "postgresql"])
def lead_console(request: pytest.FixtureRequest, tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    db_url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    console = Console.create(tmp_path / "console", fake_rasa.url, db_url=db_url, staffed=ROUTED).start()
    yield console
    console.stop()


def test_a_lead_arrives_with_its_handoff_once(lead_console: Console) -> None:
    console = lead_console
    body = presales_context("lead-1")
    first = handoff(console, body)
    assert first["created"] is True and first["team"] == "presales"
    again = handoff(console, body)  # the action server retried
    assert again["ticket_id"] == first["ticket_id"] and again["created"] is False
    detail = console.ticket(first["ticket_id"])
    got = detail["lead"]
    assert got["lead_id"] == body["lead"]["lead_id"] and got["status"] == "new" and got["quantity"] == 200
    assert got["cities"] == ["深圳", "广州"] and got["notes"] == ["我们要两百来个", "印 logo"]
    assert got["created_at"] and got["contacted_at"] is None and got["owner"] is None
    assert got["ticket_id"] == first["ticket_id"] and got["customer_id"] == "C0001" and got["channel"] == "rest"
    assert [h["kind"] for h in got["history"]] == ["created"]
    # a second intake while the ticket is open joins that ticket, and is the one the ticket shows
    second = presales_context("lead-1", {"quantity": 500})
    joined = handoff(console, second)
    assert joined["ticket_id"] == first["ticket_id"] and joined["created"] is False
    assert console.ticket(first["ticket_id"])["lead"]["lead_id"] == second["lead"]["lead_id"]
    item = next(t for t in console.login("li").get("/api/tickets").json()["tickets"] if t["id"] == first["ticket_id"])
    assert item["lead"] == {"lead_id": second["lead"]["lead_id"], "status": "new", "priority": "hot",
                            "quantity": 500, "product": "保温杯 500ml", "quote_due_at": None, "quote_overdue": False}
    leads = console.internal_get("/internal/leads?sender_id=lead-1").json()["leads"]
    assert [x["lead_id"] for x in leads] == [second["lead"]["lead_id"], body["lead"]["lead_id"]]  # newest first
    # a ticket without a lead says so
    plain = handoff(console, {**presales_context("lead-plain"), "lead": None})
    assert console.ticket(plain["ticket_id"])["lead"] is None


def test_a_malformed_lead_is_refused_with_the_field_named(console: Console) -> None:
    response = console.internal("/internal/handoffs", presales_context("lead-bad", {"quantity": "two hundred"}))
    assert response.status_code == 400 and "lead: quantity must be a whole number" in response.json()["message"]


def test_a_lead_from_the_events_tail_and_the_api_is_stored_once(console: Console, events: EventsTable) -> None:
    body = presales_context("lead-tail")
    events.emit("lead-tail", {"event": "slot", "name": "handoff_request", "value": body})
    ticket_id = console.wait_for(lambda: console.internal_get("/internal/leads?sender_id=lead-tail")
                                 .json()["leads"][:1])[0]["ticket_id"]
    assert handoff(console, body)["ticket_id"] == ticket_id  # the API delivering the same handoff late
    events.emit("lead-tail", {"event": "slot", "name": "handoff_request", "value": body})  # and the tail again
    events.user("lead-tail", "还在吗")
    assert console.wait_for(lambda: any(m["text"] == "还在吗" for m in console.ticket(ticket_id)["messages"]))
    assert len(console.internal_get("/internal/leads?sender_id=lead-tail").json()["leads"]) == 1
    assert console.ticket(ticket_id)["lead"]["lead_id"] == body["lead"]["lead_id"]


def test_agents_edit_the_card_and_bad_input_is_refused_clearly(console: Console) -> None:
    body = presales_context("lead-edit")
    ticket_id = handoff(console, body)["ticket_id"]
    lead_id = body["lead"]["lead_id"]
    li = console.login("li")
    edited = li.patch(f"/api/leads/{lead_id}", json={"quantity": 300, "cities": ["深圳"], "note": "客户要发票"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["quantity"] == 300 and edited.json()["cities"] == ["深圳"]
    assert edited.json()["history"][-1]["changes"]["quantity"] == [200, 300]
    assert edited.json()["history"][-1]["actor"] == "agent:li"
    bad = [
        ({"status": "won"}, "cannot be edited: status"),
        ({"lead_id": "x"}, "cannot be edited: lead_id"),
        ({"quantity": "300"}, "quantity must be a whole number"),
        ({"quantity": 0}, "quantity must be between"),
        ({"needed_by": "next week"}, "needed_by must be a date"),
        ({"cities": "深圳"}, "cities must be a list of strings"),
        ({"priority": "urgent"}, "priority must be one of hot, warm"),
        ({"customisation": "印" * 501}, "customisation is longer than 500"),
        ({}, "nothing to change"),
    ]
    for edit, message in bad:
        response = li.patch(f"/api/leads/{lead_id}", json=edit)
        assert response.status_code == 400 and message in response.json()["message"], (edit, response.text)
    for raw in (b"[1, 2]", b'"quantity"', b"{not json"):
        response = li.patch(f"/api/leads/{lead_id}", content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error"] == "bad_request", raw
    assert li.patch(f"/api/leads/{lead_id}", json={"quantity": 1}, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert console.login("wang").patch(f"/api/leads/{lead_id}", json={"quantity": 1}).status_code == 403
    assert li.patch("/api/leads/no-such-lead", json={"quantity": 1}).status_code == 404
    assert httpx.patch(f"{console.url}/api/leads/{lead_id}", json={"quantity": 1}).status_code == 401
    after = console.ticket(ticket_id)["lead"]  # nothing the refusals carried was applied, the good edit stands
    assert after["quantity"] == 300 and after["note"] == "客户要发票" and after["priority"] == "hot"
    assert [h["kind"] for h in after["history"]] == ["created", "edit"]


def test_status_moves_follow_the_table(console: Console) -> None:
    body = presales_context("lead-status")
    ticket_id = handoff(console, body)["ticket_id"]
    lead_id = body["lead"]["lead_id"]
    li = console.login("li")

    def move(status: Any) -> httpx.Response:
        return li.post(f"/api/leads/{lead_id}/status", json={"status": status})

    assert move("won").status_code == 409 and move("won").json()["error"] == "invalid_transition"
    for status in ("finished", None, 3):
        response = move(status)
        assert response.status_code == 400 and "status must be one of" in response.json()["message"]
    contacted = move("contacted").json()
    assert contacted["status"] == "contacted" and contacted["contacted_at"] and contacted["owner"]["username"] == "li"
    quoted = console.login("admin").post(f"/api/leads/{lead_id}/status", json={"status": "quoted"}).json()
    assert quoted["quoted_at"] and quoted["owner"]["username"] == "li"  # the owner stays
    won = move("won").json()
    assert won["status"] == "won" and won["closed_at"] and won["contacted_at"] == contacted["contacted_at"]
    assert move("lost").status_code == 409
    history = console.ticket(ticket_id)["lead"]["history"]
    assert [h["changes"].get("status") for h in history if h["kind"] == "status"] == [
        ["new", "contacted"], ["contacted", "quoted"], ["quoted", "won"]]
    assert li.post(f"/api/leads/{lead_id}/status", json={"status": "lost"}, headers={"X-CSRF-Token": ""}).status_code == 403


def test_csv_export_is_excel_ready_and_formula_safe(console: Console) -> None:
    handoff(console, presales_context("csv-1", {"company": "=HYPERLINK(\"http://evil\",\"x\")",
                                                "contact_name": "@SUM(A1)", "customisation": "-2+3",
                                                "phone": "+8613800001234"}))
    second = presales_context("csv-2", {"company": "普通公司"})
    handoff(console, second)
    li = console.login("li")
    li.post(f"/api/leads/{second['lead']['lead_id']}/status", json={"status": "contacted"}).raise_for_status()
    response = li.get("/api/leads.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    first = next(r for r in rows if r["sender_id"] == "csv-1")
    assert first["company"] == "'=HYPERLINK(\"http://evil\",\"x\")" and first["contact_name"] == "'@SUM(A1)"
    assert first["customisation"] == "'-2+3" and first["phone"] == "'+8613800001234"
    assert first["cities"] == "深圳; 广州" and first["status"] == "new" and first["ticket_id"]
    for column in ("lead_id", "product", "quantity", "needed_by", "priority", "notes", "created_at", "contacted_at",
                   "quoted_at", "closed_at", "owner"):
        assert column in first
    contacted = li.get("/api/leads.csv?status=contacted").content.decode("utf-8-sig")
    assert "普通公司" in contacted and "HYPERLINK" not in contacted
    assert len(list(csv.DictReader(io.StringIO(li.get("/api/leads.csv?since=2999-01-01").content.decode("utf-8-sig"))))) == 0
    assert li.get("/api/leads.csv?since=yesterday").status_code == 400
    assert li.get("/api/leads.csv?status=maybe").status_code == 400
    assert httpx.get(f"{console.url}/api/leads.csv").status_code == 401
    # an agent exports the leads of their teams' tickets only; a supervisor all
    outside = console.login("wang").get("/api/leads.csv").content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(outside)))) == 0
    assert len(list(csv.DictReader(io.StringIO(console.login("admin").get("/api/leads.csv").content.decode("utf-8-sig"))))) == 2


def test_the_internal_lookup_needs_the_service_token(console: Console) -> None:
    body = presales_context("lookup-1")
    handoff(console, body)
    assert httpx.get(f"{console.url}/internal/leads?sender_id=lookup-1").status_code == 401
    assert console.internal_get("/internal/leads?sender_id=lookup-1", token="wrong").status_code == 401
    assert console.internal_get("/internal/leads").status_code == 400
    console.login("li").post(f"/api/leads/{body['lead']['lead_id']}/status", json={"status": "quoted"})
    found = console.internal_get("/internal/leads?sender_id=lookup-1").json()["leads"]
    assert len(found) == 1 and found[0]["status"] == "quoted" and found[0]["quoted_at"]
    assert found[0]["product"] == "保温杯 500ml" and found[0]["created_at"]
    assert console.internal_get("/internal/leads?sender_id=nobody").json() == {"leads": []}


def test_routing_by_region_and_product_line_and_the_previous_owner(lead_console: Console) -> None:
    console = lead_console
    south = handoff(console, presales_context("route-1", {"region": "华南", "product_line": "electronics"}))
    assert south["team"] == "presales_south"
    cups = handoff(console, presales_context("route-2", {"region": "华东"}))
    assert cups["team"] == "presales"
    other = handoff(console, presales_context("route-3", {"region": None, "product_line": "clothing"}))
    assert other["team"] == "presales"  # no rule: the category's team
    # li works the lead of route-2 and closes the conversation; the customer comes back from the south
    li = console.login("li")
    first_lead = console.ticket(cups["ticket_id"])["lead"]["lead_id"]
    li.post(f"/api/leads/{first_lead}/status", json={"status": "contacted"}).raise_for_status()
    li.post(f"/api/tickets/{cups['ticket_id']}/claim", json={}).raise_for_status()
    li.post(f"/api/tickets/{cups['ticket_id']}/close", json={"resolution": "follow_up"}).raise_for_status()
    back = handoff(console, presales_context("route-2", {"region": "华南"}))
    assert back["created"] is True and back["team"] == "presales"  # li's team, not presales_south
    ticket = console.ticket(back["ticket_id"])
    assert ticket["preferred_agent"]["username"] == "li" and ticket["lead"]["owner"]["username"] == "li"
    # the same customer id on another channel finds the owner too
    other_channel = handoff(console, {**presales_context("route-wechat", {"region": "华南"}), "channel": "wechat"})
    assert console.ticket(other_channel["ticket_id"])["preferred_agent"]["username"] == "li"
    anonymous = presales_context("route-anon", {"region": "华南"})
    anonymous["customer"] = {}
    assert handoff(console, anonymous)["team"] == "presales_south"


def test_presales_metrics_on_the_dashboard_and_metrics(console: Console, events: EventsTable) -> None:
    # the bot pointed one buyer to checkout and one cancelled: the events tail counts both from the slot events
    events.emit("m-small", {"event": "slot", "name": "presales_outcome", "value": "checkout"})
    events.emit("m-gone", {"event": "slot", "name": "presales_outcome", "value": "cancelled"})
    events.emit("m-gone", {"event": "slot", "name": "presales_outcome", "value": None})
    a = presales_context("m-1")
    b = presales_context("m-2", {"product_line": "electronics"})
    handoff(console, a)
    handoff(console, b)
    handoff(console, presales_context("m-3", {"product": "x"}) | {"lead": None})
    li = console.login("li")
    li.post(f"/api/leads/{a['lead']['lead_id']}/status", json={"status": "contacted"}).raise_for_status()
    li.post(f"/api/leads/{a['lead']['lead_id']}/status", json={"status": "quoted"}).raise_for_status()
    li.post(f"/api/leads/{a['lead']['lead_id']}/status", json={"status": "won"}).raise_for_status()
    li.post(f"/api/leads/{b['lead']['lead_id']}/status", json={"status": "lost"}).raise_for_status()
    presales = console.login("admin").get("/api/metrics/dashboard").json()["presales"]
    assert presales["leads"] == 2 and presales["by_product_line"] == {"cups_bottles": 1, "electronics": 1}
    assert presales["by_channel"] == {"rest": 2}
    assert presales["presales_tickets"] == 3 and presales["presales_tickets_with_lead"] == 2
    assert presales["won"] == 1 and presales["lost"] == 1
    assert console.wait_for(lambda: console.login("admin").get("/api/metrics/dashboard").json()["presales"]
                            ["checkouts"] == 1)
    presales = console.login("admin").get("/api/metrics/dashboard").json()["presales"]
    assert presales["cancelled"] == 1 and presales["qualification_rate"] == round(2 / 3, 4)
    assert presales["first_contact_seconds"]["count"] == 1 and presales["first_contact_seconds"]["median"] >= 0
    assert presales["quote_seconds"]["count"] == 1
    text = httpx.get(f"{console.url}/metrics").text
    assert 'kefu_console_leads{channel="rest",product_line="cups_bottles",status="won"} 1.0' in text
    assert 'kefu_console_leads{channel="rest",product_line="electronics",status="lost"} 1.0' in text
    # no webhook URL: every event is kept for later, none sent
    assert 'kefu_console_lead_webhook_events{state="pending"} 6.0' in text
    health = httpx.get(f"{console.url}/health").json()["lead_webhook"]
    assert health == {"pending": 6, "delivered": 0, "dead": 0, "configured": False}


def _config(tmp_path: Path, presales: str) -> Path:
    return config_file(tmp_path, ALWAYS_STAFFED + presales)


@pytest.mark.parametrize(("presales", "message"), [
    ("presales: [1]", "presales must be a mapping"),
    ("presales: {routing: {cups_bottles: presales}}", "presales.routing must be a list"),
    ("presales: {routing: [{team: presales}]}", "needs product_line or region"),
    ("presales: {routing: [{region: 华南, team: nobody}]}", "unknown team 'nobody'"),
    ("presales: {routing: [{city: 深圳, team: presales}]}", "unknown key(s) city"),
    ("presales: {webhook: {url: ftp://x}}", "must be null or an http(s) URL"),
    ("presales: {webhook: {max_attempts: 0}}", "max_attempts must be a whole number"),
    ("presales: {webhook: {backoff_seconds: []}}", "backoff_seconds must be a non-empty list"),
    ("presales: {webhook: {backoff_seconds: [5, -1]}}", "backoff_seconds must be a non-empty list"),
    ("presales: {webhook: {lease_seconds: 5, timeout_seconds: 10}}", "lease_seconds must be longer"),
    ("presales: {hooks: {}}", "unknown key(s) hooks"),
])
def test_the_presales_config_is_checked(tmp_path: Path, presales: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_config(_config(tmp_path, presales))
    assert message in str(caught.value)


def test_a_webhook_url_needs_its_secret(tmp_path: Path) -> None:
    env = {"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_CONFIG": str(_config(tmp_path, "presales: {}")),
           "KEFU_LEAD_WEBHOOK_URL": "https://crm.example.com/hook"}
    with pytest.raises(SettingsError, match="KEFU_LEAD_WEBHOOK_SECRET is empty"):
        load_settings(env)
    settings = load_settings({**env, "KEFU_LEAD_WEBHOOK_SECRET": "s3cret"})
    assert settings.lead_webhook_url == "https://crm.example.com/hook" and settings.lead_webhook_secret == "s3cret"
    assert load_settings({"KEFU_VAR_DIR": str(tmp_path)}).lead_webhook_url == ""
    assert load_config()["presales"]["webhook"]["backoff_seconds"] == [5, 30, 120, 600, 3600]


def test_every_catalogue_category_has_words_on_the_card() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    catalogue = yaml.safe_load((root / "actions/store/demo/catalogue.yml").read_text(encoding="utf-8"))
    words = (root / "console/static/js/words.js").read_text(encoding="utf-8")
    block = words[words.index("const PRODUCT_LINES"):words.index("};", words.index("const PRODUCT_LINES"))]
    missing = sorted({p["category"] for p in catalogue["products"]} - set(re.findall(r"^\s+(\w+):", block, re.M)))
    assert missing == [], f"product lines shown as codes on the lead card: {missing}"
