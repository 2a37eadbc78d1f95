"""Attacks on the agents' console login, over real HTTP to a console process.

- a login flood (hundreds of wrong passwords from one IP against one username) gets 429s, and an
  agent's live stream meanwhile still delivers a new customer message;
- an unknown username and a wrong password get the same answer;
- a deactivated agent's live stream ends and the agent cannot log in;
- the published demo accounts do not exist unless the demo turns them on.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Iterator, List

import httpx
import pytest

from tests.console.process import PASSWORDS, Console, EventsTable, FakeRasa
from tests.console.streams import stream_of, users_cli

FLOOD = 300


@pytest.fixture()
def rasa() -> Iterator[FakeRasa]:
    standin = FakeRasa()
    yield standin
    standin.close()


def start(tmp_path: Path, rasa: FakeRasa, **extra: str) -> Console:
    return Console.create(tmp_path / "console", rasa.url, extra={"KEFU_CONSOLE_STREAM_CHECK_SECONDS": "1",
                                                                  **extra}).start()


def attempt(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{url}/api/auth/login", json={"username": username, "password": password}, timeout=60)


def test_login_flood_is_rate_limited_and_the_live_stream_still_delivers(tmp_path: Path, rasa: FakeRasa) -> None:
    console = start(tmp_path, rasa, KEFU_CONSOLE_DEMO_ACCOUNTS="true")
    try:
        events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
        ticket_id = console.handoff("flood-customer")["ticket_id"]
        stream = stream_of(console, "wang")  # wang is working while someone floods the login
        statuses: List[int] = []
        lock = threading.Lock()

        def flood(worker: int) -> None:
            with httpx.Client(base_url=console.url, timeout=60) as client:
                for n in range(FLOOD // 6):
                    answer = client.post("/api/auth/login", json={"username": "admin", "password": f"guess-{worker}-{n}"})
                    with lock:
                        statuses.append(answer.status_code)

        workers = [threading.Thread(target=flood, args=(w,)) for w in range(6)]
        for w in workers:
            w.start()
        events.user("flood-customer", "还在吗？我等了好久")  # a customer writes during the flood
        delivered = stream.next("message.created", timeout=120,
                                where=lambda d: d.get("message", {}).get("text") == "还在吗？我等了好久")
        for w in workers:
            w.join(timeout=600)
        counts = Counter(statuses)
        assert len(statuses) == FLOOD
        assert delivered is not None and delivered["ticket_id"] == ticket_id, "the live stream stalled during the flood"
        assert counts[429] >= FLOOD - 30, f"the flood was not rate-limited: {dict(counts)}"
        assert counts[200] == 0
        limited = attempt(console.url, "admin", "one-more-guess")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json() == {"error": "rate_limited", "message": limited.json()["message"]}
        # the agent's session kept working throughout
        assert console.login("wang").get("/api/auth/me").status_code == 200
    finally:
        console.stop()


def test_unknown_user_and_wrong_password_answer_the_same(tmp_path: Path, rasa: FakeRasa) -> None:
    console = start(tmp_path, rasa, KEFU_CONSOLE_DEMO_ACCOUNTS="true")
    try:
        wrong = attempt(console.url, "wang", "not-the-password")
        unknown = attempt(console.url, "nobody-here", "not-the-password")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json() == {"error": "unauthenticated", "message": "wrong username or password"}
        assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
        # and a deactivated account answers like an unknown one
        assert users_cli(console, "deactivate", "li").returncode == 0
        deactivated = attempt(console.url, "li", PASSWORDS["li"])
        assert deactivated.status_code == 401 and deactivated.json() == wrong.json()
    finally:
        console.stop()


def test_deactivated_agent_stream_ends_and_login_fails(tmp_path: Path, rasa: FakeRasa) -> None:
    console = start(tmp_path, rasa, KEFU_CONSOLE_DEMO_ACCOUNTS="true")
    try:
        events = EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
        ticket_id = console.handoff("deact-customer")["ticket_id"]
        stream = stream_of(console, "wang")
        result = users_cli(console, "deactivate", "wang")
        assert result.returncode == 0, f"deactivation failed: {result.returncode} {result.stderr[-500:]}"
        assert stream.ended.wait(60), "the deactivated agent's live stream is still open"
        events.user("deact-customer", "a message wang must not get")
        assert console.wait_for(lambda: any(m["text"] == "a message wang must not get"
                                            for m in console.ticket(ticket_id)["messages"]), timeout=60)
        assert stream.next("message.created", timeout=2) is None
        assert attempt(console.url, "wang", PASSWORDS["wang"]).status_code == 401
        assert console.login("admin").get("/api/auth/me").status_code == 200
    finally:
        console.stop()


def test_demo_accounts_are_absent_when_the_flag_is_off(tmp_path: Path, rasa: FakeRasa) -> None:
    console = start(tmp_path, rasa, KEFU_CONSOLE_DEMO_ACCOUNTS="")  # unset, as in production
    try:
        for user, password in PASSWORDS.items():
            answer = attempt(console.url, user, password)
            assert answer.status_code == 401, f"demo account {user} logged in with its published password"
    finally:
        console.stop()
