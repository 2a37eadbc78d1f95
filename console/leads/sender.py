"""Deliver the lead outbox (``console_lead_outbox``) to the seller's webhook, signed, in order per lead.

Each event is a POST of its JSON payload with the headers

- ``X-Kefu-Event``: ``lead.created`` | ``lead.updated`` | ``lead.status_changed``
- ``X-Kefu-Delivery``: the event id (a uuid; the same on every retry, for the receiver's de-duplication)
- ``X-Kefu-Timestamp``: UNIX seconds of this attempt
- ``X-Kefu-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with the shared secret

A 2xx answer marks the row delivered. Anything else (another status, a timeout, a refused connection) is tried
again after ``backoff_seconds[attempt - 1]`` (the last value repeats); after ``max_attempts`` failed attempts the
row is dead: it stays in the table (``dead_at``, ``last_error``), counts in /metrics and /health, and no longer
holds back the lead's later events.

Order: a row is sent only when no earlier undelivered, live row of the same lead exists. Replicas: a row is
claimed with a lease (``locked_until``, set by a conditional UPDATE that only one replica wins), so two console
processes never send the same row at the same time; a replica that dies mid-send leaves a lease that expires.
Restarts lose nothing: undelivered rows are in the database and are picked up again at start (a stopping process
gives its leases back; one that was killed leaves them to expire). A receiver may
still see an event twice (the console died after the receiver answered, before the row was marked): it
de-duplicates on ``X-Kefu-Delivery``.

No URL configured: the sender does not run, the rows accumulate and go out once a URL is set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import aliased, sessionmaker

from console.leads.models import LeadOutbox

log = logging.getLogger("kefu.console.leads.webhook")

BATCH = 50


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, ``"{timestamp}.{body}"``)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def backoff(attempts: int, schedule: Sequence[float]) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    return float(schedule[min(max(attempts, 1), len(schedule)) - 1])


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    max_attempts: int = 12
    backoff_seconds: Sequence[float] = (5, 30, 120, 600, 3600)
    timeout_seconds: float = 10.0
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0

    @classmethod
    def from_config(cls, webhook: Dict[str, Any], url: str, secret: str) -> WebhookConfig:
        return cls(url=url, secret=secret, max_attempts=int(webhook.get("max_attempts", 12)),
                   backoff_seconds=tuple(float(s) for s in webhook.get("backoff_seconds") or (5, 30, 120, 600, 3600)),
                   timeout_seconds=float(webhook.get("timeout_seconds", 10)),
                   lease_seconds=float(webhook.get("lease_seconds", 60)),
                   poll_seconds=float(webhook.get("poll_seconds", 1)))


@dataclass
class SenderStatus:
    running: bool = False
    delivered: int = 0
    failed_attempts: int = 0
    dead: int = 0
    last_error: Optional[str] = None
    last_delivery_at: Optional[float] = None
    errors: List[str] = field(default_factory=list)


class LeadWebhookSender:
    def __init__(self, sessions: sessionmaker, config: WebhookConfig, clock: Any = time.time) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.owner = uuid.uuid4().hex  # this process's name on its leases
        self.status = SenderStatus()
        self._wake = asyncio.Event()
        self._stopping = False

    # -- the database steps (run in a thread) --------------------------------------------------------
    def _candidates(self, now: float) -> List[int]:
        earlier = aliased(LeadOutbox)
        blocked = sa.exists().where(earlier.lead_id == LeadOutbox.lead_id, earlier.id < LeadOutbox.id,
                                    earlier.delivered_at.is_(None), earlier.dead_at.is_(None))
        with self.sessions() as session:
            return list(session.scalars(
                sa.select(LeadOutbox.id).where(
                    LeadOutbox.delivered_at.is_(None), LeadOutbox.dead_at.is_(None),
                    LeadOutbox.next_attempt_at <= now,
                    sa.or_(LeadOutbox.locked_until.is_(None), LeadOutbox.locked_until < now),
                    ~blocked,
                ).order_by(LeadOutbox.id).limit(BATCH)))

    def _claim(self, row_id: int, now: float) -> Optional[Dict[str, Any]]:
        """Take the row's lease (a conditional UPDATE: one replica wins); its event when this one did."""
        with self.sessions() as session:
            result = session.execute(
                sa.update(LeadOutbox).where(
                    LeadOutbox.id == row_id, LeadOutbox.delivered_at.is_(None), LeadOutbox.dead_at.is_(None),
                    sa.or_(LeadOutbox.locked_until.is_(None), LeadOutbox.locked_until < now))
                .values(locked_until=now + self.config.lease_seconds, locked_by=self.owner))
            session.commit()
            if result.rowcount != 1:
                return None
            row = session.get(LeadOutbox, row_id)
            assert row is not None
            return {"id": row.id, "event_id": row.event_id, "event_type": row.event_type, "lead_id": row.lead_id,
                    "body": row.payload_json.encode("utf-8"), "attempts": row.attempts}

    def _finish(self, row_id: int, error: Optional[str]) -> None:
        now = self.clock()
        with self.sessions() as session:
            row = session.get(LeadOutbox, row_id)
            if row is None or row.locked_by != self.owner:
                return  # the lease was lost (expired and taken): the other replica owns the outcome
            row.locked_until, row.locked_by = None, None
            if error is None:
                row.delivered_at, row.last_error = now, None
                row.attempts += 1
                self.status.delivered += 1
                self.status.last_delivery_at = now
            else:
                row.attempts += 1
                row.last_error = error[:1000]
                self.status.failed_attempts += 1
                self.status.last_error = error[:300]
                if row.attempts >= self.config.max_attempts:
                    row.dead_at = now
                    self.status.dead += 1
                    log.error("lead event %s (%s) dead after %s attempts: %s", row.event_id, row.event_type,
                              row.attempts, error[:200])
                else:
                    row.next_attempt_at = now + backoff(row.attempts, self.config.backoff_seconds)
            session.commit()

    # -- one HTTP attempt ------------------------------------------------------------------------------
    async def _post(self, client: httpx.AsyncClient, event: Dict[str, Any]) -> Optional[str]:
        timestamp = str(int(self.clock()))
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "kefu-console-webhook",
                   "X-Kefu-Event": event["event_type"], "X-Kefu-Delivery": event["event_id"],
                   "X-Kefu-Timestamp": timestamp, "X-Kefu-Signature": sign(self.config.secret, timestamp, event["body"])}
        try:
            response = await client.post(self.config.url, content=event["body"], headers=headers)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {str(error)[:200]}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def run_once(self, client: httpx.AsyncClient) -> int:
        """Send what is due now; how many attempts were made."""
        now = self.clock()
        attempts = 0
        held_back: set = set()  # a lead whose row failed in this pass: its later rows wait
        for row_id in await asyncio.to_thread(self._candidates, now):
            event = await asyncio.to_thread(self._claim, row_id, self.clock())
            if event is None or event["lead_id"] in held_back:
                if event is not None:
                    await asyncio.to_thread(self._release, row_id)
                continue
            error = await self._post(client, event)
            attempts += 1
            if error is not None:
                held_back.add(event["lead_id"])
                log.warning("lead event %s (%s) not delivered: %s", event["event_id"], event["event_type"], error)
            await asyncio.to_thread(self._finish, row_id, error)
        return attempts

    def _release(self, row_id: int) -> None:
        with self.sessions() as session:
            session.execute(sa.update(LeadOutbox).where(LeadOutbox.id == row_id, LeadOutbox.locked_by == self.owner)
                            .values(locked_until=None, locked_by=None))
            session.commit()

    def wake(self) -> None:
        """A new row was written: look now rather than at the next poll (thread-safe through the loop)."""
        self._wake.set()

    async def run(self) -> None:
        self.status.running = True
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds, follow_redirects=False) as client:
                while not self._stopping:
                    try:
                        made = await self.run_once(client)
                        self.status.errors = []
                    except Exception as error:  # the database restarting: keep going
                        log.warning("lead webhook sender error: %s: %s", type(error).__name__, str(error)[:200])
                        self.status.errors = [f"{type(error).__name__}: {str(error)[:200]}"]
                        made = 0
                    if made:
                        continue  # more may be due (the next row of a lead just delivered)
                    self._wake.clear()
                    waiter = asyncio.ensure_future(self._wake.wait())
                    try:
                        # asyncio.wait, not wait_for: wait_for can swallow a cancellation when the event is set
                        await asyncio.wait({waiter}, timeout=self.config.poll_seconds)
                    finally:
                        waiter.cancel()
        finally:
            self.status.running = False
            self._release_mine()

    def _release_mine(self) -> None:
        """At shutdown (the task cancelled mid-send included): give back this process's leases, so that the next
        start, or another replica, sends those rows at once instead of after ``lease_seconds``."""
        try:
            with self.sessions() as session:
                session.execute(sa.update(LeadOutbox).where(LeadOutbox.locked_by == self.owner,
                                                            LeadOutbox.delivered_at.is_(None))
                                .values(locked_until=None, locked_by=None))
                session.commit()
        except Exception as error:  # the database is gone too: the leases expire on their own
            log.warning("lead webhook leases not released: %s", type(error).__name__)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
