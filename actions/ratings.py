"""Ratings in customer messages (pure: the action server and the Rasa-environment benchmarks use it).

``is_bare_rating``: the message is a rating and nothing else; ``rating_from``: the 1-5 value a message gives.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from kernel.language import normalise

CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGIT = re.compile(r"(?<![\d.])([1-5])(?![\d.])")
_CHINESE = re.compile(r"([一二两三四五])\s*(?:分|星|颗星)")
_STARS = re.compile(r"[⭐★]")
#: a message that is only a rating: "4", "4分", "给五星", "5 stars", "⭐⭐⭐⭐" (after normalisation, punctuation aside)
_BARE = re.compile(r"^(?:给|打)?(?:[1-5]|[一二两三四五])(?:分|星|颗星|stars?|/5)?$|^[⭐★]{1,5}$")
_NOISE = re.compile(r"[\s!！.。,，~～?？]+")


def is_bare_rating(entities: Sequence[Mapping[str, Any]], text: Optional[str]) -> bool:
    """Whether the message is a rating and nothing else: the widget's rating button (``/csat_rating`` with a
    ``rating`` entity), or typed text that holds only a rating. NLU also finds ``rating`` entities inside questions
    ("多少分抵1块"), so an entity alone proves nothing."""
    if (text or "").startswith("/") and any(
        e.get("entity") == "rating" and _as_rating(e.get("value")) is not None for e in entities
    ):
        return True
    return bool(_BARE.match(_NOISE.sub("", normalise(text or "")).lower()))


def rating_from(entities: Sequence[Mapping[str, Any]], text: Optional[str]) -> Optional[int]:
    """The rating from the ``rating`` entity, else from the text; None when there is no single 1-5 value."""
    for entity in entities:
        if entity.get("entity") == "rating":
            value = _as_rating(entity.get("value"))
            if value is not None:
                return value
    if not text:
        return None
    normalised = normalise(text)
    digits = _DIGIT.findall(normalised)
    if len(set(digits)) == 1 and not re.search(r"\d{2,}", normalised):
        return int(digits[0])
    match = _CHINESE.search(normalised)
    if match:
        return CHINESE_DIGITS[match.group(1)]
    stars = len(_STARS.findall(text))
    if 1 <= stars <= 5 and not digits:
        return stars
    return None


def _as_rating(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer() and 1 <= int(value) <= 5:
        return int(value)
    if isinstance(value, str):
        value = normalise(value).strip()
        if value in CHINESE_DIGITS:
            return CHINESE_DIGITS[value]
        if value.isdigit() and 1 <= int(value) <= 5:
            return int(value)
    return None
