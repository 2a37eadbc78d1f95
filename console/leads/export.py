"""The CSV export of leads (``GET /api/leads.csv``): UTF-8 with a byte-order mark so that Excel reads the Chinese
right, one row per lead, every lead field plus status, timestamps, owner and ticket id. A cell that a spreadsheet
would run as a formula (starting with ``= + - @``, or a tab or carriage return before one) is prefixed with a
single quote."""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterable, List

from kernel.leads import Lead

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The console's columns after the lead's own fields.
CONSOLE_COLUMNS = ["status", "owner", "ticket_id", "sender_id", "channel", "customer_id", "created_at",
                   "contacted_at", "quoted_at", "closed_at", "updated_at"]


def columns() -> List[str]:
    return list(Lead(lead_id="").to_dict()) + CONSOLE_COLUMNS


def cell(value: Any) -> str:
    """One value as a safe spreadsheet cell (lists joined with "; ")."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = value.get("username") or value.get("display_name") or ""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def leads_csv(leads: Iterable[Dict[str, Any]]) -> str:
    out = io.StringIO()
    names = columns()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for lead in leads:
        writer.writerow([cell(lead.get(name)) for name in names])
    return BOM + out.getvalue()
