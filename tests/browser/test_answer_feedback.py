"""Feedback in the widget (issue 23, and issue 27's CSAT defect) in headless Chromium on the real stack:

- 👍/👎 are two small icons under an FAQ answer (not quick replies, not a chat bubble); a click reaches the console's
  ``console_feedback`` table, shows no customer bubble, and survives a reload;
- the CSAT prompt after an agent closed the chat no longer says "点下面的按钮" above the stars, a star thanks once
  (the bot's reply; the star box says "您的评分"), and the effort question (CES) that follows is stored with the
  ticket.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from tests.browser.conftest import SCREENSHOTS, WidgetStack
from tests.browser.test_widget import WAIT_MS, bot_texts, open_widget, say, session_id, user_texts, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.browser]


def feedback_rows(widget_stack: WidgetStack, sender: str) -> List[Dict[str, Any]]:
    engine = sa.create_engine(widget_stack.stack.env["KEFU_CONSOLE_DB_URL"])
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.text("SELECT * FROM console_feedback WHERE sender_id = :s ORDER BY id"), {"s": sender})]
    except sa.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def test_thumbs_under_an_answer_reach_the_console_quietly(widget_stack: WidgetStack, shopper: Any) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    say(page, "发票怎么开")
    thumbs = page.locator(".row.bot .thumbs")
    thumbs.first.wait_for(timeout=WAIT_MS)
    box = thumbs.first
    assert box.locator("button").count() == 2
    assert box.locator('button[data-feedback="up"]').get_attribute("aria-label") == "有帮助"
    assert "这个回答有帮助吗" in box.inner_text()
    # the thumbs are in the answer's row, not quick replies and not a bubble of their own
    assert page.locator(".replies button", has_text="有帮助").count() == 0
    answer_row = page.locator(".row.bot", has=page.locator(".thumbs")).first
    assert answer_row.locator(".bubble").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "widget-answer-feedback.png"))

    box.locator('button[data-feedback="down"]').click()
    wait_until(lambda: box.get_attribute("data-chosen") == "down", what="the 👎 shown as chosen")
    assert box.locator('button[data-feedback="up"]').is_disabled()
    wait_until(lambda: any("没帮到您" in t for t in bot_texts(page)), what="the bot's apology")
    sid = session_id(page)
    rows = wait_until(lambda: feedback_rows(widget_stack, f"web:{sid}"), what="the 👎 in console_feedback")
    assert [(r["kind"], r["value"], r["question"], r["channel"]) for r in rows] == \
        [("answer", 0, "发票怎么开", "socketio")]
    assert user_texts(page) == ["发票怎么开"]  # no bubble for the click

    page.reload()
    page.locator(".launcher").wait_for()
    restored = page.locator(".row.bot .thumbs").first
    restored.wait_for(timeout=WAIT_MS)
    wait_until(lambda: restored.get_attribute("data-chosen") == "down", what="the 👎 restored from history")
    assert user_texts(page) == ["发票怎么开"]


def test_csat_stars_say_it_once_and_the_effort_question_follows(widget_stack: WidgetStack, shopper: Any) -> None:
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url("zh-Hans"))
    say(page, "我买的杯子收到就碎了，我要投诉")
    page.locator(".notice.handoff").first.wait_for(timeout=WAIT_MS)
    sid = session_id(page)
    agent = widget_stack.agent("admin", "admin-demo-2026")
    ticket = agent.ticket_for(f"web:{sid}")
    agent.post(f"/api/tickets/{ticket['id']}/claim", {})
    agent.post(f"/api/tickets/{ticket['id']}/close", {"resolution": "resolved"})
    stars = page.locator(".csat button")
    stars.first.wait_for(timeout=WAIT_MS)
    closing = wait_until(lambda: [t for t in bot_texts(page) if "本次人工服务已结束" in t], what="the CSAT prompt")
    assert "点下面的按钮" not in closing[0] and "点下面的按钮" not in page.locator(".log").inner_text()

    page.locator('.csat button[data-rating="5"]').click()
    wait_until(lambda: (agent.ticket(ticket["id"]).get("csat") or {}).get("rating") == 5, what="rating stored")
    assert page.locator(".csat").get_attribute("data-rated") == "5"
    assert page.locator(".csat").inner_text().startswith("您的评分：5 星")
    wait_until(lambda: any("收到您的 5 分评价" in t for t in bot_texts(page)), what="the bot's thanks")
    log = page.locator(".log").inner_text()
    assert log.count("5 分评价") == 1 and "感谢您的评价" not in log  # thanked once
    assert not any("★" in t for t in user_texts(page))  # the stars sent quietly

    effort = page.locator(".replies button", has_text="2 比较轻松")
    effort.wait_for(timeout=WAIT_MS)
    page.screenshot(path=str(SCREENSHOTS / "widget-csat-effort.png"))
    effort.click()
    rows = wait_until(lambda: feedback_rows(widget_stack, f"web:{sid}"), what="the CES in console_feedback")
    assert [(r["kind"], r["value"], r["ticket_id"]) for r in rows] == [("ces", 2, ticket["id"])]
