"""The fallback ladder counts consecutive misses from the tracker's events."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallbackLadder
from actions.language import ActionDetectLanguage, language_after
from actions.turns import consecutive_misses
from kernel.language import language_of_locale


def user(intent, text="..."):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.3}}}


def bot(text="..."):
    return {"event": "bot", "text": text}


def slot(name, value):
    return {"event": "slot", "name": name, "value": value}


def test_counts_only_the_latest_run_of_misses():
    events = [user("nlu_fallback"), bot(), user("greet"), bot(), user("nlu_fallback"), bot(), user("nlu_fallback")]
    assert consecutive_misses(events) == 2


def test_a_served_turn_resets_the_count():
    assert consecutive_misses([user("nlu_fallback"), bot(), user("thanks"), bot()]) == 0


def test_faq_no_answer_counts_as_a_miss():
    events = [user("ask_faq"), slot("faq_outcome", "no_answer"), bot(), user("nlu_fallback")]
    assert consecutive_misses(events) == 2


def run_ladder(events, language="en"):
    tracker = Tracker("s", {"language": language}, events[-1], events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionFallbackLadder().run(dispatcher, tracker, {}))
    return dispatcher.messages, result


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_first_miss_asks_to_rephrase_second_offers_a_human():
    messages, events = run_ladder([user("nlu_fallback", "???")])
    assert [m["response"] for m in messages] == ["utter_ask_rephrase"]
    assert slots_of(events) == {"faq_outcome": "no_answer", "faq_candidates": []}
    messages, events = run_ladder([user("nlu_fallback", "???"), bot(), user("nlu_fallback", "???")])
    assert [m["response"] for m in messages] == ["utter_offer_human"]
    assert slots_of(events)["human_offered"] is True


def test_strongly_negative_fallback_hands_over_at_once():
    messages, events = run_ladder([user("nlu_fallback", "你们这什么垃圾服务，气死我了，骗子！！！")], language="zh-Hans")
    assert messages == []
    assert {"event": "followup", "timestamp": None, "name": "action_handoff"} in events


def test_a_fallback_the_knowledge_base_answered_is_not_a_miss():
    events = [user("nlu_fallback"), slot("faq_outcome", "answered"), bot(), user("nlu_fallback")]
    assert consecutive_misses(events) == 1


def test_language_follows_the_customer_and_survives_neutral_messages():
    assert language_after("您好，請問營業時間", "zh-Hans") == "zh-Hant"
    assert language_after("好的", "zh-Hant") == "zh-Hant"
    assert language_after("ok", "en") == "en"
    assert language_after("/human_handoff", "zh-Hant") == "zh-Hant"
    assert language_after("你好", "en") == "zh-Hans"
    assert language_after("", None) == "zh-Hans"


def test_detect_language_action_sets_the_slot():
    tracker = Tracker("s", {"language": "zh-Hans"}, {"text": "hi there"}, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), tracker, {}))
    assert events[0]["name"] == "language" and events[0]["value"] == "en"


def test_a_first_message_without_language_follows_the_widget_locale():
    # "KF20261118001" as the first message from an English browser: the reply must not be Chinese
    assert language_after("KF20261118001", None, "en") == "en"
    assert language_after("1234", None, "zh-Hant") == "zh-Hant"
    # the hint never overrides what the customer writes, nor the conversation's language
    assert language_after("我的订单到哪了", None, "en") == "zh-Hans"
    assert language_after("KF20261118001", "zh-Hant", "en") == "zh-Hant"
    assert language_after("KF20261118001", None, None) == "zh-Hans"


def test_locales_map_to_the_three_languages():
    assert [language_of_locale(v) for v in ("en", "en-GB", "EN_us", "zh-Hans", "zh-CN", "zh", "zh-TW", "zh-hk",
                                              "zh-Hant-HK", "zh-Hant")] == \
        ["en", "en", "en", "zh-Hans", "zh-Hans", "zh-Hans", "zh-Hant", "zh-Hant", "zh-Hant", "zh-Hant"]
    assert [language_of_locale(v) for v in ("fr", "", None, 42, "x" * 100, "<script>")] == [None] * 6


def test_detect_language_action_reads_the_widget_locale():
    first = {"event": "user", "text": "KF20261118001"}
    # the slot starts as zh-Hans (the domain's initial value): on the first message the widget's locale decides
    tracker = Tracker("s", {"language": "zh-Hans"}, {"text": "KF20261118001", "metadata": {"language": "en-US"}},
                      [{"event": "session_started"}, first], False, None, {}, "action_listen")
    events = asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), tracker, {}))
    assert events[0]["value"] == "en"
    # later, the conversation's language stays
    later = Tracker("s", {"language": "zh-Hans"}, {"text": "1234", "metadata": {"language": "en-US"}},
                    [first, {"event": "bot", "text": "请提供后四位"}, {"event": "user", "text": "1234"}], False, None, {},
                    "action_listen")
    assert asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), later, {}))[0]["value"] == "zh-Hans"
    hostile = Tracker("s", {"language": None}, {"text": "KF20261118001", "metadata": ["en"]}, [], False, None, {},
                      "action_listen")
    assert asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), hostile, {}))[0]["value"] == "zh-Hans"


def test_a_message_naming_a_complaint_reaches_a_person_whatever_nlu_said():
    messages, events = run_ladder([user("nlu_fallback", "我要投訴，你們寄來的杯子是碎的")], language="zh-Hant")
    assert messages == []
    assert events == [{"event": "followup", "timestamp": None, "name": "action_handoff"}]
