"""The real stack: REST replies follow the customer's script; conversations survive restarts.

On the shared stack with agents on duty (tests/stack.py ``SHARED``): every test has its own sender."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kernel.language import detect
from tests.stack import Stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(staffed_stack: Stack) -> Stack:
    return staffed_stack


def texts(replies):
    return [r["text"] for r in replies if r.get("text")]


def sender() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    "message, script",
    [("你好", "zh-Hans"), ("您好，請問營業時間", "zh-Hant"), ("hi there", "en")],
)
def test_greeting_comes_back_in_the_customers_script(stack, message, script):
    replies = texts(stack.say(sender(), message))
    assert replies, "the bot said nothing"
    assert detect(replies[0]).language == script, replies


def test_script_follows_a_switch_mid_conversation(stack):
    who = sender()
    assert detect(texts(stack.say(who, "hello"))[0]).language == "en"
    assert detect(texts(stack.say(who, "謝謝你"))[0]).language == "zh-Hant"
    # "你好" has no script of its own: the conversation stays Traditional.
    assert detect(texts(stack.say(who, "你好"))[0]).language == "zh-Hant"
    assert detect(texts(stack.say(who, "thanks"))[0]).language == "en"


def test_language_slot_is_kept_on_the_tracker(stack):
    who = sender()
    stack.say(who, "您好，請問營業時間")
    assert stack.tracker(who)["slots"]["language"] == "zh-Hant"


@pytest.mark.parametrize("message", ["👍👍👍", "<script>alert(1)</script>", "'; DROP TABLE events; --", "好" * 1000])
def test_hostile_or_odd_messages_get_an_answer_not_an_error(stack, message):
    replies = stack.say(sender(), message)
    assert isinstance(replies, list) and replies


@pytest.mark.parametrize(("message", "status"), [("", 400), (" ", 400), ("好" * 10000, 413)])
def test_empty_or_huge_messages_get_a_clear_json_error(stack, message, status):
    """The REST channel (bot/channels/rest.py) refuses them before Rasa sees them."""
    import requests

    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                             json={"sender": sender(), "message": message}, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]


def test_http_api_needs_the_token(stack):
    import requests

    who = sender()
    stack.say(who, "hi")
    denied = requests.get(f"{stack.rasa_url}/conversations/{who}/tracker", timeout=10)
    assert denied.status_code == 401
    wrong = requests.get(f"{stack.rasa_url}/conversations/{who}/tracker", params={"token": "nope"}, timeout=10)
    assert wrong.status_code == 401


def test_conversation_survives_a_restart(stack):
    who = sender()
    stack.say(who, "你好")
    stack.say(who, "你是机器人吗")
    before = [e for e in stack.tracker(who)["events"] if e["event"] in ("user", "bot")]
    # The conversation is on disk where the configuration says, not in memory.
    assert Path(stack.env["KEFU_TRACKER_DB"]).stat().st_size > 0
    stack.restart("rasa")
    after = [e for e in stack.tracker(who)["events"] if e["event"] in ("user", "bot")]
    assert [e.get("text") for e in after] == [e.get("text") for e in before]
    stack.say(who, "谢谢")
    final = [e.get("text") for e in stack.tracker(who)["events"] if e["event"] == "user"]
    assert final == ["你好", "你是机器人吗", "谢谢"]


@pytest.mark.parametrize("message", ["北京门店地址", "shenzhen store address pls", "深圳有門市嗎", "上海"])
def test_a_message_read_as_a_bare_slot_value_still_gets_an_answer(stack, message):
    """NLU reads these as `inform` outside any form, where the policies would just listen
    (bot/never_silent.py): the customer must hear something."""
    who = sender()
    replies = stack.say(who, message)
    assert replies and any(r.get("text") for r in replies), replies
    actions = [e["name"] for e in stack.tracker(who)["events"] if e["event"] == "action"]
    assert actions[-1] == "action_listen", actions


FALSE_ERROR = ("系统暂时出了点问题", "系統暫時出了點問題", "went wrong on our side")  # utter_default: for real failures


KNOWLEDGE_BASE_ROUTES = {"action_fallback_ladder", "action_answer_faq"}


@pytest.mark.parametrize("message", ["东西不喜欢了咋整", "東西不喜歡了咋整", "don't like the stuff, what now"])
def test_a_turn_the_policies_are_unsure_of_goes_to_the_knowledge_base_not_a_false_error(stack, message):
    """A shopper's vague "what now" about an item they dislike. NLU may read it as `deny` with nothing to deny
    (the policies are then unsure: core fallback, and the fallback ladder hands it to the knowledge base) or as
    `ask_faq` (the knowledge base directly). Either way the question reaches the knowledge base (an answer, "did
    you mean", or a request to rephrase, recorded if unanswered); the customer is never told that the system
    failed and is never sent into the order form (the English phrasing once was, see bot/data/nlu/faq.en.yml)."""
    who = sender()
    replies = stack.say(who, message)
    texts = " ".join(str(r.get("text") or "") for r in replies)
    assert replies and not any(false in texts for false in FALSE_ERROR), replies
    actions = [e["name"] for e in stack.tracker(who)["events"] if e["event"] == "action"]
    assert KNOWLEDGE_BASE_ROUTES & set(actions) and "action_default_fallback" not in actions, actions
    assert "order_lookup_form" not in actions, actions
    assert not (stack.tracker(who).get("active_loop") or {}).get("name"), stack.tracker(who).get("active_loop")


RATING_REPLIES = ("1 到 5 之间的数字", "1 到 5 之間的數字", "number from 1 to 5", "需要评价的人工服务", "需要評價的真人服務",
                  "no recent chat with an agent")


@pytest.mark.parametrize("message", ["积分有啥用 多少分抵1块", "幫我算 123 乘 456", "1箱几个", "这个买一送一是20个吗"])
def test_a_number_in_a_question_is_not_read_as_a_rating_nobody_asked_for(stack, message):
    """Real buyer messages that NLU reads as csat_rating (benchmarks/nlu_routing_cic.py): without a closed chat to
    rate, the customer gets the knowledge base's answer or its fallback, never a request for a 1-5 rating."""
    replies = stack.say(sender(), message)
    texts = " ".join(str(r.get("text") or "") for r in replies)
    assert replies and not any(rating in texts for rating in RATING_REPLIES), replies


@pytest.mark.parametrize("message", ["这玩意儿能寄回去不", "你們會把我的個資給第三方嗎", "write me a poem about cats"])
def test_a_question_is_not_handed_over_as_a_complaint(stack, message):
    """Messages NLU has read as `complain` (issue 25) with nothing to complain about: answered by the bot (knowledge
    base, "did you mean", or a request to rephrase), never a complaint apology, a ticket and a paused conversation."""
    who = sender()
    replies = stack.say(who, message)
    assert replies, "an answer, not silence"
    tracker = stack.tracker(who)
    assert tracker["paused"] is False, replies
    handoff = [e for e in tracker["events"] if e["event"] == "slot" and e["name"] == "handoff_request" and e["value"]]
    assert handoff == [], replies


def test_a_real_complaint_still_reaches_a_person(stack):
    who = sender()
    stack.say(who, "杯子收到就是碎的，太差劲了，我要投诉")
    assert stack.tracker(who)["paused"] is True
