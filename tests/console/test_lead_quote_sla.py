"""The quote the bot promised is held by the console (console/leads/sla.py): a lead is due at the promised time
(whole days are working days on the staffed hours), overdue while it is still new or contacted after that, shown
on the card and the ticket list, and counted by ``kefu_console_leads_quote_overdue`` for the alert."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from console.leads.sla import quote_due, quote_state
from console.queueing import StaffedHours
from kernel.leads import LeadError, parse_lead
from tests.console.leads import ROUTED, presales_context
from tests.console.process import Console, FakeRasa

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: the shipped console/config.yml hours: weekdays 09-21, weekends 10-18
SHOP = StaffedHours.from_config({"timezone": "Asia/Shanghai", "weekly": {
    **{d: ["09:00-21:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "sat": ["10:00-18:00"], "sun": ["10:00-18:00"]}})
WEEKDAYS = StaffedHours.from_config({"timezone": "Asia/Shanghai", "weekly": {
    **{d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "sat": [], "sun": []}})
NEVER = StaffedHours.from_config({"timezone": "Asia/Shanghai", "weekly": {}})


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp()


@pytest.mark.parametrize(("created", "hours", "staffed", "due"), [
    ("2026-12-07 10:30", 24, SHOP, "2026-12-08 10:30"),  # Monday morning: Tuesday, same time
    ("2026-12-07 07:00", 24, SHOP, "2026-12-08 09:00"),  # before opening: when Tuesday opens
    ("2026-12-07 23:00", 24, SHOP, "2026-12-08 21:00"),  # after closing: by Tuesday's close
    ("2026-12-11 20:00", 24, SHOP, "2026-12-12 18:00"),  # Friday evening, Saturday staffed until 18:00
    ("2026-12-11 20:00", 24, WEEKDAYS, "2026-12-14 18:00"),  # weekends closed: Monday, by closing time
    ("2026-12-11 10:00", 48, WEEKDAYS, "2026-12-15 10:00"),  # two working days over a weekend
    ("2026-12-11 10:00", 36, WEEKDAYS, "2026-12-12 22:00"),  # hours, not days: the calendar
    ("2026-12-11 10:00", 24, NEVER, "2026-12-12 10:00"),  # nobody is ever staffed: the calendar
    ("2026-12-11 10:00", 24, None, "2026-12-12 10:00"),
])
def test_the_quote_is_due_when_the_customer_was_told(created: str, hours: int, staffed: StaffedHours | None,
                                                      due: str) -> None:
    assert quote_due(at(created), hours, staffed) == at(due)


def test_nothing_promised_is_never_due_and_only_open_leads_are_overdue() -> None:
    assert quote_due(at("2026-12-07 10:00"), None, SHOP) is None
    fields = '{"quote_promised_hours": 24}'
    late = at("2026-12-09 10:00")
    for status, overdue in [("new", True), ("contacted", True), ("quoted", False), ("won", False), ("lost", False)]:
        assert quote_state(status, at("2026-12-07 10:00"), fields, SHOP, late)["overdue"] is overdue, status
    assert quote_state("new", at("2026-12-07 10:00"), fields, SHOP, at("2026-12-08 09:59"))["overdue"] is False
    for broken in ("{}", "not json", '{"quote_promised_hours": "24"}', '{"quote_promised_hours": true}', "[]"):
        assert quote_state("new", 0.0, broken, SHOP, late) == {"due": None, "overdue": False}, broken


@pytest.mark.parametrize("value", [0, -24, 24 * 91, "24", 1.5, True])
def test_a_bad_promise_in_a_lead_is_refused(value: object) -> None:
    with pytest.raises(LeadError, match="quote_promised_hours"):
        parse_lead({"lead_id": "x", "quote_promised_hours": value})
    assert parse_lead({"lead_id": "x", "quote_promised_hours": 24}).quote_promised_hours == 24


@pytest.fixture(params=["sqlite", "postgresql"])
def sla_console(request: pytest.FixtureRequest, tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    db_url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    console = Console.create(tmp_path / "console", fake_rasa.url, db_url=db_url, staffed=ROUTED).start()
    yield console
    console.stop()


def test_an_overdue_quote_shows_on_the_card_the_list_and_metrics_until_it_is_quoted(sla_console: Console) -> None:
    console = sla_console
    promised = presales_context("sla-1", {"quote_promised_hours": 24})
    silent = presales_context("sla-2")  # an older bot that promised nothing
    first = console.internal("/internal/handoffs", promised).json()
    console.internal("/internal/handoffs", silent).raise_for_status()
    lead = console.ticket(first["ticket_id"])["lead"]
    assert lead["quote_promised_hours"] == 24 and lead["quote_due_at"] and lead["quote_overdue"] is False
    text = httpx.get(f"{console.url}/metrics").text
    assert 'kefu_console_leads_quote_overdue{product_line="cups_bottles"}' not in text
    # three days pass (the lead's creation moved back: the console process keeps its real clock)
    engine = sa.create_engine(console.env["KEFU_CONSOLE_DB_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE console_leads SET created_at = created_at - :d"), {"d": 3 * 86400})
    engine.dispose()
    lead = console.ticket(first["ticket_id"])["lead"]
    assert lead["quote_overdue"] is True
    listed = {t["id"]: t for t in console.login("li").get("/api/tickets").json()["tickets"]}
    assert listed[first["ticket_id"]]["lead"]["quote_overdue"] is True
    assert all(t["lead"]["quote_overdue"] is False for i, t in listed.items() if i != first["ticket_id"] and t["lead"])
    assert 'kefu_console_leads_quote_overdue{product_line="cups_bottles"} 1.0' in httpx.get(f"{console.url}/metrics").text
    li = console.login("li")
    li.post(f"/api/leads/{promised['lead']['lead_id']}/status", json={"status": "contacted"}).raise_for_status()
    assert console.ticket(first["ticket_id"])["lead"]["quote_overdue"] is True  # a call is not a quote
    quoted = li.post(f"/api/leads/{promised['lead']['lead_id']}/status", json={"status": "quoted"}).json()
    assert quoted["quote_overdue"] is False
    assert 'kefu_console_leads_quote_overdue{product_line="cups_bottles"}' not in httpx.get(f"{console.url}/metrics").text
