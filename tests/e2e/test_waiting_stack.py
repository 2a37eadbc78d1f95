"""Never silent while waiting for a person, on the real stack (Rasa, action server, console).

After "转人工" the customer writes on: a question the knowledge base knows is answered (with a note that the request
still waits), anything else is acknowledged, and the agent sees both on the ticket. Once the agent has taken the
ticket the bot is silent again: the person answers.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest

from tests.browser.conftest import ConsoleAgent
from tests.stack import Stack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(staffed_stack: Stack) -> Stack:
    # staffed around the clock: the acknowledgement while waiting must not depend on when the suite runs (off hours
    # it says when the team is back; tests/actions/handoff/test_queue_words.py holds that text). The shared stack
    # (tests/stack.py ``SHARED``); the test has its own sender.
    return staffed_stack


def texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [r["text"] for r in replies if r.get("text")]


def test_the_customer_waiting_for_a_person_gets_answers_until_an_agent_takes_over(stack: Stack) -> None:
    sender = f"wait-{uuid.uuid4().hex[:8]}"
    handoff = " ".join(texts(stack.say(sender, "转人工")))
    assert "人工客服" in handoff

    answered = texts(stack.say(sender, "退款一般几天到账"))
    assert len(answered) == 2 and "工作日" in answered[0], answered
    assert answered[1].startswith("（您的人工服务请求仍在排队")
    acknowledged = texts(stack.say(sender, "好的，那我在这里等你们"))
    assert acknowledged == ["收到，您的消息已转给客服，客服接入后会看到并在这里回复您。"]
    assert texts(stack.say(sender, "hello? anyone there")) == [
        "Got it: your message is with our support team. An agent will see it and reply right here."]

    tracker = stack.tracker(sender)
    assert tracker["paused"] is True, "the conversation still belongs to the handoff"
    assert not [e for e in tracker["events"] if e.get("event") == "action" and e.get("name") == "action_while_waiting"]

    agent = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "wang", "wang-demo-2026")
    ticket = agent.ticket_for(Stack.conversation_id(sender))
    agent.messages_with(ticket["id"], ("退款一般几天到账", "（您的人工服务请求仍在排队", "那我在这里等你们", "收到，您的消息已转给客服"))

    agent.post(f"/api/tickets/{ticket['id']}/claim", {})
    assert texts(stack.say(sender, "好的，照片我发您")) == [], "an agent has the conversation: the bot is silent"
    agent.post(f"/api/tickets/{ticket['id']}/messages", {"text": "您好，我是小王，请发照片给我"})
    assert texts(stack.say(sender, "退款一般几天到账")) == [], "even for a question the bot knows"
