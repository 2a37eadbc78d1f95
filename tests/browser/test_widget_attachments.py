"""Issue 27 in headless Chromium on the real stack (Rasa with Kefu's socket.io channel, the action server, the
console): a photo from the widget reaches the agent's ticket view; the off-hours contact form and the reply
notice on the next visit; suggested first questions, message times and a CSAT comment.

Screenshots: docs/screenshots/widget-photo.png, console-ticket-photo.png, widget-offhours-contact.png,
widget-reply-notice.png, widget-suggestions.png, widget-csat-comment.png.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.browser.conftest import SCREENSHOTS, WidgetStack
from tests.browser.console_helpers import LIVE_MS, login, new_page, open_ticket
from tests.browser.test_widget import WAIT_MS, bot_texts, open_widget, say, session_id, user_texts, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.browser]

COMPLAINT = "我买的杯子收到就碎了，我要投诉"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def png(width: int = 160, height: int = 120) -> bytes:
    """A real PNG (a red box on white), written by hand: the browser must be able to draw it."""
    rows = b""
    for y in range(height):
        row = b"\x00"
        for x in range(width):
            inside = 30 <= x < width - 30 and 30 <= y < height - 30
            row += b"\xd0\x31\x2d" if inside else b"\xff\xff\xff"
        rows += row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def choose_file(page: Any, name: str, data: bytes, mime: str = "image/png") -> None:
    page.locator("input[type=file]").set_input_files({"name": name, "mimeType": mime, "buffer": data})


def image_drawn(locator: Any) -> bool:
    return bool(locator.count()) and locator.first.evaluate("img => img.complete && img.naturalWidth > 0")


class Supervisor:
    """The admin account over the console's HTTP API (team hours, tickets)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        answer = self.http.post(f"{base}/api/auth/login", json={"username": "admin", "password": "admin-demo-2026"},
                                timeout=10)
        answer.raise_for_status()
        self.http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]

    def call(self, method: str, path: str, body: Any = None) -> Dict[str, Any]:
        response = self.http.request(method, f"{self.base}{path}", json=body, timeout=30)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


@pytest.fixture()
def complaints_off_hours(widget_stack: WidgetStack) -> Iterator[None]:
    """The complaints team works only two days from now (Shanghai time), so a complaint now is off hours."""
    admin = Supervisor(widget_stack.console_url)
    before = [t for t in admin.call("GET", "/api/admin/teams")["teams"] if t["id"] == "complaints"][0]
    later = DAYS[(datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).weekday()]
    admin.call("PATCH", "/api/admin/teams/complaints", {"hours": {later: ["09:00-18:00"]}})
    try:
        yield
    finally:
        admin.call("PATCH", "/api/admin/teams/complaints", {"hours": before.get("hours")})


def test_a_photo_sent_from_the_widget_is_shown_to_the_agent(widget_stack: WidgetStack, shopper: Any,
                                                             browser: Any) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    say(page, COMPLAINT)
    page.locator(".notice.handoff").first.wait_for(timeout=WAIT_MS)
    sid = session_id(page)

    # a file that is not a photo, whatever its name: refused in the widget, nothing sent
    choose_file(page, "破损.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    refused = page.locator(".row.user.attachment.failed")
    refused.wait_for(timeout=WAIT_MS)
    assert "只能发送照片" in refused.locator(".meta").inner_text()

    photo = png()
    choose_file(page, "杯子破损.png", photo)
    sent = page.locator('.row.user.attachment[data-status="sent"]')
    sent.wait_for(timeout=WAIT_MS)
    wait_until(lambda: image_drawn(sent.locator("img.photo")), what="the photo drawn in the shopper's bubble")
    assert sent.locator(".stamp").count() == 1  # its time, as every message shows
    page.screenshot(path=str(SCREENSHOTS / "widget-photo.png"))
    # the conversation keeps it: Rasa's tracker has the message the bot and the agent read
    assert "[图片] 杯子破损.png" in widget_stack.user_texts(sid)

    ticket = widget_stack.agent("wang").ticket_for(f"web:{sid}")
    messages = widget_stack.agent("wang").messages_with(ticket["id"], ["[图片] 杯子破损.png"])
    [message] = [m for m in messages if (m.get("data") or {}).get("attachment")]
    attachment = message["data"]["attachment"]
    assert (attachment["kind"], attachment["mime"], attachment["name"]) == ("image", "image/png", "杯子破损.png")

    agent = new_page(browser)
    login(agent, widget_stack.console_url, "wang")
    open_ticket(agent, ticket["id"])
    shown = agent.locator(f'#transcript .msg-attachment[data-attachment="{attachment["id"]}"] img.msg-photo')
    shown.wait_for(timeout=LIVE_MS)
    wait_until(lambda: image_drawn(shown), what="the photo drawn in the agent's transcript")
    assert agent.evaluate("window.__kefu_xss") is None
    agent.screenshot(path=str(SCREENSHOTS / "console-ticket-photo.png"))
    agent.context.close()

    # the shopper's reload shows their photo again, from the conversation's history
    page.reload()
    page.locator(".launcher").wait_for()
    restored = page.locator(".row.user.attachment img.photo")
    restored.first.wait_for(timeout=WAIT_MS)
    wait_until(lambda: image_drawn(restored), what="the photo restored after a reload")
    assert page.locator(".row.user.attachment").count() == 1  # shown once, and the refused file is not history


def test_off_hours_contact_and_the_reply_notice_on_the_next_visit(widget_stack: WidgetStack, shopper: Any,
                                                                   browser: Any, complaints_off_hours: None) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    say(page, COMPLAINT)
    form = page.locator("form.contact")
    form.wait_for(timeout=WAIT_MS)
    notice = page.locator(".notice.handoff").first.inner_text()
    assert "分钟" not in notice  # off hours: when the team is back, not a wait in minutes
    help_text = form.inner_text()
    assert "在这个对话里回复您" in help_text and "不会自动发送短信或邮件" in help_text
    sid = session_id(page)

    form.locator("#kefu-contact-phone").fill("12345")
    form.locator("button.primary").click()
    assert "11 位手机号" in form.locator(".contact-error").inner_text()
    assert form.locator("#kefu-contact-phone").get_attribute("aria-invalid") == "true"
    form.locator("#kefu-contact-phone").fill("138 1234 5678")
    form.locator("#kefu-contact-wechat").fill("kefu_fan01")
    page.screenshot(path=str(SCREENSHOTS / "widget-offhours-contact.png"))
    form.locator("button.primary").click()
    kept = page.locator(".notice.contact-kept")
    kept.wait_for(timeout=WAIT_MS)
    assert "138****5678" in kept.inner_text() and "13812345678" not in kept.inner_text()

    wang = widget_stack.agent("wang")
    ticket = wang.ticket_for(f"web:{sid}")
    extras = wang.http.get(f"{wang.base}/api/widget/tickets/{ticket['id']}", timeout=10).json()
    assert extras["contact"]["phone"] == "138****5678" and extras["contact"]["masked"] is True
    wang.post(f"/api/tickets/{ticket['id']}/claim", {})
    extras = wang.http.get(f"{wang.base}/api/widget/tickets/{ticket['id']}", timeout=10).json()
    assert extras["contact"]["phone"] == "13812345678" and extras["contact"]["wechat"] == "kefu_fan01"
    console = new_page(browser)  # the ticket's agent sees it whole in the context panel
    login(console, widget_stack.console_url, "wang")
    open_ticket(console, ticket["id"])
    panel = console.locator('.ctx-widget [data-testid="widget-contact"]')
    panel.wait_for(timeout=LIVE_MS)
    assert "13812345678" in panel.inner_text() and "kefu_fan01" in panel.inner_text()
    console.screenshot(path=str(SCREENSHOTS / "console-ticket-contact.png"))
    console.context.close()

    page.locator("header button.close").click()  # the shopper closes the chat and leaves the shop
    page.close()  # the agent answers the next morning
    wang.post(f"/api/tickets/{ticket['id']}/messages", {"text": "您好，我是小王，杯子的事我来处理"})
    assert wang.http.get(f"{wang.base}/api/widget/tickets/{ticket['id']}",
                         timeout=10).json()["reply_notice"]["unseen"] == 1

    back = shopper.new_page()
    back.goto(widget_stack.demo_url("zh-Hans"))
    back.locator(".launcher").wait_for()
    wait_until(lambda: back.locator(".badge").is_visible() and back.locator(".badge").inner_text() == "1",
               what="the launcher's badge")
    wait_until(lambda: back.title().startswith("(1) 客服回复了您"), what="the tab title")
    back.locator(".launcher").click()
    line = back.locator(".notice.reply-notice")
    line.wait_for(timeout=WAIT_MS)
    assert "小王" in line.inner_text()
    assert any("我来处理" in t for t in bot_texts(back))
    back.screenshot(path=str(SCREENSHOTS / "widget-reply-notice.png"))
    wait_until(lambda: not back.title().startswith("(1)"), what="the tab title restored once seen")
    wait_until(lambda: wang.http.get(f"{wang.base}/api/widget/tickets/{ticket['id']}", timeout=10)
               .json()["reply_notice"]["unseen"] == 0, what="the agent told the shopper has seen it")


def test_suggested_questions_message_times_and_a_csat_comment(widget_stack: WidgetStack, shopper: Any) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    chips = page.locator(".suggestions .chip")
    chips.first.wait_for(timeout=WAIT_MS)
    assert 2 <= chips.count() <= 4
    assert chips.all_inner_texts()[0] == "我的订单到哪了"
    assert "怎么申请发票" in chips.all_inner_texts()
    page.screenshot(path=str(SCREENSHOTS / "widget-suggestions.png"))
    page.locator(".suggestions .chip", has_text="怎么申请发票").click()
    wait_until(lambda: user_texts(page) == ["怎么申请发票"], what="the question sent")
    assert page.locator(".suggestions").count() == 0
    wait_until(lambda: bot_texts(page), what="the answer")
    stamp = page.locator(".row.bot:not([data-greeting]) .who time.stamp").first.inner_text()
    shanghai = datetime.now(ZoneInfo("Asia/Shanghai"))
    assert re.fullmatch(r"\d{2}:\d{2}", stamp)
    assert abs((int(stamp[:2]) * 60 + int(stamp[3:])) - (shanghai.hour * 60 + shanghai.minute)) % 1440 in (0, 1, 2, 1439, 1438)

    say(page, COMPLAINT)
    page.locator(".notice.handoff").first.wait_for(timeout=WAIT_MS)
    sid = session_id(page)
    admin = widget_stack.agent("admin", "admin-demo-2026")
    ticket = admin.ticket_for(f"web:{sid}")
    admin.post(f"/api/tickets/{ticket['id']}/claim", {})
    admin.post(f"/api/tickets/{ticket['id']}/close", {"resolution": "resolved"})
    page.locator('.csat button[data-rating="3"]').click(timeout=WAIT_MS)
    comment = page.locator(".csat form.comment")
    comment.wait_for(timeout=WAIT_MS)
    comment.locator("button").click()
    assert "请先写几句" in comment.locator(".comment-status").inner_text()
    comment.locator("textarea").fill("回复有点慢，不过问题解决了")
    page.screenshot(path=str(SCREENSHOTS / "widget-csat-comment.png"))
    comment.locator("button").click()
    page.locator(".csat .comment-done").wait_for(timeout=WAIT_MS)
    extras = wait_until(lambda: (lambda e: e if e["csat_comments"] else None)(
        admin.http.get(f"{admin.base}/api/widget/tickets/{ticket['id']}", timeout=10).json()), what="the comment")
    assert [(c["rating"], c["comment"]) for c in extras["csat_comments"]] == [(3, "回复有点慢，不过问题解决了")]
    wait_until(lambda: (admin.ticket(ticket["id"]).get("csat") or {}).get("rating") == 3, what="the rating")


def test_a_photo_waits_while_the_console_is_unreachable_even_across_a_reload(widget_stack: WidgetStack,
                                                                             shopper: Any) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    page.route("**/api/public/uploads", lambda route: route.abort())  # the console is down for the widget
    choose_file(page, "收据.png", png(90, 60))
    waiting = page.locator(".row.user.attachment")
    wait_until(lambda: "暂时无法上传" in waiting.locator(".meta").inner_text(), what="the console-down notice")

    page.reload()  # the file waits in the browser (IndexedDB), not in the page
    page.locator(".launcher").wait_for()
    restored = page.locator(".row.user.attachment")
    restored.wait_for(timeout=WAIT_MS)
    wait_until(lambda: "暂时无法上传" in restored.locator(".meta").inner_text(), what="the file back after the reload")

    page.unroute("**/api/public/uploads")  # the console is back: the next retry delivers it
    page.locator('.row.user.attachment[data-status="sent"]').wait_for(timeout=WAIT_MS)
    sid = session_id(page)
    assert widget_stack.user_texts(sid).count("[图片] 收据.png") == 1
    assert page.locator(".row.user.attachment").count() == 1
    # the bot cannot read pictures: it says so once and offers a person
    wait_until(lambda: any("看不懂图片" in t for t in bot_texts(page)), what="the bot's note about pictures")
