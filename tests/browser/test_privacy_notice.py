"""The widget's privacy notice in headless Debian Chromium: one line under the greeting in the visitor's language,
with the seller's link (data-privacy-url), until the visitor's first message; not again on later visits.

The notice is the widget's own: the page here serves only the built bundle (no Rasa behind data-server, so a
message stays queued in the widget, which is all the notice needs)."""

from __future__ import annotations

import html
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.harness import free_port

pytestmark = [pytest.mark.browser]

TEXTS = {
    "zh-Hans": ("为了更好地为您服务，我们会保存本次对话的记录。", "隐私政策"),
    "zh-Hant": ("為了更好地為您服務，我們會保存本次對話的記錄。", "隱私權政策"),
    "en": ("We keep a record of this chat so that we can help you.", "Privacy policy"),
}
POLICY = "https://shop.example/privacy"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, widget_bundle: Path) -> Iterator[Callable[..., str]]:
    root = tmp_path_factory.mktemp("privacy_site")
    (root / "kefu-widget.js").write_bytes(widget_bundle.read_bytes())
    dead_server = f"http://127.0.0.1:{free_port()}"  # nothing listens: messages stay queued

    def page(name: str, lang: str, url: str | None) -> str:
        attrs = f' data-privacy-url="{html.escape(url)}"' if url is not None else ""
        (root / f"{name}.html").write_text(
            f'<!doctype html><html><head><meta charset="utf-8"><title>shop</title></head><body><h1>shop</h1>'
            f'<script src="kefu-widget.js" data-server="{dead_server}" data-lang="{lang}"{attrs}></script>'
            f"</body></html>", encoding="utf-8")
        return f"http://127.0.0.1:{port}/{name}.html"

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield page
    server.shutdown()
    server.server_close()


def _open(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.locator(".launcher").wait_for(state="visible")
    if not page.locator("#kefu-input").is_visible():  # a visitor who had it open finds it open
        page.locator(".launcher").click()
    page.locator("#kefu-input").wait_for(state="visible", timeout=30_000)
    return page


def _reload(page: Any) -> None:
    """Reload; the widget reopens by itself when it was open (it remembers)."""
    page.reload()
    page.locator(".launcher").wait_for(state="visible")
    if not page.locator("#kefu-input").is_visible():
        page.locator(".launcher").click()
    page.locator("#kefu-input").wait_for(state="visible")


def _notice(page: Any) -> Any:
    return page.locator(".privacy-notice")


def _wait(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.mark.parametrize("lang", sorted(TEXTS))
def test_notice_in_each_language_with_the_sellers_link_until_the_first_message(site: Any, browser: Any,
                                                                                lang: str) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        url = site(f"shop-{lang}", lang, POLICY)
        page = _open(context, url)
        notice = _notice(page)
        assert notice.count() == 1
        text, link = TEXTS[lang]
        assert notice.inner_text().strip() == f"{text} {link}"
        anchor = notice.locator("a")
        assert anchor.inner_text() == link and anchor.get_attribute("href") == POLICY
        assert anchor.get_attribute("target") == "_blank" and "noopener" in anchor.get_attribute("rel")
        # it sits under the greeting, before anything the visitor writes
        assert page.locator(".log > *").first.get_attribute("data-greeting") == "true"
        assert page.locator(".log > *").nth(1).get_attribute("class") == "privacy-notice"
        if lang == "zh-Hans":
            page.screenshot(path=str(Path(__file__).resolve().parents[2] / "docs" / "screenshots"
                                     / "widget-privacy-notice.png"))
        # a reload before writing: still shown
        _reload(page)
        assert _notice(page).count() == 1
        box = page.locator("#kefu-input")
        box.fill("你好")
        box.press("Enter")
        _wait(lambda: page.locator(".row.user").count() == 1)
        assert _notice(page).count() == 1  # stays on this page
        _reload(page)
        _wait(lambda: page.locator(".row.user").count() == 1)  # the queued message is restored
        assert _notice(page).count() == 0  # a later visit: not again
    finally:
        context.close()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "", None])
def test_without_a_usable_link_the_line_has_no_link(site: Any, browser: Any, url: str | None) -> None:
    context = browser.new_context(locale="en-US")
    try:
        page = _open(context, site(f"nolink-{abs(hash(url))}", "en", url))
        assert _notice(page).inner_text().strip() == TEXTS["en"][0]
        assert _notice(page).locator("a").count() == 0
        assert page.evaluate("() => window.__pwned === undefined")
    finally:
        context.close()


def test_a_visitor_who_wrote_before_on_this_browser_sees_no_notice(site: Any, browser: Any) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        url = site("seen", "zh-Hans", POLICY)
        first = _open(context, url)
        first.locator("#kefu-input").fill("在吗")
        first.locator("#kefu-input").press("Enter")
        _wait(lambda: first.locator(".row.user").count() == 1)
        second = _open(context, url)  # another tab of the same visitor
        assert _notice(second).count() == 0
    finally:
        context.close()
