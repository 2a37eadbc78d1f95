"""Pure queue decisions: priority, order, position, expected wait, staffed hours, SLA."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from console import queueing
from console.settings import ROOT, SettingsError, load_config

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


def test_sla_clock_stops_outside_staffed_hours() -> None:
    """Issue 27 defect 5: off hours every card turned red although the customer was promised the morning."""
    hours = queueing.StaffedHours.from_config(CFG["staffed_hours"])  # mon-fri 09-21, sat-sun 10-18, Shanghai
    late = ts("2026-11-23T22:30:00")  # Monday night, closed
    assert hours.staffed_deadline(late, 60) == ts("2026-11-24T09:01:00")
    night = queueing.sla_status("other", late, None, None, ts("2026-11-24T08:59:00"), 60, 86400,
                                hours=hours, first_response_clock=queueing.STAFFED_HOURS)
    assert not night.first_response_overdue and night.first_response_due == ts("2026-11-24T09:01:00")
    morning = queueing.sla_status("other", late, None, None, ts("2026-11-24T09:01:30"), 60, 86400,
                                  hours=hours, first_response_clock=queueing.STAFFED_HOURS)
    assert morning.first_response_overdue
    # the calendar clock (the 24 h complaint promise) keeps running at night
    complaint = queueing.sla_status("complaint", late, None, None, late + 3600, 60, 86400,
                                    hours=hours, first_response_clock=queueing.STAFFED_HOURS)
    assert complaint.resolve_due == late + 86400
    staffed_complaint = queueing.sla_status("complaint", late, None, None, late, 60, 12 * 3600 + 600,
                                            hours=hours, resolve_clock=queueing.STAFFED_HOURS)
    assert staffed_complaint.resolve_due == ts("2026-11-25T09:10:00")  # 12 h on Tuesday, 10 min on Wednesday
    assert staffed_complaint.first_response_due == late + 60  # first response left on the calendar clock


def test_sla_clock_inside_a_period_across_days_and_when_never_staffed() -> None:
    hours = queueing.StaffedHours.from_config(CFG["staffed_hours"])
    assert hours.staffed_deadline(ts("2026-11-23T12:00:00"), 60) == ts("2026-11-23T12:01:00")
    # Friday 20:59:30 + 60 s: 30 s on Friday, the rest when the weekend hours open (Saturday 10:00)
    assert hours.staffed_deadline(ts("2026-11-27T20:59:30"), 60) == ts("2026-11-28T10:00:30")
    overnight = queueing.StaffedHours.from_config({"timezone": "Asia/Shanghai", "weekly": {
        day: ["00:00-02:00", "22:00-24:00"] for day in queueing.DAYS}})
    assert overnight.staffed_deadline(ts("2026-11-23T23:30:00"), 3600) == ts("2026-11-24T00:30:00")
    never = queueing.StaffedHours.from_config({"timezone": "UTC", "weekly": {}})
    assert never.staffed_deadline(1000.0, 60) is None
    assert queueing.due(1000.0, 60, queueing.STAFFED_HOURS, never) == 1060.0  # nobody ever works: calendar time
    with pytest.raises(ValueError, match="unknown SLA clock"):
        queueing.due(1000.0, 60, "lunar", hours)


def test_a_misspelt_sla_clock_fails_at_start(tmp_path) -> None:
    import yaml

    base = yaml.safe_load((ROOT / "console" / "config.yml").read_text(encoding="utf-8"))
    assert base["sla"]["first_response_clock"] == queueing.STAFFED_HOURS
    assert load_config()["sla"]["complaint_resolve_clock"] == queueing.CALENDAR
    base["sla"]["first_response_clock"] = "business"
    path = tmp_path / "console.yml"
    path.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SettingsError, match="first_response_clock"):
        load_config(path)
