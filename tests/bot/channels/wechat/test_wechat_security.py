"""WeChat / WeCom request rules and delivery guarantees, on the request handler and the outbox.

- signed requests expire (5 minutes) and are single-use; plaintext is refused when an
  EncodingAESKey is configured; poison in the decrypted XML is stripped;
- conversation ids are ``wechat:<openid>`` / ``wecom:<corp>:<userid>``; anything else is never
  sent to WeChat;
- refusals (48-hour window...) raise :class:`DeliveryRefused`; passing failures go to the durable
  outbox, which survives a new channel instance, is drained once by two instances at a time, and
  gives up after a bounded number of tries.

The customer-service API is the local stand-in (tests/bot/channels/wechat/standin.py); the outbox is SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels.wechat import delivery
from bot.channels.wechat.channel import HttpReply, WeChatInput, WeComInput
from bot.channels.wechat.crypto import MessageCrypto, sha1_signature
from bot.channels.wechat.delivery import DeliveryRefused, WrongRecipient
from bot.channels.wechat.outbox import OutboxSettings, open_outbox
from bot.channels.wechat.replay import InProcessReplayGuard, RedisReplayGuard, check_timestamp
from tests.bot.channels.wechat.standin import OA_SEND, StandIn

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

TOKEN = "kefutoken"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx_standin_appid"
CORP = "ww_standin_corp"


@pytest.fixture(autouse=True)
def outbox_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
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


class Bot:
    def __init__(self, replies: Optional[List[str]] = None, delay: float = 0.0) -> None:
        self.replies = ["您好！"] if replies is None else replies
        self.delay = delay
        self.received: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        await asyncio.sleep(self.delay)
        for text in self.replies:
            await message.output_channel.send_response(message.sender_id, {"text": text})


def oa(standin: StandIn, aes: bool = True, budget: float = 4.0, redis_url: str = "") -> WeChatInput:
    return WeChatInput(TOKEN, APPID, "standin-app-secret", KEY if aes else "", standin.url,
                       reply_budget=budget, redis_url=redis_url)


def text_xml(content: str, user: str = "o_alice", msg_id: Optional[str] = None) -> str:
    return (
        f"<xml><ToUserName>gh_shop</ToUserName><FromUserName>{user}</FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType>text</MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id or time.time_ns()}</MsgId></xml>"
    )


def signed(timestamp: Optional[int] = None, nonce: Optional[str] = None) -> Dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or str(secrets.randbelow(10**10))
    return {"signature": sha1_signature(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce}


def safe(xml: bytes | str, timestamp: Optional[int] = None, receive_id: str = APPID) -> Tuple[Dict[str, str], bytes]:
    crypto = MessageCrypto(TOKEN, KEY, receive_id)
    query = signed(timestamp)
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    encrypt = crypto.encrypt(raw)
    query.update(encrypt_type="aes", msg_signature=crypto.msg_signature(query["timestamp"], query["nonce"], encrypt))
    return query, f"<xml><ToUserName>gh_shop</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


def wecom_post(timestamp: int, inner: str) -> Tuple[Dict[str, str], bytes]:
    crypto = MessageCrypto(TOKEN, KEY, CORP)
    stamp, nonce = str(timestamp), str(secrets.randbelow(10**10))
    encrypt = crypto.encrypt(inner.encode())
    query = {"msg_signature": crypto.msg_signature(stamp, nonce, encrypt), "timestamp": stamp, "nonce": nonce}
    return query, f"<xml><ToUserName>{CORP}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()


def outbox_rows(channel: WeChatInput) -> List[Dict[str, Any]]:
    sender = channel.endpoint.output.outbox
    assert sender is not None
    return sender.outbox.rows()


async def until(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


# -- freshness, single use, plaintext ----------------------------------------------------
def test_check_timestamp_window() -> None:
    now = 1_800_000_000
    check_timestamp(str(now - 300), now=now)
    check_timestamp(str(now + 300), now=now)
    for bad in (str(now - 301), str(now + 301), "", None, "abc", "1e9"):
        with pytest.raises(ValueError):
            check_timestamp(bad, now=now)


def test_stale_posts_and_verifications_are_refused(standin: StandIn) -> None:
    channel, bot = oa(standin), Bot()
    wecom = WeComInput(CORP, "1000002", "standin-corp-secret", TOKEN, KEY, standin.url)
    old = int(time.time()) - 360
    inner = (
        f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>hi</Content><MsgId>5</MsgId><AgentID>1000002</AgentID></xml>"
    )

    async def scenario() -> List[HttpReply]:
        crypto = MessageCrypto(TOKEN, KEY, CORP)
        echostr = crypto.encrypt(b"12345")
        stamp = str(old)
        return [
            await channel.endpoint.receive(*safe(text_xml("旧消息"), timestamp=old), bot),
            await channel.endpoint.receive(*safe(text_xml("未来消息"), timestamp=int(time.time()) + 400), bot),
            await channel.endpoint.verify({**signed(old), "echostr": "4375"}),
            await wecom.endpoint.receive(*wecom_post(old, inner), bot),
            await wecom.endpoint.verify(
                {"msg_signature": crypto.msg_signature(stamp, "1", echostr), "timestamp": stamp, "nonce": "1", "echostr": echostr}
            ),
        ]

    replies = asyncio.run(scenario())
    assert [r.status for r in replies] == [403] * 5, replies
    assert "4375" not in replies[2].body and "12345" not in replies[4].body
    assert "timestamp" in replies[0].body
    assert bot.received == []


def test_a_replayed_request_is_refused_and_processed_once(standin: StandIn) -> None:
    channel, bot = oa(standin), Bot()
    query, body = safe(text_xml("你好"))

    async def scenario() -> List[HttpReply]:
        return [await channel.endpoint.receive(query, body, bot) for _ in range(3)]

    first, *replays = asyncio.run(scenario())
    assert first.status == 200
    assert [(r.status, r.body) for r in replays] == [(403, "forbidden: replayed request")] * 2
    assert len(bot.received) == 1


def test_replay_guard_in_redis_is_shared_by_replicas(standin: StandIn, redis_url: str) -> None:
    a, b = oa(standin, redis_url=redis_url), oa(standin, redis_url=redis_url)
    assert isinstance(a.endpoint.replay_guard, RedisReplayGuard)
    bot = Bot()
    query, body = safe(text_xml("只一次"))

    async def scenario() -> List[HttpReply]:
        replies = [await a.endpoint.receive(query, body, bot), await b.endpoint.receive(query, body, bot)]
        for channel in (a, b):
            await channel.endpoint.close()
            await channel._redis.close()
        return replies

    first, replay = asyncio.run(scenario())
    assert (first.status, replay.status) == (200, 403)
    assert len(bot.received) == 1


def test_in_process_replay_guard_is_bounded() -> None:
    guard = InProcessReplayGuard(max_entries=3)

    async def scenario() -> List[bool]:
        return [await guard.first_use(k) for k in ("a", "b", "a", "c", "d", "b")]

    # "a" is refused while remembered; after "d" evicts the oldest ("a"), "b" is still remembered
    assert asyncio.run(scenario()) == [True, True, False, True, True, False]


def test_plaintext_and_compatibility_mode_are_refused_when_aes_is_configured(standin: StandIn) -> None:
    channel, bot = oa(standin), Bot()
    xml = text_xml("明文").encode()
    compat_query, compat_body = safe(text_xml("密文"))
    plaintext = "<FromUserName>o_alice</FromUserName><MsgType>text</MsgType><Content>明文</Content></xml>"
    compat_body = compat_body.replace(b"</xml>", plaintext.encode())

    async def scenario() -> List[HttpReply]:
        return [
            await channel.endpoint.receive(signed(), xml, bot),
            await channel.endpoint.receive({**signed(), "encrypt_type": "aes"}, xml, bot),
            await channel.endpoint.receive({**signed(), "encrypt_type": "raw"}, xml, bot),
            # a genuine safe-mode envelope that also carries plaintext: only the ciphertext counts
            await channel.endpoint.receive(compat_query, compat_body, bot),
        ]

    plain, no_msg_signature, raw, compat = asyncio.run(scenario())
    assert [r.status for r in (plain, no_msg_signature, raw)] == [403, 403, 403]
    assert plain.body == "forbidden: encrypted message required"
    assert compat.status == 200 and [m.text for m in bot.received] == ["密文"]


def test_plaintext_is_accepted_without_an_aes_key(standin: StandIn) -> None:
    channel, bot = oa(standin, aes=False), Bot()
    reply = asyncio.run(channel.endpoint.receive(signed(), text_xml("明文").encode(), bot))
    assert reply.status == 200 and [m.text for m in bot.received] == ["明文"]


# -- poison -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content,expected",
    [
        (b"\xe4\xbd\xa0\x00\xe5\xa5\xbd", "你好"),  # NUL
        (b"a\x01b\x1bc\x7fd", "abcd"),  # control characters
        (b"ok\xff\xfe!", "ok!"),  # invalid UTF-8
        (b"line1\nline2\ttab", "line1\nline2\ttab"),  # kept
    ],
)
def test_poison_in_decrypted_xml_is_stripped(standin: StandIn, content: bytes, expected: str) -> None:
    channel, bot = oa(standin), Bot()
    inner = (
        b"<xml><ToUserName>gh</ToUserName><FromUserName>o_alice</FromUserName><CreateTime>1</CreateTime>"
        b"<MsgType>text</MsgType><Content>" + content + b"</Content><MsgId>" + str(time.time_ns()).encode() + b"</MsgId></xml>"
    )
    reply = asyncio.run(channel.endpoint.receive(*safe(inner), bot))
    assert reply.status == 200
    assert [m.text for m in bot.received] == [expected]


def test_malformed_decrypted_xml_is_refused(standin: StandIn) -> None:
    channel, bot = oa(standin), Bot()
    reply = asyncio.run(channel.endpoint.receive(*safe(b"<xml><Content>unterminated"), bot))
    assert (reply.status, reply.body) == (400, "bad request")
    assert bot.received == []


# -- conversation ids -------------------------------------------------------------------------
def test_conversation_ids_are_scoped_and_other_ids_never_sent(standin: StandIn) -> None:
    channel, bot = oa(standin), Bot(replies=[])
    wecom = WeComInput(CORP, "1000002", "standin-corp-secret", TOKEN, KEY, standin.url)
    asyncio.run(channel.endpoint.receive(*safe(text_xml("hi", user="o_alice")), bot))
    assert bot.received[0].sender_id == "wechat:o_alice"
    output, wecom_output = channel.get_output_channel(), wecom.get_output_channel()
    for recipient in ("o_alice", "rest:o_alice", "web:o_alice", "wecom:ww_standin_corp:o_alice", "wechat:"):
        with pytest.raises(WrongRecipient) as error:
            asyncio.run(output.send_text_message(recipient, "不该发出"))
        assert "kefu_undeliverable:wrong_channel" in str(error.value)
    for recipient in ("zhangsan", "wechat:zhangsan", "wecom:ww_other_corp:zhangsan", "wecom:ww_standin_corp"):
        with pytest.raises(WrongRecipient):
            asyncio.run(wecom_output.send_text_message(recipient, "不该发出"))
    assert standin.calls(OA_SEND) == [] and standin.sent() == []
    asyncio.run(output.send_text_message("wechat:o_alice", "发给 o_alice"))
    asyncio.run(wecom_output.send_text_message("wecom:ww_standin_corp:zhangsan", "发给 zhangsan"))
    assert [(m["touser"], m["content"]) for m in standin.sent()] == [("o_alice", "发给 o_alice"), ("zhangsan", "发给 zhangsan")]


# -- refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize("errcode", [45015, 43004, 43019, 45047])
def test_refused_delivery_raises_with_the_marker_and_is_not_retried(standin: StandIn, errcode: int) -> None:
    channel = oa(standin)
    standin.fail(OA_SEND, "errcode", errcode=errcode, count=5)
    with pytest.raises(DeliveryRefused) as error:
        asyncio.run(channel.get_output_channel().send_text_message("wechat:o_alice", "人工回复"))
    assert f"kefu_undeliverable:{errcode}" in str(error.value)
    assert len(standin.calls(OA_SEND)) == 1 and outbox_rows(channel) == []


def test_refusal_inside_an_api_request_is_recorded_not_raised(standin: StandIn) -> None:
    channel = oa(standin)
    standin.fail(OA_SEND, "errcode", errcode=45015, count=5)

    class Request:
        path = "/conversations/wechat:o_alice/tracker/events"

    async def scenario() -> Any:
        await delivery._start_recording(Request())
        await channel.get_output_channel().send_text_message("wechat:o_alice", "人工回复")  # does not raise
        from sanic.response import json as json_response

        return await delivery._answer_refusals(Request(), json_response({"events": []}))

    answer = asyncio.run(scenario())
    assert answer.status == 500
    assert b"kefu_undeliverable:45015" in answer.body and b'"event_saved":true' in answer.body


def test_agent_reply_that_meets_a_passing_failure_goes_to_the_outbox(standin: StandIn) -> None:
    channel = oa(standin)
    standin.fail(OA_SEND, "http500", count=4)  # two tries of the first send (the client retries once), then one more

    async def scenario() -> bool:
        await channel.get_output_channel().send_text_message("wechat:o_alice", "人工回复")
        ok = await until(lambda: [m["content"] for m in standin.sent()] == ["人工回复"])
        await channel.endpoint.close()
        return ok

    assert asyncio.run(scenario()), standin.sent()
    assert [(r["status"], r["text"]) for r in outbox_rows(channel)] == [("sent", "人工回复")]


# -- the durable outbox -----------------------------------------------------------------------------
@pytest.mark.parametrize("database", ["sqlite", "redis"])
def test_late_replies_survive_a_new_channel_instance_and_are_sent_once(
    standin: StandIn, outbox_url: str, database: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(database, outbox_url, request, monkeypatch)
    first = oa(standin, budget=0.2)
    bot = Bot(replies=["迟到的回答一", "迟到的回答二"], delay=0.5)
    standin.fail(OA_SEND, "http500", count=10_000)  # the API is down while the first instance runs

    async def before_restart() -> HttpReply:
        reply = await first.endpoint.receive(*safe(text_xml("你好")), bot)
        await until(lambda: len(standin.calls(OA_SEND)) >= 2 and len(outbox_rows(first)) == 2)
        await first.endpoint.close()
        return reply

    reply = asyncio.run(before_restart())
    assert (reply.status, reply.body) == (200, "success")
    assert standin.sent() == [] and [r["status"] for r in outbox_rows(first)] == ["pending", "pending"]
    with standin.state.lock:
        standin.state.faults.clear()  # the API is back

    second = oa(standin)

    async def after_restart() -> bool:
        second.endpoint.output.outbox.start()  # what the server start does
        ok = await until(lambda: [r["status"] for r in outbox_rows(second)] == ["sent", "sent"])
        await second.endpoint.close()
        return ok

    assert asyncio.run(after_restart()), outbox_rows(second)
    assert [m["content"] for m in standin.sent()] == ["迟到的回答一", "迟到的回答二"]  # once each, in order


def use_database(database: str, outbox_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The outbox URL for ``database`` (sqlite: the test's file; postgresql: a fresh schema; redis: emptied keys)."""
    if database == "postgresql":
        outbox_url = request.getfixturevalue("pg_schema_url")
    elif database == "redis":
        import redis

        outbox_url = request.getfixturevalue("redis_url")
        client = redis.from_url(outbox_url)
        for key in client.scan_iter("kefu:wechat:outbox:*"):
            client.delete(key)
        client.close()
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_URL", outbox_url)
    return outbox_url


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "redis"])
def test_two_instances_draining_one_outbox_send_each_row_once(
    standin: StandIn, outbox_url: str, database: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox_url = use_database(database, outbox_url, request, monkeypatch)  # several Rasa replicas share it
    a, b = oa(standin), oa(standin)
    store = open_outbox(OutboxSettings(outbox_url))
    texts = [f"消息{i}" for i in range(12)]

    async def scenario() -> None:
        for index, text in enumerate(texts):
            await store.put("wechat", APPID, f"o_user{index % 3}", [text])
        senders = [a.endpoint.output.outbox, b.endpoint.output.outbox]
        for _ in range(6):
            await asyncio.gather(*(s.drain_once() for s in senders for _ in range(2)))

    asyncio.run(scenario())
    sent = [m["content"] for m in standin.sent()]
    assert sorted(sent) == sorted(texts) and len(sent) == len(set(sent))
    for user in range(3):  # and in order per recipient
        assert [m["content"] for m in standin.sent() if m["touser"] == f"o_user{user}"] == texts[user::3]


def test_the_outbox_gives_up_after_the_bounded_number_of_tries(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("KEFU_WECHAT_OUTBOX_RETRY_SECONDS", "0.01")
    channel = oa(standin)
    standin.fail(OA_SEND, "errcode", errcode=-1, count=10_000)  # "system busy", forever

    async def scenario() -> bool:
        await channel.endpoint.output.queue("o_alice", ["永远发不出去"])
        ok = await until(lambda: [r["status"] for r in outbox_rows(channel)] == ["failed"])
        await channel.endpoint.close()
        return ok

    with caplog.at_level(logging.ERROR, logger="bot.channels.wechat.outbox"):
        assert asyncio.run(scenario()), outbox_rows(channel)
    assert outbox_rows(channel)[0]["attempts"] == 3
    assert any("outbox_gave_up" in r.getMessage() and "o_alice" not in r.getMessage() for r in caplog.records)
    assert standin.sent() == []


def test_a_refusal_in_the_outbox_ends_the_row_at_once(standin: StandIn) -> None:
    channel = oa(standin)
    standin.fail(OA_SEND, "errcode", errcode=45015, count=10_000)

    async def scenario() -> bool:
        await channel.endpoint.output.queue("o_alice", ["48 小时之外"])
        ok = await until(lambda: [r["status"] for r in outbox_rows(channel)] == ["failed"])
        await channel.endpoint.close()
        return ok

    assert asyncio.run(scenario())
    assert outbox_rows(channel)[0]["attempts"] == 1 and outbox_rows(channel)[0]["last_error"] == "errcode 45015"


def test_outbox_url_falls_back_to_the_shared_application_database(tmp_path) -> None:
    from bot.channels.wechat.outbox import default_url

    shared = "postgresql://kefu:pw@postgres:5432/kefu_app"
    assert default_url({"KEFU_WECHAT_OUTBOX_URL": "redis://r:6379/2", "KEFU_APP_DB_URL": shared}) == "redis://r:6379/2"
    assert default_url({"KEFU_APP_DB_URL": shared}) == shared
    local = default_url({"KEFU_VAR_DIR": str(tmp_path)})
    assert local == f"sqlite:///{tmp_path.resolve() / 'wechat_outbox.db'}"
