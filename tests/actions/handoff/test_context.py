"""The handoff context: transcript, intents, facts, slots, customer, summary (pure functions)."""

from __future__ import annotations

from actions.escalation import Decision
from actions.handoff import (
    CustomerProfile,
    build_context,
    customer_from_slots,
    decide_for,
    facts_from_events,
    needs_clarifying,
    summarise,
    transcript_from_events,
    wait_text,
)
from kernel.handoff import parse_context
from tests.actions.handoff.events import action, bot, slot, user

CARD = {"kefu_card": {"type": "order_status", "order_id": "KF20261101001", "status": "delivered"}}


def conversation():  # type: ignore[no-untyped-def]
    return [
        action("action_session_start"),
        user("你好", "greet"),
        bot("您好！"),
        user("我的订单 KF20261101001 到哪了", "order_status"),
        bot("订单已签收", custom=CARD),
        user("可是杯子是碎的，你们这是什么垃圾包装！！", "complain", 0.88),
        slot("faq_outcome", "no_answer"),
        bot("Agent text", custom={"kefu_event": {"type": "agent_message", "agent": "小王"}}),
    ]


def test_transcript_has_both_sides_with_timestamps_and_authors() -> None:
    events = conversation()
    transcript = transcript_from_events(events)
    assert [m["author"] for m in transcript] == ["customer", "bot", "customer", "bot", "customer", "agent"]
    assert all(isinstance(m["timestamp"], float) for m in transcript)
    assert transcript[4]["intent"] == "complain" and transcript[4]["confidence"] == 0.88
    assert transcript[3]["data"]["custom"]["kefu_card"]["status"] == "delivered"
    long = transcript_from_events([user("字" * 5000, "inform")])
    assert len(long[0]["text"]) == 2000 and long[0]["truncated"]


def test_facts_are_the_cards_the_bot_showed() -> None:
    facts = facts_from_events(conversation())
    assert facts == [{"type": "order_status", "timestamp": facts[0]["timestamp"], "data": CARD["kefu_card"]}]


def test_customer_profile_from_either_identity_slot() -> None:
    assert customer_from_slots({}) == CustomerProfile(None, None, None, False)
    assert customer_from_slots({"verified_customer_id": "C0001", "verified_via": "phone"}).verified
    assert customer_from_slots({"customer_id": "C0002", "verified": True}).id == "C0002"
    assert not customer_from_slots({"customer_id": "C0002"}).verified


def test_summary_extracts_what_the_customer_wants() -> None:
    transcript = transcript_from_events(conversation())
    customer = [m for m in transcript if m["author"] == "customer"]
    summary = summarise(customer, {"order_id": "KF20261101001"}, "complaint", "zh-Hans")
    assert summary.startswith("投诉：") and "杯子是碎的" in summary and "KF20261101001" in summary
    assert "你好" not in summary
    english = summarise([{"text": "hi", "intent": "greet"}, {"text": "I need 300 mugs with our logo",
                                                             "intent": "presales_quote"}], {}, "presales", "en")
    assert english == "Presales: I need 300 mugs with our logo"
    empty = summarise([{"text": "转人工", "intent": "human_handoff"}], {}, "other", "zh-Hant")
    assert empty.startswith("諮詢：")
    assert len(summarise([{"text": "很长" * 500, "intent": "complain"}], {}, "complaint", "zh-Hans")) <= 160


def test_context_is_accepted_by_the_console() -> None:
    events = conversation()
    slots = {"language": "zh-Hans", "order_id": "KF20261101001", "verified_customer_id": "C0001",
             "faq_candidates": [{"id": "returns", "score": 0.4}], "handoff_request": {"old": True}}
    decision = decide_for(events, slots)
    assert (decision.reason, decision.category) == ("complaint", "complaint")
    ctx = build_context(handoff_id="h1", sender_id="s1", channel="socketio", events=events, slots=slots,
                        decision=decision, customer=customer_from_slots(slots), now=1.0)
    parsed = parse_context(ctx)
    assert parsed.channel == "socketio" and parsed.customer.id == "C0001" and parsed.customer.verified
    assert ctx["sentiment"]["label"] == "strongly_negative"
    assert ctx["slots"] == {"language": "zh-Hans", "order_id": "KF20261101001", "verified_customer_id": "C0001",
                            "faq_candidates": [{"id": "returns", "score": 0.4}]}
    assert ctx["faq_candidates"] == [{"id": "returns", "score": 0.4}]
    assert [i["intent"] for i in ctx["intents"]] == ["greet", "order_status", "complain"]
    assert ctx["intents"][2]["ranking"][0] == {"intent": "complain", "confidence": 0.88}


def test_unclear_reasons_ask_one_question() -> None:
    assert needs_clarifying(Decision("explicit_request", "other", "intent:human_handoff"))
    assert not needs_clarifying(Decision("complaint", "complaint", "intent:complain"))
    assert decide_for([user("好的", "affirm")], {}).reason == "explicit_request"


def test_wait_text() -> None:
    assert wait_text(30, "zh-Hans") == "不到 1 分钟"
    assert wait_text(61, "en") == "about 2 min"
    assert wait_text(600, "zh-Hant") == "約 10 分鐘"
