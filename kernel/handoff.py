"""The handoff contract: the context the bot attaches to a ticket (reasons, categories, transcript), validated at the boundary.

The action server builds it (actions.handoff, actions.escalation), the console parses it from the events table and
the internal API. One definition, so producer and consumer cannot drift apart.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from kernel.language import DEFAULT_LANGUAGE, LANGUAGES
from kernel.leads import Lead, LeadError, parse_lead

REASONS = ("explicit_request", "complaint", "presales", "repeated_misses", "negative_sentiment", "identity")
CATEGORIES = ("presales", "complaint", "after_sales", "other")
AUTHORS = ("customer", "bot", "agent", "system")
MAX_TRANSCRIPT = 500


class ContextError(ValueError):
    """The context is malformed; the message says which field."""


@dataclass(frozen=True)
class Customer:
    id: Optional[str] = None
    name: Optional[str] = None
    tier: Optional[str] = None
    verified: bool = False


@dataclass(frozen=True)
class TranscriptEntry:
    author: str
    text: str
    timestamp: float
    event: str = "user"  # the Rasa event type (user | bot): part of the message identity
    intent: Optional[str] = None
    confidence: Optional[float] = None
    data: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class HandoffContext:
    handoff_id: str
    sender_id: str
    channel: str
    language: str
    reason: str
    category: str
    trigger: str = ""
    priority: Optional[int] = None
    customer: Customer = field(default_factory=Customer)
    summary: str = ""
    sentiment: Dict[str, Any] = field(default_factory=dict)
    transcript: List[TranscriptEntry] = field(default_factory=list)
    intents: List[Dict[str, Any]] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)
    facts: List[Dict[str, Any]] = field(default_factory=list)
    faq_candidates: List[Any] = field(default_factory=list)
    requested_at: Optional[float] = None
    lead: Optional[Lead] = None  # a presales intake's result (kernel.leads)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _str(raw: Mapping[str, Any], key: str, max_len: int, required: bool = True, default: str = "") -> str:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise ContextError(f"{key} is required")
        return default
    if not isinstance(value, str):
        raise ContextError(f"{key} must be a string")
    if len(value) > max_len:
        raise ContextError(f"{key} is longer than {max_len} characters")
    return value


def _num(value: Any, key: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ContextError(f"{key} must be a number")
    return float(value)


def parse_context(raw: Any) -> HandoffContext:
    if not isinstance(raw, dict):
        raise ContextError("the context must be a JSON object")
    reason = _str(raw, "reason", 32)
    if reason not in REASONS:
        raise ContextError(f"reason must be one of {', '.join(REASONS)}")
    category = _str(raw, "category", 32, required=False, default="other")
    if category not in CATEGORIES:
        raise ContextError(f"category must be one of {', '.join(CATEGORIES)}")
    language = raw.get("language") if raw.get("language") in LANGUAGES else DEFAULT_LANGUAGE
    customer_raw = {} if raw.get("customer") is None else raw.get("customer")
    if not isinstance(customer_raw, dict):
        raise ContextError("customer must be an object")
    customer = Customer(
        id=None if customer_raw.get("id") is None else str(customer_raw.get("id"))[:64],
        name=None if customer_raw.get("name") is None else str(customer_raw.get("name"))[:64],
        tier=None if customer_raw.get("tier") is None else str(customer_raw.get("tier"))[:32],
        verified=bool(customer_raw.get("verified")),
    )
    transcript_raw = raw.get("transcript")
    transcript_raw = [] if transcript_raw is None else transcript_raw
    if not isinstance(transcript_raw, list):
        raise ContextError("transcript must be a list")
    transcript = []
    for index, item in enumerate(transcript_raw[-MAX_TRANSCRIPT:]):
        if not isinstance(item, dict):
            raise ContextError(f"transcript[{index}] must be an object")
        author = item.get("author")
        if author not in AUTHORS:
            raise ContextError(f"transcript[{index}].author must be one of {', '.join(AUTHORS)}")
        timestamp = _num(item.get("timestamp"), f"transcript[{index}].timestamp")
        if timestamp is None:
            raise ContextError(f"transcript[{index}].timestamp is required")
        text = item.get("text") or ""
        if not isinstance(text, str):
            raise ContextError(f"transcript[{index}].text must be a string")
        data = item.get("data")
        transcript.append(
            TranscriptEntry(
                author=author,
                text=text,
                timestamp=timestamp,
                event=str(item.get("event") or ("user" if author == "customer" else "bot")),
                intent=item.get("intent") if isinstance(item.get("intent"), str) else None,
                confidence=_num(item.get("confidence"), f"transcript[{index}].confidence"),
                data=data if isinstance(data, dict) else None,
            )
        )
    for key in ("intents", "facts", "faq_candidates"):
        if raw.get(key) is not None and not isinstance(raw.get(key), list):
            raise ContextError(f"{key} must be a list")
    for key in ("slots", "sentiment"):
        if raw.get(key) is not None and not isinstance(raw.get(key), dict):
            raise ContextError(f"{key} must be an object")
    priority = raw.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise ContextError("priority must be an integer")
    lead = None
    if raw.get("lead") is not None:
        try:
            lead = parse_lead(raw.get("lead"))
        except LeadError as error:
            raise ContextError(f"lead: {error}") from None
    return HandoffContext(
        lead=lead,
        handoff_id=_str(raw, "handoff_id", 64),
        sender_id=_str(raw, "sender_id", 255),
        channel=_str(raw, "channel", 64, required=False, default="rest"),
        language=language,
        reason=reason,
        category=category,
        trigger=_str(raw, "trigger", 128, required=False),
        priority=priority,
        customer=customer,
        summary=_str(raw, "summary", 2000, required=False),
        sentiment=dict(raw.get("sentiment") or {}),
        transcript=transcript,
        intents=list(raw.get("intents") or []),
        slots=dict(raw.get("slots") or {}),
        facts=list(raw.get("facts") or []),
        faq_candidates=list(raw.get("faq_candidates") or []),
        requested_at=_num(raw.get("requested_at"), "requested_at"),
    )


def event_key(sender_id: str, event: str, timestamp: float, text: Optional[str]) -> str:
    """Identity of one Rasa user/bot event: the same in the bot's transcript, the events table and agent replies."""
    raw = f"{sender_id}\x1f{event}\x1f{timestamp:.6f}\x1f{text or ''}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:40]
