"""The escalation keywords section of /admin in headless Chromium (issue 26): a supervisor sees the YAML's lists,
replaces one (what the action server reads changes), is stopped from emptying one without ticking the
confirmation, and resets it to the default; hostile words render as text."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.browser.console_helpers import LIVE_MS, chromium_missing_reason, login
from tests.console.process import Console, FakeRasa

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

XSS = '<img src=x onerror="window.__xss=1">'
ROW = "#escalation-table tr[data-escalation='explicit_request.keywords']"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, rasa_standin: FakeRasa) -> Iterator[Console]:
    console = Console.create(tmp_path_factory.mktemp("console-escalation"), rasa_standin.url).start()
    yield console
    console.stop()


def served(ui: Console) -> dict:
    response = ui.internal_get("/internal/escalation-words")
    assert response.status_code == 200, response.text
    return response.json()["overrides"]


def test_a_supervisor_replaces_empties_and_resets_a_keyword_list(ui: Console, page: Any) -> None:
    login(page, ui.url, "admin")
    page.goto(f"{ui.url}/admin")
    page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
    row = page.locator(ROW)
    row.wait_for(timeout=LIVE_MS)
    assert page.locator("#escalation-table tbody tr").count() == 3
    assert "转人工、人工客服" in row.locator("td.admin-text").inner_text() and "escalation.yml" in row.inner_text()
    assert page.locator(f"{ROW} button[data-action='reset']").count() == 0  # nothing to reset yet

    row.locator("button[data-action='edit']").click()
    words = page.locator("#escalation-words")
    assert "转人工" in words.input_value() and "talk to a human" in words.input_value()
    words.fill(f"找店长\n  \n{XSS}\n找店長")
    page.locator("#escalation-save").click()
    page.wait_for_function("() => document.querySelector('#escalation-form').hidden", timeout=LIVE_MS)
    page.wait_for_selector(f"{ROW} button[data-action='reset']", timeout=LIVE_MS)
    assert page.locator(f"{ROW} td.admin-text").inner_text() == f"找店长、{XSS}"
    assert "agent:admin" in page.locator(ROW).inner_text()
    assert page.locator("#escalation-table img").count() == 0 and page.evaluate("window.__xss") is None
    assert served(ui) == {"explicit_request": {"keywords": ["找店长", XSS]}}

    # emptying needs the box ticked: refused first (nothing saved), then done
    page.locator(f"{ROW} button[data-action='edit']").click()
    page.locator("#escalation-words").fill("")
    page.locator("#escalation-save").click()
    page.locator("#alerts .toast").filter(has_text="confirm_empty").first.wait_for(timeout=LIVE_MS)
    assert served(ui) == {"explicit_request": {"keywords": ["找店长", XSS]}}
    page.locator("#escalation-confirm-empty").check()
    page.locator("#escalation-save").click()
    page.wait_for_function("() => document.querySelector('#escalation-form').hidden", timeout=LIVE_MS)
    assert served(ui) == {"explicit_request": {"keywords": []}}

    page.locator(f"{ROW} button[data-action='reset']").click()
    page.locator("#confirm-ok").click()
    page.wait_for_function(
        f"() => !document.querySelector(\"{ROW} button[data-action='reset']\")", timeout=LIVE_MS)
    assert "转人工、人工客服" in page.locator(f"{ROW} td.admin-text").inner_text() and served(ui) == {}
    audit = page.locator("#audit-table").inner_text()
    assert "explicit_request.keywords" in audit
