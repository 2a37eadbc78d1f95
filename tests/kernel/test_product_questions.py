"""kernel/product_questions.py: a question about a product itself is told from a question about its stock, and a
spec question says which spec it asks about, in the three scripts."""

from __future__ import annotations

import pytest

from kernel.product_questions import SPEC_KEYS, asked_specs, asks_about_a_product, product_words


@pytest.mark.parametrize("message, kind", [
    ("那耳机有几个颜色可以选", "options"), ("what sizes does the stainless steel bottle come in", "options"),
    ("有哪幾種容量", "options"), ("氣炸鍋有幾公升的可以選", "options"),
    ("air fryer, what capacity options are there? cooking for 4 people", "options"),
    ("你們的保溫杯是什麼材質 304不鏽鋼嗎", "spec"), ("蓝牙音箱防水吗 想洗澡的时候放歌", "spec"),
    ("is the mug real ceramic or some plastic", "spec"), ("Watch S 续航多久啊 一周充一次够不够", "spec"),
    ("降噪耳机支持无线充电么", "spec"),
    # stock, price, policy: not about the product itself
    ("上海有白色保温杯吗", None), ("红色音箱还有货吗 什么颜色都行", None), ("充电宝多少钱", None),
    ("保温杯支持七天无理由吗", None), ("65W快充头有货吗", None), ("不粘锅保修多久", None), ("", None),
    # a purchase: for the presales desk
    ("Please quote 100 ceramic mugs for us", None), ("想采购200个陶瓷马克杯", None),
])
def test_questions_about_a_product(message: str, kind) -> None:  # type: ignore[no-untyped-def]
    assert asks_about_a_product(message) == kind


@pytest.mark.parametrize("message, keys", [
    # Simplified
    ("杯子是啥材质的 304吗", ("material",)), ("蓝牙音箱防水吗 想洗澡的时候放歌", ("waterproof",)),
    ("那个氮化镓充电头多少瓦 能给MacBook充电吗", ("power", "compatibility")),
    ("Watch S 续航多久啊 一周充一次够不够", ("battery",)), ("你们那个圆领T恤什么料子的", ("material",)),
    ("降噪耳机支持无线充电么", ("charging",)), ("空气炸锅的涂层安全吗", ("coating",)),
    ("保温杯保温效果怎么样 能放洗碗机吗", ("insulation", "care")), ("陶瓷杯能放微波炉吗", ("microwave",)),
    ("不粘锅电磁炉能用吗", ("compatibility",)), ("卫衣偏大还是偏小", ("fit",)), ("充电器送线吗", ("included",)),
    ("加湿器吵不吵", ("noise",)), ("头戴耳机降噪效果怎么样", ("noise_cancelling",)), ("音箱蓝牙是几点几的", ("bluetooth",)),
    ("吹风机多重", ("weight",)), ("收纳箱长宽高多少", ("dimensions",)), ("耳机续航多久 保修几年", ("battery", "warranty")),
    # Traditional (normalise() folds the script: the same words match)
    ("你們的保溫杯是什麼材質 304不鏽鋼嗎", ("material",)), ("行動電源 20000mAh 有支援快充嗎 最高幾瓦", ("charging", "power")),
    ("Watch S 電池充飽可以用幾天", ("battery",)), ("游泳可以戴嗎 有沒有防水", ("waterproof",)),
    ("這個炒鍋電磁爐能用嗎", ("compatibility",)), ("馬克杯可以放洗碗機嗎", ("care",)),
    # English
    ("is the speaker waterproof", ("waterproof",)), ("how long does the watch battery last", ("battery",)),
    ("what's the bottle made of", ("material",)), ("is the mug real ceramic or some plastic", ("material",)),
    ("how many watts is your gan charger", ("power",)), ("does it come with a cable or do I buy that separately",
                                                          ("included",)),
    ("whats the basket coating, is it teflon?", ("coating",)), ("dishwasher safe?", ("care",)),
    ("will the wok work on induction", ("compatibility",)), ("does the tee run small", ("fit",)),
    ("how heavy is the air fryer", ("weight",)), ("does the earbud case support wireless charging", ("charging",)),
    # the warranty alone, stock, a purchase, after-sales, other meanings of the words: no spec, or not one to answer
    ("不粘锅保修多久", ("warranty",)), ("上海有白色保温杯吗", ()), ("Please quote 100 ceramic mugs for us", ()),
    ("我给老公买的卫衣他穿着偏大，想换小一号的", ()), ("用一阵子不保温了咋办", ()), ("how do i lose weight", ()),
    ("how do you charge for delivery", ()), ("I was charged twice", ()), ("which delivery company do you work with", ()),
    ("is shipping included on the invoice", ()), ("Magnetic Wireless Charging Pad", ()), ("USB-C快充資料線", ()),
    ("my thermos doesn't keep things hot anymore", ()), ("当日达有重量限制吗", ()), ("新會員有沒有送什麼折價券", ()),
])
def test_which_spec_a_question_asks(message: str, keys: tuple) -> None:
    assert asked_specs(message) == keys


@pytest.mark.parametrize("message, kind", [
    ("不粘锅保修多久", None), ("what's the warranty on the watch s", None),  # the knowledge base answers the warranty
    ("要是进水坏了给保修吗", None), ("耳机续航多久 保修几年", "spec"), ("能给iPhone 15 Pro充电吗", "spec"),
    ("陶瓷马克杯有几种颜色 能放洗碗机吗", "options"),
])
def test_what_kind_of_product_question(message: str, kind) -> None:  # type: ignore[no-untyped-def]
    assert asks_about_a_product(message) == kind


@pytest.mark.parametrize("message, words", [
    ("降噪耳机支持无线充电么", "降噪耳机 电么"),  # the earbuds, not the wireless charging pad
    ("那个氮化镓充电头多少瓦 能给MacBook充电吗", "那个氮化镓充电头"), ("能给iPhone 15 Pro充电吗", ""),
    ("what's the bottle made of", "bottle"), ("how long does the watch battery last", "watch"),
    ("does it come with a cable or do I buy that separately", "separately"),
])
def test_the_words_left_to_find_the_product_in(message: str, words: str) -> None:
    assert product_words(message, asked_specs(message)) == words


def test_every_spec_key_has_a_label_in_three_languages() -> None:
    from kernel.i18n import load_catalog

    catalog = load_catalog()
    for key in SPEC_KEYS:
        texts = catalog[f"msg_spec_label_{key}"]["texts"]
        assert all(texts[lang][0] for lang in ("zh-Hans", "zh-Hant", "en")), key
