"""RulePolicy reads the last turns of a conversation, not all of it, and does not work out the older ones again.

Every prediction, RulePolicy turns the whole conversation into "states" (one per action: slots, loop, the last user
message and action; ``Domain.states_for_tracker_history``, which replays every event of the session on a copy of
the tracker), formats and deep-copies all of them for a debug log, and matches its rules against them (twice, with
the user's text and with the intent). On a 50-turn conversation that was most of what grew in the policies' cost
(18 → 33 ms a turn; docs/results/turn-profile.md, issue 24), yet a rule only ever looks at as many states, counted
from the end, as it is long:

- ``RulePolicy._get_possible_keys`` walks the states from the end; a rule of length *L* is decided by the last *L*
  states (past them ``_is_rule_applicable`` returns ``True``), and a ``conversation_start`` rule by whether the state
  at its first position has a previous action, which the same state answers in the whole list and in the window.
So the last *K* states, *K* the length of the longest rule (both lookups), give the same predictions. That is what
``install()`` hands RulePolicy (``_prediction_states``), after the same steps its featurizer takes
(``MaxHistoryTrackerFeaturizer.prediction_states`` with no max history: the user's text or intent chosen for the
last state, text dropped where an intent is present).

The states themselves are kept on the tracker between predictions (:class:`History`): the states of the actions
already seen do not change when events are appended, so only the new events are replayed, unless one of them
rewrites the past as Rasa reads it (``Tracker.applied_events``): a restart, a new session, a reverted action or
user message, a form or loop action running again (its earlier runs are dropped), a loop not seen before. Then
the states are worked out from the start, as Rasa does. With ``bot.tracker_save`` keeping the tracker of a
conversation between turns, this makes RulePolicy's cost flat as the conversation grows.

Anything else (a featurizer with a max history, a policy other than RulePolicy) goes to Rasa's own method.
``KEFU_RULE_WINDOW_CHECK=1`` computes Rasa's states too and logs ``rule_window.differs`` when the window is not
their end (the end-to-end tests run with it). ``bot.server`` installs this before starting Rasa;
``KEFU_RUNTIME_BASELINE=1`` leaves it out (bot/runtime.py).
"""

from __future__ import annotations

import copy
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

logger = logging.getLogger(__name__)

_installed: Optional[Any] = None

_ATTRIBUTE = "_kefu_rule_states"


def checking() -> bool:
    return os.environ.get("KEFU_RULE_WINDOW_CHECK", "").strip() not in ("", "0")


@dataclass
class History:
    """The states of a tracker's actions so far, and the copy of the tracker replayed up to its last event."""

    domain: Any
    consumed: int  # events of the tracker replayed
    last_event: Any  # the last of them (the same object, or the history is not this tracker's)
    replay: Any
    states: List[Dict[str, Any]] = field(default_factory=list)  # one per action, before it ran
    loops: Set[str] = field(default_factory=set)


def loop_names(events: Any) -> Set[str]:
    from rasa.shared.core.events import ActiveLoop

    return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}


def rewrites_the_past(event: Any, loops: Set[str]) -> bool:
    """Whether ``Tracker.applied_events`` would drop or undo earlier events because of ``event``."""
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
    )

    if isinstance(event, (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted)):
        return True
    if isinstance(event, ActiveLoop):
        return bool(event.name) and event.name not in loops
    return isinstance(event, ActionExecuted) and event.action_name in loops


def _state(domain: Any, tracker: Any) -> Dict[str, Any]:
    return domain._clean_state(domain.get_active_state(tracker, omit_unset_slots=False))


def _replay(history: History, events: List[Any]) -> None:
    from rasa.shared.core.events import ActionExecuted

    for event in events:
        if isinstance(event, ActionExecuted):
            history.states.append(_state(history.domain, history.replay))
        history.replay.update(event)


def past_states(tracker: Any, domain: Any) -> List[Dict[str, Any]]:
    """``tracker.past_states(domain)`` (no slot omitted, no rule-only turn ignored), from the states kept on the
    tracker plus its new events. The states returned are shared with the next call: copy before changing one."""
    events = tracker.events
    history: Optional[History] = tracker.__dict__.get(_ATTRIBUTE)
    new: Optional[List[Any]] = None
    if (
        history is not None
        and history.domain is domain
        and 0 < history.consumed <= len(events)
        and events[history.consumed - 1] is history.last_event
    ):
        new = list(itertools.islice(events, history.consumed, None))
        if any(rewrites_the_past(event, history.loops) for event in new):
            new = None
    if new is None:
        history = History(domain, 0, None, tracker.init_copy(), [], loop_names(events))
        new = tracker.applied_events()
    _replay(history, new)
    if len(events):
        history.consumed, history.last_event = len(events), events[-1]
        tracker.__dict__[_ATTRIBUTE] = history
    return history.states + [_state(domain, history.replay)]


def window(policy: Any) -> int:
    """The length of the policy's longest rule, in states."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH

    lengths = [len(policy._rule_key_to_state(key))
               for lookup in (RULES, RULES_FOR_LOOP_UNHAPPY_PATH) for key in policy.lookup.get(lookup, {})]
    return max(lengths, default=1)


def applies(policy: Any) -> bool:
    from rasa.core.featurizers.tracker_featurizers import MaxHistoryTrackerFeaturizer
    from rasa.core.policies.rule_policy import RulePolicy

    featurizer = getattr(policy, "featurizer", None)
    return (isinstance(policy, RulePolicy) and type(featurizer) is MaxHistoryTrackerFeaturizer
            and featurizer.max_history is None)


def install() -> None:
    """Give RulePolicy its own ``_prediction_states`` (idempotent)."""
    global _installed
    from rasa.core.policies.rule_policy import RulePolicy

    if _installed is not None:
        return
    original = RulePolicy._prediction_states

    def _prediction_states(self: Any, tracker: Any, domain: Any, use_text_for_last_user_input: bool = False,
                           rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        if not applies(self):
            return original(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
        size = self.__dict__.get("_kefu_window") or self.__dict__.setdefault("_kefu_window", window(self))
        states = copy.deepcopy(past_states(tracker, domain)[-size:])
        self.featurizer._choose_last_user_input([states], use_text_for_last_user_input)
        if checking():
            full = original(self, tracker, domain, use_text_for_last_user_input, rule_only_data)
            if full[-size:] != states:
                logger.error("rule_window.differs conversation_id=%s", tracker.sender_id)
                return full
        return states

    _prediction_states.__doc__ = original.__doc__
    RulePolicy._prediction_states = _prediction_states  # type: ignore[method-assign]
    _installed = original
