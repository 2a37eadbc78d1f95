"""The stock form and actions (rasa-sdk): ask for product, variant and city, answer, and take restock requests.

Thin on purpose: the decisions are in :mod:`actions.stock.matching`, the words in
:mod:`actions.stock.rendering`; this module reads the tracker, calls the store and sets slots.
The catalogue is cached for a few minutes (:data:`CATALOGUE`); stock levels and locations are
read fresh for every answer. Every store call runs in the I/O pool (:func:`actions.store.offload.offload`),
never on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import identity_for_tracker
from actions.interruptions import answer_aside, asks
from actions.notifier.ledger import LedgerUnavailable, shared_ledger
from actions.stock.matching import (
    MAX_QUERY,
    another_makers,
    changed,
    extract_variant_hints,
    filter_skus,
    find_product,
    find_sku,
    hints_of,
    parse_city,
    product_skus,
    resolve_product,
    stock_view,
    store_cities,
    with_bare_capacity,
    without_product_names,
)
from actions.stock.rendering import (
    MAX_PRODUCT_BUTTONS,
    render_product_choice,
    render_stock,
    render_variant_question,
    render_variant_unavailable,
    sku_label,
)
from actions.store import get_store
from actions.store.offload import offload
from actions.store.types import (
    Catalogue,
    Location,
    Product,
    RestockRequest,
    RestockSubscription,
    Sku,
    StockLevel,
    StoreBackend,
    StoreError,
    StoreInputError,
)
from actions.store_replies import log_store_failure, utter_store_down
from kernel.i18n import buttons, text

log = logging.getLogger(__name__)

CATALOGUE_TTL = 300.0


# ---------------------------------------------------------------------------
# Catalogue cache
# ---------------------------------------------------------------------------
class CatalogueCache:
    def __init__(self, ttl: float = CATALOGUE_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: Optional[Tuple[int, float, Catalogue]] = None

    def get(self, store: StoreBackend) -> Catalogue:
        now = time.monotonic()
        with self._lock:
            if self._value and self._value[0] == id(store) and now - self._value[1] < self.ttl:
                return self._value[2]
        cat = store.catalogue()
        with self._lock:
            self._value = (id(store), now, cat)
        return cat

    def clear(self) -> None:
        with self._lock:
            self._value = None


CATALOGUE = CatalogueCache()


def current_catalogue() -> Catalogue:
    """The (cached) catalogue of the configured store. Blocking: call it through :func:`offload`."""
    return CATALOGUE.get(get_store())


# ---------------------------------------------------------------------------
# Rasa side
# ---------------------------------------------------------------------------
def _lang(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("language")


def _latest_text(tracker: Tracker) -> str:
    raw = (tracker.latest_message or {}).get("text")
    return raw if isinstance(raw, str) else ""


class ValidateStockForm(FormValidationAction):
    def name(self) -> str:
        return "validate_stock_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        if tracker.get_slot("stock_outcome"):
            return []
        slots = ["stock_product"]
        if not tracker.get_slot("stock_sku"):
            slots.append("stock_variant")
        slots.append("stock_city")
        return slots

    async def extract_stock_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """When NLU found no product entity, try the whole first message."""
        if tracker.get_slot("stock_product") is not None or tracker.get_slot("requested_slot"):
            return {}
        raw = _latest_text(tracker)
        if not raw or len(raw) > MAX_QUERY:
            return {}
        try:
            cat = await offload(current_catalogue)
        except StoreError:
            return {}
        res = resolve_product(raw, cat)
        if res.product or res.candidates:
            return {"stock_product": raw}
        earlier = _product_asked_before(tracker, cat, raw)
        return {"stock_product": earlier.id} if earlier else {}

    async def extract_stock_city(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") == "stock_city":
            return {}  # asked for: the from_text mapping and validate_stock_city read it
        city = parse_city(_latest_text(tracker)) if len(_latest_text(tracker)) <= MAX_QUERY else None
        # a city named while another value is asked for is kept, and replaces the one said before ("算了还是上海吧");
        # "online" only in the message that starts the check ("white power bank 20000mah, how many in stock online?")
        if city == "online" and tracker.get_slot("requested_slot"):
            return {}
        return {"stock_city": city} if city and city != tracker.get_slot("stock_city") else {}

    async def validate_stock_product(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return await offload(self._validate_stock_product, slot_value, dispatcher, tracker)

    def _validate_stock_product(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        lang = _lang(tracker)
        if not isinstance(slot_value, str) or len(slot_value) > MAX_QUERY or len(_latest_text(tracker)) > 2000:
            dispatcher.utter_message(text=text("msg_stock_query_invalid", lang))
            return {"stock_product": None}
        try:
            store = get_store()
            cat = CATALOGUE.get(store)
            # NLU may have taken only a word of another maker's product name ("Pro" of "iPhone 15 Pro")
            res = resolve_product(_latest_text(tracker) if another_makers(_latest_text(tracker)) else slot_value, cat)
            if res.product is None and not res.candidates and slot_value != _latest_text(tracker):
                res = resolve_product(_latest_text(tracker), cat)
            if res.candidates:
                return {"stock_product": None, "stock_candidates": [p.id for p in res.candidates]}
            if res.product is None:
                if tracker.get_slot("requested_slot") == "stock_product" and asks(_latest_text(tracker)):
                    # asked "which product?", the customer asked something else ("actually, how do I get a fapiao?")
                    aside = answer_aside(dispatcher, tracker, "msg_resume_stock")
                    if aside is not None:
                        return {**aside, "stock_product": None}
                return {"stock_product": None, "stock_outcome": "not_found", "stock_query": slot_value[:60]}
            skus = product_skus(cat, res.product.id)
            # "is the watch s in stock?": the S of the name is no size
            hints_text = without_product_names(f"{slot_value} {_latest_text(tracker)}", res.product)
            hints = with_bare_capacity(extract_variant_hints(hints_text), hints_text, skus)  # "保温杯 500的"
            remaining = [res.sku] if res.sku else filter_skus(skus, hints)
            result: Dict[str, Any] = {"stock_product": res.product.id, "stock_candidates": None}
            if not remaining:
                dispatcher.utter_message(text=render_variant_unavailable(skus, lang))
                result["stock_hints"] = None
                return result
            if len(remaining) == 1:
                result.update(self._chosen(remaining[0], store, tracker))
            else:
                result["stock_hints"] = hints_text[:MAX_QUERY]
            return result
        except StoreError as exc:
            log_store_failure(log, "stock check", tracker, exc)
            return {"stock_outcome": "store_error"}

    def _chosen(self, sku: Sku, store: StoreBackend, tracker: Tracker) -> Dict[str, Any]:
        result: Dict[str, Any] = {"stock_sku": sku.code, "stock_variant": sku.code, "stock_hints": None}
        if tracker.get_slot("stock_city") is None:
            levels = store.stock_for_sku(sku.code)
            if not any(lv.quantity > 0 for lv in levels):
                result["stock_city"] = "online"  # nothing anywhere: no need to ask where
        return result

    async def validate_stock_variant(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return await offload(self._validate_stock_variant, slot_value, dispatcher, tracker)

    def _validate_stock_variant(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[str, Any]:
        lang = _lang(tracker)
        if tracker.get_slot("stock_sku"):
            return {"stock_variant": tracker.get_slot("stock_sku")}
        product_id = tracker.get_slot("stock_product")
        if not isinstance(slot_value, str) or len(slot_value) > MAX_QUERY or not product_id:
            return {"stock_variant": None}
        try:
            store = get_store()
            cat = CATALOGUE.get(store)
            skus = product_skus(cat, product_id)
            previous = tracker.get_slot("stock_hints") or ""
            latest = _latest_text(tracker)
            if latest and not latest.startswith("/") and latest != slot_value:
                # NLU's variant entity may hold one of the values typed ("白色 500ml" → "500ml"): read them all
                slot_value = f"{slot_value} {latest}"[:MAX_QUERY]
            if asks(latest) and not latest.startswith("/"):  # "quick q, do silver members get a birthday coupon?"
                aside = answer_aside(dispatcher, tracker, "msg_resume_stock", sure_only=True)
                if aside is not None:
                    return {**aside, "stock_variant": None}
            slot_value = without_product_names(slot_value, find_product(cat, product_id))  # "black watch s"
            new_hints = with_bare_capacity(extract_variant_hints(slot_value), slot_value, skus)
            exact = next((s for s in skus if new_hints.sku_code and s.code == new_hints.sku_code), None)
            if exact is not None:  # a tapped button (or a typed SKU code) names exactly one variant
                return self._chosen(exact, store, tracker)
            if new_hints.is_empty():
                if parse_city(latest) not in (None, "online") and not asks(latest):
                    return {"stock_variant": None}  # "啊不对 我人在北京": the city changed (extract_stock_city)
                aside = answer_aside(dispatcher, tracker, "msg_resume_stock")  # "对了 门店自提收钱不"
                if aside is not None:
                    return {**aside, "stock_variant": None}
                dispatcher.utter_message(text=text("msg_stock_variant_not_understood", lang))
                return {"stock_variant": None}
            both = f"{previous} {slot_value}"
            remaining = filter_skus(skus, with_bare_capacity(extract_variant_hints(both), both, skus))
            if not remaining:
                remaining = filter_skus(skus, new_hints)  # the customer changed their mind
                previous = ""
            if not remaining:
                dispatcher.utter_message(text=render_variant_unavailable(skus, lang))
                return {"stock_variant": None}
            if len(remaining) == 1:
                return self._chosen(remaining[0], store, tracker)
            return {"stock_variant": None, "stock_hints": f"{previous} {slot_value}"[:MAX_QUERY]}
        except StoreError as exc:
            log_store_failure(log, "stock check", tracker, exc)
            return {"stock_outcome": "store_error"}

    def validate_stock_city(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        city = parse_city(slot_value)
        if city is None:
            changed_version = self._version_changed(tracker)  # "nope my bad, 10000 mah and black"
            if changed_version is not None:
                return {**changed_version, "stock_city": None}
            aside = answer_aside(dispatcher, tracker, "msg_resume_stock")  # "what time do your stores close"
            if aside is not None:
                return {**aside, "stock_city": None}
            dispatcher.utter_message(text=text("msg_stock_city_invalid", _lang(tracker)))
            return {"stock_city": None}
        return {"stock_city": city}


    def _version_changed(self, tracker: Tracker) -> Optional[Dict[str, Any]]:
        """Asked for the city, the customer changed the version instead ("nope my bad, 10000 mah and black", "不对
        要白色的"): the version's slots for it (the form then asks what is still missing), or None."""
        product_id = tracker.get_slot("stock_product")
        latest = _latest_text(tracker)
        if not product_id or not latest or latest.startswith("/") or len(latest) > MAX_QUERY:
            return None
        try:
            cat = CATALOGUE.get(get_store())
        except StoreError:
            return None
        skus = product_skus(cat, product_id)
        said = without_product_names(latest, find_product(cat, product_id))
        hints = with_bare_capacity(extract_variant_hints(said), said, skus)
        if hints.is_empty():
            return None
        last = find_sku(cat, tracker.get_slot("stock_sku"))
        wanted = changed(hints_of(last), hints) if last else hints
        remaining = filter_skus(skus, wanted) or filter_skus(skus, hints)
        if len(remaining) == 1:
            return {"stock_sku": remaining[0].code, "stock_variant": remaining[0].code, "stock_hints": None}
        if remaining:
            return {"stock_sku": None, "stock_variant": None, "stock_hints": said[:MAX_QUERY]}
        return None


class ActionAskStockProduct(Action):
    """Ask for the product, with buttons when the last answer matched several."""

    def name(self) -> str:
        return "action_ask_stock_product"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        candidates = tracker.get_slot("stock_candidates") or []
        if candidates:
            try:
                cat = await offload(current_catalogue)
            except StoreError as exc:
                log_store_failure(log, "stock check", tracker, exc)
                utter_store_down(dispatcher, lang)
                return []
            products = [p for p in (find_product(cat, pid) for pid in candidates[:MAX_PRODUCT_BUTTONS]) if p]
            body, btns = render_product_choice(products, lang)
            dispatcher.utter_message(text=body, buttons=btns)
            return [SlotSet("stock_candidates", None)]
        dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
        return []


class ActionAskStockVariant(Action):
    """Ask which colour / capacity / size, listing only what is still possible."""

    def name(self) -> str:
        return "action_ask_stock_variant"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        try:
            cat = await offload(current_catalogue)
        except StoreError as exc:
            log_store_failure(log, "stock check", tracker, exc)
            utter_store_down(dispatcher, lang)
            return []
        product = find_product(cat, tracker.get_slot("stock_product"))
        if product is None:
            dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
            return []
        skus = product_skus(cat, product.id)
        remaining = filter_skus(skus, extract_variant_hints(tracker.get_slot("stock_hints") or "")) or skus
        body, btns = render_variant_question(product, remaining, lang)
        dispatcher.utter_message(text=body, buttons=btns)
        return []


def _product_asked_before(tracker: Tracker, cat: Catalogue, raw: str) -> Optional[Product]:
    """"那黑色的还有货吗": a message that names a variant but no product means the product this conversation
    last checked (``stock_last_sku``), also after a handoff and hand-back. A message without a colour, size or
    capacity is not taken as a follow-up (it may be about something the catalogue does not have)."""
    last = tracker.get_slot("stock_last_sku")
    if not last or extract_variant_hints(raw).is_empty():
        return None
    sku = find_sku(cat, last)
    return find_product(cat, sku.product_id) if sku else None


def _reset_stock() -> List[Dict[str, Any]]:
    return [
        SlotSet(s, None)
        for s in (
            "stock_product",
            "stock_variant",
            "stock_sku",
            "stock_hints",
            "stock_candidates",
            "stock_outcome",
            "stock_query",
            "requested_slot",
        )
    ]


def _stock_facts(
    sku_code: str,
) -> Tuple[Optional[Sku], Optional[Product], Sequence[StockLevel], Sequence[Location]]:
    """The SKU, its product, its stock levels and the locations (blocking: store calls). Levels and locations
    are empty when the SKU or its product is unknown."""
    store = get_store()
    cat = CATALOGUE.get(store)
    sku = find_sku(cat, sku_code)
    product = find_product(cat, sku.product_id) if sku else None
    if sku is None or product is None:
        return sku, product, (), ()
    return sku, product, store.stock_for_sku(sku.code), store.locations()


def _subscribe(
    tracker: Tracker, sku_code: str, city: Any, language: Optional[str]
) -> Tuple[RestockSubscription, Catalogue]:
    """Store the restock request (blocking: store calls); the subscription and the catalogue."""
    store = get_store()
    # only an identity that holds now (not an expired or replaced one) owns the subscription
    identity = identity_for_tracker(tracker, store)
    # a city is kept with the request only where the store has shops (its locations say which)
    cities = store_cities(store.locations()) if isinstance(city, str) and city else frozenset()
    request = RestockRequest(
        sku_code=sku_code,
        channel=(tracker.get_latest_input_channel() or "rest")[:32],
        sender_id=tracker.sender_id,
        language=language or "zh-Hans",
        customer_id=identity.customer_id if identity else None,
        city=city if isinstance(city, str) and city in cities else None,
    )
    return store.add_restock_subscription(request), CATALOGUE.get(store)


class ActionCheckStock(Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        outcome = tracker.get_slot("stock_outcome")
        if outcome == "store_error":
            utter_store_down(dispatcher, lang)
            return [*_reset_stock(), SlotSet("human_offered", True)]
        if outcome == "not_found":
            dispatcher.utter_message(
                text=text("msg_stock_not_found", lang), buttons=buttons("msg_stock_not_found", lang)
            )
            return [*_reset_stock(), SlotSet("human_offered", True)]
        sku_code = tracker.get_slot("stock_sku")
        city = tracker.get_slot("stock_city") or "online"
        if not sku_code:
            dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
            return _reset_stock()
        try:
            sku, product, levels, locations = await offload(_stock_facts, sku_code)
        except StoreInputError:
            dispatcher.utter_message(text=text("msg_stock_query_invalid", lang))
            return _reset_stock()
        except StoreError as exc:
            log_store_failure(log, "stock check", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [*_reset_stock(), SlotSet("human_offered", True)]
        if sku is None or product is None:
            dispatcher.utter_message(text=text("msg_stock_not_found", lang), buttons=buttons("msg_stock_not_found", lang))
            return _reset_stock()
        view = stock_view(product, sku, levels, locations, city)
        body, card, btns = render_stock(view, lang)
        dispatcher.utter_message(text=body, buttons=btns, json_message=card)
        events = [*_reset_stock(), SlotSet("stock_last_sku", sku.code)]
        if view.case == "out_everywhere":
            events.append(SlotSet("human_offered", True))
        return events


class ActionRestockSubscribe(Action):
    """Store a "tell me when it is back" request for the last SKU the customer checked."""

    def name(self) -> str:
        return "action_restock_subscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        sku_code = tracker.get_slot("stock_last_sku")
        if not sku_code:
            dispatcher.utter_message(text=text("msg_restock_need_product", lang))
            return []
        city = tracker.get_slot("stock_city")
        try:
            sub, cat = await offload(_subscribe, tracker, sku_code, city, lang)
        except StoreInputError:
            dispatcher.utter_message(text=text("msg_restock_need_product", lang))
            return []
        except StoreError as exc:
            log_store_failure(log, "restock subscription", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [SlotSet("human_offered", True)]
        sku = find_sku(cat, sku_code)
        label = sku_label(find_product(cat, sku.product_id) if sku else None, sku, sku_code, lang)
        key = "msg_restock_done" if sub.created else "msg_restock_already"
        dispatcher.utter_message(text=text(key, lang, product=label))
        return []


class ActionRestockUnsubscribe(Action):
    """"别再通知我": no restock notice for this conversation's requests made until now (docs/notices.md)."""

    def name(self) -> str:
        return "action_restock_unsubscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        channel = (tracker.get_latest_input_channel() or "rest")[:32]
        try:
            await offload(lambda: shared_ledger().opt_out(channel, tracker.sender_id))
        except LedgerUnavailable as error:
            log.warning("restock opt-out not recorded: %s", error)
            dispatcher.utter_message(text=text("msg_restock_unsubscribe_failed", lang))
            return []
        dispatcher.utter_message(text=text("msg_restock_unsubscribed", lang))
        return []
