"""bot.rule_window and bot.sure_rules: the policies' shortcuts give the predictions Rasa's own code gives.

- ``rule_window.past_states``, kept on the tracker and extended with new events, equals Rasa's
  ``tracker.past_states(domain)`` after every event of conversations that revert, restart, start sessions and run
  forms (the events that make Rasa rewrite the past);
- with the trained model (``models/kefu.tar.gz``), every step of the end-to-end test stories (``bot/tests``) gets
  the same prediction (action, policy, events) with both shortcuts as without them, and the shortcuts did work:
  TED and Memoization were skipped, RulePolicy read a window.
"""

from __future__ import annotations

import copy
from typing import Any, List, Tuple

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rule_window, sure_rules
from kernel.settings import ROOT

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

MODEL = ROOT / "models" / "kefu.tar.gz"

DOMAIN = Domain.from_dict({
    "intents": ["greet", "order_status", "inform", "faq"],
    "entities": ["order_id"],
    "slots": {
        "order_id": {"type": "text", "mappings": [{"type": "from_entity", "entity": "order_id"}]},
        "language": {"type": "categorical", "values": ["zh-Hans", "en"], "mappings": []},
    },
    "actions": ["action_answer_faq", "utter_greet"],
    "forms": {"order_form": {"required_slots": ["order_id"]}},
})


def _user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9})


def _listen() -> ActionExecuted:
    return ActionExecuted("action_listen")


def conversation() -> List[Any]:
    """A conversation with everything that makes Rasa's history rewrite itself."""
    return [
        ActionExecuted("action_session_start"), SessionStarted(), _listen(),
        _user("你好", "greet"), ActionExecuted("utter_greet"), BotUttered("您好"), _listen(),
        _user("退款多久到账", "faq"), ActionExecuted("action_answer_faq"), SlotSet("language", "zh-Hans"), _listen(),
        _user("查订单", "order_status"), ActionExecuted("order_form"), ActiveLoop("order_form"), _listen(),
        _user("KF1", "inform"), ActionExecuted("order_form"), SlotSet("order_id", "KF1"), ActiveLoop(None),
        _listen(),
        _user("不对", "inform"), UserUtteranceReverted(),
        _user("退款多久到账", "faq"), ActionExecuted("action_answer_faq"), ActionReverted(),
        ActionExecuted("action_answer_faq"), _listen(),
        _user("查另一个订单", "order_status"), ActionExecuted("order_form"), ActiveLoop("order_form"), _listen(),
        Restarted(), _listen(), _user("hi", "greet"), ActionExecuted("utter_greet"), _listen(),
        ActionExecuted("action_session_start"), SessionStarted(), _listen(), _user("在吗", "greet"),
    ]


def test_kept_states_equal_rasas_after_every_event() -> None:
    tracker = DialogueStateTracker("s1", DOMAIN.slots)
    incremental = 0
    for event in conversation():
        tracker.update(event)
        before = tracker.__dict__.get("_kefu_rule_states")
        kept_from = before.consumed if before is not None else 0
        ours = copy.deepcopy(rule_window.past_states(tracker, DOMAIN))
        assert ours == tracker.past_states(DOMAIN), f"after {event}"
        after = tracker.__dict__["_kefu_rule_states"]
        incremental += after is before and kept_from > 0
    assert incremental > 10, "the states were worked out from the start every time"


def test_states_of_another_tracker_or_domain_are_not_used() -> None:
    tracker = DialogueStateTracker("s2", DOMAIN.slots)
    for event in conversation()[:11]:
        tracker.update(event)
    rule_window.past_states(tracker, DOMAIN)
    other = DialogueStateTracker.from_events("s2", list(tracker.events)[:7], DOMAIN.slots)
    other.__dict__["_kefu_rule_states"] = tracker.__dict__["_kefu_rule_states"]  # not its own events
    assert rule_window.past_states(other, DOMAIN) == other.past_states(DOMAIN)
    domain = Domain.from_dict({"intents": ["greet", "faq", "order_status", "inform"], "slots": {}})
    assert rule_window.past_states(tracker, domain) == tracker.past_states(domain)


# -- with the trained model -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def agent() -> Any:
    if not MODEL.exists():
        pytest.skip(f"no trained Rasa model at {MODEL}: run `make model` (make test does)")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


def story_steps(agent: Any) -> List[Tuple[str, DialogueStateTracker]]:
    """Every prediction point of the end-to-end test stories: (story, tracker up to that action)."""
    from rasa.core.test import _create_data_generator

    generator = _create_data_generator(str(ROOT / "bot" / "tests"), agent, use_conversation_test_files=True)
    steps = []
    for story in generator.generate_story_trackers():
        partial = DialogueStateTracker(story.sender_id, agent.domain.slots)
        for event in story.applied_events():
            if isinstance(event, ActionExecuted) and len(partial.events):
                steps.append((story.sender_id, partial.copy()))
            partial.update(event)
    return steps


def _predict(agent: Any, tracker: DialogueStateTracker) -> Tuple[str, str, float, List[Any]]:
    prediction = agent.processor._predict_next_with_tracker(tracker)
    action = agent.domain.action_names_or_texts[prediction.max_confidence_index]
    events = [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in prediction.events]
    return action, prediction.policy_name, round(prediction.max_confidence, 6), events


def test_the_stories_get_the_same_predictions_with_the_shortcuts(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner

    steps = story_steps(agent)
    assert len(steps) > 100, "the test stories were not read"

    # Rasa's own code
    monkeypatch.setattr(DaskGraphRunner, "_build_dask_graph", sure_rules._installed or DaskGraphRunner._build_dask_graph)
    monkeypatch.setattr(RulePolicy, "_prediction_states", rule_window._installed or RulePolicy._prediction_states)
    expected = [_predict(agent, copy.deepcopy(tracker)) for _, tracker in steps]
    monkeypatch.undo()

    sure_rules.install()
    rule_window.install()
    skipped_before = sure_rules.AskedUnlessRuleIsSure.skipped
    got = [_predict(agent, tracker) for _, tracker in steps]
    differing = [(story, e, g) for (story, _), e, g in zip(steps, expected, got, strict=True) if e != g]
    assert not differing, differing[:5]
    assert sure_rules.AskedUnlessRuleIsSure.skipped - skipped_before > len(steps), "TED and Memoization always ran"
    assert any("_kefu_rule_states" in tracker.__dict__ for _, tracker in steps), "RulePolicy read no window"
