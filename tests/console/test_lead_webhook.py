"""The lead webhook against a real receiver process (tests/console/webhook_receiver.py): every change arrives
once, in order, signed; failures are retried with the backoff and end dead after max_attempts; events written
while the receiver was unreachable are delivered after the console restarts; two consoles on one database never
send the same event twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest

from console.leads.sender import backoff, sign
from tests.console.leads import SECRET, Receiver, fast_webhook, presales_context, verify
from tests.console.process import Console, FakeRasa


@pytest.fixture()
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    hook = Receiver.create(tmp_path / "receiver")
    yield hook
    hook.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Optional[str]:
    return request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None


def hooked_console(workdir: Path, rasa: FakeRasa, receiver: Receiver, db_url: Optional[str] = None,
                   attempts: int = 100) -> Console:
    return Console.create(workdir, rasa.url, db_url=db_url, staffed=fast_webhook(attempts),
                          extra={"KEFU_LEAD_WEBHOOK_URL": receiver.url, "KEFU_LEAD_WEBHOOK_SECRET": SECRET})


def work_the_lead(console: Console, sender: str) -> str:
    body = presales_context(sender)
    response = console.internal("/internal/handoffs", body)
    assert response.status_code == 201, response.text
    lead_id = body["lead"]["lead_id"]
    li = console.login("li")
    li.patch(f"/api/leads/{lead_id}", json={"quantity": 250}).raise_for_status()
    li.post(f"/api/leads/{lead_id}/status", json={"status": "contacted"}).raise_for_status()
    li.post(f"/api/leads/{lead_id}/status", json={"status": "quoted"}).raise_for_status()
    return lead_id


def check_once_in_order(receiver: Receiver, lead_id: str) -> List[Dict[str, Any]]:
    got = [d for d in receiver.delivered() if d["event"]["lead"]["lead_id"] == lead_id]
    ids = [d["headers"]["x-kefu-delivery"] for d in got]
    assert len(ids) == len(set(ids)), ids  # exactly once each
    assert [d["headers"]["x-kefu-event"] for d in got] == [
        "lead.created", "lead.updated", "lead.status_changed", "lead.status_changed"]
    for d in got:
        assert verify(SECRET, d["headers"], d["body"]), d["headers"]
        assert d["headers"]["x-kefu-delivery"] == d["event"]["event_id"]
        assert d["headers"]["content-type"].startswith("application/json")
    assert [d["event"]["lead"]["status"] for d in got] == ["new", "new", "contacted", "quoted"]
    assert got[1]["event"]["change"]["fields"] == {"quantity": [200, 250]}
    assert [d["event"]["change"].get("to") for d in got[2:]] == ["contacted", "quoted"]
    return got


def test_every_change_arrives_once_in_order_signed_and_retried(tmp_path: Path, fake_rasa: FakeRasa,
                                                              receiver: Receiver, db_url: Optional[str]) -> None:
    receiver.start(fail_first=3)
    console = hooked_console(tmp_path / "console", fake_rasa, receiver, db_url).start()
    try:
        lead_id = work_the_lead(console, "hook-1")
        assert console.wait_for(lambda: len(receiver.delivered()) >= 4, timeout=60), receiver.requests()
        got = check_once_in_order(receiver, lead_id)
        first = got[0]["event"]
        assert first["ticket_id"] and first["occurred_at"] and first["lead"]["quantity"] == 200
        assert [m["author"] for m in first["transcript"]] == ["customer", "bot"]
        assert first["transcript"][0]["text"] == "我的杯子碎了" and first["transcript"][0]["at"]
        failed = [r for r in receiver.requests() if not r["ok"]]
        assert len(failed) == 3  # the refused attempts were tried again with the same delivery id
        assert failed[0]["headers"]["x-kefu-delivery"] == got[0]["headers"]["x-kefu-delivery"]
        assert console.wait_for(lambda: 'kefu_console_lead_webhook_events{state="delivered"} 4.0'
                                in httpx.get(f"{console.url}/metrics").text)
        assert len(receiver.delivered()) == 4
    finally:
        console.stop()


def test_events_written_while_unreachable_arrive_after_a_restart(tmp_path: Path, fake_rasa: FakeRasa,
                                                                 receiver: Receiver, db_url: Optional[str]) -> None:
    console = hooked_console(tmp_path / "console", fake_rasa, receiver, db_url).start()  # receiver not running
    try:
        lead_id = work_the_lead(console, "hook-restart")
        assert console.wait_for(lambda: "lead webhook event" in console.log() or "not delivered" in console.log())
        console.stop()
        receiver.start()
        console.start()
        assert console.wait_for(lambda: len(receiver.delivered()) >= 4, timeout=60), receiver.requests()
        check_once_in_order(receiver, lead_id)
        health = httpx.get(f"{console.url}/health").json()["lead_webhook"]
        assert console.wait_for(lambda: httpx.get(f"{console.url}/health").json()["lead_webhook"]["delivered"] == 4)
        assert health["dead"] == 0 and health["configured"] is True
    finally:
        console.stop()


def test_an_event_is_dead_after_max_attempts(tmp_path: Path, fake_rasa: FakeRasa, receiver: Receiver) -> None:
    receiver.start(fail_first=10_000)
    console = hooked_console(tmp_path / "console", fake_rasa, receiver, attempts=2).start()
    try:
        console.internal("/internal/handoffs", presales_context("hook-dead")).raise_for_status()
        assert console.wait_for(lambda: 'kefu_console_lead_webhook_events{state="dead"} 1.0'
                                in httpx.get(f"{console.url}/metrics").text), receiver.requests()
        assert len(receiver.requests()) == 2 and receiver.delivered() == []
        assert httpx.get(f"{console.url}/health").json()["lead_webhook"]["dead"] == 1
    finally:
        console.stop()


def test_two_consoles_on_one_database_send_each_event_once(tmp_path: Path, fake_rasa: FakeRasa,
                                                           receiver: Receiver, db_url: Optional[str]) -> None:
    receiver.start()
    first = hooked_console(tmp_path / "one", fake_rasa, receiver, db_url)
    if db_url is None:
        first.env["KEFU_CONSOLE_DB_URL"] = f"sqlite:///{tmp_path / 'shared.db'}"
    second = hooked_console(tmp_path / "two", fake_rasa, receiver, first.env["KEFU_CONSOLE_DB_URL"])
    for key in ("KEFU_CONSOLE_SERVICE_TOKEN", "KEFU_CONSOLE_SECRET", "KEFU_EVENTS_DB"):
        second.env[key] = first.env[key]
    first.start()
    second.start()
    try:
        leads = [work_the_lead(first if n % 2 else second, f"hook-pair-{n}") for n in range(4)]
        assert first.wait_for(lambda: len(receiver.delivered()) >= 16, timeout=60), len(receiver.delivered())
        for lead_id in leads:
            check_once_in_order(receiver, lead_id)
        assert len(receiver.delivered()) == 16
    finally:
        first.stop()
        second.stop()


def test_signature_and_backoff() -> None:
    body = b'{"event":"lead.created"}'
    assert sign("k", "1700000000", body) == sign("k", "1700000000", body)
    assert sign("k", "1700000000", body) != sign("k", "1700000001", body)
    assert verify("k", {"x-kefu-timestamp": "1", "x-kefu-signature": sign("k", "1", body)}, body.decode())
    assert [backoff(n, [5, 30, 120]) for n in (1, 2, 3, 4, 12)] == [5, 30, 120, 120, 120]
