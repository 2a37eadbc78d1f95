"""Feedback collected in the conversation (issue 23): 👍/👎 on FAQ answers, a CSAT rating of conversations the bot
handled alone, and the customer-effort score (CES) after a handoff.

- **👍/👎 on an answer.** ``action_answer_faq`` asks :func:`offer_for` whether an answer offers feedback: in the
  widget every single answer does (two small buttons under the bubble), on WeChat and WeCom a sampled share and at
  most once per conversation (the channel numbers the buttons, so the reply "1" or "2" right after the answer is
  the click; any later digit means what it meant before). The buttons' payload names an *offer*
  (``/answer_feedback{"feedback":"up","offer":"<id>"}``); the offer (entry, question, language) is kept in the
  ``answer_feedback_offers`` slot, so a click rates the answer it was under. ``action_record_answer_feedback`` sets
  the ``service_feedback`` slot, which the console's events tail stores (``console_feedback``, kind ``answer``),
  and a 👎 also lands in the knowledge base's unanswered-questions review list as outcome ``downvoted``.
- **Bot-only CSAT.** ``action_ask_bot_csat`` runs after thanks and goodbye: when the conversation had an answered
  question, no handoff, no earlier ask, and it is in the sample (``bot_csat.sample``), it asks for 1-5 (stars in the
  widget, a numbered list on WeChat) and sets ``feedback_request``.
- **CES.** ``action_record_csat`` asks it after the rating of an agent-closed chat (``ces.after_csat``).

A rating counts only in the message right after the bot asked (:func:`pending_request`); skipping is fine.
Settings: ``actions/feedback.yml``, with environment overrides (:func:`load_settings`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kernel.i18n import buttons, text
from kernel.language import LANGUAGES, SIMPLIFIED

log = logging.getLogger(__name__)

CONFIG_FILE = Path(__file__).with_name("feedback.yml")
ANSWER_INTENT = "answer_feedback"
FEEDBACK_ENTITY = "feedback"
OFFER_ENTITY = "offer"
OFFERS_SLOT = "answer_feedback_offers"
REQUEST_SLOT = "feedback_request"
FEEDBACK_SLOT = "service_feedback"
#: offers remembered per conversation: a click under an older answer still finds its question
MAX_OFFERS = 8
MAX_QUESTION = 500
VALUES = {"up": 1, "down": 0}
#: the widget shows the 👍/👎 state itself; other channels get a short thanks
QUIET_CHANNELS = frozenset({"socketio"})
BOT_CSAT = "bot_csat"
CES = "ces"
ANSWER = "answer"
HANDOFF_SLOTS = ("handoff_request", "handoff_ticket", "csat_ticket")
LOW_RATING = 2


class SettingsError(ValueError):
    """A feedback setting (actions/feedback.yml or its environment override) is not valid."""


@dataclass(frozen=True)
class FeedbackSettings:
    answer_share: Mapping[str, float]
    once_per_conversation: FrozenSet[str]
    bot_csat_sample: float
    ces_after_csat: bool


def _share(value: Any, where: str) -> float:
    try:
        share = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: {value!r} is not a number between 0 and 1") from None
    if not 0.0 <= share <= 1.0:
        raise SettingsError(f"{where}: {share} is not between 0 and 1")
    return share


def _channel_shares(raw: str) -> Dict[str, float]:
    """``"socketio=1,wechat=0.25"`` → ``{"socketio": 1.0, "wechat": 0.25}``."""
    out: Dict[str, float] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        channel, sep, value = part.partition("=")
        if not sep or not channel.strip():
            raise SettingsError(f"KEFU_ANSWER_FEEDBACK_SHARE: {part.strip()!r} is not channel=share")
        out[channel.strip()] = _share(value.strip(), f"KEFU_ANSWER_FEEDBACK_SHARE {channel.strip()}")
    return out


def _flag(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{where}: {value!r} is not 1 or 0")


def parse_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> FeedbackSettings:
    answer = raw.get("answer_feedback") or {}
    shares = {str(k): _share(v, f"answer_feedback.share.{k}") for k, v in (answer.get("share") or {}).items()}
    share_text = env.get("KEFU_ANSWER_FEEDBACK_SHARE", "").strip()
    if share_text:
        shares = _channel_shares(share_text)
    once = frozenset(str(c) for c in answer.get("once_per_conversation") or [])
    sample = _share((raw.get("bot_csat") or {}).get("sample", 0.0), "bot_csat.sample")
    sample_text = env.get("KEFU_BOT_CSAT_SAMPLE", "").strip()
    if sample_text:
        sample = _share(sample_text, where="KEFU_BOT_CSAT_SAMPLE")
    ces = bool((raw.get("ces") or {}).get("after_csat", True))
    ces_text = env.get("KEFU_CES_AFTER_CSAT", "").strip()
    if ces_text:
        ces = _flag(ces_text, where="KEFU_CES_AFTER_CSAT")
    return FeedbackSettings(shares, once, sample, ces)


def load_settings(path: Path = CONFIG_FILE, env: Mapping[str, str] = os.environ) -> FeedbackSettings:
    """The settings file with its environment overrides; :class:`SettingsError` names a bad value."""
    return parse_settings(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, env)


def in_sample(key: str, share: float) -> bool:
    """A stable draw: the same key is always in or out of a sample of this share."""
    if share >= 1.0:
        return True
    if share <= 0.0:
        return False
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


# -- the conversation's events (pure) ----------------------------------------------------------------------------
def conversation_events(events: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    """The events of the current session from its first user message on: the slots carried over from an earlier
    session (set right after ``session_started``) are not this conversation's doing."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "session_started":
            start = index + 1
    current = list(events[start:])
    for index, event in enumerate(current):
        if event.get("event") == "user":
            return current[index:]
    return []


def session_key(sender_id: str, events: Sequence[Mapping[str, Any]]) -> str:
    """The conversation's identity for sampling: the sender and the time its session started."""
    started = next((e.get("timestamp") for e in reversed(list(events)) if e.get("event") == "session_started"), None)
    first_user = next((e.get("timestamp") for e in events if e.get("event") == "user"), None)
    return f"{sender_id}:{started if started is not None else first_user}"


def _slot_events(events: Sequence[Mapping[str, Any]], name: str) -> List[Mapping[str, Any]]:
    return [e for e in events if e.get("event") == "slot" and e.get("name") == name]


def offered_feedback(events: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a bot message of these events carried 👍/👎 buttons."""
    for event in events:
        if event.get("event") != "bot":
            continue
        for button in (event.get("data") or {}).get("buttons") or []:
            if isinstance(button, Mapping) and str(button.get("payload") or "").startswith(f"/{ANSWER_INTENT}"):
                return True
    return False


def pending_request(events: Sequence[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """What the bot asked to be rated right before the latest user message: the ``feedback_request`` set since
    the user message before it, or None (a rating asked two messages ago is not read any more)."""
    seen_latest_user = False
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_user:
                return None
            seen_latest_user = True
            continue
        if seen_latest_user and kind == "slot" and event.get("name") == REQUEST_SLOT:
            value = event.get("value")
            return dict(value) if isinstance(value, Mapping) and value.get("kind") in (BOT_CSAT, CES) else None
    return None


def had_handoff(events: Sequence[Mapping[str, Any]]) -> bool:
    if any(e.get("event") == "pause" for e in events):
        return True
    return any(e.get("value") not in (None, "", {}) for name in HANDOFF_SLOTS for e in _slot_events(events, name))


def bot_csat_due(sender_id: str, events: Sequence[Mapping[str, Any]], sample: float) -> bool:
    """Ask for a rating of the bot now? The conversation had an answered question, no person took part, it was not
    asked before (nor rated), and it is in the sample."""
    current = conversation_events(events)
    if not any(e.get("value") == "answered" for e in _slot_events(current, "faq_outcome")):
        return False
    if had_handoff(current):
        return False
    for event in _slot_events(current, REQUEST_SLOT) + _slot_events(current, FEEDBACK_SLOT):
        value = event.get("value")
        if isinstance(value, Mapping) and value.get("kind") == BOT_CSAT:
            return False
    return in_sample("bot_csat:" + session_key(sender_id, events), sample)


def customer_question(events: Sequence[Mapping[str, Any]]) -> str:
    """The customer's latest words (a button's payload is not a question: "/faq_choose{…}" answers the one before)."""
    for event in reversed(list(events)):
        if event.get("event") == "user":
            said = str(event.get("text") or "").strip()
            if said and not said.startswith("/"):
                return said[:MAX_QUESTION]
    return ""


# -- 👍/👎 offers --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offer:
    offer: str
    entry_id: str
    question: str
    language: str
    score: float

    def as_slot(self) -> Dict[str, Any]:
        return {"offer": self.offer, "entry_id": self.entry_id, "question": self.question,
                "language": self.language, "score": self.score}


def feedback_payload(offer: str, value: str) -> str:
    return f"/{ANSWER_INTENT}" + json.dumps({FEEDBACK_ENTITY: value, OFFER_ENTITY: offer}, separators=(",", ":"),
                                            sort_keys=True)


def feedback_buttons(offer: str, language: str) -> List[Dict[str, str]]:
    return [{"title": text("msg_answer_feedback_up", language), "payload": feedback_payload(offer, "up")},
            {"title": text("msg_answer_feedback_down", language), "payload": feedback_payload(offer, "down")}]


def offer_for(settings: FeedbackSettings, channel: Optional[str], sender_id: str,
              events: Sequence[Mapping[str, Any]], entry_id: str, score: float, language: str) -> Optional[Offer]:
    """The 👍/👎 offer for an answer on this channel, or None (channel not asked, not in the sample, or a text
    channel that already asked in this conversation)."""
    channel = channel or ""
    share = settings.answer_share.get(channel, 0.0)
    if share <= 0.0 or not entry_id:
        return None
    current = conversation_events(events)
    if channel in settings.once_per_conversation and offered_feedback(current):
        return None
    turn = next((e.get("timestamp") for e in reversed(current) if e.get("event") == "user"), None)
    if not in_sample(f"answer:{sender_id}:{turn}", share):
        return None
    return Offer(uuid.uuid4().hex[:12], entry_id, customer_question(current), language, round(float(score), 4))


def remember_offer(offers: Any, offer: Offer) -> List[Dict[str, Any]]:
    kept = [o for o in offers if isinstance(o, Mapping)] if isinstance(offers, list) else []
    return [*kept, offer.as_slot()][-MAX_OFFERS:]


def _payload_entities(tracker: Tracker) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") in (FEEDBACK_ENTITY, OFFER_ENTITY):
            values.setdefault(entity["entity"], entity.get("value"))
    raw = (tracker.latest_message or {}).get("text") or ""
    start = raw.find("{")
    if len(values) < 2 and raw.startswith(f"/{ANSWER_INTENT}") and start >= 0:
        try:
            parsed = json.loads(raw[start:])
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict):
            for key in (FEEDBACK_ENTITY, OFFER_ENTITY):
                values.setdefault(key, parsed.get(key))
    return values


def feedback_value(kind: str, value: int, channel: Optional[str], language: str, **extra: Any) -> Dict[str, Any]:
    """The ``service_feedback`` slot's value (read by console/feedback/record.py)."""
    return {"kind": kind, "value": value, "channel": channel or "", "language": language, **extra}


def _language(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in LANGUAGES else SIMPLIFIED


class ActionRecordAnswerFeedback(Action):
    """A 👍 or 👎 under an FAQ answer."""

    def __init__(self, kb: Any = None) -> None:
        self._kb = kb

    def name(self) -> str:
        return "action_record_answer_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        language = _language(tracker)
        channel = tracker.get_latest_input_channel()
        entities = _payload_entities(tracker)
        value = VALUES.get(str(entities.get(FEEDBACK_ENTITY) or ""))
        offers = tracker.get_slot(OFFERS_SLOT)
        offers = [o for o in offers if isinstance(o, Mapping)] if isinstance(offers, list) else []
        offer = next((o for o in offers if o.get("offer") == entities.get(OFFER_ENTITY)), None)
        if value is None or offer is None:
            log.info("feedback.answer_unknown conversation_id=%s offer=%s", tracker.sender_id,
                     str(entities.get(OFFER_ENTITY))[:20])
            dispatcher.utter_message(text=text("msg_answer_feedback_expired", language))
            return []
        if "value" in offer:  # rated already (a second click, a resent message): the first one stands
            return []
        rated = [{**o, "value": value} if o is offer else dict(o) for o in offers]
        events: List[Dict[str, Any]] = [
            SlotSet(FEEDBACK_SLOT, feedback_value(ANSWER, value, channel, str(offer.get("language") or language),
                                                  entry_id=offer.get("entry_id"), question=offer.get("question") or "",
                                                  offer=offer.get("offer"))),
            SlotSet(OFFERS_SLOT, rated),
        ]
        log.info("feedback.answer conversation_id=%s entry=%s value=%s", tracker.sender_id, offer.get("entry_id"), value)
        if value == 0:
            self._record_downvote(offer, tracker.sender_id)
            dispatcher.utter_message(text=text("msg_answer_feedback_sorry", language),
                                     buttons=buttons("msg_answer_feedback_sorry", language))
        elif channel not in QUIET_CHANNELS:
            dispatcher.utter_message(text=text("msg_answer_feedback_thanks", language))
        return events

    def _record_downvote(self, offer: Mapping[str, Any], conversation_id: str) -> None:
        from actions.faq import record_downvote  # actions.faq imports this module for its offers

        record_downvote(self._kb, str(offer.get("question") or ""), str(offer.get("language") or SIMPLIFIED),
                        str(offer.get("entry_id") or ""), float(offer.get("score") or 0.0), conversation_id)


class ActionAskBotCsat(Action):
    """After thanks or goodbye: ask a sampled share of bot-only conversations for a 1-5 rating, once."""

    def name(self) -> str:
        return "action_ask_bot_csat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        try:
            settings = load_settings()
        except SettingsError as error:
            log.error("feedback.settings_invalid %s", error)
            return []
        if not bot_csat_due(tracker.sender_id, tracker.events, settings.bot_csat_sample):
            return []
        language = _language(tracker)
        dispatcher.utter_message(text=text("msg_bot_csat_ask", language), buttons=buttons("msg_bot_csat_ask", language),
                                 json_message={"kefu_event": {"type": "rating_request", "kind": BOT_CSAT}})
        log.info("feedback.bot_csat_asked conversation_id=%s", tracker.sender_id)
        return [SlotSet(REQUEST_SLOT, {"kind": BOT_CSAT})]


def ces_ask(dispatcher: CollectingDispatcher, language: str, ticket_id: Optional[str]) -> List[Dict[str, Any]]:
    """Ask for the effort score of the handoff that ``ticket_id`` was."""
    dispatcher.utter_message(text=text("msg_ces_ask", language), buttons=buttons("msg_ces_ask", language),
                             json_message={"kefu_event": {"type": "rating_request", "kind": CES,
                                                          "ticket_id": ticket_id}})
    return [SlotSet(REQUEST_SLOT, {"kind": CES, "ticket_id": ticket_id})]


def record_requested_rating(dispatcher: CollectingDispatcher, tracker: Tracker, request: Mapping[str, Any],
                            rating: Optional[int]) -> List[Dict[str, Any]]:
    """The customer's answer to a bot-CSAT or CES question the bot just asked."""
    language = _language(tracker)
    if rating is None:
        dispatcher.utter_message(text=text("msg_feedback_invalid", language))
        return [SlotSet(REQUEST_SLOT, dict(request))]  # still asked: the next message may be the number
    kind = str(request.get("kind"))
    extra: Dict[str, Any] = {}
    ticket = request.get("ticket_id")
    if kind == CES and str(ticket or "").isdigit():
        extra["ticket_id"] = int(str(ticket))
    value = feedback_value(kind, rating, tracker.get_latest_input_channel(), language, **extra)
    if kind == CES:
        dispatcher.utter_message(text=text("msg_ces_thanks", language))
    elif rating <= LOW_RATING:
        dispatcher.utter_message(text=text("msg_bot_csat_sorry", language, rating=rating),
                                 buttons=buttons("msg_bot_csat_sorry", language))
    else:
        dispatcher.utter_message(text=text("msg_bot_csat_thanks", language, rating=rating))
    log.info("feedback.%s conversation_id=%s value=%s", kind, tracker.sender_id, rating)
    return [SlotSet(FEEDBACK_SLOT, value), SlotSet(REQUEST_SLOT, None)]
