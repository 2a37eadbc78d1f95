"""WeChat / WeCom abuse limits: the per-openid rate limit and the 64 KB body limit.

The request handler is driven directly (as in test_wechat_channel.py) and, for the body limit, through
the channel's Sanic blueprint over real HTTP.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Tuple

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from bot.channels.wechat.channel import RATE_LIMITED_KEY, HttpReply, WeChatInput
from bot.channels.wechat.crypto import sha1_signature
from bot.channels.wechat.messages import parse_xml
from kernel import i18n
from kernel.ratelimit import RedisRateLimiter, SlidingWindowRateLimiter
from tests.bot.channels.wechat.standin import StandIn
from tests.harness import free_port

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

TOKEN = "kefutoken"
APPID = "wx_standin_appid"


@pytest.fixture()
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_shared_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("KEFU_RATE_LIMIT_REDIS_URL", "KEFU_WECHAT_RATE_LIMIT", "KEFU_WECHAT_RATE_WINDOW", "KEFU_WECHAT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_URL", f"sqlite:///{tmp_path / 'outbox.db'}")


class FakeBot:
    def __init__(self) -> None:
        self.received: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": f"答：{message.text}"})


def channel(standin: StandIn, limit: int = 2, window: float = 60.0, redis_url: str = "") -> WeChatInput:
    return WeChatInput(TOKEN, APPID, "standin-app-secret", "", standin.url, redis_url=redis_url,
                       rate_limit=(limit, window))


def signed(nonce: Optional[str] = None) -> Dict[str, str]:
    """A fresh signed query: every call a new nonce (a signed query is single-use)."""
    nonce = nonce or uuid.uuid4().hex[:10]
    timestamp = str(int(time.time()))
    return {"signature": sha1_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def text_xml(content: str, msg_id: str, user: str = "o_alice") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def event_xml(event: str, user: str, create_time: str) -> bytes:
    return (
        f"<xml><ToUserName>gh_shop</ToUserName><FromUserName>{user}</FromUserName><CreateTime>{create_time}"
        f"</CreateTime><MsgType>event</MsgType><Event>{event}</Event><EventKey></EventKey></xml>"
    ).encode()


def content(reply: HttpReply) -> Optional[str]:
    assert reply.status == 200, reply
    return None if reply.body == "success" else parse_xml(reply.body)["Content"]


async def settle(ch: WeChatInput) -> None:
    for _ in range(200):
        if not ch.endpoint.background:
            return
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------
# rate limit
# --------------------------------------------------------------------------


def test_over_the_limit_one_polite_reply_then_success(standin: StandIn) -> None:
    ch, bot = channel(standin, limit=2), FakeBot()

    async def scenario() -> List[Optional[str]]:
        out = [content(await ch.endpoint.receive(signed(), text_xml(f"问题{i}", f"10{i}"), bot)) for i in range(5)]
        out.append(content(await ch.endpoint.receive(signed(), text_xml("我也要问", "200", user="o_bob"), bot)))
        await settle(ch)
        return out

    answers = asyncio.run(scenario())
    polite = i18n.text(RATE_LIMITED_KEY, "zh-Hans")
    assert answers == ["答：问题0", "答：问题1", polite, None, None, "答：我也要问"]
    assert [m.text for m in bot.received] == ["问题0", "问题1", "我也要问"]
    assert standin.sent() == []  # the notice is a passive reply: no customer-service API call


def test_retries_are_answered_the_same_and_not_counted_again(standin: StandIn) -> None:
    ch, bot = channel(standin, limit=1), FakeBot()

    async def scenario() -> List[Optional[str]]:
        first = content(await ch.endpoint.receive(signed(), text_xml("一", "301"), bot))
        retry_first = content(await ch.endpoint.receive(signed("2"), text_xml("一", "301"), bot))
        refused = content(await ch.endpoint.receive(signed(), text_xml("二", "302"), bot))
        retry_refused = content(await ch.endpoint.receive(signed("3"), text_xml("二", "302"), bot))
        silent = content(await ch.endpoint.receive(signed(), text_xml("三", "303"), bot))
        return [first, retry_first, refused, retry_refused, silent]

    first, retry_first, refused, retry_refused, silent = asyncio.run(scenario())
    assert first == retry_first == "答：一"
    assert refused == retry_refused == i18n.text(RATE_LIMITED_KEY, "zh-Hans")  # not a second notice's silence
    assert silent is None
    assert len(bot.received) == 1


def test_notice_is_in_the_conversation_language(standin: StandIn) -> None:
    ch, bot = channel(standin, limit=1), FakeBot()

    async def english(sender_id: str) -> Tuple[Optional[str], bool]:
        return "en", False

    async def scenario() -> List[Optional[str]]:
        return [content(await ch.endpoint.receive(signed(), text_xml("hi", f"40{i}", user="o_en"), bot, english))
                for i in range(2)]

    assert asyncio.run(scenario())[1] == i18n.text(RATE_LIMITED_KEY, "en")


def test_unsubscribe_is_recorded_even_over_the_limit(standin: StandIn) -> None:
    ch, bot = channel(standin, limit=1), FakeBot()

    async def scenario() -> Optional[float]:
        await ch.endpoint.receive(signed(), text_xml("hi", "501", user="o_gone"), bot)
        await ch.endpoint.receive(signed(), text_xml("hi again", "502", user="o_gone"), bot)
        bye = await ch.endpoint.receive(signed(), event_xml("unsubscribe", "o_gone", "9"), bot)
        assert bye.body == "success"
        return await ch.endpoint.memory.unsubscribed_at("o_gone")

    assert asyncio.run(scenario()) is not None


def test_limit_settings_from_credentials_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = {"token": "t", "appid": "a", "appsecret": "s", "api_base": "http://127.0.0.1:1",
                   "rate_limit_messages": 7, "rate_limit_window_seconds": 30}
    ch = WeChatInput.from_credentials(credentials)
    limiter = ch.endpoint.rate_limiter
    assert isinstance(limiter, SlidingWindowRateLimiter) and (limiter.limit, limiter.window_seconds) == (7, 30.0)
    assert ch.endpoint.notice_limiter.limit == 1
    monkeypatch.setenv("KEFU_WECHAT_RATE_LIMIT", "3")
    assert WeChatInput.from_credentials(credentials).endpoint.rate_limiter.limit == 3
    monkeypatch.setenv("KEFU_WECHAT_RATE_WINDOW", "0")
    with pytest.raises(RasaException, match="KEFU_WECHAT_RATE_WINDOW"):
        WeChatInput.from_credentials(credentials)


def test_two_replicas_share_the_limit_in_redis(standin: StandIn, redis_url: str) -> None:
    user = f"o_{uuid.uuid4().hex[:20]}"
    replicas = [channel(standin, limit=2, redis_url=redis_url) for _ in range(2)]
    bot = FakeBot()

    async def scenario() -> List[Optional[str]]:
        out = []
        for i in range(4):
            reply = await replicas[i % 2].endpoint.receive(signed(), text_xml(f"q{i}", f"{time.time_ns()}", user), bot)
            out.append(content(reply))
        assert isinstance(replicas[0].endpoint.rate_limiter, RedisRateLimiter)
        client = replicas[0]._redis
        keys = [k async for k in client.scan_iter(f"kefu:wechat*:rate:wechat:{APPID}:{user}:*")]
        assert len(keys) == 2  # the counter and the notice pacer
        await client.delete(*keys)
        for replica in replicas:
            await settle(replica)
            await replica.endpoint.close()
            await replica._redis.close()
        return out

    answers = asyncio.run(scenario())
    assert answers == ["答：q0", "答：q1", i18n.text(RATE_LIMITED_KEY, "zh-Hans"), None]
    assert len(bot.received) == 2


# --------------------------------------------------------------------------
# body size, through the Sanic blueprint
# --------------------------------------------------------------------------


async def serve(ch: WeChatInput, bot: FakeBot) -> Tuple[Any, str]:
    Sanic.test_mode = True
    app = Sanic(f"kefu_wechat_limits_{uuid.uuid4().hex[:8]}")
    app.blueprint(ch.blueprint(bot), url_prefix="/webhooks/wechat")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
    await server.startup()
    return server, f"http://127.0.0.1:{port}/webhooks/wechat/webhook"


def test_bodies_over_64_kb_get_413_before_parsing(standin: StandIn) -> None:
    ch, bot = channel(standin, limit=5), FakeBot()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"<xml><Content>"
        for _ in range(40):
            yield b"x" * 4096
        yield b"</Content></xml>"

    async def scenario() -> List[Tuple[int, str]]:
        server, url = await serve(ch, bot)
        out = []
        try:
            big = b"<xml>" + b"x" * (64 * 1024) + b"</xml>"
            for data in (big, chunks()):
                out.append(await refused_or_answered(url, data))
            out.append(await refused_or_answered(url, text_xml("你好", "601")))
        finally:
            server.close()
            await server.wait_closed()
            await settle(ch)
        return out

    too_big, chunked, fine = asyncio.run(scenario())
    assert too_big in REFUSED and chunked in REFUSED
    assert fine[0] == 200 and parse_xml(fine[1])["Content"] == "答：你好"
    assert [m.text for m in bot.received] == ["你好"]


#: A refused body: the 413, or, when the client was still sending as the server closed the connection
#: without reading the rest, a reset. Either way nothing was parsed (checked through the bot).
REFUSED = ((413, "payload too large"), (0, "connection closed"))


async def refused_or_answered(url: str, data: Any) -> Tuple[int, str]:
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, params=signed(), data=data) as resp:
                return resp.status, await resp.text()
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        return 0, "connection closed"
