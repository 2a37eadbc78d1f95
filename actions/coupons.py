"""Coupons: "can I use my online coupon in the store?" answered from the customer's own coupons."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.faq import ActionAnswerFaq, answer_turn, follow_up_context
from actions.identity import VerifiedIdentity, identity_for_tracker, identity_slots
from actions.store import get_store
from actions.store.offload import offload
from actions.store.types import Coupon, StoreError
from actions.store_replies import CHINA, local_date, log_store_failure, money, utter_store_down
from kernel.i18n import buttons, text, to_script
from kernel.language import normalise
from kernel.questions import looks_like_a_question
from knowledge_base.serving.runtime import shared_knowledge_base
from knowledge_base.serving.scoring import ANSWER, CLARIFY

log = logging.getLogger(__name__)

IN_STORE_WORDS = (
    "门店",
    "店里",
    "店内",
    "线下",
    "实体店",
    "专柜",
    "收银",
    "in store",
    "in-store",
    "store",
    "shop",
    "offline",
    "till",
    "cashier",
)
ONLINE_WORDS = ("网上", "线上", "网店", "官网", "小程序", "app", "online", "website", "web", "mini program")


def asked_scope(message: Any) -> Optional[str]:
    """Where the customer wants to use a coupon: ``in_store``, ``online`` or None (not said).

    "Can I use my online coupon in the store?" asks about the store: the place
    to use it wins over the kind of coupon, so the last place named counts.
    """
    if not isinstance(message, str) or len(message) > 500:
        return None
    q = normalise(message)
    last: Tuple[int, Optional[str]] = (-1, None)
    for scope, words in (("in_store", IN_STORE_WORDS), ("online", ONLINE_WORDS)):
        for w in words:
            pos = q.rfind(w)
            if pos > last[0]:
                last = (pos, scope)
    return last[1]


@dataclass(frozen=True)
class CouponState:
    coupon: Coupon
    state: str  # "usable" | "used" | "expired" | "not_yet"


def classify(coupons: Sequence[Coupon], today: date) -> List[CouponState]:
    out = []
    for c in coupons:
        if c.used_at is not None:
            state = "used"
        elif c.valid_until < today:
            state = "expired"
        elif c.valid_from > today:
            state = "not_yet"
        else:
            state = "usable"
        out.append(CouponState(c, state))
    order = {"usable": 0, "not_yet": 1, "used": 2, "expired": 3}
    out.sort(key=lambda s: (order[s.state], s.coupon.valid_until, s.coupon.code))
    return out


def usable_in(coupon: Coupon, scope: str) -> bool:
    return coupon.scope == "both" or coupon.scope == scope


def _discount(c: Coupon, language: Optional[str]) -> str:
    if c.kind == "percent_off":
        return text("msg_coupon_percent", language, percent=c.value, rate=f"{(100 - c.value) / 10:g}")
    return text("msg_coupon_amount", language, amount=money(c.value))


def render_coupons(
    coupons: Sequence[Coupon], scope: Optional[str], today: date, language: Optional[str]
) -> Tuple[str, Dict[str, Any]]:
    lang = language
    states = classify(coupons, today)
    usable = [s for s in states if s.state == "usable"]
    if not states:
        body = text("msg_coupon_none", lang)
        return body, {"kefu_card": {"type": "coupons", "version": 1, "language": lang, "coupons": []}}
    lines = []
    for s in states:
        c = s.coupon
        title = c.title_en if lang == "en" else to_script(c.title_zh, lang)
        min_spend = text("msg_coupon_min_spend", lang, amount=money(c.min_spend_cents)) if c.min_spend_cents else ""
        lines.append(
            text(
                "msg_coupon_row",
                lang,
                title=title,
                discount=_discount(c, lang),
                min_spend=min_spend,
                scope=text(f"msg_coupon_scope_{c.scope}", lang),
                until=local_date(c.valid_until, lang),
                state=text(f"msg_coupon_state_{s.state}", lang),
            )
        )
    parts = [text("msg_coupon_header", lang, n=len(usable))]
    if scope in ("in_store", "online"):
        yes = [s for s in usable if usable_in(s.coupon, scope)]
        no = [s for s in usable if not usable_in(s.coupon, scope)]
        names = lambda group: ("、" if lang != "en" else ", ").join(  # noqa: E731
            (s.coupon.title_en if lang == "en" else to_script(s.coupon.title_zh, lang)) for s in group
        )
        if yes:
            parts.append(text(f"msg_coupon_answer_{scope}_yes", lang, coupons=names(yes)))
        else:
            parts.append(text(f"msg_coupon_answer_{scope}_none", lang))
        if no:
            parts.append(text(f"msg_coupon_answer_{scope}_no", lang, coupons=names(no)))
    parts.append("\n".join(lines))
    parts.append(text("msg_coupon_how_to_use", lang))
    card = {
        "kefu_card": {
            "type": "coupons",
            "version": 1,
            "language": lang,
            "asked_scope": scope,
            "coupons": [
                {
                    "code": s.coupon.code,
                    "title": s.coupon.title_en if lang == "en" else to_script(s.coupon.title_zh, lang),
                    "scope": s.coupon.scope,
                    "kind": s.coupon.kind,
                    "value": s.coupon.value,
                    "min_spend": {"cents": s.coupon.min_spend_cents, "text": money(s.coupon.min_spend_cents)},
                    "valid_from": s.coupon.valid_from.isoformat(),
                    "valid_until": s.coupon.valid_until.isoformat(),
                    "state": s.state,
                    "usable_in_store": s.state == "usable" and usable_in(s.coupon, "in_store"),
                    "usable_online": s.state == "usable" and usable_in(s.coupon, "online"),
                }
                for s in states
            ],
        }
    }
    return "\n".join(parts), card


def today_in_china() -> date:
    return datetime.now(CHINA).date()


def _customer_coupons(tracker: Tracker) -> Tuple[Optional[VerifiedIdentity], Sequence[Coupon]]:
    """The verified customer and their coupons, or (None, ()) when unverified (blocking: store calls)."""
    store = get_store()
    identity = identity_for_tracker(tracker, store)
    if identity is None:
        return None, ()
    return identity, store.coupons_for_customer(identity.customer_id)


#: asking about one's own coupons ("我有哪些券", "my coupons", "查一下我的优惠券"), which needs the identity check
_OWN = re.compile(r"我的|我有|我还有|我这|我账|有哪些|有什么券|有几张|还剩|查一下|查查|帮我查|\b(?:my|mine|i have|do i have|i got)\b")


def _how_coupons_work(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[Dict[str, Any]]]:
    """A question about how coupons work ("领了张运费券 结账时候咋用", "那運費券呢 也不行嗎") that NLU read as a look at
    one's own coupons: the knowledge base's answer or its "did you mean" choices, with no identity check; None
    otherwise (the customer's coupons, after the identity check). Blocking."""
    message = (tracker.latest_message or {}).get("text") or ""
    if not message or message.startswith("/") or _OWN.search(normalise(message)) or not looks_like_a_question(message):
        return None
    try:
        kb = shared_knowledge_base()
        reply = answer_turn(kb, message, tracker.get_slot("language"), None, follow_up_context(tracker.events))
    except Exception:  # noqa: BLE001 - no index: the coupons, as NLU said
        log.exception("coupons.kb_failed conversation_id=%s", tracker.sender_id)
        return None
    if reply.outcome not in (ANSWER, CLARIFY):
        return None
    return ActionAnswerFaq(kb).send(dispatcher, tracker, reply)


class ActionCouponQuery(Action):
    def name(self) -> str:
        return "action_coupon_query"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = tracker.get_slot("language")
        answered = await offload(_how_coupons_work, dispatcher, tracker)
        if answered is not None:  # "领了张运费券 结账时候咋用": the policy, not the customer's own coupons
            return answered
        try:
            identity, coupons = await offload(_customer_coupons, tracker)
        except StoreError as exc:
            log_store_failure(log, "coupons", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [SlotSet("human_offered", True)]
        if identity is None:
            dispatcher.utter_message(
                text=text("msg_coupon_need_verification", lang),
                buttons=buttons("msg_coupon_need_verification", lang),
            )
            return []
        scope = asked_scope((tracker.latest_message or {}).get("text"))
        body, card = render_coupons(coupons, scope, today_in_china(), lang)
        dispatcher.utter_message(text=body, json_message=card)
        return [SlotSet(k, v) for k, v in identity_slots(identity).items()]
