"""The supervisors' administration page in headless Chromium (issue 26): a supervisor creates a team (with a
category) and an agent in it through the UI; a ticket of that category reaches the team; the new agent logs in
in a second browser context and claims it. Also: hostile names render as text, agents get no admin link, the page
fits 390 px. Screenshot: docs/screenshots/console-admin.png."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from tests.browser.console_helpers import (
    LIVE_MS,
    chromium_missing_reason,
    login,
    new_page,
    open_ticket,
    queue_item,
    screenshot,
)
from tests.console.process import Console, FakeRasa, context

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

XSS = '<img src=x onerror="window.__xss=1">'
XSS_TEXT = XSS + "<script>window.__xss=1</script>"
PASSWORD = "zhou-password-2026"
WIDTH_OF_PAGE = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, rasa_standin: FakeRasa) -> Iterator[Console]:
    console = Console.create(tmp_path_factory.mktemp("console-admin"), rasa_standin.url).start()
    yield console
    console.stop()


def open_admin(page: Any, base_url: str) -> None:
    page.locator("#nav-admin").click(timeout=LIVE_MS)
    page.wait_for_url(f"{base_url}/admin", timeout=LIVE_MS)
    page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)


def test_a_supervisor_makes_a_team_and_an_agent_who_claims_its_ticket(ui: Console, browser: Any, page: Any) -> None:
    login(page, ui.url, "admin")
    open_admin(page, ui.url)
    page.wait_for_selector("#agents-table tr[data-agent='wang']", timeout=LIVE_MS)

    # team X with a category of its own
    page.fill("#team-id", "wholesale")
    page.fill("#team-name-hans", "批发")
    page.fill("#team-name-en", "Wholesale")
    page.locator("#team-categories input[value='presales']").check(timeout=LIVE_MS)
    page.click("#team-save")
    row = page.locator("#teams-table tr[data-team='wholesale']")
    row.wait_for(timeout=LIVE_MS)
    assert "批发" in row.inner_text() and "售前" in row.inner_text()  # the category in words

    # agent A in team X
    page.fill("#agent-username", "zhou")
    page.fill("#agent-display", "小周")
    page.select_option("#agent-role", "agent")
    page.fill("#agent-password", PASSWORD)
    page.locator("#agent-teams input[value='wholesale']").check(timeout=LIVE_MS)
    page.click("#agent-save")
    agent_row = page.locator("#agents-table tr[data-agent='zhou']")
    agent_row.wait_for(timeout=LIVE_MS)
    assert "小周" in agent_row.inner_text() and "批发" in agent_row.inner_text()
    page.locator("#audit-table tr", has_text="zhou").first.wait_for(timeout=LIVE_MS)
    assert "agent:admin" in page.locator("#audit-table").inner_text()
    screenshot(page, "admin", full_page=True)

    # a ticket for team X, the way the action server opens one
    sender = f"bulk-{uuid.uuid4().hex[:8]}"
    made = ui.internal("/internal/handoffs", context(sender, category="presales", reason="presales"))
    assert made.status_code == 201 and made.json()["team"] == "wholesale", made.text
    ticket = int(made.json()["ticket_id"])

    # agent A logs in in a second browser context and claims it
    second = new_page(browser)
    try:
        second.goto(f"{ui.url}/login")
        second.fill("#username", "zhou")
        second.fill("#password", PASSWORD)
        second.click("#login-submit")
        second.wait_for_url(f"{ui.url}/console**", timeout=LIVE_MS)
        second.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
        assert second.locator("#nav-admin").is_hidden()  # an agent gets no administration link
        queue_item(second, ticket).wait_for(timeout=LIVE_MS)
        open_ticket(second, ticket)
        second.click("#btn-claim")
        second.wait_for_selector("[data-testid='ticket-state'].badge-state-assigned", timeout=LIVE_MS)
        assert not second.kefu_errors, second.kefu_errors
    finally:
        second.context.close()
    assert ui.ticket(ticket)["assignee"]["username"] == "zhou"


def test_hostile_names_render_as_text_and_agents_are_turned_away(ui: Console, browser: Any, page: Any) -> None:
    admin = ui.login("admin")
    made = admin.post("/api/admin/canned", json={"id": "hostile", "title": {"zh-Hans": XSS, "en": XSS},
                                                  "text": {"zh-Hans": XSS_TEXT, "en": XSS_TEXT}})
    assert made.status_code == 201, made.text
    assert admin.patch("/api/admin/agents/li", json={"display_name": "<b>李</b>"}).status_code == 200
    login(page, ui.url, "admin")
    open_admin(page, ui.url)
    row = page.locator("#canned-table tr[data-canned='hostile']")
    row.wait_for(timeout=LIVE_MS)
    assert XSS in row.inner_text() and XSS_TEXT in row.inner_text()
    assert "<b>李</b>" in page.locator("#agents-table tr[data-agent='li']").inner_text()
    assert page.evaluate("window.__xss") is None
    assert page.locator("#canned-table img, #agents-table b").count() == 0

    agent = new_page(browser)  # an agent, in a browser of their own
    try:
        login(agent, ui.url, "wang")
        assert agent.locator("#nav-admin").is_hidden()
        agent.goto(f"{ui.url}/admin")
        agent.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
        assert agent.locator("#admin-error").is_visible()
        assert agent.locator("#agents-table tr").count() == 0
        assert not agent.kefu_errors, agent.kefu_errors
    finally:
        agent.context.close()


def test_the_admin_page_fits_a_phone(ui: Console, browser: Any) -> None:
    phone = new_page(browser, width=390, height=844)
    try:
        login(phone, ui.url, "admin")
        phone.goto(f"{ui.url}/admin")
        phone.wait_for_selector("#teams-table tr[data-team='presales']", timeout=LIVE_MS)
        assert phone.evaluate(WIDTH_OF_PAGE) <= 392
        assert phone.locator("#agent-save").is_visible() and phone.locator("#team-save").is_visible()
        assert not phone.kefu_errors, phone.kefu_errors
    finally:
        phone.context.close()
