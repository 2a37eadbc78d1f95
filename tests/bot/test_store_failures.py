"""bot.store_failures: a tracker store error fails the turn instead of falling back to memory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import store_failures

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


class Down(InMemoryTrackerStore):
    """A store whose database is unreachable."""

    async def retrieve(self, sender_id: str) -> Any:
        raise ConnectionError("database restarting")

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        raise ConnectionError("database restarting")

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("database restarting")


def test_failures_propagate_and_nothing_is_kept_in_memory() -> None:
    store_failures.install()
    store = FailSafeTrackerStore(Down(Domain.empty()))
    tracker = DialogueStateTracker.from_events("alice", [UserUttered("hi")])
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve("alice"))
    with pytest.raises(ConnectionError):
        asyncio.run(store.retrieve_full_tracker("alice"))
    with pytest.raises(ConnectionError):
        asyncio.run(store.save(tracker))
    # Rasa would have saved the turn into its in-memory fallback; nothing is there
    assert store._fallback_tracker_store is None or not asyncio.run(store.fallback_tracker_store.keys())


def test_a_working_store_is_unchanged() -> None:
    store_failures.install()
    store = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    tracker = DialogueStateTracker.from_events("bob", [UserUttered("hi")])
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("bob")).latest_message.text == "hi"
