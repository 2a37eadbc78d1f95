"""Two tiny actions for the action-server process tests (``--actions tests.actions.sample_actions``)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger("kefu.test_actions")


class ActionEcho(Action):
    def name(self) -> str:
        return "action_test_echo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict]:
        text = tracker.latest_message.get("text") or ""
        log.info("echo turn text=%s", text)
        dispatcher.utter_message(text=f"echo: {text}")
        return []


class ActionBroken(Action):
    def name(self) -> str:
        return "action_test_broken"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict]:
        raise RuntimeError("the store said no to 13812345678")
