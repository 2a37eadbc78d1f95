"""Issue 27, defects 9 and 10: the order and stock cards say what the text says, once, in the shop's time zone.

- On the widget (socket.io, the channel that draws cards) the order answer is one lead line and the card; every
  other channel keeps the full text.
- The card's next step is the sentence alone (the widget labels the row), its expected date is there only while
  the parcel is on its way, and its times name the zone the text uses.
- The text shows a discount only when there is one.
- The stock card lists the stores the text names (the customer's city first) with the text's quantity words.
"""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.orders import ActionOrderStatus, ValidateOrderLookupForm, render_order
from actions.stock.matching import find_product, find_sku, stock_view
from actions.stock.rendering import render_stock
from actions.store_replies import local_time
from kernel.i18n import text, to_script
from tests.actions.orders_harness import Conversation, cards, seeded_url, store, texts  # noqa: F401

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
SHIPPED, DELIVERED, CANCELLED = "KF20261120001", "KF20261118001", "KF20261110001"  # demo orders (docs/orders.md)
PHONE = {SHIPPED: "5678", DELIVERED: "1234"}
LABEL = {"zh-Hans": "下一步", "zh-Hant": "下一步", "en": "Next step"}


def look_up(conv: Conversation, order_id: str):  # type: ignore[no-untyped-def]
    form, validate, submit = "order_lookup_form", ValidateOrderLookupForm(), ActionOrderStatus()
    conv.form_turn(form, validate, submit, order_id, {"order_id": order_id})
    return conv.form_turn(form, validate, submit, PHONE[order_id], {"phone_suffix": PHONE[order_id]})


# ---------------------------------------------------------------------------
# Order: one reply on the widget, the full text elsewhere
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_widget_gets_a_lead_line_and_the_card_other_channels_the_full_text(store, lang: str) -> None:  # type: ignore[no-untyped-def]
    widget = look_up(Conversation(language=lang, channel="socketio"), SHIPPED)
    [answer] = [m for m in widget if (m.get("custom") or {}).get("kefu_card")]
    assert "\n" not in answer["text"] and "SF" not in answer["text"], "the card has the facts: not said twice"
    assert answer["text"] == text("msg_order_card_lead", lang, order_id=SHIPPED)
    assert answer["custom"]["kefu_card"]["type"] == "order_status"
    for channel in ("rest", "wechat", "wecom", "wxkf"):
        out = look_up(Conversation(language=lang, channel=channel, sender=f"{channel}-user"), SHIPPED)
        [full] = [m for m in out if (m.get("custom") or {}).get("kefu_card")]
        assert SHIPPED in full["text"] and "SF" in full["text"] and full["text"].count("\n") >= 5, channel


# ---------------------------------------------------------------------------
# Order card fields
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("order_id", [SHIPPED, DELIVERED, CANCELLED])
def test_card_next_step_is_the_sentence_once(store, lang: str, order_id: str) -> None:  # type: ignore[no-untyped-def]
    body, card = render_order(store.get_order(order_id), lang)
    step = card["kefu_card"]["next_step"]
    assert step and not step.startswith(LABEL[lang]), "the widget adds its own label: no 下一步 下一步"
    assert body.count(step) == 1
    if order_id != CANCELLED:  # the text keeps its label
        assert text("msg_order_next_step", lang, step=step) in body.splitlines()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_expected_delivery_only_while_shipped(store, lang: str) -> None:  # type: ignore[no-untyped-def]
    delivered = store.get_order(DELIVERED)
    assert delivered.expected_delivery is not None  # the store still has the date
    _, card = render_order(delivered, lang)
    assert card["kefu_card"]["shipping"]["expected_delivery"] is None
    _, card = render_order(store.get_order(SHIPPED), lang)
    assert card["kefu_card"]["shipping"]["expected_delivery"] == store.get_order(SHIPPED).expected_delivery.isoformat()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_discount_only_when_there_is_one(store, lang: str) -> None:  # type: ignore[no-untyped-def]
    none, _ = render_order(store.get_order(DELIVERED), lang)
    assert "-¥0.00" not in none and ("优惠" not in none and "優惠" not in none and "discount" not in none)
    order = store.get_order(CANCELLED)
    assert order.discount_cents == 3000
    some, card = render_order(order, lang)
    assert "-¥30.00" in some and card["kefu_card"]["amounts"]["discount"] == {"cents": 3000, "text": "¥30.00"}
    # a delivered order with a discount says it too
    some, _ = render_order(dataclasses.replace(store.get_order(DELIVERED), discount_cents=500, total_cents=12300), lang)
    assert "-¥5.00" in some


@pytest.mark.parametrize("lang", LANGUAGES)
def test_card_times_name_the_zone_of_the_text(store, lang: str) -> None:  # type: ignore[no-untyped-def]
    order = store.get_order(DELIVERED)
    body, card = render_order(order, lang)
    data = card["kefu_card"]
    assert data["time_zone"] == "Asia/Shanghai"
    zone = ZoneInfo(data["time_zone"])
    for step, event in zip(data["timeline"], order.events, strict=True):
        at = datetime.fromisoformat(step["at"].replace("Z", "+00:00"))
        assert at == event.at
        shown = at.astimezone(zone)
        # what the widget shows in that zone is the clock the text shows
        stamp = shown.strftime("%b %d %H:%M") if lang == "en" else shown.strftime("%m-%d %H:%M")
        assert stamp == local_time(event.at, lang) and stamp in body


# ---------------------------------------------------------------------------
# Stock card: the chosen city, the text's words
# ---------------------------------------------------------------------------
CASES = [
    ("P010-WH-500ML", "shanghai"),  # online and in the city: 上海静安店 有货（8 件）, 上海徐汇店 暂无
    ("P001-BK", "beijing"),  # online, none in the city's stores
    ("P010-WH-500ML", "online"),  # online only asked: the stores that have it
    ("P006-RD", "beijing"),  # stores only
    ("P006-RD", "guangzhou"),  # no store in the city, stores elsewhere
    ("P001-BL", "shenzhen"),  # online only
    ("P010-PK-750ML", "shanghai"),  # nowhere
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("sku_code,city", CASES)
def test_stock_card_shows_the_stores_the_text_names_in_its_words(store, lang: str, sku_code: str,
                                                                  city: str) -> None:  # type: ignore[no-untyped-def]
    catalogue = store.catalogue()
    sku = find_sku(catalogue, sku_code)
    product = find_product(catalogue, sku.product_id)
    view = stock_view(product, sku, store.stock_for_sku(sku_code), store.locations(), city)
    body, card, _ = render_stock(view, lang)
    data = card["kefu_card"]
    on_card = {s["id"]: s for s in data["stores"]}
    for s in view.stores:
        name = s.location.name_en if lang == "en" else to_script(s.location.name_zh, lang)
        if s.location.id in on_card:  # on the card as the text says it: its name and quantity words
            entry = on_card[s.location.id]
            assert f"{name} {entry.get('quantity_text')}" in body, (s.location.id, body)
            assert entry.get("in_city") == (s.location.city == city)
        else:  # the text does not name it: neither does the card
            assert name not in body, (s.location.id, body)
    if view.city_has_stores and view.case != "out_everywhere":  # the chosen city's stores, first
        assert [s["id"] for s in data["stores"] if s["in_city"]] == [s.location.id for s in view.city_stores]
        assert [s["in_city"] for s in data["stores"]] == sorted((s["in_city"] for s in data["stores"]), reverse=True)
    online = data["online"]
    assert online["quantity_text"] in body if view.online_quantity else (
        online["quantity_text"] == text("msg_stock_qty_none", lang))
    assert not {"无货", "無貨"} & set(str(data).split("'")), "one wording: the text's 暂无"
    assert data["city"] == city and data["city_label"] == text(f"msg_city_{city}", lang)  # the widget's group title
