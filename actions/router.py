"""``action_route_turn``: messages that only make sense with what the bot just said (issue 25).

NLU reads one message at a time. "那大概几号能到" after an order, "and beijing?" after a stock answer, "sorry can you
say that in English?" after an answer: on their own they look like a quote request, a store-address question or
nothing at all. The Rasa process (bot/turn_router.py) runs this action before the policies for a customer's free
text outside a form, when the conversation has something to follow up on, the message asks for a language, or it
asks about a product itself. It returns no events when the message is none of these; the policies then decide as
usual.

- **A language request** ("reply in chinese pls", "可以用英文吗"): the ``language`` slot has already switched
  (actions/language.py); the last answer is said again in that language: the FAQ entries, the order (re-checked),
  the stock answer, or the same text in the other Chinese script. With nothing to repeat, the switch is confirmed.
- **An order follow-up** right after an order answer (delivery date, tracking number, refund, status, "this
  order"): the order is shown again, re-checked (``action_order_status``), so the facts asked for come from it.
- **A question about the product itself** ("降噪耳机有几个颜色", "蓝牙音箱防水吗", kernel/product_questions.py):
  the versions, or the specs asked (the catalogue's product specs), from the catalogue; a spec it does not hold is
  said honestly ("that spec is not in my data") with a pre-sales person offered; never the stock form's "which city?".
- **A stock follow-up** right after a stock answer that names a version or a place but no other product ("那蓝色的
  呢", "不对 我要500毫升的", "and in beijing?", "网上有吗"): the check runs again with the changed version or
  city and everything else kept.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.faq import ActionAnswerFaq, answer_turn, follow_up_context
from actions.presales.signals import asks_for_a_quote
from actions.stock.actions import current_catalogue
from actions.stock.matching import (
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
    with_bare_capacity,
)
from actions.stock.rendering import options_listing
from actions.store.offload import offload
from actions.store.types import Catalogue, Product, StoreError
from actions.store_replies import money, product_name
from actions.turns import previous_turn
from kernel.i18n import buttons, text, to_script
from kernel.language import ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, is_cjk, normalise, requested_language
from kernel.order_numbers import parse_order_id
from kernel.product_questions import (
    asked_specs,
    asks_about_a_product,
    asks_about_the_warranty,
    product_words,
    stock_check_misread,
)
from knowledge_base.serving.runtime import KnowledgeBaseUnavailable, shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER, CLARIFY

log = logging.getLogger(__name__)

ROUTE_ACTION = "action_route_turn"
ORDER_ACTION = "action_order_status"
STOCK_ACTION = "action_check_stock"
#: questions about the order just shown (normalised: Simplified, lower case)
_ORDER_FOLLOWUP = re.compile(
    r"什么时候|啥时候|几号|几天|哪天|多久|何时|能到|送到|到货|到了没|到哪|发货|出货|单号|运单|快递号|物流|退款|退回|退钱|"
    r"到账|钱呢|这单|这个订单|还能付|付款|支付|没付|未付|不付|截止|地址|取消|"
    r"\b(?:when|how long|eta|arrive|arrival|deliver(?:y|ed)?|get here|tracking|track|refund|money back|shipped|"
    r"dispatch(?:ed)?|status|this order|pay|deadline|address|cancel)\b"
)
_MAX_FOLLOWUP = 80


def answered_before(events: Sequence[Dict[str, Any]]) -> Dict[str, List[str]]:
    """The actions run and the texts said in answer to the customer's previous message (the one before the
    latest): ``{"actions": [...], "texts": [...]}``."""
    turn = previous_turn(events) or []
    return {"actions": [e["name"] for e in turn if e.get("event") == "action" and e.get("name") not in
                        ("action_listen", None)],
            "texts": [e["text"] for e in turn if e.get("event") == "bot" and e.get("text")]}


class ActionRouteTurn(Action):
    def name(self) -> str:
        return ROUTE_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        message = (tracker.latest_message or {}).get("text") or ""
        if not message.strip() or message.startswith("/"):
            return []
        before = answered_before(tracker.events)
        language = tracker.get_slot("language")
        if requested_language(message) is not None:
            return await self._repeat(dispatcher, tracker, before, language)
        if len(message) > _MAX_FOLLOWUP:
            return []
        kind = None if asks_for_a_quote(message) else asks_about_a_product(message)  # a quote: the presales desk
        if kind is not None:
            events = await self._product_question(dispatcher, tracker, message, kind, language)
            if events:
                return events
        if asks_about_the_warranty(message):  # "不粘锅保修多久": the knowledge base when sure, else the catalogue
            events = await self._warranty(dispatcher, tracker, message, language)
            if events:
                return events
        if ORDER_ACTION in before["actions"] and tracker.get_slot("order_verified"):
            events = self._order_followup(tracker, message)
            if events:
                return events
        if STOCK_ACTION in before["actions"] and tracker.get_slot("stock_last_sku"):
            events = await self._stock_followup(tracker, message)
            if events:
                return events
        latest = tracker.latest_message or {}
        intent = (latest.get("intent") or {}).get("name")
        if stock_check_misread(intent, message, latest.get("entities")):  # "你们那个降噪耳机保修多久": NLU read a stock check
            return await offload(self._shop_question, dispatcher, tracker, message)
        return []

    def _shop_question(self, dispatcher: CollectingDispatcher, tracker: Tracker, message: str) -> List[Dict[str, Any]]:
        """The knowledge base's reply to a question NLU read as a stock check although it holds no stock or price
        words ("你们那个降噪耳机保修多久", "the tshirt is too small. can i still send it back?"): its answer, its "did
        you mean", or its honest "I don't know"; never the stock form's "which version?". [] (the stock form) only
        when the knowledge base cannot be read. Blocking (the index)."""
        try:
            kb = shared_knowledge_base()
            reply = answer_turn(kb, message, tracker.get_slot("language"), None, follow_up_context(tracker.events))
        except Exception:  # noqa: BLE001 - no index: the stock form, as NLU said
            log.exception("route.kb_failed conversation_id=%s", tracker.sender_id)
            return []
        log.info("route.shop_question conversation_id=%s outcome=%s entry=%s", tracker.sender_id, reply.outcome,
                 reply.candidates[:1])
        return ActionAnswerFaq(kb).send(dispatcher, tracker, reply)

    # -- language -------------------------------------------------------------------------------------------------
    async def _repeat(self, dispatcher: CollectingDispatcher, tracker: Tracker, before: Dict[str, List[str]],
                      language: Optional[str]) -> List[Dict[str, Any]]:
        lang = language if language in LANGUAGES else SIMPLIFIED
        actions, said = before["actions"], before["texts"]
        if ORDER_ACTION in actions and tracker.get_slot("order_verified"):
            dispatcher.utter_message(text=text("msg_language_switched", lang))
            return [SlotSet("order_id", tracker.get_slot("order_verified")), FollowupAction(ORDER_ACTION)]
        if STOCK_ACTION in actions and tracker.get_slot("stock_last_sku"):
            dispatcher.utter_message(text=text("msg_language_switched", lang))
            sku = tracker.get_slot("stock_last_sku")
            return [SlotSet("stock_sku", sku), SlotSet("stock_variant", sku), FollowupAction(STOCK_ACTION)]
        answers = self._faq_answers(tracker, said, lang)  # also after a repeat: "reply in chinese" then "english again"
        if answers:
            dispatcher.utter_message(text=text("msg_language_switched", lang))
            for answer in answers:
                dispatcher.utter_message(text=answer)
            return [SlotSet("faq_outcome", ANSWER)]
        if said and lang in (SIMPLIFIED, TRADITIONAL) and all(any(is_cjk(char) for char in line) for line in said):
            dispatcher.utter_message(text=text("msg_language_switched", lang))
            for line in said:
                dispatcher.utter_message(text=to_script(line, lang))
            return [SlotSet("language", lang)]
        dispatcher.utter_message(text=text("msg_language_now", lang))
        return [SlotSet("language", lang)]

    def _faq_answers(self, tracker: Tracker, said: Sequence[str], lang: str) -> List[str]:
        """The entries the previous turn answered with (their answers are among what was said), in ``lang``."""
        candidates = tracker.get_slot("faq_candidates") or []
        try:
            matcher = shared_knowledge_base().matcher()
        except KnowledgeBaseUnavailable:
            return []
        out: List[str] = []
        for candidate in candidates[:3]:
            entry_id = candidate.get("id") if isinstance(candidate, dict) else None
            if not entry_id:
                continue
            spoken = [matcher.answer_text(entry_id, other) for other in LANGUAGES]
            if any(answer and answer in line for answer in spoken for line in said):
                answer = matcher.answer_text(entry_id, lang)
                if answer:
                    out.append(answer)
        return out

    # -- orders ---------------------------------------------------------------------------------------------------
    def _order_followup(self, tracker: Tracker, message: str) -> List[Dict[str, Any]]:
        named = parse_order_id(message).order_id
        verified = tracker.get_slot("order_verified")
        if (named and named != verified) or not _ORDER_FOLLOWUP.search(normalise(message)):
            return []
        log.info("route.order_followup conversation_id=%s", tracker.sender_id)
        return [SlotSet("order_id", verified), FollowupAction(ORDER_ACTION)]

    # -- the product itself ---------------------------------------------------------------------------------------
    async def _product_question(self, dispatcher: CollectingDispatcher, tracker: Tracker, message: str, kind: str,
                                language: Optional[str]) -> List[Dict[str, Any]]:
        """"降噪耳机有几个颜色" (the versions, from the catalogue) or "蓝牙音箱防水吗" (the specs asked, from the
        catalogue's product specs; one it does not hold is said honestly, with a pre-sales person offered): never the
        stock form's "which city?". The product is the one named, or the one this conversation last asked about."""
        try:
            catalogue = await offload(current_catalogue)
        except StoreError:
            return []
        keys = asked_specs(message)
        product = self._asked_product(tracker, message, catalogue, keys)
        if product is None:
            return []  # no product, or several that fit: NLU and the stock form ask which
        skus = product_skus(catalogue, product.id)
        if not skus:
            return []
        name = product_name(product.name_zh, product.name_en, language)
        if kind == "options":
            dispatcher.utter_message(text=text(
                "msg_product_options", language, product=name, options=options_listing(skus, language),
                price=money(min(s.price_cents for s in skus))))
        if kind != "options" or keys:  # "有几种容量 什么材质": the versions, then the spec
            self._say_specs(dispatcher, product, name, keys, language)
        log.info("route.product_question conversation_id=%s kind=%s specs=%s product=%s", tracker.sender_id, kind,
                 ",".join(keys), product.id)
        return [SlotSet("stock_last_sku", skus[0].code)]

    async def _warranty(self, dispatcher: CollectingDispatcher, tracker: Tracker, message: str,
                        language: Optional[str]) -> List[Dict[str, Any]]:
        """A question about one product's warranty: the knowledge base's answer or "did you mean" (its warranty
        entries say the shop's terms, and what they do not cover: "如果泡水壞掉還能保固嗎"); when it has nothing, the
        warranty the catalogue holds for the product named ("不粘锅保修多久"); [] when neither."""
        try:
            kb = shared_knowledge_base()
            reply = await offload(answer_turn, kb, message, language, None, follow_up_context(tracker.events))
        except Exception:  # noqa: BLE001 - no index: the catalogue may still know
            log.exception("route.kb_failed conversation_id=%s", tracker.sender_id)
            kb, reply = None, None
        if kb is not None and reply is not None and reply.outcome in (ANSWER, CLARIFY):
            return ActionAnswerFaq(kb).send(dispatcher, tracker, reply)  # its answer, or its "did you mean"
        try:
            catalogue = await offload(current_catalogue)
        except StoreError:
            return []
        product = self._asked_product(tracker, message, catalogue, ("warranty",))
        if product is None or product.spec("warranty") is None:
            return []
        name = product_name(product.name_zh, product.name_en, language)
        self._say_specs(dispatcher, product, name, ("warranty",), language)
        log.info("route.product_warranty conversation_id=%s product=%s", tracker.sender_id, product.id)
        skus = product_skus(catalogue, product.id)
        return [SlotSet("stock_last_sku", skus[0].code)] if skus else [SlotSet("faq_outcome", ANSWER)]

    @staticmethod
    def _asked_product(tracker: Tracker, message: str, catalogue: Catalogue, keys: Sequence[str]) -> Optional[Product]:
        """The product the question names, found in its words without the spec asked ("降噪耳机支持无线充电么" is
        about the earbuds, not the charging pad) nor the devices it asks about ("能给MacBook充电吗"); else the one
        this conversation last asked about when nothing else, or it among others, fits ("the bottle" after the
        vacuum bottle); else the product the whole message names. None for another maker's product ("AirPods防水吗")
        and when several fit."""
        if another_makers(message) and "compatibility" not in keys:
            return None  # a question about their product, not ours
        named = resolve_product(product_words(message, tuple(keys)), catalogue)
        if named.product is not None:
            return named.product
        last = find_sku(catalogue, tracker.get_slot("stock_last_sku"))
        previous = find_product(catalogue, last.product_id) if last else None
        if previous is not None and (not named.candidates or previous in named.candidates):
            return previous
        whole = named if named.candidates else resolve_product(message, catalogue)
        if whole.product is not None:
            return whole.product
        # "那耳机有几个颜色" after "你们那个降噪耳机保修多久": the product the customer named just before, unless this
        # message fits other products only; else NLU and the stock form ask which
        said_before = ActionRouteTurn._product_said_before(tracker, catalogue)
        if said_before is None or (whole.candidates and said_before not in whole.candidates):
            return None
        return said_before

    @staticmethod
    def _product_said_before(tracker: Tracker, catalogue: Catalogue) -> Optional[Product]:
        """The one product the customer's previous message named, if it named exactly one."""
        turn = previous_turn(tracker.events) or []
        said = str(turn[0].get("text") or "") if turn else ""
        if not said or said.startswith("/"):
            return None
        return resolve_product(product_words(said), catalogue).product

    @staticmethod
    def _say_specs(dispatcher: CollectingDispatcher, product: Product, name: str, keys: Sequence[str],
                   language: Optional[str]) -> None:
        """One line per spec asked that the catalogue holds, in the customer's language and script; the ones it does
        not hold said honestly, with a pre-sales person offered. A yes/no question gets the fact, not a bare yes."""
        held = [spec for spec in (product.spec(key) for key in keys) if spec is not None]
        missing = [key for key in keys if product.spec(key) is None]
        if not held:
            dispatcher.utter_message(text=text("msg_product_spec_unknown", language, product=name),
                                     buttons=buttons("msg_product_spec_unknown", language))
            return
        lines = []
        for spec in held:
            label = text(f"msg_spec_label_{spec.key}", language)
            value = to_script(spec.value(language), language)
            if not lines:
                lines.append(text("msg_product_spec", language, product=name, label=label, value=value))
            else:
                lines.append(text("msg_product_spec_more", language, label=label[:1].upper() + label[1:], value=value))
        dispatcher.utter_message(text="\n".join(lines))
        if missing:
            labels = [text(f"msg_spec_label_{key}", language) for key in missing]
            joined = ", ".join(labels) if language == ENGLISH else "、".join(labels)
            dispatcher.utter_message(text=text("msg_product_spec_partly_unknown", language, labels=joined),
                                     buttons=buttons("msg_product_spec_partly_unknown", language))

    # -- stock ----------------------------------------------------------------------------------------------------
    async def _stock_followup(self, tracker: Tracker, message: str) -> List[Dict[str, Any]]:
        hints = extract_variant_hints(message)
        city = parse_city(message)
        if hints.is_empty() and city is None and not any(char.isdigit() for char in message):
            return []
        try:
            catalogue = await offload(current_catalogue)
        except StoreError:
            return []
        last = find_sku(catalogue, tracker.get_slot("stock_last_sku"))
        if last is None:
            return []
        hints = with_bare_capacity(hints, message, product_skus(catalogue, last.product_id))  # "the pink one. 750"
        if hints.is_empty() and city is None:
            return []
        named = resolve_product(message, catalogue)
        if named.product is not None and named.product.id != last.product_id:
            return []  # another product: a new question, for NLU and the stock form
        sku = last
        if not hints.is_empty():
            skus = product_skus(catalogue, last.product_id)
            matches = filter_skus(skus, changed(hints_of(last), hints)) or filter_skus(skus, hints)
            if len(matches) != 1:
                return []
            sku = matches[0]
        log.info("route.stock_followup conversation_id=%s", tracker.sender_id)
        return [
            SlotSet("stock_product", sku.product_id), SlotSet("stock_sku", sku.code), SlotSet("stock_variant", sku.code),
            SlotSet("stock_city", city or tracker.get_slot("stock_city") or "online"), FollowupAction(STOCK_ACTION),
        ]

