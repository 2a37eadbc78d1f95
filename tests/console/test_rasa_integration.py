"""The console against a real Rasa server: the SQL event broker tail and the tracker-events API.

Needs only a trained model (any version): the conversation is escalated by the
test itself (a ticket through the internal API and a pause event, which is what
action_handoff does), so this runs even before the model knows the handoff domain.
"""

from __future__ import annotations

import uuid
from typing import List

import pytest
import requests

from tests.console.process import context
from tests.stack import Stack, model_missing_reason

pytestmark = pytest.mark.skipif(bool(model_missing_reason()), reason=model_missing_reason() or "ok")


@pytest.fixture(scope="module")
def system(rasa_with_outside_console: tuple) -> tuple:
    """Rasa + the action server + a console of its own, shared with another module (tests/conftest.py)."""
    return rasa_with_outside_console


def _bot_events(stack: Stack, sender: str) -> List[dict]:
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "bot"]


def test_agent_round_trip_through_rasa(system: tuple) -> None:
    stack, console = system
    sender = f"int-{uuid.uuid4().hex[:8]}"
    conversation = stack.conversation_id(sender)  # the REST channel's conversation: rest:int-<hex>
    assert stack.say(sender, "你好")  # the bot answers before the handoff
    requests.post(f"{stack.rasa_url}/conversations/{conversation}/tracker/events", params={"token": stack.token},
                  json=[{"event": "pause"}], timeout=30).raise_for_status()
    ticket_id = console.handoff(conversation, transcript=[])["ticket_id"]

    # paused and no agent yet: the bot only acknowledges (bot/waiting.py), it does not carry on the conversation
    waiting = stack.say(sender, "有人在吗？<script>alert(1)</script>")
    assert len(waiting) == 1 and "客服" in waiting[0]["text"], waiting
    customer = lambda: [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == "customer"]  # noqa: E731
    assert console.wait_for(lambda: "有人在吗？<script>alert(1)</script>" in customer()), console.log()[-2000:]

    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "您好，我是小王"}).raise_for_status()
    sent = _bot_events(stack, sender)[-1]
    assert sent["text"] == "您好，我是小王"
    assert sent["data"]["custom"]["kefu_event"] == {"type": "agent_message", "agent": "小王"}
    # Rasa's broker echoes the agent's message; the console does not store it twice
    assert stack.say(sender, "marker") == []  # an agent is present: the bot is silent
    assert console.wait_for(lambda: "marker" in customer())
    agent_texts = [m["text"] for m in console.ticket(ticket_id)["messages"] if m["author"] == "agent"]
    assert agent_texts == ["您好，我是小王"]

    wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
    tracker = stack.tracker(sender)
    assert tracker["paused"] is False and tracker["slots"].get("csat_ticket") in (str(ticket_id), None)
    closed = _bot_events(stack, sender)[-1]
    assert closed["data"]["custom"]["kefu_event"]["type"] == "handoff_closed"
    assert len(closed["data"]["buttons"]) == 5
    stack.say(sender, "5")
    assert console.wait_for(lambda: (console.ticket(ticket_id)["csat"] or {}).get("rating") == 5)
    assert stack.say(sender, "你好")  # the bot answers again
    assert context  # the helper the ticket came from
