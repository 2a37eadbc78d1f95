"""Attacks on the WeChat webhook, against a real Rasa server with the WeChat channel over HTTP.

The attacker has seen one signed WeChat URL (a proxy log, a capture) but does not know the token:

- replays the very same post (same timestamp, nonce and signature): refused, processed once;
- posts a correctly signed message whose timestamp is 6 minutes old: refused;
- posts plaintext to an account that has an EncodingAESKey configured (the plaintext
  ``signature`` does not cover the body): refused;
- the URL-verification GET with a stale timestamp: refused.

Nothing from a refused post may reach the tracker. Two delivery guarantees are checked on the same
stack: a late reply that WeChat's API fails to take survives a Rasa restart and is delivered
exactly once (durable outbox), and an agent reply WeChat refuses (48-hour window) is saved in the
tracker while Rasa's HTTP API answers with the ``kefu_undeliverable:<errcode>`` marker.

Signing and encryption come from wechatpy (an independent implementation).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote

import pytest
import requests
import sqlalchemy
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.bot.channels.wechat.conftest import ENV, StandInProcess, running_standin, running_wechat_stack
from tests.stack import Stack

TOKEN = ENV["WECHAT_TOKEN"]
APPID = ENV["WECHAT_APPID"]
CRYPTO = WeChatCrypto(TOKEN, ENV["WECHAT_AES_KEY"], APPID)
OA_SEND = "/cgi-bin/message/custom/send"


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    yield from running_standin(tmp_path_factory, "standin_security")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    quick_retries = {"KEFU_WECHAT_OUTBOX_RETRY_SECONDS": "2", "KEFU_WECHAT_OUTBOX_MAX_ATTEMPTS": "20"}
    yield from running_wechat_stack(tmp_path_factory.mktemp("wechat_security"), standin, quick_retries,
                                    only=["actions", "rasa"])


# -- helpers ------------------------------------------------------------------------
def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def openid(tag: str = "o_sec_") -> str:
    return f"{tag}{uuid.uuid4().hex[:20]}"


def text_xml(user: str, content: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{time.time_ns() // 1000}</MsgId></xml>"
    )


def safe_request(xml: str, timestamp: Optional[int] = None) -> Tuple[Dict[str, str], bytes]:
    """A safe-mode post exactly as WeChat signs it (query and body)."""
    stamp, nonce = str(timestamp if timestamp is not None else int(time.time())), str(uuid.uuid4().int % 10**10)
    fields = xmltodict.parse(CRYPTO.encrypt_message(xml, nonce, stamp))["xml"]
    query = {
        "signature": sign(TOKEN, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "openid": "x",
        "encrypt_type": "aes",
        "msg_signature": fields["MsgSignature"],
    }
    body = f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    return query, body.encode("utf-8")


def post(stack: Stack, query: Dict[str, str], body: bytes) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/wechat/webhook", params=query, data=body, timeout=30)


def events(stack: Stack, conversation_id: str) -> List[Dict[str, Any]]:
    # the colon stays as is: Rasa's Sanic does not decode %3A in the conversation id
    response = requests.get(
        f"{stack.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker",
        params={"token": stack.token},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["events"]


def user_texts(stack: Stack, user: str) -> List[str]:
    """User messages stored for ``user``, under the scoped id and under the bare openid."""
    texts: List[str] = []
    for conversation_id in (f"wechat:{user}", user):
        texts += [e["text"] for e in events(stack, conversation_id) if e["event"] == "user"]
    return texts


def stored_texts(stack: Stack, user: str, count: int = 1, timeout: float = 90.0) -> List[str]:
    """``user_texts`` once ``count`` messages are stored (a turn that missed the passive window finishes later)."""
    deadline = time.monotonic() + timeout
    texts = user_texts(stack, user)
    while len(texts) < count and time.monotonic() < deadline:
        time.sleep(0.5)
        texts = user_texts(stack, user)
    return texts


def agent_reply(stack: Stack, conversation_id: str, text: str) -> requests.Response:
    """What the console does for an agent's message: append a bot event, send it through WeChat."""
    return requests.post(
        f"{stack.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker/events",
        params={"output_channel": "wechat", "execute_side_effects": "true", "token": stack.token},
        json={"event": "bot", "text": text},
        timeout=60,
    )


def fault(standin: StandInProcess, **spec: Any) -> None:
    requests.post(f"{standin.url}/_standin/faults", json={"path": OA_SEND, **spec}, timeout=5).raise_for_status()


# -- signed-request attacks ---------------------------------------------------------------
def test_replayed_post_is_refused_and_processed_once(stack: Stack) -> None:
    user = openid()
    query, body = safe_request(text_xml(user, "你好"))
    first = post(stack, query, body)
    assert first.status_code == 200, first.text
    replay = post(stack, query, body)
    assert replay.status_code == 403, f"replayed post accepted: {replay.status_code} {replay.text[:200]}"
    assert "<Encrypt>" not in replay.text  # the attacker gets no reply to decrypt either
    assert stored_texts(stack, user) == ["你好"]


def test_stale_post_is_refused_and_not_stored(stack: Stack) -> None:
    user = openid()
    query, body = safe_request(text_xml(user, "我是六分钟前的消息"), timestamp=int(time.time()) - 360)
    response = post(stack, query, body)
    assert response.status_code == 403, f"stale post accepted: {response.status_code} {response.text[:200]}"
    assert user_texts(stack, user) == []


def test_plaintext_post_is_refused_when_aes_is_configured(stack: Stack) -> None:
    user = openid()
    stamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    query = {"signature": sign(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce, "openid": user}
    response = post(stack, query, text_xml(user, "明文冒充").encode("utf-8"))
    assert response.status_code == 403, f"plaintext accepted: {response.status_code} {response.text[:200]}"
    assert "明文冒充" not in response.text
    # compatibility mode: encrypt_type=aes without msg_signature, plaintext fields beside Encrypt
    stamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    compat = {"signature": sign(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce, "encrypt_type": "aes"}
    response = post(stack, compat, text_xml(user, "兼容模式冒充").encode("utf-8"))
    assert response.status_code in (400, 403), response.text
    assert user_texts(stack, user) == []


def test_stale_url_verification_is_refused(stack: Stack) -> None:
    stamp, nonce = str(int(time.time()) - 360), "1514711492"
    params = {"signature": sign(TOKEN, stamp, nonce), "timestamp": stamp, "nonce": nonce, "echostr": "738201"}
    response = requests.get(f"{stack.rasa_url}/webhooks/wechat/webhook", params=params, timeout=30)
    assert response.status_code == 403 and "738201" not in response.text
    fresh = str(int(time.time()))
    params = {"signature": sign(TOKEN, fresh, nonce), "timestamp": fresh, "nonce": nonce, "echostr": "738201"}
    ok = requests.get(f"{stack.rasa_url}/webhooks/wechat/webhook", params=params, timeout=30)
    assert (ok.status_code, ok.text) == (200, "738201")


# -- delivery -------------------------------------------------------------------------------
def test_late_reply_survives_api_failures_and_a_restart_and_is_sent_once(
    stack: Stack, standin: StandInProcess
) -> None:
    user = openid("o_slow_")  # the test-only bot delay (6 s) makes the reply miss the passive window
    fault(standin, kind="http500", count=1000)
    response = post(stack, *safe_request(text_xml(user, "你好")))
    assert (response.status_code, response.text) == (200, "success")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the reply met the failing API at least once
        if any((c.get("body") or {}).get("touser") == user for c in standin.calls(OA_SEND)):
            break
        time.sleep(0.25)
    assert any((c.get("body") or {}).get("touser") == user for c in standin.calls(OA_SEND)), "no send attempt"
    stack.kill("rasa")
    requests.post(f"{standin.url}/_standin/reset", timeout=5).raise_for_status()  # the API works again
    stack.spawn("rasa")
    stack.wait_ready(["rasa"])
    sent = standin.wait_sent(user, timeout=120)
    assert len(sent) == 1 and sent[0]["content"].strip(), sent
    # the outbox the stack really uses (bot/channels/wechat/outbox.py default_url: the app database here)
    # The stand-in records the send when the request arrives; the sender marks the row once the answer is back.
    outbox_url = stack.env.get("KEFU_WECHAT_OUTBOX_URL") or stack.env["KEFU_APP_DB_URL"]
    engine = sqlalchemy.create_engine(outbox_url)
    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text(
                "SELECT status, attempts FROM kefu_wechat_outbox WHERE recipient = :user"), {"user": user}).fetchall()
        if [status for status, _ in rows] == ["sent"] or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    engine.dispose()
    assert [status for status, _ in rows] == ["sent"] and rows[0][1] >= 2, rows
    assert len(standin.sent(user)) == 1


def test_agent_reply_out_of_the_48_hour_window_is_saved_and_reported(
    stack: Stack, standin: StandInProcess
) -> None:
    user = openid()
    assert post(stack, *safe_request(text_xml(user, "你好"))).status_code == 200
    assert stored_texts(stack, user) == ["你好"]
    fault(standin, kind="errcode", errcode=45015, count=1)
    response = agent_reply(stack, f"wechat:{user}", "您好，这里是人工客服。")
    assert response.status_code == 500, response.text
    assert "kefu_undeliverable:45015" in response.json()["message"], response.text
    bot_texts = [e.get("text") for e in events(stack, f"wechat:{user}") if e["event"] == "bot"]
    assert "您好，这里是人工客服。" in bot_texts, "the agent's message was not saved"
    assert standin.sent(user) == []


def test_agent_reply_to_a_conversation_that_is_not_wechat_is_never_sent(
    stack: Stack, standin: StandInProcess
) -> None:
    victim = openid()
    for conversation_id in (victim, f"rest:{victim}"):
        response = agent_reply(stack, conversation_id, "这条不该发给微信用户")
        assert response.status_code == 500, response.text
        assert "kefu_undeliverable:wrong_channel" in response.json()["message"], response.text
    assert [c for c in standin.calls(OA_SEND) if (c.get("body") or {}).get("touser") in (victim, f"rest:{victim}")] == []
