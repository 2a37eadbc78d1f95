"""actions.server as a real process: rasa-sdk's webhook and /health, plus /metrics and JSON logs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest

from launcher.processes import specs
from tests.harness import Command, HttpReady, ServerProcess, environ_without, free_port

ROOT = Path(__file__).resolve().parents[2]


class ActionServer:
    """``actions.server`` with the sample actions, as a process (tests/harness.py)."""

    def __init__(self, workdir: Path, env_extra: Optional[Dict[str, str]] = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "actions.log"
        env = environ_without()
        env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "SANIC_HOST": "127.0.0.1",
                    "KEFU_LOG_FORMAT": "json", **(env_extra or {})})
        self.env = env
        self.process: Optional[ServerProcess] = None

    def start(self, timeout: float = 60.0) -> ActionServer:
        """Start and wait for /health (a deadline); a server that exits raises with its output."""
        command = Command(
            "action server",
            [str(ROOT / ".venv/bin/python"), "-m", "actions.server", "--actions", "tests.actions.sample_actions",
             "--port", str(self.port)],
            self.env, HttpReady(f"{self.url}/health", below=300), cwd=ROOT,
        )
        self.process = ServerProcess.start(command, self.log_path)
        try:
            self.process.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def json_lines(self) -> List[Dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    def call(self, action: str, sender: str, text: str = "hi") -> httpx.Response:
        body = {
            "next_action": action,
            "sender_id": sender,
            "version": "3.6.21",
            "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "events": [], "paused": False,
                        "latest_message": {"text": text, "intent": {"name": "greet"}, "entities": []},
                        "latest_action_name": "action_listen", "active_loop": {}, "followup_action": None},
        }
        return httpx.post(f"{self.url}/webhook", json=body, timeout=20)

    def metrics(self) -> str:
        response = httpx.get(f"{self.url}/metrics", timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text


def sample(metrics: str, line_start: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    proc = ActionServer(tmp_path_factory.mktemp("actions")).start()
    yield proc
    proc.stop()


def test_health_keeps_rasa_sdk_behaviour(server: ActionServer) -> None:
    response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    listed = httpx.get(f"{server.url}/actions", timeout=10).json()
    assert {"name": "action_test_echo"} in listed


def test_action_runs_are_timed_by_action(server: ActionServer) -> None:
    before = server.metrics()
    count_key = 'kefu_action_duration_seconds_count{action="action_test_echo"}'
    start = sample(before, count_key) if count_key in before else 0.0
    for i in range(3):
        response = server.call("action_test_echo", f"conv-echo-{i}", "你好 😀")
        assert response.status_code == 200
        assert response.json()["responses"][0]["text"] == "echo: 你好 😀"
    after = server.metrics()
    assert sample(after, count_key) == start + 3
    assert sample(after, 'kefu_action_duration_seconds_bucket{action="action_test_echo",le="+Inf"}') == start + 3
    assert sample(after, "kefu_actions_in_progress") == 0


def test_failures_are_counted_and_unknown_names_stay_bounded(server: ActionServer) -> None:
    broken = server.call("action_test_broken", "conv-broken")
    assert broken.status_code == 500  # rasa-sdk's answer; Rasa handles it
    missing = server.call("action_<script>alert(1)</script>", "conv-missing")
    assert missing.status_code == 404
    metrics = server.metrics()
    assert sample(metrics, 'kefu_action_errors_total{action="action_test_broken",kind="exception"}') >= 1
    assert sample(metrics, 'kefu_action_errors_total{action="unknown",kind="not_found"}') >= 1
    assert "<script>" not in metrics  # an unknown name never becomes a label value


def test_faq_and_handoff_series_exist_from_the_start(server: ActionServer) -> None:
    metrics = server.metrics()
    for outcome in ("answered", "clarify", "no_answer"):
        assert f'kefu_faq_outcomes_total{{language="zh-Hans",outcome="{outcome}"}}' in metrics
    assert 'kefu_handoffs_requested_total{console="down",reason="complaint"}' in metrics


def test_json_logs_carry_the_conversation_and_mask_personal_data(server: ActionServer) -> None:
    server.call("action_test_echo", "conv-log-1", "我的手机 13812345678，邮箱 wang@example.com")
    server.call("action_test_broken", "conv-log-2")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = server.json_lines()
        if any(line.get("conversation_id") == "conv-log-2" for line in lines):
            break
        time.sleep(0.1)
    echo = next(line for line in lines if line.get("logger") == "kefu.test_actions" and
                line.get("conversation_id") == "conv-log-1")
    assert echo["message"] == "echo turn text=我的手机 138****5678，邮箱 w***@example.com"
    assert echo["service"] == "actions" and echo["level"] == "INFO"
    failure = next(line for line in lines if line.get("conversation_id") == "conv-log-2" and line["level"] == "ERROR")
    assert "RuntimeError: the store said no to 138****5678" in failure["exception"]
    assert failure["logger"] == "rasa_sdk.endpoint"  # rasa-sdk's own error line knows the conversation too
    log = server.log()
    assert "13812345678" not in log and "wang@example.com" not in log


def test_the_warmed_knowledge_base_is_frozen_out_of_the_garbage_collector(server: ActionServer) -> None:
    """kernel/gc_freeze.py: after the warm-up, the index and encoder sit in the permanent generation (a full
    collection walked them in 80 ms while requests waited)."""
    frozen = [line for line in server.json_lines() if line.get("logger") == "kefu.gc_freeze"]
    assert len(frozen) == 1, frozen
    assert int(frozen[0]["message"].rsplit("objects=", 1)[1]) > 50_000, frozen


def _events_call(server: ActionServer, sender: str, field: Dict[str, Any], events: Optional[List[Dict[str, Any]]] = None) -> httpx.Response:
    body = {"next_action": "action_test_events", "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "events": events, "paused": False, "latest_message": {},
                        "latest_action_name": "action_listen", "active_loop": {}, "followup_action": None},
            "kefu_events": field}
    return httpx.post(f"{server.url}/webhook", json=body, timeout=20)


def test_a_call_with_only_the_new_events_gets_the_whole_list(server: ActionServer) -> None:
    """kernel/action_events.py over HTTP: every event once, then only the new ones; the action sees them all."""
    from tests.actions.sample_actions import events_digest

    log = "a" * 32
    said = [{"event": "user", "text": f"第{i}句", "parse_data": {"intent": {"name": "ask_faq"}}} for i in range(6)]
    before = server.metrics()
    first = _events_call(server, "conv-events", {"log": log}, said[:4])
    assert first.status_code == 200
    second = _events_call(server, "conv-events", {"log": log, "base": 4, "events": said[4:]})
    assert second.status_code == 200
    seen = json.loads(second.json()["responses"][0]["text"])
    assert seen == {"count": 6, "digest": events_digest(said)}
    after = server.metrics()
    for kind, more in (("full", 1), ("delta", 1), ("unknown", 0)):
        key = f'kefu_action_events_calls_total{{kind="{kind}"}}'
        assert sample(after, key) == sample(before, key) + more


def test_a_delta_this_server_cannot_resolve_is_answered_409(server: ActionServer) -> None:
    before = server.metrics()
    answer = _events_call(server, "conv-never-seen", {"log": "b" * 32, "base": 3, "events": []})
    assert answer.status_code == 409
    assert answer.json() == {"error": "no event log for conversation 'conv-never-seen': send every event",
                             "kefu_events": "unknown"}
    key = 'kefu_action_events_calls_total{kind="unknown"}'
    assert sample(server.metrics(), key) == sample(before, key) + 1


@pytest.mark.parametrize("field", [{"log": "not a token"}, {"log": "c" * 32, "base": -2, "events": []}, "x"])
def test_a_malformed_events_field_is_answered_422(server: ActionServer, field: Any) -> None:
    """422, not 400: Rasa reads a 400 as an action rejecting itself."""
    answer = _events_call(server, "conv-malformed", field, [])
    assert answer.status_code == 422
    assert "kefu_events" in answer.json()["error"]


def test_launcher_starts_this_server() -> None:
    env = {"KEFU_HOST": "127.0.0.1", "KEFU_RASA_PORT": "5005", "KEFU_ACTION_PORT": "5055",
           "KEFU_CONSOLE_PORT": "8080", "KEFU_MODEL": "models/kefu.tar.gz", "KEFU_RASA_TOKEN": "t"}
    argv = specs(env)["actions"].argv
    assert argv[1:5] == ["-m", "actions.server", "--actions", "actions"]
    assert argv[-2:] == ["--port", "5055"]


def test_text_logs_are_masked_too(tmp_path: Path) -> None:
    server = ActionServer(tmp_path, {"KEFU_LOG_FORMAT": "text"}).start()
    try:
        assert server.call("action_test_echo", "conv-text", "call me 13812345678").status_code == 200
        deadline = time.monotonic() + 10
        while "echo turn" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.stop()
    log = server.log()
    assert "echo turn text=call me 138****5678" in log
    assert "13812345678" not in log and not any(line.startswith("{") for line in log.splitlines())


def test_bad_log_format_stops_the_server_with_a_clear_error(tmp_path: Path) -> None:
    server = ActionServer(tmp_path, {"KEFU_LOG_FORMAT": "yaml"})
    with pytest.raises(RuntimeError, match="KEFU_LOG_FORMAT must be one of text, json"):
        server.start(timeout=30)
