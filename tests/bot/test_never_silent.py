"""bot.never_silent: which turns would end without an answer."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.never_silent import needs_an_answer

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


def test_a_message_with_nothing_said_needs_an_answer() -> None:
    events = [ActionExecuted("action_listen"), UserUttered("北京门店地址"), ActionExecuted("action_extract_slots")]
    assert needs_an_answer(events, paused=False, active_loop=None)


def test_answered_paused_or_in_a_form_does_not() -> None:
    answered = [UserUttered("你好"), ActionExecuted("utter_greet"), BotUttered("您好")]
    assert not needs_an_answer(answered, paused=False, active_loop=None)
    pending = [UserUttered("好的，照片已经发了")]
    assert not needs_an_answer(pending, paused=True, active_loop=None)  # a person owns the conversation
    assert not needs_an_answer(pending, paused=False, active_loop="order_lookup_form")


def test_once_per_message() -> None:
    tried = [UserUttered("???"), ActionExecuted("action_fallback_ladder")]
    assert not needs_an_answer(tried, paused=False, active_loop=None)
    listened = [UserUttered("hi"), ActionExecuted("action_listen")]
    assert not needs_an_answer(listened, paused=False, active_loop=None)


def test_no_customer_message_no_answer_needed() -> None:
    assert not needs_an_answer([ActionExecuted("action_listen")], paused=False, active_loop=None)
    assert not needs_an_answer([UserUttered("   ")], paused=False, active_loop=None)
    assert not needs_an_answer([], paused=False, active_loop=None)
