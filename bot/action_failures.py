"""An unreachable action server never leaves the customer in silence.

Rasa 3.6 logs a failed custom action and carries on without its events: the customer gets no
reply at all. ``install()`` wraps :meth:`rasa.core.actions.action.RemoteAction.run` so that when
the action server cannot be reached (connection refused, timeout, 5xx, garbage), the turn
answers with ``utter_default`` — an apology and a "talk to a person" button, in the
conversation's language — once per customer message. The failure is still logged.

Not covered on purpose:

- an action that rejects itself (``ActionExecutionRejection``, HTTP 400) keeps Rasa's behaviour;
- custom slot-mapping actions (``action_detect_language``) run inside ``action_extract_slots``,
  which already tolerates their failure; apologising there would apologise twice.

``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Iterable, List, Optional, Set

logger = logging.getLogger("kefu.action_failures")

APOLOGY_RESPONSE = "utter_default"
#: BotUttered metadata key marking the apology, so one turn apologises once.
MARKER = "kefu_action_server_unavailable"

_installed: Optional[Callable[..., Any]] = None


def slot_mapping_actions(domain: Any) -> Set[str]:
    """Custom actions named by slot mappings in the domain."""
    names: Set[str] = set()
    for slot in getattr(domain, "slots", []) or []:
        for mapping in getattr(slot, "mappings", []) or []:
            action = mapping.get("action") if isinstance(mapping, dict) else None
            if action:
                names.add(str(action))
    return names


def apologised_this_turn(events: Iterable[Any]) -> bool:
    """Whether the events after the latest customer message already hold the apology."""
    for event in reversed(list(events)):
        kind = type(event).__name__
        if kind == "UserUttered":
            return False
        if kind == "BotUttered" and (getattr(event, "metadata", None) or {}).get(MARKER):
            return True
    return False


def install() -> None:
    """Wrap RemoteAction.run (idempotent)."""
    global _installed
    from aiohttp import ClientError
    from rasa.core.actions import action as rasa_action
    from rasa.shared.exceptions import RasaException

    if _installed is not None:
        return
    original = rasa_action.RemoteAction.run

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        except rasa_action.ActionExecutionRejection:
            raise
        except (RasaException, ClientError, asyncio.TimeoutError, OSError) as error:
            name = self.name()
            logger.error("action_server.unavailable action=%s error=%s", name, type(error).__name__)
            if name in slot_mapping_actions(domain) or apologised_this_turn(tracker.events):
                raise
            message = await nlg.generate(APOLOGY_RESPONSE, tracker, output_channel.name()) or {}
            utterance = rasa_action.create_bot_utterance(message)
            utterance.metadata = {**(utterance.metadata or {}), MARKER: True}
            return [utterance]

    rasa_action.RemoteAction.run = run  # type: ignore[method-assign]
    _installed = original
