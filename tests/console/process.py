"""The console as a real process for tests (started and stopped through tests/harness.py), plus a writer
for Rasa's event-broker table and a small recording HTTP server standing in for Rasa's HTTP API (in a
thread of the test process, on a port the kernel picks)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import httpx
import sqlalchemy as sa

from tests.harness import Command, HttpReady, ServerProcess, environ_without, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"wang": "wang-demo-2026", "li": "li-demo-2026", "admin": "admin-demo-2026"}
ALWAYS_STAFFED = """
staffed_hours:
  timezone: Asia/Shanghai
  weekly: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"], thu: ["00:00-24:00"],
           fri: ["00:00-24:00"], sat: ["00:00-24:00"], sun: ["00:00-24:00"]}
"""
NEVER_STAFFED = """
staffed_hours:
  timezone: Asia/Shanghai
  weekly: {mon: ["09:00-09:01"], tue: [], wed: [], thu: [], fri: [], sat: [], sun: []}
"""


def config_file(directory: Path, staffed: str = ALWAYS_STAFFED) -> Path:
    """console/config.yml with the staffed hours replaced."""
    import yaml

    base = yaml.safe_load((ROOT / "console" / "config.yml").read_text(encoding="utf-8"))
    base.update(yaml.safe_load(staffed))
    path = directory / f"console-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(yaml.safe_dump(base, allow_unicode=True), encoding="utf-8")
    return path


class EventsTable:
    """Rasa's SQL event broker table (same schema as rasa.core.brokers.sql.SQLEventBroker)."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = sa.create_engine(self.url)
        with self.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS events (id INTEGER NOT NULL PRIMARY KEY, "
                                 "sender_id VARCHAR(255), data TEXT)"))

    def emit(self, sender_id: str, event: Dict[str, Any]) -> None:
        event = {"sender_id": sender_id, "timestamp": time.time(), **event}
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                         {"s": sender_id, "d": json.dumps(event, ensure_ascii=False)})

    def user(self, sender_id: str, text: str, intent: str = "inform", confidence: float = 0.9,
             channel: str = "rest", ts: Optional[float] = None) -> Dict[str, Any]:
        event = {"event": "user", "text": text, "timestamp": ts or time.time(), "input_channel": channel,
                 "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": []}}
        self.emit(sender_id, event)
        return event

    def raw(self, sender_id: str, data: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"), {"s": sender_id, "d": data})


class FakeRasa:
    """Records what the console appends to conversations; ``fail`` makes it answer 500.

    ``refuse = "45015"`` answers a delivering append (execute_side_effects=true) as Rasa does when Kefu's
    WeChat output channel raises ``DeliveryRefused``: 500 with Rasa's ErrorResponse JSON whose message
    carries ``kefu_undeliverable:<errcode>`` (and records the call with ``refused``); appends without side
    effects are accepted.
    """

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.fail = False
        self.refuse: Optional[str] = None
        self.refuse_saves = False  # Kefu's Rasa (bot/channels/wechat/delivery.py): events saved, details.event_saved
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                parsed = urlparse(self.path)
                if outer.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                query = parse_qs(parsed.query)
                if outer.refuse and query.get("execute_side_effects") == ["true"]:
                    outer.calls.append({"path": parsed.path, "query": query, "events": body, "refused": True,
                                        "saved": outer.refuse_saves})
                    error = (f"DeliveryRefused: WeChat refused the message (errcode {outer.refuse}) "
                             f"kefu_undeliverable:{outer.refuse}")
                    payload = json.dumps({"version": "3.6.20", "status": "failure",
                                          "message": f"An unexpected error occurred. Error: {error}",
                                          "reason": "ConversationError",
                                          "details": ({"kefu_undeliverable": outer.refuse, "channel": "wechat",
                                                       "event_saved": True} if outer.refuse_saves else {}),
                                          "help": None, "code": 500})
                    self.send_response(500)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(payload.encode())
                    return
                outer.calls.append({"path": parsed.path, "query": query, "events": body})
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events_for(self, sender_id: str) -> List[Dict[str, Any]]:
        return [e for c in self.calls if c["path"].endswith(f"/{sender_id}/tracker/events") for e in c["events"]]

    def close(self) -> None:
        self.server.shutdown()


@dataclass
class Console:
    workdir: Path
    env: Dict[str, str]
    process: Optional[ServerProcess] = None
    clients: Dict[str, httpx.Client] = field(default_factory=dict)
    csrf: Dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['KEFU_CONSOLE_PORT']}"

    @property
    def token(self) -> str:
        return self.env["KEFU_CONSOLE_SERVICE_TOKEN"]

    @classmethod
    def create(cls, workdir: Path, rasa_url: str, db_url: Optional[str] = None,
               staffed: str = ALWAYS_STAFFED, extra: Optional[Dict[str, str]] = None) -> Console:
        workdir.mkdir(parents=True, exist_ok=True)
        env = environ_without()
        env.update({
            "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "KEFU_HOST": "127.0.0.1", "KEFU_CONSOLE_PORT": str(free_port()), "KEFU_VAR_DIR": str(workdir),
            "KEFU_CONSOLE_DB_URL": db_url or f"sqlite:///{workdir / 'console.db'}",
            "KEFU_EVENTS_DB": str(workdir / "events.db"),
            "KEFU_CONSOLE_SERVICE_TOKEN": uuid.uuid4().hex, "KEFU_CONSOLE_SECRET": uuid.uuid4().hex,
            "KEFU_RASA_URL": rasa_url, "KEFU_RASA_TOKEN": "rasa-" + uuid.uuid4().hex,
            "KEFU_CONSOLE_CONFIG": str(config_file(workdir, staffed)),
            "KEFU_CONSOLE_TAIL_INTERVAL": "0.1",
            "KEFU_CONSOLE_UNANSWERED_GROUPING": "exact",
            "KEFU_APP_DB_URL": f"sqlite:///{workdir / 'app.db'}",
            # the tests log in with the demo accounts (off by default outside `make run` since issue 20)
            "KEFU_CONSOLE_DEMO_ACCOUNTS": "true",
        })
        env.update(extra or {})
        return cls(workdir, env)

    def start(self, timeout: float = 60.0) -> Console:
        """Start ``python -m console`` with :attr:`env` as it is now (tests change it before starting) and
        wait until /health answers; a console that exits or never answers raises with its log tail."""
        command = Command("console", [str(ROOT / ".venv/bin/python"), "-m", "console"], dict(self.env),
                          HttpReady(f"{self.url}/health", below=300), cwd=ROOT)
        self.process = ServerProcess.start(command, self.log_path)
        try:
            self.process.wait_ready(timeout)
        except BaseException:
            self.process.stop(grace=20)
            raise
        return self

    def stop(self) -> None:
        for client in self.clients.values():
            client.close()
        self.clients.clear()
        self.csrf.clear()
        if self.process is not None:
            self.process.stop(grace=20)

    @property
    def log_path(self) -> Path:
        return self.workdir / "console.log"

    def log(self) -> str:
        path = self.log_path
        return path.read_text(errors="replace") if path.exists() else ""

    # -- clients ---------------------------------------------------------------------------------
    def login(self, username: str) -> httpx.Client:
        if username in self.clients:
            return self.clients[username]
        client = httpx.Client(base_url=self.url, timeout=20)
        response = client.post("/api/auth/login", json={"username": username, "password": PASSWORDS[username]})
        response.raise_for_status()
        self.csrf[username] = response.json()["csrf_token"]
        client.headers["X-CSRF-Token"] = self.csrf[username]
        self.clients[username] = client
        return client

    def internal(self, path: str, body: Any, token: Optional[str] = None) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=20,
                          headers={"Authorization": f"Bearer {token or self.token}"})

    def internal_get(self, path: str, token: Optional[str] = None) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=20, headers={"Authorization": f"Bearer {token or self.token}"})

    def handoff(self, sender_id: str, **fields: Any) -> Dict[str, Any]:
        body = context(sender_id, **fields)
        response = self.internal("/internal/handoffs", body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def ticket(self, ticket_id: int, user: str = "admin") -> Dict[str, Any]:
        response = self.login(user).get(f"/api/tickets/{ticket_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, predicate, timeout: float = 20.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
        """Poll until ``predicate()`` is truthy (returns it); a generous deadline, not a timing assertion."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                return value
            time.sleep(interval)


def context(sender_id: str, **fields: Any) -> Dict[str, Any]:
    now = time.time()
    body: Dict[str, Any] = {
        "handoff_id": uuid.uuid4().hex, "sender_id": sender_id, "channel": "rest", "language": "zh-Hans",
        "reason": "complaint", "category": "complaint", "trigger": "intent:complain",
        "customer": {"id": "C0001", "name": "王*", "tier": "gold", "verified": True},
        "summary": "投诉：杯子碎了",
        "sentiment": {"score": -0.7, "label": "strongly_negative"},
        "transcript": [
            {"author": "customer", "event": "user", "text": "我的杯子碎了", "timestamp": now - 5, "intent": "complain",
             "confidence": 0.93},
            {"author": "bot", "event": "bot", "text": "非常抱歉", "timestamp": now - 4},
        ],
        "intents": [{"intent": "complain", "confidence": 0.93, "text": "我的杯子碎了"}],
        "slots": {"order_id": "KF20261101001"},
        "facts": [{"type": "order_status", "data": {"order_id": "KF20261101001", "status": "delivered"}}],
        "faq_candidates": [],
        "requested_at": now,
    }
    body.update(fields)
    return body
