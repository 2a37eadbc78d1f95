"""kernel/product_questions.py: a question about a product itself is told from a question about its stock."""

from __future__ import annotations

import pytest

from kernel.product_questions import asks_about_a_product


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
