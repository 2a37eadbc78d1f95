"""A restock notice in the widget, in headless Chromium against the real stack (its notifier included).

Two shoppers ask for a product that is out of stock everywhere and tap "到货通知我". One keeps the page open, the
other closes it. The stock arrives (``python -m actions.store set-stock``): the open page shows the notice once,
live; the other shopper sees it once when they come back (the widget restores the conversation's history).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, List

import pytest
import requests

from kernel.settings import ROOT
from launcher.processes import process_env
from tests.browser.conftest import SCREENSHOTS, WidgetStack
from tests.browser.test_widget import bot_texts, open_widget, say, wait_until

pytestmark = [pytest.mark.stack, pytest.mark.browser]

SKU = "P041-PK-XL"  # out of stock everywhere in the demo data (actions/store/demo/stock.yml)
ASK = "莫代尔家居服套装 粉色 XL码 有货吗"


def notices(page: Any) -> List[str]:
    return [t for t in bot_texts(page) if t.startswith("到货通知")]


def subscribe(page: Any) -> None:
    say(page, ASK)
    wait_until(lambda: any("所有门店都缺货" in t for t in bot_texts(page)), what="the out-of-stock answer")
    page.get_by_role("button", name="到货通知我").last.click()
    wait_until(lambda: any("到货后会在这里通知您" in t for t in bot_texts(page)), what="the subscription")


def passes(widget_stack: WidgetStack) -> int:
    url = f"http://127.0.0.1:{widget_stack.stack.env['KEFU_NOTIFIER_PORT']}/health"
    return requests.get(url, timeout=5).json()["passes"]


def test_the_restock_notice_reaches_an_open_widget_live_and_a_closed_one_on_the_next_visit(
    widget_stack: WidgetStack, browser: Any
) -> None:
    open_shopper, away_shopper = browser.new_context(), browser.new_context()
    try:
        page = open_shopper.new_page()
        open_widget(page, widget_stack.demo_url("zh-Hans"))
        subscribe(page)
        away = away_shopper.new_page()
        open_widget(away, widget_stack.demo_url("zh-Hans"))
        subscribe(away)
        away.close()
        assert notices(page) == []

        env = widget_stack.stack.env
        subprocess.run([sys.executable, "-m", "actions.store", "set-stock", SKU, "WHGZ", "30",
                        "--url", env["KEFU_STORE_DB_URL"]], check=True, cwd=ROOT, env=process_env(env),
                       capture_output=True)
        wait_until(lambda: notices(page), what="the notice in the open widget")
        page.screenshot(path=str(SCREENSHOTS / "widget-restock-notice.png"))
        seen = passes(widget_stack)
        wait_until(lambda: passes(widget_stack) >= seen + 3, what="three more notifier passes")
        [notice] = notices(page)
        assert "莫代尔家居服套装" in notice and "别再通知我" in notice

        back = away_shopper.new_page()
        back.goto(widget_stack.demo_url("zh-Hans"))
        wait_until(lambda: notices(back), what="the notice restored on the next visit")
        assert len(notices(back)) == 1
    finally:
        open_shopper.close()
        away_shopper.close()
