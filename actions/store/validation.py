"""Id checks shared by every backend: reject malformed or hostile ids before any I/O.

Order numbers and customer ids follow the shop's formats (:mod:`kernel.seller`, the ``shop:`` section of the
catalogue; the demo's: ``KF`` + 11 digits, ``C`` + 4–8 digits).
"""

from __future__ import annotations

import re

from actions.store.types import StoreInputError
from kernel import seller

SKU_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,31}$")
EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
IDENTITY_CHANNELS = ("wechat", "wecom")
MAX_SENDER_ID = 256


def is_order_id(value: object) -> bool:
    """Whether ``value`` is an order number in the shop's canonical form (``KF20261120001``)."""
    fmt = seller.current().order_number
    return isinstance(value, str) and len(value) <= 64 and fmt.exact_regex.fullmatch(value) is not None


def is_customer_id(value: object) -> bool:
    """Whether ``value`` is a customer id in the shop's format (``C0001``)."""
    return seller.current().customer_id.matches(value)


def check_order_id(order_id: str) -> str:
    if not is_order_id(order_id):
        fmt = seller.current().order_number
        raise StoreInputError(f"order id must look like {fmt.prefix or 'no prefix'} + {fmt.digits} digits")
    return order_id


def check_customer_id(customer_id: str) -> str:
    if not is_customer_id(customer_id):
        raise StoreInputError("malformed customer id")
    return customer_id


def check_sku_code(code: str) -> str:
    if not isinstance(code, str) or not SKU_CODE_RE.match(code):
        raise StoreInputError("malformed SKU code")
    return code


def check_channel_identity(channel: str, external_id: str) -> None:
    if channel not in IDENTITY_CHANNELS:
        raise StoreInputError("identity channel must be wechat or wecom")
    if not isinstance(external_id, str) or not EXTERNAL_ID_RE.match(external_id):
        raise StoreInputError("malformed channel identity")


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 50:
        raise StoreInputError("limit must be between 1 and 50")
    return limit


def check_sender_id(sender_id: str) -> str:
    if not isinstance(sender_id, str) or not sender_id or len(sender_id) > MAX_SENDER_ID:
        raise StoreInputError("malformed sender id")
    if any(ord(c) < 32 for c in sender_id):
        raise StoreInputError("malformed sender id")
    return sender_id


def check_page(after_id: int, limit: int) -> None:
    """A page of a listing: ``after_id`` a non-negative id, ``limit`` 1..1000."""
    if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
        raise StoreInputError("after_id must be a non-negative integer")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise StoreInputError("limit must be between 1 and 1000")
