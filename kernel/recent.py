"""A bounded map of the most recently used entries (an ``OrderedDict``, least recently used first)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional, TypeVar

K = TypeVar("K")
V = TypeVar("V")


def put_recent(entries: OrderedDict[K, V], key: K, value: Optional[V], limit: int) -> None:
    """Put ``value`` under ``key`` as the most recently used entry (None, or a ``limit`` of 0 or less, removes the
    key), then let the least recently used entries go beyond ``limit``."""
    entries.pop(key, None)
    if value is None or limit <= 0:
        return
    entries[key] = value
    while len(entries) > limit:
        entries.popitem(last=False)
