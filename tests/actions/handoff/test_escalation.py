"""Every escalation trigger, its switch, and the auto-escalation decision for the fallback ladder."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from actions.escalation import (
    CONFIG_FILE,
    EscalationConfigError,
    auto_escalation,
    decide,
    load_config,
    parse_config,
    signals_from_events,
)
from tests.actions.handoff.events import action, bot, slot, user

CONFIG = load_config()


def decision(events, slots=None, config=CONFIG):  # type: ignore[no-untyped-def]
    return decide(signals_from_events(events, slots or {}, config), config)


def without(trigger: str):  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    raw["triggers"][trigger]["enabled"] = False
    return parse_config(raw)


@pytest.mark.parametrize("text", ["转人工", "轉真人", "人工客服", "找真人", "talk to a human", "agent"])
def test_explicit_request(text: str) -> None:
    d = decision([user(text, "human_handoff")])
    assert (d.reason, d.category, d.trigger) == ("explicit_request", "other", "intent:human_handoff")
    assert decision([user(text, "human_handoff")], config=without("explicit_request")) is None


def test_complaint_always() -> None:
    d = decision([user("我要投诉，杯子碎了", "complain")])
    assert (d.reason, d.category) == ("complaint", "complaint")
    assert decision([user("x", "complain")], config=without("complaint")) is None


def test_presales_quote() -> None:
    d = decision([user("公司要采购200个杯子，能报价吗", "presales_quote")])
    assert (d.reason, d.category) == ("presales", "presales")
    assert decision([user("x", "presales_quote")], config=without("presales")) is None


def test_two_misses_in_a_row() -> None:
    one = [user("asdf", "nlu_fallback"), action("action_fallback_ladder")]
    assert auto_escalation(one, {}) is None
    two = one + [user("qwer", "nlu_fallback"), action("action_fallback_ladder")]
    d = auto_escalation(two, {})
    assert (d.reason, d.mode, d.trigger) == ("repeated_misses", "offer", "misses:2")
    # a knowledge-base no-answer counts as a miss too
    kb = [user("a", "ask_faq"), slot("faq_outcome", "no_answer"), user("b", "ask_faq"), slot("faq_outcome", "no_answer")]
    assert auto_escalation(kb, {}).reason == "repeated_misses"
    # a served turn in between resets the count
    served = [user("a", "nlu_fallback"), user("hi", "greet"), user("b", "nlu_fallback")]
    assert auto_escalation(served, {}) is None
    assert auto_escalation(two, {}, without("repeated_misses")) is None
    # accepting the offered person keeps the reason
    d = decision(two + [slot("human_offered", True), user("好的", "human_handoff")])
    assert (d.reason, d.trigger) == ("repeated_misses", "intent:human_handoff+misses:2")


def test_strongly_negative_sentiment() -> None:
    events = [user("你们这是什么垃圾服务！！", "nlu_fallback")]
    d = auto_escalation(events, {})
    assert d.reason == "negative_sentiment" and d.mode == "escalate" and d.category == "complaint"
    assert d.trigger.startswith("sentiment:-0.")
    assert auto_escalation([user("我的订单到哪了", "nlu_fallback")], {}) is None
    assert auto_escalation(events, {}, without("negative_sentiment")) is None


def test_failed_identity_check() -> None:
    events = [user("KF20261101001", "order_status"), bot("请输入手机尾号"), user("1111", "inform"),
              user("/human_handoff", "human_handoff")]
    d = decision(events, {"order_lookup_locked": True})
    assert (d.reason, d.category) == ("identity", "after_sales")
    assert decision(events, {"identity_locked": True}).reason == "identity"
    assert decision(events, {"order_lookup_locked": True}, without("identity")).reason == "explicit_request"
    auto = auto_escalation([user("??", "nlu_fallback")], {"identity_locked": True})
    assert auto.reason == "identity" and auto.mode == "offer"


def test_category_from_the_conversation() -> None:
    assert decision([user("我的订单到哪了", "order_status"), user("转人工", "human_handoff")]).category == "after_sales"
    assert decision([user("有现货吗", "stock_check"), user("转人工", "human_handoff")]).category == "presales"
    assert decision([user("转人工", "human_handoff")], {"order_id": "KF1"}).category == "after_sales"
    assert decision([user("转人工", "human_handoff")]).category == "other"


def test_session_start_resets_history() -> None:
    events = [user("a", "nlu_fallback"), user("b", "nlu_fallback"), {"event": "session_started"}, user("c", "greet")]
    assert auto_escalation(events, {}) is None


def test_config_validation() -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    for change, message in (
        ({"nonsense": {"enabled": True}}, "unknown trigger"),
        ({"repeated_misses": {"enabled": True, "threshold": 0}}, "threshold"),
        ({"negative_sentiment": {"enabled": True, "threshold": -3}}, "threshold"),
        ({"complaint": {"enabled": True, "mode": "maybe"}}, "mode"),
    ):
        broken = {**raw, "triggers": {**raw["triggers"], **change}}
        with pytest.raises(EscalationConfigError, match=message):
            parse_config(broken)


def test_threshold_is_configurable() -> None:
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    raw["triggers"]["repeated_misses"]["threshold"] = 3
    config = parse_config(raw)
    two = [user("a", "nlu_fallback"), user("b", "nlu_fallback")]
    assert auto_escalation(two, {}, config) is None
    assert auto_escalation(two + [user("c", "nlu_fallback")], {}, config).reason == "repeated_misses"
    assert replace(CONFIG) == CONFIG


# -- a complaint needs something to complain about (issue 25: NLU's `complain` over-reaches) ----------------
@pytest.mark.parametrize("text", [
    "这玩意儿能寄回去不", "你們會把我的個資給第三方嗎", "write me a poem about cats", "能开发票吗", "积分有啥用",
])
def test_complain_without_evidence_is_a_question_to_answer(text: str) -> None:
    from actions.escalation import unfounded_complaint

    assert unfounded_complaint([user(text, "complain")], CONFIG)


@pytest.mark.parametrize("text", [
    "杯子收到就是碎的", "等了一个星期还没收到货", "你们客服态度太差了", "發錯貨了，我要的是黑色", "the box arrived damaged",
    "I was charged twice for one order", "我要投诉", "太失望了", "又没发货", "this is the worst shop ever",
])
def test_a_real_complaint_still_goes_to_a_person(text: str) -> None:
    from actions.escalation import unfounded_complaint

    assert not unfounded_complaint([user(text, "complain")], CONFIG)


def test_evidence_in_the_previous_message_counts_and_buttons_always_hand_over() -> None:
    from actions.escalation import unfounded_complaint

    earlier = [user("杯子碎了", "inform"), bot("请问订单号是多少？"), user("那你们说怎么办吧", "complain")]
    assert not unfounded_complaint(earlier, CONFIG)
    assert not unfounded_complaint([user("/complain", "complain")], CONFIG)
    assert not unfounded_complaint([user("这玩意儿能寄回去不", "faq_returns")], CONFIG), "only NLU's complain"
    raw = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    raw["triggers"]["complaint"]["require_evidence"] = False
    assert not unfounded_complaint([user("这玩意儿能寄回去不", "complain")], parse_config(raw))
    raw["triggers"]["complaint"]["evidence"] = ["ok", ""]
    with pytest.raises(EscalationConfigError, match="evidence"):
        parse_config(raw)


@pytest.mark.parametrize("text, nobody", [
    ("can my husband grab it instead of me", True), ("别人可以帮我代取吗", True),
    ("a human please, not the bot", False), ("real human pls", False), ("转人工", False), ("客服在吗", False),
    ("let me talk to someone", False), ("叫你们经理来", False), ("你们这什么垃圾服务，气死我了", False),
    ("/human_handoff", False), ("", False),
])
def test_a_request_for_a_person_that_names_nobody(text: str, nobody: bool) -> None:
    from actions.escalation import names_nobody

    assert names_nobody(text) is nobody


def test_a_shop_question_read_as_a_request_for_a_person_is_answered() -> None:
    """On the shop's knowledge base (``make kb``): "can my husband grab it instead of me" (NLU: human_handoff) has a
    sure answer and names nobody to talk to: the answer, not a ticket. A request for a person stays one."""
    import asyncio

    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.handoff import ActionHandoff, a_shop_question_instead

    def tracker(text: str, intent: str = "human_handoff") -> Tracker:
        message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
        return Tracker("t", {"language": "en"}, message, [{"event": "user", "text": text, "parse_data": message}],
                       False, None, {}, "action_listen")

    assert a_shop_question_instead(tracker("can my husband grab it instead of me"))
    events = asyncio.run(ActionHandoff().run(CollectingDispatcher(), tracker("can my husband grab it instead of me"),
                                             {}))
    assert events == [{"event": "followup", "timestamp": None, "name": "action_answer_faq"}]
    assert not a_shop_question_instead(tracker("a human please, not the bot"))
    assert not a_shop_question_instead(tracker("can my husband grab it instead of me", intent="ask_faq"))
    assert not a_shop_question_instead(tracker("/human_handoff"))
