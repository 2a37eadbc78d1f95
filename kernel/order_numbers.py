"""Order numbers in free text (pure: the action server and the Rasa process both read them).

``parse_order_id`` finds one order number in a customer's message, in the shop's format
(:mod:`kernel.seller`; the demo's: ``KF20261120001``, ``kf-2026-1120-001``, ``KF 2026 1120 001``, full-width
``ＫＦ２０２６…``). It refuses oversized input, two different numbers in one message, and, when the format's
digits start with the order date, a date part that is no date.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from kernel import seller

MAX_ORDER_INPUT = 200


@dataclass(frozen=True)
class OrderIdParse:
    order_id: Optional[str]
    problem: Optional[str]  # None | "empty" | "too_long" | "not_found_in_text" | "ambiguous"


def parse_order_id(value: Any, formats: Optional[seller.ShopFormats] = None) -> OrderIdParse:
    """Find one order number in free text: ``KF20261120001``, ``kf-2026-1120-001``, ``ＫＦ２０２６…`` (demo format)."""
    if not isinstance(value, str) or not value.strip():
        return OrderIdParse(None, "empty")
    if len(value) > MAX_ORDER_INPUT:
        return OrderIdParse(None, "too_long")
    fmt = (formats or seller.current()).order_number
    norm = unicodedata.normalize("NFKC", value)
    found = {re.sub(r"[^0-9]", "", m.group(1)) for m in fmt.search_regex.finditer(norm)}
    if not found:
        return OrderIdParse(None, "not_found_in_text")
    if len(found) > 1:
        return OrderIdParse(None, "ambiguous")
    digits = found.pop()
    if fmt.dated:
        try:
            datetime.strptime(digits[:8], "%Y%m%d")
        except ValueError:
            return OrderIdParse(None, "not_found_in_text")
    return OrderIdParse(fmt.canonical(digits), None)
