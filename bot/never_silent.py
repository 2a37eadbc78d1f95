"""The bot never leaves a customer's message without an answer.

Some messages end a turn with no bot message at all: "北京门店地址" or "shenzhen store address
pls" are read as a bare ``inform`` (a slot value) outside any form, and the policies predict
``action_listen`` straight away. The load harness saw this on about 0.6% of FAQ turns. A rule
cannot fix it (``inform`` with an order number has its own rule, and Rasa's rules cannot say
"without entities").

``install()`` wraps :meth:`rasa.core.processor.MessageProcessor._run_action`: when the policies
want to listen although nothing has been said to the customer's latest message, and no person
owns the conversation and no form is active, ``action_fallback_ladder`` runs first (keyword and
sentiment escalation, then the knowledge base, then "please rephrase" / the offer of a person).
Once per message. ``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

logger = logging.getLogger("kefu.never_silent")

FALLBACK_ACTION = "action_fallback_ladder"
LISTEN = "action_listen"

_installed = False


def needs_an_answer(events: Iterable[Any], paused: bool, active_loop: Optional[str]) -> bool:
    """Whether listening now would leave the customer's latest message unanswered."""
    if paused or active_loop:
        return False
    for event in reversed(list(events)):
        kind = type(event).__name__
        if kind == "BotUttered":
            return False
        if kind == "ActionExecuted" and getattr(event, "action_name", None) in (LISTEN, FALLBACK_ACTION):
            return False
        if kind == "UserUttered":
            return bool((getattr(event, "text", None) or "").strip())
    return False


def install() -> None:
    """Wrap MessageProcessor._run_action (idempotent)."""
    global _installed
    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor

    if _installed:
        return
    original = MessageProcessor._run_action

    async def _run_action(self: Any, action: Any, tracker: Any, output_channel: Any, nlg: Any,
                          prediction: Any) -> bool:
        if action.name() == LISTEN and needs_an_answer(tracker.events, tracker.is_paused(),
                                                        tracker.active_loop_name):
            intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
            logger.info("never_silent.fallback intent=%s", intent)
            fallback = action_for_name_or_text(FALLBACK_ACTION, self.domain, self.action_endpoint)
            await original(self, fallback, tracker, output_channel, nlg,
                           PolicyPrediction.for_action_name(self.domain, FALLBACK_ACTION, "KefuNeverSilent"))
            return True  # predict again: normally action_listen, now that the customer has an answer
        return await original(self, action, tracker, output_channel, nlg, prediction)

    MessageProcessor._run_action = _run_action  # type: ignore[method-assign]
    _installed = True
