"""Browser test of the presales lead card (issue 22) in headless Debian Chromium: a presales handoff with a lead
arrives through the internal API, an agent opens it, sees the card in words, edits the quantity and moves the quote
status new -> contacted -> quoted, with a restart of the console in between; the customer's quote lookup ("我的报价到
哪一步了", the bot's action over real HTTP) follows each move, and the webhook receiver (a real process) gets each
change exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser.console_helpers import LIVE_MS, chromium_missing_reason, login, new_page, open_ticket
from tests.console.leads import SECRET, Receiver, fast_webhook, presales_context, verify
from tests.console.process import Console, FakeRasa

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]


def quote_lookup(console: Console, sender_id: str) -> str:
    """What the bot's quote lookup (action_quote_status, over real HTTP to this console) tells the customer."""
    import asyncio
    import os
    from concurrent.futures import ThreadPoolExecutor

    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions.presales.actions import ActionQuoteStatus

    saved = {k: os.environ.get(k) for k in ("KEFU_CONSOLE_URL", "KEFU_CONSOLE_SERVICE_TOKEN")}
    os.environ.update({"KEFU_CONSOLE_URL": console.url, "KEFU_CONSOLE_SERVICE_TOKEN": console.token})
    try:
        dispatcher = CollectingDispatcher()
        tracker = Tracker(sender_id, {"language": "zh-Hans"}, {"text": "我的报价到哪一步了"}, [], False, None, None,
                          "action_listen")
        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
            pool.submit(asyncio.run, ActionQuoteStatus().run(dispatcher, tracker, {})).result()
        return "\n".join(m.get("text") or "" for m in dispatcher.messages)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def save(page: Any, form: Any) -> int:
    """Submit the card's form as an agent does, with Enter in the quantity field (the browser's implicit submission
    clicks the form's Save button), and return the status of the PATCH it sent. Enter, not a mouse click at the
    button's position: the context panel may still grow above the form (the widget section arrives on its own
    request), and a click aimed before such a shift lands beside the button."""
    with page.expect_response(lambda r: r.request.method == "PATCH" and "/api/leads/" in r.url,
                              timeout=LIVE_MS) as response:
        form.locator("#lead-field-quantity").press("Enter")
    return response.value.status


@pytest.fixture()
def hooked(tmp_path: Path) -> Iterator[tuple]:
    rasa = FakeRasa()
    receiver = Receiver.create(tmp_path / "receiver").start()
    console = Console.create(tmp_path / "console", rasa.url, staffed=fast_webhook(100),
                             extra={"KEFU_LEAD_WEBHOOK_URL": receiver.url, "KEFU_LEAD_WEBHOOK_SECRET": SECRET}).start()
    yield console, receiver
    console.stop()
    receiver.stop()
    rasa.close()


def test_an_agent_works_a_lead_on_its_card(browser: Any, hooked: tuple) -> None:
    console, receiver = hooked
    body = presales_context("browser-lead")
    response = console.internal("/internal/handoffs", body)
    assert response.status_code == 201, response.text
    ticket_id = response.json()["ticket_id"]
    page = new_page(browser)
    try:
        login(page, console.url, "li")
        open_ticket(page, ticket_id)
        card = page.locator("[data-testid='lead-card']")
        card.wait_for(timeout=LIVE_MS)
        text = card.inner_text()
        for words in ("保温杯 500ml", "杯身印公司 logo", "深圳、广州", "2027-03-01", "深圳市某某科技有限公司", "陈先生",
                      "13800001234", "现货 1200 个", "杯壶"):
            assert words in text, (words, text)
        assert card.locator("[data-testid='lead-priority']").inner_text() == "热"
        assert card.locator("[data-testid='lead-status']").inner_text() == "新线索"
        assert "cups_bottles" not in text and "hot" not in text  # words, never codes
        notes = card.locator("[data-testid='lead-notes']")
        assert not notes.locator("li").first.is_visible()  # the customer's words are folded away
        notes.locator("summary").click()
        assert notes.locator("li").first.inner_text() == "我们要两百来个"
        # edit the quantity
        card.locator("[data-testid='lead-edit']").click()
        form = page.locator("[data-testid='lead-form']")
        form.locator("#lead-field-quantity").fill("0")
        assert save(page, form) == 400
        error = form.locator("[data-testid='lead-error']")
        error.wait_for(timeout=LIVE_MS)
        assert "quantity" in error.inner_text()  # the server's refusal names the field; the form stays open
        form.locator("#lead-field-quantity").fill("350")
        assert save(page, form) == 200
        page.wait_for_function(
            "() => document.querySelector(\"[data-testid='lead-quantity']\")?.textContent === '350'", timeout=LIVE_MS)
        # move the status: new -> contacted -> quoted
        page.locator("[data-testid='lead-move-contacted']").click()
        page.wait_for_function("() => document.querySelector(\"[data-testid='lead-status']\")?.textContent === '已联系'",
                               timeout=LIVE_MS)
        assert page.locator("[data-testid='lead-move-won']").is_visible()
        assert quote_lookup(console, body["sender_id"]).startswith("您的报价进度")
        assert "销售已跟进" in quote_lookup(console, body["sender_id"])  # the customer's lookup follows the card
        # the sender restarts between two changes: every change still reaches the receiver exactly once
        console.stop()
        console.start()
        page.goto(f"{console.url}/console")  # the session outlives the restart
        if "/login" in page.url:
            login(page, console.url, "li")
        page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
        open_ticket(page, ticket_id)
        page.locator("[data-testid='lead-move-quoted']").wait_for(timeout=LIVE_MS)
        page.locator("[data-testid='lead-move-quoted']").click()
        page.wait_for_function("() => document.querySelector(\"[data-testid='lead-status']\")?.textContent === '已报价'",
                               timeout=LIVE_MS)
        assert "小李" in page.locator("[data-testid='lead-card']").inner_text()  # the owner now
        # a change made elsewhere (a supervisor claims the ticket) reaches this page as a live ticket event, which
        # carries the lead's summary only: the open card keeps the whole lead
        assert console.login("admin").post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
        page.locator(".badge-assignee").wait_for(timeout=LIVE_MS)
        shown = page.locator("[data-testid='lead-card']").inner_text()
        assert "深圳市某某科技有限公司" in shown and "陈先生" in shown and "小李" in shown, shown
        assert not page.kefu_errors, page.kefu_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()
    assert "报价已发给您" in quote_lookup(console, body["sender_id"])
    lead = console.ticket(ticket_id)["lead"]
    assert lead["quantity"] == 350 and lead["status"] == "quoted" and lead["owner"]["username"] == "li"
    assert console.wait_for(lambda: len(receiver.delivered()) >= 4, timeout=60), receiver.requests()
    got = receiver.delivered()
    assert [d["headers"]["x-kefu-event"] for d in got] == [
        "lead.created", "lead.updated", "lead.status_changed", "lead.status_changed"]
    assert len({d["headers"]["x-kefu-delivery"] for d in got}) == 4
    assert all(verify(SECRET, d["headers"], d["body"]) for d in got)
    assert got[1]["event"]["change"]["fields"] == {"quantity": [200, 350]}
