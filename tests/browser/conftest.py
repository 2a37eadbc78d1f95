"""Fixtures for the web widget's browser tests: the real Kefu stack and headless Debian Chromium.

One stack per test session (tests/stack.py, on the process harness tests/harness.py): Rasa (with
Kefu's socket.io channel), the action server (on a freshly seeded store database), and the console
(serving the widget bundle, the demo shop and the public history). Each test gets a new browser
context, that is a new shopper with empty storage. Never downloads a browser: /usr/bin/chromium only.
A failed test shows the tail of the stack's process logs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional

import pytest
import requests

from kernel.settings import ROOT
from launcher.processes import process_env
from tests.harness import log_sections
from tests.stack import Stack, model_missing_reason

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDGET = ROOT / "webchat" / "dist" / "kefu-widget.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CREDENTIALS = """\
rest:
bot.channels.socketio.KefuSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
"""


def _widget_sources_newer() -> bool:
    if not WIDGET.exists():
        return True
    built = WIDGET.stat().st_mtime
    sources = list((ROOT / "webchat" / "src").glob("*.js")) + [ROOT / "webchat" / "package-lock.json"]
    return any(p.stat().st_mtime > built for p in sources if p.exists())


@pytest.fixture(scope="session")
def widget_bundle() -> Path:
    """webchat/dist/kefu-widget.js, built with npm when missing or stale."""
    if _widget_sources_newer():
        if shutil.which("npm") is None:
            pytest.fail("npm is needed to build the widget (webchat/build.sh)")
        result = subprocess.run([str(ROOT / "webchat" / "build.sh")], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"widget build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert WIDGET.exists()
    return WIDGET


class WidgetStack:
    """The running processes and clients for them."""

    def __init__(self, stack: Stack, web_secret: str) -> None:
        self.stack = stack
        self.web_secret = web_secret

    @property
    def rasa_url(self) -> str:
        return self.stack.rasa_url

    @property
    def console_url(self) -> str:
        return self.stack.env["KEFU_CONSOLE_URL"]

    def demo_url(self, lang: str = "auto", **params: str) -> str:
        query = {"server": self.rasa_url, "console": self.console_url, "lang": lang, **params}
        return f"{self.console_url}/demo?" + "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in query.items())

    def user_texts(self, session_id: str) -> list:
        events = self.stack.tracker(session_id).get("events", [])
        return [e.get("text") for e in events if e.get("event") == "user"]

    def bot_texts(self, session_id: str) -> Optional[list]:
        """The bot's texts in the conversation once its turn is over (Rasa listens again), else None."""
        tracker = self.stack.tracker(session_id)
        if tracker.get("latest_action_name") != "action_listen":
            return None
        return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "bot" and e.get("text")]

    def agent(self, username: str = "wang", password: str = "wang-demo-2026") -> ConsoleAgent:
        return ConsoleAgent(self.console_url, username, password)


class ConsoleAgent:
    """An agent driving the console's HTTP API (session cookie + CSRF), as the console UI does."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        response = self.http.post(f"{base}/api/auth/login", json={"username": username, "password": password}, timeout=10)
        response.raise_for_status()
        self.csrf = response.json()["csrf_token"]

    def post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        response = self.http.post(f"{self.base}{path}", json=body, headers={"X-CSRF-Token": self.csrf}, timeout=30)
        assert response.status_code < 300, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def ticket_for(self, sender_id: str, timeout: float = 60.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tickets = self.http.get(f"{self.base}/api/tickets", params={"state": "all"}, timeout=10).json()["tickets"]
            for ticket in tickets:
                if ticket["sender_id"] == sender_id:
                    return ticket
            time.sleep(0.5)
        raise AssertionError(f"no ticket for {sender_id} in the console after {timeout}s")

    def ticket(self, ticket_id: int) -> Dict[str, Any]:
        return self.http.get(f"{self.base}/api/tickets/{ticket_id}", timeout=10).json()

    def messages_with(self, ticket_id: int, wanted: Iterable[str], timeout: float = 60.0) -> List[Dict[str, Any]]:
        """The ticket's messages once every wanted text is on it: the console learns of messages asynchronously."""
        wanted = list(wanted)
        deadline = time.monotonic() + timeout
        while True:
            messages = self.ticket(ticket_id)["messages"]
            missing = [w for w in wanted if not any(w in (m.get("text") or "") for m in messages)]
            if not missing:
                return messages
            if time.monotonic() > deadline:
                raise AssertionError(f"ticket {ticket_id} lacks {missing} after {timeout}s: {messages}")
            time.sleep(0.5)


@pytest.fixture(scope="session")
def widget_stack(tmp_path_factory: pytest.TempPathFactory, widget_bundle: Path) -> Iterator[WidgetStack]:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    workdir = tmp_path_factory.mktemp("widget")
    credentials = workdir / "credentials.yml"
    credentials.write_text(CREDENTIALS)
    store_url = f"sqlite:///{workdir / 'store.db'}"
    seeded = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "actions.store", "seed", "--url", store_url],
        cwd=str(ROOT), env=process_env(dict(os.environ)), capture_output=True, text=True, timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    web_secret = uuid.uuid4().hex
    extra = {
        "KEFU_CREDENTIALS": str(credentials),
        "KEFU_STORE_DB_URL": store_url,
        "KEFU_CONSOLE_SERVICE_TOKEN": uuid.uuid4().hex,
        "KEFU_CONSOLE_DB_URL": f"sqlite:///{workdir / 'console.db'}",
        "KEFU_WEB_TOKEN_SECRET": web_secret,
        "KEFU_NOTIFIER_INTERVAL": "1",  # the notifier's pass: a restock reaches the widget within a second
    }
    stack = Stack.start(workdir, extra_env=extra)  # the console serves the widget, the demo shop and the history
    try:
        yield WidgetStack(stack, web_secret)
    finally:
        stack.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed browser test shows the tail of every process log of the stacks it used."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        report.sections.extend(log_sections(_process_holders(getattr(item, "funcargs", {}).values())))


def _process_holders(values: Iterable[Any]) -> Iterator[Any]:
    """The fixture values, with the stacks inside a WidgetStack or a fixture's dict brought out."""
    for value in values:
        if isinstance(value, WidgetStack):
            yield value.stack
        elif isinstance(value, dict):
            yield from value.values()
        else:
            yield value


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def rasa_standin() -> Iterator[Any]:
    """A stand-in for Rasa's HTTP API behind a console started without the stack (tests.console.process)."""
    from tests.console.process import FakeRasa

    rasa = FakeRasa()
    yield rasa
    rasa.close()


@pytest.fixture()
def pages(browser: Any) -> Iterator[Any]:
    """Opens console pages (``pages()``, one browser context each); every JavaScript error on them fails the test."""
    from tests.browser.console_helpers import new_page

    opened: List[Any] = []

    def make() -> Any:
        page = new_page(browser)
        opened.append(page)
        return page

    yield make
    errors = [e for page in opened for e in page.kefu_errors]
    for page in opened:
        page.context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture()
def page(pages: Any) -> Any:
    """One console page (see ``pages``)."""
    return pages()


@pytest.fixture()
def shopper(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty storage), desktop size, Simplified Chinese browser."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield context
    context.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
