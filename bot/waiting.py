"""Never silent while the customer waits for a person.

After a handoff the conversation is paused (``ConversationPaused``) and Rasa stores the customer's messages
without answering: right while an agent works, but a customer who wrote "you can describe your issue in the
meantime" and then hears nothing for an hour, or all night outside staffed hours, is left alone.

``install()`` wraps :meth:`rasa.core.processor.MessageProcessor._run_prediction_loop`: when the conversation is
paused and **no agent has joined since the pause** (no ``agent_joined`` or ``agent_message`` event of the console
after the last ``pause``, or a ``transferred`` one after them), the custom action ``action_while_waiting`` runs for
the message: a confident knowledge-base answer (with a note that the request still waits for a person) or an
acknowledgement. Only its bot messages are sent and kept on the tracker (no ``ActionExecuted``, no slots), so the
dialogue history the policies see after the hand-back is the same as before, and the console attaches both the
customer's message and the bot's reply to the ticket: the agent sees both. Once an agent has joined, the bot is
silent again. ``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

logger = logging.getLogger("kefu.waiting")

WAITING_ACTION = "action_while_waiting"
#: console events (``data.custom.kefu_event.type``) that mean a person now answers
AGENT_PRESENT = frozenset({"agent_joined", "agent_message"})
#: console events after which the conversation waits for a person again
AGENT_GONE = frozenset({"transferred"})


def _kefu_event_type(event: Any) -> Optional[str]:
    data = getattr(event, "data", None)
    custom = data.get("custom") if isinstance(data, dict) else None
    kefu_event = custom.get("kefu_event") if isinstance(custom, dict) else None
    kind = kefu_event.get("type") if isinstance(kefu_event, dict) else None
    return kind if isinstance(kind, str) else None


def waiting_for_a_person(events: Iterable[Any], paused: bool) -> bool:
    """Whether the conversation is paused for a handoff that no agent has taken up yet."""
    if not paused:
        return False
    for event in reversed(list(events)):
        kind = type(event).__name__
        if kind == "ConversationPaused":
            return True
        if kind == "BotUttered":
            console_event = _kefu_event_type(event)
            if console_event in AGENT_PRESENT:
                return False
            if console_event in AGENT_GONE:
                return True
    return True


def _customer_wrote(tracker: Any) -> bool:
    message = tracker.latest_message
    if message is None or not (message.text or "").strip():
        return False
    intent = (message.intent or {}).get("name")
    return intent != "restart"


def install() -> None:
    """Wrap MessageProcessor._run_prediction_loop (idempotent)."""
    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import BotUttered

    if getattr(MessageProcessor._run_prediction_loop, "_kefu_waiting", False):
        return
    original = MessageProcessor._run_prediction_loop

    async def _run_prediction_loop(self: Any, output_channel: Any, tracker: Any) -> None:
        if not (_customer_wrote(tracker) and waiting_for_a_person(tracker.events, tracker.is_paused())):
            return await original(self, output_channel, tracker)
        action = action_for_name_or_text(WAITING_ACTION, self.domain, self.action_endpoint)
        try:
            events = await action.run(output_channel, self.nlg, tracker, self.domain)
        except Exception:  # noqa: BLE001 - the action server down: the message still waits for the person
            logger.exception("waiting.reply_failed conversation_id=%s", tracker.sender_id)
            return None
        replies = [event for event in events if isinstance(event, BotUttered)]
        await self._send_bot_messages(replies, tracker, output_channel)
        for event in replies:
            tracker.update(event)
        logger.info("waiting.replied conversation_id=%s messages=%d", tracker.sender_id, len(replies))
        return None

    _run_prediction_loop._kefu_waiting = True  # type: ignore[attr-defined]
    MessageProcessor._run_prediction_loop = _run_prediction_loop  # type: ignore[method-assign]
