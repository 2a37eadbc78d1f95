"""``action_record_csat``: the customer's 1-5 rating after an agent closed the chat.

The widget sends ``/csat_rating{"rating":4}``; WeChat customers type a digit
("4", "4分", "四星"). The rating goes to the console (``/internal/csat``) and into
the ``csat_rating`` slot, which reaches the console through the event broker
too, so a rating given while the console restarts is still stored.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import POST_TIMEOUT, console_url, service_token
from bot.i18n import text as t
from bot.language import normalise

log = logging.getLogger(__name__)

CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_DIGIT = re.compile(r"(?<![\d.])([1-5])(?![\d.])")
_CHINESE = re.compile(r"([一二两三四五])\s*(?:分|星|颗星)")
_STARS = re.compile(r"[⭐★]")
LOW_RATING = 2


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


async def post_csat(sender_id: str, rating: int, ticket_id: Optional[str]) -> Optional[int]:
    """HTTP status of the console's answer, or None when it could not be reached."""
    body: Dict[str, Any] = {"sender_id": sender_id, "rating": rating}
    if ticket_id and str(ticket_id).isdigit():
        body["ticket_id"] = int(ticket_id)
    try:
        async with httpx.AsyncClient(timeout=POST_TIMEOUT) as client:
            response = await client.post(f"{console_url()}/internal/csat", json=body,
                                         headers={"Authorization": f"Bearer {service_token()}"})
    except httpx.HTTPError as error:
        log.warning("console unreachable for csat: %s", type(error).__name__)
        return None
    return response.status_code


class ActionRecordCsat(Action):
    def name(self) -> str:
        return "action_record_csat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        language = tracker.get_slot("language") or "zh-Hans"
        latest = tracker.latest_message or {}
        rating = rating_from(latest.get("entities") or [], latest.get("text"))
        if rating is None:
            dispatcher.utter_message(text=t("msg_csat_invalid", language))
            return []
        ticket_id = tracker.get_slot("csat_ticket")
        status = await post_csat(tracker.sender_id, rating, ticket_id)
        if status == 404 and not ticket_id:
            dispatcher.utter_message(text=t("msg_csat_nothing_to_rate", language))
            return []
        key = "msg_csat_sorry" if rating <= LOW_RATING else "msg_csat_thanks"
        dispatcher.utter_message(text=t(key, language, rating=rating))
        log.info("csat rating=%s ticket=%s console=%s", rating, ticket_id, status)
        return [SlotSet("csat_rating", {"rating": rating, "ticket_id": ticket_id}), SlotSet("csat_ticket", None)]
