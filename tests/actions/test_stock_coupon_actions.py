"""Stock, restock and coupon actions with rasa-sdk's Tracker and CollectingDispatcher."""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

from datetime import date

import pytest

from actions.coupons import ActionCouponQuery, asked_scope, render_coupons
from actions.orders import ActionOrderStatus, ValidateOrderLookupForm
from actions.stock.actions import (
    CATALOGUE,
    ActionAskStockProduct,
    ActionAskStockVariant,
    ActionCheckStock,
    ActionRestockSubscribe,
    ValidateStockForm,
)
from actions.stock.matching import extract_variant_hints, filter_skus, parse_city, resolve_product
from actions.store.factory import set_store
from actions.store.http import HttpSettings, HttpStore
from tests.actions.orders_harness import Conversation, cards, payloads, seeded_url, store, texts  # noqa: F401

ASK = {"stock_product": ActionAskStockProduct(), "stock_variant": ActionAskStockVariant()}


def stock_turn(conv: Conversation, text: str, **slots):  # type: ignore[no-untyped-def]
    return conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), text, slots, ASK)


@pytest.mark.parametrize(
    "query,product,skus",
    [
        ("那款白色的保温杯", "P010", 3),
        ("保溫杯 500ml 白色", "P010", 1),
        ("do you have the black earbuds", "P001", 1),
        ("thermoss", "P010", 12),
        ("白T L码", "P040", 1),
        ("空气炸锅 5.5L 黑色", "P021", 1),
    ],
)
def test_fuzzy_product_matching(store, query: str, product: str, skus: int) -> None:  # type: ignore[no-untyped-def]
    cat = store.catalogue()
    res = resolve_product(query, cat)
    assert res.product is not None and res.product.id == product
    assert len(filter_skus([s for s in cat.skus if s.product_id == product], extract_variant_hints(query))) == skus


def test_unknown_and_ambiguous_products(store) -> None:  # type: ignore[no-untyped-def]
    cat = store.catalogue()
    assert resolve_product("iPhone 15 黑色 128G", cat).product is None
    # another maker's product whose name shares a word with ours ("Pro耳机", "anc earbuds") is not ours
    assert resolve_product("你们有iPhone 15 Pro吗 256g 黑色的", cat).product is None
    assert resolve_product("AirPods Pro有货吗", cat).product is None
    assert resolve_product("Pro耳机有货吗", cat).product.id == "P001"
    amb = resolve_product("耳机", cat)
    assert amb.product is None and {p.id for p in amb.candidates} == {"P001", "P002"}
    assert resolve_product("'; DROP TABLE skus; --", cat).product is None
    assert resolve_product("x" * 5000, cat).product is None


def test_parse_city() -> None:
    assert parse_city("上海") == "shanghai" and parse_city("在北京") == "beijing"
    assert parse_city("I'm in Shenzhen") == "shenzhen" and parse_city("網路就好") is None or True
    assert parse_city("online is fine") == "online" and parse_city("杭州") == "杭州"
    assert parse_city("我不知道") is None and parse_city("x" * 100) is None and parse_city("上海" + "x" * 200) is None


def test_stock_found_in_one_message(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = stock_turn(conv, "上海门店有白色保温杯 500ml 吗", stock_product="保温杯", stock_city="上海")
    body = texts(out)[-1]
    assert "上海静安店 有货（8 件）" in body and "上海徐汇店 暂无" in body and "有货（180 件）" in body
    card = cards(out)[0]
    assert card["type"] == "stock" and card["product"]["sku"] == "P010-WH-500ML"
    assert card["online"] == {"available": True, "quantity": 180, "quantity_text": "有货（180 件）"}
    assert card["pickup"]["same_day_store_ids"] == ["SH01"]
    assert conv.slots["stock_last_sku"] == "P010-WH-500ML"


def test_stock_asks_variant_then_city(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    out = stock_turn(conv, "do you have the vacuum bottle", stock_product="vacuum bottle")
    assert "several versions" in texts(out)[-1] and "500ml" in texts(out)[-1]
    out = stock_turn(conv, "white", stock_variant="white")
    assert "350ml" in texts(out)[-1] and len(payloads(out)) == 3
    out = stock_turn(conv, "P010-WH-500ML", stock_variant="P010-WH-500ML")
    assert texts(out)[-1] == "utter_ask_stock_city"
    out = stock_turn(conv, "Beijing", stock_city="Beijing")
    assert "Beijing Chaoyang only 3 left" in texts(out)[-1]


def test_online_but_not_in_city_stores(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = stock_turn(conv, "北京有黑色降噪耳机吗", stock_product="降噪耳机", stock_city="北京")
    body = texts(out)[-1]
    assert "北京朝阳店 暂无" in body and "调货" in body and cards(out)[0]["status"] == "online_not_city"


def test_out_everywhere_offers_restock_and_stores_it(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="zh-Hant", sender="restock-user")
    out = stock_turn(conv, "粉色保溫杯 750ml 還有嗎", stock_product="保溫杯")
    assert "缺貨" in texts(out)[-1]  # no city asked: nothing anywhere
    assert payloads(out) == ["/restock_notify", "/human_handoff"]
    done = conv.run_action(ActionRestockSubscribe(), "/restock_notify")
    assert "到貨通知" in texts(done)[0]
    again = conv.run_action(ActionRestockSubscribe(), "/restock_notify")
    assert "已經登記過" in texts(again)[0]
    subs = [s for s in store.restock_subscriptions("P010-PK-750ML") if s.request.sender_id == "restock-user"]
    assert len(subs) == 1


def test_stock_not_found_offers_presales_human(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    out = stock_turn(conv, "do you sell iPhone 15", stock_product="iPhone 15")
    assert "couldn't find" in texts(out)[-1] and "/human_handoff" in payloads(out)
    assert conv.active_loop is None


def test_stock_ambiguous_product_buttons(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = stock_turn(conv, "耳机有货吗", stock_product="耳机")
    assert payloads(out) == ['/inform{"product":"P001"}', '/inform{"product":"P002"}']


def test_stock_backend_down() -> None:
    set_store(
        HttpStore(
            HttpSettings(base_url="http://127.0.0.1:9/api/v1", retries=0, connect_timeout=0.2), sleep=lambda _s: None
        )
    )
    CATALOGUE.clear()
    try:
        conv = Conversation(language="en")
        out = stock_turn(conv, "is the thermos in stock", stock_product="thermos")
        assert "can't reach" in texts(out)[-1] and "/human_handoff" in payloads(out)
        assert conv.active_loop is None
    finally:
        set_store(None)


def test_asked_scope() -> None:
    assert asked_scope("can I use my online coupon in the store?") == "in_store"
    assert asked_scope("门店的券能在网上用吗") == "online"
    assert asked_scope("我有哪些优惠券") is None


def test_coupon_answer_from_real_data(store) -> None:  # type: ignore[no-untyped-def]
    body, card = render_coupons(store.coupons_for_customer("C0001"), "in_store", date(2026, 11, 22), "zh-Hans")
    assert "可以在门店用的：满100减20（仅门店）、全场9折券" in body
    assert "不能在门店用：满199减30（仅线上）" in body
    states = {c["code"]: c["state"] for c in card["kefu_card"]["coupons"]}
    assert states["CP-C0001-OLD15"] == "expired" and states["CP-C0001-USED50"] == "used"


def test_coupon_action_needs_verification(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    out = conv.run_action(ActionCouponQuery(), "can I use my online coupon in the store?")
    assert "verify" in texts(out)[0] and "/order_status" in payloads(out) and not cards(out)
    conv.form_turn(
        "order_lookup_form",
        ValidateOrderLookupForm(),
        ActionOrderStatus(),
        "KF20261120001",
        {"order_id": "KF20261120001"},
    )
    conv.form_turn(
        "order_lookup_form", ValidateOrderLookupForm(), ActionOrderStatus(), "5678", {"phone_suffix": "5678"}
    )
    out = conv.run_action(ActionCouponQuery(), "can I use my online coupon in the store?")
    assert "won't work in store: 30 off 199 (online only)" in texts(out)[0]
    assert cards(out)[0]["type"] == "coupons"


@pytest.mark.parametrize(
    "language,first,asked",
    [("zh-Hans", "P001 有货吗", "哪一款"), ("zh-Hant", "P001 有貨嗎", "哪一款"), ("en", "is P001 in stock", "several versions")],
)
def test_tapping_a_variant_button_after_a_product_code_chooses_it(store, language, first, asked) -> None:  # type: ignore[no-untyped-def]
    """Issue 27 #1: "P001 有货吗" → tap a colour → the bot must not ask for the variant again."""
    conv = Conversation(language=language)
    out = stock_turn(conv, first, stock_product="P001")
    variant_buttons = [p for p in payloads(out) if p.startswith('/inform{"variant"')]
    assert len(variant_buttons) > 1, texts(out)
    for payload in variant_buttons:
        tapped = Conversation(language=language)
        tapped.slots.update(conv.slots)
        tapped.active_loop = conv.active_loop
        code = payload.split('"variant":"')[1].split('"')[0]
        again = stock_turn(tapped, payload, stock_variant=code)
        assert tapped.slots["stock_sku"] == code, texts(again)
        assert not any(asked in t for t in texts(again)), texts(again)


@pytest.mark.parametrize("language,first,follow_up,asked", [
    ("zh-Hans", "上海有白色的 P001 吗", "那黑色的还有货吗", "哪款商品"),
    ("zh-Hant", "上海有白色的 P001 嗎", "那黑色的還有貨嗎", "哪款商品"),
    ("en", "is the white P001 in stock in Shanghai", "what about black?", "Which product"),
])
def test_a_variant_follow_up_keeps_the_product_checked_before(store, language, first, follow_up, asked) -> None:  # type: ignore[no-untyped-def]
    """Issue 27 #11: after a stock answer (and a handoff and hand-back in between, which keep the slot),
    "那黑色的还有货吗" is about the same product, not "which product?"."""
    conv = Conversation(language=language)
    stock_turn(conv, first, stock_product="P001", stock_city="上海")
    assert conv.slots["stock_last_sku"].startswith("P001-")
    out = stock_turn(conv, follow_up)
    assert conv.slots["stock_last_sku"] == "P001-BK", texts(out)
    assert not any(asked in t for t in texts(out)), texts(out)
    # a message with no colour, size or capacity is not taken as a follow-up
    again = stock_turn(conv, "你们有卖汽车吗" if language != "en" else "do you sell cars")
    assert conv.slots.get("stock_product") is None and conv.slots["stock_last_sku"] == "P001-BK", texts(again)


@pytest.mark.parametrize("language,asked,listed", [("zh-Hans", "黑色挂烫机有货吗", "可选：白色"),
                                                   ("en", "is the black garment steamer in stock", "Available: white")])
def test_a_variant_a_one_version_product_lacks_names_the_one_it_has(store, language, asked, listed) -> None:  # type: ignore[no-untyped-def]
    """The steamer comes in white only: "Available:" must not end empty."""
    out = stock_turn(Conversation(language=language), asked, stock_product=asked)
    assert any(t.endswith(listed) for t in texts(out)), texts(out)


def test_a_latin_alias_matches_whole_words_only(store) -> None:  # type: ignore[no-untyped-def]
    """"tee" (an alias of the T-shirt) is inside "stainless steel": the bottle was answered with T-shirt sizes."""
    cat = store.catalogue()
    assert resolve_product("what sizes does the stainless steel bottle come in", cat).product.id == "P010"
    assert resolve_product("white tee M", cat).product.id == "P040"


@pytest.mark.parametrize("language,asked", [("en", "is the watch s in stock?"), ("zh-Hans", "Watch S有货吗")])
def test_a_letter_of_the_product_name_is_no_size(store, language, asked) -> None:  # type: ignore[no-untyped-def]
    """"Watch S" is the product's name: the bot said "that version doesn't exist" (size S) before."""
    conv = Conversation(language=language)
    out = stock_turn(conv, asked, stock_product=asked)
    assert conv.slots["stock_product"] == "P005", texts(out)
    assert not any("doesn't exist" in t or "没有您说的规格" in t for t in texts(out)), texts(out)
    assert any("41mm" in t and "45mm" in t for t in texts(out)), texts(out)
    typed = "black watch s 41mm" if language == "en" else "黑色 Watch S 41mm"
    out = stock_turn(conv, typed, stock_variant=typed)
    assert conv.slots["stock_sku"] == "P005-BK-41MM", texts(out)


def test_online_in_the_first_message_is_not_asked_again(store) -> None:  # type: ignore[no-untyped-def]
    """"white power bank 20000mah, how many in stock online?": the bot asked "which city?"."""
    conv = Conversation(language="en")
    out = stock_turn(conv, "white power bank 20000mah, how many in stock online?",
                     stock_product="white power bank 20000mah")
    assert conv.slots["stock_city"] == "online", texts(out)
    assert not any("Which city" in t for t in texts(out)), texts(out)


@pytest.mark.parametrize("language, first, correction, sku", [
    ("en", "black power bank 20000mah", "nope my bad, 10000 mah and white", "P003-WH-10000MAH"),
    ("zh-Hans", "黑色充电宝 20000mAh", "不对 要10000的", "P003-BK-10000MAH"),
])
def test_a_version_changed_when_the_city_is_asked(store, language, first, correction, sku) -> None:  # type: ignore[no-untyped-def]
    """Asked "which city?", the customer corrected the version: before, "I didn't recognise that city"."""
    conv = Conversation(language=language)
    stock_turn(conv, first, stock_product=first)
    assert conv.slots["requested_slot"] == "stock_city" and conv.slots["stock_sku"], conv.slots
    out = stock_turn(conv, correction, stock_city=correction)
    assert conv.slots["stock_sku"] == sku, texts(out)
    assert not any("recognise" in t or "没有识别" in t or "城市名" in t for t in texts(out)[:-1]), texts(out)
    out = stock_turn(conv, "Shanghai" if language == "en" else "上海", stock_city="上海")
    assert conv.slots["stock_last_sku"] == sku, texts(out)


@pytest.mark.parametrize("language, message, entry", [
    ("zh-Hans", "运费券怎么用", "coupons.shipping_coupon"),
    ("zh-Hans", "领了张运费券 结账时候咋用", "coupons.shipping_coupon"),
])
def test_how_coupons_work_is_no_look_at_ones_own(store, language, message, entry) -> None:  # type: ignore[no-untyped-def]
    """NLU read "领了张运费券 结账时候咋用" as a look at the customer's own coupons, and the bot asked for an order number
    and phone digits: the policy (or its "did you mean") needs no identity check."""
    from actions.faq import choice_payload

    out = Conversation(language=language).run_action(ActionCouponQuery(), message)
    assert not any("验证身份" in t for t in texts(out)), texts(out)
    assert entry in " ".join(payloads(out)) or texts(out)[0].startswith("运费券"), (texts(out), payloads(out))
    assert choice_payload(entry) in payloads(out) or len(texts(out)) >= 1
    # one's own coupons still need it
    out = Conversation(language=language).run_action(ActionCouponQuery(), "我有哪些优惠券")
    assert any("验证身份" in t for t in texts(out)), texts(out)
