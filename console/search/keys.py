"""What a search asks for, and the search keys a ticket carries (pure functions).

A query is read as one field: ``order`` (an order number in the shop's format, kernel/seller.py, written any way a
customer writes it), ``phone`` (four digits: the phone's last four the customer gave), ``customer`` (a customer id
in the shop's format), ``ticket`` (``#12``) or ``text`` (anything else, matched literally in the summary and the
messages). ``field=auto`` picks by the query's shape; a caller may name the field instead.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, Optional, Set, Tuple

from kernel import seller
from kernel.text import is_clean

FIELDS = ("auto", "order", "phone", "customer", "ticket", "text")
KEY_KINDS = ("order", "phone", "customer")
MAX_QUERY = 100
MIN_TEXT = 2
MAX_VALUE = 64
_PHONE_QUERY = re.compile(r"^\d{4}$")
_TICKET_QUERY = re.compile(r"^#?(\d{1,12})$")
#: a customer's message that gives the phone's last four digits: "5678", "尾号5678", "後四位 5678"
_PHONE_MESSAGE = re.compile(r"^(?:手机)?(?:尾号|尾號|后四位|後四位|last\s*4(?:\s*digits)?)?\s*[:：是]?\s*(\d{4})\s*[。.!！]?$",
                            re.IGNORECASE)


class QueryError(ValueError):
    """The query cannot be searched; the message says why (400)."""


@dataclass(frozen=True)
class Query:
    field: str  # order | phone | customer | ticket | text
    value: str  # normalised: canonical order number, digits, customer id, ticket id, or the literal text


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def order_numbers(text: Any) -> Set[str]:
    """Every order number in ``text`` in its canonical form (kernel/seller.py's format)."""
    if not isinstance(text, str) or not text:
        return set()
    fmt = seller.current().order_number
    found = set()
    for match in fmt.search_regex.finditer(unicodedata.normalize("NFKC", text[:20000])):
        canonical = fmt.canonical(re.sub(r"[^0-9]", "", match.group(1)))
        if len(canonical) <= MAX_VALUE:
            found.add(canonical)
    return found


def customer_id(value: Any) -> Optional[str]:
    if isinstance(value, str) and seller.current().customer_id.matches(value.strip()):
        return value.strip()
    return None


def parse_query(raw: Any, field: Any = "auto") -> Query:
    """The query as a field and a value; ``QueryError`` for what cannot be searched."""
    if field is None or field == "":
        field = "auto"
    if field not in FIELDS:
        raise QueryError(f"field must be one of {', '.join(FIELDS)}")
    if not isinstance(raw, str):
        raise QueryError("q is required")
    if len(raw) > MAX_QUERY * 4:
        raise QueryError(f"q must have at most {MAX_QUERY} characters")
    if not is_clean(raw):
        raise QueryError("q contains control characters")
    text = normalise(raw)
    if not text:
        raise QueryError("q must not be empty")
    if len(text) > MAX_QUERY:
        raise QueryError(f"q must have at most {MAX_QUERY} characters")
    if field in ("auto", "order"):
        orders = order_numbers(text)
        compact = re.sub(r"[\s\-_/#]", "", text)
        if len(orders) == 1 and len(next(iter(orders))) >= len(compact) - 2:
            return Query("order", orders.pop())
        if field == "order":
            raise QueryError("q is not an order number")
    if field in ("auto", "ticket") and (text.startswith("#") or field == "ticket"):
        match = _TICKET_QUERY.match(text)
        if match:
            return Query("ticket", str(int(match.group(1))))
        if field == "ticket":
            raise QueryError("q is not a ticket number (#12)")
    if field in ("auto", "phone"):
        if _PHONE_QUERY.match(text):
            return Query("phone", text)
        if field == "phone":
            raise QueryError("q must be the four last digits of the phone")
    if field in ("auto", "customer"):
        found = customer_id(text)
        if found is not None:
            return Query("customer", found)
        if field == "customer":
            raise QueryError("q is not a customer id")
    if len(text) < MIN_TEXT:
        raise QueryError(f"type at least {MIN_TEXT} characters to search the text")
    return Query("text", text)


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '\\'``: the user's ``%``, ``_`` and ``\\`` match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def context_keys(context: Dict[str, Any], customer: Dict[str, Any]) -> Set[Tuple[str, str]]:
    """The keys of a new ticket: order numbers in its slots, cards and transcript; the phone suffix the customer
    gave (the ``phone_suffix`` slot or a customer message that is just those digits); the customer id."""
    keys: Set[Tuple[str, str]] = set()
    slots = context.get("slots") if isinstance(context.get("slots"), dict) else {}
    sources: Iterable[Any] = (slots, context.get("facts"), context.get("summary"),
                              [e.get("text") for e in context.get("transcript") or [] if isinstance(e, dict)])
    for source in sources:
        for text in _strings(source):
            keys.update(("order", number) for number in order_numbers(text))
    suffix = slots.get("phone_suffix")
    if isinstance(suffix, (str, int)) and not isinstance(suffix, bool) and _PHONE_QUERY.match(str(suffix).strip()):
        keys.add(("phone", str(suffix).strip()))
    for entry in context.get("transcript") or []:
        if isinstance(entry, dict) and entry.get("author") == "customer":
            keys.update(message_keys("customer", entry.get("text")))
    for value in (customer.get("id") if isinstance(customer, dict) else None,
                  slots.get("verified_customer_id"), slots.get("customer_id")):
        found = customer_id(value)
        if found is not None:
            keys.add(("customer", found))
    return keys


def message_keys(author: str, text: Any) -> Set[Tuple[str, str]]:
    """The keys in one message: order numbers (anyone's), the phone suffix (the customer's)."""
    if not isinstance(text, str):
        return set()
    keys = {("order", number) for number in order_numbers(text)}
    if author == "customer":
        match = _PHONE_MESSAGE.match(normalise(text)[:60])
        if match:
            keys.add(("phone", match.group(1)))
    return keys
