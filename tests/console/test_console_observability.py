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
