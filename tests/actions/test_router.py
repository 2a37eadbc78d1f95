"""``action_route_turn`` (actions/router.py): follow-ups and language requests read with what the bot just said,
and questions asked inside a form answered before the form goes on (actions/interruptions.py). Real knowledge base
(``make kb``) and the seeded demo store."""

# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionOrderStatus, ValidateOrderLookupForm
from actions.router import ActionRouteTurn, answered_before
from actions.stock.actions import ActionCheckStock, ValidateStockForm
from actions.stock.matching import changed, extract_variant_hints, hints_of
from actions.store.types import Sku
from kernel.i18n import text
from knowledge_base.serving.runtime import shared_knowledge_base
from tests.actions.orders_harness import Conversation, seeded_url, store, texts  # noqa: F401


def user(message: str, intent: str = "nlu_fallback") -> Dict[str, Any]:
    return {"event": "user", "text": message, "parse_data": {"text": message, "intent": {"name": intent}}}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def bot(message: str) -> Dict[str, Any]:
    return {"event": "bot", "text": message}


def route(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> tuple:
    latest = {**events[-1]["parse_data"], "entities": []}
    tracker = Tracker("router-test", slots, latest, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionRouteTurn().run(dispatcher, tracker, {}))
    return [m.get("text") for m in dispatcher.messages], result


def slot_values(result: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in result if e.get("event") == "slot"}


def followup(result: List[Dict[str, Any]]) -> Optional[str]:
    return next((e["name"] for e in result if e.get("event") == "followup"), None)


def answer(entry_id: str, language: str) -> str:
    return shared_knowledge_base().matcher().answer_text(entry_id, language)


def test_previous_turn_is_what_answered_the_message_before_the_latest() -> None:
    events = [user("a"), action("action_answer_faq"), bot("A"), action("action_listen"),
              user("b"), action("action_order_status"), bot("B"), action("action_listen"), user("c")]
    assert answered_before(events) == {"actions": ["action_order_status"], "texts": ["B"]}


@pytest.mark.parametrize("request_text, language", [
    ("sorry can you say that in English?", "en"),
    ("可以用中文講一次嗎？", "zh-Hant"),
])
def test_a_language_request_repeats_the_faq_answer_in_that_language(request_text: str, language: str) -> None:
    said = answer("returns.seven_day_no_reason", "zh-Hans")
    events = [user("东西不想要了能退吗", "ask_faq"), action("action_answer_faq"), bot(said), action("action_listen"),
              user(request_text)]
    slots = {"language": language, "faq_outcome": "answer",
             "faq_candidates": [{"id": "returns.seven_day_no_reason", "score": 0.9}, {"id": "returns.x", "score": 0.5}]}
    messages, result = route(events, slots)
    assert messages == [text("msg_language_switched", language), answer("returns.seven_day_no_reason", language)]
    assert followup(result) is None


def test_a_language_request_after_an_order_shows_the_order_again() -> None:
    events = [user("KF20261120001 5678"), action("action_order_status"), bot("订单…"), user("English please")]
    messages, result = route(events, {"language": "en", "order_verified": "KF20261120001"})
    assert messages == [text("msg_language_switched", "en")]
    assert slot_values(result) == {"order_id": "KF20261120001"} and followup(result) == "action_order_status"


def test_a_language_request_with_nothing_to_repeat_confirms_the_switch() -> None:
    messages, result = route([user("hi", "greet"), action("utter_greet"), bot("您好"), user("english pls")],
                             {"language": "en"})
    assert messages == [text("msg_language_now", "en")]


def test_simplified_to_traditional_repeats_any_text() -> None:
    events = [user("你好", "greet"), action("utter_greet"), bot("您好，请问有什么可以帮您？"), user("可以用繁體中文嗎")]
    messages, _ = route(events, {"language": "zh-Hant"})
    assert messages == [text("msg_language_switched", "zh-Hant"), "您好，請問有什麼可以幫您？"]


@pytest.mark.parametrize("message", ["那大概几号能到啊 等着用呢", "所以大概哪一天會送到？", "so roughly when does it get here",
                                     "现在还能付吗 有没有时间限制", "收货地址填错了一个字 还能改吗", "can I still cancel it",
                                     "单号给我下 我自己去查", "要是一直沒付會怎樣？"])
def test_an_order_follow_up_shows_the_verified_order_again(message: str) -> None:
    events = [user("KF20261120001 5678", "order_status"), action("action_order_status"), bot("…"), user(message)]
    messages, result = route(events, {"order_verified": "KF20261120001"})
    assert messages == [] and followup(result) == "action_order_status"
    assert slot_values(result) == {"order_id": "KF20261120001"}


@pytest.mark.parametrize("message, previous", [
    ("那大概几号能到", "action_answer_faq"),  # no order was just shown
    ("积分能抵钱吗", "action_order_status"),  # about something else
    ("KF20261118001 什么时候到", "action_order_status"),  # another order: a new lookup
])
def test_not_an_order_follow_up(message: str, previous: str) -> None:
    events = [user("…"), action(previous), bot("…"), user(message)]
    assert route(events, {"order_verified": "KF20261120001"}) == ([], [])


def test_hints_of_a_sku_and_a_change_of_one_of_them() -> None:
    sku = Sku("P010-WH-750ML", "P010", 9900, "白色", "white", "", "750ml")
    changed_hints = changed(hints_of(sku), extract_variant_hints("不对不对 我要的是500毫升那个"))
    assert changed_hints.colors == frozenset({"white"}) and changed_hints.capacity == 500.0


@pytest.mark.parametrize("message, sku, city", [
    ("不对不对 我要的是500毫升那个", "P010-WH-500ML", "beijing"),  # capacity changed, colour and city kept
    ("那蓝色的有没有", "P010-BL-750ML", "beijing"),
    ("and in shenzhen?", "P010-WH-750ML", "shenzhen"),  # city changed, version kept
    ("换成上海 500ml的", "P010-WH-500ML", "shanghai"),
])
def test_a_stock_follow_up_changes_what_it_names_and_keeps_the_rest(store, message: str, sku: str,  # noqa: F811
                                                                     city: str) -> None:
    events = [user("北京门店白色保温杯750ml有货吗", "stock_check"), action("action_check_stock"), bot("…"), user(message)]
    messages, result = route(events, {"stock_last_sku": "P010-WH-750ML", "stock_city": "beijing"})
    assert followup(result) == "action_check_stock"
    values = slot_values(result)
    assert (values["stock_sku"], values["stock_city"]) == (sku, city)


def test_another_product_is_a_new_stock_question(store) -> None:  # noqa: F811
    events = [user("北京门店白色保温杯750ml有货吗", "stock_check"), action("action_check_stock"), bot("…"),
              user("那白色的降噪耳机呢")]
    assert route(events, {"stock_last_sku": "P010-WH-750ML", "stock_city": "beijing"}) == ([], [])


# -- questions inside a form ------------------------------------------------------------------------------------
ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT = "order_lookup_form", ValidateOrderLookupForm(), ActionOrderStatus()


def test_a_shop_question_while_the_order_number_is_asked_is_answered_and_the_form_goes_on(store) -> None:  # noqa: F811
    conv = Conversation("zh-Hans")
    conv.slots["requested_slot"] = "order_id"
    said = texts(conv.form_turn(ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT, "等下 先问一句 七天无理由退货有什么条件",
                                {"order_id": "等下 先问一句 七天无理由退货有什么条件"}))
    assert answer("returns.seven_day_no_reason", "zh-Hans") in said
    assert text("msg_resume_order", "zh-Hans") in said
    assert text("msg_order_id_invalid", "zh-Hans") not in said
    assert conv.active_loop == ORDER_FORM and conv.slots["order_id"] is None and said[-1] == "utter_ask_order_id"


def test_a_question_while_the_phone_digits_are_asked_does_not_count_as_a_failed_check(store) -> None:  # noqa: F811
    conv = Conversation("en")
    conv.form_turn(ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT, "KF20261119001", {"order_id": "KF20261119001"})
    said = texts(conv.form_turn(ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT, "what time do your stores open",
                                {"phone_suffix": "what time do your stores open"}))
    assert text("msg_resume_order", "en") in said and conv.slots["order_verify_failures"] == 0
    said = texts(conv.form_turn(ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT, "9012", {"phone_suffix": "9012"}))
    assert any("KF20261119001" in s for s in said)


def test_gibberish_in_a_form_still_gets_the_forms_own_reply(store) -> None:  # noqa: F811
    conv = Conversation("zh-Hans")
    conv.slots["requested_slot"] = "order_id"
    said = texts(conv.form_turn(ORDER_FORM, ORDER_VALIDATE, ORDER_SUBMIT, "asdfgh", {"order_id": "asdfgh"}))
    assert text("msg_order_id_invalid", "zh-Hans") in said and text("msg_resume_order", "zh-Hans") not in said


def test_a_typed_version_with_two_values_is_read_whole(store) -> None:  # noqa: F811
    """NLU's variant entity may hold one of the values ("500ml" of "白色 500ml"); the form reads the message."""
    conv = Conversation("zh-Hans")
    conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "上海有保温杯吗",
                   {"stock_product": "保温杯", "stock_city": "shanghai"})
    assert conv.slots["requested_slot"] == "stock_variant"
    said = texts(conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "白色 500ml",
                                {"stock_variant": "500ml"}))
    assert conv.slots["stock_last_sku"] == "P010-WH-500ML", said


@pytest.mark.parametrize("message, colours", [
    ("红色的蓝牙音箱还有吗", {"red"}),  # 蓝牙 is Bluetooth, not blue
    ("do you still have the red bluetooth speaker?", {"red"}),
    ("i'm bored, anything white?", {"white"}),
    ("能用银联付款吗", set()),
])
def test_colour_words_inside_other_words_are_no_colours(message: str, colours: set) -> None:
    assert extract_variant_hints(message).colors == frozenset(colours)


def test_a_bare_number_is_the_capacity_the_product_has(store) -> None:  # noqa: F811
    """"深圳有没有白色保温杯 500的": asked "which capacity?" before."""
    conv = Conversation("zh-Hans")
    said = texts(conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "深圳有没有白色保温杯 500的",
                                {"stock_product": "保温杯", "stock_city": "shenzhen"}))
    assert conv.slots["stock_last_sku"] == "P010-WH-500ML", said


def test_a_city_named_while_the_version_is_asked_replaces_the_one_before(store) -> None:  # noqa: F811
    conv = Conversation("zh-Hans")
    conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "深圳有保温杯吗",
                   {"stock_product": "保温杯", "stock_city": "shenzhen"})
    assert conv.slots["requested_slot"] == "stock_variant"
    said = texts(conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "算了还是上海吧",
                                {"stock_variant": "算了还是上海吧"}))  # extract_stock_city reads the city
    assert text("msg_stock_variant_not_understood", "zh-Hans") not in said
    assert conv.slots["stock_city"] == "shanghai" and conv.slots["requested_slot"] == "stock_variant"


def test_the_versions_of_a_product_come_from_the_catalogue(store) -> None:  # noqa: F811
    messages, result = route([user("你们的保温杯有几种颜色", "stock_check")], {"language": "zh-Hans"})
    assert len(messages) == 1 and all(c in messages[0] for c in ("不锈钢保温杯", "黑色", "350ml", "750ml", "¥"))
    assert slot_values(result)["stock_last_sku"].startswith("P010-") and followup(result) is None


def test_a_spec_the_catalogue_lacks_is_said_honestly_with_a_pre_sales_offer(store) -> None:  # noqa: F811
    tracker_events = [user("蓝牙音箱是什么材质的", "stock_check")]  # its specs hold no material (tests/actions/test_router_specs.py)
    latest = {**tracker_events[-1]["parse_data"], "entities": []}
    tracker = Tracker("router-test", {"language": "zh-Hans"}, latest, tracker_events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionRouteTurn().run(dispatcher, tracker, {}))
    assert dispatcher.messages[0]["text"].startswith("便携蓝牙音箱的这项参数我这里没有")
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/human_handoff"]


def test_a_product_question_without_a_product_names_the_last_one_asked_about(store) -> None:  # noqa: F811
    events = [user("保温杯是什么材质"), action("action_route_turn"), bot("…"), user("有哪几种容量")]
    messages, _ = route(events, {"language": "zh-Hans", "stock_last_sku": "P010-WH-500ML"})
    assert "不锈钢保温杯" in messages[0] and "500ml" in messages[0]
    assert route([user("有哪几种容量")], {"language": "zh-Hans"}) == ([], [])  # nothing to go on: NLU decides


def test_a_word_of_another_makers_product_is_not_our_product(store) -> None:  # noqa: F811
    """NLU took "Pro" of "iPhone 15 Pro" as the product: the form asked for a city about our Pro earbuds."""
    conv = Conversation("zh-Hans")
    said = texts(conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), "你们有iPhone 15 Pro吗 256g 黑色的",
                                {"stock_product": "Pro"}))
    assert said[-1].startswith(text("msg_stock_not_found", "zh-Hans")[:12]) and conv.active_loop is None


def test_a_question_when_the_product_is_asked_is_answered_and_the_form_goes_on(store) -> None:  # noqa: F811
    conv = Conversation("en")
    conv.slots["requested_slot"] = "stock_product"
    message = "how many days do I have to return something I don't like?"
    said = texts(conv.form_turn("stock_form", ValidateStockForm(), ActionCheckStock(), message,
                                {"stock_product": message}))
    assert text("msg_resume_stock", "en") in said and conv.active_loop == "stock_form"
    assert not any(s.startswith(text("msg_stock_not_found", "en")[:20]) for s in said)


@pytest.mark.parametrize("language, message, entry", [
    ("zh-Hans", "你们那个降噪耳机保修多久", "warranty.electronics"),
    ("zh-Hant", "保溫瓶買半年 現在不太保溫了 還有保固嗎", "warranty.cups_bottles"),
])
def test_a_shop_question_nlu_read_as_a_stock_check_gets_its_answer(store, language, message, entry) -> None:  # type: ignore[no-untyped-def]
    """NLU read "你们那个降噪耳机保修多久" as a stock check (1.0): the stock form asked which colour. The knowledge
    base is sure of the answer, so that is the reply."""
    said, result = route([user(message, "stock_check")], {"language": language})
    assert said[0] == answer(entry, language), said
    assert slot_values(result)["faq_outcome"] == "answered"
    # a real stock question, or a price, is left to the stock form
    assert route([user("深圳门店有卫衣吗", "stock_check")], {"language": "zh-Hans"}) == ([], [])
    assert route([user("保温杯多少钱", "stock_check")], {"language": "zh-Hans"}) == ([], [])
    # one the knowledge base cannot answer gets its honest reply, not "which version?"
    said, result = route([user("the tshirt is too small. can i still send it back?", "stock_check")],
                         {"language": "en"})
    assert slot_values(result)["faq_outcome"] in ("clarify", "no_answer") and said, said
    assert not any("versions" in line for line in said if line), said


def test_an_ambiguous_product_question_takes_the_product_named_before(store) -> None:  # type: ignore[no-untyped-def]
    """"那耳机有几个颜色可以选" after "你们那个降噪耳机保修多久" (answered by the knowledge base): 耳机 alone fits two
    products; the customer meant the earbuds named just before."""
    events = [user("你们那个降噪耳机保修多久", "ask_faq"), action("action_answer_faq"), bot("…"),
              action("action_listen"), user("那耳机有几个颜色可以选", "ask_faq")]
    said, result = route(events, {"language": "zh-Hans"})
    assert said and "降噪耳机" in said[0] and all(c in said[0] for c in ("黑色", "白色", "蓝色")), said
    # nothing named before: still "which one?" (left to NLU and the stock form)
    assert route([user("那耳机有几个颜色可以选", "ask_faq")], {"language": "zh-Hans"}) == ([], [])
