"""bot.turn_profile: a turn's spans are recorded in the right tree, folded into the right parts, and the wrappers are
transparent outside a turn. A step clock stands in for time, so nothing here depends on how fast the machine is.

Runs in the app environment: bot.turn_profile imports no Rasa (the wrappers are tried on plain classes; the Rasa
methods they are installed on are exercised by benchmarks/turn_profile.py against the real server)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from bot import turn_profile
from bot.turn_profile import begin, finish, part_of, parts, span


class StepClock:
    """Every reading is 1 ms of wall time and 0.5 ms of CPU later than the one before."""

    def __init__(self) -> None:
        self.ticks = 0

    def __call__(self) -> Tuple[float, float]:
        self.ticks += 1
        return self.ticks * 0.001, self.ticks * 0.0005


def test_spans_nest_and_time_by_the_clock() -> None:
    turn, *tokens = begin(StepClock())  # reading 1: the root
    with span("tracker.load"):  # 2
        with span("tracker.replay"):  # 3 .. 4
            pass
    with span("nlu"):  # 6
        pass  # 7
    record = finish(turn, *tokens)  # 8
    assert [s[:2] for s in record["spans"]] == [["turn", -1], ["tracker.load", 0], ["tracker.replay", 1], ["nlu", 0]]
    assert [s[2] for s in record["spans"]] == [7.0, 3.0, 1.0, 1.0]
    assert [s[3] for s in record["spans"]] == [3.5, 1.5, 0.5, 0.5]
    assert turn_profile.current() is None


def test_outside_a_turn_nothing_is_recorded() -> None:
    with span("nlu"):
        assert turn_profile.current() is None


def test_concurrent_turns_keep_their_own_spans() -> None:
    async def one(name: str) -> List[Any]:
        turn, *tokens = begin(StepClock())
        with span(f"{name}.outer"):
            await asyncio.sleep(0)  # the other turn runs here
            with span(f"{name}.inner"):
                await asyncio.sleep(0)
        return finish(turn, *tokens)["spans"]

    async def both() -> List[List[Any]]:
        return list(await asyncio.gather(one("a"), one("b")))

    a, b = asyncio.run(both())
    assert [s[:2] for s in a] == [["turn", -1], ["a.outer", 0], ["a.inner", 1]]
    assert [s[:2] for s in b] == [["turn", -1], ["b.outer", 0], ["b.inner", 1]]


def test_parts_take_children_out_and_name_spans_by_where_they_ran() -> None:
    spans = [
        ["turn", -1, 100.0, 90.0],
        ["tracker.load", 0, 10.0, 8.0],
        ["tracker.replay", 1, 6.0, 6.0],
        ["nlu", 0, 30.0, 30.0],
        ["node:run_bot.nlu.tokenizer.NormalisingJiebaTokenizer0", 3, 5.0, 5.0],
        ["node:run_DIETClassifier5", 3, 20.0, 20.0],
        ["tracker.save", 0, 20.0, 15.0],
        ["broker.stream", 6, 12.0, 10.0],
        ["tracker.replay", 7, 7.0, 7.0],
        ["broker.publish", 7, 2.0, 1.0],
    ]
    folded = parts({"spans": spans})
    assert folded["tracker load: replay events"]["cpu_ms"] == 6.0
    assert folded["tracker load: query"]["cpu_ms"] == 2.0
    assert folded["NLU: DIETClassifier5"]["cpu_ms"] == 20.0
    assert folded["NLU: NormalisingJiebaTokenizer0"]["cpu_ms"] == 5.0
    assert folded["NLU: graph other"]["cpu_ms"] == 5.0
    # the replay while streaming events is the broker's cost, not the tracker load's
    assert folded["event broker: reload tracker for the diff"]["cpu_ms"] == 2.0 + 7.0
    assert folded["event broker: reload tracker for the diff"]["calls"] == 2
    assert folded["event broker: publish"]["cpu_ms"] == 1.0
    assert folded["tracker save: insert new events"]["cpu_ms"] == 5.0
    assert folded["channel (webhook, JSON in/out)"]["cpu_ms"] == 90.0 - 8.0 - 30.0 - 15.0
    assert sum(p["cpu_ms"] for p in folded.values()) == pytest.approx(90.0)
    assert sum(p["wall_ms"] for p in folded.values()) == pytest.approx(100.0)


def test_a_child_that_outlasts_its_parent_by_rounding_leaves_zero_not_less() -> None:
    folded = parts({"spans": [["turn", -1, 1.0, 1.0], ["nlu", 0, 1.002, 1.001]]})
    assert folded["channel (webhook, JSON in/out)"] == {"wall_ms": 0.0, "cpu_ms": 0.0, "calls": 1}


@pytest.mark.parametrize(
    ("name", "parent", "part"),
    [
        ("node:run_TEDPolicy2", "policies", "policy: TEDPolicy2"),
        ("node:select_prediction", "policies", "policies: graph other"),
        ("node:run_RegexMessageHandler", "nlu", "NLU: RegexMessageHandler"),
        ("action:action_answer_faq", "run_action:action_answer_faq", "action call: Rasa side other"),
        ("action.payload", "action:action_answer_faq", "action call: payload (tracker + domain to JSON)"),
        ("action.http", "action:action_answer_faq", "action call: HTTP round trip (Rasa side)"),
        ("run_action:utter_greet", "processor", "in-process actions (utter, listen, slots)"),
        ("lock.acquire", "turn", "lock acquire"),
        ("processor", "turn", "processor (tracker updates, logging, routing)"),
    ],
)
def test_part_names(name: str, parent: str, part: str) -> None:
    assert part_of(name, parent) == part
    assert turn_profile.group_of(part) in turn_profile.ORDER


def test_read_takes_whole_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps({"spans": [["turn", -1, 1, 1]]}) + "\n" + '{"spans": [', encoding="utf-8")
    records, offset = turn_profile.read(str(path), 0)
    assert len(records) == 1
    with path.open("a", encoding="utf-8") as handle:
        handle.write('["turn", -1, 2, 2]]}\n')
    records, offset = turn_profile.read(str(path), offset)
    assert records == [{"spans": [["turn", -1, 2, 2]]}]
    assert turn_profile.read(str(path), offset) == ([], offset)


class Service:
    """Methods of every kind the wrappers meet in Rasa."""

    def sync(self, value: int) -> int:
        return value + 1

    async def coroutine(self, value: int) -> int:
        await asyncio.sleep(0)
        return self.sync(value)

    @staticmethod
    async def static(value: int) -> int:
        return value * 2

    @classmethod
    def build(cls, value: int) -> Tuple[type, int]:
        return cls, value

    @asynccontextmanager
    async def lock(self, key: str) -> Any:
        self.events.append(f"acquire {key}")
        try:
            yield key.upper()
        finally:
            self.events.append(f"release {key}")


def wrapped_service() -> type:
    cls = type("WrappedService", (Service,), {"events": None})
    for attribute in ("sync", "coroutine", "static", "build"):
        setattr(cls, attribute, Service.__dict__[attribute])
        turn_profile._wrap(cls, attribute, lambda *a, name=attribute, **k: name)
    cls.lock = Service.lock
    turn_profile._wrap_lock(cls)
    return cls


def test_wrappers_record_during_a_turn_and_are_transparent_outside() -> None:
    cls = wrapped_service()
    service = cls()
    service.events = []

    async def work() -> List[Any]:
        results = [await service.coroutine(1), await cls.static(3), cls.build(4)]
        async with service.lock("c1") as held:
            results.append(held)
        with pytest.raises(KeyError):
            async with service.lock("c2"):
                raise KeyError("inside the lock")
        return results

    assert asyncio.run(work()) == [2, 6, (cls, 4), "C1"]  # no turn: no spans, same results
    turn, *tokens = begin(StepClock())
    results = asyncio.run(work())  # the task runs in a copy of this context: the turn is there
    record = finish(turn, *tokens)
    assert results == [2, 6, (cls, 4), "C1"]
    names = [(s[0], record["spans"][s[1]][0] if s[1] >= 0 else None) for s in record["spans"]]
    assert names == [
        ("turn", None),
        ("coroutine", "turn"),
        ("sync", "coroutine"),
        ("static", "turn"),
        ("build", "turn"),
        ("lock.acquire", "turn"),
        ("lock.release", "turn"),
        ("lock.acquire", "turn"),
        ("lock.release", "turn"),
    ]
    assert service.events == ["acquire c1", "release c1", "acquire c2", "release c2"] * 2
