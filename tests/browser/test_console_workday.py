"""Browser tests of what agents use all day (issue 27), in headless Debian Chromium against the real console process
(tickets through the internal API as the action server sends them, Rasa's HTTP API the recording stand-in of
tests/console/process.py):

- presence and automatic assignment: two agents of capacity 1 go online in the top bar, three tickets arrive, each
  agent gets exactly one, the third waits; when one closes theirs, the third is assigned to them; a supervisor
  reassigns a ticket to a named agent;
- search finds a closed conversation by its order number and opens it read-only;
- "/" in the reply box finds a canned response and Enter inserts it; "?" lists the shortcuts; j/k, r and / work.

Screenshots: docs/screenshots/console-presence.png, console-search.png, console-canned-slash.png,
console-shortcuts.png.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, Iterator, List

import pytest

from tests.browser.console_helpers import (
    LIVE_MS,
    chromium_missing_reason,
    confirm,
    login,
    open_ticket,
    queue_item,
    screenshot,
)
from tests.console.process import Console, FakeRasa, context

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or "")]

PASSWORD = "capacity-one-2026"
ORDER = "KF20261105009"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, rasa_standin: FakeRasa) -> Iterator[Console]:
    console = Console.create(tmp_path_factory.mktemp("console-workday"), rasa_standin.url).start()
    yield console
    console.stop()


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Log in an account that is not one of the demo logins (login() knows only theirs)."""
    page.goto(f"{base_url}/login")
    page.evaluate("localStorage.setItem('kefu.console.lang', 'zh-Hans')")
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
    page.wait_for_selector("body[data-live='1']", timeout=LIVE_MS)


def complaint(console: Console, **fields: Any) -> int:
    body = context(f"wd-{uuid.uuid4().hex[:10]}", customer={"id": None, "name": "访客", "tier": None, "verified": False},
                   **fields)
    response = console.internal("/internal/handoffs", body)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["ticket_id"])


def tickets(console: Console, ids: List[int]) -> Dict[int, Dict[str, Any]]:
    return {i: console.ticket(i) for i in ids}


def mine(page: Any) -> List[int]:
    return [int(x) for x in page.locator("#queue-list .queue-item.mine").evaluate_all(
        "els => els.map(e => e.dataset.ticketId)")]


# ------------------------------------------------------------------------------------------------ assignment
def test_two_agents_of_capacity_one_each_get_one_ticket_and_the_third_follows_a_close(ui: Console, pages: Any) -> None:
    admin = ui.login("admin")
    for username, name in (("zhang", "小张"), ("zhao", "小赵")):
        made = admin.post("/api/admin/agents", json={"username": username, "display_name": name, "role": "agent",
                                                     "teams": ["complaints"], "password": PASSWORD, "capacity": 1})
        assert made.status_code == 201, made.text
    zhang, zhao = pages(), pages()
    sign_in(zhang, ui.url, "zhang", PASSWORD)
    sign_in(zhao, ui.url, "zhao", PASSWORD)
    for page in (zhang, zhao):
        assert page.input_value("#presence-select") == "offline"  # nobody is given work before they say so
        page.select_option("#presence-select", "online")
        page.wait_for_selector("body[data-presence='online']", timeout=LIVE_MS)
    ids = [complaint(ui, summary=f"投诉 {n}") for n in range(3)]
    # each agent sees exactly one ticket of their own, without a click
    for page in (zhang, zhao):
        page.wait_for_function("() => document.querySelectorAll('#queue-list .queue-item.mine').length === 1",
                               timeout=LIVE_MS)
    state = ui.wait_for(lambda: (lambda t: t if sum(x["state"] == "assigned" for x in t.values()) == 2 else None)(
        tickets(ui, ids)))
    assert state, tickets(ui, ids)
    holders = sorted(t["assignee"]["username"] for t in state.values() if t["assignee"])
    assert holders == ["zhang", "zhao"]
    waiting = [i for i, t in state.items() if t["state"] == "queued"]
    assert len(waiting) == 1
    assert mine(zhang) != mine(zhao)
    queue_item(zhang, waiting[0]).wait_for(timeout=LIVE_MS)  # the third waits in the team's queue
    assert "1/1" in zhang.locator("#presence-load").inner_text()
    screenshot(zhang, "presence")
    # 小张 closes theirs: the waiting ticket becomes 小张's
    own = mine(zhang)[0]
    open_ticket(zhang, own)
    zhang.select_option("#close-resolution", "resolved")
    zhang.click("#btn-close")
    confirm(zhang)
    zhang.wait_for_function("id => { const m = [...document.querySelectorAll('#queue-list .queue-item.mine')]"
                            ".map(e => Number(e.dataset.ticketId)); return m.length === 1 && m[0] === id; }",
                            arg=waiting[0], timeout=LIVE_MS)
    assert ui.ticket(waiting[0])["assignee"]["username"] == "zhang"
    assert len(mine(zhao)) == 1 and mine(zhao)[0] != waiting[0]


def test_a_supervisor_reassigns_a_ticket_to_a_named_agent(ui: Console, pages: Any) -> None:
    ticket_id = complaint(ui, summary="要求主管安排")
    page = pages()
    login(page, ui.url, "admin")
    open_ticket(page, ticket_id)
    page.wait_for_function("() => [...document.querySelectorAll('#assign-agent option')].some(o => o.value === 'wang')",
                           timeout=LIVE_MS)
    assert "li" not in page.locator("#assign-agent option").evaluate_all("os => os.map(o => o.value)")  # presales
    page.select_option("#assign-agent", "wang")
    page.click("#btn-assign")
    confirm(page)
    page.wait_for_function("() => document.getElementById('ticket-badges').textContent.includes('小王')",
                           timeout=LIVE_MS)
    audit = ui.login("admin").get("/api/admin/audit", params={"kind": "ticket"}).json()["items"]
    assert audit[0]["action"] == "ticket.assign" and audit[0]["after"]["assignee"] == "wang"


# ------------------------------------------------------------------------------------------------ search
def test_search_finds_a_closed_conversation_by_its_order_number(ui: Console, pages: Any) -> None:
    ticket_id = complaint(ui, slots={"order_id": ORDER}, summary="杯子碎了，要求退款")
    wang = ui.login("wang")
    assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
    assert wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).status_code == 200
    page = pages()
    login(page, ui.url, "wang")
    assert queue_item(page, ticket_id).count() == 0  # closed: not in the open queue
    page.fill("#search-q", "kf-2026-1105-009")  # as the customer wrote it
    page.select_option("#search-state", "closed")
    page.press("#search-q", "Enter")
    result = page.locator(f"#search-results .queue-item[data-ticket-id='{ticket_id}']")
    result.wait_for(timeout=LIVE_MS)
    assert "订单号" in page.locator("#search-summary").inner_text()
    assert ORDER in result.inner_text() and "已结束" in result.inner_text()
    screenshot(page, "search")
    result.click()
    page.wait_for_function("id => document.getElementById('ticket-title').textContent.includes('#' + id)",
                           arg=ticket_id, timeout=LIVE_MS)
    assert page.is_disabled("#composer-text")  # read-only
    assert page.locator("#composer-hint").is_visible()
    # hostile input is text: a clear message, the page goes on
    page.fill("#search-q", "%")
    page.press("#search-q", "Enter")
    page.locator("#alerts .toast-error").first.wait_for(timeout=LIVE_MS)
    page.click("#search-clear")
    page.wait_for_selector("#search-panel[hidden]", state="attached", timeout=LIVE_MS)
    assert page.locator("#queue-list").is_visible()  # back to the queue


# ------------------------------------------------------------------------------------------------ keyboard
def test_slash_finds_canned_responses_and_question_mark_lists_the_shortcuts(ui: Console, pages: Any) -> None:
    first = complaint(ui, summary="第一个")
    second = complaint(ui, summary="第二个")
    wang = ui.login("wang")
    for ticket_id in (first, second):
        assert wang.post(f"/api/tickets/{ticket_id}/claim", json={}).status_code == 200
    page = pages()
    login(page, ui.url, "wang")
    open_ticket(page, first)
    box = page.locator("#composer-text")
    box.click()
    box.type("好的 /退款")
    page.wait_for_selector("#canned-suggest:not([hidden]) .canned-option[data-canned-id='refund_started']",
                           timeout=LIVE_MS)
    assert box.get_attribute("aria-expanded") == "true"
    screenshot(page, "canned-slash")
    page.keyboard.press("Enter")
    page.wait_for_selector("#canned-suggest[hidden]", state="attached", timeout=LIVE_MS)
    assert box.input_value() == "好的 已为您发起退款，款项会在 1–3 个工作日内原路退回。"
    # words in English and the arrows choose among several; Escape closes the list and keeps the text
    box.fill("")
    box.type("/a")
    page.wait_for_selector("#canned-suggest .canned-option", timeout=LIVE_MS)
    options = page.locator("#canned-suggest .canned-option").count()
    assert options > 1
    page.keyboard.press("ArrowDown")
    assert page.locator("#canned-suggest .canned-option.active").get_attribute("id") == "canned-option-1"
    page.keyboard.press("Escape")
    page.wait_for_selector("#canned-suggest[hidden]", state="attached", timeout=LIVE_MS)
    assert box.input_value() == "/a"
    box.fill("/没有这样的回复")
    page.locator("#canned-suggest .canned-empty").wait_for(timeout=LIVE_MS)
    box.fill("")
    # "?" in a text field is a character; outside it opens the list
    box.type("?")
    assert not page.locator("#shortcuts-dialog").is_visible()
    box.fill("")
    page.keyboard.press("Escape")  # leaves the reply box
    page.keyboard.press("?")
    page.locator("#shortcuts-dialog").wait_for(state="visible", timeout=LIVE_MS)
    listed = page.locator("#shortcuts-list").inner_text()
    assert "下一个会话" in listed and "写回复" in listed and "搜索会话" in listed
    screenshot(page, "shortcuts")
    page.click("#shortcuts-close")
    page.locator("#shortcuts-dialog").wait_for(state="hidden", timeout=LIVE_MS)
    # j / k move through the queue; r writes a reply; / searches
    order = [int(x) for x in page.locator("#queue-list .queue-item").evaluate_all("els => els.map(e => e.dataset.ticketId)")]
    at = order.index(first)
    page.keyboard.press("j" if at + 1 < len(order) else "k")
    expected = order[at + 1] if at + 1 < len(order) else order[at - 1]
    page.wait_for_function("id => document.getElementById('ticket-title').textContent.includes('#' + id)",
                           arg=expected, timeout=LIVE_MS)
    page.keyboard.press("k" if at + 1 < len(order) else "j")
    page.wait_for_function("id => document.getElementById('ticket-title').textContent.includes('#' + id)",
                           arg=first, timeout=LIVE_MS)
    page.keyboard.press("r")
    page.wait_for_function("() => document.activeElement.id === 'composer-text'", timeout=LIVE_MS)
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    page.wait_for_function("() => document.activeElement.id === 'search-q'", timeout=LIVE_MS)
    assert page.input_value("#search-q") == ""  # the key opened the search, it was not typed into it


def test_a_supervisor_sets_an_agents_capacity_on_the_admin_page(ui: Console, pages: Any) -> None:
    page = pages()
    login(page, ui.url, "admin")
    page.goto(f"{ui.url}/admin")
    row = page.locator("tr[data-agent='wang']")
    row.wait_for(timeout=LIVE_MS)
    row.locator("[data-action='edit']").click()
    page.fill("#agent-capacity", "2")
    page.click("#agent-save")
    page.wait_for_function("() => document.querySelector(\"tr[data-agent='wang'] [data-testid='capacity']\")"
                           ".textContent === '2'", timeout=LIVE_MS)
    agents = {a["username"]: a for a in ui.login("admin").get("/api/admin/agents").json()["agents"]}
    assert agents["wang"]["capacity"] == 2
    row.locator("[data-action='edit']").click()
    page.fill("#agent-capacity", "99")  # out of range: the server's message, nothing saved
    page.click("#agent-save")
    page.locator("#alerts .toast-error").first.wait_for(timeout=LIVE_MS)
    assert "capacity" in page.locator("#alerts").inner_text()
    assert {a["username"]: a for a in ui.login("admin").get("/api/admin/agents").json()["agents"]}["wang"]["capacity"] == 2
    page.fill("#agent-capacity", "")
    page.click("#agent-save")
    page.wait_for_function("() => document.querySelector(\"tr[data-agent='wang'] [data-testid='capacity']\")"
                           ".textContent === '默认'", timeout=LIVE_MS)
