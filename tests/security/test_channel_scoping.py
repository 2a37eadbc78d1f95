"""Attack: speak into, or read, another channel's or another client's conversation.

When every channel used the caller's own id as the conversation id, a REST caller who sent a
WeChat customer's openid as ``sender`` wrote into that customer's WeChat conversation and
inherited its verified identity (their orders), and a socket.io client could ask for any session
id it liked, including one another browser chose, and read that conversation's history. Now ids
are scoped by channel (``rest:``, ``web:``, ``wechat:``; kernel/conversation_ids.py) and widget
session ids are issued and signed by the server (kernel/session_ids.py).

Against the real stack (Rasa with the REST, socket.io and WeChat channels, the action server, the
console for the widget's history endpoint, the WeChat API stand-in), over real HTTP / socket.io /
signed and encrypted WeChat posts.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.bot.channels.wechat.conftest import ENV, StandInProcess
from tests.security.channel_clients import WidgetClient, events_of, history, raw_tracker, rest_say, seeded_store
from tests.stack import Stack, model_missing_reason

#: C0001 王芳's bound WeChat openid in the demo store (actions/store/demo/customers.yml).
VICTIM_OPENID = "oKefuDemoOpenid0000000000001"
ORDER_NUMBER = re.compile(r"KF\d{11}")
PROMPT_EXAMPLE = "KF20261120001"  # utter_ask_order_id's example


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    server = StandInProcess(Path(tmp_path_factory.mktemp("scoping_standin")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    workdir = Path(tmp_path_factory.mktemp("channel_scoping"))
    running = Stack.start(workdir / "stack",
                          extra_env={**ENV, "WECHAT_API_BASE": standin.url, **seeded_store(workdir)})
    try:
        yield running
    finally:
        running.stop()


def wechat_say(stack: Stack, openid: str, text: str) -> requests.Response:
    """A text message as WeChat posts it in safe mode: signed, encrypted, fresh timestamp and nonce."""
    crypto = WeChatCrypto(ENV["WECHAT_TOKEN"], ENV["WECHAT_AES_KEY"], ENV["WECHAT_APPID"])
    timestamp, nonce = str(int(time.time())), str(uuid.uuid4().int % 10**10)
    message_id = str(int(time.time() * 1000) * 1000 + uuid.uuid4().int % 1000)
    xml = (f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[{text}]]></Content><MsgId>{message_id}</MsgId></xml>")
    fields = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    signer = WeChatSigner()
    signer.add_data(ENV["WECHAT_TOKEN"], timestamp, nonce)
    params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
              "msg_signature": fields["MsgSignature"], "openid": openid}
    body = f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    response = requests.post(f"{stack.rasa_url}/webhooks/wechat/webhook", params=params, data=body.encode(),
                             timeout=60)
    assert response.status_code == 200, response.text
    return response


def wechat_conversation(stack: Stack, openid: str, texts: int) -> Dict[str, Any]:
    """The WeChat customer's conversation, once its turns are stored (its id is the channel's business)."""
    deadline = time.monotonic() + 90
    while True:
        for conversation_id in (f"wechat:{openid}", openid):
            tracker = raw_tracker(stack, conversation_id)
            wechat_turns = [e for e in events_of(tracker, "user") if e.get("input_channel") == "wechat"]
            done = [e for e in events_of(tracker, "action") if e.get("name") == "action_listen"]
            if len(wechat_turns) >= texts and len(done) >= texts + 1:
                return tracker
        assert time.monotonic() < deadline, "the WeChat conversation was not stored"
        time.sleep(0.5)


def order_numbers(messages: List[Dict[str, Any]]) -> set:
    return {n for m in messages for n in ORDER_NUMBER.findall(str(m.get("text") or ""))} - {PROMPT_EXAMPLE}


def test_rest_sender_equal_to_a_wechat_openid_gets_nothing_of_that_conversation(stack: Stack) -> None:
    # the customer, on WeChat, asks for their orders (identified by their bound openid)
    wechat_say(stack, VICTIM_OPENID, "看看我的订单")
    victim = wechat_conversation(stack, VICTIM_OPENID, texts=1)
    victim_id = victim["sender_id"]
    victim_users_before = [e.get("text") for e in events_of(victim, "user")]

    # the attacker posts to the REST channel with the openid as sender, and as the scoped id too
    stolen: List[Dict[str, Any]] = []
    for sender in (VICTIM_OPENID, f"wechat:{VICTIM_OPENID}"):
        stolen += rest_say(stack, sender, "看看我的订单")
        stolen += rest_say(stack, sender, "我的订单到哪了")

    victim_after = raw_tracker(stack, victim_id)
    # nothing was written into the WeChat customer's conversation
    assert [e.get("input_channel") for e in events_of(victim_after, "user")] == ["wechat"], \
        f"the REST caller spoke into the WeChat conversation {victim_id!r}"
    assert [e.get("text") for e in events_of(victim_after, "user")] == victim_users_before
    # the attacker's conversations are their own and carry no verified identity
    for sender in (VICTIM_OPENID, f"wechat:{VICTIM_OPENID}"):
        own = raw_tracker(stack, f"rest:{sender}")
        if not events_of(own, "user"):
            own = raw_tracker(stack, sender)  # where the code before the change put it
        assert own["sender_id"] != victim_id, "the REST caller got the WeChat customer's conversation"
        assert own["slots"].get("verified_customer_id") in (None, ""), \
            f"the REST caller is verified as {own['slots'].get('verified_customer_id')!r}"
    # and saw no order number at all (the customer was shown theirs on WeChat)
    assert order_numbers(stolen) == set(), f"the REST caller saw orders: {order_numbers(stolen)}"
    # the widget's history endpoint does not open the WeChat conversation either
    for asked in (VICTIM_OPENID, f"wechat:{VICTIM_OPENID}"):
        answer = history(stack, asked)
        assert answer.status_code in (200, 400) and not (answer.json().get("messages") or [])


def test_socketio_client_cannot_choose_or_take_over_a_session(stack: Stack) -> None:
    victim = WidgetClient(stack)
    attacker = WidgetClient(stack)
    try:
        # a browser that picks its own id (as the widget used to) is given a server-issued one
        chosen = f"victim-chosen-{uuid.uuid4().hex[:12]}"
        victim_session = victim.session(chosen)
        assert victim.say(victim_session, "我的手机号是13812345678，地址上海", "v-1")["event"] == "user_uttered_ack"
        deadline = time.monotonic() + 90
        while not any("13812345678" in (m.get("text") or "") for m in history(stack, victim_session).json()["messages"]):
            assert time.monotonic() < deadline, "the owner cannot read their own history"
            time.sleep(0.5)

        # the attacker asks for the id the victim chose, a tampered signature, the WeChat openid
        tampered = victim_session[:-1] + ("0" if victim_session[-1] != "0" else "1")
        for asked in (chosen, tampered, VICTIM_OPENID):
            got = attacker.session(asked)
            assert got not in (asked, victim_session), f"the server accepted the client-chosen id {asked!r}"
            leaked = history(stack, got).json().get("messages") or []
            assert not any("13812345678" in (m.get("text") or "") for m in leaked)
        # the victim's conversation got nothing from the attacker, and the history by a guessed id is empty
        for asked in (chosen, tampered):
            answer = history(stack, asked)
            assert not (answer.json().get("messages") or []), f"history for {asked!r} leaked the conversation"
        # a message naming the victim's session without the server's word for it reaches nobody
        reply = attacker.say(tampered, "我是本人，请给我看订单", "a-1")
        assert reply["event"] == "kefu_error"
        victim_tracker = raw_tracker(stack, f"web:{victim_session}")
        assert [e.get("text") for e in events_of(victim_tracker, "user")] == ["我的手机号是13812345678，地址上海"]
    finally:
        victim.close()
        attacker.close()
