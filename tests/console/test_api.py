"""The console's HTTP API as a real process: auth, CSRF, scoping, the state machine, hostile input."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.console.process import ROOT, Console, EventsTable, FakeRasa, context

XSS = ['<script>alert("x")</script>', '<img src=x onerror="alert(1)">', "'; DROP TABLE console_tickets; --"]

PROTECTED = [
    ("GET", "/api/auth/me"), ("GET", "/api/config"), ("GET", "/api/tickets"), ("GET", "/api/tickets/1"),
    ("POST", "/api/tickets/1/claim"), ("POST", "/api/tickets/1/messages"), ("POST", "/api/tickets/1/notes"),
    ("POST", "/api/tickets/1/transfer"), ("POST", "/api/tickets/1/close"), ("POST", "/api/tickets/1/return"),
    ("GET", "/api/canned"), ("GET", "/api/agents"), ("GET", "/api/metrics/dashboard"), ("GET", "/api/stream"),
    ("POST", "/api/auth/logout"),
    # issue 27: presence, assignment, search
    ("GET", "/api/presence"), ("PUT", "/api/presence"), ("GET", "/api/presence/agents"),
    ("POST", "/api/tickets/1/assign"), ("GET", "/api/search?q=KF20261120001"),
]
STATE_CHANGING = [p for m, p in PROTECTED if m == "POST"]


def test_every_console_api_needs_a_session(console: Console) -> None:
    for method, path in PROTECTED:
        response = httpx.request(method, console.url + path, json={}, timeout=10)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == "unauthenticated"


def test_login_rejects_wrong_password_and_non_json(console: Console) -> None:
    assert httpx.post(console.url + "/api/auth/login", json={"username": "wang", "password": "nope"}).status_code == 401
    assert httpx.post(console.url + "/api/auth/login", json={"username": "ghost", "password": "x"}).status_code == 401
    form = httpx.post(console.url + "/api/auth/login", data={"username": "wang", "password": "wang-demo-2026"})
    assert form.status_code == 400  # a cross-site form post cannot log in
    ok = httpx.post(console.url + "/api/auth/login", json={"username": "wang", "password": "wang-demo-2026"})
    cookie = ok.headers["set-cookie"].lower()
    assert ok.status_code == 200 and "httponly" in cookie and "samesite=strict" in cookie
    assert "rasa" not in ok.text.lower()


def test_every_state_changing_request_needs_the_csrf_token(console: Console) -> None:
    ticket = console.handoff("csrf-1")["ticket_id"]
    client = console.login("admin")
    for path in STATE_CHANGING:
        path = path.replace("/1/", f"/{ticket}/")
        for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": "forged"}):
            response = client.post(path, json={"text": "x", "team": "presales", "resolution": "resolved"},
                                   headers=headers)
            assert response.status_code == 403 and response.json()["error"] == "csrf", (path, response.text)
    assert console.ticket(ticket)["state"] == "queued"  # nothing happened


def test_service_token_guards_the_internal_api(console: Console) -> None:
    assert console.internal("/internal/handoffs", context("s"), token="wrong").status_code == 401
    assert httpx.post(console.url + "/internal/csat", json={"sender_id": "s", "rating": 5}).status_code == 401
    assert httpx.get(console.url + "/internal/queue?sender_id=s").status_code == 401


def test_full_lifecycle_through_the_api(console: Console, fake_rasa: FakeRasa) -> None:
    created = console.internal("/internal/handoffs", context("life-1"))
    assert created.status_code == 201
    answer = created.json()
    assert answer["created"] and answer["state"] == "queued" and answer["team"] == "complaints"
    assert answer["position"] == 1 and answer["eta_seconds"] > 0 and answer["staffed"] is True
    ticket_id = answer["ticket_id"]

    wang = console.login("wang")
    queue = wang.get("/api/tickets").json()["tickets"]
    assert [t["id"] for t in queue] == [ticket_id]
    detail = console.ticket(ticket_id, "wang")
    assert [m["text"] for m in detail["messages"]] == ["我的杯子碎了", "非常抱歉"]
    assert detail["context"]["facts"][0]["data"]["status"] == "delivered"
    assert detail["priority"] == 60 and detail["customer"]["tier"] == "gold"
    assert detail["transitions"][0]["from"] == "bot" and detail["transitions"][0]["to"] == "queued"

    # reply before claiming is not allowed
    assert wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "hi"}).status_code == 409
    claimed = wang.post(f"/api/tickets/{ticket_id}/claim", json={})
    assert claimed.status_code == 200 and claimed.json()["state"] == "assigned"
    assert claimed.json()["assignee"]["username"] == "wang"
    joined = fake_rasa.events_for("life-1")[-1]
    assert joined["data"]["custom"]["kefu_event"] == {"type": "agent_joined", "agent": "小王"}
    call = fake_rasa.calls[-1]
    assert call["query"]["output_channel"] == ["rest"] and call["query"]["execute_side_effects"] == ["true"]
    assert call["query"]["token"] == [console.env["KEFU_RASA_TOKEN"]]

    # a second claim is a conflict
    assert console.login("admin").post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 409

    reply = wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "您好，马上为您处理 🙏"})
    assert reply.status_code == 201
    sent = fake_rasa.events_for("life-1")[-1]
    assert sent["event"] == "bot" and sent["text"] == "您好，马上为您处理 🙏"
    assert sent["data"]["custom"]["kefu_event"] == {"type": "agent_message", "agent": "小王"}

    note = wang.post(f"/api/tickets/{ticket_id}/notes", json={"text": "customer is a gold member"})
    assert note.status_code == 201
    assert all("gold member" not in (e.get("text") or "") for e in fake_rasa.events_for("life-1"))

    # li (presales only) cannot act on a complaints ticket
    li = console.login("li")
    assert li.get(f"/api/tickets/{ticket_id}").status_code == 403
    assert li.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).status_code == 403

    assert wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "made-up"}).status_code == 400
    closed = wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "refund_or_replacement"})
    assert closed.status_code == 200
    body = closed.json()
    assert body["state"] == "closed" and body["resolution"] == "refund_or_replacement"
    assert body["sla"]["first_response_overdue"] is False
    appended = fake_rasa.calls[-1]["events"]
    assert appended[0] == {"event": "resume", "timestamp": appended[0]["timestamp"]}
    assert appended[1]["data"]["custom"]["kefu_event"]["type"] == "handoff_closed"
    # 1..5 in order: on WeChat the reply "1" is the first button, one point
    assert [b["payload"] for b in appended[1]["data"]["buttons"]] == [
        f'/csat_rating{{"rating":{n}}}' for n in range(1, 6)]
    assert appended[2] == {"event": "slot", "name": "csat_ticket", "value": str(ticket_id),
                           "timestamp": appended[2]["timestamp"]}
    assert [t["to"] for t in body["transitions"]] == ["queued", "assigned", "closed"]
    assert [t["actor"] for t in body["transitions"]] == ["bot", "agent:wang", "agent:wang"]

    # closed is final
    for path in ("claim", "close", "return", "transfer"):
        response = wang.post(f"/api/tickets/{ticket_id}/{path}", json={"team": "presales", "resolution": "resolved"})
        assert response.status_code == 409, path

    rated = console.internal("/internal/csat", {"sender_id": "life-1", "rating": 4})
    assert rated.status_code == 200 and rated.json() == {"ticket_id": ticket_id, "rating": 4}
    assert console.ticket(ticket_id)["csat"]["rating"] == 4
    for bad in (0, 6, "5", True, None):
        assert console.internal("/internal/csat", {"sender_id": "life-1", "rating": bad}).status_code == 400
    assert console.internal("/internal/csat", {"sender_id": "nobody", "rating": 5}).status_code == 404


def test_transfer_and_return_to_bot(console: Console, fake_rasa: FakeRasa) -> None:
    ticket_id = console.handoff("tr-1", reason="explicit_request", category="other")["ticket_id"]
    wang = console.login("wang")
    assert console.ticket(ticket_id)["team"] == "after_sales"
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    moved = wang.post(f"/api/tickets/{ticket_id}/transfer", json={"team": "presales", "note": "wants 200 mugs"})
    assert moved.status_code == 200
    assert moved.json()["state"] == "queued" and moved.json()["team"] == "presales" and moved.json()["assignee"] is None
    assert fake_rasa.events_for("tr-1")[-1]["data"]["custom"]["kefu_event"] == {"type": "transferred", "team": "presales",
                                                                                 "team_label": "售前"}
    assert moved.json()["notes"][0]["text"] == "wants 200 mugs"
    # wang no longer sees it; li does
    assert wang.get(f"/api/tickets/{ticket_id}").status_code == 403
    li = console.login("li")
    assert [t["id"] for t in li.get("/api/tickets").json()["tickets"]] == [ticket_id]
    assert li.post(f"/api/tickets/{ticket_id}/transfer", json={"team": "presales"}).status_code == 400
    assert li.post(f"/api/tickets/{ticket_id}/transfer", json={"team": "nowhere"}).status_code == 400
    back = li.post(f"/api/tickets/{ticket_id}/return", json={"note": "answered by FAQ"})
    assert back.status_code == 200 and back.json()["state"] == "returned_to_bot"
    appended = fake_rasa.calls[-1]["events"]
    assert appended[0]["event"] == "resume"
    assert appended[1]["data"]["custom"]["kefu_event"] == {"type": "returned_to_bot"}
    assert [t["action"] for t in back.json()["transitions"]] == ["escalate", "claim", "transfer", "return"]
    # a new escalation after the hand-back opens a new ticket
    again = console.handoff("tr-1")
    assert again["created"] and again["ticket_id"] != ticket_id


def test_handoff_is_idempotent_and_attaches_to_the_open_ticket(console: Console) -> None:
    body = context("idem-1")
    first = console.internal("/internal/handoffs", body)
    second = console.internal("/internal/handoffs", body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["ticket_id"] == second.json()["ticket_id"] and second.json()["created"] is False
    other = console.handoff("idem-1")  # another escalation while one is open
    assert other["ticket_id"] == first.json()["ticket_id"] and other["created"] is False
    assert len(console.login("admin").get("/api/tickets").json()["tickets"]) == 1
    assert len(console.ticket(first.json()["ticket_id"])["messages"]) == 2  # transcript not doubled


def test_rasa_down_changes_nothing(console: Console, fake_rasa: FakeRasa) -> None:
    ticket_id = console.handoff("down-1")["ticket_id"]
    wang = console.login("wang")
    fake_rasa.fail = True
    response = wang.post(f"/api/tickets/{ticket_id}/claim", json={})
    assert response.status_code == 502 and response.json()["error"] == "rasa_unavailable"
    assert console.ticket(ticket_id)["state"] == "queued"
    fake_rasa.fail = False
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    fake_rasa.fail = True
    assert wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "hello"}).status_code == 502
    assert [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == "agent"] == []
    assert wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).status_code == 502
    assert console.ticket(ticket_id)["state"] == "assigned"


@pytest.mark.parametrize("hostile", XSS + ["😡🔥 客服在吗？？？", "x" * 4000])
def test_hostile_text_is_stored_and_returned_verbatim_as_json(console: Console, fake_rasa: FakeRasa,
                                                             hostile: str) -> None:
    raw = context("xss-1", summary=hostile[:2000])
    raw["transcript"][0]["text"] = hostile
    ticket_id = console.internal("/internal/handoffs", raw).json()["ticket_id"]
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    assert wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": hostile}).status_code == 201
    assert wang.post(f"/api/tickets/{ticket_id}/notes", json={"text": hostile}).status_code == 201
    response = wang.get(f"/api/tickets/{ticket_id}")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    detail = response.json()
    assert detail["summary"] == hostile[:2000] and detail["messages"][0]["text"] == hostile
    assert detail["messages"][-1]["text"] == hostile and detail["notes"][0]["text"] == hostile
    assert fake_rasa.events_for("xss-1")[-1]["text"] == hostile


def test_bad_bodies_get_clear_errors(console: Console) -> None:
    ticket_id = console.handoff("bad-1")["ticket_id"]
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    cases = [
        (b"{not json", 400), (b"[1,2]", 400), (json.dumps({"text": ""}).encode(), 400),
        (json.dumps({"text": 5}).encode(), 400), (json.dumps({"text": "x" * 4001}).encode(), 400),
        (json.dumps({"text": "y" * 70000}).encode(), 413),
    ]
    for body, status in cases:
        response = wang.post(f"/api/tickets/{ticket_id}/messages", content=body,
                             headers={"content-type": "application/json"})
        assert response.status_code == status, (body[:30], response.text)
        assert response.json()["error"] in {"bad_request", "too_large"}
    assert wang.get("/api/tickets/999999").status_code == 404
    assert wang.get("/api/tickets?state=weird").status_code == 400
    assert console.internal("/internal/handoffs", {"sender_id": "x"}).status_code == 400
    assert console.internal("/internal/handoffs", [1]).status_code == 400


def test_role_scoping_of_lists_and_supervisor_apis(console: Console) -> None:
    complaint = console.handoff("scope-1")["ticket_id"]
    presales = console.handoff("scope-2", reason="presales", category="presales")["ticket_id"]
    ids = lambda user: {t["id"] for t in console.login(user).get("/api/tickets").json()["tickets"]}  # noqa: E731
    assert ids("wang") == {complaint} and ids("li") == {presales} and ids("admin") == {complaint, presales}
    assert console.login("wang").get("/api/metrics/dashboard").status_code == 403
    assert console.login("wang").get("/api/agents").status_code == 403
    agents = console.login("admin").get("/api/agents").json()["agents"]
    assert {a["username"] for a in agents} == {"wang", "li", "admin"}
    assert all("password" not in json.dumps(a) for a in agents)


def test_logout_ends_the_session(console: Console) -> None:
    wang = console.login("wang")
    assert wang.get("/api/auth/me").json()["agent"]["username"] == "wang"
    assert wang.post("/api/auth/logout", json={}).status_code == 200
    assert wang.get("/api/auth/me").status_code == 401


def test_config_canned_health_metrics_and_pages(console: Console) -> None:
    wang = console.login("wang")
    config = wang.get("/api/config").json()
    assert config["sla"]["first_response_seconds"] == 60 and {t["id"] for t in config["teams"]} == {
        "presales", "after_sales", "complaints"}
    canned = wang.get("/api/canned").json()["canned"]
    assert canned and all({"zh-Hans", "zh-Hant", "en"} <= set(c["text"]) for c in canned)
    console.handoff("metrics-1")
    assert httpx.get(console.url + "/health").json()["status"] == "ok"
    metrics = httpx.get(console.url + "/metrics").text
    assert 'kefu_console_queue_length{team="complaints"} 1.0' in metrics
    assert 'kefu_console_handoffs_total{reason="complaint"} 1.0' in metrics
    assert "kefu_console_oldest_waiting_seconds" in metrics
    login_page = httpx.get(console.url + "/console", follow_redirects=False)
    assert login_page.status_code == 302 and login_page.headers["location"] == "/login"
    assert httpx.get(console.url + "/static/../../console/settings.py").status_code == 404
    assert console.env["KEFU_RASA_TOKEN"] not in wang.get("/api/config").text


def test_every_asset_the_demo_shop_page_links_is_served(console: Console) -> None:
    """Issue 27 defect 11: the demo page's favicon was a 404. Every same-origin stylesheet, script and icon the page
    links must be there (the widget bundle only once it is built)."""
    import re

    page = httpx.get(console.url + "/demo")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    links = re.findall(r'<(?:link|script)[^>]*?(?:href|src)="(/[^"]+)"', page.text)
    assert any("icon" in tag for tag in re.findall(r"<link[^>]*>", page.text)), "no icon: browsers ask /favicon.ico"
    assert "/demo/favicon.svg" in links and "/demo/demo.css" in links, links
    for link in links:
        if link.startswith("/widget/") and not (ROOT / "webchat" / "dist").is_dir():
            continue
        response = httpx.get(console.url + link)
        assert response.status_code == 200, (link, response.status_code)


def test_dashboard_metrics(console: Console, events: EventsTable) -> None:
    for sender in ("d-1", "d-2", "d-3", "d-4"):
        events.user(sender, "退货怎么办", intent="ask_faq")
    events.emit("d-1", {"event": "slot", "name": "faq_outcome", "value": "answered"})
    events.emit("d-2", {"event": "slot", "name": "faq_outcome", "value": "no_answer"})
    ticket_id = console.handoff("d-4")["ticket_id"]
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "在的"}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
    console.internal("/internal/csat", {"sender_id": "d-4", "rating": 5}).raise_for_status()
    admin = console.login("admin")
    data = console.wait_for(lambda: (lambda d: d if d["conversations"] == 4 and d["faq"]["answered"] == 1 else None)(
        admin.get("/api/metrics/dashboard?days=7").json()))
    assert data, admin.get("/api/metrics/dashboard?days=7").json()
    assert data["handed_off"] == 1 and data["containment_rate"] == 0.75
    assert data["handoffs_by_reason"]["complaint"] == 1 and data["handoff_rate_by_reason"]["complaint"] == 0.25
    assert data["faq"] == {"answered": 1, "clarify": 0, "no_answer": 1, "answer_rate": 0.5}
    assert data["first_response_seconds"]["count"] == 1 and data["handle_seconds"]["count"] == 1
    assert data["csat"]["average"] == 5 and data["csat"]["distribution"]["5"] == 1
    assert data["unanswered"]["available"] in (True, False)
    assert admin.get("/api/metrics/dashboard?days=0").status_code == 400
