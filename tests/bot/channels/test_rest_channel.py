"""bot.channels.rest.KefuRestInput in Rasa's own app (rasa.core.run.configure_app), over real HTTP.

The agent is replaced by a stand-in that answers through the message's output channel the way
Rasa's processor does, so no model is needed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.run import configure_app, create_http_input_channels
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from bot.channels.rest import KefuRestInput, RestError, RestMessage, parse_rest_message
from kernel.logs import current_conversation
from kernel.ratelimit import SlidingWindowRateLimiter
from tests.harness import free_port

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

STANZA = """
# POST /webhooks/rest/webhook {"sender": "...", "message": "...", "metadata": {...}}
bot.channels.rest.KefuRestInput:
"""


class StandInAgent:
    """Answers ``echo: <text>`` through the output channel; can fail or wait on demand."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []
        self.conversations: List[Optional[str]] = []
        self.fail = False

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        self.conversations.append(current_conversation())
        if self.fail:
            raise ConnectionError("tracker store unreachable")
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")


@asynccontextmanager
async def rasa_app(*channels: KefuRestInput) -> AsyncIterator[Tuple[List[str], StandInAgent]]:
    """Rasa's app, one per channel (one per "replica"), sharing one stand-in agent."""
    Sanic.test_mode = True
    agent = StandInAgent()
    servers, urls = [], []
    for channel in channels:
        app = configure_app(input_channels=[channel], enable_api=False, port=0)
        app.ctx.agent = agent
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        await server.startup()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{port}/webhooks/rest/webhook")
    try:
        yield urls, agent
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


async def post(url: str, body: Any = None, data: Any = None, **kwargs: Any) -> Tuple[int, Any, Dict[str, str]]:
    async with aiohttp.ClientSession() as session:
        payload = data if data is not None else json.dumps(body, ensure_ascii=False).encode()
        async with session.post(url, data=payload, headers={"Content-Type": "application/json"}, **kwargs) as resp:
            text = await resp.text()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            return resp.status, parsed, dict(resp.headers)


async def refused(url: str, data: Any) -> bool:
    """413 ``payload_too_large``; or a reset, when the client was still sending as the server closed the
    connection without reading the rest (callers check that nothing reached the bot)."""
    try:
        status, body, _ = await post(url, data=data)
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        return True
    return status == 413 and body["error"] == "payload_too_large" and body["limit"] > 0


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------
# pure validation
# --------------------------------------------------------------------------


def test_parse_accepts_a_message_with_metadata() -> None:
    parsed = parse_rest_message(json.dumps({"sender": "u-1", "message": "你好 😀", "metadata": {"a": 1}}).encode())
    assert parsed == RestMessage("u-1", "你好 😀", {"a": 1})
    assert parse_rest_message(b'{"sender": 42, "message": "hi"}') == RestMessage("42", "hi", None)


@pytest.mark.parametrize(
    "body,status,code",
    [
        (b"", 400, "invalid_json"),
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_json"),
        (b'"just a string"', 400, "invalid_json"),
        (b'{"message": "hi"}', 400, "missing_sender"),
        (b'{"sender": "  ", "message": "hi"}', 400, "missing_sender"),
        (b'{"sender": {"id": 1}, "message": "hi"}', 400, "invalid_sender"),
        (b'{"sender": true, "message": "hi"}', 400, "invalid_sender"),
        (b'{"sender": "a\\u0000b", "message": "hi"}', 400, "invalid_sender"),
        (json.dumps({"sender": "x" * 129, "message": "hi"}).encode(), 400, "invalid_sender"),
        (b'{"sender": "u"}', 400, "missing_message"),
        (b'{"sender": "u", "message": 7}', 400, "invalid_message"),
        (b'{"sender": "u", "message": "\\u0000\\u0007"}', 400, "empty_message"),
        (b'{"sender": "u", "message": "\\ud800"}', 400, "empty_message"),
        (b'{"sender": "u", "message": "   "}', 400, "empty_message"),
        (b'{"sender": "u", "message": "hi", "metadata": "x"}', 400, "invalid_metadata"),
        (json.dumps({"sender": "u", "message": "x" * 2001}).encode(), 413, "message_too_long"),
        (json.dumps({"sender": "u", "message": "hi", "metadata": {"b": "y" * 5000}}).encode(), 413,
         "metadata_too_large"),
        (b"[" * 100000 + b"]" * 100000, 400, "invalid_json"),
    ],
)
def test_parse_refuses_bad_bodies(body: bytes, status: int, code: str) -> None:
    parsed = parse_rest_message(body)
    assert isinstance(parsed, RestError)
    assert (parsed.status, parsed.code) == (status, code)
    assert parsed.body()["error"] == code and parsed.body()["message"]


def test_poison_characters_are_stripped_from_the_message() -> None:
    parsed = parse_rest_message(b'{"sender": "u", "message": "a\\u0000b\\ud800c\\u001b[31m\\n\\u4f60"}')
    assert isinstance(parsed, RestMessage) and parsed.text == "abc[31m\n你"
    assert parsed.conversation_id == "rest:u"


def test_hostile_text_passes_verbatim() -> None:
    hostile = "<img src=x onerror=alert(1)>'; DROP TABLE orders; --"
    parsed = parse_rest_message(json.dumps({"sender": "u", "message": hostile}).encode())
    assert isinstance(parsed, RestMessage) and parsed.text == hostile


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def test_credentials_stanza_gives_the_rest_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEFU_REST_RATE_LIMIT", "KEFU_REST_RATE_WINDOW", "KEFU_REST_MAX_MESSAGE_CHARS",
                 "KEFU_RATE_LIMIT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "credentials.yml"
    path.write_text(STANZA, encoding="utf-8")
    [channel] = create_http_input_channels(None, str(path))
    assert isinstance(channel, KefuRestInput)
    assert channel.name() == "rest" and channel.url_prefix() == "rest"
    assert (channel.rate_limit_messages, channel.rate_limit_window_seconds, channel.max_message_chars) == (30, 60.0, 2000)
    assert isinstance(channel.rate_limiter, SlidingWindowRateLimiter)


def test_environment_overrides_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_REST_RATE_LIMIT", "5")
    monkeypatch.setenv("KEFU_REST_RATE_WINDOW", "10")
    monkeypatch.setenv("KEFU_REST_MAX_MESSAGE_CHARS", "100")
    channel = KefuRestInput.from_credentials({"rate_limit_messages": 99})
    assert (channel.rate_limit_messages, channel.rate_limit_window_seconds, channel.max_message_chars) == (5, 10.0, 100)
    monkeypatch.setenv("KEFU_REST_RATE_LIMIT", "lots")
    with pytest.raises(RasaException, match="KEFU_REST_RATE_LIMIT"):
        KefuRestInput.from_credentials(None)


# --------------------------------------------------------------------------
# over HTTP, in Rasa's app
# --------------------------------------------------------------------------


def test_round_trip_keeps_rasa_answers_and_pins_the_input_channel() -> None:
    async def scenario() -> None:
        async with rasa_app(KefuRestInput()) as ([url], agent):
            status, body, _ = await post(url, {"sender": "rt-1", "message": "你好",
                                               "metadata": {"language": "en", "kefu_client_ip": "6.6.6.6",
                                                            "kefu_verified": True, "kefu_user_token": "t.s"},
                                               "input_channel": "wechat"})
            # the client sees its own sender; the conversation is the REST channel's
            assert status == 200 and body == [{"recipient_id": "rt-1", "text": "echo: 你好"}]
            message = agent.received[0]
            assert message.sender_id == "rest:rt-1"
            assert message.input_channel == "rest"  # a client cannot pose as another channel
            # client kefu_* keys dropped (except the user token); the server sets the client's IP
            assert message.metadata == {"language": "en", "kefu_user_token": "t.s", "kefu_client_ip": "127.0.0.1"}
            assert agent.conversations == ["rest:rt-1"]  # log lines of the turn carry the conversation
            async with aiohttp.ClientSession() as session:
                async with session.get(url[: -len("webhook")]) as resp:
                    assert resp.status == 200 and await resp.json() == {"status": "ok"}
                async with session.post(url + "?stream=true", json={"sender": "rt-2", "message": "流"}) as resp:
                    assert resp.status == 200
                    lines = [json.loads(x) for x in (await resp.text()).splitlines() if x.strip()]
                    assert lines == [{"recipient_id": "rt-2", "text": "echo: 流"}]
            assert agent.conversations[-1] == "rest:rt-2"
            assert agent.received[-1].sender_id == "rest:rt-2"

    run(scenario())


def test_bad_requests_get_400_json_and_reach_nobody() -> None:
    async def scenario() -> None:
        async with rasa_app(KefuRestInput()) as ([url], agent):
            for data, code in [(b"{oops", "invalid_json"), (b'{"message": "hi"}', "missing_sender"),
                               (b'{"sender": "u"}', "missing_message"), (b"[]", "invalid_json"),
                               (b'{"sender": "u", "message": null}', "missing_message")]:
                status, body, headers = await post(url, data=data)
                assert status == 400 and body["error"] == code, (data, body)
                assert headers["Content-Type"].startswith("application/json")
            assert agent.received == []

    run(scenario())


def test_size_limits_answer_413_before_the_bot() -> None:
    async def scenario() -> None:
        channel = KefuRestInput(max_message_chars=50)
        async with rasa_app(channel) as ([url], agent):
            status, body, _ = await post(url, {"sender": "big-1", "message": "长" * 51})
            assert (status, body["error"], body["limit"]) == (413, "message_too_long", 50)
            status, body, _ = await post(url, {"sender": "big-1", "message": "hi", "metadata": {"x": "y" * 5000}})
            assert (status, body["error"]) == (413, "metadata_too_large")
            huge = json.dumps({"sender": "big-1", "message": "x" * (channel.max_body_bytes + 10)}).encode()
            assert await refused(url, huge)

            async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse up front
                yield b'{"sender": "big-1", "message": "'
                for _ in range(200):
                    yield b"x" * 4096
                yield b'"}'

            assert await refused(url, chunks())
            assert agent.received == []
            status, body, _ = await post(url, {"sender": "big-1", "message": "still here?"})
            assert status == 200 and body[0]["text"] == "echo: still here?"

    run(scenario())


def test_rate_limit_is_per_sender_with_retry_after() -> None:
    async def scenario() -> None:
        async with rasa_app(KefuRestInput(rate_limit_messages=2, rate_limit_window_seconds=30)) as ([url], agent):
            answers = [await post(url, {"sender": "flood", "message": f"m{i}"}) for i in range(4)]
            assert [a[0] for a in answers] == [200, 200, 429, 429]
            status, body, headers = answers[2]
            assert body == {"error": "rate_limited", "message": body["message"], "retry_after": 30}
            assert headers["Retry-After"] == "30"
            assert (await post(url, {"sender": "calm", "message": "hi"}))[0] == 200
            assert [m.text for m in agent.received] == ["m0", "m1", "hi"]

    run(scenario())


def test_processing_failure_is_503_json_not_500() -> None:
    async def scenario() -> None:
        async with rasa_app(KefuRestInput()) as ([url], agent):
            agent.fail = True
            status, body, headers = await post(url, {"sender": "fail-1", "message": "hi"})
            assert (status, body["error"]) == (503, "processing_failed") and headers["Retry-After"] == "1"
            agent.fail = False
            status, body, _ = await post(url, {"sender": "fail-1", "message": "hi again"})
            assert status == 200 and body[0]["text"] == "echo: hi again"

    run(scenario())


def test_two_replicas_share_the_limit_in_redis(redis_url: str) -> None:
    import redis.asyncio as redis_asyncio

    sender = f"shared-{uuid.uuid4().hex}"

    async def scenario() -> List[int]:
        replicas = [KefuRestInput(rate_limit_messages=3, redis_url=redis_url) for _ in range(2)]
        async with rasa_app(*replicas) as (urls, agent):
            statuses = [(await post(urls[i % 2], {"sender": sender, "message": f"m{i}"}))[0] for i in range(5)]
        client = redis_asyncio.from_url(redis_url)
        keys = [k async for k in client.scan_iter(f"kefu:rest:rate:{sender}:*")]
        assert keys  # the counter lives in Redis
        await client.delete(*keys)
        await client.close()
        for replica in replicas:
            await replica.rate_limiter.client.close()
        return statuses

    assert run(scenario()) == [200, 200, 200, 429, 429]
