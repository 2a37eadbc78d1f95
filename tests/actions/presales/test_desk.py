"""The presales desk's actions (actions/presales/actions.py, render.py): reading intake messages, the route between
the knowledge base and the intake, the lead handed to a real console, and the quote lookup."""

# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)
from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.presales import actions as desk
from actions.presales import render, signals
from actions.presales.intake import parse_need
from kernel.leads import parse_lead
from tests.actions.handoff.events import user
from tests.actions.orders_harness import seeded_url, store  # noqa: F401
from tests.actions.presales.test_intake import demo_catalogue
from tests.console.process import NEVER_STAFFED, Console, FakeRasa

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 12, 7)
CATALOGUE = demo_catalogue()


def read(state: Dict[str, Any], message: str, requested: Optional[str], language: str = "zh-Hans") -> desk.Reading:
    return desk.read_message(state, message, requested, today=TODAY, catalogue=CATALOGUE, language=language)


# -- reading one message ------------------------------------------------------------------------------------------
def test_one_message_fills_every_question_it_answers() -> None:
    reading = read({}, "我们是杭州云帆科技有限公司，要300个保温杯，印logo，12月25日前送到杭州，联系人李女士 13912345678", None)
    values = desk.slot_values(reading.state)
    assert all(values.values()), values
    assert reading.state["quantity"] == 300 and reading.state["cities"] == ["杭州"]
    assert reading.state["notes"] == ["我们是杭州云帆科技有限公司，要300个保温杯，印logo，12月25日前送到杭州，联系人李女士 13912345678"]


def test_a_correction_replaces_and_a_skip_is_remembered() -> None:
    state = read({}, "要200个保温杯", None).state
    state = read(state, "不是200，是300", "presales_details").state
    assert state["quantity"] == 300
    state = read(state, "跳过", "presales_cities").state
    assert desk.slot_values(state)["presales_cities"] == desk.SKIPPED
    state = read(state, "不需要", "presales_details").state
    assert desk.slot_values(state)["presales_details"] == desk.NONE


@pytest.mark.parametrize("message, outcome", [
    ("算了", "cancelled"), ("cancel", "cancelled"), ("never mind", "cancelled"), ("转人工", "now"),
    ("/human_handoff", "now"), ("talk to a human", "now")])
def test_leaving_the_intake(message: str, outcome: str) -> None:
    assert read({"quantity": 100}, message, "presales_cities").outcome == outcome


def test_a_question_in_the_middle_is_recognised_and_fills_nothing() -> None:
    reading = read({"quantity": 100}, "报价单有效期几天？", "presales_cities")
    assert not reading.understood and reading.question
    assert desk.slot_values(reading.state)["presales_cities"] is None


@pytest.mark.parametrize("message", ["", "   ", "a" * 20000, "<script>alert(1)</script>", "'; DROP TABLE leads; --",
                                     "😀😀😀", "\x00\x01", "/unknown_intent{\"x\": 1}"])
def test_hostile_messages_never_raise_and_keep_state(message: str) -> None:
    state = {"quantity": 120, "notes": ["要120个"]}
    reading = read(state, message, "presales_cities")
    assert reading.state["quantity"] == 120
    assert all(len(n) <= desk.MAX_MESSAGE for n in reading.state["notes"])


def test_held_out_b2b_policy_questions_are_not_taken_as_deals() -> None:
    rows = [json.loads(line) for line in (ROOT / "tests/data/faq_heldout.jsonl").read_text("utf-8").splitlines()]
    policy = [r for r in rows if r["label"].startswith(("b2b.", "custom_orders.")) and r["label"] != "b2b.request_quote"]
    deals = [r["text"] for r in policy
             if signals.is_a_deal(r["text"], parse_need(r["text"], today=TODAY, catalogue=CATALOGUE).quantity)]
    assert deals == []


@pytest.mark.parametrize("message", ["我们公司要采购200台，能报个价吗", "麻烦给个报价", "团购50份 能给个优惠价吗",
                                     "we'd like a quotation for 300 insulated bottles", "我要1000件 给个最低价",
                                     "/presales_quote"])
def test_quote_requests_are_deals(message: str) -> None:
    assert signals.is_a_deal(message, parse_need(message, today=TODAY, catalogue=CATALOGUE).quantity)


@pytest.mark.parametrize("message", ["Please quote 500 insulated bottles for our company", "能再便宜点吗，买得多",
                                     "Please quote 100 ceramic mugs for us", "麻烦出个报价"])
def test_a_quote_request_read_as_another_intent_still_reaches_the_desk(message: str) -> None:
    from actions.fallback import ActionFallbackLadder
    from actions.faq import ActionAnswerFaq

    for action in (ActionAnswerFaq(), ActionFallbackLadder(), desk.ActionQuoteStatus()):
        _, result = run(action, tracker("redirect", [user(message, "ask_faq")], {}))
        assert result == [{"event": "followup", "timestamp": None, "name": "action_presales_route"}], action


@pytest.mark.parametrize("message", ["报价单有效期几天？", "how long is a quote valid?", "我的报价到哪一步了",
                                     "企业采购能签采购合同吗"])
def test_questions_about_quotes_are_not_quote_requests(message: str) -> None:
    assert not signals.asks_for_a_quote(message)


@pytest.mark.parametrize("message", ["can I get a wholesale price for 10 insulated bottles?", "想买10个保温杯，批发价多少",
                                     "bulk price for 300 mugs", "二十个杯子批发价多少"])
def test_a_wholesale_price_for_a_number_of_pieces_is_for_the_desk(message: str) -> None:
    """NLU read the English one as a shop question (CI, a retrained model): the desk must still get it."""
    assert signals.asks_for_a_quote(message)


@pytest.mark.parametrize("message", ["批发和零售有什么区别", "do you sell wholesale?", "满199减30的优惠券怎么用",
                                     "is there a discount on orders over 199?"])
def test_wholesale_or_a_number_alone_is_not_a_quote_request(message: str) -> None:
    assert not signals.asks_for_a_quote(message)


@pytest.mark.parametrize("message, status", [("我的报价到哪一步了", True), ("报价好了没", True),
                                             ("where is my quote", True), ("销售联系我了吗 报价呢", True),
                                             ("你们给的报价单有效期是几天", False), ("企业批量买东西怎么找你们询价", False)])
def test_asking_for_the_status_is_told_from_asking_about_quotes(message: str, status: bool) -> None:
    assert signals.asks_quote_status(message) is status


def test_a_question_about_quotes_read_as_a_lookup_goes_to_the_desk_when_there_is_no_lead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_leads(sender_id: str) -> list:
        return []

    monkeypatch.setattr(desk, "customer_leads", no_leads)
    _, result = run(desk.ActionQuoteStatus(), tracker("q", [user("你们给的报价单有效期是几天", "quote_status")], {}))
    assert result == [{"event": "followup", "timestamp": None, "name": "action_presales_route"}]


def test_a_policy_question_routed_to_the_desk_gets_the_answer_and_a_quote_button(store) -> None:  # noqa: F811
    from knowledge_base.serving.runtime import KnowledgeBaseUnavailable, shared_knowledge_base

    try:
        shared_knowledge_base().matcher()
    except KnowledgeBaseUnavailable:
        pytest.skip("no built knowledge-base index: run `make kb` (make test does)")
    dispatcher = CollectingDispatcher()
    tr = tracker("desk-kb", [user("企业采购能签采购合同吗？我们法务有自己的模板", "presales_quote")], {})
    result = asyncio.run(desk.ActionPresalesRoute().run(dispatcher, tr, {}))
    assert "标准采购合同" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[-1]["buttons"][0]["payload"] == "/presales_quote"
    assert not any(e.get("event") == "followup" for e in result)


@pytest.mark.parametrize("message, expected", [
    ("大概要等幾多日", True), ("how long does it take", True),  # read as a quote request after a shipping answer
    ("我们公司年会要买点礼品，能开发票吗", False), ("保温杯能便宜点吗", False), ("do you do custom logos?", False),
    ("要200个", False),
])
def test_a_question_with_nothing_of_a_purchase_is_no_business_need(message: str, expected: bool) -> None:
    from actions.presales.signals import names_no_business_need

    quantity = 200 if "200" in message else None
    assert names_no_business_need(message, quantity, None) is expected


def test_a_question_with_no_purchase_in_it_goes_to_the_fallback_not_the_intake(store) -> None:  # noqa: F811
    dispatcher = CollectingDispatcher()
    tr = tracker("desk-none", [user("要等多久啊", "presales_quote")], {})
    result = asyncio.run(desk.ActionPresalesRoute().run(dispatcher, tr, {}))
    assert [e["name"] for e in result if e.get("event") == "followup"] == ["action_fallback_ladder"]
    assert not any("采购需求" in (m.get("text") or "") for m in dispatcher.messages)
    # one the knowledge base has choices for ("大概要等几天" once Cantonese is read): those, and still no intake
    dispatcher = CollectingDispatcher()
    tr = tracker("desk-none-2", [user("大概要等幾多日", "presales_quote")], {})
    result = asyncio.run(desk.ActionPresalesRoute().run(dispatcher, tr, {}))
    assert not any(e.get("event") == "followup" for e in result)
    assert '/faq_choose{"faq_id":"shipping.delivery_time"}' in [b["payload"] for m in dispatcher.messages
                                                                 for b in m.get("buttons") or []]
    assert not any("採購需求" in (m.get("text") or "") for m in dispatcher.messages)


# -- words ---------------------------------------------------------------------------------------------------------
NEED = {"product_name": "不锈钢保温杯", "product_id": "P010", "quantity": 200, "customisation": "印logo",
        "cities": ["上海", "苏州"], "needed_by": "2026-12-20", "company": "星辰科技", "phone": "13812345678",
        "skipped": [], "notes": ["要200个保温杯"]}


@pytest.mark.parametrize("language, words", [
    ("zh-Hans", ["不锈钢保温杯", "200 件", "上海、苏州", "2026年12月20日", "138****5678"]),
    ("zh-Hant", ["不鏽鋼保溫杯", "200 件", "上海、蘇州", "138****5678"]),
    ("en", ["200 units", "20 Dec 2026", "138****5678"])])
def test_the_summary_in_each_language_masks_the_phone(language: str, words: List[str]) -> None:
    said = render.summary(NEED, language)
    assert all(w in said for w in words), said
    assert "13812345678" not in said


def test_the_lead_payload_is_what_the_console_accepts() -> None:
    lead = parse_lead(render.lead_payload(NEED, lead_id="l1", priority="hot", value_cents=1980000,
                                          stock_available=120, stock_note="现货 120 件", language="zh-Hans"))
    assert lead.quantity == 200 and lead.cities == ["上海", "苏州"] and lead.needed_by == "2026-12-20"
    assert lead.notes == ["要200个保温杯"] and lead.priority == "hot"


def test_after_hours_the_customer_hears_when_sales_is_back() -> None:
    said = render.handed_text(NEED, "warm", 24, {"staffed": False, "opens": "明天 09:00 后"}, "zh-Hans")
    assert "明天 09:00 后" in said and "1 个工作日" in said and "138****5678" in said


def test_quote_status_in_words() -> None:
    said = render.quote_status_text([{"product": "不锈钢保温杯", "quantity": 200, "status": "quoted",
                                      "quoted_at": "2026-12-08T03:00:00+00:00"}], "zh-Hans")
    assert "不锈钢保温杯 × 200" in said and "报价已发给您" in said and "2026年12月8日" in said
    assert "还没有登记" in render.quote_status_text([], "zh-Hans")


# -- the actions against a real console ------------------------------------------------------------------------------
def tracker(sender: str, events: List[Dict[str, Any]], slots: Dict[str, Any]) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), {})
    return Tracker(sender, {"language": "zh-Hans", **slots}, {**(latest.get("parse_data") or {}),
                                                              "text": latest.get("text")},
                   events, False, None, {"name": "presales_form"}, "action_listen")


def run(action: Any, tr: Tracker, domain: Optional[Dict[str, Any]] = None) -> tuple:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(action.run(dispatcher, tr, domain or {}))
    return [m.get("text") or "" for m in dispatcher.messages], result


def slots_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture()
def night_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    rasa = FakeRasa()
    proc = Console.create(tmp_path / "console", rasa.url, staffed=NEVER_STAFFED).start()
    monkeypatch.setenv("KEFU_CONSOLE_URL", proc.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", proc.token)
    yield proc
    proc.stop()
    rasa.close()


def test_the_form_reads_answers_says_stock_and_submits_a_lead_after_hours(store, night_console: Console) -> None:  # noqa: F811
    domain = {"forms": {"presales_form": {"required_slots": list(desk.FORM_SLOTS)}}}
    state: Dict[str, Any] = {}
    events = [user("我们公司要采购200个保温杯，请报价", "presales_quote")]
    said, result = run(desk.ActionPresalesRoute(), tracker("desk-1", events, {}))
    assert any("登记" in s for s in said) and any("现货" in s or "没有现货" in s for s in said), said
    state = slots_of(result)["presales_need"]
    assert result[-1]["event"] == "followup" and result[-1]["name"] == "presales_form"
    for answer, requested in (("印公司logo", "presales_details"), ("上海", "presales_cities"),
                              ("12月20日前", "presales_needed_by"), ("星辰科技有限公司", "presales_company"),
                              ("13812345678", "presales_contact")):
        events.append(user(answer, "inform"))
        slots = {"presales_need": state, "requested_slot": requested, **desk.slot_values(state)}
        said, result = run(desk.ValidatePresalesForm(), tracker("desk-1", events, slots), domain)
        state = slots_of(result)["presales_need"]
    assert all(desk.slot_values(state).values()) and slots_of(result).get("requested_slot") is None, state
    slots = {"presales_need": state, **desk.slot_values(state)}
    said, result = run(desk.ActionPresalesSubmit(), tracker("desk-1", events, slots))
    assert "已为您登记" in said[0] and "138****5678" in said[0]
    assert "非工作时间" in said[-1] and "1 个工作日" in said[-1], said
    assert result[-1]["event"] == "pause"
    ticket_id = int(slots_of(result)["handoff_ticket"])
    lead = night_console.ticket(ticket_id)["lead"]
    assert lead["quantity"] == 200 and lead["cities"] == ["上海"] and lead["priority"] == "hot"
    assert lead["quote_promised_hours"] == 24 and lead["quote_due_at"]  # the promise said to the customer, held by the console
    assert lead["notes"][0] == "我们公司要采购200个保温杯，请报价"

    said, _ = run(desk.ActionQuoteStatus(), tracker("desk-1", events + [user("我的报价到哪一步了", "quote_status")], {}))
    assert "已登记" in said[0] and "× 200" in said[0]


def test_the_quote_button_keeps_what_the_customer_said_before() -> None:
    events = [user("保温杯有现货吗", "stock_check"), user("我们公司要300个", "inform"),
              user("/presales_quote", "presales_quote")]
    assert desk._customer_messages(tracker("earlier", events, {})) == ["保温杯有现货吗", "我们公司要300个"]
    events = [user("我们公司要300个保温杯", "inform"), user("请报价", "presales_quote")]
    assert desk._customer_messages(tracker("earlier", events, {})) == ["我们公司要300个保温杯"]


def test_below_the_threshold_the_route_points_to_checkout(store) -> None:  # noqa: F811
    from actions.metrics import REGISTRY

    def checkouts() -> float:
        return REGISTRY.get_sample_value("kefu_presales_outcomes_total", {"outcome": "checkout", "priority": ""}) or 0

    before = checkouts()
    said, result = run(desk.ActionPresalesRoute(), tracker("desk-2", [user("想买10个保温杯，能给个批发价吗", "presales_quote")], {}))
    assert any("直接在商城下单" in s and "50" in s for s in said), said
    assert slots_of(result)["presales_outcome"] == "checkout"
    assert not any(e.get("event") == "followup" for e in result)
    assert checkouts() == before + 1


def test_quote_lookup_when_the_console_is_down_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_CONSOLE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", "x")
    said, result = run(desk.ActionQuoteStatus(), tracker("desk-3", [user("报价进度", "quote_status")], {}))
    assert "查不到" in said[0] and result == []
