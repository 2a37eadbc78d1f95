"""Customer identity checks for order data, and masking of personal data.

A customer is verified by one of:

1. the last 4 digits of the phone number on the order they ask about (the check is limited per
   conversation here, and per order / customer / client IP across conversations by
   :mod:`actions.verification_guard`); it verifies the customer for ``KEFU_VERIFIED_TTL_SECONDS``
   (default 30 minutes), in that conversation only;
2. a channel identity bound to the customer: the conversation id is ``wechat:<openid>`` or
   ``wecom:<corp>:<userid>`` (built by the channels from a signed message, see
   :mod:`kernel.conversation_ids`) and that openid / userid is bound; it holds while that stays true;
3. a signed web-user token in the message metadata key ``kefu_user_token``:
   ``<base64url(json {"cid": ..., "exp": ...})>.<hex hmac-sha256 of the first part>``
   with the secret ``KEFU_WEB_TOKEN_SECRET``; it holds only while each message carries a valid
   token for the same customer, and a token for another customer replaces any identity.

Why bound and expiring: a verified identity stored in the conversation's slots used to hold for
the rest of the conversation, whatever happened to the page or the device. Now
:func:`decide_identity` re-checks the stored identity on every use.

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
from typing import Any, Dict, Mapping, Optional

from actions.store.types import Order, StoreBackend, StoreInputError
from actions.store.validation import EXTERNAL_ID_RE, IDENTITY_CHANNELS, is_customer_id
from kernel.conversation_ids import channel_identity

log = logging.getLogger(__name__)

MAX_FAILURES = 3
TOKEN_METADATA_KEY = "kefu_user_token"
TOKEN_SECRET_ENV = "KEFU_WEB_TOKEN_SECRET"
MAX_TOKEN_LENGTH = 1024
MAX_INPUT_LENGTH = 200

METHOD_PHONE = "phone"
METHOD_WEB_TOKEN = "web_token"

VERIFIED_TTL_ENV = "KEFU_VERIFIED_TTL_SECONDS"
DEFAULT_VERIFIED_TTL_SECONDS = 1800
MAX_VERIFIED_TTL_SECONDS = 7 * 86400
#: a ``verified_at`` this far in the future (clock skew between replicas) still counts as now
CLOCK_SKEW_SECONDS = 60.0


@dataclass(frozen=True)
class VerifiedIdentity:
    customer_id: str
    method: str  # "phone" | "wechat" | "wecom" | "web_token"
    #: when the identity was established (epoch seconds) and in which conversation
    verified_at: Optional[float] = None
    conversation_id: Optional[str] = None


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
    if not is_customer_id(customer_id):
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
    if not is_customer_id(cid):
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
def verified_ttl_seconds(env: Mapping[str, str] = os.environ) -> float:
    """``KEFU_VERIFIED_TTL_SECONDS`` (default 30 min): how long a phone check verifies the customer."""
    raw = (env.get(VERIFIED_TTL_ENV, "") or "").strip()
    if not raw:
        return DEFAULT_VERIFIED_TTL_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (1.0 <= value <= MAX_VERIFIED_TTL_SECONDS) or value != value:
        log.error("%s=%r is not a number of seconds between 1 and %d: using %d",
                  VERIFIED_TTL_ENV, raw, MAX_VERIFIED_TTL_SECONDS, DEFAULT_VERIFIED_TTL_SECONDS)
        return DEFAULT_VERIFIED_TTL_SECONDS
    return value


def identity_from_channel(conversation_id: Optional[str], store: StoreBackend) -> Optional[VerifiedIdentity]:
    """The customer bound to the WeChat/WeCom identity this conversation id proves, or None.

    Only a channel-scoped id (``wechat:<openid>``, ``wecom:<corp>:<userid>``, built by the channels
    from a signed message) proves an identity; REST, web and legacy unprefixed ids never do, so a
    REST caller who sends a customer's openid as its ``sender`` gets nothing. May raise StoreUnavailable.
    """
    proven = channel_identity(conversation_id)
    if proven is None:
        return None
    channel, external_id = proven
    if channel not in IDENTITY_CHANNELS or not EXTERNAL_ID_RE.match(external_id):
        return None
    try:
        customer = store.find_customer_by_channel(channel, external_id)
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


#: Why a stored identity no longer holds (IdentityDecision.change).
CHANGE_NONE = "none"  # no identity before, none now
CHANGE_KEPT = "kept"  # the stored identity still holds
CHANGE_NEW = "new"  # no stored identity; one established now (token or channel)
CHANGE_REPLACED = "replaced"  # the stored identity gave way to another (token for another customer, ...)
CHANGE_EXPIRED = "expired"  # phone check older than the TTL (or of unknown age)
CHANGE_LOGGED_OUT = "logged_out"  # token identity, and this message has no valid token
CHANGE_UNBOUND = "unbound"  # channel identity no longer bound to that customer
CHANGE_REBOUND = "other_conversation"  # established in another conversation (never carried over)
CHANGE_INVALID = "invalid"  # unknown method in the slots

VERIFIED_SLOTS = ("verified_customer_id", "verified_via", "verified_at", "verified_conversation")


@dataclass(frozen=True)
class IdentityDecision:
    """Who the customer is for this message, and what to do with the stored identity slots."""

    identity: Optional[VerifiedIdentity]
    change: str
    #: the reason the stored identity was dropped, when it was (also set for CHANGE_REPLACED)
    dropped: Optional[str] = None

    @property
    def reset(self) -> bool:
        """The stored identity no longer holds: its slots and ``order_verified`` must be cleared."""
        return self.dropped is not None

    def slot_updates(self) -> Dict[str, Any]:
        """Slot values to set (empty when nothing changes)."""
        out: Dict[str, Any] = {}
        if self.reset:
            out.update({name: None for name in VERIFIED_SLOTS})
            out["order_verified"] = None
        if self.identity is not None and self.change in (CHANGE_NEW, CHANGE_REPLACED):
            out.update(identity_slots(self.identity))
        return out


def _as_time(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def decide_identity(
    *,
    slot_customer_id: Any,
    slot_method: Any,
    slot_verified_at: Any,
    slot_conversation: Any,
    conversation_id: Optional[str],
    metadata: Any,
    store: StoreBackend,
    secret: Optional[str],
    now: Optional[float] = None,
    ttl_seconds: float = DEFAULT_VERIFIED_TTL_SECONDS,
) -> IdentityDecision:
    """The identity that holds for this message. May raise StoreUnavailable.

    Rules (docs/orders.md, "Verified identity"):

    - a stored identity holds only in the conversation that established it (``verified_conversation``);
    - ``phone``: for ``ttl_seconds`` after the check (``verified_at``);
    - ``web_token``: only while this message carries a valid token for the same customer; a message
      without one (a logged-out page) drops it;
    - ``wechat`` / ``wecom``: only while the conversation id still proves a channel identity bound
      to that customer;
    - a valid token for *another* customer replaces any stored identity.

    Without a stored identity that holds: a valid token, else a bound channel identity, else None.
    """
    now = time.time() if now is None else now
    conversation = conversation_id or ""
    token = identity_from_metadata(metadata, secret, now)
    dropped: Optional[str] = None
    stored: Optional[VerifiedIdentity] = None
    if is_customer_id(slot_customer_id):
        stored = VerifiedIdentity(slot_customer_id, str(slot_method or ""), _as_time(slot_verified_at),
                                  slot_conversation if isinstance(slot_conversation, str) else None)
    if stored is not None and stored.conversation_id != conversation:
        stored, dropped = None, CHANGE_REBOUND
    if stored is not None and token is not None and token.customer_id != stored.customer_id:
        stored, dropped = None, CHANGE_REPLACED
    if stored is not None:
        if stored.method == METHOD_PHONE:
            at = stored.verified_at
            if at is not None and at - CLOCK_SKEW_SECONDS <= now < at + ttl_seconds:
                return IdentityDecision(stored, CHANGE_KEPT)
            dropped = CHANGE_EXPIRED
        elif stored.method == METHOD_WEB_TOKEN:
            if token is not None:  # same customer (another one was handled above)
                return IdentityDecision(stored, CHANGE_KEPT)
            dropped = CHANGE_LOGGED_OUT
        elif stored.method in IDENTITY_CHANNELS:
            current = identity_from_channel(conversation, store)
            if current is not None and current.customer_id == stored.customer_id and current.method == stored.method:
                return IdentityDecision(stored, CHANGE_KEPT)
            dropped = CHANGE_UNBOUND
        else:
            dropped = CHANGE_INVALID
    fresh = token or identity_from_channel(conversation, store)
    if fresh is not None:
        fresh = VerifiedIdentity(fresh.customer_id, fresh.method, now, conversation)
        return IdentityDecision(fresh, CHANGE_REPLACED if dropped else CHANGE_NEW, dropped)
    return IdentityDecision(None, dropped or CHANGE_NONE, dropped)


def decision_for_tracker(
    tracker: Any, store: StoreBackend, now: Optional[float] = None, env: Mapping[str, str] = os.environ
) -> IdentityDecision:
    """:func:`decide_identity` for a rasa-sdk ``Tracker``. May raise StoreUnavailable."""
    latest = tracker.latest_message or {}
    decision = decide_identity(
        slot_customer_id=tracker.get_slot("verified_customer_id"),
        slot_method=tracker.get_slot("verified_via"),
        slot_verified_at=tracker.get_slot("verified_at"),
        slot_conversation=tracker.get_slot("verified_conversation"),
        conversation_id=tracker.sender_id,
        metadata=latest.get("metadata"),
        store=store,
        secret=web_token_secret(env),
        now=now,
        ttl_seconds=verified_ttl_seconds(env),
    )
    if decision.reset:
        log.info("verified identity dropped (%s) in conversation %s", decision.dropped, _mask(tracker.sender_id))
    return decision


def identity_for_tracker(tracker: Any, store: StoreBackend) -> Optional[VerifiedIdentity]:
    """The identity that holds for the tracker's latest message, or None. May raise StoreUnavailable."""
    return decision_for_tracker(tracker, store).identity


def _mask(value: Optional[str]) -> str:
    s = value or "-"
    return s if len(s) <= 8 else f"{s[:4]}…{s[-4:]}"


def identity_slots(identity: VerifiedIdentity) -> Dict[str, Any]:
    """The slots that store ``identity`` (its time and conversation are kept as they are)."""
    return {
        "verified_customer_id": identity.customer_id,
        "verified_via": identity.method,
        "verified_at": identity.verified_at,
        "verified_conversation": identity.conversation_id,
    }
