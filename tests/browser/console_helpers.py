"""Helpers for the console's browser tests: headless Debian Chromium, logging in, a socket.io customer,
screenshots into docs/screenshots/, and the wiring of a console process to a real Rasa stack."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import socketio

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORDS = {"wang": "wang-demo-2026", "li": "li-demo-2026", "admin": "admin-demo-2026"}
#: Generous deadline for things that happen "live": a deadline, never a speed assertion.
LIVE_MS = 20_000
KEFU_SOCKETIO_CREDENTIALS = """\
rest:
bot.channels.socketio.KefuSocketIOInput:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
"""


def chromium_missing_reason() -> Optional[str]:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (Debian package chromium)"
    return None


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"console-{name}.png"
    page.evaluate("document.querySelectorAll('.toast').forEach(t => t.remove())")  # transient notices
    page.screenshot(path=str(path), full_page=full_page)
    return path


def login(page: Any, base_url: str, username: str, lang: str = "zh-Hans") -> None:
    """Log in through the login form and wait until the inbox has loaded."""
    page.goto(f"{base_url}/login")
    page.evaluate("lang => localStorage.setItem('kefu.console.lang', lang)", lang)
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("#login-submit")
    page.wait_for_url(f"{base_url}/console**", timeout=LIVE_MS)
    page.wait_for_selector("body[data-ready='1']", timeout=LIVE_MS)
    page.wait_for_selector("body[data-live='1']", timeout=LIVE_MS)


def new_page(browser: Any, width: int = 1440, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.kefu_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.kefu_errors.append(str(error)))  # type: ignore[attr-defined]
    return page


def queue_item(page: Any, ticket_id: int) -> Any:
    return page.locator(f"#queue-list .queue-item[data-ticket-id='{ticket_id}']")


def open_ticket(page: Any, ticket_id: int) -> None:
    queue_item(page, ticket_id).click(timeout=LIVE_MS)
    page.wait_for_selector("#ticket:not([hidden])", timeout=LIVE_MS)
    page.wait_for_function(
        "id => document.getElementById('ticket-title').textContent.includes('#' + id)", arg=ticket_id, timeout=LIVE_MS)


def confirm(page: Any) -> None:
    page.locator("#confirm-ok").click(timeout=LIVE_MS)


@dataclass
class SocketCustomer:
    """A shopper on Rasa's socket.io channel (session_request/session_confirm, user_uttered/bot_uttered)."""

    url: str
    session_id: str = field(default_factory=lambda: "kefu-test-" + uuid.uuid4().hex)
    received: List[Dict[str, Any]] = field(default_factory=list)
    confirmed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = socketio.Client(reconnection=True)
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("bot_uttered", self._on_bot)

    def _on_confirm(self, data: Any = None) -> None:
        if isinstance(data, str) and data:
            self.session_id = data  # the server issues (signs) session ids; a chosen one is replaced
        self.confirmed.set()

    @property
    def conversation_id(self) -> str:
        """Rasa's conversation id of this widget session (kernel/conversation_ids.py)."""
        return f"web:{self.session_id}"

    def _on_bot(self, data: Any = None) -> None:
        with self.lock:
            self.received.append(data if isinstance(data, dict) else {"raw": data})

    def connect(self, timeout: float = 30.0) -> SocketCustomer:
        self.client.connect(self.url, transports=["polling"], socketio_path="/socket.io", wait_timeout=timeout)
        self.client.emit("session_request", {"session_id": self.session_id})
        if not self.confirmed.wait(timeout):
            raise AssertionError("no session_confirm from Rasa")
        return self

    def say(self, text: str) -> int:
        """Send a message; returns how many bot messages had arrived before it (to wait for new ones)."""
        with self.lock:
            mark = len(self.received)
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                          "metadata": {"message_id": uuid.uuid4().hex}})
        return mark

    def messages_since(self, mark: int) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.received[mark:])

    def wait_for(self, predicate: Callable[[Dict[str, Any]], bool], since: int = 0,
                 timeout: float = 60.0) -> Dict[str, Any]:
        """The first bot message after ``since`` that matches; fails with what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages_since(since):
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching bot message; received: {self.messages_since(since)}")
            time.sleep(0.1)

    def close(self) -> None:
        try:
            # engine.io's close reaches the server at once; not waiting for the client's pending long poll saves up
            # to 30 s (ping interval + 5)
            self.client.eio.disconnect(abort=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


def kefu_event(message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The ``kefu_event`` a console notice carries, wherever the channel put the custom payload."""
    for holder in (message, message.get("metadata") or {}, message.get("custom") or {},
                   (message.get("metadata") or {}).get("custom") or {}):
        if isinstance(holder, dict):
            if isinstance(holder.get("kefu_event"), dict):
                return holder["kefu_event"]
            custom = holder.get("custom")
            if isinstance(custom, dict) and isinstance(custom.get("kefu_event"), dict):
                return custom["kefu_event"]
    return None


def buttons(message: Dict[str, Any]) -> List[Dict[str, Any]]:
    return list(message.get("buttons") or message.get("quick_replies") or [])


def credentials_file(directory: Path) -> Path:
    """credentials.yml when it already mounts Kefu's socket.io channel, else a copy that does.

    Rasa's built-in socketio output cannot emit custom payloads (its ``send_custom_json`` passes the payload
    as keyword arguments to ``sio.emit``), and every console notice carries one (``kefu_event``).
    """
    project = ROOT / "credentials.yml"
    if "KefuSocketIOInput" in project.read_text(encoding="utf-8"):
        return project
    path = directory / "credentials.yml"
    path.write_text(KEFU_SOCKETIO_CREDENTIALS, encoding="utf-8")
    return path


def seed_store(directory: Path) -> str:
    """A fresh demo shop database (orders, customers) for the action server."""
    from actions.store.seed import seed
    from actions.store.sql import SqlStore

    url = f"sqlite:///{directory / 'store.db'}"
    store = SqlStore(url)
    seed(store)
    return url


def handoff_model_missing_reason(model: Path) -> Optional[str]:
    """Why the trained model cannot escalate to a person (None when it can)."""
    import tarfile

    if not model.exists():
        return f"no trained Rasa model at {model}: run `make model`"
    try:
        with tarfile.open(model, "r:gz") as archive:
            member = next(m for m in archive.getmembers() if m.name.lstrip("/").endswith("domain_provider/domain.yml"))
            domain = archive.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    except (StopIteration, OSError, tarfile.TarError) as error:
        return f"cannot read the domain of {model}: {error}"
    missing = [name for name in ("action_handoff", "complain", "order_lookup_form") if name not in domain]
    if missing:
        return f"{model} was trained before the handoff data (its domain lacks {', '.join(missing)}): run `make model`"
    return None

