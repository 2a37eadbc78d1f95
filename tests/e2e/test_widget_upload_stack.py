"""A photo from the web widget on the real stack (Rasa with Kefu's socket.io channel, the action server, the
console), without a browser: the upload's user event is accepted by Rasa, reaches the agent's ticket with its
attachment through the event broker, is in the history the widget restores, and the conversation goes on (the bot
still answers a question afterwards, and still acknowledges while the shopper waits). Issue 27."""

from __future__ import annotations

import struct
import zlib
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from tests.browser.conftest import ConsoleAgent
from tests.browser.console_helpers import SocketCustomer, kefu_event
from tests.stack import Stack

pytestmark = pytest.mark.stack


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xd0\x31\x2d" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def stack(staffed_stack: Stack) -> Stack:
    """The shared stack with agents on duty (tests/stack.py ``SHARED``); each test has its own widget session."""
    return staffed_stack


@pytest.fixture()
def customer(stack: Stack) -> Iterator[SocketCustomer]:
    shopper = SocketCustomer(stack.rasa_url).connect()
    yield shopper
    shopper.close()


def upload(stack: Stack, session_id: str, data: bytes, name: str, client_id: str) -> httpx.Response:
    return httpx.post(f"{stack.env['KEFU_CONSOLE_URL']}/api/public/uploads", timeout=30,
                      data={"session_id": session_id, "client_id": client_id, "language": "zh-Hans"},
                      files={"file": (name, data, "image/png")})


def texts(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages if m.get("text")]


def test_a_photo_while_waiting_reaches_the_agent_and_the_history(stack: Stack, customer: SocketCustomer) -> None:
    mark = customer.say("我买的杯子收到就碎了，我要投诉")
    customer.wait_for(lambda m: (kefu_event(m) or {}).get("type") == "handoff_queued", since=mark, timeout=120)
    photo = png()
    answer = upload(stack, customer.session_id, photo, "杯子破损.png", "f-stack-1")
    assert answer.status_code == 201, answer.text
    attachment = answer.json()["attachment"]

    events = stack.tracker(customer.session_id)["events"]
    [event] = [e for e in events if e.get("event") == "user" and e.get("text") == "[图片] 杯子破损.png"]
    assert event["metadata"]["kefu_attachment"]["id"] == attachment["id"] and event["input_channel"] == "socketio"

    agent = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "wang", "wang-demo-2026")
    ticket = agent.ticket_for(customer.conversation_id)
    messages = agent.messages_with(ticket["id"], ["[图片] 杯子破损.png"])
    [message] = [m for m in messages if (m.get("data") or {}).get("attachment")]
    assert message["data"]["attachment"]["id"] == attachment["id"] and message["author"] == "customer"
    served = agent.http.get(f"{agent.base}/api/attachments/{attachment['id']}", timeout=10)
    assert served.status_code == 200 and served.content == photo

    history = httpx.get(f"{stack.env['KEFU_CONSOLE_URL']}/api/public/history",
                        params={"session_id": customer.session_id}, timeout=30).json()["messages"]
    [shown] = [m for m in history if m.get("attachment")]
    assert shown["attachment"]["id"] == attachment["id"] and shown["message_id"] == "f-stack-1"

    mark = customer.say("好的，那我在这里等你们")  # the conversation goes on: the waiting bot still acknowledges
    reply = customer.wait_for(lambda m: bool(m.get("text")), since=mark, timeout=120)
    assert "客服" in reply["text"]


def test_a_photo_before_any_handoff_is_on_the_ticket_when_one_opens(stack: Stack, customer: SocketCustomer) -> None:
    mark = customer.say("你好")
    customer.wait_for(lambda m: bool(m.get("text")), since=mark, timeout=120)
    answer = upload(stack, customer.session_id, png(), "发票.png", "f-stack-2")
    assert answer.status_code == 201
    mark = customer.say("发票怎么开")  # the bot is not derailed by the photo
    reply = customer.wait_for(lambda m: "发票" in (m.get("text") or ""), since=mark, timeout=120)
    assert reply["text"]
    actions = [e.get("name") for e in stack.tracker(customer.session_id)["events"] if e.get("event") == "action"]
    assert "action_answer_faq" in actions

    mark = customer.say("我买的杯子收到就碎了，我要投诉")  # later a ticket opens: the photo is in its transcript
    customer.wait_for(lambda m: (kefu_event(m) or {}).get("type") == "handoff_queued", since=mark, timeout=120)
    agent = ConsoleAgent(stack.env["KEFU_CONSOLE_URL"], "wang", "wang-demo-2026")
    ticket = agent.ticket_for(customer.conversation_id)
    messages = agent.messages_with(ticket["id"], ["[图片] 发票.png"])
    [photo] = [m for m in messages if (m.get("data") or {}).get("attachment")]
    assert photo["data"]["attachment"]["id"] == answer.json()["attachment"]["id"] and photo["source"] == "transcript"
