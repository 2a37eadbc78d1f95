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
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import asks_for_a_person, auto_escalation
from actions.faq import ActionAnswerFaq, FaqReply, answer_turn, follow_up_context
from actions.presales.signals import asks_for_a_quote
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER

log = logging.getLogger(__name__)

# When the bot stops asking and offers (or hands over to) a person is configured in
# actions/escalation.yml: repeated misses, strongly negative sentiment, a locked identity check.
class ActionFallbackLadder(ActionAnswerFaq):
    """``nlu_fallback``: a confident FAQ answer if there is one, else the next rung."""

    def name(self) -> str:
        return "action_fallback_ladder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        if asks_for_a_person(tracker.latest_message.get("text")):
            return [FollowupAction("action_handoff")]
        if asks_for_a_quote(tracker.latest_message.get("text") or ""):  # a quote request NLU was unsure of
            return [FollowupAction("action_presales_route")]
        decision = auto_escalation(tracker.events, tracker.current_slot_values())
        if decision is not None and decision.mode == "escalate" and decision.reason == "negative_sentiment":
            # An angry customer gets a person, not a "did you mean…".
            return [FollowupAction("action_handoff")]
        kb_reply = self.try_knowledge_base(tracker)
        if kb_reply is not None:
            return self.send(dispatcher, tracker, kb_reply)
        slots = [SlotSet("faq_outcome", NO_ANSWER), SlotSet("faq_candidates", [])]
        if decision is not None and decision.mode == "escalate":
            return [*slots, FollowupAction("action_handoff")]
        if decision is not None:
            dispatcher.utter_message(response="utter_offer_human")
            return [*slots, SlotSet("human_offered", True)]
        dispatcher.utter_message(response="utter_ask_rephrase")
        return slots

    def try_knowledge_base(self, tracker: Tracker) -> Optional[FaqReply]:
        """The knowledge base's answer or "did you mean…", or None when it has neither."""
        text = tracker.latest_message.get("text") or ""
        try:
            reply = answer_turn(self._knowledge_base(), text, tracker.get_slot("language"), None,
                                follow_up_context(tracker.events))
        except Exception:  # the ladder must work with a broken or missing index
            log.exception("fallback.kb_failed conversation_id=%s", tracker.sender_id)
            return None
        return reply if reply.outcome in (ANSWER, CLARIFY) else None
