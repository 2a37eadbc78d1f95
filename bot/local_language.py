"""The ``language`` slot is worked out in the Rasa process, not by a call to the action server.

The slot's custom mapping names ``action_detect_language``, so Rasa's ``action_extract_slots`` called the action
server after every customer message: the whole conversation and domain as JSON there and back, parsed on both sides,
for a decision that reads four things (the message's text, the client's locale hint in its metadata, the slot's
value, whether the customer wrote earlier in this session) and is pure code of ``kernel.language``. That call was one
of a turn's two action-server round trips (docs/results/turn-profile.md, issue 24).

``install()`` wraps ``ActionExtractSlots._run_custom_action``: for ``action_detect_language`` it returns the
``SlotSet`` that ``actions.language.ActionDetectLanguage`` returns, from the same
``kernel.language.conversation_language``; every other custom action goes to the action server as before.
``tests/bot/test_local_language.py`` compares the two on the same conversations.

``bot.server`` installs this before starting Rasa; ``KEFU_RUNTIME_BASELINE=1`` leaves it out (bot/runtime.py).
"""

from __future__ import annotations

from typing import Any, List, Optional

ACTION = "action_detect_language"

_installed: Optional[Any] = None


def wrote_before(events: Any) -> bool:
    """Whether the session has a customer message before the latest one (read from the end, up to the session's
    start: as many events as the session has since its previous customer message)."""
    from rasa.shared.core.events import SessionStarted, UserUttered

    seen_latest = False
    for event in reversed(events):
        if isinstance(event, SessionStarted):
            return False
        if isinstance(event, UserUttered):
            if seen_latest:
                return True
            seen_latest = True
    return False


def slot_events(tracker: Any) -> List[Any]:
    from rasa.shared.core.events import SlotSet

    from kernel.language import conversation_language

    latest = tracker.latest_message
    text = latest.text if latest is not None else None
    metadata = latest.metadata if latest is not None else None
    language = conversation_language(text, metadata, tracker.get_slot("language"), wrote_before(tracker.events))
    return [SlotSet("language", language)]


def install() -> None:
    """Wrap ActionExtractSlots._run_custom_action (idempotent)."""
    global _installed
    from rasa.core.actions.action import ActionExtractSlots

    if _installed is not None:
        return
    original = ActionExtractSlots._run_custom_action

    async def _run_custom_action(self: Any, custom_action: str, output_channel: Any, nlg: Any, tracker: Any,
                                 domain: Any) -> List[Any]:
        if custom_action == ACTION:
            return slot_events(tracker)
        return await original(self, custom_action, output_channel, nlg, tracker, domain)

    _run_custom_action.__doc__ = original.__doc__
    ActionExtractSlots._run_custom_action = _run_custom_action  # type: ignore[method-assign]
    _installed = original
