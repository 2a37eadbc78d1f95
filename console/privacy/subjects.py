"""Who a request is about: a customer id or one conversation id, checked before any store is touched."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: customer ids of the store backends and the ``verified_customer_id`` slot: letters, digits, ``_`` and ``-``
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: a Rasa sender id: printable, no spaces or control characters, at most 255 characters (the console's column)
MAX_CONVERSATION_ID = 255
#: the marker of an anonymised conversation id: ``erased:<random hex>``
ERASED_PREFIX = "erased:"


class SubjectError(ValueError):
    """The request names no valid customer or conversation."""


@dataclass(frozen=True)
class Subject:
    kind: str  # customer | conversation
    value: str

    def describe(self) -> str:
        return f"{self.kind} {self.value}"


def parse_subject(customer: object = None, conversation: object = None) -> Subject:
    """Exactly one of ``customer`` and ``conversation``, checked; :class:`SubjectError` says what is wrong."""
    if (customer is None) == (conversation is None):
        raise SubjectError("name exactly one of customer or conversation")
    if customer is not None:
        if not isinstance(customer, str) or not CUSTOMER_ID.match(customer):
            raise SubjectError("customer must be a customer id: 1 to 64 letters, digits, '_' or '-'")
        return Subject("customer", customer)
    if not isinstance(conversation, str) or not conversation or len(conversation) > MAX_CONVERSATION_ID:
        raise SubjectError(f"conversation must be a conversation id of 1 to {MAX_CONVERSATION_ID} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in conversation):
        raise SubjectError("conversation must not contain spaces or control characters")
    if conversation.startswith(ERASED_PREFIX):
        raise SubjectError("that conversation id is an anonymised one: there is nothing of a person left to find")
    return Subject("conversation", conversation)
