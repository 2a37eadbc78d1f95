"""A lead's value as the console shows it: money in the shop's currency (kernel/seller.py), formatted server-side."""

from __future__ import annotations

import json

from console.leads.models import LeadRow
from console.leads.store import lead_json
from kernel import seller


def _row(value_cents: object) -> LeadRow:
    fields = {"lead_id": "L-1", "quantity": 30, "value_cents": value_cents}
    return LeadRow(
        lead_id="L-1", sender_id="s-1", channel="socketio", status="new", priority="warm",
        fields_json=json.dumps(fields), created_at=1_764_000_000.0, updated_at=1_764_000_000.0,
    )  # fmt: skip


def test_the_lead_value_is_written_in_the_demo_currency_by_default() -> None:
    lead = lead_json(_row(894000), now=1_764_000_000.0)
    assert lead["value_cents"] == 894000 and lead["value_text"] == "¥8,940.00"


def test_the_lead_value_follows_the_sellers_currency() -> None:
    with seller.use(seller.formats_from({"currency": {"code": "USD"}})):
        assert lead_json(_row(894000), now=1_764_000_000.0)["value_text"] == "$8,940.00"
    with seller.use(seller.formats_from({"currency": {"code": "JPY"}})):
        assert lead_json(_row(894000), now=1_764_000_000.0)["value_text"] == "¥894,000"


def test_a_lead_without_a_value_or_with_a_bad_one_has_no_value_text() -> None:
    assert lead_json(_row(None), now=1_764_000_000.0)["value_text"] is None
    assert lead_json(_row("894000; drop table"), now=1_764_000_000.0)["value_text"] is None
