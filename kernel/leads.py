"""The presales lead contract: what the bot's intake hands sales, validated at the boundary.

The action server builds it (``actions.presales``) and sends it inside the handoff context (``lead``); the console
stores it (``console.leads``), shows it as a card the agent edits, moves its quote status and sends it to the
seller's systems. One definition, so producer and consumer cannot drift apart.

A lead holds the customer's need as parsed values *and* the customer's own words (``notes``): a parser that read
"两百来个" as 200 must never hide what was written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

LEAD_TYPES = ("quote", "sample")
PRIORITIES = ("hot", "warm")
#: The quote status, in order; ``won`` and ``lost`` end it.
STATUSES = ("new", "contacted", "quoted", "won", "lost")
TRANSITIONS: Mapping[str, Tuple[str, ...]] = {
    "new": ("contacted", "quoted", "lost"),
    "contacted": ("quoted", "won", "lost"),
    "quoted": ("contacted", "won", "lost"),
    "won": (),
    "lost": ("contacted",),  # a lost lead can be reopened when the buyer comes back
}
#: The fields an agent may edit on the card (and the intake fills).
EDITABLE = ("type", "product", "product_id", "sku", "quantity", "customisation", "cities", "needed_by", "company",
            "contact_name", "phone", "email", "wechat", "priority", "product_line", "region", "note")
MAX_TEXT = 500
MAX_NOTES = 30
MAX_CITIES = 20
MAX_QUANTITY = 10_000_000
MAX_PROMISED_HOURS = 24 * 90


class LeadError(ValueError):
    """The lead is malformed; the message says which field."""


@dataclass(frozen=True)
class Lead:
    lead_id: str
    type: str = "quote"
    product: str = ""  # the product as named: the catalogue's name when resolved, else the customer's words
    product_id: Optional[str] = None
    sku: Optional[str] = None
    product_line: Optional[str] = None  # the catalogue category ("cups_bottles", "electronics", ...)
    quantity: Optional[int] = None
    customisation: str = ""
    cities: List[str] = field(default_factory=list)
    region: Optional[str] = None
    needed_by: Optional[str] = None  # ISO date, YYYY-MM-DD
    company: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    wechat: str = ""
    priority: str = "warm"
    unit_price_cents: Optional[int] = None
    value_cents: Optional[int] = None  # quantity x list price: the size of the deal, before any discount
    stock_available: Optional[int] = None  # units of the requested product in stock when the lead was made
    stock_note: str = ""  # what the customer was told about stock
    skipped: List[str] = field(default_factory=list)  # fields the customer chose not to give
    notes: List[str] = field(default_factory=list)  # the customer's own words during the intake
    note: str = ""  # the agent's note
    language: str = "zh-Hans"
    #: the quote time the bot promised the customer, in hours (a multiple of 24 was said as working days);
    #: the console holds the lead to it (``console.leads.sla``)
    quote_promised_hours: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _text(raw: Mapping[str, Any], key: str, max_len: int = MAX_TEXT) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise LeadError(f"{key} must be a string")
    if len(value) > max_len:
        raise LeadError(f"{key} is longer than {max_len} characters")
    return value.strip()


def _optional_text(raw: Mapping[str, Any], key: str, max_len: int = 64) -> Optional[str]:
    return _text(raw, key, max_len) or None


def _int(raw: Mapping[str, Any], key: str, low: int = 0, high: int = 10**12) -> Optional[int]:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise LeadError(f"{key} must be a whole number")
    if not low <= value <= high:
        raise LeadError(f"{key} must be between {low} and {high}")
    return value


def _texts(raw: Mapping[str, Any], key: str, limit: int, max_len: int = MAX_TEXT) -> List[str]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LeadError(f"{key} must be a list of strings")
    if len(value) > limit:
        raise LeadError(f"{key} has more than {limit} items")
    if any(len(v) > max_len for v in value):
        raise LeadError(f"an item of {key} is longer than {max_len} characters")
    return [v.strip() for v in value if v.strip()]


def _date(raw: Mapping[str, Any], key: str) -> Optional[str]:
    value = _optional_text(raw, key, 10)
    if value is None:
        return None
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise LeadError(f"{key} must be a date as YYYY-MM-DD") from None


def parse_lead(raw: Any, *, partial: bool = False) -> Lead:
    """A ``Lead`` from JSON. With ``partial`` (an agent's edit), ``lead_id`` may be missing."""
    if not isinstance(raw, dict):
        raise LeadError("the lead must be a JSON object")
    lead_id = _text(raw, "lead_id", 64)
    if not lead_id and not partial:
        raise LeadError("lead_id is required")
    kind = _text(raw, "type", 16) or "quote"
    if kind not in LEAD_TYPES:
        raise LeadError(f"type must be one of {', '.join(LEAD_TYPES)}")
    priority = _text(raw, "priority", 16) or "warm"
    if priority not in PRIORITIES:
        raise LeadError(f"priority must be one of {', '.join(PRIORITIES)}")
    return Lead(
        lead_id=lead_id,
        type=kind,
        product=_text(raw, "product", 200),
        product_id=_optional_text(raw, "product_id"),
        sku=_optional_text(raw, "sku"),
        product_line=_optional_text(raw, "product_line"),
        quantity=_int(raw, "quantity", 1, MAX_QUANTITY),
        customisation=_text(raw, "customisation"),
        cities=_texts(raw, "cities", MAX_CITIES, 64),
        region=_optional_text(raw, "region"),
        needed_by=_date(raw, "needed_by"),
        company=_text(raw, "company", 200),
        contact_name=_text(raw, "contact_name", 100),
        phone=_text(raw, "phone", 32),
        email=_text(raw, "email", 254),
        wechat=_text(raw, "wechat", 64),
        priority=priority,
        unit_price_cents=_int(raw, "unit_price_cents"),
        value_cents=_int(raw, "value_cents"),
        stock_available=_int(raw, "stock_available"),
        stock_note=_text(raw, "stock_note"),
        skipped=_texts(raw, "skipped", len(EDITABLE), 32),
        notes=_texts(raw, "notes", MAX_NOTES, 2000)[-MAX_NOTES:],
        note=_text(raw, "note", 2000),
        language=_text(raw, "language", 16) or "zh-Hans",
        quote_promised_hours=_int(raw, "quote_promised_hours", 1, MAX_PROMISED_HOURS),
    )


def parse_edit(raw: Any) -> Dict[str, Any]:
    """The fields of an agent's card edit, validated one by one; unknown fields are refused."""
    if not isinstance(raw, dict):
        raise LeadError("the edit must be a JSON object")
    unknown = sorted(set(raw) - set(EDITABLE))
    if unknown:
        raise LeadError(f"these fields cannot be edited: {', '.join(unknown)}")
    if not raw:
        raise LeadError("nothing to change")
    parsed = parse_lead(dict(raw), partial=True).to_dict()
    return {key: parsed[key] for key in raw}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, ())
