"""The presales intake reads buyers' real wording (Simplified, Traditional, English) into a Need, merges messages, and
knows when a customer declines a question. Pure: the demo catalogue is built from its data files, no database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Dict

import pytest

from actions.presales.intake import (
    CityTableError,
    Need,
    cn_number,
    default_cities,
    en_number,
    load_cities,
    merge,
    parse_cities,
    parse_need,
    region_of,
    skip_words,
)
from actions.store.demo_data import demo_data
from actions.store.seed import build_skus
from actions.store.types import Catalogue, Product, Sku

TODAY = date(2026, 12, 4)  # a Friday


def demo_catalogue() -> Catalogue:
    data = demo_data()
    products = tuple(Product(p.id, p.name_zh, p.name_en, p.category, p.brand, p.aliases) for p in data.products)
    skus = tuple(
        Sku(code, spec.id, price * 100, data.colors[color][0], data.colors[color][1], size, capacity)
        for spec, code, color, capacity, size, price in build_skus(data)
    )
    return Catalogue(products, skus)


CATALOGUE = demo_catalogue()


def read(text: str, **kwargs: Any) -> Need:
    return parse_need(text, today=TODAY, catalogue=CATALOGUE, **kwargs)


def check(need: Need, expected: Dict[str, Any]) -> None:
    """Each expected field has that value; ``None`` means the field must stay empty."""
    got = need.fields()
    for key, value in expected.items():
        if value is None:
            assert key not in got, f"{key} should be empty, got {got.get(key)!r} in {got}"
        else:
            assert got.get(key) == value, f"{key}: expected {value!r}, got {got.get(key)!r} in {got}"


# ---------------------------------------------------------------------------
# One message, one or several fields
# ---------------------------------------------------------------------------
CASES = [
    # the issue's own example, in both scripts and with full-width digits
    ("我们公司要采购200个保温杯，印logo，月底前送到上海和苏州",
     {"quantity": 200, "product_id": "P010", "product_name": "不锈钢保温杯", "product_line": "cups_bottles",
      "product_query": "保温杯", "unit_price_cents": 9900, "customisation": "印logo", "cities": ("上海", "苏州"),
      "needed_by": date(2026, 12, 31), "company": None}),
    ("我們公司要採購２００個保溫杯，印logo，月底前送到上海和蘇州",
     {"quantity": 200, "product_id": "P010", "product_name": "不锈钢保温杯", "product_query": "保溫杯",
      "cities": ("上海", "苏州"), "needed_by": date(2026, 12, 31)}),
    # quantities
    ("200个", {"quantity": 200}),
    ("要两百个", {"quantity": 200}),
    ("二百五十件", {"quantity": 250}),
    ("两百五十个马克杯", {"quantity": 250, "product_id": "P011"}),
    ("三千台", {"quantity": 3000}),
    ("1.5万个", {"quantity": 15000}),
    ("一万二个", {"quantity": 12000}),
    ("五十个", {"quantity": 50}),
    ("200来个", {"quantity": 200}),
    ("两百左右", {"quantity": 200}),
    ("大概两百多个吧", {"quantity": 200}),
    ("我们要1w个", {"quantity": 10000}),
    ("1,000 units", {"quantity": 1000}),
    ("300pcs", {"quantity": 300}),
    ("需要80套", {"quantity": 80}),
    ("10箱", {"quantity": 10}),
    ("采购300", {"quantity": 300}),
    ("数量：500", {"quantity": 500}),
    ("300", {"quantity": 300}),
    ("三百", {"quantity": 300}),
    ("two hundred", {"quantity": 200}),
    ("a thousand tumblers please", {"quantity": 1000, "product_id": "P012", "product_name": "Travel Coffee Tumbler"}),
    ("we need about 80 backpacks", {"quantity": 80, "product_query": "backpacks", "product_id": None}),
    ("I'm looking for 120 desk lamps", {"quantity": 120, "product_query": "desk lamps", "company": None,
                                        "contact_name": None}),
    ("qty 250", {"quantity": 250}),
    ("年会礼品，大概两三百份", {"quantity": 200}),  # a range: the lower bound (the words go to the lead's notes)
    ("200-300个", {"quantity": 200}),
    ("200 to 300 units", {"quantity": 200}),
    ("能做1000个吗，每个单价多少", {"quantity": 1000, "product_query": None}),
    ("下午3点前能确认吗", {"quantity": None}),
    ("我们公司年底想给两百多个员工每人买一个保温杯", {"quantity": 200, "product_id": "P010", "product_query": "保温杯"}),
    # not quantities
    ("预算5000元", {"quantity": None}),
    ("预算5万，要保温杯", {"quantity": None, "product_id": "P010"}),
    ("单价50元以内，要1000个", {"quantity": 1000}),
    ("budget 5000 rmb", {"quantity": None}),
    ("要500ml的", {"quantity": None}),
    ("1.7L的电热水壶", {"quantity": None, "product_id": "P020"}),
    ("20000mAh充电宝100个", {"quantity": 100, "product_id": "P003"}),
    ("65W氮化镓充电器 300个", {"quantity": 300, "product_id": "P004", "product_query": "65W氮化镓充电器"}),
    ("订单号 1234567890 的货", {"quantity": None}),
    ("我想问一个问题", {"quantity": None}),
    ("我要退货", {"product_query": None, "quantity": None}),
    ("我的订单什么时候到", {"product_query": None}),
    ("送到3个城市", {"quantity": None}),
    ("3个月内", {"quantity": None, "needed_by": date(2027, 3, 4)}),
    ("四件套100套", {"quantity": 100}),
    ("13812345678", {"quantity": None, "phone": "13812345678"}),
    ("12345678901234567890", {"quantity": None, "phone": None}),
    # products and SKUs
    ("P010-WH-500ML 200个", {"sku": "P010-WH-500ML", "product_id": "P010", "unit_price_cents": 11900, "quantity": 200}),
    ("我们要白色500ml保温杯200个", {"sku": "P010-WH-500ML", "unit_price_cents": 11900, "quantity": 200}),
    ("要300个白色的保温杯，刻字", {"product_id": "P010", "sku": None, "unit_price_cents": 9900, "customisation": "刻字"}),
    ("120 units of power bank, need by next Friday",
     {"product_id": "P003", "product_name": "Fast-Charge Power Bank", "product_line": "electronics",
      "product_query": "power bank", "quantity": 120, "needed_by": date(2026, 12, 11)}),
    ("200个保温杯和100个马克杯", {"product_id": "P010", "quantity": 200}),
    ("内裤3条装 200份", {"quantity": 200, "product_query": "内裤"}),
    ("想要一些定制的帆布袋", {"product_query": "定制的帆布袋", "product_id": None, "customisation": "想要一些定制的帆布袋"}),
    ("我是学校后勤的，要采购一批台灯，想先拿个正式报价走审批流程", {"product_query": "台灯", "quantity": None, "company": None,
                                                "contact_name": None}),
    ("我们公司上周批量买的一百个充电宝到了", {"product_query": "充电宝", "quantity": 100, "product_id": "P003"}),
    ("before we commit to 300 mugs id like to buy one or two to check the quality",
     {"product_query": "mugs", "quantity": 300, "product_id": "P011"}),
    # dates
    ("12月20日前", {"needed_by": date(2026, 12, 20)}),
    ("十二月二十号之前要", {"needed_by": date(2026, 12, 20)}),
    ("12/20", {"needed_by": date(2026, 12, 20)}),
    ("12.20前要", {"needed_by": date(2026, 12, 20)}),
    ("2026-12-20", {"needed_by": date(2026, 12, 20)}),
    ("2027年1月15日", {"needed_by": date(2027, 1, 15)}),
    ("3月1日前", {"needed_by": date(2027, 3, 1)}),  # past this year: next year
    ("20号前", {"needed_by": date(2026, 12, 20)}),
    ("2号之前", {"needed_by": date(2027, 1, 2)}),
    ("下周五", {"needed_by": date(2026, 12, 11)}),
    ("周三前", {"needed_by": date(2026, 12, 9)}),
    ("月底前", {"needed_by": date(2026, 12, 31)}),
    ("下个月底", {"needed_by": date(2027, 1, 31)}),
    ("两周内", {"needed_by": date(2026, 12, 18)}),
    ("10天内", {"needed_by": date(2026, 12, 14)}),
    ("3个工作日内能到吗", {"needed_by": date(2026, 12, 9)}),
    ("年底前", {"needed_by": date(2026, 12, 31)}),
    ("年前", {"needed_by": None, "quantity": None}),
    ("明天", {"needed_by": date(2026, 12, 5)}),
    ("by Dec 20", {"needed_by": date(2026, 12, 20)}),
    ("before December 20th, 2026", {"needed_by": date(2026, 12, 20)}),
    ("by 15 January", {"needed_by": date(2027, 1, 15)}),
    ("before the 20th", {"needed_by": date(2026, 12, 20)}),
    ("within 2 weeks", {"needed_by": date(2026, 12, 18)}),
    ("within two weeks", {"needed_by": date(2026, 12, 18)}),
    ("within 10 business days", {"needed_by": date(2026, 12, 18)}),
    ("next Friday", {"needed_by": date(2026, 12, 11)}),
    ("by Wednesday", {"needed_by": date(2026, 12, 9)}),
    ("end of the month", {"needed_by": date(2026, 12, 31)}),
    ("by the end of next month", {"needed_by": date(2027, 1, 31)}),
    # cities
    ("北京、广州、成都", {"cities": ("北京", "广州", "成都")}),
    ("送到上海市静安区南京西路1788号", {"cities": ("上海",), "product_query": None}),
    ("北京路的门店", {"cities": None}),
    ("台北和香港各100個", {"cities": ("台北", "香港"), "quantity": 100}),
    ("Shanghai and Shenzhen", {"cities": ("上海", "深圳")}),
    ("ship to xi'an, Harbin and Hong Kong", {"cities": ("西安", "哈尔滨", "香港")}),
    ("deliver to shanghai within 10 business days", {"cities": ("上海",), "needed_by": date(2026, 12, 18)}),
    ("廣州、深圳、東莞三個倉", {"cities": ("广州", "深圳", "东莞")}),
    # contacts
    ("我的电话是 138 1234 5678，微信 abc_123", {"phone": "13812345678", "wechat": "abc_123"}),
    ("+86 139-1234-5678", {"phone": "13912345678"}),
    ("联系人张三，手机13812345678", {"contact_name": "张三", "phone": "13812345678"}),
    ("联系人：李娜，电话021-64321234", {"contact_name": "李娜", "phone": "021-64321234"}),
    ("邮箱 b2b@foo.cn，微信同手机 13800001111", {"email": "b2b@foo.cn", "phone": "13800001111",
                                               "wechat": "13800001111"}),
    ("加微信xyz_8899", {"wechat": "xyz_8899"}),
    ("加V：abc12345", {"wechat": "abc12345"}),
    ("微信号：WangLei_2024，邮箱wanglei@example.com.cn", {"wechat": "WangLei_2024", "email": "wanglei@example.com.cn"}),
    ("我们需要100个，联系电话 010-88886666", {"quantity": 100, "phone": "010-88886666"}),
    ("vx: hello_world", {"wechat": "hello_world"}),
    ("WeChat: Anna_Li88", {"wechat": "Anna_Li88"}),
    ("abc_123", {"wechat": None, "quantity": None}),  # not introduced: not a WeChat ID
    ("微信 ab1", {"wechat": None}),  # too short for a WeChat ID
    ("我姓王", {"contact_name": "王"}),
    ("免贵姓李，叫我李先生就行", {"contact_name": "李"}),
    ("我是李经理", {"contact_name": "李经理"}),
    ("我是采购经理", {"contact_name": None}),
    ("我叫王小明", {"contact_name": "王小明"}),
    ("my name is Anna Li, email anna.li@acme.com", {"contact_name": "Anna Li", "email": "anna.li@acme.com"}),
    ("contact: Tom", {"contact_name": "Tom"}),
    ("this is Tom from Acme", {"contact_name": "Tom", "company": "Acme"}),
    # companies
    ("我们是上海优选科技有限公司的，需要300个马克杯",
     {"company": "上海优选科技有限公司", "cities": None, "quantity": 300, "product_id": "P011"}),
    ("我们是星辰科技", {"company": "星辰科技"}),
    ("我们是华信的", {"company": "华信"}),
    ("我们是做外贸的", {"company": None}),
    ("我们在北京和成都都有分公司", {"company": None, "cities": ("北京", "成都")}),
    ("Hello, this is Mark Chen from Blue Ocean Trading Ltd. We'd like 2,000 units",
     {"company": "Blue Ocean Trading Ltd.", "contact_name": "Mark Chen", "quantity": 2000}),
    ("我們公司叫宏達貿易", {"company": "宏達貿易"}),
    ("from Acme Inc, we need two hundred thermos bottles within 2 weeks",
     {"company": "Acme Inc", "quantity": 200, "product_id": "P010", "needed_by": date(2026, 12, 18)}),
    ("company: Acme", {"company": "Acme"}),
    ("来自腾讯科技（深圳）有限公司", {"company": "腾讯科技（深圳）有限公司", "cities": None, "product_query": None}),
    ("Acme Trading Co., Ltd. needs 600 speakers", {"company": "Acme Trading Co., Ltd.", "quantity": 600,
                                                   "product_id": "P006"}),
    ("我们是阿里巴巴集团的", {"company": "阿里巴巴集团"}),
    ("we need a quote for Christmas gifts", {"company": None, "needed_by": date(2026, 12, 25)}),
    # customisation
    ("印公司logo，蓝色，礼盒包装", {"customisation": "印公司logo，蓝色，礼盒包装"}),
    ("我们要200个保温杯印公司logo", {"customisation": "印公司logo", "product_id": "P010", "quantity": 200}),
    ("需要烫金和丝印", {"customisation": "需要烫金和丝印"}),
    ("we want 300 custom engraved bottles, gift box packaging",
     {"customisation": "custom engraved bottles, gift box packaging", "quantity": 300}),
    ("打印机100台", {"customisation": None}),
    ("立刻回复我", {"customisation": None}),
    # samples
    ("先寄样品看看", {"lead_type": "sample"}),
    ("能先寄几个看看吗", {"lead_type": "sample"}),
    ("可以先拿個樣品嗎", {"lead_type": "sample"}),
    ("Can you send a sample first?", {"lead_type": "sample", "product_query": None}),
    ("先寄两个样品，没问题的话要500个", {"lead_type": "sample", "quantity": 500}),
    ("我们不需要样品", {"lead_type": None}),
    ("for example 200 units", {"lead_type": None, "quantity": 200}),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_parse_need_reads_real_wording(text: str, expected: Dict[str, Any]) -> None:
    check(read(text), expected)


def test_one_message_with_everything() -> None:
    need = read(
        "我们需要定制蓝色保温杯，印公司logo，礼盒包装，12月20日前送到北京、广州、成都，"
        "联系人王经理 13912345678，公司是北京星辰科技有限公司"
    )
    check(need, {
        "product_id": "P010", "product_query": "保温杯", "customisation": "我们需要定制蓝色保温杯，印公司logo，礼盒包装",
        "cities": ("北京", "广州", "成都"), "needed_by": date(2026, 12, 20), "company": "北京星辰科技有限公司",
        "contact_name": "王经理", "phone": "13912345678", "quantity": None,
    })


def test_one_english_message_with_everything() -> None:
    need = read(
        "Hi, we're from Acme Co., Ltd. and need 500 mugs with our logo printed, delivered to Shanghai and Shenzhen "
        "by Dec 20. Contact: Anna Li, anna@acme.com, +86 138 0013 8000"
    )
    check(need, {
        "company": "Acme Co., Ltd.", "quantity": 500, "product_id": "P011", "product_name": "Ceramic Mug",
        "customisation": "with our logo printed", "cities": ("上海", "深圳"), "needed_by": date(2026, 12, 20),
        "contact_name": "Anna Li", "email": "anna@acme.com", "phone": "13800138000",
    })


def test_traditional_message_with_everything() -> None:
    need = read("我們是宏達科技有限公司，要訂購三百個馬克杯，需要印logo，下週五前送到臺北，聯絡人陳小姐，電話0912345678不是大陸手機")
    check(need, {
        "company": "宏達科技有限公司", "quantity": 300, "product_id": "P011", "product_name": "陶瓷马克杯",
        "customisation": "需要印logo", "cities": ("台北",), "needed_by": date(2026, 12, 11),
        "contact_name": "陳小姐", "phone": "0912345678",  # the customer's own script
    })


def test_product_name_follows_the_message_language_and_the_conversation_when_silent() -> None:
    assert read("200 mugs").product_name == "Ceramic Mug"
    assert read("200个马克杯").product_name == "陶瓷马克杯"
    assert read("P011-WH-350ML 200", language="en").product_name == "Ceramic Mug"
    assert read("P011-WH-350ML 200").product_name == "陶瓷马克杯"


def test_without_a_catalogue_the_words_are_kept() -> None:
    need = parse_need("要200个保温杯", today=TODAY)
    check(need, {"product_query": "保温杯", "quantity": 200, "product_id": None, "product_name": None})


def test_an_ambiguous_product_is_not_resolved_but_kept_as_words() -> None:
    need = read("要200个耳机")
    check(need, {"quantity": 200, "product_query": "耳机", "product_id": None})


# ---------------------------------------------------------------------------
# Corrections
# ---------------------------------------------------------------------------
CORRECTIONS = [
    ("不是200，是300", {"quantity": 300}, {"quantity"}),
    ("不是 200 个，要 300 个", {"quantity": 300}, {"quantity"}),
    ("不是两百，是三百", {"quantity": 300}, {"quantity"}),
    ("改成300", {"quantity": 300}, {"quantity"}),
    ("改成300个", {"quantity": 300}, {"quantity"}),
    ("数量改为300", {"quantity": 300}, {"quantity"}),
    ("不对，是500个", {"quantity": 500}, {"quantity"}),
    ("actually 300", {"quantity": 300}, {"quantity"}),
    ("actually make it 300 instead", {"quantity": 300}, {"quantity"}),
    ("make it 300", {"quantity": 300}, {"quantity"}),
    ("sorry, 300 not 200", {"quantity": 300}, {"quantity"}),
    ("change the quantity to 400", {"quantity": 400}, {"quantity"}),
    ("make it 1,500 instead of 1,000", {"quantity": 1500}, {"quantity"}),
    ("it's 300, not 200", {"quantity": 300}, {"quantity"}),
    ("I meant Hangzhou", {"cities": ("杭州",)}, {"cities"}),
    ("instead of Shanghai, ship to Hangzhou", {"cities": ("杭州",), "retracted_cities": ("上海",)}, {"cities"}),
    ("不是12月20日，是12月25日", {"needed_by": date(2026, 12, 25)}, {"needed_by"}),
    ("不是上海，是杭州", {"cities": ("杭州",), "retracted_cities": ("上海",)}, {"cities"}),
    ("不是上海是杭州和苏州", {"cities": ("杭州", "苏州"), "retracted_cities": ("上海",)}, {"cities"}),
    ("换成杭州", {"cities": ("杭州",)}, {"cities"}),
    ("not Shanghai but Hangzhou", {"cities": ("杭州",), "retracted_cities": ("上海",)}, {"cities"}),
    ("日期改到1月10日", {"needed_by": date(2027, 1, 10)}, {"needed_by"}),
    ("改到下周三", {"needed_by": date(2026, 12, 9)}, {"needed_by"}),
    ("actually we need it by Jan 10", {"needed_by": date(2027, 1, 10)}, {"needed_by"}),
    ("不是保温杯，是马克杯", {"product_id": "P011"}, {"product"}),
    ("200个", {"quantity": 200}, set()),
    ("我们不是个人，是公司", {}, set()),
]


@pytest.mark.parametrize("text,expected,corrected", CORRECTIONS, ids=[c[0] for c in CORRECTIONS])
def test_corrections_name_the_fields_they_replace(text: str, expected: Dict[str, Any], corrected: set) -> None:
    need = read(text)
    check(need, expected)
    assert need.correction == frozenset(corrected)


def test_a_taken_back_value_is_never_read_as_the_value() -> None:
    assert read("不是200").quantity is None
    assert read("不是上海").cities == ()


# ---------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------
HOSTILE = [
    "",
    "   ",
    "a" * 10_000,
    "我" * 10_000,
    "1" * 10_000,
    "不是" * 5_000,
    "改成" * 5_000,
    "😀🎉🔥" * 3_000,
    "<script>alert('x')</script>",
    "'; DROP TABLE leads; --",
    "1' OR '1'='1",
    "\x00\x01\x02",
    "@@@@@@@@",
    "P001-" * 2_000,
    "12/" * 3_000,
    "company: " * 1_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(h[:12]) + f"x{len(h)}" for h in HOSTILE])
def test_hostile_input_gives_a_need_without_failing(text: str) -> None:
    need = read(text)
    fields = need.fields()
    json.dumps(merge({}, need), ensure_ascii=False)  # always serialisable
    assert need.quantity is None
    assert all(len(str(v)) <= 2000 for v in fields.values())


@pytest.mark.parametrize("value", [None, 42, b"200", ["200个"]])
def test_not_a_string_gives_an_empty_need(value: Any) -> None:
    assert parse_need(value, today=TODAY).fields() == {}  # type: ignore[arg-type]


def test_emoji_and_markup_around_real_values() -> None:
    check(read("😀😀😀 200个保温杯 🎉"), {"quantity": 200, "product_id": "P010", "product_query": "保温杯"})
    check(read("<b>300 units</b> to <i>Shanghai</i>"), {"quantity": 300, "cities": ("上海",)})


def test_only_the_start_of_a_huge_message_is_read() -> None:
    need = read("200个保温杯，" + "啊" * 20_000 + "送到北京")
    assert need.quantity == 200 and need.cities == ()


# ---------------------------------------------------------------------------
# merge
# ---------------------------------------------------------------------------
def test_merge_fills_empty_fields_and_serialises() -> None:
    values = merge({}, read("我们公司要采购200个保温杯，印logo，月底前送到上海和苏州"))
    assert values["quantity"] == 200
    assert values["cities"] == ["上海", "苏州"]
    assert values["needed_by"] == "2026-12-31"
    assert values["product_id"] == "P010"
    assert json.loads(json.dumps(values, ensure_ascii=False)) == values


def test_merge_a_correction_replaces_and_a_plain_quantity_replaces_too() -> None:
    values = merge({}, read("200个保温杯"))
    values = merge(values, read("不是200，是300"))
    assert values["quantity"] == 300
    values = merge(values, read("那就500个"))
    assert values["quantity"] == 500  # the latest statement wins


def test_merge_cities_accumulate_unless_corrected() -> None:
    values = merge({}, read("送到上海"))
    values = merge(values, read("还有苏州"))
    assert values["cities"] == ["上海", "苏州"]
    values = merge(values, read("不是上海，是杭州"))
    assert values["cities"] == ["苏州", "杭州"]
    values = merge(values, read("换成北京"))
    assert values["cities"] == ["北京"]


def test_merge_keeps_the_first_contact_and_date_unless_the_date_is_corrected() -> None:
    values = merge({}, read("联系人张三，12月20日前"))
    values = merge(values, read("我叫李四，12月25日"))
    assert values["contact_name"] == "张三"
    assert values["needed_by"] == "2026-12-20"
    values = merge(values, read("日期改到12月28日"))
    assert values["needed_by"] == "2026-12-28"


def test_merge_product_group_moves_together() -> None:
    values = merge({}, read("要200个杯子"))
    assert values["product_query"] == "杯子" and values.get("product_id") is None
    values = merge(values, read("保温杯"))
    assert (values["product_id"], values["product_query"], values["unit_price_cents"]) == ("P010", "保温杯", 9900)
    values = merge(values, read("马克杯"))
    assert values["product_id"] == "P010"  # not a correction: the first product stays
    values = merge(values, read("P010-WH-500ML"))
    assert (values["sku"], values["unit_price_cents"]) == ("P010-WH-500ML", 11900)
    values = merge(values, read("不是保温杯，是马克杯"))
    assert (values["product_id"], values["product_name"], values.get("sku")) == ("P011", "陶瓷马克杯", None)


def test_merge_customisation_accumulates_and_sample_sticks() -> None:
    values = merge({"skipped": ["company"]}, read("先寄样品，印logo"))
    values = merge(values, read("礼盒包装"))
    values = merge(values, read("礼盒包装"))
    values = merge(values, read("200个"))
    assert values["customisation"] == "印logo；礼盒包装"
    assert values["lead_type"] == "sample"
    assert values["skipped"] == ["company"]  # keys that are not intake fields are kept


def test_merge_does_not_change_previous() -> None:
    previous = {"cities": ["上海"], "quantity": 100}
    merge(previous, read("苏州 200个"))
    assert previous == {"cities": ["上海"], "quantity": 100}


def test_fields_lists_only_values() -> None:
    assert Need().fields() == {}
    assert Need(quantity=5, cities=("上海",)).fields() == {"quantity": 5, "cities": ("上海",)}


# ---------------------------------------------------------------------------
# skip words
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["跳过", "不方便", "不想说", "没有", "无", "暂时不需要", "不需要了", "算了吧", "保密", "跳過", "暫時不需要", "沒有。",
     "skip", "Skip.", "n/a", "N/A", "none", "no need", "No thanks", "prefer not to say", "  pass  ", "不用了谢谢"],
)
def test_skip_words(text: str) -> None:
    assert skip_words(text)


@pytest.mark.parametrize(
    "text",
    ["", "200个", "没有logo，要蓝色", "不方便的话明天再说，先要200个", "skip the logo but print the name", "no logo",
     "13812345678", "我们公司没有微信，电话13812345678", None, 42, "跳过" * 100],
)
def test_not_skip_words(text: Any) -> None:
    assert not skip_words(text)


# ---------------------------------------------------------------------------
# Numbers, cities
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw,value",
    [("200", 200), ("两百", 200), ("二百五十", 250), ("两百五", 250), ("一万二", 12000), ("1.5万", 15000),
     ("三千五", 3500), ("一百零五", 105), ("十二", 12), ("1,000", 1000), ("1万2", 12000), ("2k", 2000)],
)
def test_cn_number(raw: str, value: int) -> None:
    assert cn_number(raw) == value


@pytest.mark.parametrize("raw,value", [("two hundred", 200), ("a thousand", 1000), ("fifteen hundred", 1500),
                                       ("a dozen", 12), ("two hundred and fifty", 250), ("fifty", 50)])
def test_en_number(raw: str, value: int) -> None:
    assert en_number(raw) == value


def test_city_table_covers_the_large_cities_and_every_region() -> None:
    table = default_cities()
    names = {c.name for c in table.cities}
    capitals = set("北京 上海 天津 重庆 石家庄 太原 呼和浩特 沈阳 长春 哈尔滨 南京 杭州 合肥 福州 南昌 济南 郑州 武汉 长沙 "
                   "广州 南宁 海口 成都 贵阳 昆明 拉萨 西安 兰州 西宁 银川 乌鲁木齐".split())
    assert capitals <= names
    assert len(names) >= 60
    assert {c.region for c in table.cities} >= {"华东", "华北", "华南", "华中", "西南", "西北", "东北"}
    assert region_of(["苏州", "北京"]) == "华东"
    assert region_of(["火星"]) is None


def test_city_table_validation_names_the_entry(tmp_path: Path) -> None:
    with pytest.raises(CityTableError, match="region"):
        parse_cities({"cities": [{"zh": "上海", "en": ["shanghai"], "region": "华西"}]})
    with pytest.raises(CityTableError, match="already used"):
        parse_cities({"cities": [{"zh": "上海", "en": ["shanghai"], "region": "华东"},
                                 {"zh": "沪城", "en": ["shanghai"], "region": "华东"}]})
    with pytest.raises(CityTableError, match="exactly the keys"):
        parse_cities({"cities": [{"zh": "上海"}]})
    bad = tmp_path / "cities.yml"
    bad.write_text("cities: [", encoding="utf-8")
    with pytest.raises(CityTableError, match="not valid YAML"):
        load_cities(bad)
    with pytest.raises(CityTableError, match="cannot be read"):
        load_cities(tmp_path / "missing.yml")


def test_another_city_table_can_be_passed() -> None:
    table = parse_cities({"cities": [{"zh": "佛山", "en": ["foshan"], "region": "华南"}]})
    assert parse_need("送到佛山和上海", today=TODAY, cities=table).cities == ("佛山",)
