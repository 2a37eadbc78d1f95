"""The console on a phone (issue 27 defect 8: at 390 px the page was 15,463 px wide): the queue, a ticket with its
whole context, and the dashboard fit the screen with no horizontal scrolling, and an agent can still reach the
transcript, the composer and the context. Screenshots: docs/screenshots/console-390-*.png."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.console_helpers import chromium_missing_reason, login, new_page, open_ticket, screenshot
from tests.browser.test_console import post_handoff, rich_context
from tests.console.process import Console, FakeRasa

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

WIDTH = 390
#: the widest a page may be: the screen (a scrollbar never appears on a phone, so no allowance for one)
WIDTH_OF_PAGE = """() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"""
#: the elements sticking out to the right of the screen, for the failure message
OVERFLOWING = """(width) => Array.from(document.querySelectorAll('body *'))
  .filter((n) => n.getClientRects().length && n.getBoundingClientRect().right > width + 1)
  .slice(0, 8).map((n) => `${n.tagName.toLowerCase()}#${n.id}.${String(n.className).split(' ').join('.')}`
    + ` right=${Math.round(n.getBoundingClientRect().right)}`)"""


@pytest.fixture(scope="module")
def narrow_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    rasa = FakeRasa()
    console = Console.create(tmp_path_factory.mktemp("console-narrow"), rasa.url).start()
    yield console
    console.stop()
    rasa.close()


@pytest.fixture()
def phone(browser: Any) -> Iterator[Any]:
    page = new_page(browser, width=WIDTH, height=844)
    yield page
    errors = list(page.kefu_errors)
    page.context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def assert_fits(page: Any, where: str) -> None:
    width = page.evaluate(WIDTH_OF_PAGE)
    assert width <= WIDTH, f"{where}: the page is {width} px wide on a {WIDTH} px screen: {page.evaluate(OVERFLOWING, WIDTH)}"


def test_the_console_fits_a_phone_screen(narrow_console: Console, phone: Any, browser: Any) -> None:
    console = narrow_console
    # a long unbroken customer message and order number: what used to stretch the page
    ticket_id = post_handoff(console, rich_context("narrow-1", summary="订单号" + "KF2026112000" * 12))
    login(phone, console.url, "wang")
    assert_fits(phone, "queue")
    screenshot(phone, "390-queue")
    open_ticket(phone, ticket_id)
    phone.wait_for_selector("#transcript .msg", timeout=20_000)
    assert_fits(phone, "ticket")
    for needed in ("#transcript", "#composer-text", ".context-pane", "#btn-claim"):
        box = phone.locator(needed).first.bounding_box()
        assert box is not None and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, (needed, box)
    screenshot(phone, "390-ticket", full_page=True)
    supervisor = new_page(browser, width=WIDTH, height=844)
    try:
        login(supervisor, console.url, "admin")
        supervisor.goto(f"{console.url}/dashboard")
        supervisor.wait_for_selector("body[data-ready='1']", timeout=20_000)
        assert_fits(supervisor, "dashboard")
        screenshot(supervisor, "390-dashboard", full_page=True)
        assert not supervisor.kefu_errors, supervisor.kefu_errors
    finally:
        supervisor.context.close()
