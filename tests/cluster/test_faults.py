"""Fault tests on a real multi-process cluster (tests/cluster/cluster.py): 2 Rasa replicas and
2 action servers behind nginx, the console, a private PostgreSQL and the machine's Redis, all
configured by endpoints.prod.yml. Each fault is one test with assertions on what the customer
received and on what is stored.

The tests share one cluster (module scope) and leave it whole: whatever a test stops, it starts
again before it ends.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Set

import pytest
import redis as redis_lib
import requests

from kernel.i18n import text as bot_text
from tests.cluster.cluster import REDIS_DBS, Cluster
from tests.console.process import Console

pytestmark = pytest.mark.timeout(900)

APOLOGY = bot_text("utter_default", "zh-Hans")
FAQ_QUESTIONS = ["怎么开发票", "退货的运费谁来出", "你们门店几点开门", "会员积分怎么用",
                 "支持哪些付款方式", "退款多久能到账", "可以在门店自提吗", "商品保修多久"]


def _sender(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def _user_texts(tracker: Dict[str, Any]) -> List[str]:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


def _turns(tracker: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
    """The events after each user message, up to the next one."""
    turns: List[List[Dict[str, Any]]] = []
    for event in tracker["events"]:
        if event["event"] == "user":
            turns.append([])
        elif turns:
            turns[-1].append(event)
    return turns


def _wait(predicate, timeout: float = 60.0, interval: float = 0.5):  # type: ignore[no-untyped-def]
    """Poll until ``predicate()`` is truthy; a generous deadline for recovery, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# -- 1. one conversation, concurrent messages on both replicas ------------------------------------
def test_concurrent_messages_on_both_replicas_keep_one_consistent_tracker(cluster: Cluster) -> None:
    sender = _sender("concurrent")
    cluster.say(sender, "你好", via="rasa-1")
    lock_keys: Set[str] = set()
    watching = threading.Event()
    red = redis_lib.Redis(host=cluster.env["KEFU_REDIS_HOST"], port=int(cluster.env["KEFU_REDIS_PORT"]),
                          db=REDIS_DBS["lock"])
    prefix = cluster.env["KEFU_REDIS_LOCK_PREFIX"]

    def watch() -> None:
        while not watching.is_set():
            lock_keys.update(k.decode() for k in red.scan_iter(match=f"{prefix}:*", count=100))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=len(FAQ_QUESTIONS)) as pool:
            futures = [pool.submit(cluster.post, sender, question, f"rasa-{1 + i % 2}")
                       for i, question in enumerate(FAQ_QUESTIONS)]
            responses = [f.result() for f in futures]
    finally:
        watching.set()
        watcher.join(timeout=10)

    for question, response in zip(FAQ_QUESTIONS, responses, strict=True):
        assert response.status_code == 200, (question, response.text)
        assert response.json(), f"no reply to {question!r}"
    # the replicas serialised the conversation through Rasa's Redis lock
    assert any(sender in key for key in lock_keys), lock_keys

    tracker = cluster.tracker(sender)
    users = _user_texts(tracker)
    assert sorted(users) == sorted(["你好", *FAQ_QUESTIONS])  # every message once, none lost
    for turn in _turns(tracker):
        actions = [e["name"] for e in turn if e["event"] == "action"]
        # each turn ran to completion before the next message was processed: the bot did
        # something, and the turn ends by listening (no interleaved half-turns)
        assert actions and actions[-1] == "action_listen", actions
        assert actions.count("action_listen") == 1, actions
        assert any(e["event"] == "bot" for e in turn), turn


# -- 2. a Rasa replica dies mid-conversation --------------------------------------------------------
def test_killed_replica_conversation_continues_on_the_other_with_its_history(cluster: Cluster) -> None:
    sender = _sender("failover")
    first = cluster.say(sender, "我的订单 KF20261120001 到哪了", via="rasa-1")
    assert first, "no reply before the failure"
    cluster.kill("rasa-1", signal.SIGKILL)
    try:
        assert not cluster.alive("rasa-1")
        # the phone suffix only makes sense with the order number from the previous turn, which
        # lives in PostgreSQL, not in the dead replica
        second = cluster.say(sender, "5678")
        assert "KF20261120001" in _texts(second), second
        tracker = cluster.tracker(sender)
        assert _user_texts(tracker) == ["我的订单 KF20261120001 到哪了", "5678"]
        assert tracker["slots"].get("order_verified") == "KF20261120001"  # checked on the surviving replica
        more = cluster.say(sender, "谢谢")
        assert more
    finally:
        cluster.spawn("rasa-1")
        cluster.wait_ready(["rasa-1"])
    # the restarted replica sees the same conversation
    assert cluster.say(sender, "你好", via="rasa-1")
    assert _user_texts(cluster.tracker(sender))[-1] == "你好"


# -- 3. action servers down -------------------------------------------------------------------------
def test_action_server_down_gets_an_apology_and_the_offer_of_a_person(cluster: Cluster) -> None:
    sender = _sender("actions-down")
    cluster.say(sender, "你好")
    cluster.kill("actions-1")
    try:
        # one action server left: nginx sends every action call to it
        for question in FAQ_QUESTIONS[:3]:
            replies = cluster.say(sender, question)
            assert replies and APOLOGY not in _texts(replies), replies
        cluster.kill("actions-2")
        response = cluster.post(sender, "怎么开发票")
        assert response.status_code == 200, response.text
        replies = response.json()
        assert [r.get("text") for r in replies] == [APOLOGY], replies
        assert any(b.get("payload") == "/human_handoff" for b in replies[0].get("buttons") or []), replies
        # the message itself is kept: the conversation is whole when the actions come back
        assert _user_texts(cluster.tracker(sender))[-1] == "怎么开发票"
    finally:
        for name in ("actions-1", "actions-2"):
            if not cluster.alive(name):
                cluster.spawn(name)
        cluster.wait_ready(["actions-1", "actions-2"])
    # nginx retries the restarted servers once their fail_timeout (5 s here) is over: answers come back
    # without restarting anything else
    replies = _wait(lambda: [r for r in [cluster.say(sender, "怎么开发票")] if APOLOGY not in _texts(r)], timeout=60)
    assert replies and replies[0], replies


def _event_calls(cluster: Cluster) -> Dict[str, Dict[str, float]]:
    """Each action server's ``kefu_action_events_calls_total`` by kind (actions/metrics.py)."""
    import re

    found = {}
    for name in ("actions-1", "actions-2"):
        text = requests.get(f"{cluster.url_of(name)}/metrics", timeout=10).text
        found[name] = {m.group(1): float(m.group(2)) for m in
                       re.finditer(r'^kefu_action_events_calls_total\{kind="(\w+)"\} (\S+)$', text, re.M)}
    return found


def test_a_conversations_action_calls_stay_on_one_action_server_and_carry_only_new_events(cluster: Cluster) -> None:
    """bot.action_events behind nginx: the calls of one conversation reach one action server (nginx hashes on
    X-Kefu-Conversation), so after the first only new events travel; another replica's tracker sends every event,
    and nothing is refused (no 409)."""
    sender = _sender("deltas")
    before = _event_calls(cluster)
    for question in FAQ_QUESTIONS[:5]:
        assert cluster.say(sender, question, via="rasa-1")
    after = _event_calls(cluster)
    changed = [name for name in after if after[name] != before[name]]
    assert len(changed) == 1, (before, after)
    server = changed[0]
    grew = {kind: after[server][kind] - before[server][kind] for kind in after[server]}
    # one custom action a turn (the FAQ); the first two turns send every event: the tracker after a turn that starts
    # the session is read again from the database (bot.tracker_save keeps it only from the 2nd turn on)
    assert grew == {"full": 2, "delta": 3, "unknown": 0}, grew
    # the other replica reads the conversation from PostgreSQL: a new tracker sends every event, to the same server
    assert cluster.say(sender, FAQ_QUESTIONS[5], via="rasa-2")
    final = _event_calls(cluster)
    assert final[server]["full"] == after[server]["full"] + 1 and final[server]["unknown"] == after[server]["unknown"]
    assert all(final[name] == after[name] for name in final if name != server)
    assert _user_texts(cluster.tracker(sender)) == FAQ_QUESTIONS[:6]


# -- 4. PostgreSQL restarts under traffic -----------------------------------------------------------
def test_postgres_restart_during_traffic_fails_cleanly_and_recovers(cluster: Cluster) -> None:
    senders = [_sender(f"pg-{i}") for i in range(3)]
    outcomes: List[Dict[str, Any]] = []
    stop = threading.Event()

    def customer(sender: str) -> None:
        n = 0
        while not stop.is_set():
            message = f"{FAQ_QUESTIONS[n % len(FAQ_QUESTIONS)]} #{n}"
            n += 1
            try:
                response = cluster.post(sender, message, timeout=90)
                outcomes.append({"sender": sender, "message": message, "status": response.status_code,
                                 "body": response.text})
            except requests.RequestException as error:
                outcomes.append({"sender": sender, "message": message, "status": None, "body": repr(error)})
            stop.wait(2.1)  # below the REST channel's default limit of 30 messages a minute per sender

    threads = [threading.Thread(target=customer, args=(s,), daemon=True) for s in senders]
    for thread in threads:
        thread.start()
    try:
        _wait(lambda: sum(o["status"] == 200 for o in outcomes) >= 6, timeout=120)
        cluster.pg.restart(down_seconds=3)
        before = len(outcomes)
        # service comes back by itself: every customer gets answers again, without restarting Kefu
        recovered = _wait(lambda: all(any(o["status"] == 200 and o["sender"] == s and o["body"] not in ("", "[]")
                                          for o in outcomes[before:]) for s in senders), timeout=120)
        assert recovered, outcomes[-10:]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)

    # nothing hung, nothing crashed
    assert all(o["status"] is not None for o in outcomes), [o for o in outcomes if o["status"] is None]
    for name in cluster.processes:
        assert cluster.alive(name), f"{name} died:\n{cluster.log(name)[-3000:]}"
    # a failure is an explicit error status with a JSON body (bot.channels.rest: 503 processing_failed;
    # nginx: 502 when a replica cut the connection), never a silent 200 without a reply
    for o in outcomes:
        if o["status"] != 200:
            assert o["status"] in (502, 503), o
            assert json.loads(o["body"]).get("error"), o
        else:
            assert o["body"] not in ("", "[]"), o
    # every message acknowledged with an answer is stored
    for sender in senders:
        stored = set(_user_texts(cluster.tracker(sender)))
        answered = [o["message"] for o in outcomes if o["sender"] == sender and o["status"] == 200]
        assert answered and set(answered) <= stored, set(answered) - stored


# -- 5. console restarts during a live handoff ------------------------------------------------------
def test_console_restart_during_live_handoff_loses_no_message(cluster: Cluster) -> None:
    agents = Console(cluster.workdir / "agent-client", {"KEFU_CONSOLE_PORT": str(cluster.ports["agent"])})
    sender = _sender("console-restart")
    replies = cluster.say(sender, "我要转人工")
    assert any((r.get("custom") or {}).get("kefu_event", {}).get("type") == "handoff_queued" for r in replies), replies
    admin = agents.login("admin")
    tickets = agents.wait_for(lambda: [t for t in admin.get("/api/tickets").json()["tickets"]
                                       if t["sender_id"] == f"rest:{sender}"], timeout=60)
    assert tickets
    ticket_id = tickets[0]["id"]
    wang = agents.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "您好，我是小王"}).raise_for_status()

    cluster.kill("console", signal.SIGKILL)
    agents.stop()  # drop the agents' connections to the dead process
    during = ["订单号是 KF20261118001", "杯子碎了，照片稍后发您"]
    for message in during:
        assert cluster.say(message=message, sender=sender) == []  # the bot stays silent for the agent
    cluster.spawn("console")
    cluster.wait_ready(["console"])

    def customer_messages() -> List[str]:
        return [m["text"] for m in agents.ticket(ticket_id, "wang")["messages"] if m["author"] == "customer"]

    seen = agents.wait_for(lambda: all(m in customer_messages() for m in during) and customer_messages(),
                           timeout=60)
    assert seen, customer_messages()
    for message in during:
        assert customer_messages().count(message) == 1, customer_messages()
    wang = agents.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/messages", json={"text": "收到，马上为您补发"}).raise_for_status()
    bot_texts = [e.get("text") for e in cluster.tracker(sender)["events"] if e["event"] == "bot"]
    assert bot_texts.count("您好，我是小王") == 1 and bot_texts.count("收到，马上为您补发") == 1, bot_texts
    agents.stop()


# -- logs ---------------------------------------------------------------------------------------------
def test_logs_are_json_lines_with_the_conversation_and_no_personal_data(cluster: Cluster) -> None:
    sender = _sender("logs")
    phone = "13812345678"
    cluster.say(sender, f"我的手机号是{phone}，订单 KF20261118001 到哪了")
    cluster.say(sender, "1234")
    found = False
    for name in cluster.processes:
        text = cluster.log(name)
        assert phone not in text, f"{name} logged a phone number"
        if name.startswith("actions"):
            for line in text.splitlines():
                if line.startswith("{") and sender in line:
                    record = json.loads(line)
                    found = found or record.get("conversation_id") == f"rest:{sender}"  # REST ids are scoped
    assert found, "no JSON log line of the action servers carries the conversation id"


# -- fan-out and de-duplication across replicas -------------------------------------------------------
def test_agent_reply_reaches_a_browser_connected_to_another_replica(cluster: Cluster) -> None:
    """The widget is connected to rasa-1; the console's reply goes through rasa-2 (Redis manager)."""
    import socketio

    received: List[Dict[str, Any]] = []
    confirmed: List[str] = []  # the server issues (signs) the session id
    client = socketio.Client(reconnection=False)
    client.on("bot_uttered", lambda data: received.append(data))
    client.on("session_confirm", lambda data: confirmed.append(data))
    client.connect(cluster.url_of("rasa-1"), transports=["websocket"], wait_timeout=30)
    try:
        client.emit("session_request", {"session_id": None})
        assert _wait(lambda: confirmed, timeout=30)
        session = confirmed[0]
        client.emit("user_uttered", {"message": "你好", "session_id": session})
        assert _wait(lambda: received, timeout=60), "no greeting over socket.io"
        response = requests.post(
            f"{cluster.url_of('rasa-2')}/conversations/web:{session}/tracker/events",
            params={"token": cluster.token, "output_channel": "socketio", "execute_side_effects": "true"},
            json=[{"event": "bot", "text": "您好，我是客服小王"}], timeout=30)
        assert response.status_code == 200, response.text
        assert _wait(lambda: any(m.get("text") == "您好，我是客服小王" for m in received), timeout=30), received
    finally:
        client.disconnect()


def _wechat_post(cluster: Cluster, via: str, xml: str) -> requests.Response:
    """Safe mode (the only mode accepted when an EncodingAESKey is configured), fresh timestamp and nonce."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    token = cluster.env["WECHAT_TOKEN"]
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    crypto = WeChatCrypto(token, cluster.env["WECHAT_AES_KEY"], cluster.env["WECHAT_APPID"])
    fields = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
    body = f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[{fields['Encrypt']}]]></Encrypt></xml>"
    return requests.post(f"{cluster.url_of(via)}/webhooks/wechat/webhook",
                         params={"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": "x",
                                 "encrypt_type": "aes", "msg_signature": fields["MsgSignature"]},
                         data=body.encode("utf-8"), headers={"Content-Type": "text/xml"}, timeout=30)


def test_wechat_retry_on_another_replica_is_processed_once(cluster: Cluster) -> None:
    openid = "o" + uuid.uuid4().hex[:20]
    msg_id = str(int(time.time() * 1000))
    xml = (f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[怎么开发票]]></Content><MsgId>{msg_id}</MsgId></xml>")
    first = _wechat_post(cluster, "rasa-1", xml)
    assert first.status_code == 200, first.text
    retry = _wechat_post(cluster, "rasa-2", xml)  # WeChat's retry, landing on the other replica
    assert retry.status_code == 200, retry.text
    users = [e for e in cluster.tracker(f"wechat:{openid}")["events"] if e["event"] == "user"]
    assert [e["text"] for e in users] == ["怎么开发票"], users


def test_rasa_http_api_is_not_public(cluster: Cluster) -> None:
    sender = _sender("api")
    cluster.say(sender, "你好")
    public = requests.get(f"{cluster.public_url}/conversations/{sender}/tracker", params={"token": cluster.token},
                          timeout=30)
    assert public.status_code == 404  # nginx's public server has no route to Rasa's API
    assert requests.get(f"{cluster.rasa_api_url}/conversations/{sender}/tracker", timeout=30).status_code == 401
    assert cluster.tracker(sender)["sender_id"] == f"rest:{sender}"  # with the token, on the internal port
