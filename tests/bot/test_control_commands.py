"""bot/control_commands.py: which payloads a customer may send, and the Rasa method it wraps.

The end-to-end attacks (``/restart``, forged ``/inform{...}`` over REST and socket.io against a
real Rasa) are in tests/security/test_control_commands.py; this file pins the decisions and fails
loudly when a Rasa upgrade changes the wrapped method.
"""

from __future__ import annotations

import inspect

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, SessionStarted, UserUttered

from bot import control_commands
from bot.control_commands import (
    WRAPPED_SIGNATURE,
    allow_list,
    canonical,
    decide,
    neutral_text,
    not_understood,
    offered_payloads,
    parse_allow_list,
)

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

ALLOWED = allow_list({})


def test_wrapped_rasa_method_has_the_expected_signature() -> None:
    # an upgrade of Rasa that changes this method must be reviewed before the wrapper is trusted
    assert str(inspect.signature(MessageProcessor._handle_message_with_tracker)) == WRAPPED_SIGNATURE


def test_install_wraps_once_and_refuses_a_changed_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_commands, "_installed", False)
    original = MessageProcessor._handle_message_with_tracker

    async def changed(self, message, tracker, extra) -> None:  # type: ignore[no-untyped-def]
        return None

    monkeypatch.setattr(MessageProcessor, "_handle_message_with_tracker", changed)
    with pytest.raises(RuntimeError, match="review the wrapper"):
        control_commands.install({})
    monkeypatch.setattr(MessageProcessor, "_handle_message_with_tracker", original)
    control_commands.install({})
    wrapped = MessageProcessor._handle_message_with_tracker
    assert wrapped is not original
    control_commands.install({})  # idempotent
    assert MessageProcessor._handle_message_with_tracker is wrapped


def test_canonical_form_ignores_json_spacing_but_not_content() -> None:
    assert canonical('/inform{"city": "上海"}') == canonical('/inform{"city":"上海"}') == ("inform", '{"city":"上海"}')
    assert canonical("/restart") == ("restart", "")
    assert canonical('/inform{"city":"上海"}@1.0') != canonical('/inform{"city":"上海"}')
    for text in ("hello", "", "/", None, 7, "a /restart"):
        assert canonical(text) is None


def bot(*payloads: str, custom: dict | None = None) -> BotUttered:
    return BotUttered("选一个", data={"buttons": [{"title": p, "payload": p} for p in payloads], "custom": custom})


def test_offered_payloads_come_from_recent_bot_messages_of_this_session() -> None:
    events = [
        bot('/inform{"city":"old"}'),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("库存"),
        bot('/inform{"city":"上海"}', "/affirm"),
        bot(custom={"kefu_card": {"actions": [{"title": "详情", "payload": '/order_status{"order_id":"KF1"}'}]}}),
    ]
    offered = offered_payloads(events)
    assert ("inform", '{"city":"上海"}') in offered
    assert ("affirm", "") in offered
    assert ("order_status", '{"order_id":"KF1"}') in offered  # a card action
    assert ("inform", '{"city":"old"}') not in offered  # before the session started
    assert offered_payloads([bot("/affirm"), Restarted()]) == set()
    # dicts (tracker JSON) work too
    assert offered_payloads([{"event": "bot", "data": {"buttons": [{"payload": "/deny"}]}}]) == {("deny", "")}


def test_only_recent_messages_count() -> None:
    events = [bot("/affirm")] + [bot() for _ in range(control_commands.RECENT_BOT_MESSAGES)]
    assert ("affirm", "") not in offered_payloads(events)


@pytest.mark.parametrize(
    "text,events,reason",
    [
        ("你好", [], None),
        ("/restart", [], "control_command"),
        ("/session_start", [], "control_command"),
        ("/back", [bot("/back")], "control_command"),  # refused even when offered
        ('/inform{"city":"火星"}', [], "not_offered"),
        ('/inform{"city":"火星"}', [bot('/inform{"city":"上海"}')], "not_offered"),
        ('/inform{"city": "上海"}', [bot('/inform{"city":"上海"}')], None),
        ('/order_status{"order_id":"KF20261120001"}', [], "not_offered"),
        ("/affirm", [bot("/affirm")], None),
        ("/affirm@0.99", [bot("/affirm")], "not_offered"),
        ("/human_handoff", [], None),  # WeChat menu, default allow-list
        ("/order_status", [], None),
        ('/csat_rating{"rating":4}', [], None),  # the widget's CSAT stars
        ('/csat_rating{"rating":9}', [], "not_offered"),
    ],
)
def test_decide(text: str, events: list, reason: str | None) -> None:
    assert decide(text, events, ALLOWED) == reason


def test_allow_list_from_the_environment() -> None:
    assert parse_allow_list("") == frozenset()
    assert parse_allow_list("/greet, goodbye") == {("greet", ""), ("goodbye", "")}
    assert parse_allow_list('["/inform{\\"city\\": \\"上海\\"}", "/restart"]') == {
        ("inform", '{"city":"上海"}'), ("restart", "")
    }
    allowed = allow_list({"KEFU_ALLOWED_PAYLOADS": "/restart"})
    assert decide("/restart", [], allowed) is None  # an operator may allow it explicitly
    for bad in ("[1, 2]", "[oops", "/"):
        with pytest.raises(ValueError, match="KEFU_ALLOWED_PAYLOADS"):
            parse_allow_list(bad)


def test_neutral_text_is_not_a_payload_any_more() -> None:
    assert neutral_text("/restart") == "restart"
    assert neutral_text('  //inform{"city":"火星"}') == 'inform{"city":"火星"}'
    assert canonical(neutral_text('/inform{"city":"火星"}')) is None


def test_machine_syntax_is_not_understood_words_go_to_the_nlu() -> None:
    for text in ("/restart", "/session_start", '/inform{"city":"火星"}', '/order_status{"order_id":"X-1"}', "/back@0.9"):
        parse = not_understood(text)
        assert parse is not None, text
        assert parse["intent"]["name"] == "nlu_fallback" and parse["entities"] == [] and parse["text"] == text
    for text in ("/ 我的订单到哪了", "/where is my order", "/退款", "hello"):
        assert not_understood(text) is None, text
