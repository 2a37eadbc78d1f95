"""The ticket state machine, as pure data and functions.

``bot → queued → assigned → (closed | returned_to_bot)``; a transfer moves an
open ticket back to ``queued`` in another team; an agent reply keeps it
``assigned``; an assignment (automatic, or a supervisor's) gives a queued or
assigned ticket to a named agent. Like Chatwoot's conversation status, the state is one explicit
field and every change is recorded as a transition.
"""

from __future__ import annotations

from enum import Enum
from typing import Dict, FrozenSet, Tuple


class State(str, Enum):
    BOT = "bot"  # before a ticket exists: the bot owns the conversation
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    RETURNED_TO_BOT = "returned_to_bot"


class Action(str, Enum):
    ESCALATE = "escalate"
    CLAIM = "claim"
    REPLY = "reply"
    TRANSFER = "transfer"
    CLOSE = "close"
    RETURN = "return"
    ASSIGN = "assign"  # the assigner (console/routing) or a supervisor gives the ticket to a named agent


TRANSITIONS: Dict[Tuple[State, Action], State] = {
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

OPEN_STATES: FrozenSet[State] = frozenset({State.QUEUED, State.ASSIGNED})
FINAL_STATES: FrozenSet[State] = frozenset({State.CLOSED, State.RETURNED_TO_BOT})


class InvalidTransition(ValueError):
    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"cannot {action.value} a ticket that is {state.value}")
        self.state = state
        self.action = action


def next_state(state: State | str, action: Action | str) -> State:
    """The state after ``action``; raises ``InvalidTransition`` when the machine forbids it."""
    state, action = State(state), Action(action)
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action) from None


def allowed_actions(state: State | str) -> FrozenSet[Action]:
    state = State(state)
    return frozenset(a for (s, a) in TRANSITIONS if s == state)


def is_open(state: State | str) -> bool:
    return State(state) in OPEN_STATES
