"""bot/turn_router.py: which messages are read with the conversation around them before the policies decide."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, Optional

import pytest

from bot.turn_router import (
    free_text,
    lookup_asked_instead,
    order_lookup_instead,
    product_question_not_about_the_bot,
    quote_request_instead,
    stock_check_instead,
    worth_routing,
)


class UserUttered(SimpleNamespace):
    pass


class ActionExecuted(SimpleNamespace):
    pass


def tracker(text: str, paused: bool = False, loop: Optional[str] = None, answered: str = "", **slots: Any) -> Any:
    values: Dict[str, Any] = dict(slots)
    events = [UserUttered(), ActionExecuted(action_name=answered), UserUttered()] if answered else [UserUttered()]
    return SimpleNamespace(latest_message=SimpleNamespace(text=text), is_paused=lambda: paused,
                           active_loop_name=loop, get_slot=values.get, events=events)


def test_only_free_text_outside_forms_and_handoffs_is_routed() -> None:
    assert free_text(tracker(" 那黑色的呢 ")) == "那黑色的呢"
    assert free_text(tracker('/faq_choose{"faq_id":"x"}')) is None
    assert free_text(tracker("那黑色的呢", paused=True)) is None
    assert free_text(tracker("那黑色的呢", loop="stock_form")) is None
    assert free_text(tracker("   ")) is None


@pytest.mark.parametrize("intent, message, expected", [
    ("nlu_fallback", "KF20261115001, phone ends 5678. what's happening with my refund", True),
    ("ask_faq", "退款的话 KF20261115001 这单用的券还能回来吗", True),
    # NLU found the number and the digits: the bare-number rule does not match two entities ("please rephrase")
    ("inform", "帮我查KF20261119001 后4位9012", True),
    ("order_status", "KF20261120001 到哪了", False),
    ("complain", "KF20261120001 东西坏了 我要投诉", False),
    ("human_handoff", "KF20261120001 转人工", False),
    ("ask_faq", "退货运费谁出", False),  # no order number
    ("ask_faq", "KF20261120001 和 KF20261118001 哪个先到", False),  # two numbers: the form would refuse them
])
def test_an_order_number_makes_an_order_lookup(intent: str, message: str, expected: bool) -> None:
    assert order_lookup_instead(intent, message) is expected


def test_routing_needs_something_to_follow_up_or_a_language_request() -> None:
    assert not worth_routing(tracker("那黑色的呢"), "那黑色的呢")
    assert worth_routing(tracker("那黑色的呢", answered="action_check_stock"), "那黑色的呢")
    assert worth_routing(tracker("几号到", answered="action_order_status"), "几号到")
    # an order verified long ago is no reason to ask the action server on every later turn
    assert not worth_routing(tracker("几号到", answered="action_answer_faq", order_verified="KF20261120001"), "几号到")
    assert worth_routing(tracker("english please"), "english please")


def _entities(*kinds: str) -> list:
    return [{"entity": kind, "value": "x"} for kind in kinds]


@pytest.mark.parametrize("intent, message, kinds, expected", [
    # NLU unsure of a stock question that names a product and a version, a city or stock words
    ("inform", "黑色5.5L的空气炸锅还有没", ("variant", "variant", "product"), True),
    ("nlu_fallback", "black anc earbuds in shanghai?", ("variant", "product", "city"), True),
    ("nlu_fallback", "保温杯还有货吗", ("product",), True),
    # a product code NLU took for an order number
    ("inform", "上海有白色的 P001 吗", ("city", "variant", "order_id"), True),
    ("inform", "KF20261120001 上海", ("city", "order_id"), False),
    # no product, a product question, another intent, a product alone with nothing of stock: as NLU said
    ("inform", "白色 500ml", ("variant",), False),
    ("nlu_fallback", "蓝牙音箱防水吗", ("product",), False),
    ("ask_faq", "保温杯可以刻字吗", ("product",), False),
    ("nlu_fallback", "保温杯", ("product",), False),
    # a shop question that names a version and a city is a stock check; a version alone is not
    ("ask_faq", "blue crew neck tee in XL, any in the shenzhen stores?", ("variant", "product", "city"), True),
    ("ask_faq", "白色保温杯可以刻字吗", ("variant", "product"), False),
])
def test_an_unsure_product_message_with_stock_words_is_a_stock_check(intent, message, kinds, expected) -> None:  # type: ignore[no-untyped-def]
    from bot.turn_router import stock_check_instead

    assert stock_check_instead(intent, _entities(*kinds), message) is expected


def test_a_stock_check_worded_as_another_question_is_routed() -> None:
    # "你们那个降噪耳机保修多久" (NLU: stock_check 1.0) goes to the router, which asks the knowledge base first
    assert worth_routing(tracker("你们那个降噪耳机保修多久"), "你们那个降噪耳机保修多久", "stock_check")
    assert worth_routing(tracker("x"), "the tshirt is too small. can i still send it back?", "stock_check")
    # a stock question, or the same words read as something else: no extra call
    assert not worth_routing(tracker("x"), "深圳门店有卫衣吗", "stock_check")
    assert not worth_routing(tracker("x"), "do you still have the red bluetooth speaker?", "stock_check")
    assert not worth_routing(tracker("x"), "那个黑色的好看吗", "ask_faq")
    assert not worth_routing(tracker("x"), "深圳門市還有紅色藍牙音箱嗎", "stock_check")
    assert not worth_routing(tracker("x"), "got the vacuum flask in shanghai?", "stock_check", [{"entity": "city"}])
    assert not worth_routing(tracker("x"), "空气炸锅", "stock_check")


@pytest.mark.parametrize("intent, message, entities, expected", [
    ("goodbye", "算了算了 先不查了 回头再说", [], True),
    ("ask_faq", "算了 不用查了", [], True),
    ("goodbye", "ok bye", [], True),
    ("inform", "never mind, forget it", [], True),
    # a value, or going on with another one: the form reads it
    ("inform", "算了还是上海吧", [{"entity": "city"}], False),
    ("inform", "算了 还是黑色吧", [], False),
    ("inform", "never mind, make it black instead", [], False),
    ("deny", "算了", [], False),  # the rules already leave on it
    ("ask_faq", "取消订单要多久退款", [], False),
    ("goodbye", "/goodbye", [], False),
])
def test_leaving_a_form_in_other_words(intent, message, entities, expected) -> None:  # type: ignore[no-untyped-def]
    from bot.turn_router import leaves_the_form

    assert leaves_the_form(intent, entities, message) is expected


def test_a_question_about_one_products_warranty_is_routed() -> None:
    # the knowledge base when it is sure, else the product's warranty from the catalogue (actions/router.py)
    assert worth_routing(tracker("不粘锅保修多久"), "不粘锅保修多久", "ask_faq")
    assert not worth_routing(tracker("退货运费谁出"), "退货运费谁出", "ask_faq")


def test_the_router_knows_the_sellers_order_numbers_not_the_demos() -> None:
    """The turn router reads order numbers in the shop's format (kernel/seller.py), in either process."""
    from kernel import seller

    shop = seller.formats_from({"order_number": {"prefix": "SO-", "digits": 8, "dated": False}})
    with seller.use(shop):
        assert order_lookup_instead("ask_faq", "so-1234 5678 到哪了")
        assert not order_lookup_instead("ask_faq", "KF20261120001 到哪了")
    assert order_lookup_instead("ask_faq", "KF20261120001 到哪了")
    assert not order_lookup_instead("ask_faq", "so-1234 5678 到哪了")


@pytest.mark.parametrize("intent,message,expected", [
    ("nlu_fallback", "我们是杭州云帆科技有限公司，要300个保温杯，印logo，12月25日前送到杭州，联系人李女士 13912345678，请报价", True),
    ("inform", "我們要300個保溫杯，請報價", True),
    ("nlu_fallback", "Please quote 300 insulated bottles with our logo", True),
    ("nlu_fallback", "白色保温杯上海有货吗", False),  # no quote asked: the stock check's
    ("stock_check", "300个保温杯请报价", False),  # NLU was sure: its reading stands
    ("nlu_fallback", "the quotient of two numbers", False),  # a word that only starts like one
])
def test_an_unsure_message_that_asks_for_a_quote_goes_to_the_presales_desk(intent, message, expected) -> None:  # type: ignore[no-untyped-def]
    assert quote_request_instead(intent, message) is expected


@pytest.mark.parametrize("intent, message, kinds, expected", [
    ("bot_challenge", "好吧 那保溫瓶可以刻名字嗎", ("product",), True),
    ("bot_challenge", "can the thermos be engraved?", ("product",), True),
    # about the bot, or no product: NLU's reading stands
    ("bot_challenge", "你是机器人吗", (), False),
    ("bot_challenge", "is this thermos shop a bot or a real person?", ("product",), False),
    ("bot_challenge", "保温杯", ("product",), False),
    ("ask_faq", "保温杯可以刻字吗", ("product",), False),
])
def test_a_product_question_read_as_are_you_a_bot_is_a_shop_question(intent, message, kinds, expected) -> None:  # type: ignore[no-untyped-def]
    assert product_question_not_about_the_bot(intent, _entities(*kinds), message) is expected


@pytest.mark.parametrize("intent, message, kinds, expected", [
    ("ask_faq", "想帮朋友查下库存", (), "stock_check"),
    ("nlu_fallback", "can you check stock for me", (), "stock_check"),
    ("nlu_fallback", "hi i want to check the refund on one of my orders", (), "order_status"),
    ("inform", "幫我查下訂單", (), "order_status"),
    # how lookups work, a product already named (the stock rules decide), or a sure shop reading of an order word
    ("ask_faq", "怎么查订单物流", (), None),
    ("ask_faq", "how do I check stock in a store", (), None),
    ("ask_faq", "查下保温杯库存", ("product",), None),
    ("ask_faq", "I want to check my orders' invoices", (), None),
    ("greet", "想查库存", (), None),
    ("ask_faq", "门店查库存准吗", (), None),
    ("ask_faq", "能帮我查下库存吗", (), "stock_check"),
])
def test_a_lookup_asked_for_in_so_many_words(intent, message, kinds, expected) -> None:  # type: ignore[no-untyped-def]
    assert lookup_asked_instead(intent, _entities(*kinds), message) == expected


@pytest.mark.parametrize("intent, message, kinds, expected", [
    ("ask_faq", "深圳门店有卫衣吗", ("city", "product"), True),
    ("ask_faq", "深圳门店的卫衣可以退吗", ("city", "product"), False),
    ("ask_faq", "卫衣有货吗", ("product",), False),
])
def test_a_product_in_a_city_asked_after_is_a_stock_check(intent, message, kinds, expected) -> None:  # type: ignore[no-untyped-def]
    assert stock_check_instead(intent, _entities(*kinds), message) is expected
