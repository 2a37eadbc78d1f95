"""One customer across channels (issue 23), on the real stack and in headless Debian Chromium.

The demo customer C0001 (王芳) writes on WeChat from her bound openid (the WeChat channel with signed, encrypted
posts, the API stand-in as WeChat's servers) and complains: the bot verifies her by the binding and hands over.
小王 claims and closes the ticket; she rates it 5 on WeChat. Later she opens the shop's web chat while signed in
(a web-user token in the widget's metadata, the socket.io channel) and complains again. In the console 小王 sees
one customer: the new ticket is flagged as a repeat of the WeChat ticket and offered to him, and its customer
record lists the earlier ticket (outcome, CSAT, agent) and both conversations, WeChat and web, each one click
away (the WeChat transcript read from Rasa, the earlier ticket opened).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Dict, Iterator

import pytest
import requests

from actions.identity import sign_web_token
from tests.bot.channels.wechat.conftest import StandInProcess, running_standin, running_wechat_stack
from tests.browser.console_helpers import (
    LIVE_MS,
    PASSWORDS,
    chromium_missing_reason,
    handoff_model_missing_reason,
    login,
    new_page,
    open_ticket,
    queue_item,
    screenshot,
)
from tests.security.channel_clients import WidgetClient, seeded_store
from tests.security.test_wechat_replay import post, safe_request, text_xml
from tests.stack import MODEL, Stack

pytestmark = [pytest.mark.browser, pytest.mark.stack,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

OPENID = "oKefuDemoOpenid0000000000001"  # C0001's bound WeChat id in the demo store (actions/store/demo)
WAIT = 120.0


def wait_until(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.5)


class Agent:
    """An agent on the console's HTTP API (session cookie + CSRF), as the console UI is."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.http = requests.Session()
        response = self.http.post(f"{base}/api/auth/login", json={"username": username,
                                                                   "password": PASSWORDS[username]}, timeout=10)
        response.raise_for_status()
        self.csrf = response.json()["csrf_token"]

    def post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        response = self.http.post(f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}, timeout=30)
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def get(self, path: str) -> Dict[str, Any]:
        response = self.http.get(f"{self.base}{path}", timeout=30)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def ticket_of(self, sender_id: str) -> Dict[str, Any]:
        def found() -> Any:
            tickets = self.get("/api/tickets?state=all")["tickets"]
            return next((t for t in tickets if t["sender_id"] == sender_id), None)
        return wait_until(f"a ticket for {sender_id}", found)


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    yield from running_standin(tmp_path_factory, "standin_record")


@pytest.fixture(scope="module")
def record_stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Dict[str, Any]]:
    reason = handoff_model_missing_reason(MODEL)
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("customer_record")
    secret = uuid.uuid4().hex
    extra = {**seeded_store(workdir), "KEFU_WEB_TOKEN_SECRET": secret, "KEFU_CONSOLE_DEMO_ACCOUNTS": "true",
             "KEFU_CONSOLE_SERVICE_TOKEN": uuid.uuid4().hex}
    # the project's credentials.yml: REST, the widget's socket.io, WeChat and WeCom (WeChat's API: the stand-in)
    for stack in running_wechat_stack(workdir, standin, extra, only=["actions", "rasa", "console"], credentials=False):
        yield {"stack": stack, "secret": secret}


def wechat_say(stack: Stack, text: str) -> None:
    query, body = safe_request(text_xml(OPENID, text))
    assert post(stack, query, body).status_code == 200


def test_a_customer_on_wechat_and_the_web_is_one_customer_in_the_console(record_stack: Dict[str, Any],
                                                                         standin: StandInProcess,
                                                                         browser: Any) -> None:
    stack: Stack = record_stack["stack"]
    console_url = stack.env["KEFU_CONSOLE_URL"]
    wang = Agent(console_url, "wang")

    # 1. WeChat: the bound openid complains; the bot verifies her by the binding and hands over
    wechat_say(stack, "杯子收到就是碎的，太差劲了，我要投诉")
    first = wang.ticket_of(f"wechat:{OPENID}")
    assert first["channel"] == "wechat" and first["customer"]["id"] == "C0001" and first["customer"]["verified"]
    # 小王 takes it and closes it; she rates the service 5 on WeChat
    wang.post(f"/api/tickets/{first['id']}/claim", {})
    wang.post(f"/api/tickets/{first['id']}/messages", {"text": "非常抱歉，我们马上给您补发一个新的杯子。"})
    wang.post(f"/api/tickets/{first['id']}/close", {"resolution": "refund_or_replacement"})
    wait_until("the rating prompt reaches WeChat",
               lambda: any("为本次服务打分" in (m.get("content") or "") for m in standin.sent(OPENID)))
    wechat_say(stack, "5")
    wait_until("the rating is stored", lambda: (wang.get(f"/api/tickets/{first['id']}").get("csat") or {}).get("rating") == 5)

    # 2. the web chat, signed in on the shop's site: the token verifies the same customer; she complains again
    widget = WidgetClient(stack)
    try:
        session = widget.session()
        token = sign_web_token("C0001", record_stack["secret"])
        assert widget.say(session, "杯子又是碎的，太差劲了，我要投诉", "m1", kefu_user_token=token)["event"] == "user_uttered_ack"
        second = wang.ticket_of(f"web:{session}")
    finally:
        widget.close()
    assert second["channel"] == "socketio" and second["customer"]["id"] == "C0001" and second["customer"]["verified"]
    assert second["repeat_of"] == first["id"] and second["preferred_agent"]["username"] == "wang"
    record = wang.get("/api/customers/C0001")
    assert {c["sender_id"] for c in record["conversations"]} >= {f"wechat:{OPENID}", f"web:{session}"}

    # 3. the agent's screen: one customer, both conversations and the earlier ticket, each one click away
    page = new_page(browser)
    try:
        login(page, console_url, "wang")
        queue_item(page, second["id"]).locator("[data-testid='repeat']").wait_for(timeout=LIVE_MS)
        open_ticket(page, second["id"])
        panel = page.locator("[data-testid='customer-record']")
        panel.wait_for(timeout=LIVE_MS)
        assert "上次工单 #%d" % first["id"] in panel.locator("[data-testid='repeat-flag']").inner_text()
        earlier = panel.locator(f"[data-testid='record-ticket'][data-ticket-id='{first['id']}']")
        text = earlier.inner_text()
        for words in ("退款/换货", "★★★★★", "小王", "微信"):
            assert words in text, (words, text)
        conversations = panel.locator("[data-testid='record-conversation']")
        assert conversations.count() == 2
        channels = " ".join(conversations.all_inner_texts())
        assert "微信" in channels and "网页" in channels, channels
        # the WeChat conversation, read-only, from Rasa's tracker
        panel.locator("[data-testid='record-conversation'][data-channel='wechat']").click()
        transcript = panel.locator("[data-testid='record-transcript']")
        transcript.wait_for(timeout=LIVE_MS)
        assert "杯子收到就是碎的" in transcript.inner_text() and "马上给您补发" in transcript.inner_text()
        screenshot(page, "customer-record")
        # the earlier ticket opens with one click
        earlier.click()
        page.wait_for_function("id => document.getElementById('ticket-title').textContent.includes('#' + id)",
                               arg=first["id"], timeout=LIVE_MS)
        assert not page.kefu_errors, page.kefu_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
