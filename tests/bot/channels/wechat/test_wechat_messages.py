"""XML parsing (hostile input included), replies, text limits and turn decisions."""

from __future__ import annotations

import pytest

from bot.channels.wechat.messages import (
    MAX_TEXT_BYTES,
    ForbiddenXML,
    InboundMessage,
    MalformedXML,
    menu_choice,
    pack_texts,
    parse_xml,
    render_bot_message,
    split_text,
    text_reply_xml,
)
from bot.channels.wechat.turns import BOT, DEFAULT_CLICK_INTENTS, IGNORE, LOCAL, SUBSCRIBE, UNSUBSCRIBE, decide

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>&xxe;</Content></xml>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><Content>&lol4;</Content></xml>"""


def _msg(**fields: str) -> InboundMessage:
    base = {"ToUserName": "gh_1", "FromUserName": "o_user", "CreateTime": "1714036504"}
    return InboundMessage.from_fields({**base, **fields})


def test_parses_text_message() -> None:
    fields = parse_xml(
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_u]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好 😀 <b>]]></Content>"
        "<MsgId>42</MsgId></xml>"
    )
    message = InboundMessage.from_fields(fields)
    assert (message.content, message.msg_type, message.msg_id) == ("你好 😀 <b>", "text", "42")
    assert message.dedup_key() == "msg:42"


@pytest.mark.parametrize("payload", [XXE, LAUGHS])
def test_hostile_xml_is_refused_without_expansion(payload: bytes) -> None:
    with pytest.raises(ForbiddenXML):
        parse_xml(payload)


@pytest.mark.parametrize(
    "payload", [b"", b"   ", b"<xml>", b"not xml", b"<root><a>1</a></root>", b"\xff\xfe\x00", b"<xml><a>1</b></xml>"]
)
def test_malformed_xml(payload: bytes) -> None:
    with pytest.raises(MalformedXML):
        parse_xml(payload)


def test_message_without_sender_is_malformed() -> None:
    with pytest.raises(MalformedXML):
        InboundMessage.from_fields({"MsgType": "text"})


def test_event_dedup_key_uses_sender_and_create_time() -> None:
    click = _msg(MsgType="event", Event="CLICK", EventKey="ORDER_STATUS")
    assert click.dedup_key() == "evt:o_user:1714036504:click"
    assert _msg(MsgType="event", Event="LOCATION").dedup_key() != click.dedup_key()


def test_reply_xml_escapes_cdata_terminator() -> None:
    xml = text_reply_xml("o_user", "gh_1", "a ]]> b <script>", create_time=5)
    assert parse_xml(xml)["Content"] == "a ]]> b <script>"
    assert parse_xml(xml)["ToUserName"] == "o_user"


def test_split_text_respects_bytes_and_characters() -> None:
    text = ("订单查询😀" * 400 + "\n") * 3
    pieces = split_text(text)
    assert all(len(p.encode("utf-8")) <= MAX_TEXT_BYTES for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert split_text("  short ") == ["short"]
    assert split_text("") == []


def test_pack_texts_keeps_within_message_count_when_possible() -> None:
    assert pack_texts(["a", "b"], 5) == ["a", "b"]
    packed = pack_texts([f"line {i}" for i in range(12)], 5)
    assert len(packed) == 1 and packed[0].startswith("line 0") and packed[0].endswith("line 11")


def test_buttons_become_a_numbered_menu() -> None:
    rendered = render_bot_message(
        {"text": "要转人工吗？", "buttons": [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]}
    )
    assert rendered is not None
    assert rendered.text == "要转人工吗？\n1. 是\n2. 否"
    assert rendered.menu == ("/affirm", "/deny")
    assert render_bot_message({"custom": {"x": 1}}) is None
    assert render_bot_message({"text": "看图", "image": "https://x/y.png"}).text == "看图\nhttps://x/y.png"


def test_menu_choice() -> None:
    payloads = ["/affirm", "/deny"]
    assert menu_choice("2", payloads) == "/deny"
    assert menu_choice(" ２ ", payloads) == "/deny"
    assert menu_choice("1.", payloads) == "/affirm"
    assert menu_choice("3", payloads) is None
    assert menu_choice("12345678", payloads) is None
    assert menu_choice("1", []) is None
    assert menu_choice("好的", payloads) is None


@pytest.mark.parametrize(
    "fields,kind,text,key",
    [
        ({"MsgType": "text", "Content": " 我的订单 "}, BOT, "我的订单", ""),
        ({"MsgType": "text", "Content": "   "}, LOCAL, "", "msg_wechat_unsupported"),
        ({"MsgType": "voice", "Recognition": "查订单"}, BOT, "查订单", ""),
        ({"MsgType": "voice", "MediaId": "m"}, LOCAL, "", "msg_wechat_voice_unrecognised"),
        ({"MsgType": "image", "PicUrl": "http://p"}, LOCAL, "", "msg_wechat_image"),
        ({"MsgType": "event", "Event": "subscribe"}, SUBSCRIBE, "", "msg_wechat_welcome"),
        ({"MsgType": "event", "Event": "unsubscribe"}, UNSUBSCRIBE, "", ""),
        ({"MsgType": "event", "Event": "CLICK", "EventKey": "ORDER_STATUS"}, BOT, "/order_status", ""),
        ({"MsgType": "event", "Event": "CLICK", "EventKey": "TALK_TO_HUMAN"}, BOT, "/human_handoff", ""),
        ({"MsgType": "event", "Event": "CLICK", "EventKey": "NOPE"}, LOCAL, "", "msg_wechat_unknown_menu"),
        ({"MsgType": "event", "Event": "VIEW", "EventKey": "https://x"}, IGNORE, "", ""),
        ({"MsgType": "video", "MediaId": "m"}, LOCAL, "", "msg_wechat_unsupported"),
        ({"MsgType": "miniprogrampage"}, LOCAL, "", "msg_wechat_unsupported"),
    ],
)
def test_decisions(fields, kind, text, key) -> None:
    decision = decide(_msg(**fields), DEFAULT_CLICK_INTENTS)
    assert (decision.kind, decision.text, decision.key) == (kind, text, key)
