"""Saving a turn: the new events are found with one count, not by loading the conversation again, and the SQL event
broker gets them in one transaction.

Rasa 3.6's ``SQLTrackerStore.save`` first streams the new events to the event broker
(``TrackerStore.stream_events``): to find them it *retrieves the whole tracker again* (every event of the session,
read and replayed) only to take its length, then publishes each event in a transaction of its own
(``SQLEventBroker.publish``); then it counts the stored events (a SQL ``count``) to insert the same new events.
On one conversation that cost 3 ms at the 2nd turn and 29-32 ms at the 50th (the reload grows with the
conversation), and 10-33 ms for the broker's commits (docs/results/turn-profile.md, issue 24).

``install()`` replaces ``SQLTrackerStore.save`` with one that counts the session's stored events once (the events
Rasa's save counted, with a Core statement built once: :func:`state_statement`), publishes the events after that count to the broker (an ``SQLEventBroker``: all of them
in one transaction; any other broker: one ``publish`` each, as before), then inserts them, with the same columns as
Rasa's. What is stored and published, and in which order (broker first, then the tracker store), is unchanged;
a broker or database that fails raises as before (``bot.store_failures`` turns it into a failed turn).

The count is what Rasa's ``retrieve`` would have returned the length of: both read the events of the latest
session (``_event_query(..., fetch_events_from_all_sessions=False)``). One conversation is saved by one replica at a
time (Rasa's lock store), as before.

**The conversation kept between turns.** Loading a conversation reads and replays every event of its session
(4 ms at the 2nd turn, 31 ms at the 50th), so ``install()`` also replaces ``SQLTrackerStore.retrieve``: the tracker a
turn saved is kept in memory, per replica (the :data:`CACHE_SIZE` most recently used conversations), and the next
``retrieve`` hands it back when one query shows the database still holds exactly what it saved: the number of events
of the latest session and their highest id, and the tracker has not changed since (its event count). Anything else
(another replica saved the conversation, a turn failed after changing the tracker, rows deleted, a new model's
domain, a turn that started a new session, whose tracker still holds the old one) reads the database as Rasa does,
and the tracker read is kept. ``retrieve_full_tracker`` (every session) always reads the database. A kept tracker
must be what reading it back would give: its customer messages take their intent from what was stored, as Rasa's
``UserUttered`` read back does (:func:`as_read_back`; ``bot.turn_router`` replaces a message's ``intent`` for the
turn only).
``KEFU_TRACKER_CACHE_CHECK=1`` reads the database on every hit too and logs an error if the kept tracker differs
from it (the end-to-end tests run with it).

``bot.server`` installs this before starting Rasa.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from kernel.recent import put_recent

logger = logging.getLogger(__name__)

_installed: Optional[Any] = None
_installed_retrieve: Optional[Any] = None  # Rasa's own SQLTrackerStore.retrieve, once installed

#: conversations kept per replica (``KEFU_TRACKER_CACHE_SIZE``; 0 keeps none)
CACHE_SIZE = int(os.environ.get("KEFU_TRACKER_CACHE_SIZE", "") or 500)


@dataclass
class Kept:
    """A saved tracker and what the database held for it then."""

    tracker: Any
    domain: Any
    count: int  # events of the latest session, stored
    last_id: int  # their highest id
    length: int  # len(tracker.events) when it was saved: a tracker changed since is not handed out


def kept_trackers(store: Any) -> OrderedDict[str, Kept]:
    """The store's kept trackers, least recently used first."""
    kept = store.__dict__.get("_kefu_kept")
    if kept is None:
        kept = store.__dict__["_kefu_kept"] = OrderedDict()
    return kept


def keep(store: Any, sender_id: str, entry: Optional[Kept]) -> None:
    put_recent(kept_trackers(store), sender_id, entry, CACHE_SIZE)


def state_statement(store: Any) -> Any:
    """``SELECT count(id), max(id)`` of the events Rasa's ``retrieve`` reads (``SQLTrackerStore._event_query`` for the
    latest session: the sender's events from the latest ``session_started`` timestamp on, or all of them), built once
    per store as a Core statement (the ORM query cost 1.4 ms of CPU a call, this 0.3)."""
    import sqlalchemy as sa

    statement = store.__dict__.get("_kefu_state_statement")
    if statement is None:
        table = store.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        start = (sa.select(sa.func.max(table.c.timestamp))
                 .where(table.c.sender_id == sender, table.c.type_name == "session_started")
                 .scalar_subquery())
        statement = store.__dict__["_kefu_state_statement"] = (
            sa.select(sa.func.count(table.c.id), sa.func.max(table.c.id))
            .where(table.c.sender_id == sender, sa.or_(table.c.timestamp >= start, start.is_(None)))
        )
    return statement


def stored_state(store: Any, session: Any, sender_id: str) -> Tuple[int, Optional[int]]:
    """(events of the latest session, their highest id): what ``retrieve`` would read, in one query."""
    count, last_id = session.execute(state_statement(store), {"sender_id": sender_id}).one()
    return int(count or 0), last_id


def differences(kept: Any, loaded: Any) -> List[str]:
    """Where the kept tracker and the one read from the database differ: the parts of their state as JSON (what is
    stored: a tuple the turn made is a list when read back), the intents of their customer messages (what the
    policies read), and for events the first that differs (its index and fields)."""
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import EventVerbosity

    def as_stored(tracker: Any) -> Dict[str, Any]:
        return json.loads(json.dumps(tracker.current_state(EventVerbosity.ALL), default=str))

    ours, theirs = as_stored(kept), as_stored(loaded)
    found = [key for key in sorted(set(ours) | set(theirs)) if key != "events" and ours.get(key) != theirs.get(key)]
    mine, stored = ours.get("events") or [], theirs.get("events") or []
    for index, (a, b) in enumerate(itertools.zip_longest(mine, stored)):
        if a != b:
            a, b = a or {}, b or {}
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            found.append(f"events[{index}] of {len(mine)}/{len(stored)}: {fields}")
            break
    intents = [[e.intent for e in t.events if isinstance(e, UserUttered)] for t in (kept, loaded)]
    if intents[0] != intents[1]:
        found.append(f"intents {intents[0]!r:.300} != {intents[1]!r:.300}")
    return found


def as_read_back(events: List[Any]) -> bool:
    """Make a turn's customer messages what reading them back gives: Rasa's ``UserUttered`` takes its ``intent``
    from the stored ``parse_data``, while a turn may have replaced the attribute (``bot.turn_router`` routes a
    message so). Returns whether any changed (then states worked out from the old value are stale)."""
    from rasa.shared.core.events import UserUttered
    from rasa.shared.nlu.constants import INTENT

    changed = False
    for event in events:
        if isinstance(event, UserUttered):
            stored = event.parse_data.get(INTENT) or {}
            if event.intent != stored:
                event.intent = stored
                changed = True
    return changed


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
    """Replace SQLTrackerStore.save and retrieve (idempotent)."""
    global _installed, _installed_retrieve
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    if _installed is not None:
        return
    original = SQLTrackerStore.save

    original_retrieve = SQLTrackerStore.retrieve

    async def save(self: Any, tracker: Any) -> None:
        sender_id = tracker.sender_id
        keep(self, sender_id, None)  # until this save has committed, the database is what counts
        with self.session_scope() as session:
            stored, _ = stored_state(self, session, sender_id)
            events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if self.event_broker is not None:  # the broker first, as Rasa's save: when it fails nothing is stored
                publish_all(self.event_broker, broker_bodies(sender_id, events))
            rows = []
            for event in events:
                data = event.as_dict()
                rows.append(
                    self.SQLEvent(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.add_all(rows)
            session.flush()  # the rows' ids, read before the commit expires them
            last_id = rows[-1].id if rows else None
            session.commit()
        if last_id is None or stored + len(rows) != len(tracker.events):
            return
        if any(event.type_name == "session_started" for event in events):
            return  # the stored latest session now starts there; this tracker still holds the one before
        if as_read_back(events):
            tracker.__dict__.pop("_kefu_rule_states", None)  # bot.rule_window's states saw the replaced intent
        keep(self, sender_id, Kept(tracker, self.domain, len(tracker.events), last_id, len(tracker.events)))

    async def retrieve(self: Any, sender_id: str) -> Optional[Any]:
        if CACHE_SIZE <= 0:
            return await original_retrieve(self, sender_id)
        with self.session_scope() as session:
            count, last_id = stored_state(self, session, sender_id)
        entry = kept_trackers(self).get(sender_id)
        if (
            entry is not None
            and entry.domain is self.domain
            and (entry.count, entry.last_id) == (count, last_id)
            and len(entry.tracker.events) == entry.length
        ):
            kept_trackers(self).move_to_end(sender_id)
            if os.environ.get("KEFU_TRACKER_CACHE_CHECK", "").strip() not in ("", "0"):
                loaded = await original_retrieve(self, sender_id)
                found = ["nothing stored"] if loaded is None else differences(entry.tracker, loaded)
                if found:
                    logger.error("tracker_cache.differs conversation_id=%s in=%s", sender_id, "; ".join(found))
                    keep(self, sender_id, None)
                    return loaded
            return entry.tracker
        tracker = await original_retrieve(self, sender_id)
        if tracker is not None and last_id is not None and len(tracker.events) == count:
            keep(self, sender_id, Kept(tracker, self.domain, count, last_id, count))
        else:
            keep(self, sender_id, None)
        return tracker

    save.__doc__ = original.__doc__
    retrieve.__doc__ = original_retrieve.__doc__
    SQLTrackerStore.save = save  # type: ignore[method-assign]
    SQLTrackerStore.retrieve = retrieve  # type: ignore[method-assign]
    _installed_retrieve = original_retrieve
    _installed = original
