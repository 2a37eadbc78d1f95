"""Conversation turns and misses, derived from a tracker's events (plain dicts).

A *turn* is one user message and everything that followed it until the next
one. A *miss* is a turn the bot could not serve: the knowledge base found no
answer (``faq_outcome`` is ``no_answer``), or NLU fell back (``nlu_fallback``)
and nothing answered. Both the fallback ladder and the escalation triggers
count misses here, so they always agree.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Optional, Sequence

MISS_INTENTS = frozenset({"nlu_fallback"})
NO_ANSWER = "no_answer"

Turn = List[Mapping[str, Any]]


def turns(events: Iterable[Mapping[str, Any]]) -> List[Turn]:
    """The user turns of the current session."""
    out: List[Turn] = []
    for event in events:
        if event.get("event") == "user":
            out.append([event])
        elif event.get("event") == "session_started":
            out = []
        elif out:
            out[-1].append(event)
    return out


def intent_of(event: Mapping[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def is_miss(turn: Sequence[Mapping[str, Any]]) -> bool:
    outcomes = [e.get("value") for e in turn[1:] if e.get("event") == "slot" and e.get("name") == "faq_outcome"]
    if outcomes and outcomes[-1] is not None:
        return outcomes[-1] == NO_ANSWER
    return intent_of(turn[0]) in MISS_INTENTS


def count_misses(user_turns: Sequence[Sequence[Mapping[str, Any]]]) -> int:
    """How many of the latest turns in a row were misses."""
    count = 0
    for turn in reversed(user_turns):
        if not is_miss(turn):
            break
        count += 1
    return count


def consecutive_misses(events: Iterable[Mapping[str, Any]]) -> int:
    return count_misses(turns(events))


def previous_turn(events: Iterable[Mapping[str, Any]]) -> Optional[Turn]:
    """The turn before the customer's latest message (its user event and what followed), or None."""
    user_turns = turns(events)
    return user_turns[-2] if len(user_turns) >= 2 else None
