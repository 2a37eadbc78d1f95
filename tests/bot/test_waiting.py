"""bot.waiting: when a paused conversation still waits for a person (the bot answers) and when an agent has it."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, UserUttered

from bot.waiting import waiting_for_a_person

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


def console(kind: str) -> BotUttered:
    return BotUttered("…", data={"custom": {"kefu_event": {"type": kind, "agent": "小王"}}})


HANDOFF = [UserUttered("转人工"), BotUttered("已为您转接人工客服"), ConversationPaused()]


def test_after_the_handoff_and_before_an_agent_joins_the_customer_waits() -> None:
    assert waiting_for_a_person([*HANDOFF, UserUttered("在吗")], paused=True)
    assert waiting_for_a_person([*HANDOFF, UserUttered("在吗"), BotUttered("收到")], paused=True)


@pytest.mark.parametrize("kind", ["agent_joined", "agent_message"])
def test_an_agent_who_joined_or_wrote_owns_the_conversation(kind: str) -> None:
    assert not waiting_for_a_person([*HANDOFF, console(kind), UserUttered("好的")], paused=True)


def test_a_transfer_puts_the_customer_back_in_a_queue() -> None:
    events = [*HANDOFF, console("agent_joined"), console("transferred"), UserUttered("还要等多久")]
    assert waiting_for_a_person(events, paused=True)
    assert not waiting_for_a_person([*events, console("agent_joined")], paused=True)


def test_an_earlier_handoff_does_not_count_and_not_paused_is_not_waiting() -> None:
    earlier = [*HANDOFF, console("agent_joined"), ConversationResumed(), *HANDOFF]
    assert waiting_for_a_person([*earlier, UserUttered("又是我")], paused=True)
    assert not waiting_for_a_person([UserUttered("你好")], paused=False)
    assert not waiting_for_a_person([*HANDOFF, console("agent_joined"), ConversationResumed()], paused=False)


def test_other_bot_messages_do_not_look_like_an_agent() -> None:
    odd = [BotUttered("x", data={"custom": "not a dict"}), BotUttered("y", data={"custom": {"kefu_event": "joined"}}),
           BotUttered("z", data=None)]
    assert waiting_for_a_person([*HANDOFF, *odd], paused=True)
