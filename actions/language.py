"""Keep the conversation's language and script in the ``language`` slot.

The Rasa server works this out itself on every message (``bot.local_language``, the same
``kernel.language.conversation_language``); this action is what the slot's custom mapping names, and what a Rasa
server without that patch (``KEFU_RUNTIME_BASELINE=1``) calls.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kernel.language import conversation_language, language_after

__all__ = ["ActionDetectLanguage", "language_after"]


class ActionDetectLanguage(Action):
    """Custom slot mapping of ``language``: runs after every user message."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        latest = tracker.latest_message or {}
        wrote_before = any(e.get("event") == "user" for e in _before_latest(tracker.events))
        language = conversation_language(latest.get("text"), latest.get("metadata"), tracker.get_slot("language"),
                                         wrote_before)
        return [SlotSet("language", language)]


def _before_latest(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The session's events before the latest user message."""
    out: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            out = []
        out.append(event)
    last = max((i for i, e in enumerate(out) if e.get("event") == "user"), default=len(out))
    return out[:last]
