"""action_handoff and action_record_csat against a real console process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.csat import ActionRecordCsat, rating_from
from actions.handoff import ActionHandoff
from tests.actions.handoff.events import bot, user
from tests.console.process import NEVER_STAFFED, Console, EventsTable, FakeRasa


def tracker(sender: str, events: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(sender, {"language": "zh-Hans", **(slots or {})},
                   {**(latest.get("parse_data") or {}), "text": latest.get("text")}, events, False, None, None,
                   "action_listen")


def run(action: Any, tr: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tr, {}))
    return dispatcher.messages, result


@pytest.fixture()
def wired(console: Console, monkeypatch: pytest.MonkeyPatch) -> Console:
    monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)
    return console


def test_complaint_opens_a_ticket_with_context_and_pauses(wired: Console) -> None:
    events = [user("我的订单 KF20261101001 到哪了", "order_status"),
              bot("已签收", custom={"kefu_card": {"type": "order_status", "status": "delivered"}}),
              user("杯子碎了，太差劲了！！", "complain")]
    messages, result = run(ActionHandoff(), tracker("act-1", events, {"order_id": "KF20261101001"}))
    kinds = [e["event"] for e in result]
    assert kinds[-1] == "pause" and "slot" in kinds
    request = next(e for e in result if e.get("name") == "handoff_request")["value"]
    assert request["reason"] == "complaint" and request["sender_id"] == "act-1"
    queued = messages[-1]
    assert queued["custom"]["kefu_event"]["type"] == "handoff_queued"
    assert queued["custom"]["kefu_event"]["position"] == 1 and "第 1 位" in queued["text"]
    assert "抱歉" in messages[0]["text"]  # the complaint apology comes first
    ticket_id = next(e for e in result if e.get("name") == "handoff_ticket")["value"]
    detail = wired.ticket(int(ticket_id))
    assert detail["category"] == "complaint" and detail["team"] == "complaints"
    assert [m["text"] for m in detail["messages"]][0] == "我的订单 KF20261101001 到哪了"
    assert detail["context"]["facts"][0]["data"]["status"] == "delivered"
    assert "KF20261101001" in detail["summary"]


def test_a_complaint_with_nothing_to_complain_about_is_answered_not_handed_over(wired: Console) -> None:
    messages, result = run(ActionHandoff(), tracker("act-unfounded", [user("这玩意儿能寄回去不", "complain")]))
    assert messages == [] and result == [{"event": "followup", "name": "action_fallback_ladder",
                                          "timestamp": result[0]["timestamp"]}]
    listed = wired.login("admin").get("/api/tickets", params={"state": "all"}).json()["tickets"]
    assert not [t for t in listed if t["sender_id"] == "act-unfounded"], "no ticket was opened"


def test_explicit_request_in_english_asks_one_clarifying_question(wired: Console) -> None:
    messages, result = run(ActionHandoff(), tracker("act-2", [user("talk to a human", "human_handoff")],
                                                    {"language": "en"}))
    texts = [m["text"] for m in messages]
    assert "number 1 in the queue" in texts[0] and "could you tell me briefly" in texts[-1]
    assert len(texts) == 2


def test_identity_failure_reason_reaches_the_ticket(wired: Console) -> None:
    _, result = run(ActionHandoff(), tracker("act-3", [user("/human_handoff", "human_handoff")],
                                             {"order_lookup_locked": True, "language": "zh-Hant"}))
    ticket_id = int(next(e for e in result if e.get("name") == "handoff_ticket")["value"])
    detail = wired.ticket(ticket_id)
    assert detail["reason"] == "identity" and detail["team"] == "after_sales" and detail["language"] == "zh-Hant"


def test_second_request_while_queued_says_so(wired: Console) -> None:
    run(ActionHandoff(), tracker("act-4", [user("我要投诉", "complain")]))
    messages, _ = run(ActionHandoff(), tracker("act-4", [user("我要投诉", "complain"), user("人呢", "human_handoff")]))
    assert "已经在人工客服队列中" in messages[-1]["text"]


def test_console_down_apologises_and_loses_nothing(tmp_path: Path, fake_rasa: FakeRasa,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console.create(tmp_path / "c", fake_rasa.url)  # not started yet
    monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)
    messages, result = run(ActionHandoff(), tracker("act-5", [user("转人工", "human_handoff")]))
    assert "不会丢失" in messages[0]["text"] and messages[0]["custom"]["kefu_event"]["pending"] is True
    assert result[-1]["event"] == "pause"
    request = next(e for e in result if e.get("name") == "handoff_request")["value"]
    # Rasa's broker writes the slot event; the console opens the ticket from it once it is up
    events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
    events.emit("act-5", {"event": "slot", "name": "handoff_request", "value": request})
    console.start()
    try:
        admin = console.login("admin")
        tickets = console.wait_for(lambda: admin.get("/api/tickets").json()["tickets"])
        assert [t["sender_id"] for t in tickets] == ["act-5"]
    finally:
        console.stop()


def test_outside_staffed_hours_tells_when_and_still_queues(tmp_path: Path, fake_rasa: FakeRasa,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console.create(tmp_path / "c", fake_rasa.url, staffed=NEVER_STAFFED).start()
    try:
        monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
        monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)
        messages, _ = run(ActionHandoff(), tracker("act-6", [user("我要投诉", "complain")]))
        queued = messages[-1]
        assert queued["custom"]["kefu_event"]["staffed"] is False and queued["custom"]["kefu_event"]["opens_at"]
        assert "不在客服工作时间" in queued["text"] and "09:00" in queued["text"]
        assert console.login("admin").get("/api/tickets").json()["tickets"][0]["state"] == "queued"
    finally:
        console.stop()


def test_csat_recorded_on_the_closed_ticket(wired: Console) -> None:
    _, result = run(ActionHandoff(), tracker("act-7", [user("我要投诉", "complain")]))
    ticket_id = int(next(e for e in result if e.get("name") == "handoff_ticket")["value"])
    wang = wired.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
    rating = user('/csat_rating{"rating":2}', "csat_rating", entities=[{"entity": "rating", "value": 2}])
    messages, result = run(ActionRecordCsat(), tracker("act-7", [rating], {"csat_ticket": str(ticket_id)}))
    assert "很抱歉" in messages[0]["text"]
    assert result[0]["value"] == {"rating": 2, "ticket_id": str(ticket_id)}
    assert wired.ticket(ticket_id)["csat"]["rating"] == 2


def test_csat_without_a_ticket_or_rating(wired: Console) -> None:
    button = user('/csat_rating{"rating":5}', "csat_rating", entities=[{"entity": "rating", "value": 5}])
    messages, result = run(ActionRecordCsat(), tracker("act-8", [button], {"language": "en"}))
    assert "no recent chat" in messages[0]["text"] and result == []
    # a typed "5" nobody asked for is no rating at all (issue 25): the fallback ladder answers it
    messages, result = run(ActionRecordCsat(), tracker("act-8", [user("5", "csat_rating")], {"language": "en"}))
    assert messages == [] and [(e["event"], e["name"]) for e in result] == [("followup", "action_fallback_ladder")]
    messages, result = run(ActionRecordCsat(), tracker("act-8", [user("好评", "csat_rating")], {"csat_ticket": "77"}))
    assert "1 到 5" in messages[0]["text"] and result == []


def test_a_rating_nobody_asked_for_is_a_misreading_and_goes_to_the_knowledge_base() -> None:
    """Real buyer messages NLU reads as csat_rating (benchmarks/nlu_routing_cic.py); no console is needed: nothing
    is posted."""
    for text in ("积分有啥用 多少分抵1块", "幫我算 123 乘 456", "这个买一送一是20个吗", "1箱几个", "好评", "rate 5 products"):
        found = [{"entity": "rating", "value": 1}]  # NLU finds rating entities inside questions too
        messages, result = run(ActionRecordCsat(), tracker("act-9", [user(text, "csat_rating", entities=found)]))
        assert messages == [] and [(e["event"], e["name"]) for e in result] == [("followup", "action_fallback_ladder")], text


def test_bare_ratings() -> None:
    from actions.csat import is_bare_rating

    assert all(is_bare_rating([], t) for t in ("5", "4分", "給五星", "打3分!", "5 stars", "⭐⭐⭐⭐", " 2 。"))
    assert is_bare_rating([{"entity": "rating", "value": 4}], '/csat_rating{"rating":4}')
    assert not any(is_bare_rating([], t) for t in ("1箱几个", "积分有啥用 多少分抵1块", "好评", "6", "10分", "", None))
    assert not is_bare_rating([{"entity": "rating", "value": 1}], "积分有啥用 多少分抵1块")  # NLU's entity in a question


def test_rating_parsing() -> None:
    assert rating_from([{"entity": "rating", "value": "4"}], "x") == 4
    assert rating_from([{"entity": "rating", "value": 9}], "3 stars") == 3
    assert [rating_from([], t) for t in ("5", "給4分", "五星", "⭐⭐⭐", "1 star")] == [5, 4, 5, 3, 1]
    assert [rating_from([], t) for t in ("KF2026110100", "10", "1到5", "", None)] == [None] * 5


def test_a_verification_that_no_longer_holds_reaches_the_agent_as_unverified() -> None:
    from actions.handoff import customer_from_slots, with_current_identity

    stale = {"verified_customer_id": "C0001", "verified_via": "phone", "verified": True, "customer_id": None}
    assert customer_from_slots(stale).verified  # what the slots alone would have said
    dropped = customer_from_slots(with_current_identity(stale, None))
    assert not dropped.verified and dropped.id is None
    held = customer_from_slots(with_current_identity(stale, "C0001"))
    assert held.verified and held.id == "C0001"
