"""Store the bot's ``service_feedback`` slot in ``console_feedback`` (called by the events tail inside its per-event
savepoint, so a row and the cursor commit together).

The slot's value (``actions/feedback.py``): ``{"kind": "answer"|"bot_csat"|"ces", "value", "entry_id",
"question", "ticket_id", "channel", "language"}``. One event gives at most one row: the row's ``event_key`` is the
event's identity, so a replayed event (a console restart before the cursor moved, two tails) changes nothing. A
value out of range or of an unknown kind is logged and skipped: it is the bot's bug, not the customer's, and the
tail must go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Dict, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.models import ConversationRow
from console.feedback.models import KINDS, FeedbackRow

log = logging.getLogger("kefu.console.feedback")

SLOT = "service_feedback"
LANGUAGES = ("zh-Hans", "zh-Hant", "en")
MAX_QUESTION = 2000


class InvalidFeedback(ValueError):
    """The slot's value is not feedback the table can hold."""


def event_key(sender_id: str, event: Mapping[str, Any]) -> str:
    """The identity of one ``service_feedback`` slot event: sender, time and value."""
    value = json.dumps(event.get("value"), sort_keys=True, ensure_ascii=False, default=str)
    raw = f"{sender_id}\x1fslot:{SLOT}\x1f{float(event.get('timestamp') or 0.0):.6f}\x1f{value}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse(value: Any) -> Dict[str, Any]:
    """The columns of one piece of feedback; :class:`InvalidFeedback` says what is wrong."""
    if not isinstance(value, Mapping):
        raise InvalidFeedback(f"not an object: {type(value).__name__}")
    kind = value.get("kind")
    if kind not in KINDS:
        raise InvalidFeedback(f"unknown kind {kind!r}")
    low, high = KINDS[kind]
    number = _int(value.get("value"))
    if number is None or not low <= number <= high:
        raise InvalidFeedback(f"{kind} value {value.get('value')!r} is not in {low}..{high}")
    entry_id = value.get("entry_id")
    if kind == "answer" and not (isinstance(entry_id, str) and entry_id.strip()):
        raise InvalidFeedback("answer feedback without the entry it rates")
    language = value.get("language")
    return {
        "kind": kind,
        "value": number,
        "entry_id": entry_id.strip()[:128] if isinstance(entry_id, str) and entry_id.strip() else None,
        "question": str(value.get("question") or "")[:MAX_QUESTION],
        "ticket_id": _int(value.get("ticket_id")),
        "channel": str(value.get("channel") or "")[:64],
        "language": language if language in LANGUAGES else "",
    }


def record_feedback(session: Session, sender_id: str, event: Mapping[str, Any]) -> Optional[FeedbackRow]:
    """The row for a ``service_feedback`` slot event (new or already stored), None for other events or a value
    that is not feedback."""
    if event.get("event") != "slot" or event.get("name") != SLOT or event.get("value") is None:
        return None
    try:
        columns = parse(event.get("value"))
    except InvalidFeedback as error:
        log.warning("feedback slot not stored sender=%s: %s", sender_id[:12], error)
        return None
    key = event_key(sender_id, event)
    existing = session.scalars(sa.select(FeedbackRow).where(FeedbackRow.event_key == key)).first()
    if existing is not None:
        return existing
    if not columns["channel"]:  # the bot did not say: the channel the conversation came in on
        conversation = session.get(ConversationRow, sender_id)
        columns["channel"] = conversation.channel if conversation is not None else ""
    row = FeedbackRow(event_key=key, sender_id=sender_id[:255],
                      created_at=float(event.get("timestamp") or time.time()), **columns)
    session.add(row)
    return row
