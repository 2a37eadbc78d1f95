"""A tracker store that fails makes the turn fail: no silent in-memory fallback.

Rasa 3.6 wraps the configured tracker store in ``FailSafeTrackerStore``. When PostgreSQL cannot
be reached it logs the error and then *retrieves nothing* (the customer's conversation starts
over, without its history) and *saves to process memory* (the turn is answered, but the
conversation in PostgreSQL never gets it, and the other replicas never see it). The fault test
"PostgreSQL restarted during traffic" showed customers getting answers the conversation did not
keep. ``install()`` keeps Rasa's error log and re-raises instead, so the channel reports the
failure (REST: 503 ``processing_failed``; socket.io: ``processing_failed``) and the client
resends once the database is back. Listing keys keeps Rasa's behaviour (an empty list).

``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

from typing import Any, Optional

_installed = False


def install() -> None:
    """Make FailSafeTrackerStore.retrieve, retrieve_full_tracker and save re-raise (idempotent)."""
    global _installed
    from rasa.core.tracker_store import FailSafeTrackerStore

    if _installed:
        return

    async def retrieve(self: Any, sender_id: str) -> Optional[Any]:
        try:
            return await self._tracker_store.retrieve(sender_id)
        except Exception as error:
            self.on_tracker_store_retrieve_error(error)
            raise

    async def retrieve_full_tracker(self: Any, sender_id: str) -> Optional[Any]:
        try:
            return await self._tracker_store.retrieve_full_tracker(sender_id)
        except Exception as error:
            self.on_tracker_store_retrieve_error(error)
            raise

    async def save(self: Any, tracker: Any) -> None:
        try:
            await self._tracker_store.save(tracker)
        except Exception as error:
            self.on_tracker_store_error(error)
            raise

    FailSafeTrackerStore.retrieve = retrieve  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker  # type: ignore[method-assign]
    FailSafeTrackerStore.save = save  # type: ignore[method-assign]
    _installed = True
