"""Feedback in the conversation on the real stack (Rasa on the trained model, the action server, the console) over
REST: 👍/👎 under an answer reaches ``console_feedback`` and a 👎 the supervisor's review list; thanks after an
answer asks for the bot's rating (sampled: all of them here) and the rating is stored; a bare digit nobody asked
for is not a rating; after an agent closed the chat, the CSAT is followed by the effort question (CES), stored with
the ticket (``actions/feedback.py``, ``console/feedback/record.py``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import sqlalchemy as sa

from tests.bot.channels.wechat.conftest import ENV, StandInProcess
from tests.browser.conftest import ConsoleAgent
from tests.security.test_channel_scoping import wechat_conversation, wechat_say
from tests.stack import Stack, model_missing_reason

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    server = StandInProcess(Path(tmp_path_factory.mktemp("feedback_standin")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("feedback")
    running = Stack.start(workdir, only=["actions", "rasa", "console"], extra_env={
        **ENV, "WECHAT_API_BASE": standin.url,
        "KEFU_ANSWER_FEEDBACK_SHARE": "rest=1,wechat=1", "KEFU_BOT_CSAT_SAMPLE": "1",
        "KEFU_CONSOLE_UNANSWERED_GROUPING": "exact"})
    yield running
    running.stop()


def feedback_rows(stack: Stack) -> List[Dict[str, Any]]:
    engine = sa.create_engine(stack.env["KEFU_CONSOLE_DB_URL"])
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM console_feedback ORDER BY id"))]
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def poll(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(0.3)


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def thumbs(replies: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for r in replies for b in r.get("buttons") or [] if b["payload"].startswith("/answer_feedback")]


def test_thumbs_down_is_stored_and_joins_the_review_list(stack: Stack) -> None:
    question = "发票怎么开"
    replies = stack.say("fb-down", question)
    payloads = thumbs(replies)
    assert len(payloads) == 2, replies
    offer = json.loads(payloads[1][len("/answer_feedback"):])["offer"]
    answer = stack.tracker("fb-down")["slots"]["answer_feedback_offers"][-1]
    assert answer["offer"] == offer and answer["question"] == question
    sorry = stack.say("fb-down", payloads[1])
    assert "没帮到您" in texts(sorry), sorry
    row = poll(lambda: [r for r in feedback_rows(stack) if r["sender_id"] == Stack.conversation_id("fb-down")], "the 👎 row")[0]
    assert (row["kind"], row["value"], row["entry_id"], row["question"], row["channel"]) == \
        ("answer", 0, answer["entry_id"], question, "rest")
    # the supervisor's review list (the dashboard's unanswered questions) shows the question
    admin = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "admin", "admin-demo-2026")

    def listed() -> List[Dict[str, Any]]:
        body = admin.http.get(f"{admin.base}/api/metrics/dashboard", timeout=60).json()
        return [g for g in (body.get("unanswered") or {}).get("groups") or [] if g["question"] == question]

    group = poll(listed, "the 👎 in the review list")[0]
    assert group["outcomes"] == {"downvoted": 1} and group["candidates"] == [answer["entry_id"]]
    # the other thumb on the same answer changes nothing
    stack.say("fb-down", payloads[0])
    time.sleep(0.5)
    assert len([r for r in feedback_rows(stack) if r["sender_id"] == Stack.conversation_id("fb-down")]) == 1


def test_thanks_after_an_answer_asks_for_a_rating_once(stack: Stack) -> None:
    stack.say("fb-csat", "发票怎么开")
    asked = stack.say("fb-csat", "谢谢")
    prompt = [r for r in asked if any("csat_rating" in b["payload"] for b in r.get("buttons") or [])]
    assert prompt and "打个分" in prompt[0]["text"], asked
    assert [b["payload"] for b in prompt[0]["buttons"]][0] == '/csat_rating{"rating":1}'
    thanked = stack.say("fb-csat", "4")
    assert "收到您的 4 分评价" in texts(thanked), thanked
    row = poll(lambda: [r for r in feedback_rows(stack) if r["sender_id"] == Stack.conversation_id("fb-csat")], "the bot CSAT row")[0]
    assert (row["kind"], row["value"], row["language"]) == ("bot_csat", 4, "zh-Hans")
    again = stack.say("fb-csat", "再见")
    assert not any(r.get("buttons") for r in again), again  # asked once per conversation


def test_a_digit_nobody_asked_for_is_not_a_rating(stack: Stack) -> None:
    stack.say("fb-none", "你好")
    stack.say("fb-none", "5")
    stack.say("fb-none", "发票怎么开")  # a later event, so the tail has read past the digit
    poll(lambda: stack.tracker("fb-none")["slots"].get("faq_outcome"), "the answer")
    time.sleep(1.0)
    assert [r for r in feedback_rows(stack) if r["sender_id"] == Stack.conversation_id("fb-none")] == []


def test_effort_is_asked_after_the_agent_rating(stack: Stack) -> None:
    sender = "fb-ces"
    stack.say(sender, "我买的杯子收到就碎了，我要投诉")
    admin = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "admin", "admin-demo-2026")
    ticket = admin.ticket_for(Stack.conversation_id(sender))
    admin.post(f"/api/tickets/{ticket['id']}/claim", {})
    admin.post(f"/api/tickets/{ticket['id']}/close", {"resolution": "resolved"})
    poll(lambda: stack.tracker(sender)["slots"].get("csat_ticket"), "the CSAT question")
    rated = stack.say(sender, "5")
    assert "收到您的 5 分评价" in texts(rated) and "费力" in texts(rated), rated
    done = stack.say(sender, "2")
    assert "反馈已记下" in texts(done), done
    row = poll(lambda: [r for r in feedback_rows(stack) if r["sender_id"] == Stack.conversation_id(sender)],
               "the CES row")[0]
    assert (row["kind"], row["value"], row["ticket_id"]) == ("ces", 2, ticket["id"])
    assert admin.ticket(ticket["id"])["csat"]["rating"] == 5


def test_wechat_reply_2_right_after_an_answer_is_the_thumbs_down(stack: Stack) -> None:
    openid = "oKefuFeedbackOpenid000000001"
    conversation = f"wechat:{openid}"
    wechat_say(stack, openid, "发票怎么开")
    tracker = wechat_conversation(stack, openid, 1)
    offered = [b for e in tracker["events"] if e.get("event") == "bot"
               for b in (e.get("data") or {}).get("buttons") or []]
    assert [b["title"] for b in offered] == ["👍 有帮助", "👎 没帮助"], offered  # numbered 1 and 2 by the channel
    wechat_say(stack, openid, "2")
    tracker = wechat_conversation(stack, openid, 2)
    said = [e["text"] for e in tracker["events"] if e.get("event") == "user"]
    assert said[-1] == offered[1]["payload"]  # the channel turned the digit into the 👎 button
    row = poll(lambda: [r for r in feedback_rows(stack) if r["sender_id"] == conversation], "the WeChat 👎")[0]
    assert (row["kind"], row["value"], row["channel"], row["question"]) == ("answer", 0, "wechat", "发票怎么开")
    # the next answer in this conversation asks nothing (once per conversation), and a later "2" is just "2"
    wechat_say(stack, openid, "发票怎么开")  # answered again, without the list
    wechat_say(stack, openid, "2")
    tracker = wechat_conversation(stack, openid, 4)
    assert [e["text"] for e in tracker["events"] if e.get("event") == "user"][-1] == "2"
    time.sleep(1.0)
    assert len([r for r in feedback_rows(stack) if r["sender_id"] == conversation]) == 1
