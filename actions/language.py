"""Keep the conversation's language and script in the ``language`` slot."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kernel.language import detect, language_of_locale, requested_language, resolve


def language_after(text: Optional[str], previous: Optional[str], hint: Optional[str] = None) -> str:
    """The language the bot should answer in after the customer said ``text``.

    Button payloads such as ``/human_handoff`` carry no language and keep it. A request for a language ("reply in
    chinese pls", "可以用英文吗") switches to that language, whatever the request itself is written in. ``hint`` is
    the language the client says its user reads (the widget sends it): it decides only a first message with no
    language of its own, such as a bare order number.
    """
    previous = previous or hint
    if not text or text.startswith("/"):
        return resolve(None, previous)
    asked = requested_language(text)  # "sorry can you say that in English?", "reply in chinese pls"
    if asked is not None:
        return asked
    return resolve(detect(text).language, previous)


class ActionDetectLanguage(Action):
    """Custom slot mapping of ``language``: runs after every user message."""

    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        latest = tracker.latest_message or {}
        metadata = latest.get("metadata")
        hint = language_of_locale(metadata.get("language")) if isinstance(metadata, dict) else None
        previous = tracker.get_slot("language")
        if hint and not any(e.get("event") == "user" for e in _before_latest(tracker.events)):
            previous = None  # the slot's initial value (zh-Hans) is nobody's choice: the widget's locale decides
        return [SlotSet("language", language_after(latest.get("text"), previous, hint))]


def _before_latest(events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The session's events before the latest user message."""
    out: List[Dict[str, Any]] = []
    for event in events:
        if event.get("event") == "session_started":
            out = []
        out.append(event)
    last = max((i for i, e in enumerate(out) if e.get("event") == "user"), default=len(out))
    return out[:last]
