"""``action_record_csat``: the customer's 1-5 rating after an agent closed the chat.

The widget sends ``/csat_rating{"rating":4}``; WeChat customers type a digit
("4", "4分", "四星"). The rating goes to the console (``/internal/csat``) and into
the ``csat_rating`` slot, which reaches the console through the event broker
too, so a rating given while the console restarts is still stored.

A rating is read only when one was asked for (the console sets ``csat_ticket`` when it
closes a chat) or when the message is nothing but a rating. Otherwise NLU's
``csat_rating`` is a misreading of a message with a number in it ("积分有啥用 多少分抵1块",
"1箱几个": 5.5% of real buyer messages, docs/benchmarks.md) and the fallback ladder
(the knowledge base) takes the turn.

The same intent answers the bot's own rating questions (``actions/feedback.py``): the CSAT of a conversation the
bot handled alone and the customer-effort score (CES) this action asks after the agent's rating. Those are read
only in the message right after the question (``feedback_request``); the result goes into ``service_feedback``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import SettingsError, ces_ask, load_settings, pending_request, record_requested_rating
from actions.handoff import POST_TIMEOUT, console_url, service_token
from actions.ratings import is_bare_rating, rating_from
from kernel.i18n import text as t

log = logging.getLogger(__name__)

LOW_RATING = 2


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
        entities = latest.get("entities") or []
        request = pending_request(tracker.events)
        if request is not None and not tracker.get_slot("csat_ticket"):  # the bot's own rating question
            return record_requested_rating(dispatcher, tracker, request, rating_from(entities, latest.get("text")))
        typed = not (latest.get("text") or "").startswith("/")
        if not tracker.get_slot("csat_ticket") and (typed or not is_bare_rating(entities, latest.get("text"))):
            # nobody asked for a rating: "5", "3" or "积分有啥用 多少分抵1块" typed out of the blue is a misreading
            # (only the rating buttons of a closed chat, or a reply to the bot's own question, rate anything)
            return [FollowupAction("action_fallback_ladder")]
        rating = rating_from(entities, latest.get("text"))
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
        events = [SlotSet("csat_rating", {"rating": rating, "ticket_id": ticket_id}), SlotSet("csat_ticket", None)]
        if ticket_id and _ces_after_csat():
            events.extend(ces_ask(dispatcher, language, str(ticket_id)))
        return events


def _ces_after_csat() -> bool:
    try:
        return load_settings().ces_after_csat
    except SettingsError as error:
        log.error("feedback.settings_invalid %s", error)
        return False
