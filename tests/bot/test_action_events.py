"""bot.action_events: Rasa's real RemoteAction against the real action server (``actions.server``, a process of the app
environment): after the first call only new events travel, and the action still sees exactly Rasa's whole list, across
a restarted action server, a failed call, a tracker read again and a changed event (check mode)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import action_events, action_failures
from kernel.action_events import FIELD, HEADER, conversation_key
from kernel.settings import ROOT
from tests.harness import Command, HttpReady, ServerProcess, environ_without, free_port

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

DOMAIN = Domain.from_yaml("""
version: "3.1"
slots:
  language:
    type: text
    influence_conversation: false
    mappings:
      - type: from_text
responses:
  utter_default:
    - text: "抱歉，系统暂时出了点问题"
actions:
  - action_test_events
""")


class ActionServer:
    """``actions.server --actions tests.actions.sample_actions`` in the app environment, restartable on its port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Optional[ServerProcess] = None
        self.starts = 0

    def start(self) -> ActionServer:
        env = environ_without()
        env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", "SANIC_HOST": "127.0.0.1",
                    "KEFU_LOG_FORMAT": "json"})
        self.starts += 1
        command = Command("action server", [str(ROOT / ".venv/bin/python"), "-m", "actions.server", "--actions",
                                            "tests.actions.sample_actions", "--port", str(self.port)],
                          env, HttpReady(f"{self.url}/health", below=300), cwd=ROOT)
        self.process = ServerProcess.start(command, self.workdir / f"actions-{self.starts}.log")
        self.process.wait_ready(120)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=20)
            self.process = None

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in sorted(self.workdir.glob("actions-*.log")))

    def calls(self) -> Dict[str, float]:
        """``kefu_action_events_calls_total`` by kind."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            text = response.read().decode()
        return {m.group(1): float(m.group(2))
                for m in re.finditer(r'^kefu_action_events_calls_total\{kind="(\w+)"\} (\S+)$', text, re.M)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    running = ActionServer(tmp_path_factory.mktemp("action-events")).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    action_events.install()
    action_failures.install()
    monkeypatch.setenv("KEFU_ACTION_EVENTS", "1")
    monkeypatch.delenv("KEFU_ACTION_EVENTS_CHECK", raising=False)


def digest(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """What the echo action should say: Rasa's own list of events, as JSON (tests/actions/sample_actions.py)."""
    rasa_own = json.loads(json.dumps([event.as_dict() for event in tracker.events]))
    text = json.dumps(rasa_own, sort_keys=True, ensure_ascii=False)
    return {"count": len(rasa_own), "digest": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def seen_by_the_action(server: ActionServer, tracker: DialogueStateTracker) -> Dict[str, Any]:
    action = RemoteAction("action_test_events", EndpointConfig(f"{server.url}/webhook"))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    events = asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))
    assert len(events) == 1 and isinstance(events[0], BotUttered), events
    return json.loads(events[0].text)


def a_turn(tracker: DialogueStateTracker, number: int) -> None:
    for event in (UserUttered(f"第{number}个问题：运费险怎么赔？", intent={"name": "ask_faq", "confidence": 0.9},
                              parse_data={"intent": {"name": "ask_faq", "confidence": 0.9}, "entities": []}),
                  SlotSet("language", "zh-Hans"), ActionExecuted("action_test_events"),
                  BotUttered(f"回答 {number}", data={"buttons": [{"title": "转人工", "payload": "/human_handoff"}]}),
                  ActionExecuted("action_listen")):
        tracker.update(event)


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen")], slots=DOMAIN.slots)
    a_turn(tracker, 0)
    return tracker


def test_only_new_events_travel_and_the_action_sees_them_all(server: ActionServer) -> None:
    tracker = conversation("web:long")
    before = server.calls()
    for number in range(1, 31):
        a_turn(tracker, number)
        assert seen_by_the_action(server, tracker) == digest(tracker)
    after = server.calls()
    assert after["full"] - before["full"] == 1
    assert after["delta"] - before["delta"] == 29
    assert after["unknown"] == before["unknown"]


def test_the_body_is_rasas_with_the_events_after_the_base(server: ActionServer) -> None:
    """What one call sends: Rasa's own body with the tracker's events left out and the new ones in the field."""
    tracker = conversation("web:body")
    seen_by_the_action(server, tracker)
    a_turn(tracker, 1)
    action = RemoteAction("action_test_events", EndpointConfig(f"{server.url}/webhook"))
    plan = action_events.plan_for(tracker, check=False)
    sent = action_events._SENT["web:body"]
    assert plan.base == len(sent.events) == 6
    original = action_events._installed_format  # Rasa's own
    full = original(action, tracker, DOMAIN)
    body = action_events.call_body(original, action, tracker, DOMAIN, plan)
    assert body["tracker"]["events"] is None
    assert body[FIELD] == {"log": sent.log, "base": 6, "events": full["tracker"]["events"][6:]}
    assert {k: v for k, v in body.items() if k != FIELD} == {
        **full, "tracker": {**full["tracker"], "events": None}}


def test_a_restarted_action_server_gets_every_event_again(server: ActionServer) -> None:
    tracker = conversation("web:restart")
    seen_by_the_action(server, tracker)
    server.stop()
    server.start()
    a_turn(tracker, 1)
    assert seen_by_the_action(server, tracker) == digest(tracker)  # 409, then every event
    assert server.calls() == {"full": 1.0, "delta": 0.0, "unknown": 1.0}
    a_turn(tracker, 2)
    assert seen_by_the_action(server, tracker) == digest(tracker)
    assert server.calls()["delta"] == 1.0


def test_after_a_failed_call_every_event_is_sent(server: ActionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = conversation("web:failed")
    seen_by_the_action(server, tracker)
    a_turn(tracker, 1)
    port = server.port
    server.stop()
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    action = RemoteAction("action_test_events", EndpointConfig(f"http://127.0.0.1:{port}/webhook"))
    apology = asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))
    assert apology[0].text == "抱歉，系统暂时出了点问题"  # bot.action_failures still answers
    assert "web:failed" not in action_events._SENT
    server.start()
    before = server.calls()
    assert seen_by_the_action(server, tracker) == digest(tracker)
    assert server.calls()["full"] == before["full"] + 1 and server.calls()["unknown"] == before["unknown"]


def test_a_tracker_read_again_sends_every_event(server: ActionServer) -> None:
    tracker = conversation("web:reread")
    seen_by_the_action(server, tracker)
    a_turn(tracker, 1)
    again = DialogueStateTracker.from_dict("web:reread", [e.as_dict() for e in tracker.events], DOMAIN.slots)
    before = server.calls()
    assert seen_by_the_action(server, again) == digest(again)
    assert server.calls()["full"] == before["full"] + 1


def test_check_mode_finds_an_event_changed_after_it_was_sent(server: ActionServer,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The invariant the delta rests on: an event sent is not changed afterwards. The check mode (the test stacks
    run with it) shows a break of it, and the action still gets Rasa's list."""
    monkeypatch.setenv("KEFU_ACTION_EVENTS_CHECK", "1")
    tracker = conversation("web:changed")
    seen_by_the_action(server, tracker)
    a_turn(tracker, 1)
    assert seen_by_the_action(server, tracker) == digest(tracker)
    assert "action_events.differs" not in server.log()
    bot = next(event for event in tracker.events if isinstance(event, BotUttered))
    bot.text = "改过的回答"
    a_turn(tracker, 2)
    assert seen_by_the_action(server, tracker) == digest(tracker)
    assert "action_events.differs conversation_id=web:changed in=events[" in server.log()


def test_switched_off_sends_every_event_as_rasa_does(server: ActionServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_ACTION_EVENTS", "0")
    tracker = conversation("web:off")
    before = server.calls()
    for number in range(1, 3):
        a_turn(tracker, number)
        assert seen_by_the_action(server, tracker) == digest(tracker)
    assert server.calls() == before  # no call carried the field


def test_every_call_names_its_conversation_for_the_load_balancer() -> None:
    """``X-Kefu-Conversation`` (nginx hashes on it: deploy/nginx/kefu.conf.template), a digest of the id."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers.get(HEADER))
            body = b'{"events": [], "responses": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    listener = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        action = RemoteAction("action_test_events", EndpointConfig(
            f"http://127.0.0.1:{listener.server_address[1]}/webhook", headers={"X-Operator": "kept"}))
        nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
        for sender in ("web:甲", "rest:b", "web:甲"):
            asyncio.run(action.run(CollectingOutputChannel(), nlg, conversation(sender), DOMAIN))
    finally:
        listener.shutdown()
    assert seen == [conversation_key("web:甲"), conversation_key("rest:b"), conversation_key("web:甲")]
    assert re.fullmatch(r"[0-9a-f]{16}", seen[0]) and seen[0] != seen[1]
    assert action.action_endpoint.headers == {"X-Operator": "kept"}  # the shared endpoint is not changed


def test_install_is_idempotent() -> None:
    run, call_format = RemoteAction.run, RemoteAction._action_call_format
    action_events.install()
    assert (RemoteAction.run, RemoteAction._action_call_format) == (run, call_format)


def test_shared_prefix_counts_the_same_objects_in_place_with_their_timestamps() -> None:
    a, b, c = (BotUttered(text, timestamp=1.0) for text in "abc")
    sent = action_events.Sent.of("0" * 32, [a, b])
    assert action_events.shared_prefix(sent, [a, b, c]) == 2
    assert action_events.shared_prefix(action_events.Sent.of("0" * 32, [a, b, c]), [a, b]) == 2
    assert action_events.shared_prefix(sent, [a, c]) == 1
    assert action_events.shared_prefix(sent, [BotUttered("a", timestamp=1.0)]) == 0  # equal, not the same
    b.timestamp = 2.0  # what Rasa does to the policies' events of an action when it logs them after the call
    assert action_events.shared_prefix(sent, [a, b, c]) == 1


def test_a_policy_event_logged_again_after_the_call_is_sent_again(server: ActionServer,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa runs an action on a copy of the tracker with the policies' events added, then logs the same event objects
    on the turn's tracker with new timestamps: the next call sends them again (check mode: no difference)."""
    monkeypatch.setenv("KEFU_ACTION_EVENTS_CHECK", "1")
    tracker = conversation("web:policy-events")
    seen_by_the_action(server, tracker)
    a_turn(tracker, 1)
    policy_event = SlotSet("language", "en")
    copy = tracker.copy()
    copy.update_with_events([policy_event], DOMAIN)
    assert seen_by_the_action(server, copy) == digest(copy)
    tracker.update_with_events([policy_event], DOMAIN)  # a new timestamp on the object the call carried
    tracker.update(ActionExecuted("action_test_events"))
    assert seen_by_the_action(server, tracker) == digest(tracker)
    assert "action_events.differs conversation_id=web:policy-events" not in server.log()
