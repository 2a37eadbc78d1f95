"""``action_while_waiting``: what the bot says to a message written while the customer waits for a person.

Rasa runs it (bot/waiting.py) for a paused conversation that no agent has taken up yet: in the queue, or outside
staffed hours while the ticket waits for the morning. A question the knowledge base answers with confidence gets the
answer, and a note that the request still waits for a person; anything else gets an acknowledgement that the
message is with the team; "where is my quote" gets the lead's status from the console (actions/presales/). It sets
no slots (the conversation belongs to the handoff) and never hands over again.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq, answer_turn
from actions.presales.actions import say_quote_status
from actions.presales.signals import asks_quote_status
from kernel.i18n import text
from kernel.language import LANGUAGES, SIMPLIFIED
from knowledge_base.serving.scoring import ANSWER

log = logging.getLogger(__name__)


class ActionWhileWaiting(ActionAnswerFaq):
    def name(self) -> str:
        return "action_while_waiting"

    def _answer(self, message_text: str, language_slot: Any) -> Tuple[Optional[List[str]], Optional[str]]:
        """The knowledge base's confident answer (texts, language), or (None, language or None)."""
        if message_text.startswith("/") or not message_text.strip():  # a button payload: nothing to look up
            return None, None
        try:
            reply = answer_turn(self._knowledge_base(), message_text, language_slot, None)
        except Exception:  # the knowledge base failing must not cost the customer the acknowledgement
            log.exception("waiting.kb_failed")
            return None, None
        if reply.outcome != ANSWER:
            return None, reply.language
        return [m.text for m in reply.messages if m.text], reply.language

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
        answer, detected = self._answer(message_text, language_slot)
        lang = detected or (language_slot if language_slot in LANGUAGES else SIMPLIFIED)
        for line in answer or []:
            dispatcher.utter_message(text=line)
        dispatcher.utter_message(text=text("msg_waiting_answered" if answer else "msg_waiting_ack", lang))
        log.info("waiting.turn conversation_id=%s outcome=%s language=%s", tracker.sender_id,
                 "answered" if answer else "acknowledged", lang)
        return []
