"""Keep ``console_conversations`` up to date from Rasa's events (called by the events tail inside its
per-event savepoint, so a row and the cursor commit together)."""

from __future__ import annotations

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
    kind = event.get("event")
    ts = float(event.get("timestamp") or time.time())
    if kind == "user":
        row = conversation(session, sender_id, ts, str(event.get("input_channel") or "")[:64])
        row.user_messages += 1
        return row
    if kind != "slot":
        return None
    name, value = event.get("name"), event.get("value")
    if name == "language" and value in LANGUAGES:
        row = conversation(session, sender_id, ts)
        row.language = value
        return row
    if name == CUSTOMER_SLOT and isinstance(value, str) and value.strip():
        row = conversation(session, sender_id, ts)
        row.customer_id = value.strip()[:MAX_CUSTOMER_ID]
        row.verified_at = ts
        return row
    if name == VIA_SLOT and isinstance(value, str) and value.strip():
        row = conversation(session, sender_id, ts)
        row.verified_via = value.strip()[:16]
        return row
    return None
