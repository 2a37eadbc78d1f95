"""Pure decisions about the queue: priority, order, position, expected wait, staffed hours, SLA."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- priority -------------------------------------------------------------------------------------
def ticket_priority(
    category: str,
    tier: Optional[str],
    sentiment_label: Optional[str],
    reason: str,
    config: Mapping[str, Any],
) -> int:
    """Stored priority: category weight, VIP tier, strongly negative sentiment, failed identity check."""
    weights = config.get("category", {})
    score = int(weights.get(category, weights.get("other", 0)))
    if tier and str(tier).lower() in {t.lower() for t in config.get("vip_tiers", [])}:
        score += int(config.get("vip_bonus", 0))
    if sentiment_label == "strongly_negative":
        score += int(config.get("strongly_negative_bonus", 0))
    if reason == "identity":
        score += int(config.get("identity_bonus", 0))
    return score


def effective_priority(priority: int, waited_seconds: float, aging_per_minute: float) -> int:
    """Queue order key: long waits climb the queue."""
    return int(priority + aging_per_minute * max(0.0, waited_seconds) / 60.0)


@dataclass(frozen=True)
class QueueItem:
    ticket_id: int
    priority: int
    created_at: float


def queue_order(items: Sequence[QueueItem], now: float, aging_per_minute: float) -> List[QueueItem]:
    """Highest effective priority first, then the longest waiting, then the lowest id."""
    return sorted(
        items,
        key=lambda i: (-effective_priority(i.priority, now - i.created_at, aging_per_minute), i.created_at, i.ticket_id),
    )


def queue_position(ticket_id: int, items: Sequence[QueueItem], now: float, aging_per_minute: float) -> int:
    """1-based place of the ticket among the queued tickets of its team (0 when not queued)."""
    for index, item in enumerate(queue_order(items, now, aging_per_minute), start=1):
        if item.ticket_id == ticket_id:
            return index
    return 0


def expected_wait_seconds(
    position: int, recent_waits: Sequence[float], agents_online: int, default_wait: float
) -> int:
    """Position x the median wait of recent tickets (per position), shared by the agents online."""
    if position <= 0:
        return 0
    per_position = statistics.median(recent_waits) if recent_waits else default_wait
    per_position = max(10.0, per_position)
    return int(round(position * per_position / max(1, agents_online)))


# -- staffed hours ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaffedHours:
    tz: str
    weekly: Dict[str, Tuple[Tuple[int, int], ...]]  # day -> ((start_minute, end_minute), ...)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> StaffedHours:
        weekly: Dict[str, Tuple[Tuple[int, int], ...]] = {}
        for day in DAYS:
            ranges = []
            for span in (raw.get("weekly") or {}).get(day, []) or []:
                start, end = (part.strip() for part in str(span).split("-"))
                ranges.append((_minutes(start), _minutes(end)))
            weekly[day] = tuple(sorted(ranges))
        ZoneInfo(raw.get("timezone", "UTC"))  # fails early on an unknown zone
        return cls(raw.get("timezone", "UTC"), weekly)

    def is_staffed(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, ZoneInfo(self.tz))
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.weekly[DAYS[local.weekday()]])

    def next_open(self, now: float) -> Optional[float]:
        """UNIX time the next staffed period starts (``now`` when staffed; None when never staffed)."""
        if self.is_staffed(now):
            return now
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now, zone)
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            for start, _end in self.weekly[DAYS[day.weekday()]]:
                candidate = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=zone)
                if candidate.timestamp() > now:
                    return candidate.timestamp()
        return None


    def staffed_deadline(self, start: float, seconds: float) -> Optional[float]:
        """The moment ``seconds`` of staffed time have passed since ``start``: an SLA clock that stops outside
        staffed hours (a ticket queued at 23:00 with a 60 s target is due at 09:01, not at 23:01). None when the
        hours have no staffed period at all."""
        if not any(self.weekly.values()):
            return None
        zone = ZoneInfo(self.tz)
        left = max(0.0, float(seconds))
        day = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)  # a period may span midnight
        for _ in range(0, 366 * 20):
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for first, last in self.weekly[DAYS[day.weekday()]]:
                opens = (midnight + timedelta(minutes=first)).timestamp()
                closes = (midnight + timedelta(minutes=last)).timestamp()
                begin = max(opens, start)
                if closes <= begin:
                    continue
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
            day += timedelta(days=1)
        return None


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"bad time {hhmm!r}")
    return value


# -- SLA --------------------------------------------------------------------------------------------
CALENDAR = "calendar"
STAFFED_HOURS = "staffed_hours"
CLOCKS = (CALENDAR, STAFFED_HOURS)


def due(start: float, seconds: float, clock: str, hours: Optional[StaffedHours]) -> float:
    """When a target of ``seconds`` started at ``start`` is due on ``clock`` (see :func:`sla_status`)."""
    if clock not in CLOCKS:
        raise ValueError(f"unknown SLA clock {clock!r}: use one of {', '.join(CLOCKS)}")
    if clock == STAFFED_HOURS and hours is not None:
        deadline = hours.staffed_deadline(start, seconds)
        if deadline is not None:
            return deadline
    return start + seconds  # calendar time, and the fallback when nobody is ever staffed


@dataclass(frozen=True)
class Sla:
    waiting_seconds: int
    first_response_due: float
    first_response_overdue: bool
    resolve_due: Optional[float]
    resolve_overdue: bool


def sla_status(
    category: str,
    created_at: float,
    first_response_at: Optional[float],
    closed_at: Optional[float],
    now: float,
    first_response_seconds: float,
    complaint_resolve_seconds: float,
    *,
    hours: Optional[StaffedHours] = None,
    first_response_clock: str = CALENDAR,
    resolve_clock: str = CALENDAR,
) -> Sla:
    """First-response and (complaints) resolution targets, measured from the moment the ticket was queued.

    Each target runs on its own clock (``sla.first_response_clock`` / ``sla.complaint_resolve_clock``):
    ``calendar`` counts every second, ``staffed_hours`` only the seconds inside ``hours``, so a ticket queued
    overnight is not overdue before anybody was due to work."""
    first_due = due(created_at, first_response_seconds, first_response_clock, hours)
    responded = first_response_at if first_response_at is not None else None
    first_overdue = (responded or (closed_at or now)) > first_due
    waiting = 0 if responded is not None or closed_at is not None else int(max(0.0, now - created_at))
    resolve_due = due(created_at, complaint_resolve_seconds, resolve_clock, hours) if category == "complaint" else None
    resolve_overdue = resolve_due is not None and (closed_at or now) > resolve_due
    return Sla(waiting, first_due, first_overdue, resolve_due, resolve_overdue)


def iso(ts: Optional[float]) -> Optional[str]:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def local_time(ts: Optional[float], tz: str) -> Optional[str]:
    """``2026-11-23 09:00`` in the staffed-hours time zone (what the customer is told)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
