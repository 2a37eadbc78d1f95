"""The ticket state machine: every allowed and every forbidden transition."""

from __future__ import annotations

import itertools

import pytest

from console.states import TRANSITIONS, Action, InvalidTransition, State, allowed_actions, is_open, next_state

ALLOWED = {
    (State.BOT, Action.ESCALATE): State.QUEUED,
    (State.QUEUED, Action.CLAIM): State.ASSIGNED,
    (State.QUEUED, Action.ASSIGN): State.ASSIGNED,
    (State.ASSIGNED, Action.ASSIGN): State.ASSIGNED,
    (State.QUEUED, Action.TRANSFER): State.QUEUED,
    (State.QUEUED, Action.RETURN): State.RETURNED_TO_BOT,
    (State.ASSIGNED, Action.REPLY): State.ASSIGNED,
    (State.ASSIGNED, Action.TRANSFER): State.QUEUED,
    (State.ASSIGNED, Action.CLOSE): State.CLOSED,
    (State.ASSIGNED, Action.RETURN): State.RETURNED_TO_BOT,
}
FORBIDDEN = [pair for pair in itertools.product(State, Action) if pair not in ALLOWED]


def test_the_table_is_exactly_the_documented_machine() -> None:
    assert TRANSITIONS == ALLOWED


@pytest.mark.parametrize(("state", "action"), list(ALLOWED), ids=lambda v: v.value)
def test_allowed(state: State, action: Action) -> None:
    assert next_state(state, action) == ALLOWED[(state, action)]
    assert next_state(state.value, action.value) == ALLOWED[(state, action)]  # strings from the database


@pytest.mark.parametrize(("state", "action"), FORBIDDEN, ids=lambda v: v.value)
def test_forbidden(state: State, action: Action) -> None:
    with pytest.raises(InvalidTransition) as error:
        next_state(state, action)
    assert state.value in str(error.value) and action.value in str(error.value)


def test_final_states_allow_nothing() -> None:
    assert allowed_actions(State.CLOSED) == frozenset()
    assert allowed_actions(State.RETURNED_TO_BOT) == frozenset()
    assert is_open("queued") and is_open("assigned") and not is_open("closed") and not is_open("returned_to_bot")


def test_unknown_state_is_rejected() -> None:
    with pytest.raises(ValueError):
        next_state("snoozed", "claim")
