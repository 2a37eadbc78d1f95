"""The customer-service API client and its token cache, against the local stand-in API server."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Iterator

import pytest

from bot.channels.wechat.client import (
    ApiError,
    ApiUnavailable,
    InProcessTokenCache,
    RedisTokenCache,
    WeChatClient,
    WeComClient,
    token_from_answer,
)
from tests.bot.channels.wechat.standin import OA_SEND, WECOM_SEND, StandIn

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

SECRET = "standin-app-secret"


@pytest.fixture()
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


def _client(standin: StandIn, cache: Any = None, timeout: float = 5.0) -> WeChatClient:
    return WeChatClient(standin.url, "wx_standin_appid", SECRET, cache or InProcessTokenCache(), timeout=timeout)


def test_token_refresh_schedule_is_early() -> None:
    token = token_from_answer({"access_token": "t", "expires_in": 7200}, now=1000.0)
    assert token.refresh_at == 1000.0 + 7200 - 300 and token.expires_at == 1000.0 + 7200
    short = token_from_answer({"access_token": "t", "expires_in": 60}, now=0.0)
    assert 0 < short.refresh_at < short.expires_at


def test_n_messages_one_token_fetch(standin: StandIn) -> None:
    async def scenario() -> None:
        client = _client(standin)
        await asyncio.gather(*(client.send_text(f"o_user{i}", f"消息 {i}") for i in range(20)))
        await client.close()

    asyncio.run(scenario())
    assert len(standin.calls("/cgi-bin/token")) == 1
    assert len(standin.sent()) == 20


def test_two_clients_sharing_redis_fetch_once(standin: StandIn, redis_url: str) -> None:
    import redis.asyncio

    async def scenario() -> None:
        prefix = f"test:{uuid.uuid4().hex}"
        r1 = redis.asyncio.from_url(redis_url, decode_responses=True)
        r2 = redis.asyncio.from_url(redis_url, decode_responses=True)
        a = _client(standin, RedisTokenCache(r1, prefix=prefix))
        b = _client(standin, RedisTokenCache(r2, prefix=prefix))
        await asyncio.gather(*(c.send_text("o_user", "hi") for c in (a, b) for _ in range(5)))
        for c in (a, b):
            await c.close()
        await r1.close()
        await r2.close()

    asyncio.run(scenario())
    assert len(standin.calls("/cgi-bin/token")) == 1
    assert len(standin.sent()) == 10


@pytest.mark.parametrize("expiry", ["expire_all", 40001, 40014, 42001])
def test_token_errors_refetch_once_and_retry(standin: StandIn, expiry: Any) -> None:
    async def scenario() -> None:
        client = _client(standin)
        await client.send_text("o_user", "first")
        if expiry == "expire_all":
            standin.expire_tokens()
        else:
            standin.fail(OA_SEND, "errcode", errcode=expiry)
        await client.send_text("o_user", "second")
        await client.close()

    asyncio.run(scenario())
    assert len(standin.calls("/cgi-bin/token")) == 2
    assert [m["content"] for m in standin.sent()] == ["first", "second"]


def test_token_error_twice_gives_up(standin: StandIn) -> None:
    async def scenario() -> None:
        client = _client(standin)
        standin.fail(OA_SEND, "errcode", errcode=40001, count=2)
        with pytest.raises(ApiError) as error:
            await client.send_text("o_user", "x")
        assert error.value.errcode == 40001
        await client.close()

    asyncio.run(scenario())
    assert len(standin.calls("/cgi-bin/token")) == 2
    assert standin.sent() == []


def test_45015_is_not_retried(standin: StandIn) -> None:
    async def scenario() -> None:
        client = _client(standin)
        standin.fail(OA_SEND, "errcode", errcode=45015)
        with pytest.raises(ApiError) as error:
            await client.send_text("o_user", "too late")
        assert error.value.errcode == 45015
        await client.close()

    asyncio.run(scenario())
    assert len(standin.calls(OA_SEND)) == 1


def test_timeout_retried_once_then_reported(standin: StandIn) -> None:
    async def scenario() -> None:
        client = _client(standin, timeout=0.5)
        standin.fail(OA_SEND, "timeout", delay=2)
        await client.send_text("o_user", "after one timeout")
        standin.fail(OA_SEND, "timeout", count=2, delay=2)
        with pytest.raises(ApiUnavailable):
            await client.send_text("o_user", "after two timeouts")
        await client.close()

    asyncio.run(scenario())
    assert [m["content"] for m in standin.sent()] == ["after one timeout"]


def test_unreachable_api_is_a_clear_error() -> None:
    async def scenario() -> None:
        client = WeChatClient("http://127.0.0.1:9", "wx", SECRET, InProcessTokenCache(), timeout=1)
        with pytest.raises(ApiUnavailable):
            await client.send_text("o_user", "x")
        await client.close()

    asyncio.run(scenario())


def test_wrong_secret_is_reported(standin: StandIn) -> None:
    async def scenario() -> None:
        client = WeChatClient(standin.url, "wx_standin_appid", "wrong", InProcessTokenCache())
        with pytest.raises(ApiError) as error:
            await client.send_text("o_user", "x")
        assert error.value.errcode == 40125
        await client.close()

    asyncio.run(scenario())


def test_token_and_secret_never_logged(standin: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        client = _client(standin, timeout=0.5)
        await client.send_text("o_user", "x")
        standin.expire_tokens()
        await client.send_text("o_user", "y")
        standin.fail(OA_SEND, "timeout", count=2, delay=2)
        with pytest.raises(ApiUnavailable) as error:
            await client.send_text("o_user", "z")
        assert SECRET not in str(error.value) and SECRET not in repr(client)
        await client.close()

    asyncio.run(scenario())
    tokens = list(standin.state.tokens)
    assert tokens
    for record in caplog.records:
        message = record.getMessage()
        assert SECRET not in message
        assert not any(token in message for token in tokens)


def test_wecom_client(standin: StandIn) -> None:
    async def scenario() -> None:
        client = WeComClient(standin.url, "ww_standin_corp", "1000002", "standin-corp-secret", InProcessTokenCache())
        await asyncio.gather(client.send_text("zhangsan", "你好"), client.send_text("lisi", "hi"))
        await client.close()

    asyncio.run(scenario())
    assert len(standin.calls("/cgi-bin/gettoken")) == 1
    assert sorted(m["touser"] for m in standin.sent()) == ["lisi", "zhangsan"]
    assert all(c["body"]["agentid"] == 1000002 for c in standin.calls(WECOM_SEND))
