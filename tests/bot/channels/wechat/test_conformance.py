"""WeChat / WeCom protocol conformance against a running Rasa server.

The client side is wechatpy 1.8.18 (an independent implementation): it signs,
encrypts and decrypts; the inbound XML is written here the way WeChat sends it.
Nothing in bot/channels/wechat builds these requests.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import pytest
import requests
import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from tests.bot.channels.wechat.conftest import ENV, StandInProcess
from tests.stack import Stack

TOKEN = ENV["WECHAT_TOKEN"]
APPID = ENV["WECHAT_APPID"]
OA_KEY = ENV["WECHAT_AES_KEY"]
CORP = ENV["WECOM_CORP_ID"]
WECOM_TOKEN = ENV["WECOM_TOKEN"]
WECOM_KEY = ENV["WECOM_AES_KEY"]
OA_CRYPTO = WeChatCrypto(TOKEN, OA_KEY, APPID)
WECOM_CRYPTO = WeComCrypto(WECOM_TOKEN, WECOM_KEY, CORP)

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>
<CreateTime>1714036504</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&xxe;</Content><MsgId>{msg_id}</MsgId></xml>"""

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>
<xml><ToUserName>gh_shop</ToUserName><FromUserName>{user}</FromUserName><CreateTime>1714036504</CreateTime>
<MsgType>text</MsgType><Content>&h;</Content><MsgId>{msg_id}</MsgId></xml>"""


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def openid(tag: str = "o_") -> str:
    return f"{tag}{uuid.uuid4().hex[:20]}"


def msg_id() -> str:
    return str(int(time.time() * 1000) * 1000 + uuid.uuid4().int % 1000)


def text_xml(user: str, content: str, message_id: str, to_user: str = "gh_shop") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{message_id}</MsgId></xml>"
    )


def event_xml(user: str, event: str, key: str = "", create_time: Optional[int] = None) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def oa_url(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/wechat/webhook"


def wecom_url(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/wecom/webhook"


def post_plain(stack: Stack, xml: str, signature: Optional[str] = None) -> requests.Response:
    timestamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    params = {"signature": signature or sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": "x"}
    return requests.post(oa_url(stack), params=params, data=xml.encode("utf-8"), timeout=30)


def post_aes_raw(stack: Stack, body: str) -> requests.Response:
    """A correctly signed safe-mode query with an arbitrary body (for malformed bodies)."""
    timestamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    params = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
              "encrypt_type": "aes", "msg_signature": "0" * 40}
    return requests.post(oa_url(stack), params=params, data=body.encode("utf-8"), timeout=30)


def post_safe(
    stack: Stack, xml: str, crypto: WeChatCrypto = OA_CRYPTO, tamper: Optional[str] = None
) -> requests.Response:
    """Safe mode as WeChat sends it: fresh timestamp, nonce and ciphertext every time."""
    timestamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    envelope = crypto.encrypt_message(xml, nonce, timestamp)
    fields = xmltodict.parse(envelope)["xml"]
    params = {
        "signature": sign(TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": fields["MsgSignature"],
    }
    if tamper:
        params[tamper] = "0" * 40
    body = f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    return requests.post(oa_url(stack), params=params, data=body.encode("utf-8"), timeout=30)


def passive_text(response: requests.Response, crypto: Any = None) -> Optional[str]:
    """The passive reply's text, decrypted and signature-checked by wechatpy; None for `success`."""
    assert response.status_code == 200, response.text
    if response.text == "success":
        return None
    xml = response.text
    if crypto is not None:
        envelope = xmltodict.parse(xml)["xml"]
        xml = crypto.decrypt_message(xml, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    reply = parse_message(xml)
    assert reply.type == "text"
    return reply.content


def answer(response: requests.Response, standin: StandInProcess, user: str, crypto: Any = None) -> str:
    """The bot's first answer: the passive reply, or the first API message after `success`."""
    text = passive_text(response, crypto)
    if text is not None:
        return text
    sent = standin.wait_sent(user)
    assert sent, "neither a passive reply nor a customer-service message"
    return sent[0]["content"]


def user_events(stack: Stack, user: str, conversation_id: Optional[str] = None) -> List[Dict[str, Any]]:
    """User events of ``wechat:<openid>`` (or ``conversation_id``)."""
    return [e for e in stack.tracker(conversation_id or f"wechat:{user}")["events"] if e["event"] == "user"]


# -- signatures and URL verification ------------------------------------------------
def test_official_signature_example(wechat_stack: Stack) -> None:
    """The published example signs correctly but is years old now: refused; the same signed fresh passes."""
    check_signature("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492")
    timestamp = str(int(time.time()))
    fresh = requests.get(
        oa_url(wechat_stack),
        params={"signature": sign(TOKEN, timestamp, "1514711492"), "timestamp": timestamp,
                "nonce": "1514711492", "echostr": "4375120948345356249"},
        timeout=30,
    )
    assert (fresh.status_code, fresh.text) == (200, "4375120948345356249")
    response = requests.get(
        oa_url(wechat_stack),
        params={
            "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
            "timestamp": "1714036504",
            "nonce": "1514711492",
            "echostr": "4375120948345356249",
        },
        timeout=30,
    )
    assert response.status_code == 403 and "4375120948345356249" not in response.text


def test_official_account_get_with_bad_signature_is_403(wechat_stack: Stack) -> None:
    response = requests.get(
        oa_url(wechat_stack),
        params={"signature": "f464b24fc39322e44b38aa78f5edd27bd1441697", "timestamp": "1714036504",
                "nonce": "1514711492", "echostr": "4375120948345356249"},
        timeout=30,
    )
    assert response.status_code == 403 and "4375120948345356249" not in response.text
    with pytest.raises(InvalidSignatureException):
        check_signature("AAAAA", "f464b24fc39322e44b38aa78f5edd27bd1441697", "1714036504", "1514711492")


def test_wecom_get_verification(wechat_stack: Stack) -> None:
    timestamp, nonce, plain = str(int(time.time())), "5498742", "1616140317555161061"
    echostr = WeComPrpCrypto(WECOM_CRYPTO.key).encrypt(plain, CORP).decode()
    params = {"msg_signature": sign(WECOM_TOKEN, timestamp, nonce, echostr), "timestamp": timestamp,
              "nonce": nonce, "echostr": echostr}
    response = requests.get(wecom_url(wechat_stack), params=params, timeout=30)
    assert (response.status_code, response.text) == (200, plain)
    bad = requests.get(wecom_url(wechat_stack), params={**params, "msg_signature": "0" * 40}, timeout=30)
    assert bad.status_code == 403 and plain not in bad.text
    foreign = WeComPrpCrypto(WECOM_CRYPTO.key).encrypt(plain, "ww_other_corp").decode()
    other = requests.get(
        wecom_url(wechat_stack),
        params={"msg_signature": sign(WECOM_TOKEN, timestamp, nonce, foreign), "timestamp": timestamp,
                "nonce": nonce, "echostr": foreign},
        timeout=30,
    )
    assert other.status_code == 403 and plain not in other.text


# -- messages -------------------------------------------------------------------
def test_plain_mode_is_refused_when_aes_is_configured(wechat_stack: Stack, standin: StandInProcess) -> None:
    user = openid()
    response = post_plain(wechat_stack, text_xml(user, "你好", msg_id()))
    assert response.status_code == 403
    assert user_events(wechat_stack, user) == []
    assert standin.sent(user) == []


def test_safe_mode_text(wechat_stack: Stack, standin: StandInProcess) -> None:
    user = openid()
    response = post_safe(wechat_stack, text_xml(user, "hello", msg_id()))
    if response.text != "success":
        envelope = xmltodict.parse(response.text)["xml"]
        assert set(envelope) >= {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
        assert "<Content>" not in response.text  # nothing in clear
    assert answer(response, standin, user, OA_CRYPTO).strip()
    events = user_events(wechat_stack, user)
    assert [e["text"] for e in events] == ["hello"]
    assert events[0]["input_channel"] == "wechat"
    assert events[0]["metadata"]["wechat"] == {"msg_type": "text", "openid": user, "msg_id": events[0]["metadata"]["wechat"]["msg_id"]}
    # the conversation is wechat:<openid>: nothing under the bare openid
    assert user_events(wechat_stack, user, conversation_id=f"rest:{user}") == []


def test_padding_longer_than_16_bytes(wechat_stack: Stack, standin: StandInProcess) -> None:
    user, message_id = openid(), msg_id()
    for filler in range(64):
        content = "你好" + "!" * filler
        xml = text_xml(user, content, message_id)
        padding = 32 - (16 + 4 + len(xml.encode("utf-8")) + len(APPID)) % 32
        if padding > 16:
            break
    assert padding > 16
    response = post_safe(wechat_stack, xml)
    assert answer(response, standin, user, OA_CRYPTO).strip()
    assert [e["text"] for e in user_events(wechat_stack, user)] == [content]


@pytest.mark.parametrize("tamper", ["signature", "msg_signature"])
def test_tampered_signature_is_403_and_not_processed(wechat_stack: Stack, tamper: str) -> None:
    user = openid()
    response = post_safe(wechat_stack, text_xml(user, "你好", msg_id()), tamper=tamper)
    assert response.status_code == 403
    plain = post_plain(wechat_stack, text_xml(user, "你好", msg_id()), signature="0" * 40)
    assert plain.status_code == 403
    assert user_events(wechat_stack, user) == []


def test_foreign_appid_is_rejected(wechat_stack: Stack) -> None:
    user = openid()
    foreign = WeChatCrypto(TOKEN, OA_KEY, "wx_foreign_appid")
    response = post_safe(wechat_stack, text_xml(user, "你好", msg_id()), crypto=foreign)
    assert response.status_code == 403
    assert user_events(wechat_stack, user) == []


def test_three_retries_with_fresh_envelopes_are_processed_once(wechat_stack: Stack, standin: StandInProcess) -> None:
    user, message_id = openid(), msg_id()
    xml = text_xml(user, "我想问一下退货", message_id)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(post_safe, wechat_stack, xml)
        time.sleep(0.3)
        retries = [pool.submit(post_safe, wechat_stack, xml) for _ in range(3)]
        responses = [first.result(), *[r.result() for r in retries]]
    late_retry = post_safe(wechat_stack, xml)
    texts = {passive_text(r, OA_CRYPTO) for r in [*responses, late_retry]}
    # every delivery got the same passive reply, or the same `success`
    assert len(texts) == 1, texts
    events = user_events(wechat_stack, user)
    assert [e["text"] for e in events] == ["我想问一下退货"]
    if texts == {None}:
        assert standin.wait_sent(user)


def test_slow_bot_gets_success_within_5_seconds_and_the_answer_later(
    wechat_stack: Stack, standin: StandInProcess
) -> None:
    user = openid("o_slow_")  # the stack's SlowWeChatInput delays the bot 6 s for these openids
    started = time.monotonic()
    response = post_safe(wechat_stack, text_xml(user, "你好", msg_id()))
    elapsed = time.monotonic() - started
    assert (response.status_code, response.text) == (200, "success")
    assert elapsed < 5.0, f"WeChat gives up after 5 s; the channel answered after {elapsed:.1f} s"
    sent = standin.wait_sent(user)
    assert sent and sent[0]["api"] == "wechat" and sent[0]["content"].strip()
    assert [e["text"] for e in user_events(wechat_stack, user)] == ["你好"]


def test_subscribe_gets_a_welcome(wechat_stack: Stack) -> None:
    user = openid()
    response = post_safe(wechat_stack, event_xml(user, "subscribe", "qrscene_123"))
    welcome = passive_text(response, OA_CRYPTO)
    assert welcome and "优选生活" in welcome
    retry = post_safe(wechat_stack, event_xml(user, "subscribe", "qrscene_123", create_time=None))
    assert retry.status_code == 200


def test_click_events_map_to_intents(wechat_stack: Stack, standin: StandInProcess) -> None:
    user = openid()
    created = int(time.time()) - 10
    response = post_safe(wechat_stack, event_xml(user, "CLICK", "TALK_TO_HUMAN", create_time=created))
    assert response.status_code == 200
    answer(response, standin, user, OA_CRYPTO)
    retry = post_safe(wechat_stack, event_xml(user, "CLICK", "TALK_TO_HUMAN", create_time=created))
    assert retry.status_code == 200
    order = post_safe(wechat_stack, event_xml(user, "CLICK", "ORDER_STATUS", create_time=created + 1))
    assert order.status_code == 200
    texts = [e["text"] for e in user_events(wechat_stack, user)]
    assert texts == ["/human_handoff", "/order_status"]


def test_unsubscribe_is_recorded_and_answered_success(wechat_stack: Stack, standin: StandInProcess) -> None:
    user = openid()
    response = post_safe(wechat_stack, event_xml(user, "unsubscribe"))
    assert (response.status_code, response.text) == (200, "success")
    assert user_events(wechat_stack, user) == []


def test_unknown_message_type_gets_a_polite_text(wechat_stack: Stack) -> None:
    user = openid()
    xml = (
        f"<xml><ToUserName>gh_shop</ToUserName><FromUserName>{user}</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>shortvideo</MsgType><MediaId>m1</MediaId><MsgId>{msg_id()}</MsgId></xml>"
    )
    text = passive_text(post_safe(wechat_stack, xml), OA_CRYPTO)
    assert text and "文字" in text


def test_agent_reply_reaches_the_user_through_the_customer_service_api(
    wechat_stack: Stack, standin: StandInProcess
) -> None:
    user = openid()
    post_safe(wechat_stack, text_xml(user, "你好", msg_id()))
    response = requests.post(
        f"{wechat_stack.rasa_url}/conversations/wechat:{user}/tracker/events",
        params={"output_channel": "wechat", "execute_side_effects": "true", "token": wechat_stack.token},
        json={"event": "bot", "text": "您好，我是人工客服小王，请问有什么可以帮您？"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any("人工客服小王" in m["content"] for m in standin.sent(user)):
            break
        time.sleep(0.25)
    assert any("人工客服小王" in m["content"] for m in standin.sent(user))


def test_wecom_post(wechat_stack: Stack, standin: StandInProcess) -> None:
    user = f"zhang_{uuid.uuid4().hex[:8]}"
    inner = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[你好]]></Content><MsgId>{msg_id()}</MsgId><AgentID>{ENV['WECOM_AGENT_ID']}</AgentID></xml>"
    )
    timestamp, nonce = str(int(time.time())), "1372623149"
    envelope = xmltodict.parse(WECOM_CRYPTO.encrypt_message(inner, nonce, timestamp))["xml"]
    body = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID><![CDATA[{ENV['WECOM_AGENT_ID']}]]></AgentID>"
        f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    )
    params = {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    response = requests.post(wecom_url(wechat_stack), params=params, data=body.encode(), timeout=30)
    assert answer(response, standin, user, WECOM_CRYPTO).strip()
    events = user_events(wechat_stack, user, conversation_id=f"wecom:{CORP}:{user}")
    assert [e["text"] for e in events] == ["你好"] and events[0]["input_channel"] == "wecom"
    tampered = requests.post(wecom_url(wechat_stack), params={**params, "msg_signature": "0" * 40}, data=body.encode(), timeout=30)
    assert tampered.status_code == 403


# -- hostile input ------------------------------------------------------------------
@pytest.mark.parametrize("template", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
def test_hostile_xml_is_refused_unexpanded(wechat_stack: Stack, standin: StandInProcess, template: str) -> None:
    user = openid()
    payload = template.format(user=user, msg_id=msg_id())
    plain = post_plain(wechat_stack, payload)
    encrypted = post_safe(wechat_stack, payload)
    assert plain.status_code == 403  # plaintext is refused before parsing when AES is configured
    assert encrypted.status_code == 400
    for response in (plain, encrypted):
        assert "root:" not in response.text and "aaaaaaaaaa" not in response.text
    assert user_events(wechat_stack, user) == []
    assert standin.sent(user) == []
    # the channel is still fine
    assert requests.get(f"{wechat_stack.rasa_url}/webhooks/wechat/", timeout=10).json() == {"status": "ok"}


def test_malformed_and_huge_bodies(wechat_stack: Stack) -> None:
    assert post_aes_raw(wechat_stack, "<xml><Content>unterminated").status_code == 400
    assert post_aes_raw(wechat_stack, "\u0000\ufffd not xml 😀").status_code == 400
    assert post_aes_raw(wechat_stack, "<xml>" + "a" * 200_000 + "</xml>").status_code == 413
    assert post_aes_raw(wechat_stack, "").status_code == 400


def test_poison_in_the_decrypted_message_is_stripped(wechat_stack: Stack, standin: StandInProcess) -> None:
    """Control characters inside the encrypted XML (not valid XML 1.0) are removed, the rest kept."""
    user = openid()
    response = post_safe(wechat_stack, text_xml(user, "你\x01好\x1b", msg_id()))
    assert answer(response, standin, user, OA_CRYPTO).strip()
    assert [e["text"] for e in user_events(wechat_stack, user)] == ["你好"]
