"""bot.action_failures: an unreachable action server gets the customer an apology and the offer
of a person, once per message, through Rasa's real RemoteAction against a real closed port and a
real HTTP server answering 500."""

from __future__ import annotations

import asyncio
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, List

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import action_failures

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

DOMAIN = Domain.from_yaml("""
version: "3.1"
slots:
  language:
    type: text
    influence_conversation: false
    mappings:
      - type: custom
        action: action_detect_language
responses:
  utter_default:
    - text: "抱歉，系统暂时出了点问题"
      buttons:
        - payload: /human_handoff
          title: 转人工客服
actions:
  - action_answer_faq
  - action_detect_language
""")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture()
def failing_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"boom")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook"
    server.shutdown()


def _tracker(*events: Any) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("customer", [UserUttered("怎么开发票"), *events], slots=DOMAIN.slots)


def _run(action_name: str, url: str, tracker: DialogueStateTracker) -> List[Any]:
    action_failures.install()
    action = RemoteAction(action_name, EndpointConfig(url))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))


@pytest.mark.parametrize("kind", ["connection refused", "HTTP 500"])
def test_unreachable_action_server_answers_with_the_apology(kind: str, failing_server: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/webhook" if kind == "connection refused" else failing_server
    events = _run("action_answer_faq", url, _tracker())
    assert len(events) == 1 and isinstance(events[0], BotUttered)
    assert events[0].text == "抱歉，系统暂时出了点问题"
    assert events[0].data["buttons"][0]["payload"] == "/human_handoff"
    assert events[0].metadata[action_failures.MARKER] is True


def test_one_apology_per_customer_message() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    apology = BotUttered("抱歉", metadata={action_failures.MARKER: True})
    with pytest.raises(Exception, match="Failed to execute custom action"):
        _run("action_answer_faq", url, _tracker(apology))
    # a new message: apologise again
    events = _run("action_answer_faq", url, _tracker(apology, UserUttered("还在吗")))
    assert [type(e).__name__ for e in events] == ["BotUttered"]


def test_slot_mapping_actions_keep_rasas_behaviour() -> None:
    """action_extract_slots tolerates a failed slot-mapping action; no apology from there."""
    url = f"http://127.0.0.1:{_closed_port()}/webhook"
    assert action_failures.slot_mapping_actions(DOMAIN) == {"action_detect_language"}
    with pytest.raises(Exception, match="Failed to execute custom action"):
        _run("action_detect_language", url, _tracker())


def test_install_is_idempotent() -> None:
    action_failures.install()
    wrapped = RemoteAction.run
    action_failures.install()
    assert RemoteAction.run is wrapped


def test_json_logs_config_is_added_only_when_asked() -> None:
    from bot.server import LOGGING_CONFIG, with_logging

    assert with_logging(["run", "--port", "1"], {}) == ["run", "--port", "1"]
    assert with_logging(["run"], {"KEFU_LOG_FORMAT": "json"}) == ["run", "--logging-config-file", str(LOGGING_CONFIG)]
    assert with_logging(["run", "--logging-config-file", "x.yml"], {"KEFU_LOG_FORMAT": "json"})[-1] == "x.yml"
    assert with_logging(["train"], {"KEFU_LOG_FORMAT": "json"}) == ["train"]
    assert LOGGING_CONFIG.exists()
