"""The restock promise kept, on the real stack: Rasa with the WeChat, widget and REST channels, the action server,
the WeChat API stand-in, and two notifier processes sharing one ledger.

Customers ask "粉色保温杯 750ml 有货吗" (out of stock everywhere in the demo store) and "到货通知我" on WeChat, in
the widget and over REST; one of them then says "别再通知我". A fourth WeChat customer's request was made more
than 48 hours after their last message. Then the stock arrives (``python -m actions.store set-stock``) and:

- the WeChat customer gets exactly one customer-service message (at the stand-in), the widget customer exactly
  one ``bot_uttered`` on the open connection, with two notifiers running pass after pass;
- the customer who opted out gets nothing;
- the notice outside WeChat's window is held, and delivered once the customer writes again;
- a REST customer who looked up their order (verified by the phone suffix) is told once when it ships.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests

from actions.notifier.ledger import Ledger
from actions.store.sql import SqlStore
from actions.store.types import RestockRequest
from launcher.processes import process_env
from tests.bot.channels.wechat.conftest import StandInProcess, running_standin, running_wechat_stack
from tests.harness import ROOT, Command, HttpReady, ServerProcess, free_port
from tests.security.channel_clients import WidgetClient, seeded_store
from tests.security.test_wechat_replay import events, openid, post, safe_request, text_xml
from tests.stack import Stack

OUT = "P010-PK-750ML"
ASK = "粉色保温杯 750ml 有货吗"
WAIT = 120.0


def wait_until(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    yield from running_standin(tmp_path_factory, "standin_notices")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("notices")
    yield from running_wechat_stack(workdir, standin, seeded_store(workdir), only=["actions", "rasa"],
                                    credentials=False)


def start_notifier(stack: Stack, name: str) -> ServerProcess:
    port = free_port()
    env = process_env({**stack.env, "KEFU_NOTIFIER_PORT": str(port), "KEFU_NOTIFIER_INTERVAL": "0.5",
                       "KEFU_NOTIFIER_RETRY_SECONDS": "1"})
    command = Command(name, [sys.executable, "-m", "actions.notifier"], env,
                      HttpReady(f"http://127.0.0.1:{port}/health"), cwd=ROOT)
    process = ServerProcess.start(command, stack.workdir / f"{name}.log")
    process.health = f"http://127.0.0.1:{port}/health"  # type: ignore[attr-defined]
    return process.wait_ready(timeout=60)


def passes(process: ServerProcess) -> int:
    return requests.get(process.health, timeout=5).json()["passes"]  # type: ignore[attr-defined]


def wechat_say(stack: Stack, user: str, text: str) -> None:
    query, body = safe_request(text_xml(user, text))
    assert post(stack, query, body).status_code == 200


def acted(stack: Stack, conversation_id: str, action: str) -> bool:
    return any(e.get("event") == "action" and e.get("name") == action for e in events(stack, conversation_id))


def order_notices(stack: Stack, sender: str) -> List[str]:
    return [e["text"] for e in events(stack, Stack.conversation_id(sender))
            if e.get("event") == "bot" and (e.get("text") or "").startswith("订单动态")]


def notices(items: List[Dict[str, Any]]) -> List[str]:
    return [m["content"] for m in items if (m.get("content") or "").startswith("到货通知")]


def test_a_restock_reaches_each_waiting_customer_once_on_their_channel(stack: Stack, standin: StandInProcess) -> None:
    store = SqlStore(stack.env["KEFU_STORE_DB_URL"])
    ledger = Ledger(stack.env["KEFU_APP_DB_URL"], "test")

    # WeChat: asks, subscribes
    wx = openid("o_notice_")
    for text in (ASK, "到货通知我"):
        wechat_say(stack, wx, text)
    wait_until("the WeChat request is stored", lambda: acted(stack, f"wechat:{wx}", "action_restock_subscribe"))

    # the widget: asks, subscribes, stays connected
    widget = WidgetClient(stack)
    session = widget.session()
    for n, text in enumerate((ASK, "到货通知我")):
        assert widget.say(session, text, f"m{n}")["event"] == "user_uttered_ack"
    assert any("到货后会在这里通知您" in (d.get("text") or "") for d in widget.of("bot_uttered"))

    # REST: asks, subscribes, then opts out
    rest = f"optout-{uuid.uuid4().hex[:8]}"
    stack.say(rest, ASK)
    assert "到货后会在这里通知您" in " ".join(m.get("text", "") for m in stack.say(rest, "到货通知我"))
    assert "已取消您的到货通知" in " ".join(m.get("text", "") for m in stack.say(rest, "别再通知我"))

    # WeChat, last message 49 hours ago: the request is in the store, the window is closed
    old = openid("o_old_")
    stale = {"event": "user", "text": ASK, "timestamp": time.time() - 49 * 3600,
             "parse_data": {"intent": {"name": "stock_check", "confidence": 1.0}, "entities": []},
             "input_channel": "wechat"}
    requests.post(f"{stack.rasa_url}/conversations/wechat:{old}/tracker/events",
                  params={"token": stack.token, "execute_side_effects": "false"}, json=[stale],
                  timeout=30).raise_for_status()
    store.add_restock_subscription(RestockRequest(OUT, "wechat", f"wechat:{old}", "zh-Hans"))

    # REST: a verified order lookup watches the order
    buyer = f"order-{uuid.uuid4().hex[:8]}"
    stack.say(buyer, "我的订单 KF20261119001 到哪了")
    looked_up = " ".join(m.get("text", "") for m in stack.say(buyer, "9012"))
    assert "已付款" in looked_up and "订单状态有变化时，我会在这里通知您" in looked_up, looked_up

    subs = store.list_restock_subscriptions()
    assert sorted(s.request.channel for s in subs) == ["rest", "socketio", "wechat", "wechat"]

    # nothing while out of stock
    first = start_notifier(stack, "notifier-1")
    second = start_notifier(stack, "notifier-2")
    try:
        wait_until("three passes each", lambda: passes(first) >= 3 and passes(second) >= 3)
        assert notices(standin.sent(wx)) == [] and ledger.counts().get("sent", 0) == 0

        # the stock arrives, as the seller's system records it
        subprocess.run([sys.executable, "-m", "actions.store", "set-stock", OUT, "WHSH", "20",
                        "--url", stack.env["KEFU_STORE_DB_URL"]], check=True, cwd=ROOT, env=process_env(stack.env),
                       capture_output=True)
        wait_until("the WeChat customer is told", lambda: notices(standin.sent(wx)))
        widget.wait_for("bot_uttered", where=lambda d: (d.get("text") or "").startswith("到货通知"))
        wait_until("the opted-out request is cancelled, the stale one held",
                   lambda: ledger.counts().get("cancelled") == 1 and ledger.counts().get("held") == 1)
        assert notices(standin.sent(f"{old}")) == []

        # the customer outside the window writes again: the held notice goes out
        wechat_say(stack, old, "你好")
        wait_until("the held notice is delivered", lambda: notices(standin.sent(old)))

        # the order ships, as the seller's order system records it
        subprocess.run([sys.executable, "-m", "actions.store", "set-order-status", "KF20261119001", "shipped",
                        "--url", stack.env["KEFU_STORE_DB_URL"]], check=True, cwd=ROOT, env=process_env(stack.env),
                       capture_output=True)
        wait_until("the buyer is told the order shipped", lambda: order_notices(stack, buyer))

        # many more passes by both notifiers: still one notice each
        seen = passes(first), passes(second)
        wait_until("five more passes each", lambda: passes(first) >= seen[0] + 5 and passes(second) >= seen[1] + 5)
    finally:
        first.stop(grace=10)
        second.stop(grace=10)
        widget.close()

    assert len(notices(standin.sent(wx))) == 1
    assert len(notices(standin.sent(old))) == 1
    told = [d for d in widget.of("bot_uttered") if (d.get("text") or "").startswith("到货通知")]
    assert len(told) == 1 and "别再通知我" in told[0]["text"]
    rest_events = events(stack, Stack.conversation_id(rest))
    assert not [e for e in rest_events if e.get("event") == "bot" and (e.get("text") or "").startswith("到货通知")]
    [shipped] = order_notices(stack, buyer)
    assert shipped.startswith("订单动态：您的订单 KF20261119001 现在是「已发货」")
    assert ledger.counts() == {"sent": 4, "cancelled": 1}
    store.dispose()
    ledger.close()


def test_the_notifier_refuses_bad_settings(tmp_path: Path) -> None:
    for name, value in (("KEFU_NOTIFIER_INTERVAL", "soon"), ("KEFU_NOTIFIER_PORT", "99999"),
                        ("KEFU_NOTIFIER_RETRY_SECONDS", "0")):
        result = subprocess.run([sys.executable, "-m", "actions.notifier", "--once"], cwd=ROOT, capture_output=True,
                                text=True, env={**process_env({"KEFU_DEMO": "true"}), name: value,
                                                "KEFU_APP_DB_URL": f"sqlite:///{tmp_path / 'app.db'}"})
        assert result.returncode == 78 and name in result.stderr, result.stderr
