"""Tiny actions for the action-server process tests (``--actions tests.actions.sample_actions``)."""

from __future__ import annotations

import hashlib
import json
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


class ActionEvents(Action):
    """Says which events it got: their number and a digest of them as JSON (bot.action_events' tests compare it
    with Rasa's own list)."""

    def name(self) -> str:
        return "action_test_events"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[Dict]:
        dispatcher.utter_message(text=json.dumps({"count": len(tracker.events), "digest": events_digest(tracker.events)}))
        return []


def events_digest(events: List[Dict[str, Any]]) -> str:
    """SHA-256 of the events as JSON with sorted keys."""
    return hashlib.sha256(json.dumps(events, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
