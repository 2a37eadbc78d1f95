"""A small driver that plays Rasa's part around our form validators and actions (rasa-sdk Tracker + dispatcher).

It applies slot events the way Rasa does and, like Rasa's FormAction, asks for the first
empty required slot when the validator does not name one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.notifier.ledger import Ledger, set_shared_ledger
from actions.stock.actions import CATALOGUE
from actions.store.factory import set_store
from actions.store.seed import seed
from actions.store.sql import SqlStore
from actions.verification_guard import MemoryBackend, VerificationGuard, set_guard

ROOT = Path(__file__).resolve().parents[2]
DOMAIN: Dict[str, Any] = yaml.safe_load((ROOT / "bot/domain/orders.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('actions-store') / 'store.db'}"
    store = SqlStore(url)
    seed(store)
    store.dispose()
    return url


@pytest.fixture()
def store(seeded_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(seeded_url)
    set_store(s)
    set_shared_ledger(Ledger(f"sqlite:///{tmp_path / 'app.db'}", "test"))  # order watches and opt-outs
    set_guard(VerificationGuard(MemoryBackend()))  # a fresh server-side lockout per test
    CATALOGUE.clear()
    yield s
    set_store(None)
    set_shared_ledger(None)
    set_guard(None)
    CATALOGUE.clear()
    s.dispose()


class Conversation:
    def __init__(
        self,
        language: str = "zh-Hans",
        sender: str = "test-user",
        channel: str = "rest",
        metadata: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.sender, self.channel, self.metadata = sender, channel, metadata
        self.slots: Dict[str, Any] = {n: spec.get("initial_value") for n, spec in DOMAIN["slots"].items()}
        self.slots.update({"language": language, "human_offered": False, "requested_slot": None})
        self.active_loop: Optional[str] = None
        self.messages: List[Dict[str, Any]] = []

    def tracker(self, text: str, new_slots: Dict[str, Any]) -> Tracker:
        events = [
            {
                "event": "user",
                "text": text,
                "input_channel": self.channel,
                "metadata": self.metadata or {},
                "parse_data": {"text": text, "intent": {"name": "inform"}, "entities": []},
            }
        ]
        events += [{"event": "slot", "name": k, "value": v} for k, v in new_slots.items()]
        latest = {"text": text, "metadata": self.metadata or {}, "intent": {"name": "inform"}, "entities": []}
        return Tracker(
            self.sender,
            {**self.slots, **new_slots},
            latest,
            events,
            False,
            None,
            {"name": self.active_loop} if self.active_loop else {},
            "action_listen",
        )

    def _apply(self, events: List[Dict[str, Any]]) -> None:
        for ev in events:
            if ev.get("event") == "slot":
                self.slots[ev["name"]] = ev["value"]

    def run_action(
        self, action: Any, text: str = "", new_slots: Optional[Dict[str, Any]] = None
    ) -> List[Dict[str, Any]]:
        new_slots = new_slots or {}
        self.slots.update(new_slots)
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, self.tracker(text, new_slots), DOMAIN))
        self._apply(events)
        self.messages += dispatcher.messages
        return dispatcher.messages

    def form_turn(
        self,
        form: str,
        validator: Any,
        submit: Any,
        text: str,
        new_slots: Dict[str, Any],
        ask_actions: Optional[Dict[str, Any]] = None,
    ) -> List[Dict[str, Any]]:
        """One user turn while (or when) ``form`` is active. Returns every bot message of the turn."""
        self.active_loop = form
        dispatcher = CollectingDispatcher()
        self.slots.update(new_slots)
        events = asyncio.run(validator.run(dispatcher, self.tracker(text, new_slots), DOMAIN))
        self._apply(events)
        out = list(dispatcher.messages)
        named = [e for e in events if e.get("event") == "slot" and e["name"] == "requested_slot"]
        if named:
            nxt = named[-1]["value"]
        else:
            nxt = next((s for s in DOMAIN["forms"][form]["required_slots"] if self.slots.get(s) is None), None)
        if nxt is None:
            self.active_loop = None
            self.slots["requested_slot"] = None
            out += self.run_action(submit, text)
        else:
            self.slots["requested_slot"] = nxt
            if ask_actions and nxt in ask_actions:
                out += self.run_action(ask_actions[nxt], text)
            else:
                out.append({"text": f"utter_ask_{nxt}", "response": f"utter_ask_{nxt}"})
        self.messages += out
        return out


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("text") or "" for m in messages]


def payloads(messages: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for m in messages for b in (m.get("buttons") or [])]


def cards(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [m["custom"]["kefu_card"] for m in messages if (m.get("custom") or {}).get("kefu_card")]
