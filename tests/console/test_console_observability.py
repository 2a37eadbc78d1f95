"""The console's /metrics (queue, oldest wait, handoffs by reason) and its JSON logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from tests.console.process import Console, FakeRasa


@pytest.fixture()
def json_console(tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    proc = Console.create(tmp_path / "console", fake_rasa.url, extra={"KEFU_LOG_FORMAT": "json"}).start()
    yield proc
    proc.stop()


def log_lines(console: Console) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in console.log().splitlines() if line.strip()]


def metric_types(text: str) -> Dict[str, str]:
    return {line.split()[2]: line.split()[3] for line in text.splitlines() if line.startswith("# TYPE")}


def test_metrics_cover_queue_oldest_wait_and_handoffs_by_reason(json_console: Console) -> None:
    json_console.handoff("obs-metrics-1")
    json_console.handoff("obs-metrics-2", reason="presales", category="presales")
    text = httpx.get(json_console.url + "/metrics", timeout=10).text
    types = metric_types(text)
    assert types["kefu_console_queue_length"] == "gauge"
    assert types["kefu_console_oldest_waiting_seconds"] == "gauge"
    assert types["kefu_console_handoffs_total"] == "counter"  # only grows: rate() works on it
    assert 'kefu_console_handoffs_total{reason="complaint"} 1.0' in text
    assert 'kefu_console_handoffs_total{reason="presales"} 1.0' in text
    queued = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith("kefu_console_queue_length{"))
    assert queued == 2


def test_every_log_line_is_json_with_the_conversation_id_and_masked(json_console: Console) -> None:
    json_console.handoff("obs-logs-13812345678")
    lines = json_console.wait_for(
        lambda: [x for x in log_lines(json_console) if "created" in x["message"]] and log_lines(json_console)
    )
    created = next(x for x in lines if "created" in x["message"])
    assert created["service"] == "console" and created["logger"] == "kefu.console.tickets"
    assert created["conversation_id"] == "obs-logs-13812345678"  # the id itself is not masked
    startup = [x for x in lines if x["logger"].startswith("sanic")]
    assert startup and all("conversation_id" not in x for x in startup)  # Sanic's lines: JSON too, once
    assert len({(x["logger"], x["message"], x["timestamp"]) for x in lines}) == len(lines)


def closed_for_hours() -> Dict[str, Any]:
    """Staffed hours that are closed now and for the next five hours: one hour a day, six hours from now."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = (datetime.now(ZoneInfo("Asia/Shanghai")).hour + 6) % 24
    span = [f"{start:02d}:00-{start + 1:02d}:00"]
    return {"timezone": "Asia/Shanghai", "weekly": {day: span for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


@pytest.mark.parametrize("hours, clock, overdue, staffed", [
    ({"timezone": "Asia/Shanghai", "weekly": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}},
     "staffed_hours", 1.0, 1.0),
    (None, "staffed_hours", 0.0, 0.0),  # closed: the clock waits for the opening, the alert stays quiet at night
    (None, "calendar", 1.0, 0.0),
])
def test_first_response_overdue_follows_the_sla_clock(hours, clock, overdue, staffed) -> None:
    """`kefu_console_first_response_overdue{team}` counts queued tickets past their first-response target on the
    configured clock (the alert of docs/operations.md); answered and closed tickets never count."""
    import time

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from console.models import Base, Ticket
    from console.prometheus import ConsoleMetrics
    from console.settings import load_config

    config = load_config()
    config["staffed_hours"] = hours or closed_for_hours()
    config["sla"] = {**config["sla"], "first_response_seconds": 60, "first_response_clock": clock}
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    now = time.time()
    with Session(engine) as session:
        for n, (state, answered) in enumerate([("queued", None), ("assigned", now - 100), ("closed", None)]):
            session.add(Ticket(handoff_id=f"h{n}", sender_id=f"s{n}", channel="rest", state=state, team="complaints",
                               category="complaint", reason="complaint", language="zh-Hans", created_at=now - 120,
                               updated_at=now, first_response_at=answered))
        session.commit()
        text = ConsoleMetrics([t["id"] for t in config["teams"]], config).render(session, None)[0].decode()
    assert f'kefu_console_first_response_overdue{{team="complaints"}} {overdue}' in text, text
    assert 'kefu_console_first_response_overdue{team="presales"} 0.0' in text
    assert f"kefu_console_staffed {staffed}" in text
