"""The fallback ladder: ask to rephrase once, then offer a human.

A *miss* is a user turn the bot could not serve: NLU fell back
(``nlu_fallback``), or the knowledge base found no answer (the FAQ action sets
``faq_outcome`` to ``no_answer``).  The ladder counts consecutive misses from
the tracker's events, so any turn that was served resets it.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

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
    user = turn[0]
    intent = ((user.get("parse_data") or {}).get("intent") or {}).get("name")
    if intent in MISS_INTENTS:
        return True
    return any(
        e.get("event") == "slot" and e.get("name") == "faq_outcome" and e.get("value") == "no_answer"
        for e in turn[1:]
    )


def consecutive_misses(events: Iterable[Dict[str, Any]]) -> int:
    """How many of the latest user turns in a row were misses."""
    count = 0
    for turn in reversed(_turns(events)):
        if not is_miss(turn):
            break
        count += 1
    return count


class ActionFallbackLadder(Action):
    def name(self) -> Text:
        return "action_fallback_ladder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        misses = consecutive_misses(tracker.events)
        if misses >= OFFER_HUMAN_AFTER:
            dispatcher.utter_message(response="utter_offer_human")
            return [SlotSet("human_offered", True)]
        dispatcher.utter_message(response="utter_ask_rephrase")
        return []
