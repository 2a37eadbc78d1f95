"""The fallback ladder: ask to rephrase once, then offer a human.

When NLU is not confident (``nlu_fallback``) the knowledge base still gets a
say: its out-of-scope detection is calibrated separately, so a question NLU
could not place may still have a confident FAQ answer or a "did you mean…".
Only when it has neither is the turn a *miss*.

A *miss* is a user turn the bot could not serve: the knowledge base found no
answer (``faq_outcome`` is ``no_answer``), or NLU fell back and nothing else
answered. The ladder counts consecutive misses from the tracker's events, so
any turn that was served resets it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq, FaqReply, answer_turn
from knowledge_base.matcher import ANSWER, CLARIFY, NO_ANSWER

log = logging.getLogger(__name__)

MISS_INTENTS = frozenset({"nlu_fallback"})
#: After this many misses in a row the bot stops asking and offers a person.
OFFER_HUMAN_AFTER = 2


def _turns(events: Iterable[Dict[str, Any]]) -> List[List[Dict[str, Any]]]:
    """Split events into user turns: a user event and what followed it."""
    turns: List[List[Dict[str, Any]]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    return turns


def is_miss(turn: List[Dict[str, Any]]) -> bool:
    outcomes = [e.get("value") for e in turn[1:] if e.get("event") == "slot" and e.get("name") == "faq_outcome"]
    if outcomes and outcomes[-1] is not None:
        return outcomes[-1] == NO_ANSWER
    intent = ((turn[0].get("parse_data") or {}).get("intent") or {}).get("name")
    return intent in MISS_INTENTS


def consecutive_misses(events: Iterable[Dict[str, Any]]) -> int:
    """How many of the latest user turns in a row were misses."""
    count = 0
    for turn in reversed(_turns(events)):
        if not is_miss(turn):
            break
        count += 1
    return count


class ActionFallbackLadder(ActionAnswerFaq):
    """``nlu_fallback``: a confident FAQ answer if there is one, else the next rung."""

    def name(self) -> Text:
        return "action_fallback_ladder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        kb_reply = self.try_knowledge_base(tracker)
        if kb_reply is not None:
            return self.send(dispatcher, tracker, kb_reply)
        slots = [SlotSet("faq_outcome", NO_ANSWER), SlotSet("faq_candidates", [])]
        if consecutive_misses(tracker.events) >= OFFER_HUMAN_AFTER:
            dispatcher.utter_message(response="utter_offer_human")
            return [*slots, SlotSet("human_offered", True)]
        dispatcher.utter_message(response="utter_ask_rephrase")
        return slots

    def try_knowledge_base(self, tracker: Tracker) -> Optional[FaqReply]:
        """The knowledge base's answer or "did you mean…", or None when it has neither."""
        text = tracker.latest_message.get("text") or ""
        try:
            reply = answer_turn(self._knowledge_base(), text, tracker.get_slot("language"), None)
        except Exception:  # the ladder must work with a broken or missing index
            log.exception("fallback.kb_failed conversation_id=%s", tracker.sender_id)
            return None
        return reply if reply.outcome in (ANSWER, CLARIFY) else None
