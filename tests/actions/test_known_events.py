"""actions.known_events: a call with only the new events becomes the call with every event, or is refused clearly."""

from __future__ import annotations

import copy
import logging
from typing import Any, Dict, List, Optional

import pytest

from actions.known_events import EventsUnknown, KnownEvents, first_difference
from kernel.action_events import FIELD, UNKNOWN_STATUS, InvalidDelta, is_unknown_answer, parse, unknown_body

LOG = "0123456789abcdef0123456789abcdef"
OTHER = "f" * 32


def events(count: int, start: int = 0) -> List[Dict[str, Any]]:
    return [{"event": "user", "text": f"message {i}", "parse_data": {"intent": {"name": "ask_faq"}}}
            for i in range(start, start + count)]


def call(sender: str = "web:1", every: Optional[List[Dict[str, Any]]] = None, **field: Any) -> Dict[str, Any]:
    tracker: Dict[str, Any] = {"sender_id": sender, "slots": {}, "events": every}
    return {"next_action": "action_x", "sender_id": sender, "tracker": tracker, FIELD: field}


def test_a_call_without_the_field_is_left_as_rasa_sent_it() -> None:
    known = KnownEvents()
    body = {"next_action": "action_x", "tracker": {"sender_id": "a", "events": events(2)}}
    before = copy.deepcopy(body)
    assert known.resolve(body) is None
    assert body == before and len(known) == 0


def test_every_event_then_only_the_new_ones() -> None:
    known = KnownEvents()
    first = call(every=events(3), log=LOG)
    assert known.resolve(first) == "full"
    assert first["tracker"]["events"] == events(3) and FIELD not in first
    second = call(log=LOG, base=3, events=events(2, 3))
    assert known.resolve(second) == "delta"
    assert second["tracker"]["events"] == events(5)
    # a base below what is kept: the events after it are replaced (a call whose answer Rasa never got)
    third = call(log=LOG, base=4, events=events(1, 10))
    known.resolve(third)
    assert third["tracker"]["events"] == events(4) + events(1, 10)
    assert known.total == 5
    # the same delta delivered twice gives the same list
    again = call(log=LOG, base=4, events=events(1, 10))
    known.resolve(again)
    assert again["tracker"]["events"] == third["tracker"]["events"] and known.total == 5


def test_the_actions_get_a_list_of_their_own() -> None:
    known = KnownEvents()
    first = call(every=events(2), log=LOG)
    known.resolve(first)
    first["tracker"]["events"].append({"event": "bot", "text": "an action added this"})
    second = call(log=LOG, base=2, events=[])
    known.resolve(second)
    assert second["tracker"]["events"] == events(2)


@pytest.mark.parametrize("case", ["no log", "other token", "base beyond the log"])
def test_a_delta_on_a_log_not_held_asks_for_every_event(case: str) -> None:
    known = KnownEvents()
    if case != "no log":
        known.resolve(call(every=events(2), log=LOG))
    token, base = (OTHER, 1) if case == "other token" else (LOG, 3 if case != "no log" else 0)
    body = call(log=token, base=base, events=events(1))
    with pytest.raises(EventsUnknown):
        known.resolve(body)
    if case != "no log":  # what was held is kept for the call that sends every event
        assert known.total == 2


def test_the_log_is_per_conversation() -> None:
    known = KnownEvents()
    known.resolve(call("web:1", every=events(2), log=LOG))
    with pytest.raises(EventsUnknown):
        known.resolve(call("web:2", log=LOG, base=2, events=[]))


def test_check_mode_compares_and_uses_every_event(caplog: pytest.LogCaptureFixture) -> None:
    known = KnownEvents()
    known.resolve(call(every=events(2), log=LOG))
    agreeing = call(every=events(3), log=LOG, base=2, events=events(1, 2))
    with caplog.at_level(logging.INFO):
        known.resolve(agreeing)
    assert "differs" not in caplog.text
    changed = events(4)
    changed[1]["text"] = "changed after it was sent"
    disagreeing = call(every=changed, log=LOG, base=3, events=events(1, 3))
    with caplog.at_level(logging.INFO):
        known.resolve(disagreeing)
    assert "action_events.differs conversation_id=web:1 in=events[1] of 4/4: ['text']" in caplog.text
    assert disagreeing["tracker"]["events"] == changed
    # and an unknown log in check mode is no difference: every event came anyway
    caplog.clear()
    fresh = call("web:9", every=events(1), log=LOG, base=5, events=[])
    known.resolve(fresh)
    assert fresh["tracker"]["events"] == events(1) and "differs" not in caplog.text


def test_the_budget_lets_the_least_recently_used_go() -> None:
    known = KnownEvents(budget=10)
    known.resolve(call("a", every=events(4), log=LOG))
    known.resolve(call("b", every=events(4), log=LOG))
    known.resolve(call("a", log=LOG, base=4, events=[]))  # a is used again
    known.resolve(call("c", every=events(4), log=LOG))  # 12 > 10: b goes
    assert known.total == 8 and len(known) == 2
    with pytest.raises(EventsUnknown):
        known.resolve(call("b", log=LOG, base=4, events=[]))
    known.resolve(call("a", log=LOG, base=4, events=[]))
    # one conversation longer than the whole budget is served, not kept
    huge = call("d", every=events(11), log=LOG)
    known.resolve(huge)
    assert len(huge["tracker"]["events"]) == 11 and known.total == 8


def test_no_budget_keeps_nothing() -> None:
    known = KnownEvents(budget=0)
    known.resolve(call(every=events(2), log=LOG))
    assert known.total == 0
    with pytest.raises(EventsUnknown):
        known.resolve(call(log=LOG, base=2, events=[]))


@pytest.mark.parametrize("field, message", [
    ("not an object", "must be an object"),
    ({"log": "short"}, "32 hex digits"),
    ({"log": LOG.upper()}, "32 hex digits"),
    ({"log": LOG, "base": -1, "events": []}, "0 or more"),
    ({"log": LOG, "base": True, "events": []}, "0 or more"),
    ({"log": LOG, "base": "3", "events": []}, "0 or more"),
    ({"log": LOG, "base": 0, "events": "x"}, "list of event objects"),
    ({"log": LOG, "base": 0, "events": [1, 2]}, "list of event objects"),
    ({"log": LOG, "base": 0}, "list of event objects"),
])
def test_a_malformed_field_is_refused_naming_what_is_wrong(field: Any, message: str) -> None:
    with pytest.raises(InvalidDelta, match=message):
        parse(field)


@pytest.mark.parametrize("body", [
    {"next_action": "x", FIELD: {"log": LOG}},  # no tracker
    {"next_action": "x", "tracker": {"events": events(1)}, FIELD: {"log": LOG}},  # no sender
    {"next_action": "x", "tracker": {"sender_id": "a"}, FIELD: {"log": LOG}},  # every event, but none sent
    {"next_action": "x", "tracker": {"sender_id": "a", "events": "x"}, FIELD: {"log": LOG}},
])
def test_a_call_the_field_cannot_apply_to_is_refused(body: Dict[str, Any]) -> None:
    with pytest.raises(InvalidDelta):
        KnownEvents().resolve(body)


def test_the_unknown_answer_is_recognised_in_text_and_bytes() -> None:
    import json

    body = json.dumps(unknown_body("web:1"))
    assert is_unknown_answer(UNKNOWN_STATUS, body) and is_unknown_answer(UNKNOWN_STATUS, body.encode())
    assert is_unknown_answer(UNKNOWN_STATUS, json.dumps(unknown_body("x"), separators=(",", ":")))
    assert not is_unknown_answer(500, body)
    assert not is_unknown_answer(UNKNOWN_STATUS, '{"error": "conflict"}')
    assert not is_unknown_answer(UNKNOWN_STATUS, None)


def test_first_difference_names_index_lengths_and_fields() -> None:
    assert first_difference(events(2), events(2)) == "none"
    assert first_difference(events(2), events(3)) == "events[2] of 2/3: ['event', 'parse_data', 'text']"
