"""The FAQ and handoff counters, recorded where the actions know the outcome; and the executor's timing."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import metrics
from actions.faq import ActionAnswerFaq, FaqReply, Message
from actions.handoff import ActionHandoff
from actions.server import InstrumentedExecutor
from knowledge_base.serving.runtime import KnowledgeBaseUnavailable
from tests.actions.handoff.events import user
from tests.console.process import Console
from tests.harness import free_port


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def tracker(sender: str, text: str, intent: str, slots: Optional[Dict[str, Any]] = None,
            events: Optional[List[Dict[str, Any]]] = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
    return Tracker(sender, {"language": "zh-Hans", "faq_outcome": None, "faq_candidates": None, **(slots or {})},
                   message, events if events is not None else [user(text, intent)], False, None, {},
                   "action_listen")


# --------------------------------------------------------------------------
# FAQ outcomes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("outcome,language", [("answered", "en"), ("clarify", "zh-Hant"), ("no_answer", "zh-Hans")])
def test_each_faq_outcome_is_counted_once(outcome: str, language: str) -> None:
    before = value("kefu_faq_outcomes_total", outcome=outcome, language=language)
    reply = FaqReply(outcome, language, [Message("text")], [], record=False)
    events = ActionAnswerFaq().send(CollectingDispatcher(), tracker("faq-1", "q", "ask_faq"), reply)
    assert {"event": "slot", "name": "faq_outcome", "value": outcome, "timestamp": None} in events
    assert value("kefu_faq_outcomes_total", outcome=outcome, language=language) == before + 1


class DownKnowledgeBase:
    def matcher(self) -> Any:
        raise KnowledgeBaseUnavailable("no index built")


def test_knowledge_base_down_counts_as_no_answer() -> None:
    before = value("kefu_faq_outcomes_total", outcome="no_answer", language="zh-Hans")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerFaq(kb=DownKnowledgeBase()).run(dispatcher, tracker("faq-2", "退货政策", "ask_faq"), {}))
    assert dispatcher.messages  # the customer still hears something
    assert value("kefu_faq_outcomes_total", outcome="no_answer", language="zh-Hans") == before + 1


def test_unexpected_labels_are_folded_into_other() -> None:
    before = value("kefu_faq_outcomes_total", outcome="other", language="other")
    metrics.record_faq_outcome("'; DROP TABLE x; --", "klingon")
    metrics.record_handoff("<img src=x>", console_reached=True)
    assert value("kefu_faq_outcomes_total", outcome="other", language="other") == before + 1
    assert value("kefu_handoffs_requested_total", reason="other", console="ok") >= 1


# --------------------------------------------------------------------------
# handoffs
# --------------------------------------------------------------------------


def test_handoff_with_the_console_down_is_counted_as_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_CONSOLE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", "unused")
    before = value("kefu_handoffs_requested_total", reason="complaint", console="down")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandoff().run(dispatcher, tracker("ho-down", "我要投诉", "complain"), {}))
    assert value("kefu_handoffs_requested_total", reason="complaint", console="down") == before + 1


def test_handoff_reaching_the_console_is_counted_by_reason(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)
    before = value("kefu_handoffs_requested_total", reason="explicit_request", console="ok")
    asyncio.run(ActionHandoff().run(CollectingDispatcher(), tracker("ho-ok", "转人工", "human_handoff"), {}))
    assert value("kefu_handoffs_requested_total", reason="explicit_request", console="ok") == before + 1


# --------------------------------------------------------------------------
# the executor
# --------------------------------------------------------------------------


class Slow(Action):
    def name(self) -> str:
        return "action_metrics_slow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict]:
        from kernel.logs import current_conversation

        dispatcher.utter_message(text=f"conversation={current_conversation()}")
        await asyncio.sleep(0.01)
        return []


def test_executor_times_runs_and_restores_the_conversation_id() -> None:
    executor = InstrumentedExecutor()
    executor.register_action(Slow())
    before = value("kefu_action_duration_seconds_count", action="action_metrics_slow")
    call = {"next_action": "action_metrics_slow", "domain": {},
            "tracker": {"sender_id": "exec-1", "slots": {}, "events": [], "latest_message": {}}}

    async def scenario() -> List[Any]:
        results = await asyncio.gather(*[executor.run(dict(call, tracker={**call["tracker"], "sender_id": f"exec-{i}"}))
                                         for i in range(3)])
        from kernel.logs import current_conversation

        return [r.model_dump()["responses"][0]["text"] for r in results] + [current_conversation()]

    texts = asyncio.run(scenario())
    assert texts == ["conversation=exec-0", "conversation=exec-1", "conversation=exec-2", None]
    assert value("kefu_action_duration_seconds_count", action="action_metrics_slow") == before + 3
    assert value("kefu_action_duration_seconds_sum", action="action_metrics_slow") > 0
    assert value("kefu_actions_in_progress") == 0
