"""The WeChat / WeCom request handler end to end, without Sanic or a model.

The Rasa agent is replaced by a handler that answers through the message's
output channel the way Rasa's processor does (``send_response``); the
customer-service API is the local stand-in.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.wechat.channel import (
    HttpReply,
    WeChatInput,
    WeChatOutput,
    WeComInput,
    query_params,
)
from bot.channels.wechat.crypto import MessageCrypto, sha1_signature
from bot.channels.wechat.delivery import DeliveryRefused
from bot.channels.wechat.messages import parse_xml
from tests.bot.channels.wechat.standin import StandIn

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

TOKEN = "kefutoken"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx_standin_appid"
CORP = "ww_standin_corp"


@pytest.fixture(autouse=True)
def outbox_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test gets its own outbox database (a SQLite file), with quick retries."""
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_URL", url)
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_RETRY_SECONDS", "0.05")
    monkeypatch.delenv("KEFU_WECHAT_REDIS_URL", raising=False)
    return url


@pytest.fixture()
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


class FakeBot:
    """Answers like Rasa: every reply through ``output_channel.send_response``."""

    def __init__(self, replies: Optional[List[Dict[str, Any]]] = None, delay: float = 0.0, fail: bool = False) -> None:
        self.replies = replies if replies is not None else [{"text": "您好！"}]
        self.delay = delay
        self.fail = fail
        self.received: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.fail:
            raise RuntimeError("bot exploded")
        await asyncio.sleep(self.delay)
        for reply in self.replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))


def oa(standin: StandIn, aes: bool = True, budget: float = 4.0) -> WeChatInput:
    return WeChatInput(TOKEN, APPID, "standin-app-secret", KEY if aes else "", standin.url, reply_budget=budget)


def signed(nonce: Optional[str] = None, timestamp: Optional[str] = None) -> Dict[str, str]:
    """A fresh signed query (every call a new nonce: a query is single-use)."""
    nonce = nonce or str(secrets.randbelow(10**10))
    timestamp = timestamp or str(int(time.time()))
    return {"signature": sha1_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def text_xml(content: str, msg_id: str = "10001", user: str = "o_alice") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, key: str = "", user: str = "o_alice", create_time: str = "1714036600") -> str:
    return (
        f"<xml><ToUserName>gh_shop</ToUserName><FromUserName>{user}</FromUserName><CreateTime>{create_time}</CreateTime>"
        f"<MsgType>event</MsgType><Event>{event}</Event><EventKey>{key}</EventKey></xml>"
    )


def safe(
    xml: str, receive_id: str = APPID, nonce: Optional[str] = None, timestamp: Optional[str] = None
) -> Tuple[Dict[str, str], bytes]:
    crypto = MessageCrypto(TOKEN, KEY, receive_id)
    nonce = nonce or str(secrets.randbelow(10**10))
    timestamp = timestamp or str(int(time.time()))
    encrypt = crypto.encrypt(xml.encode("utf-8"))
    query = {**signed(nonce, timestamp), "encrypt_type": "aes", "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt)}
    return query, f"<xml><ToUserName>gh_shop</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def pending_rows(channel: WeChatInput) -> List[Dict[str, Any]]:
    outbox = channel.endpoint.output.outbox
    return [] if outbox is None else [r for r in outbox.outbox.rows() if r["status"] == "pending"]


async def settle(channel: WeChatInput) -> None:
    """Wait for the bot turns in flight and for the outbox to have nothing pending."""
    for _ in range(400):
        if not channel.endpoint.background and not pending_rows(channel):
            return
        await asyncio.sleep(0.05)


def reply_content(reply: HttpReply) -> str:
    assert reply.status == 200, reply
    return parse_xml(reply.body)["Content"]


def test_query_params_keep_plus_signs() -> None:
    assert query_params("echostr=ab%2Bc+d%3D&nonce=1") == {"echostr": "ab+c+d=", "nonce": "1"}


def test_get_verification(standin: StandIn) -> None:
    endpoint = oa(standin).endpoint

    async def scenario() -> None:
        ok = await endpoint.verify({**signed(), "echostr": "5837397749186467929"})
        assert (ok.status, ok.body) == (200, "5837397749186467929")
        bad = await endpoint.verify({**signed(), "signature": "0" * 40, "echostr": "x"})
        assert bad.status == 403 and "x" not in bad.body

    asyncio.run(scenario())


def test_plain_text_passive_reply_and_the_rest_through_the_api(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot([{"text": "第一条"}, {"text": "第二条"}, {"text": "要转人工吗？", "buttons": [{"title": "是", "payload": "/affirm"}]}])

    async def scenario() -> HttpReply:
        reply = await channel.endpoint.receive(signed(), text_xml("你好").encode(), bot)
        await settle(channel)
        return reply

    reply = asyncio.run(scenario())
    assert reply_content(reply) == "第一条"
    assert parse_xml(reply.body)["ToUserName"] == "o_alice"
    assert [m["content"] for m in standin.sent()] == ["第二条", "要转人工吗？\n1. 是"]
    message = bot.received[0]
    assert (message.text, message.sender_id, message.input_channel) == ("你好", "wechat:o_alice", "wechat")
    assert message.metadata["wechat"]["openid"] == "o_alice" and message.metadata["wechat"]["msg_type"] == "text"


def test_safe_mode_reply_is_encrypted_and_signed(standin: StandIn) -> None:
    channel = oa(standin)
    bot = FakeBot([{"text": "加密回复 😀"}])
    query, body = safe(text_xml("hello"))
    reply = asyncio.run(channel.endpoint.receive(query, body, bot))
    envelope = parse_xml(reply.body)
    crypto = MessageCrypto(TOKEN, KEY, APPID)
    inner = crypto.decrypt_checked(envelope["Encrypt"], envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    assert parse_xml(inner)["Content"] == "加密回复 😀"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda q, b: ({**q, "signature": "0" * 40}, b),
        lambda q, b: ({k: v for k, v in q.items() if k != "signature"}, b),
        lambda q, b: ({**q, "msg_signature": "0" * 40}, b),
        lambda q, b: ({**q, "timestamp": "1"}, b),
    ],
)
def test_tampered_signatures_get_403_and_no_processing(standin: StandIn, mutate) -> None:
    channel = oa(standin)
    bot = FakeBot()
    query, body = mutate(*safe(text_xml("hi")))
    reply = asyncio.run(channel.endpoint.receive(query, body, bot))
    assert reply.status == 403 and bot.received == []


def test_foreign_appid_is_refused(standin: StandIn) -> None:
    channel = oa(standin)
    bot = FakeBot()
    query, body = safe(text_xml("hi"), receive_id="wx_other_account")
    assert asyncio.run(channel.endpoint.receive(query, body, bot)).status == 403
    assert bot.received == []


@pytest.mark.parametrize(
    "body,status",
    [
        (b"<xml><Content>unterminated", 400),
        (b"", 400),
        (b"\x00\xff" * 10, 400),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><FromUserName>&e;</FromUserName></xml>', 400),
        (b"<xml>" + b"a" * 70_000 + b"</xml>", 413),
        (b"<xml><MsgType>text</MsgType></xml>", 400),
    ],
)
def test_bad_bodies(standin: StandIn, body: bytes, status: int) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot()
    assert asyncio.run(channel.endpoint.receive(signed(), body, bot)).status == status
    assert bot.received == []


def test_retries_are_processed_once_and_get_the_same_answer(standin: StandIn) -> None:
    channel = oa(standin)
    bot = FakeBot([{"text": "只回答一次"}], delay=0.3)

    async def scenario() -> List[HttpReply]:
        deliveries = [safe(text_xml("查订单", msg_id="555"), nonce=str(n)) for n in range(4)]
        first = asyncio.create_task(channel.endpoint.receive(*deliveries[0], bot))
        await asyncio.sleep(0.05)
        retries = [channel.endpoint.receive(q, b, bot) for q, b in deliveries[1:]]
        return [await first, *await asyncio.gather(*retries)]

    replies = asyncio.run(scenario())
    assert len(bot.received) == 1
    crypto = MessageCrypto(TOKEN, KEY, APPID)
    contents = {parse_xml(crypto.decrypt(parse_xml(r.body)["Encrypt"]))["Content"] for r in replies}
    assert contents == {"只回答一次"}


def test_slow_bot_answers_success_then_delivers_through_the_api(standin: StandIn) -> None:
    channel = oa(standin, aes=False, budget=0.3)
    bot = FakeBot([{"text": "慢回答一"}, {"text": "慢回答二"}], delay=1.0)

    async def scenario() -> Tuple[HttpReply, HttpReply, List[Any]]:
        reply = await channel.endpoint.receive(signed(), text_xml("慢", msg_id="9"), bot)
        sent_before = standin.sent()
        retry = await channel.endpoint.receive(signed("2"), text_xml("慢", msg_id="9"), bot)
        await settle(channel)
        return reply, retry, sent_before

    reply, retry, sent_before = asyncio.run(scenario())
    assert (reply.status, reply.body) == (200, "success")
    assert (retry.status, retry.body) == (200, "success")
    assert sent_before == []
    assert [m["content"] for m in standin.sent()] == ["慢回答一", "慢回答二"]
    assert len(bot.received) == 1


def test_bot_failure_is_success_not_500(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    reply = asyncio.run(channel.endpoint.receive(signed(), text_xml("boom").encode(), FakeBot(fail=True)))
    assert (reply.status, reply.body) == (200, "success")


def test_events_subscribe_click_unsubscribe(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot([{"text": "请提供订单号"}])

    async def scenario() -> Tuple[HttpReply, HttpReply, HttpReply, HttpReply]:
        welcome = await channel.endpoint.receive(signed(), event_xml("subscribe", create_time="1").encode(), bot)
        click = await channel.endpoint.receive(signed(), event_xml("CLICK", "ORDER_STATUS", create_time="2").encode(), bot)
        view = await channel.endpoint.receive(signed(), event_xml("VIEW", "https://shop", create_time="3").encode(), bot)
        bye = await channel.endpoint.receive(signed(), event_xml("unsubscribe", create_time="4").encode(), bot)
        return welcome, click, view, bye

    welcome, click, view, bye = asyncio.run(scenario())
    assert "优选生活" in reply_content(welcome)
    assert reply_content(click) == "请提供订单号"
    assert [m.text for m in bot.received] == ["/order_status"]
    assert view.body == "success" and bye.body == "success"
    output = channel.get_output_channel()
    assert isinstance(output, WeChatOutput) and output.name() == "wechat"
    with pytest.raises(DeliveryRefused, match="kefu_undeliverable:43004"):  # nothing is pushed to a user who left
        asyncio.run(output.send_text_message("wechat:o_alice", "还在吗？"))
    assert standin.sent() == []


def test_image_voice_and_unknown_types_get_polite_texts(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot()

    def body(msg_type: str, extra: str = "", msg_id: str = "1") -> bytes:
        return (
            f"<xml><ToUserName>gh</ToUserName><FromUserName>o_bob</FromUserName><CreateTime>1</CreateTime>"
            f"<MsgType>{msg_type}</MsgType>{extra}<MsgId>{msg_id}</MsgId></xml>"
        ).encode()

    async def scenario() -> List[HttpReply]:
        return [
            await channel.endpoint.receive(signed(), body("image", "<PicUrl>http://p/1.jpg</PicUrl>", "1"), bot),
            await channel.endpoint.receive(signed(), body("voice", "<MediaId>m</MediaId>", "2"), bot),
            await channel.endpoint.receive(signed(), body("location", "<Label>x</Label>", "3"), bot),
            await channel.endpoint.receive(signed(), body("voice", "<Recognition>查订单</Recognition>", "4"), bot),
        ]

    image, voice, location, recognised = asyncio.run(scenario())
    assert "图片" in reply_content(image) and "1. 转人工客服" in reply_content(image)
    assert "语音" in reply_content(voice)
    assert "文字" in reply_content(location)
    assert reply_content(recognised) == "您好！"
    assert [m.text for m in bot.received] == ["查订单"]


def test_numbered_menu_answer_selects_the_payload(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot([{"text": "要转人工吗？", "buttons": [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]}])

    async def scenario() -> None:
        await channel.endpoint.receive(signed(), text_xml("嗯", msg_id="1").encode(), bot)
        await channel.endpoint.receive(signed(), text_xml("２", msg_id="2").encode(), bot)
        await channel.endpoint.receive(signed(), text_xml("2", msg_id="3").encode(), bot)

    asyncio.run(scenario())
    # the menu applies to the next message only; the second menu then applies again
    assert [m.text for m in bot.received] == ["嗯", "/deny", "/deny"]


def test_paused_conversation_forwards_images_to_the_agent(standin: StandIn) -> None:
    channel = oa(standin, aes=False)
    bot = FakeBot(replies=[])

    async def paused(sender: str) -> Tuple[Optional[str], bool]:
        return "en", True

    body = (
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o_bob</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>image</MsgType><PicUrl>http://p/1.jpg</PicUrl><MsgId>77</MsgId></xml>"
    )
    reply = asyncio.run(channel.endpoint.receive(signed(), body, bot, paused))
    assert reply.body == "success"
    assert [m.text for m in bot.received] == ["[picture] http://p/1.jpg"]


def test_wecom_verification_and_message(standin: StandIn) -> None:
    channel = WeComInput(CORP, "1000002", "standin-corp-secret", TOKEN, KEY, standin.url)
    crypto = MessageCrypto(TOKEN, KEY, CORP)
    bot = FakeBot([{"text": "企业微信你好"}, {"text": "第二条"}])

    async def scenario() -> Tuple[HttpReply, HttpReply, HttpReply]:
        timestamp, nonce = str(int(time.time())), "99"
        echostr = crypto.encrypt(b"1616140317555161061")
        get = await channel.endpoint.verify(
            {"msg_signature": crypto.msg_signature(timestamp, nonce, echostr), "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        )
        inner = (
            "<xml><ToUserName>ww_standin_corp</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>text</MsgType><Content>你好</Content><MsgId>88</MsgId><AgentID>1000002</AgentID></xml>"
        )
        encrypt = crypto.encrypt(inner.encode())
        query = {"msg_signature": crypto.msg_signature(timestamp, nonce, encrypt), "timestamp": timestamp, "nonce": nonce}
        body = f"<xml><ToUserName>ww_standin_corp</ToUserName><AgentID>1000002</AgentID><Encrypt>{encrypt}</Encrypt></xml>".encode()
        post = await channel.endpoint.receive(query, body, bot)
        unsigned = await channel.endpoint.receive({"timestamp": timestamp, "nonce": nonce}, body, bot)
        await settle(channel)
        return get, post, unsigned

    get, post, unsigned = asyncio.run(scenario())
    assert (get.status, get.body) == (200, "1616140317555161061")
    envelope = parse_xml(post.body)
    assert parse_xml(crypto.decrypt(envelope["Encrypt"]))["Content"] == "企业微信你好"
    assert unsigned.status == 403
    assert [(m["api"], m["touser"], m["content"]) for m in standin.sent()] == [("wecom", "zhangsan", "第二条")]
    assert bot.received[0].input_channel == "wecom" and channel.get_output_channel().name() == "wecom"
    assert bot.received[0].sender_id == "wecom:ww_standin_corp:zhangsan"


def test_credentials_are_checked() -> None:
    from rasa.shared.exceptions import RasaException

    with pytest.raises(RasaException):
        WeChatInput.from_credentials({"token": "t", "appid": "", "appsecret": "s", "api_base": "http://x"})
    defaults = WeChatInput.from_credentials({"token": "t", "appid": "a", "appsecret": "s"})
    assert defaults.endpoint.output.client.api_base == "https://api.weixin.qq.com"
    wecom = WeComInput.from_credentials(
        {"corp_id": "c", "agent_id": "1", "secret": "s", "token": "t", "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}
    )
    assert wecom.endpoint.output.client.api_base == "https://qyapi.weixin.qq.com"
    with pytest.raises(RasaException) as error:
        WeChatInput.from_credentials({"token": "t", "appid": "a", "appsecret": "s", "api_base": "http://x", "aes_key": "secretkey"})
    assert "secretkey" not in str(error.value)
    with pytest.raises(RasaException):
        WeComInput.from_credentials({"corp_id": "c", "agent_id": "1", "secret": "s", "token": "t", "api_base": "http://x"})


def test_two_replicas_sharing_redis_process_a_retry_once(standin: StandIn, redis_url: str) -> None:
    """A retry that lands on the other replica gets the first replica's answer, and one token is fetched."""

    def replica() -> WeChatInput:
        return WeChatInput(TOKEN, APPID, "standin-app-secret", KEY, standin.url, redis_url=redis_url)

    a, b = replica(), replica()
    bot = FakeBot([{"text": "只处理一次"}, {"text": "第二条"}], delay=0.2)
    message_id = str(time.time_ns())

    async def scenario() -> List[HttpReply]:
        first = asyncio.create_task(a.endpoint.receive(*safe(text_xml("hi", msg_id=message_id), nonce="1"), bot))
        await asyncio.sleep(0.05)
        retry = await b.endpoint.receive(*safe(text_xml("hi", msg_id=message_id), nonce="2"), bot)
        replies = [await first, retry]
        await settle(a)
        await settle(b)
        for channel in (a, b):
            await channel.endpoint.close()
            await channel._redis.close()
        return replies

    replies = asyncio.run(scenario())
    crypto = MessageCrypto(TOKEN, KEY, APPID)
    assert {parse_xml(crypto.decrypt(parse_xml(r.body)["Encrypt"]))["Content"] for r in replies} == {"只处理一次"}
    assert len(bot.received) == 1
    assert [m["content"] for m in standin.sent()] == ["第二条"]
