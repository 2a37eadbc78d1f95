"""Tail Rasa's SQL event broker table (``events``: id, sender_id, data) into the console.

- customer and bot messages of conversations with an open ticket become ticket messages
  (idempotent on the event's identity, see ``kernel.handoff.event_key``);
- the ``handoff_request`` slot the bot sets on escalation opens the ticket when the bot
  could not reach the console (no ticket lost while the console is down);
- ``csat_rating`` slots and bare 1-5 replies after a close store the rating;
- every user message and ``faq_outcome`` slot feeds the containment and FAQ metrics;
- ``service_feedback`` slots (👍/👎 on an answer, bot-only CSAT, CES) become ``console_feedback`` rows.

The cursor (last event id) is committed in the same transaction as what it produced, so
a restart resumes exactly where it stopped: nothing lost, nothing doubled.

Several Rasa replicas write the table at once. PostgreSQL hands out ids when a row is inserted,
not when it commits, so id 101 can be visible while id 100 is still in flight on another
replica. Reading past such a hole would skip id 100 for good; ``readable_prefix`` stops at it
until it appears, or until it has been missing for ``GAP_WAIT_SECONDS`` (a rolled-back insert
leaves a permanent hole).

One bad event must not stall every conversation behind it (a NUL that PostgreSQL cannot store, a
lone surrogate, a malformed field): each event runs in a savepoint; a failure rolls back only that
event and the batch commits up to it. The event is tried again on the next polls; after
``max_tries`` failures it goes to the ``console_dead_letters`` table (raw event and error) and the tail
moves on. Errors that are not the event's fault (the database unreachable) never count as tries.
``health()`` says ``degraded`` with the reason while the tail errors, lags or dead-lettered recently.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.record import record_event
from console.feedback.record import record_feedback
from console.leads.models import PresalesDay
from console.models import ConversationDay, DeadLetter, Message, TailCursor, Ticket, make_engine
from console.tickets import BadRequest, NotFound, TicketService
from kernel.handoff import ContextError, parse_context

log = logging.getLogger("kefu.console.tail")

CURSOR_NAME = "rasa_events"
BATCH = 500
#: Escalations older than this found in the event stream do not open tickets (a wiped console database
#: replaying history); the console being down for less than this loses nothing.
HANDOFF_REPLAY_SECONDS = 7 * 24 * 3600
#: How long a hole in the event ids may be an insert still in flight (see the module docstring).
GAP_WAIT_SECONDS = 10.0
FAQ_OUTCOMES = {"answered": "faq_answered", "clarify": "faq_clarify", "no_answer": "faq_no_answer"}


@dataclass
class TailStatus:
    cursor: int = 0
    last_event_at: Optional[float] = None
    last_poll_at: Optional[float] = None
    running: bool = False
    processed: int = 0
    error: Optional[str] = None
    #: since when the tail has known there is more to read than it has read (None: caught up)
    behind_since: Optional[float] = None
    dead_letters: int = 0
    last_dead_letter_at: Optional[float] = None
    last_dead_letter: Optional[str] = None
    #: the event being retried (id, tries so far, error)
    retrying: Optional[str] = None


@dataclass
class _Batch:
    messages: List[Tuple[Ticket, Message]] = field(default_factory=list)
    created: List[int] = field(default_factory=list)
    updated: List[int] = field(default_factory=list)


def readable_prefix(last_id: int, ids: List[int], missing_since: Dict[int, float], now: float,
                    wait: float = GAP_WAIT_SECONDS) -> int:
    """How many of ``ids`` (ascending, all above ``last_id``) can be processed now.

    ``missing_since`` remembers, per first missing id of a hole, when the hole was first seen; rows
    after a hole wait until it fills or has been open for ``wait`` seconds.
    """
    expected = last_id + 1
    for n, event_id in enumerate(ids):
        if event_id != expected:
            first_seen = missing_since.setdefault(expected, now)
            if now - first_seen < wait:
                return n
        expected = event_id + 1
    return len(ids)


def _connection_trouble(error: BaseException) -> bool:
    """Errors of the database connection, not of the event: they never send an event to the dead letters."""
    return isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.DisconnectionError,
                              sa.exc.TimeoutError))


def _storable(text: str) -> str:
    """A raw event that any database can keep (NUL and lone surrogates made visible, not stored)."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


class _EventRetry(Exception):
    """One event failed and will be tried again (the batch before it was committed)."""


class EventsTail:
    def __init__(self, events_db_url: str, service: TicketService, interval: float = 0.2,
                 on_batch: Optional[Callable[[int], None]] = None, max_tries: int = 3,
                 lag_seconds: float = 60.0, dead_letter_window: float = 3600.0,
                 on_dead_letter: Optional[Callable[[], None]] = None) -> None:
        self.events_db_url = events_db_url
        self.service = service
        self.interval = interval
        self.status = TailStatus()
        self.on_batch = on_batch
        self.max_tries = max(1, max_tries)
        self.lag_seconds = lag_seconds
        self.dead_letter_window = dead_letter_window
        self.on_dead_letter = on_dead_letter
        self._failures: Dict[int, int] = {}
        self._engine: Optional[sa.Engine] = None
        self._table = sa.table("events", sa.column("id", sa.Integer), sa.column("sender_id", sa.String),
                               sa.column("data", sa.Text))
        self._stop = asyncio.Event()
        self._missing_since: Dict[int, float] = {}

    def _events_engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = make_engine(self.events_db_url) if not self.events_db_url.startswith("sqlite") else \
                sa.create_engine(self.events_db_url, connect_args={"check_same_thread": False, "timeout": 30})
        return self._engine

    def _fetch(self, after: int) -> List[Any]:
        engine = self._events_engine()
        if engine.url.get_backend_name() == "sqlite":
            from pathlib import Path

            if not engine.url.database or not Path(engine.url.database).exists():
                return []
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.select(self._table.c.id, self._table.c.sender_id, self._table.c.data)
                                         .where(self._table.c.id > after).order_by(self._table.c.id).limit(BATCH)))
        except sa.exc.OperationalError as error:
            if "no such table" in str(error) or "does not exist" in str(error):
                return []  # Rasa has not created the table yet
            raise

    def poll_once(self) -> int:
        """Process one batch; returns how many events were read (including dead-lettered ones)."""
        service = self.service
        with service.sessions() as session:
            cursor = session.get(TailCursor, CURSOR_NAME)
            if cursor is None:
                cursor = TailCursor(name=CURSOR_NAME, last_id=0, updated_at=time.time())
                session.add(cursor)
                session.flush()
            fetched = self._fetch(cursor.last_id)
            rows = fetched[:readable_prefix(cursor.last_id, [row.id for row in fetched], self._missing_since,
                                            time.monotonic())]
            if not rows:
                session.commit()
                self.status.cursor = cursor.last_id
                self._note_progress(caught_up=len(fetched) == 0)
                return 0
            # a write first, so the transaction (and the cursor) surrounds the per-event savepoints on SQLite too
            cursor.updated_at = time.time()
            session.flush()
            batch = _Batch()
            done = 0
            stalled = False
            for row in rows:
                if not self._one(session, row, batch):
                    stalled = True  # this event failed and will be tried again: commit what came before it
                    break
                cursor.last_id = row.id
                done += 1
            cursor.updated_at = time.time()
            self._missing_since = {k: v for k, v in self._missing_since.items() if k > cursor.last_id}
            batch.updated.extend(session.info.pop("updated_tickets", []))
            session.commit()
            self.status.cursor = cursor.last_id
            self.status.processed += done
            self._announce(session, batch)
        self._note_progress(caught_up=not stalled and len(fetched) < BATCH and len(rows) == len(fetched))
        if self.on_batch and done:
            self.on_batch(done)
        if stalled:
            raise _EventRetry(self.status.retrying or "an event failed")
        return done

    def _one(self, session: Session, row: Any, batch: _Batch) -> bool:
        """Process one broker row in a savepoint; False when it failed and is to be tried again."""
        try:
            event = json.loads(row.data)
        except (TypeError, ValueError):
            log.warning("skipping malformed event id=%s", row.id)
            return True
        if not isinstance(event, dict):
            return True
        one = _Batch()
        updated_before = len(session.info.get("updated_tickets", []))
        try:
            with session.begin_nested():
                self._process(session, str(row.sender_id or event.get("sender_id") or ""), event, one)
                session.flush()
        except Exception as error:
            if _connection_trouble(error):
                raise
            del session.info.setdefault("updated_tickets", [])[updated_before:]
            return self._failed(session, row, error)
        self._failures.pop(row.id, None)
        batch.messages.extend(one.messages)
        batch.created.extend(one.created)
        batch.updated.extend(one.updated)
        timestamp = event.get("timestamp")
        if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
            self.status.last_event_at = float(timestamp)
        return True

    def _failed(self, session: Session, row: Any, error: Exception) -> bool:
        tries = self._failures.get(row.id, 0) + 1
        reason = f"{type(error).__name__}: {str(error)[:300]}"
        if tries < self.max_tries:
            self._failures[row.id] = tries
            self.status.retrying = f"event {row.id} failed (try {tries} of {self.max_tries}): {reason}"
            log.warning("events tail: %s", self.status.retrying)
            return False
        self._failures.pop(row.id, None)
        raw = row.data if isinstance(row.data, str) else repr(row.data)
        with session.begin_nested():
            session.add(DeadLetter(source=CURSOR_NAME, event_id=row.id, sender_id=_storable(str(row.sender_id or ""))[:255],
                                   raw=_storable(raw), error=_storable(reason), tries=tries, created_at=time.time()))
        now = time.time()
        self.status.dead_letters += 1
        self.status.last_dead_letter_at = now
        self.status.last_dead_letter = f"event {row.id} dead-lettered after {tries} tries: {reason}"
        self.status.retrying = None
        log.error("events tail: %s", self.status.last_dead_letter)
        if self.on_dead_letter:
            self.on_dead_letter()
        return True

    def _note_progress(self, caught_up: bool) -> None:
        if caught_up:
            self.status.behind_since = None
            self.status.retrying = None
        elif self.status.behind_since is None:
            self.status.behind_since = time.time()

    def health(self, now: Optional[float] = None) -> Tuple[str, List[str]]:
        """``("ok", [])`` or ``("degraded", reasons)``."""
        now = time.time() if now is None else now
        st = self.status
        reasons: List[str] = []
        if not st.running:
            reasons.append("events tail is not running")
        if st.error:
            reasons.append(f"events tail error: {st.error}")
        if st.behind_since is not None and now - st.behind_since >= self.lag_seconds:
            reasons.append(f"events tail lags: behind the events table for {int(now - st.behind_since)} s")
        elif st.running and st.last_poll_at is not None and now - st.last_poll_at >= self.lag_seconds:
            reasons.append(f"events tail lags: no poll for {int(now - st.last_poll_at)} s")
        if st.last_dead_letter_at is not None and now - st.last_dead_letter_at < self.dead_letter_window:
            reasons.append(f"events tail dead-lettered {st.dead_letters} event(s); last: {st.last_dead_letter}")
        return ("degraded" if reasons else "ok"), reasons

    def load_dead_letter_state(self) -> None:
        """After a restart: the most recent dead letter still counts for ``health`` within the window."""
        with self.service.sessions() as session:
            last = session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id.desc()).limit(1)).first()
            if last is not None and time.time() - last.created_at < self.dead_letter_window:
                count = session.scalar(sa.select(sa.func.count()).select_from(DeadLetter)
                                       .where(DeadLetter.created_at > time.time() - self.dead_letter_window))
                self.status.dead_letters = int(count or 0)
                self.status.last_dead_letter_at = last.created_at
                self.status.last_dead_letter = f"event {last.event_id} dead-lettered: {last.error[:300]}"

    def _process(self, session: Session, sender_id: str, event: Dict[str, Any], batch: _Batch) -> None:
        kind = event.get("event")
        record_event(session, sender_id, event)
        if kind == "user":
            self._count_user(session, sender_id, event)
        elif kind == "slot":
            self._slot(session, sender_id, event, batch)
            return
        attached = self.service.ingest.attach_event(session, sender_id, event)
        if attached:
            batch.messages.append(attached)

    def _count_user(self, session: Session, sender_id: str, event: Dict[str, Any]) -> None:
        ts = float(event.get("timestamp") or time.time())
        row = self._day_row(session, sender_id, ts, event.get("input_channel") or "")
        row.user_messages += 1

    def _day_row(self, session: Session, sender_id: str, ts: float, channel: str = "") -> ConversationDay:
        key = (sender_id, _day(ts))
        row = session.get(ConversationDay, key)
        if row is None:
            row = ConversationDay(sender_id=sender_id, day=key[1], channel=channel, user_messages=0, faq_answered=0,
                                  faq_clarify=0, faq_no_answer=0, first_at=ts, last_at=ts)
            session.add(row)
        row.last_at = max(row.last_at, ts)
        if channel and not row.channel:
            row.channel = channel
        return row

    def _slot(self, session: Session, sender_id: str, event: Dict[str, Any], batch: _Batch) -> None:
        name, value = event.get("name"), event.get("value")
        ts = float(event.get("timestamp") or time.time())
        if name == "faq_outcome" and value in FAQ_OUTCOMES:
            row = self._day_row(session, sender_id, ts)
            setattr(row, FAQ_OUTCOMES[value], getattr(row, FAQ_OUTCOMES[value]) + 1)
        elif name == "handoff_request" and isinstance(value, dict):
            if time.time() - ts > HANDOFF_REPLAY_SECONDS:
                return  # an old escalation replayed into a fresh console database: long handled or abandoned
            try:
                ctx = parse_context({**value, "sender_id": value.get("sender_id") or sender_id})
            except ContextError as error:
                log.warning("ignoring malformed handoff_request: %s", error)
                return
            ticket, created = self.service.ingest.create_in(session, ctx, via="events")
            if created:
                batch.created.append(ticket.id)
        elif name == "presales_outcome" and value in ("checkout", "cancelled"):
            row = session.get(PresalesDay, _day(ts))
            if row is None:
                row = PresalesDay(day=_day(ts), checkouts=0, cancelled=0)
                session.add(row)
            if value == "checkout":
                row.checkouts += 1
            else:
                row.cancelled += 1
        elif name == "service_feedback":  # 👍/👎 on an answer, bot-only CSAT, CES (console/feedback/record.py)
            record_feedback(session, sender_id, event)
        elif name == "csat_rating" and isinstance(value, dict):
            try:
                ticket_id = value.get("ticket_id")
                ticket = self.service.ingest.csat_in(session, sender_id, value.get("rating"),
                                                     int(ticket_id) if str(ticket_id or "").isdigit() else None)
                batch.updated.append(ticket.id)
            except (BadRequest, NotFound) as error:
                log.info("csat slot not stored: %s", error)

    def _announce(self, session: Session, batch: _Batch) -> None:
        for ticket_id in batch.created:
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None:
                self.service.views.announce_created(self.service.views.ticket_json(session, ticket))
        if batch.created:
            self.service.store.wake_assigner()  # online agents with free places get them (console/routing)
        for ticket, message in batch.messages:
            if ticket.id not in batch.created:
                self.service.views.announce_message(session, ticket, message)
        for ticket_id in set(batch.updated):
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None:
                self.service.views.announce_ticket(session, ticket)

    async def run(self) -> None:
        self.status.running = True
        backoff = self.interval
        try:
            while not self._stop.is_set():
                try:
                    count = await asyncio.to_thread(self.poll_once)
                    self.status.error = None
                    backoff = self.interval
                except _EventRetry as retry:
                    self.status.error = str(retry)
                    count = 0
                    backoff = min(5.0, max(self.interval, backoff * 2))
                except Exception as error:  # keep tailing: the events DB may be restarting
                    self.status.error = f"{type(error).__name__}: {str(error)[:200]}"
                    log.warning("events tail error: %s", self.status.error)
                    count = 0
                    backoff = min(5.0, backoff * 2)
                self.status.last_poll_at = time.time()
                if count < BATCH:
                    try:
                        await asyncio.wait_for(self._stop.wait(), timeout=backoff)
                    except asyncio.TimeoutError:
                        pass
        finally:
            self.status.running = False

    def stop(self) -> None:
        self._stop.set()
