"""Feedback in the conversation (actions/feedback.py): 👍/👎 offers on FAQ answers and their clicks, the bot-only
CSAT ask, CES after the agent's rating, and the rule that a rating counts only right after the bot asked.

The FAQ answers come from the fixture knowledge base (tests/knowledge_base/fixtures), the review list is the
knowledge base's real store on SQLite."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.csat import ActionRecordCsat
from actions.faq import ActionAnswerFaq
from actions.feedback import (
    ActionAskBotCsat,
    ActionRecordAnswerFeedback,
    SettingsError,
    bot_csat_due,
    in_sample,
    load_settings,
    parse_settings,
    pending_request,
)
from knowledge_base.config import KBConfig
from knowledge_base.learning.unanswered import review
from knowledge_base.serving.runtime import KnowledgeBase
from tests.actions.handoff.events import bot, slot, user
from tests.knowledge_base.conftest import built_kb  # noqa: F401  (the fixture knowledge base, built once)

QUESTION = "退款要幾天才會到帳"


def tracker(sender: str, events: List[Dict[str, Any]], slots: Optional[Dict[str, Any]] = None) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    values: Dict[str, Any] = {"language": "zh-Hans"}
    for event in events:
        if event["event"] == "slot":
            values[event["name"]] = event["value"]
    values.update(slots or {})
    return Tracker(sender, values, {**(latest.get("parse_data") or {}), "text": latest.get("text")}, events, False,
                   None, None, "action_listen")


def run(action: Any, tr: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tr, {}))
    return dispatcher.messages, result


def slots_of(result: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in result if e.get("event") == "slot"}


def as_events(result: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [slot(e["name"], e["value"]) for e in result if e.get("event") == "slot"]


def said(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot messages as Rasa stores them (bot events with their buttons and custom payload)."""
    return [bot(m.get("text") or "", custom=m.get("custom"), buttons=m.get("buttons")) for m in messages]


@pytest.fixture()
def kb(built_kb: KBConfig, tmp_path: Path) -> KnowledgeBase:  # noqa: F811
    config = replace(built_kb, unanswered=replace(built_kb.unanswered, db_url=f"sqlite:///{tmp_path}/app.db"))
    return KnowledgeBase(config)


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ANSWER_FEEDBACK_SHARE", "socketio=1,wechat=1")
    monkeypatch.setenv("KEFU_BOT_CSAT_SAMPLE", "1")
    monkeypatch.delenv("KEFU_CES_AFTER_CSAT", raising=False)
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)


def ask(kb: KnowledgeBase, sender: str, history: List[Dict[str, Any]], text: str, channel: str) -> tuple:
    """One FAQ turn after ``history``; returns (messages, result, the conversation's events afterwards)."""
    events = [*history, user(text, "ask_faq", channel=channel)]
    messages, result = run(ActionAnswerFaq(kb), tracker(sender, events))
    return messages, result, [*events, *said(messages), *as_events(result)]


def feedback_buttons(message: Dict[str, Any]) -> List[Dict[str, str]]:
    return [b for b in message.get("buttons") or [] if b["payload"].startswith("/answer_feedback")]


def click(kb: KnowledgeBase, sender: str, events: List[Dict[str, Any]], payload: str, channel: str) -> tuple:
    value, offer = payload.split('"feedback":"')[1].split('"')[0], payload.split('"offer":"')[1].split('"')[0]
    entities = [{"entity": "feedback", "value": value}, {"entity": "offer", "value": offer}]
    events = [*events, user(payload, "answer_feedback", entities=entities, channel=channel)]
    messages, result = run(ActionRecordAnswerFeedback(kb), tracker(sender, events))
    return messages, result, [*events, *said(messages), *as_events(result)]


# -- settings -----------------------------------------------------------------------------------------------------
def test_settings_file_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEFU_ANSWER_FEEDBACK_SHARE")
    monkeypatch.delenv("KEFU_BOT_CSAT_SAMPLE")
    defaults = load_settings()
    assert defaults.answer_share == {"socketio": 1.0, "wechat": 0.25, "wecom": 0.25}
    assert defaults.bot_csat_sample == 0.2 and defaults.ces_after_csat is True
    assert "wechat" in defaults.once_per_conversation and "socketio" not in defaults.once_per_conversation
    env = {"KEFU_ANSWER_FEEDBACK_SHARE": "rest=1, wechat=0.5", "KEFU_BOT_CSAT_SAMPLE": "0", "KEFU_CES_AFTER_CSAT": "0"}
    changed = parse_settings({"answer_feedback": {"share": {"socketio": 1}}}, env)
    assert changed.answer_share == {"rest": 1.0, "wechat": 0.5}
    assert changed.bot_csat_sample == 0.0 and changed.ces_after_csat is False
    for bad, message in [({"KEFU_BOT_CSAT_SAMPLE": "1.5"}, "not between 0 and 1"),
                         ({"KEFU_BOT_CSAT_SAMPLE": "often"}, "not a number"),
                         ({"KEFU_ANSWER_FEEDBACK_SHARE": "wechat"}, "not channel=share"),
                         ({"KEFU_CES_AFTER_CSAT": "maybe"}, "not 1 or 0")]:
        with pytest.raises(SettingsError, match=message):
            parse_settings({}, bad)


def test_sampling_is_stable_and_proportional() -> None:
    keys = [f"conversation-{i}" for i in range(2000)]
    chosen = [k for k in keys if in_sample(k, 0.2)]
    assert 320 <= len(chosen) <= 480
    assert chosen == [k for k in keys if in_sample(k, 0.2)]  # the same draw every time
    assert all(in_sample(k, 1.0) for k in keys[:50]) and not any(in_sample(k, 0.0) for k in keys[:50])


# -- 👍/👎 on answers ------------------------------------------------------------------------------------------------
def test_widget_answers_offer_thumbs_and_a_click_records_the_question(kb: KnowledgeBase) -> None:
    messages, result, events = ask(kb, "fb-web", [], QUESTION, "socketio")
    assert slots_of(result)["faq_outcome"] == "answered"
    thumbs = feedback_buttons(messages[-1])
    assert [b["title"] for b in thumbs] == ["👍 有幫助", "👎 沒幫助"]  # in the script of the question
    offers = slots_of(result)["answer_feedback_offers"]
    assert offers[0]["question"] == QUESTION and offers[0]["entry_id"]
    # 👍 in the widget: recorded, and no message (the icons say it)
    replies, result, events = click(kb, "fb-web", events, thumbs[0]["payload"], "socketio")
    assert replies == []
    feedback = slots_of(result)["service_feedback"]
    assert feedback == {"kind": "answer", "value": 1, "channel": "socketio", "language": "zh-Hant",
                        "entry_id": offers[0]["entry_id"], "question": QUESTION, "offer": offers[0]["offer"]}
    # a second click on the same answer (a resent message): the first one stands
    replies, result, _ = click(kb, "fb-web", events, thumbs[1]["payload"], "socketio")
    assert replies == [] and result == []
    # every answer in the widget offers them
    messages, _, _ = ask(kb, "fb-web", events, "退款多久到账", "socketio")
    assert feedback_buttons(messages[-1])


def test_a_thumbs_down_joins_the_review_list(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    messages, result, events = ask(kb, "fb-down", [], QUESTION, "socketio")
    entry = slots_of(result)["answer_feedback_offers"][0]["entry_id"]
    replies, result, _ = click(kb, "fb-down", events, feedback_buttons(messages[-1])[1]["payload"], "socketio")
    assert slots_of(result)["service_feedback"]["value"] == 0
    assert "没帮到您" in replies[0]["text"] and replies[0]["buttons"][0]["payload"] == "/human_handoff"
    found = review(config=kb.config, similar=False)
    assert found.available
    group = next(g for g in found.groups if g.text == QUESTION)
    assert group.outcomes == {"downvoted": 1} and group.top_candidates == [entry]
    # the console's review list reads the same store through the knowledge base's API
    from console.unanswered import unanswered_groups

    monkeypatch.setenv("KEFU_APP_DB_URL", kb.config.db_url())
    monkeypatch.setenv("KEFU_CONSOLE_UNANSWERED_GROUPING", "exact")
    listed = unanswered_groups()
    assert any(g["question"] == QUESTION and g["outcomes"] == {"downvoted": 1} and g["candidates"] == [entry]
               for g in listed["groups"]), listed


def test_wechat_asks_once_per_conversation_and_thanks_in_words(kb: KnowledgeBase) -> None:
    messages, _, events = ask(kb, "wechat:fb-1", [], QUESTION, "wechat")
    thumbs = feedback_buttons(messages[-1])
    assert len(thumbs) == 2  # the channel numbers them: "1. 👍 有帮助" / "2. 👎 没帮助"
    again, _, _ = ask(kb, "wechat:fb-1", events, "退款多久到账", "wechat")
    assert not feedback_buttons(again[-1])  # not nagged on every answer
    replies, result, _ = click(kb, "wechat:fb-1", events, thumbs[0]["payload"], "wechat")
    assert slots_of(result)["service_feedback"]["channel"] == "wechat"
    assert replies[0]["text"].startswith("谢谢您的反馈")


def test_channels_outside_the_setting_and_unknown_offers(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    messages, result, events = ask(kb, "fb-rest", [], QUESTION, "rest")
    assert not feedback_buttons(messages[-1]) and "answer_feedback_offers" not in slots_of(result)
    monkeypatch.setenv("KEFU_ANSWER_FEEDBACK_SHARE", "socketio=0")
    messages, _, _ = ask(kb, "fb-off", [], QUESTION, "socketio")
    assert not feedback_buttons(messages[-1])
    # a forged or forgotten offer: thanked, nothing stored
    replies, result, _ = click(kb, "fb-rest", events, '/answer_feedback{"feedback":"down","offer":"nope"}', "rest")
    assert result == [] and "比较久" in replies[0]["text"]
    assert review(config=kb.config, similar=False).groups == ()


def test_a_broken_setting_costs_the_thumbs_not_the_answer(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ANSWER_FEEDBACK_SHARE", "socketio=lots")
    messages, result, _ = ask(kb, "fb-bad", [], QUESTION, "socketio")
    assert slots_of(result)["faq_outcome"] == "answered" and messages[0]["text"]
    assert not feedback_buttons(messages[-1])


# -- bot-only CSAT ------------------------------------------------------------------------------------------------
def answered_then(text: str, intent: str, channel: str = "socketio", before: Optional[List[Dict[str, Any]]] = None
                  ) -> List[Dict[str, Any]]:
    return [{"event": "session_started", "timestamp": 1.0}, *(before or []), user("发票怎么开", "ask_faq", channel=channel),
            bot("开票说明"), slot("faq_outcome", "answered"), user(text, intent, channel=channel)]


def test_thanks_after_an_answer_asks_for_a_rating_once() -> None:
    events = answered_then("谢谢", "thanks")
    messages, result = run(ActionAskBotCsat(), tracker("csat-1", events))
    assert messages[0]["custom"] == {"kefu_event": {"type": "rating_request", "kind": "bot_csat"}}
    assert [b["payload"] for b in messages[0]["buttons"]] == [f'/csat_rating{{"rating":{n}}}' for n in range(1, 6)]
    assert slots_of(result) == {"feedback_request": {"kind": "bot_csat"}}
    # the rating comes right after the ask
    later = [*events, *said(messages), *as_events(result),
             user('/csat_rating{"rating":4}', "csat_rating", entities=[{"entity": "rating", "value": 4}],
                  channel="socketio")]
    replies, result = run(ActionRecordCsat(), tracker("csat-1", later))
    assert slots_of(result) == {"service_feedback": {"kind": "bot_csat", "value": 4, "channel": "socketio",
                                                     "language": "zh-Hans"}, "feedback_request": None}
    assert replies[0]["text"] == "收到您的 4 分评价，谢谢！"
    # asked (and answered) once: goodbye does not ask again
    bye = [*later, *said(replies), *as_events(result), user("再见", "goodbye")]
    assert run(ActionAskBotCsat(), tracker("csat-1", bye)) == ([], [])


def test_no_rating_is_asked_without_an_answer_after_a_handoff_or_outside_the_sample(
        monkeypatch: pytest.MonkeyPatch) -> None:
    no_answer = [{"event": "session_started", "timestamp": 1.0}, user("你好", "greet"), user("谢谢", "thanks")]
    assert not bot_csat_due("c-1", no_answer, 1.0)
    # an answer carried over from the previous session is not this conversation's
    carried = [{"event": "session_started", "timestamp": 1.0}, slot("faq_outcome", "answered"), user("谢谢", "thanks")]
    assert not bot_csat_due("c-2", carried, 1.0)
    handed = answered_then("谢谢", "thanks", before=[user("转人工", "human_handoff"), slot("handoff_ticket", "12")])
    assert not bot_csat_due("c-3", handed, 1.0)
    assert bot_csat_due("c-4", answered_then("谢谢", "thanks"), 1.0)
    assert not bot_csat_due("c-4", answered_then("谢谢", "thanks"), 0.0)
    monkeypatch.setenv("KEFU_BOT_CSAT_SAMPLE", "0")
    assert run(ActionAskBotCsat(), tracker("c-4", answered_then("谢谢", "thanks"))) == ([], [])


def test_a_rating_counts_only_right_after_the_ask() -> None:
    asked = [user("谢谢", "thanks"), bot("方便打个分吗"), slot("feedback_request", {"kind": "bot_csat"})]
    assert pending_request([*asked, user("5", "csat_rating")]) == {"kind": "bot_csat"}
    assert pending_request([*asked, user("还有个问题", "ask_faq"), user("5", "csat_rating")]) is None
    # skipped, then a number in a question: the knowledge base's turn, not a rating
    events = [*answered_then("谢谢", "thanks"), bot("方便打个分吗"), slot("feedback_request", {"kind": "bot_csat"}),
              user("积分怎么用", "ask_faq"), user("我买了4个", "csat_rating", entities=[{"entity": "rating", "value": 4}])]
    _, result = run(ActionRecordCsat(), tracker("skip-1", events))
    assert [(e.get("event"), e.get("name")) for e in result] == [("followup", "action_fallback_ladder")]
    # a reply that is not a number keeps the question open for one more message
    events = [*asked, user("好评", "csat_rating")]
    replies, result = run(ActionRecordCsat(), tracker("skip-2", events))
    assert "1 到 5" in replies[0]["text"] and slots_of(result) == {"feedback_request": {"kind": "bot_csat"}}


# -- CES after the agent's rating -----------------------------------------------------------------------------------
def test_ces_is_asked_after_the_agent_rating_and_stored_with_the_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.harness import free_port

    monkeypatch.setenv("KEFU_CONSOLE_URL", f"http://127.0.0.1:{free_port()}")  # the console's answer is not needed
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", "t")
    closed = [user("我要投诉", "complain", channel="wechat"), bot("本次人工服务已结束"), slot("csat_ticket", "41"),
              user('/csat_rating{"rating":5}', "csat_rating", entities=[{"entity": "rating", "value": 5}],
                   channel="wechat")]
    messages, result = run(ActionRecordCsat(), tracker("wechat:ces-1", closed))
    assert messages[0]["text"].startswith("收到您的 5 分评价")
    assert "费力" in messages[1]["text"] and len(messages[1]["buttons"]) == 5
    assert messages[1]["buttons"][0]["title"] == "1 非常轻松"
    assert slots_of(result)["feedback_request"] == {"kind": "ces", "ticket_id": "41"}
    after = [*closed, *said(messages), *as_events(result), user("2", "csat_rating", channel="wechat")]
    replies, result = run(ActionRecordCsat(), tracker("wechat:ces-1", after))
    assert slots_of(result)["service_feedback"] == {"kind": "ces", "value": 2, "channel": "wechat",
                                                    "language": "zh-Hans", "ticket_id": 41}
    assert replies[0]["text"].startswith("谢谢")
    monkeypatch.setenv("KEFU_CES_AFTER_CSAT", "0")
    messages, result = run(ActionRecordCsat(), tracker("wechat:ces-2", closed))
    assert len(messages) == 1 and "feedback_request" not in slots_of(result)
