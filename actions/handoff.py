"""Hand the conversation to a person: ``action_handoff``.

1. Decide the reason and category (actions/escalation.py, from the tracker).
2. Build the context: channel and sender, customer profile, language, reason,
   priority inputs, the transcript with timestamps, intents and confidences,
   slots, the order/stock facts the bot showed (``kefu_card`` payloads), FAQ
   candidates, sentiment and a short extractive summary (pure functions below).
3. POST it to the console (``$KEFU_CONSOLE_URL/internal/handoffs``) and tell the
   customer their place in the queue and the expected wait (from the console's
   live data), or when someone will answer outside staffed hours.
4. Write the same context into the ``handoff_request`` slot: it travels through
   Rasa's event broker, and the console opens the ticket from it when the POST
   could not reach it. The console being down never loses a ticket.
5. Pause the conversation: the bot stays silent while a person owns it.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.escalation import (
    Decision,
    infer_category,
    load_config,
    names_nobody,
    signals_from_events,
    unfounded_complaint,
)
from actions.escalation import decide as decide_escalation
from actions.faq import answer_turn
from actions.metrics import record_handoff
from actions.sentiment import score_transcript
from actions.store.offload import offload
from kernel.i18n import text as t
from kernel.settings import persisted_secret, var_dir_of
from knowledge_base.serving.runtime import shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MAX_TRANSCRIPT = 200
MAX_TEXT = 2000
SUMMARY_CHARS = 160
POST_TIMEOUT = 3.0
#: Intents whose messages say nothing about the problem itself.
CHITCHAT_INTENTS = frozenset({"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "human_handoff",
                              "csat_rating"})
#: Slots that are bookkeeping, not facts about the customer's case.
HIDDEN_SLOTS = frozenset({"handoff_request", "requested_slot", "session_started_metadata", "csat_rating"})
CUSTOMER_ID_SLOTS = ("customer_id", "verified_customer_id")
VERIFIED_SLOTS = ("verified", "verified_via", "verified_customer_id")
_ORDER_ID = re.compile(r"\bkf\d{6,}\b", re.IGNORECASE)

CATEGORY_LABEL = {
    "zh-Hans": {"complaint": "投诉", "presales": "售前咨询", "after_sales": "售后", "other": "咨询"},
    "zh-Hant": {"complaint": "投訴", "presales": "售前諮詢", "after_sales": "售後", "other": "諮詢"},
    "en": {"complaint": "Complaint", "presales": "Presales", "after_sales": "After-sales", "other": "Enquiry"},
}
REASON_MESSAGE = {
    "complaint": "msg_handoff_reason_complaint",
    "presales": "msg_handoff_reason_presales",
    "identity": "msg_handoff_reason_identity",
    "negative_sentiment": "msg_handoff_reason_sentiment",
    "repeated_misses": "msg_handoff_reason_misses",
}


# -- settings --------------------------------------------------------------------------------------
def console_url(env: Mapping[str, str] = os.environ) -> str:
    url = env.get("KEFU_CONSOLE_URL")
    if url:
        return url.rstrip("/")
    return f"http://{env.get('KEFU_HOST') or '127.0.0.1'}:{env.get('KEFU_CONSOLE_PORT') or 8080}"


def service_token(env: Mapping[str, str] = os.environ) -> str:
    """KEFU_CONSOLE_SERVICE_TOKEN, else the dev token the console generated in var/."""
    return persisted_secret(var_dir_of(env), "KEFU_CONSOLE_SERVICE_TOKEN", env, create=False)


# -- context (pure) ---------------------------------------------------------------------------------
def _intent(event: Mapping[str, Any]) -> Dict[str, Any]:
    return (event.get("parse_data") or {}).get("intent") or {}


def _kefu_event(event: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    custom = (event.get("data") or {}).get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("kefu_event"), dict):
        return custom["kefu_event"]
    return None


def transcript_from_events(events: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Both sides of the conversation with their timestamps, oldest first (the last ``MAX_TRANSCRIPT``)."""
    out: List[Dict[str, Any]] = []
    for event in events:
        kind = event.get("event")
        if kind not in ("user", "bot") or event.get("timestamp") is None:
            continue
        entry: Dict[str, Any] = {"event": kind, "text": event.get("text") or "",
                                 "timestamp": float(event["timestamp"])}
        if len(entry["text"]) > MAX_TEXT:
            entry["text"] = entry["text"][:MAX_TEXT]
            entry["truncated"] = True
        if kind == "user":
            intent = _intent(event)
            entry.update(author="customer", intent=intent.get("name"), confidence=intent.get("confidence"))
        else:
            kefu_event = _kefu_event(event)
            entry["author"] = "agent" if kefu_event and kefu_event.get("type") == "agent_message" else \
                ("system" if kefu_event else "bot")
            data = {k: v for k, v in (event.get("data") or {}).items() if k in ("buttons", "custom") and v}
            if data:
                entry["data"] = data
        out.append(entry)
    return out[-MAX_TRANSCRIPT:]


def intents_from_events(events: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for event in events:
        if event.get("event") != "user":
            continue
        intent = _intent(event)
        ranking = (event.get("parse_data") or {}).get("intent_ranking") or []
        out.append({
            "text": (event.get("text") or "")[:200], "timestamp": event.get("timestamp"),
            "intent": intent.get("name"), "confidence": intent.get("confidence"),
            "ranking": [{"intent": r.get("name"), "confidence": r.get("confidence")} for r in ranking[:3]],
            "entities": [{"entity": e.get("entity"), "value": e.get("value")}
                         for e in (event.get("parse_data") or {}).get("entities") or []][:10],
        })
    return out[-MAX_TRANSCRIPT:]


def facts_from_events(events: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Order, stock and coupon facts the bot already showed: the ``kefu_card`` custom payloads."""
    facts = []
    for event in events:
        if event.get("event") != "bot":
            continue
        custom = (event.get("data") or {}).get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("kefu_card"), dict):
            card = custom["kefu_card"]
            facts.append({"type": card.get("type") or "card", "timestamp": event.get("timestamp"), "data": card})
    return facts[-20:]


def visible_slots(slots: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in slots.items() if k not in HIDDEN_SLOTS and v not in (None, "", [], {})}


def summarise(customer_messages: Sequence[Dict[str, Any]], slots: Mapping[str, Any], category: str,
              language: str) -> str:
    """A short extractive summary: the one or two customer messages that say most about the problem."""
    scored = []
    for index, message in enumerate(customer_messages):
        text = (message.get("text") or "").strip()
        if not text or text.startswith("/") or message.get("intent") in CHITCHAT_INTENTS and len(text) < 12:
            continue
        content = sum(1 for ch in text if ch.isalnum())
        score = min(content, 60) / 60
        if message.get("intent") in ("complain", "presales_quote"):
            score += 0.6
        if _ORDER_ID.search(text) or any(str(v) in text for k, v in slots.items()
                                          if k in ("order_id", "order_number", "product", "stock_product") and v):
            score += 0.4
        score += 0.5 * max(0.0, -score_transcript([text]).score)
        score += 0.05 * index / max(1, len(customer_messages))  # later messages are a little fresher
        scored.append((score, index, text))
    chosen = sorted(sorted(scored, reverse=True)[:2], key=lambda item: item[1])
    label = CATEGORY_LABEL.get(language, CATEGORY_LABEL["zh-Hans"]).get(category, category)
    separator = ": " if language == "en" else "："
    body = " / ".join(text for _, _, text in chosen) if chosen else ""
    extras = []
    order = slots.get("order_id") or slots.get("order_number")
    if order and (not body or str(order) not in body):
        extras.append(("order " if language == "en" else "订单 ") + str(order))
    product = slots.get("product") or slots.get("stock_product")
    if product and (not body or str(product) not in body):
        extras.append(("product " if language == "en" else "商品 ") + str(product))
    summary = label + separator + (body or ("(no details yet)" if language == "en" else "（顾客未说明具体问题）"))
    if extras:
        summary += (" (" if language == "en" else "（") + ", ".join(extras) + (")" if language == "en" else "）")
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1] + "…"
    return summary


@dataclass(frozen=True)
class CustomerProfile:
    id: Optional[str]
    name: Optional[str]
    tier: Optional[str]
    verified: bool

    def to_dict(self) -> Dict[str, Any]:
        return {"id": self.id, "name": self.name, "tier": self.tier, "verified": self.verified}


def customer_from_slots(slots: Mapping[str, Any]) -> CustomerProfile:
    customer_id = next((str(slots[k]) for k in CUSTOMER_ID_SLOTS if slots.get(k)), None)
    verified = any(bool(slots.get(k)) for k in VERIFIED_SLOTS)
    return CustomerProfile(customer_id, None, None, verified and customer_id is not None)


def build_context(
    *,
    handoff_id: str,
    sender_id: str,
    channel: Optional[str],
    events: Sequence[Mapping[str, Any]],
    slots: Mapping[str, Any],
    decision: Decision,
    customer: CustomerProfile,
    now: float,
) -> Dict[str, Any]:
    config = load_config()
    language = slots.get("language") or "zh-Hans"
    transcript = transcript_from_events(events)
    customer_messages = [m for m in transcript if m["author"] == "customer"]
    spec = config.triggers.get("negative_sentiment", {})
    sentiment = score_transcript([m["text"] for m in customer_messages], int(spec.get("window", 3)),
                                 float(spec.get("threshold", -0.6)))
    faq_candidates = slots.get("faq_candidates")
    return {
        "handoff_id": handoff_id,
        "sender_id": sender_id,
        "channel": channel or "rest",
        "language": language,
        "reason": decision.reason,
        "category": decision.category,
        "trigger": decision.trigger,
        "customer": customer.to_dict(),
        "summary": summarise(customer_messages, slots, decision.category, language),
        "sentiment": sentiment.to_dict() | {"label": sentiment.label},
        "transcript": transcript,
        "intents": intents_from_events(events),
        "slots": visible_slots(slots),
        "facts": facts_from_events(events),
        "faq_candidates": faq_titles(faq_candidates) if isinstance(faq_candidates, list) else [],
        "requested_at": now,
    }


def faq_titles(candidates: Sequence[Any]) -> List[Any]:
    """FAQ candidates with their questions in the three languages (``titles``), so the agent reads the
    question, not the entry id. Uses the knowledge base only when this process already loaded it (the
    FAQ action did, whenever there are candidates); without it the candidates go out as they are."""
    try:
        from knowledge_base.serving.runtime import loaded_knowledge_base

        kb = loaded_knowledge_base()
        matcher = kb.matcher() if kb is not None else None
    except Exception as error:  # the ticket matters more than the titles
        log.warning("faq titles unavailable: %s", type(error).__name__)
        matcher = None
    out: List[Any] = []
    for candidate in candidates[:10]:
        if matcher is not None and isinstance(candidate, dict) and isinstance(candidate.get("id"), str):
            try:
                record = matcher.entry(candidate["id"])
                if record is not None:
                    candidate = {**candidate, "titles": {lang: matcher.title(record, lang)
                                                         for lang in ("zh-Hans", "zh-Hant", "en")}}
            except Exception as error:
                log.warning("faq title lookup failed: %s", type(error).__name__)
        out.append(candidate)
    return out


def wait_text(eta_seconds: int, language: str) -> str:
    if eta_seconds < 60:
        return t("msg_wait_under_minute", language)
    return t("msg_wait_minutes", language, minutes=max(1, math.ceil(eta_seconds / 60)))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _utc(iso_text: Any) -> Optional[datetime]:
    if not isinstance(iso_text, str) or not iso_text:
        return None
    try:
        parsed = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def opening_text(opens_at: Any, opens_at_local: Any, now: float, language: str) -> str:
    """When the team is back, as a person says it: "明天 10:00 后", "after 10:00 tomorrow".

    The console sends the opening time twice: as UTC (``opens_at``) and as wall-clock time in its
    staffed-hours zone (``opens_at_local``, "2026-11-23 10:00"). Their difference is that zone's
    offset, so "today"/"tomorrow" are counted in the team's zone without the action server
    knowing the console's configuration. Never a minute count: "约 748 分钟" helps nobody.
    """
    utc = _utc(opens_at)
    try:
        local = datetime.strptime(str(opens_at_local), "%Y-%m-%d %H:%M") if opens_at_local else None
    except ValueError:
        local = None
    if local is None:
        return str(opens_at_local or opens_at or "")
    offset = local - utc.replace(tzinfo=None) if utc is not None else timedelta(0)
    today = (datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None) + offset).date()
    days = (local.date() - today).days
    clock = local.strftime("%H:%M")
    if days <= 0:
        return t("msg_opens_today", language, time=clock)
    if days == 1:
        return t("msg_opens_tomorrow", language, time=clock)
    if days < 7:
        day = t(f"msg_weekday_{WEEKDAYS[local.weekday()]}", language)
        return t("msg_opens_day", language, day=day, time=clock)
    date = t("msg_date", language, month=local.month, day=local.day,
             month_name=local.strftime("%b"))
    return t("msg_opens_day", language, day=date, time=clock)


def queue_notice(answer: Mapping[str, Any], language: str, now: float) -> Dict[str, Any]:
    """The customer's place and wait, worded once: the bot's message and the widget's banner both use it.

    Returns ``position`` (1-based, as the console counts it), ``staffed``, ``opens`` (when the team is
    back, off hours) or ``wait`` (staffed), and ``notice``: the short sentence the widget shows.
    """
    position = max(1, int(answer.get("position") or 0))
    staffed = bool(answer.get("staffed", True))
    if staffed:
        wait = wait_text(int(answer.get("eta_seconds") or 0), language)
        return {"position": position, "staffed": True, "wait": wait, "opens": None,
                "notice": t("msg_handoff_notice_queued", language, position=position, wait=wait)}
    opens = opening_text(answer.get("opens_at"), answer.get("opens_at_local"), now, language)
    return {"position": position, "staffed": False, "wait": None, "opens": opens,
            "notice": t("msg_handoff_notice_offhours", language, position=position, opens_at=opens)}


def decide_for(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any]) -> Decision:
    """The reason for this handoff. A rule sent the customer here, so no trigger still means "they asked"."""
    config = load_config()
    signals = signals_from_events(events, slots, config)
    decision = decide_escalation(signals, config)
    if decision is None:
        decision = Decision("explicit_request", infer_category("explicit_request", signals, config),
                            f"intent:{signals.intent or 'unknown'}")
    return Decision(decision.reason, decision.category, decision.trigger, "escalate")


def needs_clarifying(decision: Decision) -> bool:
    return decision.category == "other"


# -- I/O at the edges ----------------------------------------------------------------------------------
def with_current_identity(slots: Mapping[str, Any], identity_customer_id: Optional[str]) -> Dict[str, Any]:
    """``slots`` with the verified fields replaced by the identity that holds *now*.

    A verification that expired, belongs to another conversation or was replaced by another customer's
    token must not reach the agent as "verified" (the agent would then read order details to whoever
    is typing).
    """
    current = dict(slots)
    if identity_customer_id:
        current["verified_customer_id"] = identity_customer_id
        return current
    for key in VERIFIED_SLOTS:
        current[key] = None
    return current


def current_identity(tracker: Tracker) -> Optional[str]:
    """The customer id verified for this turn, or None (also when the store cannot be asked)."""
    try:
        from actions.identity import identity_for_tracker
        from actions.store.factory import get_store

        identity = identity_for_tracker(tracker, get_store())
    except Exception as error:  # the store may be down: the ticket goes out as unverified
        log.warning("identity check for handoff failed: %s", type(error).__name__)
        return None
    return identity.customer_id if identity else None


def lookup_customer(profile: CustomerProfile) -> CustomerProfile:
    """Name (masked) and tier from the store, when a verified customer id is known."""
    if not profile.id or not profile.verified:
        return profile
    try:
        from actions.identity import mask_name
        from actions.store.factory import get_store

        customer = get_store().get_customer(profile.id)
    except Exception as error:  # the store may be down: the ticket still goes out
        log.warning("customer lookup failed: %s", type(error).__name__)
        return profile
    if customer is None:
        return profile
    return CustomerProfile(profile.id, mask_name(customer.name), customer.tier, True)


async def post_handoff(context: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The console's answer, or None when it could not be reached (the slot event carries the ticket)."""
    try:
        async with httpx.AsyncClient(timeout=POST_TIMEOUT) as client:
            response = await client.post(f"{console_url()}/internal/handoffs", json=context,
                                         headers={"Authorization": f"Bearer {service_token()}"})
    except httpx.HTTPError as error:
        log.warning("console unreachable for handoff %s: %s", context["handoff_id"], type(error).__name__)
        return None
    if response.status_code not in (200, 201):
        log.warning("console refused handoff %s: status %s", context["handoff_id"], response.status_code)
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, *, decision: Optional[Decision] = None,
                    lead: Optional[Dict[str, Any]] = None, announce: bool = True,
                    ) -> Tuple[List[Dict[str, Any]], Optional[Dict[str, Any]], str]:
    """Open the ticket (with ``lead`` for a presales intake), tell the customer, and pause.

    Returns the events (the ``handoff_request`` slot, the ticket, the pause), the console's answer (None when it was
    down: the slot event still carries the ticket) and the language. ``announce=False`` leaves the queue message to
    the caller (the presales desk words it its own way).
    """
    # the store calls (identity, customer) run in the I/O pool, off the event loop (actions.store.offload)
    slots = with_current_identity(tracker.current_slot_values(), await offload(current_identity, tracker))
    language = slots.get("language") or "zh-Hans"
    decision = decision or decide_for(tracker.events, slots)
    customer = await offload(lookup_customer, customer_from_slots(slots))
    context = build_context(handoff_id=uuid.uuid4().hex, sender_id=tracker.sender_id,
                            channel=tracker.get_latest_input_channel(), events=tracker.events, slots=slots,
                            decision=decision, customer=customer, now=time.time())
    if lead is not None:
        context["lead"] = lead
    answer = await post_handoff(context)
    log.info("handoff %s reason=%s category=%s console=%s lead=%s", context["handoff_id"], decision.reason,
             decision.category, "ok" if answer else "down", bool(lead))
    record_handoff(decision.reason, answer is not None)
    if announce:
        reason_key = REASON_MESSAGE.get(decision.reason)
        if answer is None:
            dispatcher.utter_message(text=t("msg_handoff_console_down", language), json_message=pending_event())
        else:
            if reason_key and answer.get("created", True):
                dispatcher.utter_message(text=t(reason_key, language))
            queue_message(dispatcher, answer, language)
        if needs_clarifying(decision) and (answer is None or answer.get("created", True)):
            dispatcher.utter_message(text=t("msg_handoff_clarify", language))
    events: List[Dict[str, Any]] = [SlotSet("handoff_request", context), SlotSet("human_offered", False)]
    if answer is not None:
        events.append(SlotSet("handoff_ticket", str(answer.get("ticket_id"))))
    events.append(ConversationPaused())
    return events, answer, language


def pending_event() -> Dict[str, Any]:
    """The widget's banner when the console could not be reached (the ticket follows through the event broker)."""
    return {"kefu_event": {"type": "handoff_queued", "position": None, "eta_seconds": None, "staffed": None,
                           "opens_at": None, "pending": True}}


def queue_event(answer: Mapping[str, Any], language: str, now: Optional[float] = None
                ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The queue notice (``queue_notice``) and the widget's ``handoff_queued`` event for the console's answer."""
    queue = queue_notice(answer, language, time.time() if now is None else now)
    kefu_event = {"type": "handoff_queued", "position": int(answer.get("position") or 0),
                  "eta_seconds": int(answer.get("eta_seconds") or 0),
                  "staffed": queue["staffed"], "opens_at": answer.get("opens_at"),
                  "opens_at_local": answer.get("opens_at_local"), "opens_text": queue["opens"],
                  "ticket_id": answer.get("ticket_id")}
    if answer.get("state") != "assigned":
        kefu_event["notice"] = queue["notice"]  # the widget's banner: the same words and number
    return queue, kefu_event


def queue_message(dispatcher: CollectingDispatcher, answer: Mapping[str, Any], language: str,
                  now: Optional[float] = None) -> None:
    queue, kefu_event = queue_event(answer, language, now)
    if answer.get("state") == "assigned":
        message = t("msg_handoff_already_assigned", language)
    else:
        if not answer.get("created", True):
            key = "msg_handoff_already_queued" if queue["staffed"] else "msg_handoff_already_queued_offhours"
        else:
            key = "msg_handoff_queued" if queue["staffed"] else "msg_handoff_offhours"
        message = t(key, language, notice=queue["notice"])
    dispatcher.utter_message(text=message, json_message={"kefu_event": kefu_event})


def a_shop_question_instead(tracker: Tracker) -> bool:
    """NLU read a request for a person, but the message names nobody ("can my husband grab it instead of me") and the
    knowledge base has a sure answer to it: that answer, not a ticket (issue 25, intents that do not over-reach).
    Blocking (the index): call it through :func:`offload`."""
    latest = tracker.latest_message or {}
    message = latest.get("text") or ""
    if (latest.get("intent") or {}).get("name") != "human_handoff" or not names_nobody(message):
        return False
    try:
        return answer_turn(shared_knowledge_base(), message, tracker.get_slot("language"), None).outcome == ANSWER
    except Exception:  # noqa: BLE001 - no index: the customer asked for a person, so a person it is
        log.exception("handoff.kb_failed conversation_id=%s", tracker.sender_id)
        return False


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        if unfounded_complaint(tracker.events):
            log.info("handoff.unfounded_complaint conversation_id=%s: answered by the fallback ladder",
                     tracker.sender_id)
            return [FollowupAction("action_fallback_ladder")]
        if await offload(a_shop_question_instead, tracker):
            log.info("handoff.shop_question conversation_id=%s: answered by the knowledge base", tracker.sender_id)
            return [FollowupAction("action_answer_faq")]
        events, _, _ = await hand_over(dispatcher, tracker)
        return events
