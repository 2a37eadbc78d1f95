"""``action_route_turn`` answers a question about a product's specs from the catalogue (issue 25, "Product facts"):
the fact, in the customer's language and script, one line per spec asked; a spec the catalogue does not hold said
honestly with a pre-sales person offered. The seeded demo store."""

# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)
from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.router import ActionRouteTurn
from actions.stock.actions import CATALOGUE
from actions.store.demo_data import demo_data
from actions.store.factory import set_store
from actions.store.types import Catalogue
from kernel.i18n import text, to_traditional
from knowledge_base.serving.runtime import shared_knowledge_base
from tests.actions.orders_harness import seeded_url, store  # noqa: F401

Said = List[Tuple[str, List[str]]]


def route(message: str, language: str, last_sku: Optional[str] = None) -> Tuple[Said, List[Dict[str, Any]]]:
    """One customer message through the router: what it said (text, button payloads) and the events it returned."""
    event = {"event": "user", "text": message,
             "parse_data": {"text": message, "intent": {"name": "stock_check"}, "entities": []}}
    slots: Dict[str, Any] = {"language": language}
    if last_sku:
        slots["stock_last_sku"] = last_sku
    tracker = Tracker("router-specs", slots, event["parse_data"], [event], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRouteTurn().run(dispatcher, tracker, {}))
    return [(m.get("text") or "", [b["payload"] for b in m.get("buttons") or []]) for m in dispatcher.messages], events


WOK = next(p.id for p in demo_data().products if p.name_zh == "不粘炒锅")


def spec(product_id: str, key: str) -> Tuple[str, str]:
    """(Chinese, English) of a demo product's spec, from the demo catalogue file."""
    product = next(p for p in demo_data().products if p.id == product_id)
    found = next(s for s in product.specs if s.key == key)
    return found.value_zh, found.value_en


def fact(language: str, product: str, key: str, value: str) -> str:
    return text("msg_product_spec", language, product=product, label=text(f"msg_spec_label_{key}", language),
                value=value)


@pytest.mark.parametrize("message, language, last_sku, product_id, key", [
    ("蓝牙音箱防水吗 想洗澡的时候放歌", "zh-Hans", None, "P006", "waterproof"),
    ("Watch S 续航多久啊 一周充一次够不够", "zh-Hans", None, "P005", "battery"),
    ("你们那个圆领T恤什么料子的", "zh-Hans", None, "P040", "material"),
    ("降噪耳机支持无线充电么", "zh-Hans", None, "P001", "charging"),  # the earbuds' case, not the charging pad
    ("杯子是啥材质的 304吗", "zh-Hans", "P010-WH-500ML", "P010", "material"),  # the cup just asked about
    ("你們的保溫杯是什麼材質 304不鏽鋼嗎", "zh-Hant", None, "P010", "material"),
    ("游泳可以戴嗎 有沒有防水", "zh-Hant", "P005-BK-41MM", "P005", "waterproof"),
    ("is the speaker waterproof", "en", None, "P006", "waterproof"),
    ("how long does the watch battery last", "en", None, "P005", "battery"),
    ("what's the bottle made of", "en", "P010-WH-500ML", "P010", "material"),  # "the bottle": the one asked about
    ("dishwasher safe?", "en", "P011-WH-350ML", "P011", "care"),
])
def test_a_spec_question_gets_the_fact_in_the_customers_language(
        store, message: str, language: str, last_sku: Optional[str], product_id: str, key: str) -> None:
    product = next(p for p in demo_data().products if p.id == product_id)
    zh, en = spec(product_id, key)
    if language == "en":
        expected = fact("en", product.name_en, key, en)
    else:
        expected = fact(language, product.name_zh, key, zh)
        expected = to_traditional(expected) if language == "zh-Hant" else expected
    said, events = route(message, language, last_sku)
    assert said == [(expected, [])]
    assert {e["name"]: e["value"] for e in events if e.get("event") == "slot"}["stock_last_sku"].startswith(product_id)


def test_traditional_answers_are_traditional(store) -> None:
    said, _ = route("你們的保溫杯是什麼材質 304不鏽鋼嗎", "zh-Hant")
    assert "不鏽鋼保溫杯的材質：內膽316不鏽鋼" in said[0][0] and "不锈钢" not in said[0][0]


def test_a_yes_no_question_gets_the_fact_not_a_bare_yes(store) -> None:
    """"防水吗", "能给MacBook充电吗": the rating and what the spec says it charges, a line per spec asked; no more
    about compatibility than the spec says."""
    said, _ = route("那个氮化镓充电头多少瓦 能给MacBook充电吗", "zh-Hans")
    power, compatibility = spec("P004", "power")[0], spec("P004", "compatibility")[0]
    assert said == [(fact("zh-Hans", "65W氮化镓充电器", "power", power) + "\n" + f"适用范围：{compatibility}。", [])]
    assert "MacBook Air" in compatibility
    said, _ = route("蓝牙音箱防水吗", "zh-Hans")
    assert "IPX7" in said[0][0] and said[0][0] not in ("是的", "可以")
    said, _ = route("will the wok work on induction", "en")
    assert said == [(fact("en", "Non-Stick Wok", "compatibility", spec("P033", "compatibility")[1]), [])]


def test_several_specs_a_line_each_in_english(store) -> None:
    said, _ = route("how heavy is the air fryer, and how noisy is it?", "en")
    weight, noise = spec("P021", "weight")[1], spec("P021", "noise")[1]
    assert said == [(f"Oil-Free Air Fryer — weight: {weight}.\nSound level: {noise}.", [])]


def test_a_spec_the_catalogue_lacks_beside_one_it_holds(store) -> None:
    said, _ = route("蓝牙音箱防水吗 是什么材质的", "zh-Hans")
    assert said[0] == (fact("zh-Hans", "便携蓝牙音箱", "waterproof", spec("P006", "waterproof")[0]), [])
    assert said[1] == (text("msg_product_spec_partly_unknown", "zh-Hans", labels="材质"), ["/human_handoff"])


@pytest.mark.parametrize("message, language, product", [
    ("T恤防水吗", "zh-Hans", "纯棉圆领T恤"), ("is the t-shirt waterproof", "en", "Cotton Crew-Neck T-Shirt"),
    ("T恤防水嗎", "zh-Hant", "純棉圓領T恤"),
])
def test_a_spec_the_catalogue_lacks_is_said_honestly(store, message: str, language: str, product: str) -> None:
    said, _ = route(message, language)
    assert said == [(text("msg_product_spec_unknown", language, product=product), ["/human_handoff"])]


def test_the_versions_and_a_spec_asked_together(store) -> None:
    said, _ = route("陶瓷马克杯有几种颜色 能放洗碗机吗", "zh-Hans")
    assert len(said) == 2 and "白色" in said[0][0]
    assert said[1] == (fact("zh-Hans", "陶瓷马克杯", "care", spec("P011", "care")[0]), [])


def test_the_warranty_alone_and_other_makers_products_are_left_to_the_rest(store) -> None:
    """The warranty alone: the knowledge base's warranty entries (the same terms); AirPods: not ours, even right after
    our earbuds were asked about."""
    # the warranty alone: the knowledge base when it is sure ("降噪耳机保修多久": its electronics entry, the same
    # terms); when it is not ("不粘锅保修多久"), the warranty the catalogue holds for that product
    said, _ = route("降噪耳机保修多久", "zh-Hans")
    assert said[0][0] == shared_knowledge_base().matcher().answer_text("warranty.electronics", "zh-Hans")
    said, _ = route("不粘锅保修多久", "zh-Hans")
    assert said == [(fact("zh-Hans", "不粘炒锅", "warranty", spec(WOK, "warranty")[0]), [])], said
    # AirPods: never our earbuds' waterproofing; the knowledge base's honest "I don't know" (NLU read a stock check
    # with no stock words in it: actions/router.py) or the stock form's "we may not sell that"
    said, _ = route("AirPods防水吗", "zh-Hans", "P001-BK")
    assert said in ([], [(text("msg_faq_no_answer", "zh-Hans"), ["/human_handoff"])]), said
    said, _ = route("耳机续航多久 保修几年", "zh-Hans", "P001-BK")  # beside another spec: from the catalogue
    assert said[0][0].endswith(f"保修：{spec('P001', 'warranty')[0]}。")


class WithoutSpecs:
    """A store whose catalogue carries no specs (a seller's system, or a database, from before specs existed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def catalogue(self) -> Catalogue:
        catalogue = self.inner.catalogue()
        return Catalogue(tuple(replace(p, specs=()) for p in catalogue.products), catalogue.skus)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_catalogue_without_specs_gets_the_honest_reply(store) -> None:
    set_store(WithoutSpecs(store))  # type: ignore[arg-type]
    CATALOGUE.clear()
    said, _ = route("蓝牙音箱防水吗", "zh-Hans")
    assert said == [(text("msg_product_spec_unknown", "zh-Hans", product="便携蓝牙音箱"), ["/human_handoff"])]
