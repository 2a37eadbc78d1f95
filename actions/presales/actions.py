"""The presales desk's Rasa actions: thin wrappers around ``intake``, ``qualify`` and ``render``.

- ``action_presales_route`` (a ``presales_quote`` turn): a policy question ("报价单有效期几天?", "能开专票吗") that
  the knowledge base answers with confidence gets that answer and a "get a quote" button; a real quote request
  starts the intake (``presales_form``), with everything the customer already said in this conversation filled in.
- ``validate_presales_form``: every message of the intake is read whole (``intake.parse_need``), so "200 个，印
  logo，月底前送上海" fills three questions at once and "不是 200，是 300" corrects; "跳过" skips the question,
  "算了" ends the intake, "转人工" hands over at once with what is known; a question in the middle is answered from
  the knowledge base and the form goes on. Below the bulk threshold the customer is pointed to checkout.
- ``action_presales_submit``: qualification (hot / warm), the lead (``kernel.leads``) attached to the handoff
  (``actions.handoff.hand_over``), the summary, and when sales will reply (the quote SLA, or the team's opening
  time after hours), confirming the contact details. The conversation then waits for sales; the bot keeps answering
  questions meanwhile (``action_while_waiting``), including "where is my quote".
- ``action_quote_status``: the customer's leads and their status, from the console.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Dict, List, Mapping, Optional, Tuple

import httpx
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.coupons import today_in_china
from actions.escalation import Decision, asks_for_a_person
from actions.faq import ActionAnswerFaq, answer_turn, follow_up_context
from actions.handoff import console_url, hand_over, pending_event, queue_event, service_token
from actions.metrics import record_presales
from actions.presales import intake, qualify, render
from actions.presales.signals import (
    asks_for_a_quote,
    asks_quote_status,
    is_a_deal,
    names_no_business_need,
)
from actions.store.offload import offload
from actions.store.types import StoreError
from kernel.i18n import buttons, text, to_script
from kernel.language import LANGUAGES, SIMPLIFIED, normalise
from kernel.questions import looks_like_a_question
from knowledge_base.serving.runtime import shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER, CLARIFY

log = logging.getLogger(__name__)

FORM = "presales_form"
#: form slot -> the intake fields that answer it (any one is enough)
FORM_SLOTS: Mapping[str, Tuple[str, ...]] = {
    "presales_product": ("product_name", "product_query", "product_id"),
    "presales_quantity": ("quantity",),
    "presales_details": ("customisation",),
    "presales_cities": ("cities",),
    "presales_needed_by": ("needed_by",),
    "presales_company": ("company",),
    "presales_contact": ("phone", "email", "wechat"),
}
#: form slot -> the field name the summary and the lead's ``skipped`` use
SLOT_FIELD = {"presales_product": "product", "presales_quantity": "quantity", "presales_details": "customisation",
              "presales_cities": "cities", "presales_needed_by": "needed_by", "presales_company": "company",
              "presales_contact": "contact"}
SKIPPED = "skipped"
NONE = "none"
#: knowledge-base entries that describe how to ask for a quote: the desk takes the request itself
INTAKE_ENTRIES = frozenset({"b2b.request_quote"})
MAX_NOTES = 30
MAX_MESSAGE = 2000
LOOKUP_TIMEOUT = 3.0

_CANCEL = re.compile(r"^(?:算了|不要了|不用了吧|不买了|不需要报价了|取消|取消吧|先不了|先不要了|不用报价了|"
                     r"cancel|never ?mind|forget it|no thanks|stop)[\s!！。.]*$", re.IGNORECASE)
_NO_CUSTOMISATION = re.compile(r"^(?:不需要|不用|不要|没有|无|不定制|不需要定制|不用定制|标准款|普通款|就要原样的|"
                               r"no|none|nope|no customi[sz]ation|not needed|standard)[\s!！。.]*$", re.IGNORECASE)


# -- the intake's reading of one message (pure) ---------------------------------------------------------------------
@dataclass
class Reading:
    state: Dict[str, Any]
    outcome: Optional[str] = None  # cancelled | now
    understood: bool = True
    question: bool = False


def filled(state: Mapping[str, Any], slot: str) -> bool:
    return any(state.get(key) not in (None, "", [], ()) for key in FORM_SLOTS[slot])


def slot_values(state: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    """The form's view of the intake: a short value, "none", "skipped", or None (still to ask)."""
    skipped = set(state.get("skipped") or ())
    nothing = set(state.get("none") or ())
    values: Dict[str, Optional[str]] = {}
    for slot, keys in FORM_SLOTS.items():
        field_name = SLOT_FIELD[slot]
        value = next((state[k] for k in keys if state.get(k) not in (None, "", [], ())), None)
        if value is not None:
            values[slot] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)[:200]
        elif field_name in nothing:
            values[slot] = NONE
        elif field_name in skipped:
            values[slot] = SKIPPED
        else:
            values[slot] = None
    return values


def _note(state: Dict[str, Any], message: str) -> None:
    if message and not message.startswith("/"):
        notes = list(state.get("notes") or [])
        if notes and notes[-1] == message[:MAX_MESSAGE]:
            return
        notes.append(message[:MAX_MESSAGE])
        state["notes"] = notes[-MAX_NOTES:]


def read_message(state: Mapping[str, Any], message: str, requested: Optional[str], *, today: date,
                 catalogue: Any, language: str) -> Reading:
    """What one intake message changes. Never raises for any text."""
    current = dict(state)
    message = (message or "").strip()[:MAX_MESSAGE]
    plain = normalise(message)
    if _CANCEL.match(plain):
        return Reading(current, outcome="cancelled")
    if message.startswith("/human_handoff") or asks_for_a_person(message):
        _note(current, message)
        return Reading(current, outcome="now")
    if message.startswith("/"):  # another button (a repeated "get a quote"): nothing to read
        return Reading(current, understood=message.startswith("/presales_quote"))
    _note(current, message)
    requested_field = SLOT_FIELD.get(requested or "")
    if requested_field == "customisation" and _NO_CUSTOMISATION.match(plain):
        current["none"] = sorted(set(current.get("none") or ()) | {"customisation"})
        return Reading(current)
    if requested_field and intake.skip_words(message):
        current["skipped"] = sorted(set(current.get("skipped") or ()) | {requested_field})
        return Reading(current)
    need = intake.parse_need(message, today=today, catalogue=catalogue, language=language)
    if requested not in (None, "presales_product") and need.product_id is None and filled(current, "presales_product"):
        need = replace(need, product_query=None)  # leftover words of another answer are not a new product
    before = {slot: filled(current, slot) for slot in FORM_SLOTS}
    previous_values = {k: current.get(k) for k in need.fields()}
    merged = intake.merge(current, need)
    merged["notes"] = current.get("notes", [])
    for key in ("skipped", "none"):
        if current.get(key):
            merged[key] = current[key]
    changed = [k for k, v in need.fields().items() if previous_values.get(k) != merged.get(k)]
    newly = [slot for slot in FORM_SLOTS if filled(merged, slot) and not before[slot]]
    question = looks_like_a_question(message)
    if requested in FORM_SLOTS and not filled(merged, requested) and (question or not changed):
        # "报价单有效期几天?" while asked for the city: answered from the knowledge base, nothing taken from it
        return Reading(current, understood=False, question=question)
    if not changed and not newly:
        return Reading(merged, understood=False, question=question)
    return Reading(merged)


# -- helpers at the edges ---------------------------------------------------------------------------------------------
def _language(tracker: Tracker) -> str:
    value = tracker.get_slot("language")
    return value if value in LANGUAGES else SIMPLIFIED


def _catalogue() -> Any:
    from actions.stock.actions import CATALOGUE
    from actions.store.factory import get_store

    try:
        return CATALOGUE.get(get_store())
    except StoreError as error:
        log.warning("presales.catalogue_unavailable: %s", type(error).__name__)
        return None


def _today() -> date:
    return today_in_china()


def _customer_messages(tracker: Tracker, limit: int = 10) -> List[str]:
    """This session's customer messages before the current one (the intake does not ask what they said)."""
    said: List[str] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            said = []
        elif event.get("event") == "user":
            said.append(str(event.get("text") or ""))
    earlier = said[:-1]  # the current message, a text or a button's payload, is read by the caller
    return [body[:MAX_MESSAGE] for body in earlier if body and not body.startswith("/")][-limit:]


def prefill(tracker: Tracker, message: str, *, today: date, catalogue: Any, language: str) -> Dict[str, Any]:
    """The intake's state from the conversation so far and the message that asked for a quote."""
    state: Dict[str, Any] = {}
    for earlier in _customer_messages(tracker):
        need = intake.parse_need(earlier, today=today, catalogue=catalogue, language=language)
        state = intake.merge(state, need)
    sku = tracker.get_slot("stock_sku")
    if sku and not state.get("product_id") and catalogue is not None:
        need = intake.parse_need(str(sku), today=today, catalogue=catalogue, language=language)
        state = intake.merge(state, need)
    state["notes"] = []
    if not message.startswith("/"):
        reading = read_message(state, message, None, today=today, catalogue=catalogue, language=language)
        state = reading.state
    return state


def stock_line(state: Dict[str, Any], language: str) -> Optional[str]:
    """"现货 120 件，其余约 7 天" once the product and quantity are known (said once per product and quantity)."""
    quantity = state.get("quantity")
    product_id = state.get("product_id")
    if not quantity or not product_id:
        return None
    key = f"{product_id}:{state.get('sku') or ''}:{quantity}"
    if state.get("stock_said") == key:
        return None
    state["stock_said"] = key
    config = qualify.load_config()
    name = to_script(str(state.get("product_name") or product_id), language)
    try:
        from actions.store.factory import get_store

        store = get_store()
        catalogue = _catalogue()
        codes = [state["sku"]] if state.get("sku") else \
            [s.code for s in (catalogue.skus if catalogue is not None else ()) if s.product_id == product_id]
        available = qualify.available_units(store, codes)
    except (StoreError, OSError) as error:
        log.warning("presales.stock_unavailable: %s", type(error).__name__)
        state["stock_available"] = None
        state["stock_note"] = render.stock_text(name, int(quantity), None, 0, 0, language)
        return state["stock_note"]
    answer = qualify.stock_answer(int(quantity), available, config)
    state["stock_available"] = answer.available
    state["stock_note"] = render.stock_text(name, answer.requested, answer.available, answer.short,
                                            answer.restock_days, language)
    return state["stock_note"]


def checkout_line(state: Dict[str, Any], language: str) -> Optional[str]:
    """The checkout pointer when what is asked for is below the bulk threshold (None: a lead)."""
    config = qualify.load_config()
    quantity = state.get("quantity")
    if not quantity:
        return None
    verdict = qualify.qualify(int(quantity), state.get("unit_price_cents"), _iso_date(state.get("needed_by")),
                              today=_today(), lead_type=state.get("lead_type"), config=config)
    if verdict.kind != "checkout":
        return None
    return render.checkout_text(int(quantity), config.bulk_threshold.quantity, config.bulk_threshold.value_yuan,
                                language)


def say_stock_or_checkout(dispatcher: CollectingDispatcher, state: Dict[str, Any], language: str) -> bool:
    """Say the stock once product and quantity are known; True when the request is below the bulk threshold (the
    checkout pointer was said and the intake ends)."""
    stock = stock_line(state, language)
    if stock:
        dispatcher.utter_message(text=stock)
    checkout = checkout_line(state, language)
    if checkout:
        dispatcher.utter_message(text=checkout)
        record_presales("checkout")
    return checkout is not None


def _iso_date(value: Any) -> Optional[date]:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _form_events(state: Dict[str, Any], outcome: Optional[str]) -> List[Dict[str, Any]]:
    events = [SlotSet("presales_need", state), SlotSet("presales_outcome", outcome)]
    events += [SlotSet(slot, value) for slot, value in slot_values(state).items()]
    return events


# -- actions ----------------------------------------------------------------------------------------------------------
class ActionPresalesRoute(ActionAnswerFaq):
    def name(self) -> str:
        return "action_presales_route"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        message = (tracker.latest_message.get("text") or "").strip()
        language = _language(tracker)
        catalogue = await offload(_catalogue)
        said = intake.parse_need(message[:MAX_MESSAGE], today=_today(), catalogue=catalogue, language=language)
        if not is_a_deal(message, said.quantity):
            try:
                reply = answer_turn(self._knowledge_base(), message, tracker.get_slot("language"), None,
                                    follow_up_context(tracker.events))
            except Exception:  # the knowledge base failing must not cost the customer the desk
                log.exception("presales.kb_failed conversation_id=%s", tracker.sender_id)
                reply = None
            top = reply.candidates[0]["id"] if reply is not None and reply.candidates else None
            answered = reply is not None and reply.outcome == ANSWER and top not in INTAKE_ENTRIES
            # a question the knowledge base is unsure of ("did you mean…") is still a question, not a deal
            unsure = reply is not None and reply.outcome == CLARIFY and looks_like_a_question(message) \
                and top not in INTAKE_ENTRIES
            if answered or unsure:
                events = self.send(dispatcher, tracker, reply)
                dispatcher.utter_message(text=text("msg_presales_offer_quote", reply.language),
                                         buttons=buttons("msg_presales_offer_quote", reply.language))
                log.info("presales.route conversation_id=%s to=knowledge_base entry=%s", tracker.sender_id, top)
                record_presales("knowledge_base")
                return events
            if reply is not None:
                language = reply.language
            if names_no_business_need(message, said.quantity, said.product_id):
                # "大概要等幾多日": NLU read a quote request where there is no purchase at all; the fallback ladder
                # answers it (or says honestly it cannot), and no intake starts
                log.info("presales.route conversation_id=%s to=fallback", tracker.sender_id)
                return [FollowupAction("action_fallback_ladder")]
        state = prefill(tracker, message, today=_today(), catalogue=catalogue, language=language)
        log.info("presales.route conversation_id=%s to=intake known=%s", tracker.sender_id,
                 sorted(k for k, v in slot_values(state).items() if v))
        dispatcher.utter_message(text=text("msg_presales_intro", language))
        if await offload(say_stock_or_checkout, dispatcher, state, language):
            return _form_events(state, "checkout")
        record_presales("intake")
        return _form_events(state, None) + [FollowupAction(FORM)]


class ValidatePresalesForm(FormValidationAction):
    def name(self) -> str:
        return "validate_presales_form"

    async def required_slots(self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[str]:
        if tracker.get_slot("presales_outcome"):
            return []
        return list(FORM_SLOTS)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[Dict[str, Any]]:
        language = _language(tracker)
        requested = tracker.get_slot("requested_slot")
        state = dict(tracker.get_slot("presales_need") or {})
        message = (tracker.latest_message.get("text") or "").strip()
        outcome = tracker.get_slot("presales_outcome")
        if requested is None:  # the form's activation: action_presales_route already read this message
            events = _form_events(state, outcome)
            tracker.add_slots(events)
            next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
            return events + ([next_slot] if next_slot else [])
        catalogue = await offload(_catalogue)
        reading = read_message(state, message, requested, today=_today(), catalogue=catalogue, language=language)
        state = reading.state
        outcome = reading.outcome
        if outcome == "cancelled":
            dispatcher.utter_message(text=text("msg_presales_cancelled", language))
        elif not reading.understood:
            self._not_understood(dispatcher, message, tracker, reading.question, language)
        if outcome is None and await offload(say_stock_or_checkout, dispatcher, state, language):
            outcome = "checkout"
        events = _form_events(state, outcome)
        tracker.add_slots(events)
        next_slot = await self.next_requested_slot(dispatcher, tracker, domain)
        return events + ([next_slot] if next_slot else [])

    def _not_understood(self, dispatcher: CollectingDispatcher, message: str, tracker: Tracker, question: bool,
                        language: str) -> None:
        if question:
            try:
                reply = answer_turn(shared_knowledge_base(), message, tracker.get_slot("language"), None)
            except Exception:
                log.exception("presales.kb_failed conversation_id=%s", tracker.sender_id)
                reply = None
            if reply is not None and reply.outcome == ANSWER:
                for line in reply.messages:
                    if line.text:
                        dispatcher.utter_message(text=line.text)
                return
        dispatcher.utter_message(text=text("msg_presales_not_understood", language))


class ActionPresalesSubmit(Action):
    def name(self) -> str:
        return "action_presales_submit"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        language = _language(tracker)
        outcome = tracker.get_slot("presales_outcome")
        state = dict(tracker.get_slot("presales_need") or {})
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet("presales_need", None),
                                                               SlotSet("presales_outcome", None)]
        if outcome in ("cancelled", "checkout"):
            if outcome == "cancelled":
                record_presales("cancelled")
            return reset
        config = qualify.load_config()
        verdict = qualify.qualify(state.get("quantity"), state.get("unit_price_cents"),
                                  _iso_date(state.get("needed_by")), today=_today(), lead_type=state.get("lead_type"),
                                  config=config)
        priority = verdict.priority or "warm"
        state["region"] = state.get("region") or intake.region_of(state.get("cities") or ())
        lead = render.lead_payload(state, lead_id=uuid.uuid4().hex, priority=priority, value_cents=verdict.value_cents,
                                   stock_available=state.get("stock_available"),
                                   stock_note=str(state.get("stock_note") or ""), language=language,
                                   quote_promised_hours=config.quote_sla_hours)
        dispatcher.utter_message(text=render.summary(state, language))
        events, answer, _ = await hand_over(dispatcher, tracker, lead=lead, announce=False,
                                            decision=Decision("presales", "presales", "presales_intake"))
        if answer is None:
            dispatcher.utter_message(text=text("msg_handoff_console_down", language), json_message=pending_event())
        else:
            queue, kefu_event = queue_event(answer, language)
            dispatcher.utter_message(text=render.handed_text(state, priority, config.quote_sla_hours, queue, language),
                                     json_message={"kefu_event": kefu_event})
        record_presales("lead", priority)
        log.info("presales.lead conversation_id=%s lead=%s priority=%s outcome=%s", tracker.sender_id,
                 lead["lead_id"], priority, outcome or "complete")
        return reset + events


async def customer_leads(sender_id: str) -> Optional[List[Dict[str, Any]]]:
    """The conversation's leads from the console, newest first; None when the console cannot be asked."""
    try:
        async with httpx.AsyncClient(timeout=LOOKUP_TIMEOUT) as client:
            response = await client.get(f"{console_url()}/internal/leads", params={"sender_id": sender_id},
                                        headers={"Authorization": f"Bearer {service_token()}"})
    except httpx.HTTPError as error:
        log.warning("presales.lookup console unreachable: %s", type(error).__name__)
        return None
    if response.status_code != 200:
        log.warning("presales.lookup console status %s", response.status_code)
        return None
    try:
        leads = response.json().get("leads")
    except (ValueError, AttributeError):
        return None
    return [lead for lead in leads if isinstance(lead, dict)] if isinstance(leads, list) else None


async def say_quote_status(dispatcher: CollectingDispatcher, sender_id: str, language: str) -> None:
    leads = await customer_leads(sender_id)
    if leads is None:
        dispatcher.utter_message(text=text("msg_quote_status_unavailable", language),
                                 buttons=buttons("msg_quote_status_unavailable", language))
    else:
        dispatcher.utter_message(text=render.quote_status_text(leads, language))


class ActionQuoteStatus(ActionAnswerFaq):
    """"我的报价到哪一步了". NLU's ``quote_status`` also catches questions *about* quotes ("报价单有效期几天",
    "怎么找你们询价"): unless the words ask for the status, a customer without a lead goes to the desk (which
    answers the policy question or takes the request), and one with a lead gets the knowledge base's confident
    answer before the status."""

    def name(self) -> str:
        return "action_quote_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        message = tracker.latest_message.get("text") or ""
        language = _language(tracker)
        if asks_for_a_quote(message):  # "Please quote 100 mugs" read as a lookup
            return [FollowupAction("action_presales_route")]
        if asks_quote_status(message):
            await say_quote_status(dispatcher, tracker.sender_id, language)
            return []
        leads = await customer_leads(tracker.sender_id)
        if not leads:
            return [FollowupAction("action_presales_route")]
        try:
            reply = answer_turn(self._knowledge_base(), message, tracker.get_slot("language"), None)
        except Exception:
            log.exception("presales.kb_failed conversation_id=%s", tracker.sender_id)
            reply = None
        if reply is not None and reply.outcome == ANSWER:
            return self.send(dispatcher, tracker, reply)
        dispatcher.utter_message(text=render.quote_status_text(leads, language))
        return []
