"""Customer identity checks for order data, and masking of personal data.

A customer is verified for the rest of the conversation by one of:

1. the last 4 digits of the phone number on the order they ask about;
2. a channel identity bound to the customer: the message arrived on the
   ``wechat`` or ``wecom`` channel and its sender id (openid / userid) is bound;
3. a signed web-user token in the message metadata key ``kefu_user_token``:
   ``<base64url(json {"cid": ..., "exp": ...})>.<hex hmac-sha256 of the first part>``
   with the secret ``KEFU_WEB_TOKEN_SECRET``.

Everything here is a plain function; the store is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from actions.store.types import Order, StoreBackend, StoreInputError
from actions.store.validation import CUSTOMER_ID_RE, EXTERNAL_ID_RE, IDENTITY_CHANNELS

log = logging.getLogger(__name__)

MAX_FAILURES = 3
TOKEN_METADATA_KEY = "kefu_user_token"
TOKEN_SECRET_ENV = "KEFU_WEB_TOKEN_SECRET"
MAX_TOKEN_LENGTH = 1024
MAX_INPUT_LENGTH = 200

METHOD_PHONE = "phone"
METHOD_WEB_TOKEN = "web_token"


@dataclass(frozen=True)
class VerifiedIdentity:
    customer_id: str
    method: str  # "phone" | "wechat" | "wecom" | "web_token"


@dataclass(frozen=True)
class FailureOutcome:
    failures: int
    locked: bool
    attempts_left: int


# ---------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------
def mask_phone(phone: Optional[str]) -> str:
    """``13812345678`` → ``138****5678``; anything short is masked whole."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****"


_ADDRESS_UNITS = "省市区县旗州"


def mask_address(address: Optional[str]) -> str:
    """Keep the province/city/district, hide the street and door number.

    ``上海市浦东新区张杨路500号5号楼1203室`` → ``上海市浦东新区****``.
    Latin addresses keep only their last comma-separated part (the city).
    """
    text = (address or "").strip()
    if not text:
        return "****"
    if any(u in text for u in _ADDRESS_UNITS):
        cut = 0
        for i, ch in enumerate(text[:16]):
            if ch in _ADDRESS_UNITS:
                cut = i + 1
        if cut:
            return text[:cut] + "****"
        return text[:2] + "****"
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return ("****, " + parts[-1]) if len(parts) > 1 else "****"


def mask_name(name: Optional[str]) -> str:
    """``王芳`` → ``王*``; ``Emily Zhang`` → ``E****``."""
    name = (name or "").strip()
    if not name:
        return "*"
    return name[0] + ("*" if len(name) <= 3 and not name.isascii() else "****")


# ---------------------------------------------------------------------------
# Phone suffix
# ---------------------------------------------------------------------------
_ORDER_LIKE = re.compile(r"kf[\s\-_./#]*(?:\d[\s\-_./]*){10}\d(?!\d)", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?(1\d{2})[\s\-]?(\d{4})[\s\-]?(\d{4})(?!\d)")
_FOUR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def parse_phone_suffix(text: Any) -> Optional[str]:
    """The 4 digits a customer typed ("尾号5678", "5678", a full mobile number), or None.

    Order numbers in the same message are ignored; two different 4-digit groups
    are ambiguous and give None.
    """
    if not isinstance(text, str) or not text or len(text) > MAX_INPUT_LENGTH:
        return None
    norm = unicodedata.normalize("NFKC", text)
    norm = _ORDER_LIKE.sub(" ", norm)
    phones = _PHONE.findall(norm)
    if len(phones) == 1:
        return phones[0][2]
    if phones:
        return None
    groups = set(_FOUR.findall(norm))
    return groups.pop() if len(groups) == 1 else None


_DUMMY_PHONE = "00000000000"


def phone_suffix_matches(order: Optional[Order], digits: str) -> bool:
    """Constant-time check of ``digits`` against the order's phone.

    An unknown order (``None``) goes through the same comparison against a dummy
    number, so it costs the same and answers the same as a wrong suffix.
    """
    phone = re.sub(r"\D", "", order.contact_phone) if order is not None else _DUMMY_PHONE
    ok = hmac.compare_digest(phone[-4:].encode(), (digits or "").encode())
    return ok and order is not None


def after_failed_check(failures: Any) -> FailureOutcome:
    """Count one more failed check; lock at ``MAX_FAILURES``."""
    try:
        count = int(failures or 0)
    except (TypeError, ValueError):
        count = 0
    count = max(count, 0) + 1
    return FailureOutcome(count, count >= MAX_FAILURES, max(MAX_FAILURES - count, 0))


def is_locked(locked_slot: Any, failures: Any) -> bool:
    try:
        count = int(failures or 0)
    except (TypeError, ValueError):
        count = 0
    return bool(locked_slot) or count >= MAX_FAILURES


# ---------------------------------------------------------------------------
# Web-user token
# ---------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).hexdigest()


def sign_web_token(customer_id: str, secret: str, ttl_seconds: int = 3600, now: Optional[float] = None) -> str:
    """A token the shop's website puts in the widget's metadata for a logged-in customer."""
    if not secret:
        raise ValueError("a non-empty secret is required")
    if not CUSTOMER_ID_RE.match(customer_id or ""):
        raise ValueError("malformed customer id")
    exp = int((time.time() if now is None else now) + ttl_seconds)
    payload = _b64url(json.dumps({"cid": customer_id, "exp": exp}, separators=(",", ":")).encode("utf-8"))
    return f"{payload}.{_mac(payload, secret)}"


def verify_web_token(token: Any, secret: Optional[str], now: Optional[float] = None) -> Optional[str]:
    """The customer id of a valid, unexpired token; None for anything else."""
    if not secret or not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    payload, sep, signature = token.partition(".")
    if not sep or not payload or not re.fullmatch(r"[0-9a-f]{64}", signature):
        return None
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", payload):
        return None
    if not hmac.compare_digest(_mac(payload, secret), signature):
        return None
    try:
        claims = json.loads(_unb64url(payload).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    cid, exp = claims.get("cid"), claims.get("exp")
    if not isinstance(cid, str) or not CUSTOMER_ID_RE.match(cid):
        return None
    if not isinstance(exp, int) or isinstance(exp, bool):
        return None
    if exp <= (time.time() if now is None else now):
        return None
    return cid


def web_token_secret(env: Mapping[str, str] = os.environ) -> Optional[str]:
    return env.get(TOKEN_SECRET_ENV) or None


# ---------------------------------------------------------------------------
# Who is this?
# ---------------------------------------------------------------------------
def identity_from_channel(
    channel: Optional[str], sender_id: Optional[str], store: StoreBackend
) -> Optional[VerifiedIdentity]:
    """A customer bound to this WeChat/WeCom sender, or None. May raise StoreUnavailable."""
    if channel not in IDENTITY_CHANNELS or not sender_id or not EXTERNAL_ID_RE.match(sender_id):
        return None
    try:
        customer = store.find_customer_by_channel(channel, sender_id)
    except StoreInputError:
        return None
    return VerifiedIdentity(customer.id, channel) if customer else None


def identity_from_metadata(
    metadata: Any, secret: Optional[str], now: Optional[float] = None
) -> Optional[VerifiedIdentity]:
    if not isinstance(metadata, dict):
        return None
    cid = verify_web_token(metadata.get(TOKEN_METADATA_KEY), secret, now)
    return VerifiedIdentity(cid, METHOD_WEB_TOKEN) if cid else None


def resolve_identity(
    *,
    slot_customer_id: Any,
    slot_method: Any,
    channel: Optional[str],
    sender_id: Optional[str],
    metadata: Any,
    store: StoreBackend,
    secret: Optional[str],
    now: Optional[float] = None,
) -> Optional[VerifiedIdentity]:
    """The identity verified earlier in the conversation, else a token, else a bound channel."""
    if isinstance(slot_customer_id, str) and CUSTOMER_ID_RE.match(slot_customer_id):
        return VerifiedIdentity(slot_customer_id, str(slot_method or METHOD_PHONE))
    token_identity = identity_from_metadata(metadata, secret, now)
    if token_identity:
        return token_identity
    return identity_from_channel(channel, sender_id, store)


def identity_for_tracker(tracker: Any, store: StoreBackend) -> Optional[VerifiedIdentity]:
    """:func:`resolve_identity` for a rasa-sdk ``Tracker``. May raise StoreUnavailable."""
    latest = tracker.latest_message or {}
    return resolve_identity(
        slot_customer_id=tracker.get_slot("verified_customer_id"),
        slot_method=tracker.get_slot("verified_via"),
        channel=tracker.get_latest_input_channel(),
        sender_id=tracker.sender_id,
        metadata=latest.get("metadata"),
        store=store,
        secret=web_token_secret(),
    )


def identity_slots(identity: VerifiedIdentity) -> dict:
    return {"verified_customer_id": identity.customer_id, "verified_via": identity.method}
