"""Keywords in escalation.yml promote a message to its trigger's intent, whatever NLU predicted."""

from __future__ import annotations

from actions.escalation import decide, keyword_intent, load_config, signals_from_events


def user(text: str, intent: str) -> dict:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.6}}}


def test_complaint_keywords_in_both_scripts_and_english():
    config = load_config()
    assert keyword_intent("我要投诉，你们发的杯子是碎的", config) == "complain"
    assert keyword_intent("我要投訴", config) == "complain"
    assert keyword_intent("I want to file a COMPLAINT", config) == "complain"
    assert keyword_intent("轉真人", config) == "human_handoff"
    assert keyword_intent("发票怎么开", config) is None
    assert keyword_intent("", config) is None


def test_a_misrouted_complaint_is_escalated_as_a_complaint():
    config = load_config()
    signals = signals_from_events([user("我要投诉，你们发的杯子是碎的", "ask_faq")], {}, config)
    decision = decide(signals, config)
    assert decision is not None and decision.reason == "complaint" and decision.category == "complaint"
