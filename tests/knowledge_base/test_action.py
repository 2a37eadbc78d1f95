"""action_answer_faq with rasa-sdk's Tracker and CollectingDispatcher."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionAnswerFaq, choice_payload
from knowledge_base.serving.runtime import KnowledgeBase

from .conftest import with_thresholds


def tracker(
    text: str,
    language: Optional[str] = None,
    intent: str = "ask_faq",
    entities: List[Dict[str, Any]] = (),
    sender: str = "conv-1",
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities)}
    return Tracker(
        sender_id=sender,
        slots={"language": language, "faq_outcome": None, "faq_candidates": None},
        latest_message=message,
        events=[{"event": "user", "text": text, "parse_data": message}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: ActionAnswerFaq, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


@pytest.fixture()
def db_config(built_kb, tmp_path):
    return replace(built_kb, unanswered=replace(built_kb.unanswered, db_url=f"sqlite:///{tmp_path}/app.db"))


def _rows(url: str) -> List[Dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM kb_unanswered ORDER BY id"))]
    engine.dispose()
    return rows


def test_name() -> None:
    assert ActionAnswerFaq().name() == "action_answer_faq"


def test_answers_in_traditional(db_config, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(db_config)), tracker("退款要幾天才會到帳", language="zh-Hans"))
    assert slots["faq_outcome"] == "answered"
    assert slots["faq_candidates"][0]["id"] == "refunds.how_long"
    assert messages[0]["text"] == "退款在審核通過後1到3個工作天原路退回。"


def test_no_answer_offers_a_human_and_is_recorded(db_config, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(db_config)), tracker("你们卖汽车吗", sender="conv-42"))
    assert slots["faq_outcome"] == "no_answer"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/human_handoff"]
    assert "转接人工客服" in messages[0]["text"]
    [row] = _rows(db_config.db_url())
    assert row["text"] == "你们卖汽车吗" and row["conversation_id"] == "conv-42"
    assert row["outcome"] == "no_answer" and row["language"] == "zh-Hans"
    assert isinstance(json.loads(row["candidates"]), list)


def test_clarify_buttons_select_entries(db_config, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    config = with_thresholds(db_config, refuse=0.01, answer=1.01)
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(config)), tracker("how long for a refund", language="en"))
    assert slots["faq_outcome"] == "clarify"
    options = messages[0]["buttons"]
    assert 1 <= len(options) <= 3
    assert options[0]["payload"] == '/faq_choose{"faq_id":"refunds.how_long"}'
    assert [c["id"] for c in slots["faq_candidates"]] == [
        json.loads(b["payload"][len("/faq_choose") :])["faq_id"] for b in options
    ]
    assert messages[1]["buttons"][0]["payload"] == "/human_handoff"
    assert _rows(config.db_url())[0]["outcome"] == "clarify"


def test_choice_is_answered_directly(db_config, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    payload = choice_payload("shipping.carriers")
    t = tracker(
        payload, language="zh-Hant", intent="faq_choose", entities=[{"entity": "faq_id", "value": "shipping.carriers"}]
    )
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(db_config)), t)
    assert slots["faq_outcome"] == "answered"
    assert messages[0]["text"] == "我們預設使用順豐和京東物流發貨。"
    # also when the channel delivered the raw payload without entities
    t = tracker(payload, language="en", intent="faq_choose")
    messages, _ = run(ActionAnswerFaq(KnowledgeBase(db_config)), t)
    assert messages[0]["text"] == "We ship with SF Express and JD Logistics."


def test_unknown_choice(db_config) -> None:
    t = tracker(
        "/faq_choose", language="en", intent="faq_choose", entities=[{"entity": "faq_id", "value": "gone.entry"}]
    )
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(db_config)), t)
    assert slots["faq_outcome"] == "no_answer" and "no longer available" in messages[0]["text"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "😀😀😀",
        "x" * 10000,
        "退" * 10000,
        "' OR 1=1; DROP TABLE kb_unanswered; --",
        "<img src=x onerror=alert(1)>",
        "退款 refund 多久 how long 退貨要幾天",
        "\u200b\u200b",
        None,
    ],
)
def test_hostile_input_gets_a_clean_reply(db_config, monkeypatch, text) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(db_config)), tracker(text, language="en"))
    assert slots["faq_outcome"] in ("answered", "clarify", "no_answer")
    assert messages and all(m["text"] for m in messages)


def test_database_down_still_answers(built_kb, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    config = replace(
        built_kb, unanswered=replace(built_kb.unanswered, db_url="postgresql+psycopg2://nobody@127.0.0.1:1/none")
    )
    messages, slots = run(ActionAnswerFaq(KnowledgeBase(config)), tracker("你们卖汽车吗"))
    assert slots["faq_outcome"] == "no_answer" and messages[0]["buttons"]


def test_no_build_yet_offers_a_human(tmp_path) -> None:
    from .conftest import make_config

    kb = KnowledgeBase(make_config(tmp_path / "faq", tmp_path / "out"))
    messages, slots = run(ActionAnswerFaq(kb), tracker("退款多久到账"))
    assert slots["faq_outcome"] == "no_answer"
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"
    # a follow-up with no index either: the same honest reply, no exception
    from actions.faq import FollowUp, answer_turn

    reply = answer_turn(kb, "那要几天才到呢", "zh-Hans", None, FollowUp("可以寄香港吗", ()))
    assert reply.outcome == "no_answer" and reply.messages[0].buttons[0]["payload"] == "/human_handoff"


# -- action_while_waiting (bot/waiting.py runs it while a handoff waits for an agent) ------------------


def test_while_waiting_a_confident_answer_comes_with_the_queue_note(db_config, monkeypatch) -> None:
    from actions.waiting import ActionWhileWaiting

    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    messages, slots = run(ActionWhileWaiting(KnowledgeBase(db_config)), tracker("退款要幾天才會到帳", language="zh-Hant"))
    assert [m["text"] for m in messages] == ["退款在審核通過後1到3個工作天原路退回。",
                                             "（您的真人服務請求仍在排隊，客服接入後也會看到這則訊息。）"]
    assert slots == {}, "the conversation belongs to the handoff: no slot changes"
    assert not _has_table(db_config.db_url()) or _rows(db_config.db_url()) == []


def test_while_waiting_anything_else_is_acknowledged(db_config, monkeypatch) -> None:
    from actions.waiting import ActionWhileWaiting

    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    action = ActionWhileWaiting(KnowledgeBase(db_config))
    for text, expected in (("你们卖汽车吗", "收到，您的消息已转给客服"), ("what is the weather like on mars", "Got it"),
                           ("/human_handoff", "收到"), ("", "收到")):
        messages, slots = run(action, tracker(text))
        assert len(messages) == 1 and messages[0]["text"].startswith(expected), (text, messages)
        assert slots == {}


def test_while_waiting_a_broken_knowledge_base_still_acknowledges(monkeypatch) -> None:
    from actions.waiting import ActionWhileWaiting

    class Broken:
        def matcher(self):  # noqa: ANN202
            raise RuntimeError("index corrupt")

    messages, _ = run(ActionWhileWaiting(Broken()), tracker("退款要几天", language="zh-Hans"))  # type: ignore[arg-type]
    assert [m["text"] for m in messages] == ["收到，您的消息已转给客服，客服接入后会看到并在这里回复您。"]


def test_while_waiting_outside_hours_the_ack_says_when_the_team_is_back(db_config, monkeypatch) -> None:
    """"what time do your agents start tomorrow" outside staffed hours: the ack says when (from the queue notice
    the handoff sent); inside staffed hours, or with no notice, the plain ack."""
    from actions.waiting import ActionWhileWaiting, opens_again

    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    now = 1796904000.0  # 2026-12-10 12:00 UTC, 20:00 in the team's zone (UTC+8)
    queued = {"type": "handoff_queued", "staffed": False, "opens_at": "2026-12-11T01:00:00Z",
              "opens_at_local": "2026-12-11 09:00"}
    notice = {"event": "bot", "text": "…", "data": {"custom": {"kefu_event": queued}}}
    assert opens_again([notice], "en", now) == "after 09:00 tomorrow"
    assert opens_again([notice], "zh-Hans", now) == "明天 09:00 后"
    staffed = {"event": "bot", "data": {"custom": {"kefu_event": {**queued, "staffed": True}}}}
    assert opens_again([notice, staffed], "en", now) is None
    assert opens_again([{"event": "bot", "data": {"custom": ["x"]}}, {"event": "user"}], "en", now) is None
    t = tracker("what time do your agents start", language="en", intent="out_of_scope")
    t.events.insert(0, {**notice, "data": {"custom": {"kefu_event": {**queued, "opens_at": "2999-01-01T01:00:00Z",
                                                                      "opens_at_local": "2999-01-01 09:00"}}}})
    messages, slots = run(ActionWhileWaiting(KnowledgeBase(db_config)), t)
    assert "09:00" in messages[-1]["text"] and messages[-1]["text"].startswith("Got it"), messages
    assert slots == {}


def _has_table(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table("kb_unanswered")
    finally:
        engine.dispose()


# -- several questions in one message (issue 25) ----------------------------------------------------------------
def test_question_parts() -> None:
    from actions.faq import question_parts

    assert question_parts("几天能到？新疆发吗") == ["几天能到", "新疆发吗"]
    assert question_parts("退款几天到账，另外可以开发票吗") == ["退款几天到账", "可以开发票吗"]
    assert question_parts("how long is shipping? do you ship to hong kong?") == [
        "how long is shipping", "do you ship to hong kong"]
    assert question_parts("退款多久到账") == [], "one question"
    assert question_parts("我买的杯子昨天到了。盖子拧不紧，一直漏水。怎么办？能换吗？") == [], "a story is matched whole"
    assert question_parts("？？？！！") == [] and question_parts("") == []


def test_two_questions_get_two_answers_in_the_order_asked(db_config, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    action = ActionAnswerFaq(KnowledgeBase(db_config))
    messages, slots = run(action, tracker("退款要几天？能用微信支付吗？", language="zh-Hans"))
    assert [m["text"] for m in messages] == ["退款在审核通过后1到3个工作日原路退回。",
                                             "我们支持微信支付、支付宝、银联卡和门店现金支付。"]
    assert slots["faq_outcome"] == "answered"
    assert [c["id"] for c in slots["faq_candidates"]] == ["refunds.how_long", "payment.methods"]
    messages, _ = run(action, tracker("能用微信支付吗？支持支付宝吗？", language="zh-Hans"))
    assert len(messages) == 1, "two phrasings of one question: one answer"



def test_while_waiting_a_shop_question_gets_its_choices_and_a_choice_its_answer() -> None:
    """Issue 25: outside working hours the bot keeps answering while the ticket waits. On the shop's knowledge base
    (``make kb``): a shop question it is less sure of gets "did you mean" (no offer of a person: one is on the way),
    a pick gets the answer; the same words read as something else only get the acknowledgement."""
    from actions.faq import answer_turn, choice_payload
    from actions.waiting import ActionWhileWaiting
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    action = ActionWhileWaiting(kb)
    question = "公司发票怎么开"
    assert answer_turn(kb, question, "zh-Hans", None).outcome == "clarify"
    messages, slots = run(action, tracker(question, language="zh-Hans"))
    assert len(messages) == 2 and slots == {}
    assert choice_payload("invoices.company_title") in [b["payload"] for b in messages[0]["buttons"]]
    assert all(b["payload"].startswith("/faq_choose") for b in messages[0]["buttons"]), "no offer of a person"
    assert messages[1]["text"].startswith("（您的人工服务请求仍在排队")
    # worded as a question, it gets the choices whatever NLU read ("while I wait - opening hours of your beijing
    # stores?" was read as out of scope); the same words as no question, read as something else, only the ack
    messages, _ = run(action, tracker(question, language="zh-Hans", intent="out_of_scope"))
    assert choice_payload("invoices.company_title") in [b["payload"] for b in messages[0]["buttons"]]
    assert answer_turn(kb, "退款到账", "zh-Hans", None).outcome == "clarify"
    messages, _ = run(action, tracker("退款到账", language="zh-Hans", intent="out_of_scope"))
    assert [m["text"][:2] for m in messages] == ["收到"]
    picked = tracker(choice_payload("invoices.company_title"), language="zh-Hans", intent="faq_choose",
                     entities=[{"entity": "faq_id", "value": "invoices.company_title"}])
    messages, _ = run(action, picked)
    assert messages[0]["text"] == kb.matcher().answer_text("invoices.company_title", "zh-Hans")
    assert messages[1]["text"].startswith("（您的人工服务请求仍在排队")


def test_question_parts_between_spaces_commas_and_and() -> None:
    from actions.faq import question_parts

    assert question_parts("能开公司抬头吗 有没有纸质发票") == ["能开公司抬头吗", "有没有纸质发票"]
    assert question_parts("当日达收多少钱，几点前要下单，北京能不能送") == ["当日达收多少钱", "几点前要下单", "北京能不能送"]
    assert question_parts("how much is delivery and how long does it take to guangzhou?") == [
        "how much is delivery", "how long does it take to guangzhou"]
    assert question_parts("salt and pepper grinder") == [] and question_parts("KF20261120001 尾号5678") == []


def test_one_sure_answer_and_choices_for_the_other_question() -> None:
    """"寄新疆几天能到？花呗分6期要手续费吗": before, only the sure answer came and the other question was lost."""
    from actions.faq import answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    first, second = "花呗分6期要手续费吗", "寄新疆几天能到"
    assert answer_turn(kb, first, "zh-Hans", None).outcome == "answered"
    assert answer_turn(kb, second, "zh-Hans", None).outcome == "clarify"
    reply = answer_turn(kb, f"{first}？{second}", "zh-Hans", None)
    assert reply.messages[0].text == answer_turn(kb, first, "zh-Hans", None).messages[0].text
    assert any(b["payload"].startswith("/faq_choose") for m in reply.messages[1:] for b in m.buttons)


def test_a_question_of_three_without_an_answer_is_said_so() -> None:
    """"当日达收多少钱，几点前要下单，北京能不能送": two sure answers, and the third question was dropped silently."""
    from actions.faq import answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    assert answer_turn(kb, "北京能不能送", "zh-Hans", None).outcome == "no_answer"
    reply = answer_turn(kb, "当日达收多少钱，几点前要下单，北京能不能送", "zh-Hans", None)
    assert [c["id"] for c in reply.candidates] == ["same_day.fee", "same_day.cutoff"]
    assert len(reply.messages) == 3 and "「北京能不能送」" in reply.messages[2].text
    assert reply.messages[2].buttons[0]["payload"] == "/human_handoff"
    # a greeting among the questions is no question left unanswered
    assert all("你好" not in m.text for m in answer_turn(kb, "你好，当日达收多少钱，几点前要下单", "zh-Hans", None).messages)


# -- follow-ups on a knowledge-base answer (issue 25) -------------------------------------------------------------


def _answered(text: str, entry: str, intent: str = "ask_faq") -> List[Dict[str, Any]]:
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
            {"event": "action", "name": "action_answer_faq"},
            {"event": "slot", "name": "faq_outcome", "value": "answered"},
            {"event": "slot", "name": "faq_candidates", "value": [{"id": entry, "score": 0.9}]},
            {"event": "bot", "text": "…"}]


def test_the_follow_up_context_is_the_question_answered_last() -> None:
    from actions.faq import FollowUp, choice_payload, follow_up_context

    latest = {"event": "user", "text": "海淀那家晚上几点关"}
    assert follow_up_context([*_answered("北京哪儿有你们的实体店啊", "stores.beijing"), latest]) == \
        FollowUp("北京哪儿有你们的实体店啊", ("stores.beijing",))
    # through a "did you mean" choice: the question typed before the tap
    clarified = [{"event": "user", "text": "公司发票怎么开"},
                 {"event": "slot", "name": "faq_outcome", "value": "clarify"}]
    tapped = _answered(choice_payload("invoices.company_title"), "invoices.company_title", "faq_choose")
    assert follow_up_context([*clarified, *tapped, latest]) is None  # the question itself was not answered
    assert follow_up_context([*_answered("公司发票怎么开", "invoices.how_to_request"), *tapped, latest]) == \
        FollowUp("公司发票怎么开", ("invoices.company_title", "invoices.how_to_request"))
    # a repeat in another language in between: the follow-up is about the answer it repeated
    repeat = [{"event": "user", "text": "可以用中文講一次嗎？"}, {"event": "slot", "name": "language", "value": "zh-Hant"},
              {"event": "bot", "text": "好的，下面用繁體中文說一遍："}, {"event": "bot", "text": "…"}]
    assert follow_up_context([*_answered("Can you deliver to HK?", "shipping.hk_macau_taiwan"), *repeat, latest]) == \
        FollowUp("Can you deliver to HK?", ("shipping.hk_macau_taiwan",))
    assert follow_up_context([*repeat, latest]) is None
    # "666" in between (the bot asked to rephrase): the question before still stands; not a phone suffix that
    # showed an order card, which is what a follow-up is about then
    nonsense = [{"event": "user", "text": "666"}, {"event": "slot", "name": "faq_outcome", "value": "no_answer"},
                {"event": "bot", "text": "抱歉，我没太理解您的意思"}]
    assert follow_up_context([*_answered("领了张运费券 结账时候咋用", "coupons.shipping_coupon"), *nonsense, latest]) == \
        FollowUp("领了张运费券 结账时候咋用", ("coupons.shipping_coupon",))
    card = {"event": "bot", "text": "📦", "data": {"custom": {"kefu_card": {"type": "order_status",
                                                                             "status_label": "已签收"}}}}
    suffix = [{"event": "user", "text": "1234"}, card]
    assert follow_up_context([*_answered("发票怎么开", "invoices.how_to_request"), *suffix, latest]) == \
        FollowUp("已签收", ())
    # no answer before, or something else answered (an order card): nothing to follow up on
    assert follow_up_context([latest]) is None
    assert follow_up_context([{"event": "user", "text": "KF20261120001"}, {"event": "bot", "text": "📦"}, latest]) is None
    assert follow_up_context([{"event": "user", "text": "你好"},
                              {"event": "slot", "name": "faq_outcome", "value": "no_answer"}, latest]) is None


@pytest.mark.parametrize("language, first, entry, follow_up, expected", [
    ("zh-Hans", "北京哪儿有你们的实体店啊", "stores.beijing", "海淀那家晚上几点关", "stores.beijing"),
    ("zh-Hant", "可以寄台灣嗎？運費怎麼算？", "shipping.hk_macau_taiwan", "那關稅誰要付", "shipping.hk_macau_taiwan"),
    ("zh-Hant", "門市買的東西怎麼開發票？另外消費多少可以免費停車", "stores.parking", "可以停幾個小時", "stores.parking"),
])
def test_a_follow_up_is_read_with_the_question_it_follows(language, first, entry, follow_up, expected) -> None:  # type: ignore[no-untyped-def]
    """On the shop's knowledge base (``make kb``): alone, these have no sure answer; after the answer they follow
    up on, they get one."""
    from actions.faq import FollowUp, answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    assert answer_turn(kb, follow_up, language, None).outcome != "answered"
    reply = answer_turn(kb, follow_up, language, None, FollowUp(first, (entry,)))
    assert reply.outcome == "answered" and reply.candidates[0]["id"] == expected
    assert reply.messages[0].text == kb.matcher().answer_text(expected, language)


@pytest.mark.parametrize("language, first, entry, follow_up", [
    # the previous question would pull another answer that the follow-up alone does not rank: not given
    ("zh-Hant", "咁運費幾錢呀", "shipping.fee", "大概要等幾多日"),
    # no question: "好 明天再说" follows up on nothing, and is never answered with the last answer again
    ("zh-Hans", "你们门店几点开门", "stores.hours", "好 明天再说"),
    ("en", "what are your store hours", "stores.hours", "ok thanks"),
])
def test_a_follow_up_never_borrows_a_wrong_answer(language, first, entry, follow_up) -> None:  # type: ignore[no-untyped-def]
    from actions.faq import FollowUp, answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    alone = answer_turn(kb, follow_up, language, None)
    assert answer_turn(kb, follow_up, language, None, FollowUp(first, (entry,))) == alone


def test_after_an_order_card_a_question_is_read_with_the_status_shown() -> None:
    """"要是一直沒付會怎樣？" after a card that said 待付款: the payment time limit, which the question alone misses."""
    from actions.faq import FollowUp, answer_turn, follow_up_context
    from knowledge_base.serving.runtime import shared_knowledge_base

    card = {"kefu_card": {"type": "order_status", "status": "pending_payment", "status_label": "待付款"}}
    events = [{"event": "user", "text": "KF20261121001 後四碼2468 我好像忘記付款了"},
              {"event": "bot", "text": "📦 …", "data": {"custom": card}},
              {"event": "user", "text": "要是一直沒付會怎樣？"}]
    assert follow_up_context(events) == FollowUp("待付款", ())
    kb = shared_knowledge_base()
    assert answer_turn(kb, "要是一直沒付會怎樣？", "zh-Hant", None).outcome != "answered"
    reply = answer_turn(kb, "要是一直沒付會怎樣？", "zh-Hant", None, FollowUp("待付款", ()))
    assert reply.outcome == "answered" and reply.candidates[0]["id"] == "payment.timeout"


def test_a_later_question_of_several_is_read_with_the_first() -> None:
    """"當日達要幾點前下單？運費多少錢？": the second asks the same-day fee, not the standard shipping fee."""
    from actions.faq import answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    reply = answer_turn(kb, "當日達要幾點前下單？運費多少錢？", "zh-Hant", None)
    ids = [c["id"] for c in reply.candidates]
    assert reply.outcome == "answered" and ids == ["same_day.cutoff", "same_day.fee"], ids
    alone = answer_turn(kb, "運費多少錢？", "zh-Hant", None)
    assert alone.candidates[0]["id"] == "shipping.fee"  # what the second question alone gets


def test_a_follow_up_without_an_answer_is_asked_about_the_topic_just_answered() -> None:
    """"可以改退到我的郵局帳戶嗎" after the credit-card refund answer: alone, no answer; the previous question would
    pull the credit-card answer again. Of the same topic (refunds) its best entry is offered as a choice."""
    from actions.faq import SAME_TOPIC_FLOOR, FollowUp, answer_turn
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    follow_up = "可以改退到我的郵局帳戶嗎"
    alone = answer_turn(kb, follow_up, "zh-Hant", None)
    assert alone.outcome == "no_answer" and alone.candidates[0]["id"] == "refunds.original_method"
    assert alone.candidates[0]["score"] >= SAME_TOPIC_FLOOR
    reply = answer_turn(kb, follow_up, "zh-Hant", None, FollowUp("我是刷信用卡的 大概還要等幾天", ("refunds.credit_card",)))
    assert reply.outcome == "clarify" and [c["id"] for c in reply.candidates] == ["refunds.original_method"]
    assert "/faq_choose" in reply.messages[0].buttons[0]["payload"]
    # another topic answered last (stores): the honest "no answer" stands
    other = answer_turn(kb, follow_up, "zh-Hant", None, FollowUp("北京哪裡有門市", ("stores.beijing",)))
    assert other == alone


@pytest.mark.parametrize("language, first, entries, detail, part", [
    ("zh-Hant", "退貨運費誰出？退款大概幾天到帳？", ("returns.return_shipping_fee", "refunds.timing_by_payment"),
     "我是用支付寶餘額付的", "支付寶餘額一般幾分鐘內入帳"),
    ("zh-Hans", "退款多久到账", ("refunds.timing_by_payment",), "我用的是云闪付", "云闪付3–7个工作日"),
    ("en", "how long does a refund take", ("refunds.timing_by_payment",), "I paid with wechat balance",
     "Alipay balance usually within minutes"),
])
def test_a_detail_of_the_customers_case_gets_that_part_of_the_last_answer(language, first, entries, detail, part) -> None:  # type: ignore[no-untyped-def]
    from actions.faq import FollowUp, answer_turn
    from kernel.i18n import text
    from knowledge_base.serving.runtime import shared_knowledge_base

    kb = shared_knowledge_base()
    assert answer_turn(kb, detail, language, None).outcome != "answered"
    reply = answer_turn(kb, detail, language, None, FollowUp(first, entries))
    assert reply.outcome == "answered" and reply.candidates[0]["id"] == "refunds.timing_by_payment"
    assert len(reply.messages) == 1 and part in reply.messages[0].text
    assert reply.messages[0].text.startswith(text("msg_faq_detail", language, part="").split("。")[0].rstrip(".。 "))
    whole = kb.matcher().answer_text("refunds.timing_by_payment", language)
    assert len(reply.messages[0].text) < len(whole)  # one part, not the whole list again


def test_answer_part_about() -> None:
    from actions.faq import answer_part_about

    answer = "微信/支付宝余额几分钟到账；信用卡7–15个工作日；礼品卡即时退回。退货寄回后48小时内发起退款。"
    assert answer_part_about(answer, "我刷的信用卡") == "信用卡7–15个工作日"
    assert answer_part_about(answer, "用的禮品卡") == "礼品卡即时退回"  # Traditional against Simplified
    assert answer_part_about(answer, "好 明天再说") is None
    assert answer_part_about(answer, "我是用的") is None  # only function characters in common
    assert answer_part_about("Cards 1-3 days; balance within minutes.", "thanks") is None  # 'ank' is no word
    assert answer_part_about("Cards 1-3 days; balance within minutes.", "paid from my balance") == \
        "balance within minutes"
    assert answer_part_about("只有一句话", "一句话") is None  # nothing to narrow
    assert answer_part_about("甲乙丙；甲乙丁", "甲乙") is None  # two parts name it equally
