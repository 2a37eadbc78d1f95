"""A shop question inside a form is answered, and the form goes on (issue 25, "Interruptions").

While the bot waits for an order number, the phone digits, a product version or a city, a customer may ask
something else first: "等下 先问一句 你们能开增值税专票吗", "what time do your stores close". The forms' validation
calls :func:`answer_aside` when the message holds no value for the slot they asked for: when the knowledge base
answers it, or, for what reads as a question, offers "did you mean" or says honestly it has no answer, that is said,
then a line that says the form goes on (and how to leave it); the form asks its question again. Anything else is
left to the form's own "that is not a valid value" reply.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq, answer_turn, chosen_entry
from kernel.i18n import text
from kernel.questions import looks_like_a_question
from knowledge_base.serving.runtime import shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER

log = logging.getLogger(__name__)

def asks(message: str) -> bool:
    """A question, whatever NLU read: "门店自提收钱不", "how much is shipping to chengdu btw" (not "' OR 1=1 --")."""
    return looks_like_a_question(message)


def answer_aside(dispatcher: CollectingDispatcher, tracker: Tracker, resume_key: str,
                 sure_only: bool = False) -> Optional[Dict[str, Any]]:
    """Answer a shop question asked inside a form; the FAQ slots to set, or None when it was no such question.
    ``sure_only``: only a sure answer counts (the message may also be a value for the form: "silver members…")."""
    latest = tracker.latest_message or {}
    message = latest.get("text") or ""
    chosen = chosen_entry(tracker)
    intent = (latest.get("intent") or {}).get("name")
    if not message.strip() or (message.startswith("/") and chosen is None):
        return None
    try:
        kb = shared_knowledge_base()
        reply = answer_turn(kb, message, tracker.get_slot("language"), chosen)
    except Exception:  # a broken index must not break the form: the form's own reply follows
        log.exception("interruption.kb_failed conversation_id=%s", tracker.sender_id)
        return None
    # a sure answer; or, for what reads as a question, its "did you mean" or its honest "I don't know" ("先問一下 退款
    #會退回哪裡？" is no failed phone check, "how much is shipping to chengdu btw" no failed version)
    question = intent == "ask_faq" or asks(message)
    if not (reply.outcome == ANSWER or (not sure_only and reply.outcome in (CLARIFY, NO_ANSWER) and question)):
        return None  # the knowledge base has nothing sure, and it is no question: the form's own reply
    events = ActionAnswerFaq(kb).send(dispatcher, tracker, reply, record=chosen is None)
    dispatcher.utter_message(text=text(resume_key, reply.language))
    log.info("interruption.answered conversation_id=%s outcome=%s", tracker.sender_id, reply.outcome)
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
