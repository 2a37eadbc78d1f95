"""Read a message with the conversation around it before the policies do (issue 25).

NLU reads one message at a time, so two kinds of message go wrong on their own:

- **An order number in any message** ("帮我查KF20261119001 后4位9012", "KF20261115001, phone ends 5678. what's
  happening with my refund") is sometimes read as something else (a low-confidence fallback, a shop question),
  and the customer gets "please rephrase". Outside a form, a message with one order number is an order lookup
  unless NLU read a request for a person or a complaint: the intent becomes ``order_status`` (the original intent
  is kept in the parse data as ``kefu_nlu_intent``), and the lookup form reads the number and the digits from the
  text.
- **A product named with a version, a city or stock words** ("黑色5.5L的空气炸锅还有没", "black anc earbuds in
  shanghai?") that NLU was unsure of (``inform``, ``nlu_fallback``) is a stock check.
- **A lookup asked for in so many words** ("想帮朋友查下库存" read as a shop question, "hi i want to check the refund on
  one of my orders" read unsure) starts that lookup, whose form asks what it needs; "深圳门店有卫衣吗" (a product, a
  city and "有…吗") is a stock check.
- **A follow-up or a language request** ("那大概几号能到", "and in beijing?", "sorry can you say that in English?"):
  right after an order or a stock answer (something to follow up on), when the message asks for
  a language, it asks about a product itself ("蓝牙音箱防水吗": kernel/product_questions.py), or NLU read a stock
  check that is worded as another question ("你们那个降噪耳机保修多久"),
  ``action_route_turn`` (actions/router.py) runs first: one more call to the action server on those turns, none on
  the others. When it returns events they are the turn's answer (logged as that action, then its follow-up action
  if any, else the bot listens); when it returns none, the policies decide as usual.

- **A question about a product read as "are you a bot?"** ("好吧 那保溫瓶可以刻名字嗎", ``bot_challenge`` 1.0 on this
  machine's model) is a shop question when it names a product and no one to talk to.
- **A follow-up to a declined question** that only swaps a place or a day ("will it rain in shanghai tomorrow", then
  "ok and in beijing?"; ``kernel.questions.elliptical_followup``) is declined as the question was, instead of being
  read alone (it got Beijing's stores).

Inside a form, a goodbye or "算了 先不查了" with no value in it leaves the form (the intent becomes ``deny``, which the
rules end the form on). The rest applies neither while a form is active (the forms read their own values and
answer questions asked in the middle, actions/interruptions.py), while the conversation is paused for a person
(bot/waiting.py), or to button payloads.
``install()`` wraps :meth:`rasa.core.processor.MessageProcessor._run_prediction_loop`; ``bot.server`` installs it
before starting Rasa, after ``bot.waiting``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Optional

from kernel.language import normalise, requested_language
from kernel.order_numbers import parse_order_id
from kernel.product_questions import (
    asks_about_a_product,
    asks_about_stock,
    asks_about_the_warranty,
    stock_check_misread,
)
from kernel.questions import (
    asks_for_a_task,
    elliptical_followup,
    looks_like_a_question,
    names_someone,
    question_after_courtesy,
)

logger = logging.getLogger("kefu.turn_router")

ROUTE_ACTION = "action_route_turn"
ORDER_INTENT = "order_status"
#: intents that keep their meaning with an order number in the message
KEEPS_ITS_INTENT = frozenset({ORDER_INTENT, "human_handoff", "complain", "restart"})
#: answers that a next message may follow up on (actions/router.py acts only right after one of them)
FOLLOWED_UP = frozenset({"action_order_status", "action_check_stock"})


def free_text(tracker: Any) -> Optional[str]:
    """The customer's latest message when it is free text that this router may read: not a button payload, not
    inside a form, not while a person is being waited for."""
    message = tracker.latest_message
    text = (getattr(message, "text", None) or "").strip()
    if not text or text.startswith("/") or tracker.is_paused() or tracker.active_loop_name:
        return None
    return text


def order_lookup_instead(intent: Optional[str], text: str) -> bool:
    """Whether a message with an order number should be an order lookup although NLU read ``intent``."""
    if intent in KEEPS_ITS_INTENT or parse_order_id(text).order_id is None:
        return False
    # ``inform`` too: the rule for a bare order number matches only when NLU found the number and nothing else
    # ("帮我查KF20261119001 后4位9012" has the phone digits as well, and got "please rephrase")
    return True


STOCK_INTENT = "stock_check"  # kernel.product_questions.STOCK_INTENT
OUT_OF_SCOPE = "out_of_scope"
#: the out-of-scope rule's reply (bot/data/rules/core.yml)
DECLINED = "utter_out_of_scope"
FAQ_INTENT = "ask_faq"
#: what NLU reads for courtesy that may come before a question
COURTESY_INTENTS = frozenset({"greet", "thanks", "goodbye", "affirm"})
#: what NLU reads when it is unsure of a stock question that names a product ("黑色5.5L的空气炸锅还有没" → inform 0.53,
#: "black anc earbuds in shanghai?" → nlu_fallback)
UNSURE_INTENTS = frozenset({"inform", "nlu_fallback"})


PRESALES_INTENT = "presales_quote"
#: asking for a quote outright, after normalise (Traditional read as Simplified): "请报价", "Please quote 300 ..."
_QUOTE_ASKED = re.compile(r"报价|报个价|询价|\bquot(?:e|ation)\b")


def quote_request_instead(intent: Optional[str], text: str) -> bool:
    """Whether a message NLU was unsure of (``inform``, ``nlu_fallback``) asks for a quote in so many words: the
    presales desk's ("…要300个保温杯，印logo，…请报价" read as nlu_fallback with presales_quote just below the
    threshold, which the stock check took for a product and asked for its version). The desk answers a question
    *about* quotes from the knowledge base itself."""
    return intent in UNSURE_INTENTS and bool(_QUOTE_ASKED.search(normalise(text)))


def stock_check_instead(intent: Optional[str], entities: Any, text: str) -> bool:
    """Whether a message outside a form that names a product, with a version, a city or stock words, is a stock
    check although NLU was unsure (``inform``, ``nlu_fallback``), or read a shop question where a version and a city
    are named (a product question such as "蓝牙音箱防水吗" is the router's)."""
    if asks_about_a_product(text) is not None:
        return False
    kinds = {e.get("entity") for e in entities or () if isinstance(e, dict)}
    # a product code read as an order number ("上海有白色的 P001 吗": order_id P001, which is no order number)
    if "order_id" in kinds and parse_order_id(text).order_id is None:
        kinds.add("product")
    if "product" not in kinds:
        return False
    if intent in UNSURE_INTENTS:
        return bool(kinds & {"variant", "city"} or asks_about_stock(text))
    # read as a shop question, but it names a version and a city ("blue crew neck tee in XL, any in the shenzhen
    # stores?"), or a city and asks whether they have it ("深圳门店有卫衣吗"); not "白色保温杯可以刻字吗"
    return intent == "ask_faq" and ({"variant", "city"} <= kinds or ("city" in kinds and asks_about_stock(text)))


#: asking for a lookup without saying what: "想帮朋友查下库存", "can you check stock for me"; "hi i want to check the
#: refund on one of my orders", "帮我查下订单" (after normalise: Traditional read as Simplified)
_STOCK_LOOKUP = re.compile(r"查.{0,4}(?:库存|有没有货|有货)|\b(?:check|look up)\b.{0,20}\bstock\b")
_ORDER_LOOKUP = re.compile(r"查.{0,6}订单|\b(?:check|track|look up|find)\b.{0,30}\b(?:my|an?|one of my) orders?\b")


def lookup_asked_instead(intent: Optional[str], entities: Any, text: str) -> Optional[str]:
    """The lookup a message asks for in so many words although NLU read a shop question or was unsure: a stock
    check when it names no product yet ("想帮朋友查下库存", the form then asks which), an order lookup when NLU was
    unsure ("hi i want to check the refund on one of my orders", the form then asks for the number). A question
    about how lookups work ("怎么查订单物流") has a question word and stays the knowledge base's."""
    if intent not in UNSURE_INTENTS | {FAQ_INTENT} or entities or _HOW.search(normalise(text)):
        return None
    plain = normalise(text)
    if intent == FAQ_INTENT and looks_like_a_question(text) and not _ASKS_TO_DO.search(plain):
        return None  # "门店查库存准吗" asks about stock checks, it does not ask for one
    if _STOCK_LOOKUP.search(plain):
        return STOCK_INTENT
    if intent in UNSURE_INTENTS and _ORDER_LOOKUP.search(plain):
        return ORDER_INTENT
    return None


#: a request to do it, worded as a question or not: "能帮我查下库存吗", "can you check stock for me"
_ASKS_TO_DO = re.compile(r"帮我|帮忙|麻烦|想|要|\b(?:can|could|would) you\b|\bplease\b|\bpls\b|\bi want\b|\bi'?d like\b")
#: how something is done, which the knowledge base answers
_HOW = re.compile(r"怎么|怎样|如何|哪里|在哪|\bhow\b|\bwhere\b")


BOT_CHALLENGE = "bot_challenge"


def product_question_not_about_the_bot(intent: Optional[str], entities: Any, text: str) -> bool:
    """Whether a message NLU read as "are you a bot?" is a question about a product instead: it names a product
    (NLU's entity) and no one to talk to ("好吧 那保溫瓶可以刻名字嗎"; not "你是机器人吗", "is this a bot or a real
    person")."""
    if intent != BOT_CHALLENGE or names_someone(text) or not looks_like_a_question(text):
        return False
    return any(isinstance(e, dict) and e.get("entity") == "product" for e in entities or ())


LEAVE_INTENT = "deny"  # the rules leave the order and stock forms on it ("never mind")
#: leaving a form in other words: "算了算了 先不查了 回头再说", "forget it" (not "取消": "取消订单" is a question)
_LEAVES = re.compile(r"算了|不查了|先不查|不用查了|不用了|不要了|不想查了|不买了|never\s*mind|forget it|no thanks|"
                     r"\bstop\b|don'?t bother")
#: ... unless the customer goes on with another value: "算了还是上海吧", "never mind, make it black instead"
_GOES_ON = re.compile(r"还是|换成|改成|换个|不对|不过|\binstead\b|\bbut\b|\bmake it\b")


#: a complaint named outright keeps its meaning even inside a task ("我要投诉 你们写的诗…")
_COMPLAINT = re.compile(r"投诉|客诉|12315|\bcomplain")


def leaves_the_form(intent: Optional[str], entities: Any, text: str) -> bool:
    """Whether a message inside a form leaves it although NLU read ``intent`` (a goodbye, or "算了 先不查了" read as
    anything): no value in it, no "还是…"."""
    if intent == LEAVE_INTENT or not text or text.startswith("/") or entities:
        return False
    plain = normalise(text)
    if _GOES_ON.search(plain):
        return False
    return intent == "goodbye" or bool(_LEAVES.search(plain))


def answered_last(events: Any) -> set:
    """The actions that answered the customer's previous message (between it and the latest one)."""
    names, users = set(), 0
    for event in reversed(list(events)):
        if type(event).__name__ == "UserUttered":
            users += 1
            if users == 2:
                break
        elif users == 1 and type(event).__name__ == "ActionExecuted":
            names.add(getattr(event, "action_name", None))
    return names


def worth_routing(tracker: Any, text: str, intent: Optional[str] = None, entities: Any = ()) -> bool:
    """A language request, a product question, a stock check that asks something else, or a message right after an
    order or stock answer: only then is the action server asked (no extra call on the other turns)."""
    return (requested_language(text) is not None or asks_about_a_product(text) is not None
            or asks_about_the_warranty(text) or stock_check_misread(intent, text, entities)
            or bool(FOLLOWED_UP & answered_last(tracker.events)))


def install() -> None:
    """Wrap MessageProcessor._run_prediction_loop (idempotent)."""
    from rasa.core.actions.action import action_for_name_or_text
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted

    if getattr(MessageProcessor._run_prediction_loop, "_kefu_turn_router", False):
        return
    original = MessageProcessor._run_prediction_loop

    async def _run_prediction_loop(self: Any, output_channel: Any, tracker: Any) -> None:
        message = tracker.latest_message
        if tracker.active_loop_name and not tracker.is_paused() and leaves_the_form(
                (message.intent or {}).get("name"), message.entities, (message.text or "").strip()):
            logger.info("turn_router.leave_form conversation_id=%s form=%s", tracker.sender_id,
                        tracker.active_loop_name)
            message.intent = {"name": LEAVE_INTENT, "confidence": 1.0,
                              "kefu_nlu_intent": (message.intent or {}).get("name")}
            return await original(self, output_channel, tracker)
        text = free_text(tracker)
        if text is None:
            return await original(self, output_channel, tracker)
        message = tracker.latest_message
        intent = (message.intent or {}).get("name")
        if (asks_for_a_task(text) and parse_order_id(text).order_id is None and not names_someone(text)
                and not _COMPLAINT.search(normalise(text))):
            # "给我写首诗 夸夸你们家保温杯" (a sure warranty answer before), "quick one, what's 15% of 240" (the presales
            # desk before): declined as out of scope, no answer, form or ticket
            logger.info("turn_router.task conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": OUT_OF_SCOPE, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        if elliptical_followup(text, message.entities) and DECLINED in answered_last(tracker.events):
            # "will it rain in shanghai tomorrow" (declined), then "ok and in beijing?": the same question for
            # another city, declined again (it got Beijing's stores before)
            logger.info("turn_router.declined_followup conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": OUT_OF_SCOPE, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        if intent in COURTESY_INTENTS and question_after_courtesy(text):
            # "謝謝 那要幾天才到" read as thanks: the question is what the customer wants answered
            logger.info("turn_router.question_after_courtesy conversation_id=%s nlu_intent=%s", tracker.sender_id,
                        intent)
            message.intent = {"name": FAQ_INTENT, "confidence": 1.0, "kefu_nlu_intent": intent}
        if product_question_not_about_the_bot(intent, message.entities, text):
            # "好吧 那保溫瓶可以刻名字嗎" read as "are you a bot?" (1.0): a question about a product is a shop question
            logger.info("turn_router.product_question conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": FAQ_INTENT, "confidence": 1.0, "kefu_nlu_intent": intent}
        if order_lookup_instead(intent, text):
            logger.info("turn_router.order_lookup conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": ORDER_INTENT, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        if quote_request_instead(intent, text):
            logger.info("turn_router.quote_request conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": PRESALES_INTENT, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        lookup = lookup_asked_instead(intent, message.entities, text)
        if lookup is not None:
            logger.info("turn_router.lookup conversation_id=%s nlu_intent=%s lookup=%s", tracker.sender_id, intent,
                        lookup)
            message.intent = {"name": lookup, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        if stock_check_instead(intent, message.entities, text):
            logger.info("turn_router.stock_check conversation_id=%s nlu_intent=%s", tracker.sender_id, intent)
            message.intent = {"name": STOCK_INTENT, "confidence": 1.0, "kefu_nlu_intent": intent}
            return await original(self, output_channel, tracker)
        if not worth_routing(tracker, text, intent, message.entities):
            return await original(self, output_channel, tracker)
        action = action_for_name_or_text(ROUTE_ACTION, self.domain, self.action_endpoint)
        try:
            events = await action.run(output_channel, self.nlg, tracker.copy(), self.domain)
        except Exception:  # noqa: BLE001 - the action server down: the policies (and their fallbacks) answer
            logger.exception("turn_router.failed conversation_id=%s", tracker.sender_id)
            events = []
        if not events:
            return await original(self, output_channel, tracker)
        prediction = PolicyPrediction.for_action_name(self.domain, ROUTE_ACTION, "KefuTurnRouter")
        self._log_action_on_tracker(tracker, action, events, prediction)
        await self.execute_side_effects(events, tracker, output_channel)
        logger.info("turn_router.routed conversation_id=%s followup=%s", tracker.sender_id, tracker.followup_action)
        if tracker.followup_action:
            return await original(self, output_channel, tracker)
        tracker.update(ActionExecuted(ACTION_LISTEN_NAME, policy="KefuTurnRouter", confidence=1.0))
        return None

    _run_prediction_loop._kefu_turn_router = True  # type: ignore[attr-defined]
    MessageProcessor._run_prediction_loop = _run_prediction_loop  # type: ignore[method-assign]
