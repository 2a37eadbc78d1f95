"""``action_while_waiting``: what the bot says to a message written while the customer waits for a person.

Rasa runs it (bot/waiting.py) for a paused conversation that no agent has taken up yet: in the queue, or outside
staffed hours while the ticket waits for the morning. A question the knowledge base answers with confidence gets the
answer (a shop question it is less sure of gets its "did you mean" choices, and a choice picked gets its answer),
and a note that the request still waits for a person; anything else gets an acknowledgement that the
message is with the team (outside staffed hours, with when the team is back: "明天 09:00 后"); "where is my quote"
gets the lead's status from the console (actions/presales/). It sets
no slots (the conversation belongs to the handoff) and never hands over again.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import CHOOSE_INTENT, ActionAnswerFaq, Message, answer_turn, chosen_entry
from actions.handoff import opening_text
from actions.presales.actions import say_quote_status
from actions.presales.signals import asks_quote_status
from kernel.i18n import text
from kernel.language import LANGUAGES, SIMPLIFIED
from kernel.questions import looks_like_a_question
from knowledge_base.serving.scoring import ANSWER, CLARIFY

log = logging.getLogger(__name__)

#: intents that say "this is a shop question", so that "did you mean" is worth showing to a waiting customer
QUESTION_INTENTS = frozenset({"ask_faq", CHOOSE_INTENT})


def opens_again(events: Sequence[Mapping[str, Any]], language: str, now: float) -> Optional[str]:
    """When the team is back ("明天 09:00 后"), if the customer's ticket was queued outside staffed hours; else None.
    Read from the queue notice the handoff sent (the widget's ``handoff_queued`` event)."""
    for event in reversed(events):
        if event.get("event") != "bot":
            continue
        custom = (event.get("data") or {}).get("custom") or {}
        queued = custom.get("kefu_event") if isinstance(custom, dict) else None
        if isinstance(queued, dict) and queued.get("type") == "handoff_queued":
            if queued.get("staffed") is not False or not queued.get("opens_at_local"):
                return None
            return opening_text(queued.get("opens_at"), queued.get("opens_at_local"), now, language) or None
    return None


class ActionWhileWaiting(ActionAnswerFaq):
    def name(self) -> str:
        return "action_while_waiting"

    def _answer(self, message_text: str, language_slot: Any, chosen: Optional[str],
                intent: Optional[str]) -> Tuple[List[Message], Optional[str]]:
        """The knowledge base's confident answer, the entry the customer picked, or, for what NLU read as a shop
        question, its "did you mean" choices (the customer already waits for a person: no offer of one); with the
        reply's language. ([], language or None) otherwise."""
        if (message_text.startswith("/") and chosen is None) or not message_text.strip():
            return [], None  # a button payload other than a "did you mean" choice: nothing to look up
        try:
            reply = answer_turn(self._knowledge_base(), message_text, language_slot, chosen)
        except Exception:  # the knowledge base failing must not cost the customer the acknowledgement
            log.exception("waiting.kb_failed")
            return [], None
        if reply.outcome == ANSWER:
            return [m for m in reply.messages if m.text], reply.language
        if reply.outcome == CLARIFY and (intent in QUESTION_INTENTS or looks_like_a_question(message_text)):
            # "趁等的时候问一下 发票可以开公司的吗", "while I wait - opening hours of your beijing stores?"
            return reply.messages[:1], reply.language
        return [], reply.language

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        message_text = tracker.latest_message.get("text") or ""
        language_slot = tracker.get_slot("language")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "quote_status" or asks_quote_status(message_text):  # "我的报价到哪一步了" while sales has it
            lang = language_slot if language_slot in LANGUAGES else SIMPLIFIED
            await say_quote_status(dispatcher, tracker.sender_id, lang)
            log.info("waiting.turn conversation_id=%s outcome=quote_status language=%s", tracker.sender_id, lang)
            return []
        answer, detected = self._answer(message_text, language_slot, chosen_entry(tracker), intent)
        lang = detected or (language_slot if language_slot in LANGUAGES else SIMPLIFIED)
        for message in answer:
            dispatcher.utter_message(text=message.text, buttons=message.buttons or None)
        opens = opens_again(tracker.events, lang, time.time())
        if answer:
            dispatcher.utter_message(text=text("msg_waiting_answered", lang))
        elif opens:  # outside staffed hours: say when somebody will read it ("what time do your agents start")
            dispatcher.utter_message(text=text("msg_waiting_ack_offhours", lang, opens=opens))
        else:
            dispatcher.utter_message(text=text("msg_waiting_ack", lang))
        log.info("waiting.turn conversation_id=%s outcome=%s language=%s", tracker.sender_id,
                 "answered" if answer else "acknowledged", lang)
        return []
