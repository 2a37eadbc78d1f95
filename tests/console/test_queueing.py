"""Pure queue decisions: priority, order, position, expected wait, staffed hours, SLA."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from console import queueing
from console.settings import load_config

CFG = load_config()


def ts(text: str, tz: str = "Asia/Shanghai") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_priority_complaint_vip_sentiment_identity() -> None:
    p = CFG["priority"]
    assert queueing.ticket_priority("other", None, None, "explicit_request", p) == 0
    assert queueing.ticket_priority("complaint", None, None, "complaint", p) == 30
    assert queueing.ticket_priority("complaint", "gold", None, "complaint", p) == 50
    assert queueing.ticket_priority("complaint", "GOLD", "strongly_negative", "complaint", p) == 60
    assert queueing.ticket_priority("after_sales", "regular", None, "identity", p) == 15
    assert queueing.ticket_priority("presales", None, "neutral", "presales", p) == 20


def test_queue_order_priority_then_wait_and_aging() -> None:
    now = 10_000.0
    items = [queueing.QueueItem(1, 0, now - 60), queueing.QueueItem(2, 30, now - 10), queueing.QueueItem(3, 0, now - 120)]
    assert [i.ticket_id for i in queueing.queue_order(items, now, 1)] == [2, 3, 1]
    # after 40 minutes of waiting, the low-priority ticket overtakes a fresh complaint
    items = [queueing.QueueItem(1, 0, now - 40 * 60), queueing.QueueItem(2, 30, now - 5)]
    assert [i.ticket_id for i in queueing.queue_order(items, now, 1)] == [1, 2]
    assert queueing.queue_position(2, items, now, 1) == 2
    assert queueing.queue_position(99, items, now, 1) == 0


def test_expected_wait_from_live_data() -> None:
    assert queueing.expected_wait_seconds(0, [100], 1, 120) == 0
    assert queueing.expected_wait_seconds(1, [], 1, 120) == 120  # no history yet
    assert queueing.expected_wait_seconds(3, [30, 60, 90], 1, 120) == 180
    assert queueing.expected_wait_seconds(3, [30, 60, 90], 3, 120) == 60
    assert queueing.expected_wait_seconds(2, [1, 2], 0, 120) == 20  # floor of 10 s per position, 0 agents counts as 1


def test_staffed_hours_and_next_opening() -> None:
    hours = queueing.StaffedHours.from_config(CFG["staffed_hours"])
    monday_noon = ts("2026-11-23T12:00:00")  # a Monday
    assert hours.is_staffed(monday_noon)
    assert hours.next_open(monday_noon) == monday_noon
    late = ts("2026-11-23T22:30:00")
    assert not hours.is_staffed(late)
    assert hours.next_open(late) == ts("2026-11-24T09:00:00")
    saturday_early = ts("2026-11-28T08:00:00")
    assert hours.next_open(saturday_early) == ts("2026-11-28T10:00:00")
    assert queueing.local_time(ts("2026-11-24T09:00:00"), "Asia/Shanghai") == "2026-11-24 09:00"


def test_never_staffed_has_no_opening() -> None:
    hours = queueing.StaffedHours.from_config({"timezone": "UTC", "weekly": {}})
    assert not hours.is_staffed(0) and hours.next_open(0) is None


def test_bad_staffed_hours_fail_early() -> None:
    from zoneinfo import ZoneInfoNotFoundError

    with pytest.raises(ZoneInfoNotFoundError):
        queueing.StaffedHours.from_config({"timezone": "Mars/Olympus", "weekly": {}})
    with pytest.raises(ValueError):
        queueing.StaffedHours.from_config({"timezone": "UTC", "weekly": {"mon": ["25:00-26:00"]}})


def test_sla_first_response_and_complaint_resolution() -> None:
    created = 1000.0
    fresh = queueing.sla_status("complaint", created, None, None, created + 30, 60, 86400)
    assert not fresh.first_response_overdue and fresh.waiting_seconds == 30 and fresh.resolve_due == created + 86400
    late = queueing.sla_status("complaint", created, None, None, created + 61, 60, 86400)
    assert late.first_response_overdue
    answered = queueing.sla_status("other", created, created + 45, None, created + 5000, 60, 86400)
    assert not answered.first_response_overdue and answered.waiting_seconds == 0 and answered.resolve_due is None
    slow_answer = queueing.sla_status("other", created, created + 90, None, created + 100, 60, 86400)
    assert slow_answer.first_response_overdue
    old_complaint = queueing.sla_status("complaint", created, created + 10, None, created + 90000, 60, 86400)
    assert old_complaint.resolve_overdue
    closed_in_time = queueing.sla_status("complaint", created, created + 10, created + 3600, created + 90000, 60, 86400)
    assert not closed_in_time.resolve_overdue
