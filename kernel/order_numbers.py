"""Order numbers in free text (pure: the action server and the Rasa process both read them).

``parse_order_id`` finds one order number in a customer's message: ``KF20261120001``, ``kf-2026-1120-001``,
``KF 2026 1120 001``, full-width ``ＫＦ２０２６…``. It refuses oversized input, two different numbers in one
message, and a date part that is no date.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

MAX_ORDER_INPUT = 200

_ORDER_ID = re.compile(r"(?<![a-z0-9])kf[\s\-_./#]*((?:\d[\s\-_./]*){11})(?![\d])", re.IGNORECASE)


@dataclass(frozen=True)
class OrderIdParse:
    order_id: Optional[str]
    problem: Optional[str]  # None | "empty" | "too_long" | "not_found_in_text" | "ambiguous"


def parse_order_id(value: Any) -> OrderIdParse:
    """Find one order number in free text: ``KF20261120001``, ``kf-2026-1120-001``, ``ＫＦ２０２６…``."""
    if not isinstance(value, str) or not value.strip():
        return OrderIdParse(None, "empty")
    if len(value) > MAX_ORDER_INPUT:
        return OrderIdParse(None, "too_long")
    norm = unicodedata.normalize("NFKC", value)
    found = {f"KF{re.sub(r'[^0-9]', '', m.group(1))}" for m in _ORDER_ID.finditer(norm)}
    if not found:
        return OrderIdParse(None, "not_found_in_text")
    if len(found) > 1:
        return OrderIdParse(None, "ambiguous")
    order_id = found.pop()
    try:
        datetime.strptime(order_id[2:10], "%Y%m%d")
    except ValueError:
        return OrderIdParse(None, "not_found_in_text")
    return OrderIdParse(order_id, None)
