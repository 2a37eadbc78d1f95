"""bot.local_language: the language slot worked out in the Rasa process equals what the action server's
``action_detect_language`` returns for the same conversation, and no call reaches the action server for it."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa.core.actions.action import ActionExtractSlots
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage
from bot import local_language

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

DOMAIN = Domain.from_dict({
    "intents": ["greet"],
    "slots": {"language": {"type": "categorical", "values": ["zh-Hans", "zh-Hant", "en"],
                           "initial_value": "zh-Hans", "influence_conversation": False,
                           "mappings": [{"type": "custom", "action": "action_detect_language"}]}},
    "actions": ["action_detect_language"],
})

#: (text, metadata) sent one after another in one conversation; a None text starts a new session
MESSAGES: List[Optional[tuple]] = [
    ("KF20261120001", {"language": "en-GB"}),  # first message, no language of its own: the locale decides
    ("你好", {"language": "en-GB"}),  # Chinese without a script after English: Simplified
    ("請問營業時間", None),
    ("好的", None),
    ("/human_handoff", None),
    ("reply in english pls", None),
    ("ok", {"language": "zh-TW"}),  # not the first message: the hint no longer decides
    None,
    ("12345", {"language": "zh-TW"}),  # first of the new session: the locale decides again
    ("可以用英文吗", None),
    ("", None),
]


def _server_answer(tracker: DialogueStateTracker) -> List[Dict[str, Any]]:
    """What the action server's action returns for this tracker, as Rasa would send it."""
    sdk_tracker = Tracker.from_dict(tracker.current_state(EventVerbosity.ALL))
    return asyncio.run(ActionDetectLanguage().run(CollectingDispatcher(), sdk_tracker, {}))


def test_the_same_slot_as_the_action_server_on_every_message() -> None:
    tracker = DialogueStateTracker("l1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    answers = []
    for message in MESSAGES:
        if message is None:
            tracker.update(ActionExecuted("action_session_start"))
            tracker.update(SessionStarted())
            tracker.update(SlotSet("language", tracker.get_slot("language")))  # carried over
            continue
        text, metadata = message
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}, metadata=metadata))
        local = local_language.slot_events(tracker)
        server = _server_answer(tracker)
        assert [(e.key, e.value) for e in local] == [(e["name"], e["value"]) for e in server], text
        tracker.update(local[0])
        answers.append(local[0].value)
    assert answers == ["en", "zh-Hans", "zh-Hant", "zh-Hant", "zh-Hant", "en", "en", "zh-Hant", "en", "en"]


def test_no_action_server_call_for_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    local_language.install()
    calls: List[str] = []

    async def remote(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        calls.append(self.name())
        return []

    monkeypatch.setattr("rasa.core.actions.action.RemoteAction.run", remote)
    tracker = DialogueStateTracker("l2", DOMAIN.slots)
    tracker.update(UserUttered("hello there", {"name": "greet", "confidence": 1.0}))
    events = asyncio.run(ActionExtractSlots(None).run(None, None, tracker, DOMAIN))
    assert [(e.key, e.value) for e in events if isinstance(e, SlotSet)] == [("language", "en")]
    assert calls == []
    # any other custom action still goes to the action server
    asyncio.run(ActionExtractSlots(None)._run_custom_action("action_other", None, None, tracker, DOMAIN))
    assert calls == ["action_other"]
