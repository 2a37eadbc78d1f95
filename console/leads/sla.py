"""The quote promise, kept: a lead is due when the bot told the customer a quote would come.

The bot says "报价一般在 1 个工作日内给出" (``quote_sla_hours`` in ``actions/presales/config.yml``) and puts the
hours it promised into the lead (``Lead.quote_promised_hours``). A promise of whole days was said as *working*
days, so it runs on the console's staffed hours: due on the N-th following day that has staffed hours, at the
time of day the lead came in, pulled inside that day's staffed hours (a lead from Friday 23:00 with one working
day is due on Saturday at closing time when Saturday is staffed, else on Monday). A promise in hours runs on the
calendar. A lead stays due until it is quoted, won or lost; past due it is overdue: the card says so, the ticket
list and the dashboard count it and ``kefu_console_leads_quote_overdue`` lets an alert fire.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Dict, Optional
from zoneinfo import ZoneInfo

from console.queueing import DAYS, StaffedHours

#: the statuses in which the quote is still owed
OPEN_STATUSES = ("new", "contacted")
#: how far ahead to look for a staffed day (a shop closed for longer falls back to calendar time)
MAX_DAYS_AHEAD = 60


def promised_hours(fields_json: str) -> Optional[int]:
    try:
        value = json.loads(fields_json or "{}").get("quote_promised_hours")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def quote_due(created_at: float, hours: Optional[int], staffed: Optional[StaffedHours]) -> Optional[float]:
    """When the promised quote is due (UNIX seconds); None when nothing was promised."""
    if not hours:
        return None
    if hours % 24 or staffed is None or not any(staffed.weekly.values()):
        return created_at + hours * 3600.0
    zone = ZoneInfo(staffed.tz)
    local = datetime.fromtimestamp(created_at, zone)
    minute_of_day = local.hour * 60 + local.minute + local.second / 60.0
    left = hours // 24
    day = local.date()
    for _ in range(MAX_DAYS_AHEAD):
        day += timedelta(days=1)
        spans = staffed.weekly[DAYS[day.weekday()]]
        if not spans:
            continue
        left -= 1
        if left:
            continue
        opens, closes = spans[0][0], spans[-1][1]
        minute = min(max(minute_of_day, opens), closes)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        return (midnight + timedelta(minutes=minute)).timestamp()
    return created_at + hours * 3600.0


def quote_state(status: str, created_at: float, fields_json: str, staffed: Optional[StaffedHours],
                now: float) -> Dict[str, Any]:
    """``{"due": ts | None, "overdue": bool}`` for a lead."""
    due = quote_due(created_at, promised_hours(fields_json), staffed)
    return {"due": due, "overdue": bool(due is not None and status in OPEN_STATUSES and now > due)}
