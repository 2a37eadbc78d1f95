"""微信客服 conformance: a real Kefu stack (Rasa, action server, console) with the channel switched on,
WeCom's API played by the stand-in process (tests/bot/channels/wechat_kf_standin.py) and the callback
built by wechatpy 1.8.18 (an independent implementation of WeCom's signature and AES envelope).

Acceptance (issue 26): a customer message arrives by the sync cursor, is answered once, and an agent
reply reaches the customer; a restart in the middle loses and repeats nothing.
"""

from __future__ import annotations

import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import quote

import pytest
import requests
import sqlalchemy
import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner

from tests.bot.channels.wechat_kf_standin import CORP_ID, OPEN_KFID, SECRET
from tests.harness import ROOT, Command, HttpReady, ServerProcess, environ_without, free_port
from tests.stack import Stack, model_missing_reason

TOKEN = "kfcallbacktoken"
AES_KEY = "kfStandInEncodingAESKey0123456789abcdefghij"
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)


class KfStandInProcess:
    def __init__(self, workdir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = Command(
            "wxkf stand-in",
            [sys.executable, str(ROOT / "tests/bot/channels/wechat_kf_standin.py"), "--port", str(port)],
            environ_without(), HttpReady(f"{self.url}/_standin/health", below=300), cwd=ROOT,
        )
        self.process = ServerProcess.start(command, workdir / "wxkf_standin.log")
        try:
            self.process.wait_ready()
        except BaseException:
            self.process.stop(grace=10)
            raise

    def control(self, endpoint: str, **body: Any) -> Dict[str, Any]:
        response = requests.post(f"{self.url}/_standin/{endpoint}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def sent(self, user: str) -> List[Dict[str, Any]]:
        return [m for m in requests.get(f"{self.url}/_standin/sent", timeout=5).json() if m["touser"] == user]

    def calls(self, path: str) -> List[Dict[str, Any]]:
        return [c for c in requests.get(f"{self.url}/_standin/calls", timeout=5).json() if c["path"] == path]

    def stop(self) -> None:
        self.process.stop(grace=10)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KfStandInProcess]:
    server = KfStandInProcess(tmp_path_factory.mktemp("wxkf_standin"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: KfStandInProcess) -> Iterator[Stack]:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    env = {"WXKF_CORP_ID": CORP_ID, "WXKF_SECRET": SECRET, "WXKF_TOKEN": TOKEN, "WXKF_AES_KEY": AES_KEY,
           "WXKF_OPEN_KFIDS": OPEN_KFID, "WXKF_API_BASE": standin.url}
    started = Stack.start(tmp_path_factory.mktemp("wxkf_stack"), extra_env=env)
    yield started
    started.stop()


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def webhook(stack: Stack) -> str:
    return f"{stack.rasa_url}/webhooks/wxkf/webhook"


def callback(stack: Stack, token: str, open_kfid: str = OPEN_KFID, timestamp: Optional[str] = None,
             tamper: bool = False) -> requests.Response:
    """The encrypted ``kf_msg_or_event`` as WeCom posts it: fresh timestamp and nonce each time."""
    timestamp = timestamp or str(int(time.time()))
    nonce = str(uuid.uuid4().int % 10**10)
    inner = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>{timestamp}</CreateTime>"
             "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
             f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId></xml>")
    envelope = xmltodict.parse(CRYPTO.encrypt_message(inner, nonce, timestamp))["xml"]
    params = {"msg_signature": "0" * 40 if tamper else envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]>"
            "</Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
    return requests.post(webhook(stack), params=params, data=body.encode("utf-8"), timeout=30)


def customer(standin: KfStandInProcess, user: str, text: str) -> Dict[str, Any]:
    return standin.control("customer", open_kfid=OPEN_KFID, external_userid=user, content=text)


def new_user() -> str:
    return f"wm{uuid.uuid4().hex[:20]}"


def conversation_id(user: str) -> str:
    return f"wxkf:{OPEN_KFID}:{user}"


def tracker(stack: Stack, user: str) -> Dict[str, Any]:
    return stack.tracker(conversation_id(user))


def user_events(stack: Stack, user: str) -> List[Dict[str, Any]]:
    return [e for e in tracker(stack, user)["events"] if e["event"] == "user"]


def wait_for(check: Callable[[], Any], timeout: float = 90.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def outbox_rows(stack: Stack, user: str) -> List[Any]:
    engine = sqlalchemy.create_engine(stack.env["KEFU_APP_DB_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(
                "SELECT status, attempts, last_error FROM kefu_wechat_outbox WHERE channel = 'wxkf' AND recipient = :r"
                " ORDER BY id"), {"r": f"{OPEN_KFID}:{user}"}).fetchall()
    finally:
        engine.dispose()


def settled(stack: Stack, user: str) -> List[Any]:
    """The outbox rows of ``user`` once none is pending any more."""
    def check() -> Optional[List[Any]]:
        rows = outbox_rows(stack, user)
        return rows if rows and all(r[0] != "pending" for r in rows) else None
    return wait_for(check, what="the outbox rows to settle")


def handed_once(stack: Stack, user: str, msgids: List[str]) -> None:
    ids = [e.get("message_id") for e in user_events(stack, user)]
    assert ids == [f"wxkf-{m}" for m in msgids], ids


# -- callback verification ----------------------------------------------------------
def test_url_verification(stack: Stack) -> None:
    timestamp, nonce, plain = str(int(time.time())), "5498742", "1616140317555161061"
    echostr = PrpCrypto(CRYPTO.key).encrypt(plain, CORP_ID).decode()
    params = {"msg_signature": sign(TOKEN, timestamp, nonce, echostr), "timestamp": timestamp, "nonce": nonce,
              "echostr": echostr}
    good = requests.get(webhook(stack), params=params, timeout=30)
    assert (good.status_code, good.text) == (200, plain)
    bad = requests.get(webhook(stack), params={**params, "msg_signature": "0" * 40}, timeout=30)
    assert bad.status_code == 403 and plain not in bad.text
    foreign = PrpCrypto(CRYPTO.key).encrypt(plain, "ww_other_corp").decode()
    other = requests.get(webhook(stack), params={**params, "echostr": foreign,
                                                 "msg_signature": sign(TOKEN, timestamp, nonce, foreign)}, timeout=30)
    assert other.status_code == 403 and plain not in other.text


def test_callbacks_with_bad_signature_stale_timestamp_or_replayed_are_refused(stack: Stack, standin: KfStandInProcess) -> None:
    token = customer(standin, new_user(), "你好")["token"]
    assert callback(stack, token, tamper=True).status_code == 403
    stale = callback(stack, token, timestamp=str(int(time.time()) - 3600))
    assert stale.status_code == 403 and "timestamp" in stale.text
    first = callback(stack, token)
    assert (first.status_code, first.text) == (200, "success")
    replay = requests.post(first.request.url, data=first.request.body, timeout=30)
    assert replay.status_code == 403 and "replayed" in replay.text
    garbage = requests.post(webhook(stack), params={"msg_signature": "a" * 40, "timestamp": str(int(time.time())),
                                                    "nonce": "1"}, data=b"<xml><Encrypt>", timeout=30)
    assert garbage.status_code == 400


# -- the acceptance scenario ----------------------------------------------------------
def test_a_customer_message_is_answered_once_through_the_cursor(stack: Stack, standin: KfStandInProcess) -> None:
    user = new_user()
    first = customer(standin, user, "你好")
    assert callback(stack, first["token"]).text == "success"
    wait_for(lambda: standin.sent(user), what="the bot's answer through kf/send_msg")
    # WeCom retries the callback, and sends the whole page again: neither is a new message
    assert callback(stack, first["token"]).text == "success"
    standin.control("rewind", open_kfid=OPEN_KFID)
    second = customer(standin, user, "谢谢")
    assert callback(stack, second["token"]).text == "success"
    wait_for(lambda: len(user_events(stack, user)) >= 2, what="the second message in the conversation")
    rows = settled(stack, user)
    handed_once(stack, user, [first["msgid"], second["msgid"]])
    sent = standin.sent(user)
    assert len(sent) == len(rows) and all(r[0] == "sent" and r[1] == 1 for r in rows), (sent, rows)
    bodies = [c["body"] for c in standin.calls("/cgi-bin/kf/send_msg") if c["body"]["touser"] == user]
    assert all(b["open_kfid"] == OPEN_KFID and b["msgtype"] == "text" for b in bodies)
    syncs = [c["body"] for c in standin.calls("/cgi-bin/kf/sync_msg")]
    assert any(b.get("token") == first["token"] for b in syncs), "the callback's Token is used for the pull"


def test_a_restart_in_the_middle_of_a_pull_loses_and_repeats_nothing(stack: Stack, standin: KfStandInProcess) -> None:
    user = new_user()
    before = customer(standin, user, "你好")
    callback(stack, before["token"])
    wait_for(lambda: standin.sent(user), what="the first answer")
    settled(stack, user)
    # the next pull hangs inside WeCom's API while Rasa is killed; a message also comes while Rasa is down
    standin.control("faults", path="/cgi-bin/kf/sync_msg", kind="timeout", delay=8, count=1)
    during = customer(standin, user, "我的订单到哪了")
    calls = len(standin.calls("/cgi-bin/kf/sync_msg"))
    callback(stack, during["token"])
    wait_for(lambda: len(standin.calls("/cgi-bin/kf/sync_msg")) > calls, what="the pull to start")
    stack.kill("rasa", signal.SIGKILL)
    down = customer(standin, user, "在吗")
    stack.spawn("rasa")
    stack.wait_ready(["rasa"])
    # nobody calls back: the start-up pull finds both messages
    wait_for(lambda: len(user_events(stack, user)) >= 3, timeout=120, what="the messages after the restart")
    standin.control("rewind", open_kfid=OPEN_KFID)
    last = customer(standin, user, "谢谢")
    callback(stack, last["token"])
    wait_for(lambda: len(user_events(stack, user)) >= 4, what="the last message")
    rows = settled(stack, user)
    handed_once(stack, user, [before["msgid"], during["msgid"], down["msgid"], last["msgid"]])
    assert len(standin.sent(user)) == len(rows) and all(r[0] == "sent" for r in rows)


def test_a_handoff_keeps_the_session_and_the_agent_reply_reaches_the_customer(stack: Stack, standin: KfStandInProcess) -> None:
    user = new_user()
    message = customer(standin, user, "/human_handoff")
    callback(stack, message["token"])
    wait_for(lambda: tracker(stack, user).get("paused"), what="the handoff (paused conversation)")
    agent_text = f"您好，我是客服小王 {uuid.uuid4().hex[:6]}"
    response = requests.post(
        f"{stack.rasa_url}/conversations/{quote(conversation_id(user), safe=':')}/tracker/events",
        params={"token": stack.token, "execute_side_effects": "true", "output_channel": "latest"},
        json=[{"event": "bot", "text": agent_text}], timeout=30,
    )
    assert response.status_code == 200, response.text
    assert wait_for(lambda: [m for m in standin.sent(user) if m["content"] == agent_text], what="the agent reply")
    # the channel never moves the session away from the API (kf/service_state/trans is not called)
    assert not standin.calls("/cgi-bin/kf/service_state/trans")


def test_out_of_the_48_hour_window_is_reported_and_not_retried(stack: Stack, standin: KfStandInProcess) -> None:
    user = new_user()
    message = customer(standin, user, "你好")
    callback(stack, message["token"])
    wait_for(lambda: standin.sent(user), what="the first answer")
    settled(stack, user)
    standin.control("age", open_kfid=OPEN_KFID, external_userid=user, hours=49)
    response = requests.post(
        f"{stack.rasa_url}/conversations/{quote(conversation_id(user), safe=':')}/tracker/events",
        params={"token": stack.token, "execute_side_effects": "true", "output_channel": "latest"},
        json=[{"event": "bot", "text": "两天后的回复"}], timeout=30,
    )
    assert response.status_code == 500 and "kefu_undeliverable:95002" in response.text
    assert response.json()["details"]["event_saved"] is True
    assert any(e["event"] == "bot" and e.get("text") == "两天后的回复" for e in tracker(stack, user)["events"])
    attempts = [c for c in standin.calls("/cgi-bin/kf/send_msg")
                if c["body"]["touser"] == user and c["body"]["text"]["content"] == "两天后的回复"]
    assert [c["answer"] for c in attempts] == [95002], "refused once, never retried"


def test_a_customer_cannot_drive_the_bot_with_control_payloads(stack: Stack, standin: KfStandInProcess) -> None:
    user = new_user()
    for text in ("你好", "/restart"):
        message = customer(standin, user, text)
        callback(stack, message["token"])
    wait_for(lambda: len(user_events(stack, user)) >= 2, what="both messages")
    events = tracker(stack, user)["events"]
    assert not [e for e in events if e["event"] == "restart"]
    assert user_events(stack, user)[-1]["parse_data"]["intent"].get("name") != "restart"
