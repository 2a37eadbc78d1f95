"""The supervisor dashboard's service measures in headless Chromium (issue 23): a custom date range, the breakdown by
channel and by language, the CSV link following the choices, and a low-rated ticket followed up from the dashboard.
The numbers are the hand-computed ones of tests/console/test_service_measures.py (same seed)."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest

from tests.browser.console_helpers import LIVE_MS, login, screenshot
from tests.console.process import Console, FakeRasa
from tests.console.test_service_measures import seed


@pytest.fixture()
def seeded(tmp_path: Any) -> Iterator[Console]:
    rasa = FakeRasa()
    console = Console.create(tmp_path / "console", rasa.url).start()
    seed(console)
    try:
        yield console
    finally:
        console.stop()
        rasa.close()


def cells(page: Any, key: str) -> list:
    return page.locator(f"#breakdown tr[data-key='{key}'] > *").all_inner_texts()


def test_range_breakdown_export_and_follow_up(seeded: Console, page: Any) -> None:
    login(page, seeded.url, "admin")
    page.goto(f"{seeded.url}/dashboard")
    page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
    page.fill("#from", "2026-11-02")
    page.fill("#to", "2026-11-08")
    page.dispatch_event("#to", "change")
    page.wait_for_function("(want) => document.getElementById('window').textContent.includes(want)",
                           arg="2026-11-08", timeout=LIVE_MS)
    assert page.locator("#days").input_value() == "custom"
    assert "2026-11-02" in page.locator("#window").inner_text() and "7" in page.locator("#window").inner_text()
    # by channel (default): wechat first (4 conversations), then the web chat (3)
    assert page.locator("#breakdown tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)") == \
        ["wechat", "socketio"]
    assert cells(page, "wechat") == ["微信公众号", "4", "50%", "57%", "67% (3)", "3.00 (2)", "5.00 (1)", "4.00 (1)",
                                     "0% (0/1)", "80% (4/5)", "0", "6m 00s", "24m 00s"]
    assert cells(page, "socketio")[8] == "33% (1/3)"
    assert page.locator("[data-kpi='fcr']").inner_text() == "25%"
    assert page.locator("[data-kpi='repeat']").inner_text() == "50%"
    assert page.locator("[data-kpi='ces']").inner_text() == "3.50"
    # by language
    page.select_option("#by", "language")
    page.wait_for_selector("#breakdown[data-by='language']", timeout=LIVE_MS)
    assert cells(page, "zh-Hant")[1:3] == ["2", "0%"] and cells(page, "en")[0] != "en"  # a language name, not a code
    href = page.locator("#export").get_attribute("href")
    assert href == "/api/metrics/dashboard.csv?from=2026-11-02&to=2026-11-08&by=language"
    admin = seeded.login("admin")
    exported = admin.get(href)
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    screenshot(page, "dashboard-measures", full_page=True)
    # the low-rated ticket T2 waits for a supervisor; a note is required, then it leaves the list
    item = page.locator("[data-card='followups'] li[data-followup]")
    assert item.count() == 1
    ticket_id = item.get_attribute("data-ticket")
    assert item.locator("a").get_attribute("href") == f"/console#ticket={ticket_id}"
    item.locator("[data-action='followup-done']").click()
    page.wait_for_selector(".toast-error", timeout=LIVE_MS)
    assert admin.get("/api/followups").json()["open"] == 1  # nothing done without a note
    item.locator("[data-role='note']").fill("打电话道歉，补发了杯子")
    item.locator("[data-action='followup-done']").click()
    page.wait_for_selector("[data-card='followups'] li[data-followup]", state="detached", timeout=LIVE_MS)
    done = admin.get("/api/followups?state=done").json()["followups"]
    assert [(f["ticket_id"], f["note"]) for f in done] == [(int(ticket_id), "打电话道歉，补发了杯子")]
    # a bad range shows the server's reason
    page.fill("#from", "2026-11-09")
    page.dispatch_event("#from", "change")
    page.wait_for_selector("#dash-error:not([hidden])", timeout=LIVE_MS)
    assert "after" in page.locator("#dash-error").inner_text()
    page.select_option("#lang-select", "en")
    assert page.locator("#h-breakdown").inner_text() == "Service measures by channel / language"
    page.select_option("#lang-select", "zh-Hans")
    assert httpx.get(f"{seeded.url}/api/metrics/dashboard.csv").status_code == 401
