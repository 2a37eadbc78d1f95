"""Issue 27 #2 and #3 in the shopper's browser: the widget's queue banner says what the bot says
(one wording, one number, from bot/responses/handoff.yml via ``kefu_event.notice``) and a transfer
names the team in the shopper's language, never its id. Real Rasa, action server and console.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import WidgetStack
from tests.browser.test_widget import WAIT_MS, bot_texts, open_widget, say, session_id, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.browser]

CASES = {
    # language: (asks for a person, the place wording, the team label after the transfer)
    "zh-Hans": ("转人工", "您排在第", "售前"),
    "zh-Hant": ("我要轉真人客服", "您排在第", "售前"),
    "en": ("talk to a human", "You're number", "Presales"),
}
MINUTES = re.compile(r"分钟|分鐘|\bmin\b|minutes")


@pytest.mark.parametrize("lang", list(CASES))
def test_queue_banner_matches_the_bot_and_transfer_names_the_team(widget_stack: WidgetStack, shopper: Any,
                                                                   lang: str) -> None:
    ask, place, team_label = CASES[lang]
    page = shopper.new_page()
    open_widget(page, widget_stack.demo_url(lang))
    say(page, ask)
    banner = page.locator(".notice.handoff").first
    banner.wait_for(timeout=WAIT_MS)
    notice = banner.inner_text().strip()
    assert place in notice and "前面" not in notice, notice
    texts = wait_until(lambda: [t for t in bot_texts(page) if notice in t], what="the bot's queue message")
    assert texts, f"banner {notice!r} is not what the bot said: {bot_texts(page)}"
    if re.search(r"后|後|after", notice):  # off hours: when the team is back, never a minute count
        assert not MINUTES.search(notice) and re.search(r"\d\d:\d\d", notice), notice

    admin = widget_stack.agent("admin", "admin-demo-2026")
    ticket = admin.ticket_for(f"web:{session_id(page)}")
    admin.post(f"/api/tickets/{ticket['id']}/claim", {})
    admin.post(f"/api/tickets/{ticket['id']}/transfer", {"team": "presales"})
    moved = page.locator(".notice.handoff", has_text=team_label)
    moved.last.wait_for(timeout=WAIT_MS)
    shown = " ".join(page.locator(".notice.handoff").all_inner_texts())
    assert "presales" not in shown, shown
