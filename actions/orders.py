"""Order status and recent orders: parsing, rendering and the rasa-sdk actions.

Flow (docs/orders.md): ``order_lookup_form`` collects ``order_id`` and, unless
the customer is already verified, ``phone_suffix``.  ``ValidateOrderLookupForm``
does the identity check; ``action_order_status`` answers once the form is done.
An unknown order number and a wrong phone suffix take the same path and get the
same words. Three failed checks lock the lookup for the conversation; across conversations,
:mod:`actions.verification_guard` limits the checks per order number, per customer and per client
IP (a lock there refuses even the right suffix, and when its store is down the check is refused
rather than allowed). A verified identity is re-checked on every use (:func:`decision_for_tracker`):
it holds only in its conversation and, for a phone check, only for ``KEFU_VERIFIED_TTL_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import (
    METHOD_PHONE,
    IdentityDecision,
    VerifiedIdentity,
    after_failed_check,
    decision_for_tracker,
    identity_slots,
    is_locked,
    mask_address,
    mask_name,
    mask_phone,
    parse_phone_suffix,
    phone_suffix_matches,
)
from actions.interruptions import answer_aside
from actions.notifier.ledger import LedgerUnavailable, shared_ledger
from actions.store import get_store
from actions.store.offload import offload
from actions.store.types import Order, StoreError, StoreInputError
from actions.store_replies import (
    CHINA,
    SHOP_TIME_ZONE,
    local_date,
    local_time,
    log_store_failure,
    money,
    product_name,
    shows_cards,
    utter_store_down,
)
from actions.verification_guard import GuardConfigError, GuardUnavailable, Subjects, get_guard
from kernel import seller
from kernel.i18n import buttons, text, to_script
from kernel.logs import mask_id
from kernel.order_numbers import parse_order_id

log = logging.getLogger(__name__)

#: Values of the ``order_check_blocked`` slot: why this lookup ends without a check.
BLOCKED_LOCKED = "locked"  # the server-side lockout (order / customer / client IP) is on
BLOCKED_UNAVAILABLE = "unavailable"  # the lockout store is down: fail closed
RECENT_LIMIT = 5

# ---------------------------------------------------------------------------
# Rendering (pure)
# ---------------------------------------------------------------------------
CARRIER_KEYS = {"SF Express": "sf", "JD Logistics": "jd", "ZTO": "zto"}


def _money_json(cents: Optional[int]) -> Optional[Dict[str, Any]]:
    return None if cents is None else {"cents": cents, "text": money(cents)}


def order_id_problem_text(problem: Optional[str], language: Optional[str]) -> str:
    """What the customer is told about an order number that was not one: the demo's texts describe ``KF`` numbers,
    a seller's format (kernel/seller.py) gets the texts that show an example of its own."""
    fmt = seller.current().order_number
    if problem == "ambiguous":
        return text("msg_order_id_ambiguous", language)
    key = "msg_order_id_too_long" if problem == "too_long" else "msg_order_id_invalid"
    if fmt == seller.DEMO.order_number:
        return text(key, language)
    return text(f"{key}_shop", language, example=fmt.make(1, date(2026, 11, 20)))


def status_label(status: str, language: Optional[str]) -> str:
    return text(f"msg_order_status_{status}", language)


def carrier_label(carrier: Optional[str], language: Optional[str]) -> str:
    if not carrier:
        return ""
    key = CARRIER_KEYS.get(carrier)
    return text(f"msg_carrier_{key}", language) if key else carrier


def _line_text(line: Any, language: Optional[str]) -> str:
    name = product_name(line.name_zh, line.name_en, language)
    variant = line.variant_en if language == "en" else to_script(line.variant_zh, language)
    label = f"{name}（{variant}）" if variant and language != "en" else (f"{name} ({variant})" if variant else name)
    return f"{label} ×{line.quantity} {money(line.amount_cents)}"


def next_step_sentence(order: Order, language: Optional[str]) -> str:
    """What the customer can do next, without a "next step" label: the card's row (the widget labels it)."""
    if order.status == "pending_payment":
        deadline = local_time(order.payment_deadline, language) if order.payment_deadline else "-"
        return text("msg_order_next_pending_payment", language, deadline=deadline)
    if order.status == "delivered" and order.channel == "store":
        return text("msg_order_next_delivered_store", language)
    if order.status == "refund_in_progress":
        return text("msg_order_next_refund_in_progress", language, refund=money(order.refund_cents or 0))
    if order.status == "shipped":
        return text("msg_order_next_shipped", language, carrier=carrier_label(order.carrier, language))
    return text(f"msg_order_next_{order.status}", language)


def next_step(order: Order, language: Optional[str]) -> str:
    """The next step as a line of text: "下一步：…" ("Next step: …"); a cancelled order's sentence stands alone."""
    sentence = next_step_sentence(order, language)
    return sentence if order.status == "cancelled" else text("msg_order_next_step", language, step=sentence)


def render_order(
    order: Order,
    language: Optional[str],
    store_names: Optional[Dict[str, Tuple[str, str]]] = None,
    card_channel: bool = False,
) -> Tuple[str, Dict[str, Any]]:
    """The reply text and the ``order_status`` card of one verified order. Personal data is masked.

    On a channel that draws the card (``card_channel``, the web widget) the text is one lead line and the card
    carries the facts; elsewhere the text says everything (the card rides along for REST callers and the console).
    """
    lang = language
    status = status_label(order.status, lang)
    parts = [
        text(
            "msg_order_header",
            lang,
            order_id=order.order_id,
            status=status,
            date=local_date(order.created_at.astimezone(CHINA).date(), lang),
            channel=text(f"msg_order_channel_{order.channel}", lang),
        )
    ]
    sep = "; " if lang == "en" else "；"
    parts.append(text("msg_order_items", lang, items=sep.join(_line_text(ln, lang) for ln in order.lines)))
    parts.append(
        text(
            "msg_order_amounts" if order.discount_cents else "msg_order_amounts_no_discount",
            lang,
            subtotal=money(order.subtotal_cents),
            shipping=money(order.shipping_fee_cents),
            discount=money(order.discount_cents),
            total=money(order.total_cents),
        )
    )
    if order.carrier and order.tracking_number:
        parts.append(
            text("msg_order_shipping", lang, carrier=carrier_label(order.carrier, lang), tracking=order.tracking_number)
        )
    if order.expected_delivery and order.status == "shipped":
        parts.append(text("msg_order_expected", lang, date=local_date(order.expected_delivery, lang)))
    store_name = None
    if order.store_id and store_names and order.store_id in store_names:
        zh, en = store_names[order.store_id]
        store_name = en if lang == "en" else to_script(zh, lang)
    if order.channel == "store" and store_name:
        parts.append(text("msg_order_store", lang, store=store_name))
    else:
        parts.append(
            text(
                "msg_order_recipient",
                lang,
                name=mask_name(order.contact_name),
                phone=mask_phone(order.contact_phone),
                address=to_script(mask_address(order.shipping_address), lang),
            )
        )
    arrow = " → "
    timeline = arrow.join(
        f"{local_time(ev.at, lang)} {ev.note_en if lang == 'en' else to_script(ev.note_zh, lang)}"
        for ev in order.events
    )
    if timeline:
        parts.append(text("msg_order_timeline", lang, timeline=timeline))
    parts.append(next_step(order, lang))
    card = {
        "kefu_card": {
            "type": "order_status",
            "version": 1,
            "language": lang,
            "order_id": order.order_id,
            "status": order.status,
            "status_label": status,
            "channel": order.channel,
            "time_zone": SHOP_TIME_ZONE,  # the zone the card's times are shown in (the text's zone)
            "created_at": order.created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
            "items": [
                {
                    "sku": ln.sku_code,
                    "name": product_name(ln.name_zh, ln.name_en, lang),
                    "variant": ln.variant_en if lang == "en" else to_script(ln.variant_zh, lang),
                    "quantity": ln.quantity,
                    "unit_price": _money_json(ln.unit_price_cents),
                    "amount": _money_json(ln.amount_cents),
                }
                for ln in order.lines
            ],
            "amounts": {
                "currency": seller.current().currency.code,
                "subtotal": _money_json(order.subtotal_cents),
                "shipping": _money_json(order.shipping_fee_cents),
                "discount": _money_json(order.discount_cents),
                "total": _money_json(order.total_cents),
                "refund": _money_json(order.refund_cents),
            },
            "shipping": {
                "carrier": order.carrier,
                "carrier_label": carrier_label(order.carrier, lang) or None,
                "tracking_number": order.tracking_number,
                # like the text: an expected date only while the parcel is on its way
                "expected_delivery": (
                    order.expected_delivery.isoformat()
                    if order.expected_delivery and order.status == "shipped"
                    else None
                ),
                "recipient": mask_name(order.contact_name),
                "phone": mask_phone(order.contact_phone),
                "address": None if order.channel == "store" else to_script(mask_address(order.shipping_address), lang),
                "store": store_name,
            },
            "timeline": [
                {
                    "status": ev.status,
                    "label": status_label(ev.status, lang),
                    "at": ev.at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                    "note": ev.note_en if lang == "en" else to_script(ev.note_zh, lang),
                }
                for ev in order.events
            ],
            "next_step": next_step_sentence(order, lang),  # the sentence alone: the widget adds its label
            "actions": buttons("msg_order_card_actions", lang),
        }
    }
    if card_channel:
        return text("msg_order_card_lead", lang, order_id=order.order_id), card
    return "\n".join(parts), card


def render_recent(orders: Sequence[Order], language: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    lang = language
    if not orders:
        return text("msg_recent_orders_none", lang), {
            "kefu_card": {"type": "order_list", "version": 1, "language": lang, "orders": []}
        }
    rows = []
    for o in orders:
        first = o.lines[0] if o.lines else None
        summary = product_name(first.name_zh, first.name_en, lang) if first else ""
        if len(o.lines) > 1:
            summary = text("msg_recent_orders_more", lang, first=summary, n=len(o.lines))
        rows.append(
            text(
                "msg_recent_orders_row",
                lang,
                order_id=o.order_id,
                date=local_date(o.created_at.astimezone(CHINA).date(), lang),
                status=status_label(o.status, lang),
                total=money(o.total_cents),
                summary=summary,
            )
        )
    body = text("msg_recent_orders_header", lang, n=len(orders)) + "\n" + "\n".join(rows)
    card = {
        "kefu_card": {
            "type": "order_list",
            "version": 1,
            "language": lang,
            "orders": [
                {
                    "order_id": o.order_id,
                    "status": o.status,
                    "status_label": status_label(o.status, lang),
                    "created_at": o.created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                    "total": _money_json(o.total_cents),
                    "items": len(o.lines),
                    "payload": f'/order_status{{"order_id":"{o.order_id}"}}',
                }
                for o in orders
            ],
        }
    }
    return body, card


# ---------------------------------------------------------------------------
# Rasa side
# ---------------------------------------------------------------------------
def _lang(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("language")


def utter_locked(dispatcher: CollectingDispatcher, language: Optional[str]) -> None:
    dispatcher.utter_message(text=text("msg_order_locked", language), buttons=buttons("msg_order_locked", language))


def utter_check_unavailable(dispatcher: CollectingDispatcher, language: Optional[str]) -> None:
    dispatcher.utter_message(
        text=text("msg_order_check_unavailable", language), buttons=buttons("msg_order_check_unavailable", language)
    )


def client_ip(tracker: Tracker) -> Optional[str]:
    """``kefu_client_ip`` of the latest message (set by the REST and socket.io channels), or None."""
    metadata = (tracker.latest_message or {}).get("metadata")
    value = metadata.get("kefu_client_ip") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None


class ValidateOrderLookupForm(FormValidationAction):
    """Collect the order number and check who is asking."""

    def name(self) -> str:
        return "validate_order_lookup_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        if is_locked(tracker.get_slot("order_lookup_locked"), tracker.get_slot("order_verify_failures")):
            return []
        if tracker.get_slot("order_store_error") or tracker.get_slot("order_check_blocked"):
            return []
        order_id = tracker.get_slot("order_id")
        if order_id and tracker.get_slot("order_verified") == order_id:
            return ["order_id"]
        return ["order_id", "phone_suffix"]

    # -- extraction fallbacks: read the raw message when NLU missed the entity --
    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("order_id") is not None:
            return {}
        parsed = parse_order_id((tracker.latest_message or {}).get("text"))
        return {"order_id": parsed.order_id} if parsed.order_id else {}

    async def extract_phone_suffix(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("phone_suffix") is not None:
            return {}
        raw = (tracker.latest_message or {}).get("text")
        if not isinstance(raw, str) or parse_order_id(raw).order_id is None:
            return {}  # a bare number is handled by the from_text mapping when it is asked for
        digits = parse_phone_suffix(raw)
        return {"phone_suffix": digits} if digits else {}

    # -- validation --------------------------------------------------------
    def _check(self, order_id: str, digits: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        """One identity check. Unknown order and wrong digits are the same outcome.

        The server-side lockout reserves the attempt first: when it is on, or its store is down,
        the digits are not compared at all and the lookup ends with a human offered.
        """
        lang = _lang(tracker)
        try:
            order = get_store().get_order(order_id)
        except StoreInputError:
            order = None
        except StoreError as exc:
            log_store_failure(log, "order lookup", tracker, exc)
            return {"phone_suffix": None, "order_store_error": True}
        subjects = Subjects(order_id, order.customer_id if order is not None else None, client_ip(tracker))
        try:
            guard = get_guard()
            attempt = guard.reserve(subjects)
        except (GuardUnavailable, GuardConfigError) as exc:
            log.error(
                "verification lockout store unavailable, phone check refused (conversation %s): %s",
                mask_id(tracker.sender_id), exc,
            )
            return {"phone_suffix": None, "order_check_blocked": BLOCKED_UNAVAILABLE}
        if attempt.locked:
            return {"phone_suffix": None, "order_check_blocked": BLOCKED_LOCKED}
        if phone_suffix_matches(order, digits):
            assert order is not None
            guard.succeeded(attempt)
            log.info("order lookup verified by phone (conversation %s)", mask_id(tracker.sender_id))
            identity = VerifiedIdentity(order.customer_id, METHOD_PHONE, time.time(), tracker.sender_id)
            return {
                "phone_suffix": digits,
                "order_verified": order_id,
                **identity_slots(identity),
                "order_verify_failures": 0.0,
            }
        guard.failed(subjects, attempt)
        outcome = after_failed_check(tracker.get_slot("order_verify_failures"))
        log.info(
            "order lookup check failed %d/%d (conversation %s)", outcome.failures, 3, mask_id(tracker.sender_id)
        )
        if attempt.locks_if_failed and not outcome.locked:
            return {
                "phone_suffix": None,
                "order_verify_failures": float(outcome.failures),
                "order_check_blocked": BLOCKED_LOCKED,
            }
        if not outcome.locked:
            dispatcher.utter_message(text=text("msg_order_check_failed", lang, attempts=outcome.attempts_left))
        return {
            "phone_suffix": None,
            "order_verify_failures": float(outcome.failures),
            "order_lookup_locked": outcome.locked,
        }

    async def validate_order_id(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        # the store, the identity check and the lockout block: off the event loop (actions.store.offload)
        return await offload(self._validate_order_id, slot_value, dispatcher, tracker)

    def _validate_order_id(self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        lang = _lang(tracker)
        parsed = parse_order_id(slot_value)
        if parsed.order_id is None:
            aside = answer_aside(dispatcher, tracker, "msg_resume_order")  # "先问一句 能开专票吗"
            if aside is not None:
                return {**aside, "order_id": None}
            dispatcher.utter_message(text=order_id_problem_text(parsed.problem, lang))
            return {"order_id": None}
        order_id = parsed.order_id
        result: Dict[str, Any] = {"order_id": order_id}
        try:
            store = get_store()
            decision = decision_for_tracker(tracker, store)
            result.update(decision.slot_updates())
            identity = decision.identity
            if identity is not None:
                order = store.get_order(order_id)
                if order is not None and order.customer_id == identity.customer_id:
                    result.update(identity_slots(identity))
                    result["order_verified"] = order_id
                    return result
        except StoreError as exc:
            log_store_failure(log, "identity check", tracker, exc)
            result["order_store_error"] = True
            return result
        result["order_verified"] = None
        suffix = tracker.get_slot("phone_suffix")
        if "phone_suffix" not in tracker.slots_to_validate() and suffix:
            digits = parse_phone_suffix(suffix)
            if digits:
                result.update(self._check(order_id, digits, dispatcher, tracker))
        return result

    async def validate_phone_suffix(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return await offload(self._validate_phone_suffix, slot_value, dispatcher, tracker)

    def _validate_phone_suffix(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        lang = _lang(tracker)
        latest = (tracker.latest_message or {}).get("text")
        if isinstance(latest, str) and parse_order_id(latest).order_id:
            # "KF 2026 1120 001 5678": never take digits out of the order number itself
            digits = parse_phone_suffix(latest)
            if digits is None:
                return {"phone_suffix": None}
        else:
            digits = parse_phone_suffix(slot_value)
        if digits is None:
            if parse_order_id(slot_value).order_id is None:
                aside = answer_aside(dispatcher, tracker, "msg_resume_order")
                if aside is not None:
                    return {**aside, "phone_suffix": None}
                dispatcher.utter_message(text=text("msg_phone_suffix_invalid", lang))
            return {"phone_suffix": None}
        order_id = parse_order_id(tracker.get_slot("order_id")).order_id
        if order_id is None:
            return {"phone_suffix": digits}
        if tracker.get_slot("order_verified") == order_id:
            return {"phone_suffix": digits}
        return self._check(order_id, digits, dispatcher, tracker)


def _reset_lookup() -> List[Dict[str, Any]]:
    return [
        SlotSet("order_id", None),
        SlotSet("phone_suffix", None),
        SlotSet("order_store_error", None),
        SlotSet("order_check_blocked", None),
        SlotSet("requested_slot", None),
    ]


async def watch_order(tracker: Tracker, order: Order, language: Optional[str]) -> bool:
    """Watch a verified customer's order for status changes (the notifier tells this conversation); True when
    the watch is new. Delivered and cancelled orders are not watched; a ledger failure never costs the answer."""
    if order.status in ("delivered", "cancelled"):
        return False
    channel = (tracker.get_latest_input_channel() or "rest")[:32]
    try:
        return await offload(lambda: shared_ledger().watch_order(
            order.order_id, channel, tracker.sender_id, language or "zh-Hans", order.status))
    except LedgerUnavailable as error:
        log.warning("order watch not recorded: %s", error)
        return False


def _verified_order(
    order_id: str, tracker: Tracker
) -> Tuple[Optional[Order], bool, Dict[str, Tuple[str, str]]]:
    """The order, whether this conversation's identity still owns it, and the names of its store (blocking)."""
    store = get_store()
    order = store.get_order(order_id)
    identity = decision_for_tracker(tracker, store).identity
    if order is not None and (identity is None or identity.customer_id != order.customer_id):
        return order, False, {}
    store_names = (
        {loc.id: (loc.name_zh, loc.name_en) for loc in store.locations()}
        if order is not None and order.store_id
        else {}
    )
    return order, True, store_names


def _recent_orders(tracker: Tracker) -> Tuple[IdentityDecision, Sequence[Order]]:
    """The identity decision and, when verified, the customer's latest orders (blocking)."""
    store = get_store()
    decision = decision_for_tracker(tracker, store)
    if decision.identity is None:
        return decision, ()
    return decision, store.recent_orders(decision.identity.customer_id, RECENT_LIMIT)


class ActionOrderStatus(Action):
    """Answer the order lookup once the form is done (or explain why not)."""

    def name(self) -> str:
        return "action_order_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        if is_locked(tracker.get_slot("order_lookup_locked"), tracker.get_slot("order_verify_failures")):
            utter_locked(dispatcher, lang)
            return [*_reset_lookup(), SlotSet("order_lookup_locked", True), SlotSet("human_offered", True)]
        blocked = tracker.get_slot("order_check_blocked")
        if blocked == BLOCKED_UNAVAILABLE:
            utter_check_unavailable(dispatcher, lang)
            return [*_reset_lookup(), SlotSet("human_offered", True)]
        if blocked:  # the server-side lockout: the same words as the conversation lock
            utter_locked(dispatcher, lang)
            return [*_reset_lookup(), SlotSet("human_offered", True)]
        if tracker.get_slot("order_store_error"):
            utter_store_down(dispatcher, lang)
            return [*_reset_lookup(), SlotSet("human_offered", True)]
        order_id = tracker.get_slot("order_id")
        if not order_id or tracker.get_slot("order_verified") != order_id:
            dispatcher.utter_message(text=text("msg_order_not_verified", lang))
            return _reset_lookup()
        try:
            order, still_verified, store_names = await offload(_verified_order, order_id, tracker)
        except StoreError as exc:
            log_store_failure(log, "order status", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [*_reset_lookup(), SlotSet("human_offered", True)]
        if not still_verified:
            # the verification no longer holds (expired, logged out, another customer's token)
            dispatcher.utter_message(text=text("msg_order_not_verified", lang))
            return [*_reset_lookup(), SlotSet("order_verified", None)]
        if order is None:  # deleted between the check and now: say nothing about it
            dispatcher.utter_message(text=text("msg_order_not_verified", lang))
            return _reset_lookup()
        body, card = render_order(order, lang, store_names, card_channel=shows_cards(tracker))
        dispatcher.utter_message(text=body, json_message=card)
        if await watch_order(tracker, order, lang):
            dispatcher.utter_message(text=text("msg_order_watching", lang))
        return _reset_lookup()


class ActionRecentOrders(Action):
    """A verified customer's latest orders."""

    def name(self) -> str:
        return "action_recent_orders"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        try:
            decision, orders = await offload(_recent_orders, tracker)
        except StoreError as exc:
            log_store_failure(log, "recent orders", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [SlotSet("human_offered", True)]
        identity = decision.identity
        if identity is None:
            dispatcher.utter_message(text=text("msg_recent_orders_need_verification", lang))
            return [SlotSet(k, v) for k, v in decision.slot_updates().items()]
        body, card = render_recent(orders, lang)
        dispatcher.utter_message(text=body, json_message=card)
        return [SlotSet(k, v) for k, v in {**decision.slot_updates(), **identity_slots(identity)}.items()]
