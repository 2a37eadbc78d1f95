"""The widget's history endpoint (console/public_history.py): what a restored conversation shows.

The HTTP route itself runs in tests/browser/test_widget.py (reload and reconnect restore history).
"""

from __future__ import annotations

import asyncio

import pytest

from console.public_history import (
    history_messages,
    public_limiter,
    valid_session_id,
    widget_conversation,
)
from kernel.ratelimit import SlidingWindowRateLimiter

EVENTS = [
    {"event": "action", "name": "action_listen", "timestamp": 1.0},
    {"event": "user", "text": "/human_handoff", "timestamp": 2.0, "input_channel": "socketio",
     "metadata": {"message_id": "m-1", "display_text": "转人工客服"}},
    {"event": "bot", "text": "已为您转接", "timestamp": 3.0,
     "data": {"custom": {"kefu_event": {"type": "handoff_queued", "position": 2}}}},
    {"event": "bot", "text": "<img src=x onerror=alert(1)>", "timestamp": 4.0,
     "data": {"custom": {"kefu_event": {"type": "agent_message", "agent": "小王"}}}},
    {"event": "bot", "text": "请选择", "timestamp": 5.0,
     "data": {"buttons": [{"title": "是", "payload": "/affirm"}]}},
    {"event": "bot", "text": None, "timestamp": 6.0, "data": {}},
    {"event": "slot", "name": "language", "value": "zh-Hans", "timestamp": 7.0},
]


def test_history_keeps_what_the_customer_saw_verbatim() -> None:
    messages = [m.as_json() for m in history_messages(EVENTS)]
    assert [m["author"] for m in messages] == ["customer", "bot", "agent", "bot"]
    assert messages[0] == {"author": "customer", "text": "转人工客服", "timestamp": 2.0, "message_id": "m-1"}
    assert messages[2]["agent"] == "小王"
    assert messages[2]["text"] == "<img src=x onerror=alert(1)>"
    assert messages[3]["buttons"] == [{"title": "是", "payload": "/affirm"}]


def test_history_is_capped() -> None:
    many = [{"event": "user", "text": str(i), "timestamp": float(i), "input_channel": "socketio"} for i in range(50)]
    assert [m.text for m in history_messages(many, limit=3)] == ["47", "48", "49"]


def test_only_widget_conversations_are_served() -> None:
    assert widget_conversation(EVENTS)
    wechat = [{"event": "user", "text": "hi", "input_channel": "wechat"}]
    assert not widget_conversation(wechat)
    assert not widget_conversation(EVENTS + wechat)
    assert not widget_conversation([])


@pytest.mark.parametrize("value", [None, "", "short", "x" * 129, "../../etc/passwd/aaaaaaaaaa", "<script>aaaaaaaaaaaa"])
def test_bad_session_ids(value) -> None:
    assert not valid_session_id(value)


def test_rate_limiter_window() -> None:
    now = [0.0]
    limiter = SlidingWindowRateLimiter(limit=2, window_seconds=10, clock=lambda: now[0])

    async def allow(key: str) -> bool:
        return await limiter.allow(key)

    assert [asyncio.run(allow(k)) for k in "aaab"] == [True, True, False, True]
    now[0] = 11
    assert asyncio.run(allow("a"))


def test_public_limiter_defaults() -> None:
    limiter = public_limiter()
    assert (limiter.limit, limiter.window_seconds, limiter.max_keys) == (60, 60.0, 10000)
