"""Kefu's socket.io channel, over a real socket.io connection to a Sanic server.

The Rasa agent is replaced by a handler that records each ``UserMessage`` and
answers through the message's output channel the way Rasa's processor does
(``send_response`` with ``BotUttered.message()``), so these tests need no model.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.events import BotUttered
from sanic import Sanic

from bot.channels.socketio import (
    ACK_EVENT,
    ERROR_EVENT,
    InMemoryMessageLedger,
    KefuSocketIOInput,
    KefuSocketIOOutput,
    RedisMessageLedger,
    Rejection,
    bot_payload,
    parse_user_message,
)
from kernel import session_ids
from kernel.ratelimit import RedisRateLimiter, SlidingWindowRateLimiter
from tests.harness import free_port
from tests.services import REDIS_URL, redis_unavailable_reason, require_ci_services

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

SECRET = "test-session-secret-0123456789abcdef"

WAIT = 20.0


# --------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------


def test_parse_accepts_message_with_metadata_and_id() -> None:
    parsed = parse_user_message(
        {"message": "你好 😀", "session_id": "abc123abc123abc123", "metadata": {"message_id": "m-1", "kefu_user_token": "x.y"}}
    )
    assert not isinstance(parsed, Rejection)
    assert parsed.text == "你好 😀"
    assert parsed.session_id == "abc123abc123abc123"
    assert parsed.message_id == "m-1"
    assert parsed.metadata["kefu_user_token"] == "x.y"


def test_parse_accepts_metadata_as_json_string() -> None:
    parsed = parse_user_message({"message": "hi", "metadata": json.dumps({"message_id": "m2"})})
    assert not isinstance(parsed, Rejection)
    assert parsed.message_id == "m2"


@pytest.mark.parametrize(
    "data,code",
    [
        ("just a string", "invalid_payload"),
        (None, "invalid_payload"),
        ({"message": 42}, "invalid_payload"),
        ({"message": "hi", "metadata": "{not json"}, "invalid_payload"),
        ({"message": "hi", "metadata": ["a"]}, "invalid_payload"),
        ({"message": "hi", "metadata": {"message_id": "<script>"}}, "invalid_payload"),
        ({"message": "hi", "metadata": {"message_id": 7}}, "invalid_payload"),
        ({"message": "x" * 2001}, "message_too_long"),
        ({"message": "hi", "metadata": {"blob": "y" * 5000}}, "metadata_too_large"),
        ({"message": "   "}, "empty_message"),
        ({"message": "hi", "session_id": "../../etc/passwd"}, "invalid_session"),
        ({"message": "hi", "session_id": "x" * 129}, "invalid_session"),
        ({"message": "hi", "session_id": "short"}, "invalid_session"),
    ],
)
def test_parse_rejects_bad_payloads(data: Any, code: str) -> None:
    parsed = parse_user_message(data)
    assert isinstance(parsed, Rejection)
    assert parsed.code == code


def test_parse_strips_poison_characters() -> None:
    parsed = parse_user_message({"message": "a\x00b\ud800c\x1b\n你"})
    assert not isinstance(parsed, Rejection) and parsed.text == "abc\n你"
    empty = parse_user_message({"message": "\x00\x07\udfff", "metadata": {"message_id": "p-1"}})
    assert isinstance(empty, Rejection) and (empty.code, empty.message_id) == ("empty_message", "p-1")


def test_parse_keeps_hostile_text_verbatim() -> None:
    hostile = "<img src=x onerror=alert(1)>'; DROP TABLE orders; --"
    parsed = parse_user_message({"message": hostile})
    assert not isinstance(parsed, Rejection)
    assert parsed.text == hostile


def test_bot_payload_combines_text_buttons_custom_and_metadata() -> None:
    event = BotUttered(
        "请选择",
        data={"buttons": [{"title": "查订单", "payload": "/order_status"}], "custom": {"kefu_card": {"type": "stock"}}},
        metadata={"utter_action": "utter_menu", "agent": "小王"},
        timestamp=1700000000.25,
    )
    payload = bot_payload(event.message())
    assert payload["text"] == "请选择"
    assert payload["buttons"] == [{"title": "查订单", "payload": "/order_status"}]
    assert payload["quick_replies"] == [{"content_type": "text", "title": "查订单", "payload": "/order_status"}]
    assert payload["custom"] == {"kefu_card": {"type": "stock"}}
    assert payload["metadata"] == {"utter_action": "utter_menu", "agent": "小王"}
    assert payload["timestamp"] == 1700000000.25
    assert payload["id"] == "bot-1700000000.250000"
    assert "image" not in payload and "attachment" not in payload


def test_bot_payload_text_with_paragraphs_stays_one_message() -> None:
    payload = bot_payload({"text": "第一段\n\n第二段", "timestamp": 1.0})
    assert payload["text"] == "第一段\n\n第二段"


def test_in_memory_ledger_sees_each_id_once_per_session() -> None:
    now = [0.0]

    async def scenario() -> List[str]:
        ledger = InMemoryMessageLedger(per_session=2, pending_ttl_seconds=60, clock=lambda: now[0])
        out = [
            await ledger.claim("s1", "a"),  # new: its turn runs
            await ledger.claim("s1", "a"),  # a resend while it runs
            await ledger.claim("s2", "a"),
        ]
        await ledger.complete("s1", "a")
        out.append(await ledger.claim("s1", "a"))  # processed: a duplicate
        await ledger.forget("s1", "a")
        out.append(await ledger.claim("s1", "a"))  # refused or failed earlier: may be processed
        now[0] = 61.0
        out.append(await ledger.claim("s1", "a"))  # a turn that never ended frees its id
        return out

    assert asyncio.run(scenario()) == ["new", "pending", "new", "done", "new", "new"]


def test_sliding_window_rate_limiter() -> None:
    now = [0.0]
    limiter = SlidingWindowRateLimiter(limit=2, window_seconds=10, clock=lambda: now[0])

    async def scenario() -> List[bool]:
        out = [await limiter.allow("s"), await limiter.allow("s"), await limiter.allow("s"), await limiter.allow("t")]
        now[0] = 10.5
        out.append(await limiter.allow("s"))
        return out

    assert asyncio.run(scenario()) == [True, True, False, True, True]


def test_from_credentials_reads_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEFU_SOCKETIO_REDIS_URL", raising=False)
    channel = KefuSocketIOInput.from_credentials({"max_message_chars": 10, "rate_limit_messages": 3})
    assert isinstance(channel, KefuSocketIOInput)
    assert channel.name() == "socketio"
    assert channel.max_message_chars == 10
    assert isinstance(channel.ledger, InMemoryMessageLedger)
    assert channel.redis_url is None
    assert channel.get_output_channel() is None  # no server yet


# --------------------------------------------------------------------------
# a real socket.io server and clients
# --------------------------------------------------------------------------


class Harness:
    def __init__(self, channel: KefuSocketIOInput, url: str) -> None:
        self.channel = channel
        self.url = url
        self.received: List[UserMessage] = []
        self.fail_next = False
        self.hold: Optional[asyncio.Event] = None


@asynccontextmanager
async def running(channel: KefuSocketIOInput) -> AsyncIterator[Harness]:
    # test mode lets Sanic start several apps in one process (its TouchUp pass
    # would otherwise rewrite its own already-rewritten methods)
    Sanic.test_mode = True
    app = Sanic(f"kefu_sio_test_{uuid.uuid4().hex[:8]}")
    port = free_port()
    harness = Harness(channel, f"http://127.0.0.1:{port}")

    async def on_new_message(message: UserMessage) -> None:
        if harness.fail_next:
            harness.fail_next = False
            raise RuntimeError("processing exploded")
        harness.received.append(message)
        if harness.hold is not None:
            await harness.hold.wait()
        event = BotUttered(
            f"echo: {message.text}",
            data={"buttons": [{"title": "是", "payload": "/affirm"}], "custom": {"kefu_card": {"type": "order_status"}}},
            metadata={"utter_action": "utter_echo"},
        )
        await message.output_channel.send_response(message.sender_id, event.message())

    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/socketio")
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    try:
        yield harness
    finally:
        server.close()
        await server.wait_closed()


class Client:
    """A socket.io client that records every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: List[tuple] = []
        self._changed = asyncio.Event()

        @self.sio.on("*")
        async def anything(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self._changed.set()

    async def connect(self, url: str) -> None:
        # long-polling: engineio's websocket client needs a newer aiohttp than Rasa 3.6 pins
        await self.sio.connect(url, transports=["polling"], socketio_path="/socket.io")

    async def wait_for(self, event: str, count: int = 1, where: Optional[Any] = None) -> List[Any]:
        async def poll() -> List[Any]:
            while True:
                found = [d for e, d in self.events if e == event and (where is None or where(d))]
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(poll(), WAIT)

    async def close(self) -> None:
        """Leave like a closing tab: the engine.io abort skips waiting for the pending long-poll."""
        if self.sio.connected:
            await self.sio.eio.disconnect(abort=True)

    def of(self, event: str) -> List[Any]:
        return [d for e, d in self.events if e == event]

    async def session(self, session_id: Optional[str] = None) -> str:
        await self.sio.emit("session_request", {"session_id": session_id})
        confirmed = await self.wait_for("session_confirm")
        return confirmed[-1]

    async def say(self, session_id: str, text: str, message_id: Optional[str] = None, **metadata: Any) -> None:
        meta: Dict[str, Any] = dict(metadata)
        if message_id:
            meta["message_id"] = message_id
        await self.sio.emit("user_uttered", {"message": text, "session_id": session_id, "metadata": meta})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_round_trip_one_combined_bot_message_and_metadata_passthrough() -> None:
    async def scenario() -> None:
        channel = KefuSocketIOInput(session_secret=SECRET)
        async with running(channel) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            assert session_ids.verify(SECRET, session_id)  # issued and signed by the server
            await client.say(session_id, "你好", "m-1", kefu_user_token="tok.sig", language="zh-Hans",
                             kefu_client_ip="6.6.6.6", kefu_verified_customer_id="C0001")
            bots = await client.wait_for("bot_uttered")
            await client.wait_for("bot_typing", where=lambda d: d == {"typing": False})
            assert client.of(ACK_EVENT) == [{"message_id": "m-1", "duplicate": False}]
            assert len(bots) == 1  # text, buttons and custom arrive together
            bot = bots[0]
            assert bot["text"] == "echo: 你好"
            assert bot["buttons"] == [{"title": "是", "payload": "/affirm"}]
            assert bot["custom"] == {"kefu_card": {"type": "order_status"}}
            assert bot["metadata"]["utter_action"] == "utter_echo"
            assert bot["id"].startswith("bot-")
            [message] = harness.received
            assert message.sender_id == f"web:{session_id}"  # the conversation is the widget channel's
            assert message.input_channel == "socketio"
            # client kefu_* keys dropped (except the user token); the server sets the client's IP
            assert message.metadata == {"message_id": "m-1", "kefu_user_token": "tok.sig", "language": "zh-Hans",
                                        "kefu_client_ip": "127.0.0.1"}
            await client.close()

    run(scenario())


def test_resent_message_id_is_processed_once() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput()) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            await client.say(session_id, "查订单", "dup-1")
            await client.wait_for("bot_uttered")
            # the network dropped before the ack: the widget resends from its queue
            await client.close()
            again = Client()
            await again.connect(harness.url)
            assert await again.session(session_id) == session_id
            await again.say(session_id, "查订单", "dup-1")
            acks = await again.wait_for(ACK_EVENT)
            assert acks == [{"message_id": "dup-1", "duplicate": True}]
            await again.say(session_id, "下一句", "dup-2")
            await again.wait_for("bot_uttered")
            assert [m.text for m in harness.received] == ["查订单", "下一句"]
            await again.close()

    run(scenario())


def test_same_session_reaches_every_tab_and_http_api_output() -> None:
    async def scenario() -> None:
        channel = KefuSocketIOInput()
        async with running(channel) as harness:
            tab1, tab2, stranger = Client(), Client(), Client()
            for client in (tab1, tab2, stranger):
                await client.connect(harness.url)
            session_id = await tab1.session()
            await tab2.session(session_id)
            await stranger.session()
            await tab1.say(session_id, "hi", "t-1")
            await tab1.wait_for("bot_uttered")
            await tab2.wait_for("bot_uttered")
            # what Rasa's HTTP API does for POST /conversations/{id}/tracker/events
            # ?output_channel=socketio&execute_side_effects=true
            output = channel.get_output_channel()
            assert isinstance(output, KefuSocketIOOutput)
            agent = BotUttered(
                "您好，我是小王",
                data={"custom": {"kefu_event": {"type": "agent_message", "agent": "小王"}}},
            )
            await output.send_response(f"web:{session_id}", agent.message())
            for tab in (tab1, tab2):
                got = await tab.wait_for("bot_uttered", count=2)
                assert got[1]["text"] == "您好，我是小王"
                assert got[1]["custom"]["kefu_event"]["agent"] == "小王"
            await asyncio.sleep(0.3)
            assert stranger.of("bot_uttered") == []
            for client in (tab1, tab2, stranger):
                await client.close()

    run(scenario())


def test_size_limit_bad_payload_and_missing_session_give_clean_errors() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput(max_message_chars=50)) as harness:
            client = Client()
            await client.connect(harness.url)
            await client.say("", "no session yet", "n-1")
            session_id = await client.session()
            await client.say(session_id, "长" * 51, "big-1")
            await client.sio.emit("user_uttered", "not an object")
            await client.sio.emit("user_uttered", {"message": "hi", "session_id": session_id, "metadata": "{oops"})
            errors = await client.wait_for(ERROR_EVENT, count=4)
            assert [e["code"] for e in errors] == ["no_session", "message_too_long", "invalid_payload", "invalid_payload"]
            assert errors[1]["message_id"] == "big-1"
            # the connection still works afterwards
            await client.say(session_id, "ok", "n-2")
            bots = await client.wait_for("bot_uttered")
            assert bots[0]["text"] == "echo: ok"
            assert [m.text for m in harness.received] == ["ok"]
            await client.close()

    run(scenario())


def test_rate_limit_refuses_cleanly_and_allows_resend_later() -> None:
    now = [0.0]

    async def scenario() -> None:
        limiter = SlidingWindowRateLimiter(limit=2, window_seconds=60, clock=lambda: now[0])
        async with running(KefuSocketIOInput(rate_limiter=limiter)) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            for n in range(3):
                await client.say(session_id, f"msg {n}", f"r-{n}")
            errors = await client.wait_for(ERROR_EVENT)
            assert errors[0]["code"] == "rate_limited"
            assert errors[0]["message_id"] == "r-2"
            await client.wait_for("bot_uttered", count=2)
            now[0] = 61.0
            await client.say(session_id, "msg 2", "r-2")  # the same id, after the window: processed
            await client.wait_for("bot_uttered", count=3)
            assert [m.text for m in harness.received] == ["msg 0", "msg 1", "msg 2"]
            await client.close()

    run(scenario())


def test_processing_failure_is_reported_and_resend_is_accepted() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput()) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            harness.fail_next = True
            await client.say(session_id, "boom", "f-1")
            errors = await client.wait_for(ERROR_EVENT)
            assert errors[0] == {"code": "processing_failed", "message_id": "f-1", "detail": errors[0]["detail"]}
            await client.say(session_id, "boom", "f-1")
            await client.wait_for("bot_uttered")
            assert [m.text for m in harness.received] == ["boom"]
            await client.close()

    run(scenario())


def test_invalid_session_request_gets_a_fresh_id() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput()) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session("<script>alert(1)</script>")
            assert session_id != "<script>alert(1)</script>" and session_ids.verify(harness.channel.session_secret, session_id)
            await client.close()

    run(scenario())


def test_forged_or_foreign_session_ids_get_a_fresh_one_and_cannot_speak_into_a_session() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput(session_secret=SECRET)) as harness:
            owner, attacker = Client(), Client()
            await owner.connect(harness.url)
            await attacker.connect(harness.url)
            session_id = await owner.session()
            forged = "0123456789abcdef0123456789abcdef"  # a well-formed id the server never issued
            other_secret = session_ids.issue("another-deployment-secret")
            tampered = session_id[:-1] + ("0" if session_id[-1] != "0" else "1")
            for asked in (forged, other_secret, tampered, None):
                got = await attacker.session(asked)
                assert got not in (asked, session_id) and session_ids.verify(SECRET, got)
                attacker.events.clear()
            # asking for the owner's id without the signature's knowledge is impossible; naming a
            # forged id in user_uttered is refused before anything reaches the bot
            await attacker.say(forged, "hi", "a-1")
            [error] = await attacker.wait_for(ERROR_EVENT)
            assert (error["code"], error["message_id"]) == ("invalid_session", "a-1")
            await owner.say(session_id, "mine", "o-1")
            await owner.wait_for(ACK_EVENT)
            assert [m.sender_id for m in harness.received] == [f"web:{session_id}"]
            assert attacker.of("bot_uttered") == []
            await owner.close()
            await attacker.close()

    run(scenario())


def test_ack_comes_after_the_turn_and_a_resend_during_the_turn_is_not_processed_twice() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput(session_secret=SECRET)) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            harness.hold = asyncio.Event()
            await client.say(session_id, "慢一点", "s-1")
            await client.wait_for("bot_typing", where=lambda d: d == {"typing": True})
            await client.say(session_id, "慢一点", "s-1")  # the widget's resend while the turn runs
            await asyncio.sleep(0.5)
            assert client.of(ACK_EVENT) == []  # not acknowledged while the turn runs
            harness.hold.set()
            acks = await client.wait_for(ACK_EVENT)
            assert acks == [{"message_id": "s-1", "duplicate": False}]
            # the ack follows the bot's answer: the turn was processed when it arrived
            kinds = [e for e, _ in client.events if e in ("bot_uttered", ACK_EVENT)]
            assert kinds == ["bot_uttered", ACK_EVENT]
            assert [m.text for m in harness.received] == ["慢一点"]
            harness.hold = None
            await client.say(session_id, "慢一点", "s-1")  # a late resend: acknowledged as a duplicate
            acks = await client.wait_for(ACK_EVENT, count=2)
            assert acks[1] == {"message_id": "s-1", "duplicate": True}
            assert len(harness.received) == 1
            await client.close()

    run(scenario())


def test_failed_turn_gets_no_ack() -> None:
    async def scenario() -> None:
        async with running(KefuSocketIOInput(session_secret=SECRET)) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            harness.fail_next = True
            await client.say(session_id, "boom", "x-1")
            await client.wait_for(ERROR_EVENT)
            await client.wait_for("bot_typing", where=lambda d: d == {"typing": False})
            assert client.of(ACK_EVENT) == []
            await client.close()

    run(scenario())


def test_output_for_a_legacy_or_scoped_id_reaches_the_sessions_room() -> None:
    async def scenario() -> None:
        channel = KefuSocketIOInput(session_secret=SECRET)
        async with running(channel) as harness:
            client = Client()
            await client.connect(harness.url)
            session_id = await client.session()
            output = channel.get_output_channel()
            assert output is not None
            await output.send_response(f"web:{session_id}", BotUttered("scoped", timestamp=1.0).message())
            await output.send_response(session_id, BotUttered("legacy", timestamp=2.0).message())
            got = await client.wait_for("bot_uttered", count=2)
            assert [g["text"] for g in got] == ["scoped", "legacy"]
            await client.close()

    run(scenario())


# --------------------------------------------------------------------------
# Redis: shared de-duplication, rate limits and fan-out across replicas
# --------------------------------------------------------------------------


@pytest.fixture()
def redis_url() -> str:
    reason = redis_unavailable_reason()
    if reason:
        if require_ci_services():
            pytest.fail(f"CI must have this service: {reason}")
        pytest.skip(reason)
    return REDIS_URL


def test_redis_ledger_and_rate_limiter(redis_url: str) -> None:
    import redis.asyncio as redis_asyncio

    async def scenario() -> None:
        client = redis_asyncio.from_url(redis_url)
        prefix = f"kefu:test:{uuid.uuid4().hex}"
        ledger = RedisMessageLedger(client, ttl_seconds=60, prefix=prefix)
        assert await ledger.claim("s", "m") == "new"
        assert await ledger.claim("s", "m") == "pending"
        await ledger.complete("s", "m")
        assert await ledger.claim("s", "m") == "done"
        await ledger.forget("s", "m")
        assert await ledger.claim("s", "m") == "new"
        limiter = RedisRateLimiter(client, limit=2, window_seconds=60, prefix=prefix)
        assert [await limiter.allow("k") for _ in range(3)] == [True, True, False]
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.close()

    run(scenario())


def test_redis_ledger_fails_open_when_redis_is_down() -> None:
    import redis.asyncio as redis_asyncio

    async def scenario() -> None:
        client = redis_asyncio.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
        ledger = RedisMessageLedger(client)
        assert await ledger.claim("s", "m") == "new"
        assert await RedisRateLimiter(client).allow("s") is True

    run(scenario())


def test_redis_manager_reaches_a_browser_on_another_replica(redis_url: str) -> None:
    async def scenario() -> None:
        replica_a = KefuSocketIOInput(redis_url=redis_url)
        replica_b = KefuSocketIOInput(redis_url=redis_url)
        async with running(replica_a) as a, running(replica_b):
            client = Client()
            await client.connect(a.url)  # the browser is on replica A
            session_id = await client.session()
            await asyncio.sleep(0.5)  # let B's pub/sub listener subscribe
            output = replica_b.get_output_channel()  # the agent reply arrives at replica B
            assert output is not None
            await output.send_response(f"web:{session_id}", BotUttered("来自另一台", timestamp=5.0).message())
            got = await client.wait_for("bot_uttered")
            assert got[0]["text"] == "来自另一台"
            # a resend that lands on the other replica is still a duplicate
            assert await replica_a.ledger.claim(session_id, "x-1") == "new"
            assert await replica_b.ledger.claim(session_id, "x-1") == "pending"
            await client.close()

    run(scenario())
