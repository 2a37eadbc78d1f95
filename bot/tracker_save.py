"""Saving a turn: the new events are found with one count, not by loading the conversation again, and the SQL event
broker gets them in one transaction.

Rasa 3.6's ``SQLTrackerStore.save`` first streams the new events to the event broker
(``TrackerStore.stream_events``): to find them it *retrieves the whole tracker again* (every event of the session,
read and replayed) only to take its length, then publishes each event in a transaction of its own
(``SQLEventBroker.publish``); then it counts the stored events (a SQL ``count``) to insert the same new events.
On one conversation that cost 3 ms at the 2nd turn and 29-32 ms at the 50th (the reload grows with the
conversation), and 10-33 ms for the broker's commits (docs/results/turn-profile.md, issue 24).

``install()`` replaces ``SQLTrackerStore.save`` with one that counts the session's stored events once (the same
query Rasa's save used), publishes the events after that count to the broker (an ``SQLEventBroker``: all of them
in one transaction; any other broker: one ``publish`` each, as before), then inserts them, with the same columns as
Rasa's. What is stored and published, and in which order (broker first, then the tracker store), is unchanged;
a broker or database that fails raises as before (``bot.store_failures`` turns it into a failed turn).

The count is what Rasa's ``retrieve`` would have returned the length of: both read the events of the latest
session (``_event_query(..., fetch_events_from_all_sessions=False)``). One conversation is saved by one replica at a
time (Rasa's lock store), as before.

``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, List, Optional

_installed: Optional[Any] = None


def broker_bodies(sender_id: str, events: List[Any]) -> List[Dict[str, Any]]:
    """What Rasa publishes for each event (``TrackerStore._stream_new_events``): the sender id, then the event."""
    bodies = []
    for event in events:
        body: Dict[str, Any] = {"sender_id": sender_id}
        body.update(event.as_dict())
        bodies.append(body)
    return bodies


def publish_all(broker: Any, bodies: List[Dict[str, Any]]) -> None:
    """Publish a turn's events: an SQL broker writes them in one transaction, rows in the same order and with the
    same columns as its ``publish``; any other broker gets one ``publish`` per event."""
    from rasa.core.brokers.sql import SQLEventBroker

    if not bodies:
        return
    if not isinstance(broker, SQLEventBroker):
        for body in bodies:
            broker.publish(body)
        return
    with broker.session_scope() as session:
        session.add_all(
            [broker.SQLBrokerEvent(sender_id=body.get("sender_id"), data=json.dumps(body)) for body in bodies]
        )
        session.commit()


def install() -> None:
    """Replace SQLTrackerStore.save (idempotent)."""
    global _installed
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    if _installed is not None:
        return
    original = SQLTrackerStore.save

    async def save(self: Any, tracker: Any) -> None:
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if self.event_broker is not None:  # the broker first, as Rasa's save: when it fails nothing is stored
                publish_all(self.event_broker, broker_bodies(tracker.sender_id, events))
            for event in events:
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()

    save.__doc__ = original.__doc__
    SQLTrackerStore.save = save  # type: ignore[method-assign]
    _installed = original
