"""The B2B presales desk on the real stack (Rasa on the trained model, the action server, the console), in the three
languages: a full intake, everything in one message, a correction, a policy question in the middle, a request below
the bulk threshold, and an intake after hours with the bot still answering and the quote lookup. The console's
ticket carries the lead the customer described (``docs/presales.md``).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Dict, List

import pytest

from tests.browser.conftest import ConsoleAgent
from tests.stack import Stack

pytestmark = pytest.mark.stack

INTRO = ("帮您把采购需求登记下来", "幫您把採購需求登記下來", "Let me note down what you need")
HANDED = ("已交给销售同事", "已交給銷售同事", "It's with our sales team")
OFFHOURS = ("现在是非工作时间", "現在是非工作時間", "outside working hours")
CHECKOUT = ("直接在商城下单", "直接在商城下單", "simply order in the shop")


# The shared stacks on the demo store (tests/stack.py ``SHARED``: products are resolved, stock is said); every test
# has its own sender.
@pytest.fixture(scope="module")
def stack(staffed_stack: Stack) -> Stack:
    # staffed around the clock: the hand-over text must not depend on when the suite runs
    return staffed_stack


@pytest.fixture(scope="module")
def night_stack(unstaffed_stack: Stack) -> Stack:
    return unstaffed_stack


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


def has(said: str, options: tuple) -> bool:
    return any(option in said for option in options)


def lead_of(stack: Stack, sender: str) -> Dict[str, Any]:
    agent = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "admin", "admin-demo-2026")  # sees every team
    ticket = agent.ticket_for(Stack.conversation_id(sender))
    detail = agent.ticket(ticket["id"])
    assert ticket["category"] == "presales", ticket
    assert detail.get("lead"), detail
    return detail["lead"]


def soon(days: int) -> date:
    return date.today() + timedelta(days=days)


# step by step: (message, what the reply must contain); the last reply hands the lead to sales
FULL_INTAKE = {
    "zh-Hans": [("想给公司订一批保温杯，麻烦给个报价", INTRO + ("多少件",)), ("200个", ("定制",)),
                ("要印我们公司的logo", ("哪个城市",)), ("上海和苏州", ("什么时候",)), ("两周内", ("公司",)),
                ("上海星辰科技有限公司", ("联系",)), ("王先生 13812345678", HANDED)],
    "zh-Hant": [("想幫公司訂一批保溫杯，麻煩給個報價", INTRO + ("多少件",)), ("200個", ("客製", "定製")),
                ("要印我們公司的logo", ("哪個城市",)), ("台北", ("什麼時候",)), ("兩週內", ("公司",)),
                ("星辰科技股份有限公司", ("聯絡", "聯繫")), ("王先生 13812345678", HANDED)],
    "en": [("Hi, we'd like a quote for insulated bottles for our office", INTRO + ("how many",)),
           ("200", ("customisation",)), ("print our company logo on them", ("Which city",)),
           ("Shanghai and Suzhou", ("When do you need",)), ("within two weeks", ("company",)),
           ("Starlight Tech Co., Ltd.", ("reach you",)), ("Tom Wang, tom.wang@starlight.example", HANDED)],
}


@pytest.mark.parametrize("language", sorted(FULL_INTAKE))
def test_a_full_intake_hands_sales_a_lead(stack: Stack, language: str) -> None:
    sender = f"b2b-full-{uuid.uuid4().hex[:8]}"
    for message, expected in FULL_INTAKE[language]:
        said = texts(stack.say(sender, message))
        assert has(said, expected), (message, said)
    assert "200" in said
    lead = lead_of(stack, sender)
    assert lead["quantity"] == 200
    assert lead["product_id"] == "P010", lead
    assert "logo" in lead["customisation"].lower()
    assert lead["needed_by"] and date.fromisoformat(lead["needed_by"]) <= soon(15)
    assert lead["priority"] == "hot", "needed within two weeks"
    assert lead["company"] and (lead["phone"] or lead["email"])
    assert lead["notes"][0].startswith(FULL_INTAKE[language][0][0][:6]), "the customer's own words are kept"
    assert lead["status"] == "new"


ONE_MESSAGE = {
    "zh-Hans": "我们是杭州云帆科技有限公司，要300个保温杯，印logo，12月25日前送到杭州，联系人李女士 13912345678，请报价",
    "zh-Hant": "我們是雲帆科技有限公司，要300個保溫杯，印logo，12月25日前送到台北，聯絡人李小姐 13912345678，請報價",
    "en": "Acme Trading Co., Ltd. here. Please quote 300 insulated bottles with our logo printed, delivered to "
          "Hangzhou by December 25; contact Lily Li, lily@acme.example",
}


@pytest.mark.parametrize("language", sorted(ONE_MESSAGE))
def test_everything_in_one_message_is_not_asked_again(stack: Stack, language: str) -> None:
    sender = f"b2b-one-{uuid.uuid4().hex[:8]}"
    said = texts(stack.say(sender, ONE_MESSAGE[language]))
    assert has(said, HANDED), said
    assert "300" in said
    lead = lead_of(stack, sender)
    assert lead["quantity"] == 300 and lead["cities"] and lead["company"] and lead["needed_by"]


CORRECTION = {
    "zh-Hans": [("我们要采购200个保温杯，能报个价吗", "不是200，是300"), "不需要", "深圳"],
    "zh-Hant": [("我們要採購200個保溫杯，能報個價嗎", "不是200，是300"), "不需要", "台北"],
    "en": [("We need 200 insulated bottles, can you quote?", "sorry, not 200, make it 300"), "none", "Shenzhen"],
}


@pytest.mark.parametrize("language", sorted(CORRECTION))
def test_a_correction_replaces_the_quantity(stack: Stack, language: str) -> None:
    sender = f"b2b-fix-{uuid.uuid4().hex[:8]}"
    (first, correction), *rest = CORRECTION[language]
    assert has(texts(stack.say(sender, first)), INTRO)
    said = texts(stack.say(sender, correction))
    assert "300" in said, said  # the stock line for the corrected quantity
    for message in rest:
        stack.say(sender, message)
    for message in ("跳过", "跳过", "跳过") if language != "en" else ("skip", "skip", "skip"):
        said = texts(stack.say(sender, message))
    assert has(said, HANDED), said
    assert lead_of(stack, sender)["quantity"] == 300


POLICY_IN_THE_MIDDLE = {
    "zh-Hans": ("我们要采购100个马克杯，请报价", "报价单有效期几天？", "15天", "哪个城市"),
    "zh-Hant": ("我們要採購100個馬克杯，請報價", "報價單有效期幾天？", "15天", "哪個城市"),
    "en": ("Please quote 100 ceramic mugs for us", "how long is a quote valid?", "15 days", "Which city"),
}


@pytest.mark.parametrize("language", sorted(POLICY_IN_THE_MIDDLE))
def test_a_policy_question_in_the_middle_is_answered_and_the_intake_goes_on(stack: Stack, language: str) -> None:
    sender = f"b2b-ask-{uuid.uuid4().hex[:8]}"
    opening, question, answer, next_question = POLICY_IN_THE_MIDDLE[language]
    assert has(texts(stack.say(sender, opening)), INTRO)
    stack.say(sender, "不需要" if language != "en" else "no customisation")
    said = texts(stack.say(sender, question))
    assert answer in said and next_question in said, said
    tracker = stack.tracker(sender)
    assert (tracker.get("active_loop") or {}).get("name") == "presales_form"


BELOW = {
    "zh-Hans": "想买10个保温杯，能给个批发价吗",
    "zh-Hant": "想買10個保溫杯，能給個批發價嗎",
    "en": "can I get a wholesale price for 10 insulated bottles?",
}


@pytest.mark.parametrize("language", sorted(BELOW))
def test_below_the_bulk_threshold_points_to_checkout_and_opens_no_ticket(stack: Stack, language: str) -> None:
    sender = f"b2b-small-{uuid.uuid4().hex[:8]}"
    said = texts(stack.say(sender, BELOW[language]))
    assert has(said, CHECKOUT) and "50" in said, said
    tracker = stack.tracker(sender)
    assert not tracker["paused"] and not (tracker.get("active_loop") or {}).get("name")


POLICY_FIRST = {
    "zh-Hans": ("企业采购能签采购合同吗？我们法务有自己的模板", "合同"),
    "zh-Hant": ("企業採購可以簽採購合約嗎", "合"),
    "en": ("for a corporate purchase can we sign a purchase contract with you", "contract"),
}


@pytest.mark.parametrize("language", sorted(POLICY_FIRST))
def test_a_b2b_policy_question_is_answered_not_handed_over(stack: Stack, language: str) -> None:
    sender = f"b2b-policy-{uuid.uuid4().hex[:8]}"
    question, word = POLICY_FIRST[language]
    replies = stack.say(sender, question)
    said = texts(replies)
    assert word in said and not has(said, INTRO + HANDED), said
    assert not stack.tracker(sender)["paused"]


NIGHT = {
    "zh-Hans": ("我们公司要采购500个保温杯，请报价", "发票怎么开", "发票", "我的报价到哪一步了", "已登记"),
    "zh-Hant": ("我們公司要採購500個保溫杯，請報價", "怎麼開發票", "發票", "我的報價到哪一步了", "已登記"),
    "en": ("Please quote 500 insulated bottles for our company", "how do I get an invoice", "invoice",
           "what's the status of my quote", "registered"),
}


@pytest.mark.parametrize("language", sorted(NIGHT))
def test_after_hours_the_lead_waits_and_the_bot_keeps_answering(night_stack: Stack, language: str) -> None:
    sender = f"b2b-night-{uuid.uuid4().hex[:8]}"
    opening, question, answer, lookup, status = NIGHT[language]
    assert has(texts(night_stack.say(sender, opening)), INTRO)
    said = ""
    for _ in range(6):  # whatever is left to ask, skipped
        said = texts(night_stack.say(sender, "skip" if language == "en" else "跳过"))
        if has(said, HANDED + OFFHOURS):
            break
    assert has(said, OFFHOURS), said
    assert night_stack.tracker(sender)["paused"]
    answered = texts(night_stack.say(sender, question))
    assert answer in answered and not has(answered, INTRO), answered
    assert status in texts(night_stack.say(sender, lookup))
    assert lead_of(night_stack, sender)["priority"] == "hot", "500 units"
