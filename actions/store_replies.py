"""What every store-backed capability says the same way: money, product names, shop-time dates, the store-down reply.

Orders, stock and coupons all answer from the store (:mod:`actions.store`); this module is the
part of their wording they share, so a price, a product name or a date reads the same in an
order card, a stock answer and a coupon list, and a store failure gets one reply and one log
line wherever it happens. Pure functions, except the two that speak (``utter_store_down``) or
log (``log_store_failure``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from kernel import seller
from kernel.i18n import buttons, text, to_script
from kernel.logs import mask_id

#: The shop's time zone: dates and times shown to customers are local to it.
CHINA = timezone(timedelta(hours=8))
#: The same zone by its IANA name, sent in cards: the widget formats their times in it with ``Intl``, never in the
#: browser's zone, so a card and the text beside it (:func:`local_time`) show the same clock (China has no DST).
SHOP_TIME_ZONE = "Asia/Shanghai"
#: Input channels that draw ``kefu_card`` payloads (the web widget). There a card comes with a one-line lead text;
#: every other channel (WeChat, WeCom, 微信客服, REST) shows text only and gets the full text.
CARD_CHANNELS = frozenset({"socketio"})


def shows_cards(tracker: Tracker) -> bool:
    """Whether the customer's latest message came on a channel that draws cards."""
    return tracker.get_latest_input_channel() in CARD_CHANNELS


def money(cents: int) -> str:
    """An amount (minor units: fen, cents) in the shop's currency: ``¥499.00``, ``$12.50``, ``¥499`` (JPY)."""
    return seller.money(cents)


def product_name(name_zh: str, name_en: str, language: Optional[str]) -> str:
    """Product names in the customer's language: zh name, its Traditional form, or the en name."""
    if language == "en":
        return name_en or name_zh
    return to_script(name_zh or name_en, language)


def local_time(value: datetime, language: Optional[str]) -> str:
    local = value.astimezone(CHINA)
    return local.strftime("%b %d %H:%M") if language == "en" else local.strftime("%m-%d %H:%M")


def local_date(value: date, language: Optional[str]) -> str:
    return value.strftime("%b %d") if language == "en" else f"{value.month}月{value.day}日"


def log_store_failure(log: logging.Logger, where: str, tracker: Tracker, exc: BaseException) -> None:
    """The one clear line the action server logs when the store fails, on the calling capability's logger."""
    log.error("store unavailable in %s (conversation %s): %s", where, mask_id(tracker.sender_id), exc)


def utter_store_down(dispatcher: CollectingDispatcher, language: Optional[str]) -> None:
    dispatcher.utter_message(
        text=text("msg_store_unavailable", language), buttons=buttons("msg_store_unavailable", language)
    )
