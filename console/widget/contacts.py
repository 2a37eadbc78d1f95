"""A contact the shopper leaves when handed to a person outside staffed hours: a phone number, a WeChat id or an
e-mail address, each optional, at least one. Kefu sends no SMS and no e-mail (there is no provider): the widget
says the reply comes in the chat, and the agent may use the contact themselves.

Agents see it masked (``138****5678``, ``wx***d8``, ``z***@example.com``), like the customer's name the bot attached;
the agent the ticket is assigned to sees it whole on that ticket (docs/privacy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from console.widget.models import ContactRow

FIELDS = ("phone", "wechat", "email")
#: mainland mobile (11 digits, 1[3-9]), or an international number: +, 7-15 digits; spaces and dashes allowed
_PHONE_CN = re.compile(r"^1[3-9]\d{9}$")
_PHONE_INTL = re.compile(r"^\+\d{7,15}$")
#: WeChat's rule for a WeChat id: 6-20 letters, digits, _ or -, starting with a letter
_WECHAT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{5,19}$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class ContactError(ValueError):
    """A field that is not a phone number, WeChat id or e-mail address; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Contact:
    phone: str = ""
    wechat: str = ""
    email: str = ""

    def as_dict(self) -> Dict[str, str]:
        return {"phone": self.phone, "wechat": self.wechat, "email": self.email}


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ContactError(name, f"{name} must be text")
    return value.strip()


def parse_contact(body: Mapping[str, Any]) -> Contact:
    """The three fields, checked; at least one. Raises :class:`ContactError`."""
    phone = re.sub(r"[\s\-()]", "", _text(body, "phone"))
    if phone.startswith("+86"):
        phone = phone[3:]
    wechat = _text(body, "wechat")
    email = _text(body, "email").lower()
    if phone and not (_PHONE_CN.match(phone) or _PHONE_INTL.match(phone)):
        raise ContactError("phone", "a mobile number is 11 digits starting with 1, or + and the country code")
    if wechat and not _WECHAT.match(wechat):
        raise ContactError("wechat", "a WeChat id is 6-20 letters, digits, _ or -, starting with a letter")
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise ContactError("email", "that is not an e-mail address")
    if not (phone or wechat or email):
        raise ContactError("phone", "leave at least one way to reach you")
    return Contact(phone, wechat, email)


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) <= 7:
        return phone[:1] + "*" * (len(phone) - 1)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_wechat(wechat: str) -> str:
    if not wechat:
        return ""
    return f"{wechat[:2]}***{wechat[-2:]}"


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def contact_json(row: Optional[ContactRow], whole: bool) -> Optional[Dict[str, Any]]:
    """The contact as an agent sees it: whole for the ticket's assigned agent (``whole``), masked otherwise."""
    if row is None:
        return None
    if whole:
        values = {"phone": row.phone, "wechat": row.wechat, "email": row.email}
    else:
        values = {"phone": mask_phone(row.phone), "wechat": mask_wechat(row.wechat), "email": mask_email(row.email)}
    return {**values, "masked": not whole, "left_at": row.created_at, "updated_at": row.updated_at}


def shopper_json(row: Optional[ContactRow]) -> Optional[Dict[str, Any]]:
    """What the widget shows the shopper of their own contact: masked too (another person at the same browser)."""
    if row is None:
        return None
    return {"phone": mask_phone(row.phone), "wechat": mask_wechat(row.wechat), "email": mask_email(row.email)}
