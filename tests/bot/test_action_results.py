"""bot.action_results: the action server's answers pass and fail Rasa's schema exactly as with Rasa's own check."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import action_results

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "timestamp": None, "name": "language", "value": "zh-Hans"},
                {"event": "active_loop", "name": "order_form"},
                {"event": "bot", "text": "您好", "data": {}, "metadata": {}}],
     "responses": [{"text": "您好", "buttons": [{"title": "转人工", "payload": "/handoff"}]}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "pause"}]},
    {},
]
INVALID = [
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"timestamp": 1.0}]},
    {"events": {"event": "slot"}},
    {"responses": "hello"},
    {"events": [{"event": "slot", "timestamp": "yesterday", "name": "x", "value": 1}]},
]


def rasa_own(result: Dict[str, Any]) -> Any:
    """Rasa's check as shipped (the runtime may already be installed in this process)."""
    original = action_results._installed or RemoteAction._validate_action_result
    try:
        return original(RemoteAction("action_x", None), result)
    except ValidationError as error:
        return ("error", error.message, list(error.path), error.validator)


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass(result: Dict[str, Any]) -> None:
    action_results.install()
    assert RemoteAction("action_x", None)._validate_action_result(result) is True
    assert rasa_own(result) is True


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_fail_with_rasa_s_error(result: Dict[str, Any]) -> None:
    action_results.install()
    with pytest.raises(ValidationError) as raised:
        RemoteAction("action_x", None)._validate_action_result(result)
    error = raised.value
    assert ("error", error.message, list(error.path), error.validator) == rasa_own(result)
    assert "Failed to validate Action server response from API" in error.message


def test_the_validator_is_built_once() -> None:
    assert action_results.validator() is action_results.validator()
