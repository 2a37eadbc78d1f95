"""The fallback ladder asks the knowledge base before it counts a miss."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallbackLadder
from knowledge_base.serving.runtime import KnowledgeBase


def fallback_tracker(text: str, language: str = "zh-Hans") -> Tracker:
    user = {"event": "user", "text": text, "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.3}}}
    latest = {"text": text, "intent": {"name": "nlu_fallback", "confidence": 0.3}, "entities": []}
    return Tracker("conv-ladder", {"language": language}, latest, [user], False, None, {}, "action_listen")


def run(kb_config, text, language="zh-Hans"):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionFallbackLadder(KnowledgeBase(kb_config)).run(dispatcher, fallback_tracker(text, language), {})
    )
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_a_question_nlu_could_not_place_is_still_answered_from_the_knowledge_base(built_kb, tmp_path):
    config = replace(built_kb, unanswered=replace(built_kb.unanswered, db_url=f"sqlite:///{tmp_path}/app.db"))
    messages, slots = run(config, "退款要幾天才會到帳")
    assert slots["faq_outcome"] == "answered"
    assert messages[0]["text"] == "退款在審核通過後1到3個工作天原路退回。"


def test_a_question_the_knowledge_base_does_not_know_climbs_the_ladder(built_kb, tmp_path):
    config = replace(built_kb, unanswered=replace(built_kb.unanswered, db_url=f"sqlite:///{tmp_path}/app.db"))
    messages, slots = run(config, "你们卖汽车吗")
    assert slots["faq_outcome"] == "no_answer"
    assert [m.get("response") for m in messages] == ["utter_ask_rephrase"]
