"""Keep ``console_conversations`` up to date from Rasa's events (called by the events tail inside its
per-event savepoint, so a row and the cursor commit together).

Every value comes from the event stream, so every value is checked: a customer id that is not a plain id
(control characters, spaces, longer than the column) links nothing (truncating it could name another
customer), an unknown ``verified_via`` is not stored, and a timestamp that is not a finite number counts as now.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Dict, Optional

from sqlalchemy.orm import Session

from console.customers.models import ConversationRow

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
#: slots that carry who the customer is; the value None (an identity that lapsed) keeps the link:
#: the conversation was that customer's when it was verified
CUSTOMER_SLOT = "verified_customer_id"
VIA_SLOT = "verified_via"
MAX_CUSTOMER_ID = 64
MAX_SENDER_ID = 255
#: how the bot verifies a customer (actions/identity.py)
VIA_METHODS = ("phone", "wechat", "wecom", "web_token")
#: a customer id as the console stores and accepts it: the store's ids (``C0001``) and a seller system's
#: (letters, digits and ``_ . : -``), never whitespace or control characters
CUSTOMER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")


def valid_customer_id(value: Any) -> Optional[str]:
    """``value`` when it is a customer id the console accepts, else None."""
    return value if isinstance(value, str) and CUSTOMER_ID_RE.fullmatch(value) else None


def event_time(value: Any) -> float:
    """An event's timestamp; now when it is missing or not a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return time.time()
    return float(value)


def conversation(session: Session, sender_id: str, ts: float, channel: str = "") -> ConversationRow:
    row = session.get(ConversationRow, sender_id)
    if row is None:
        row = ConversationRow(sender_id=sender_id, channel=channel or "", language="", customer_id=None,
                              user_messages=0, first_at=ts, last_at=ts)
        session.add(row)
    row.first_at = min(row.first_at, ts)
    row.last_at = max(row.last_at, ts)
    if channel and not row.channel:
        row.channel = channel
    return row


def record_event(session: Session, sender_id: str, event: Dict[str, Any]) -> Optional[ConversationRow]:
    """Note a user message (channel, count) or an identity / language slot; other events change nothing."""
    if not isinstance(sender_id, str) or not sender_id or len(sender_id) > MAX_SENDER_ID:
        return None
    kind = event.get("event")
    ts = event_time(event.get("timestamp"))
    if kind == "user":
        channel = event.get("input_channel")
        row = conversation(session, sender_id, ts, channel[:64] if isinstance(channel, str) else "")
        row.user_messages += 1
        return row
    if kind != "slot":
        return None
    name, value = event.get("name"), event.get("value")
    if name == "language" and value in LANGUAGES:
        row = conversation(session, sender_id, ts)
        row.language = value
        return row
    if name == CUSTOMER_SLOT and valid_customer_id(value):
        row = conversation(session, sender_id, ts)
        row.customer_id = value
        row.verified_at = ts
        return row
    if name == VIA_SLOT and value in VIA_METHODS:
        row = conversation(session, sender_id, ts)
        row.verified_via = value
        return row
    return None
