"""bot.tracker_save: a turn saved by the replacement stores and publishes exactly what Rasa's own save did, without
loading the conversation again and with one broker transaction per turn."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_save

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

DOMAIN = Domain.from_dict({"intents": ["greet", "ask_faq"], "slots": {"language": {"type": "any", "mappings": []}}})


def turns() -> List[List[Any]]:
    """Three turns of one conversation, with a new session in the third (the count is of the latest session)."""
    made = [
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
         UserUttered("你好", {"name": "greet", "confidence": 0.99}), BotUttered("您好", {"elements": None}),
         ActionExecuted("action_listen")],
        [UserUttered("退款多久到账", {"name": "ask_faq", "confidence": 0.9}), ActionExecuted("action_answer_faq"),
         SlotSet("language", "zh-Hans"), BotUttered("退款发起后…", {"buttons": [{"title": "👍", "payload": "/up"}]}),
         ActionExecuted("action_listen")],
        [ActionExecuted("action_session_start"), SessionStarted(), SlotSet("language", "zh-Hans"),
         ActionExecuted("action_listen"), UserUttered("在吗", {"name": "greet", "confidence": 0.5}),
         ActionExecuted("action_listen")],
    ]
    for i, event in enumerate(e for turn in made for e in turn):
        event.timestamp = 1796600000.0 + i  # the same conversation each time it is made
    return made


def _rows(db: Path, query: str) -> List[Tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def _turn(store: SQLTrackerStore, sender: str, events: List[Any]) -> DialogueStateTracker:
    """What the processor does: the conversation as stored (its latest session), then this turn's events."""
    tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    return tracker


def _play(tmp: Path, use_patch: bool, sender: str = "c1") -> Dict[str, Any]:
    """Save the three turns with Rasa's save or the replacement; what the tables hold afterwards."""
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp / "tracker.db"),
                            event_broker=SQLEventBroker(db=str(tmp / "events.db")))
    save = tracker_save._installed or SQLTrackerStore.save
    if use_patch:
        tracker_save.install()
        save = SQLTrackerStore.save
    for events in turns():
        tracker = _turn(store, sender, events)
        asyncio.run(save(store, tracker))
    return {
        "events": _rows(tmp / "tracker.db", "SELECT sender_id, type_name, intent_name, action_name, data FROM events "
                                            "ORDER BY id"),
        "broker": _rows(tmp / "events.db", "SELECT sender_id, data FROM events ORDER BY id"),
    }


def test_the_same_rows_as_rasas_save(tmp_path: Path) -> None:
    (tmp_path / "rasa").mkdir()
    (tmp_path / "kefu").mkdir()
    before = _play(tmp_path / "rasa", use_patch=False)
    after = _play(tmp_path / "kefu", use_patch=True)
    assert len(before["events"]) == sum(len(t) for t in turns()) == len(before["broker"])
    assert after == before
    # the broker got what the tracker store stored, event for event
    assert [json.loads(data)["event"] for _, data in after["broker"]] == [row[1] for row in after["events"]]


def test_no_reload_and_one_broker_transaction_per_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker_save.install()
    broker = SQLEventBroker(db=str(tmp_path / "events.db"))
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker)

    loads: List[int] = []
    original_retrieve = store.retrieve

    async def counting_retrieve(sender_id: str) -> Any:
        loads.append(1)
        return await original_retrieve(sender_id)

    commits: List[int] = []
    original_scope = broker.session_scope

    def counting_scope() -> Any:
        commits.append(1)
        return original_scope()

    monkeypatch.setattr(store, "retrieve", counting_retrieve)
    monkeypatch.setattr(broker, "session_scope", counting_scope)
    monkeypatch.setattr(broker, "publish", lambda _event: (_ for _ in ()).throw(AssertionError("one by one")))
    for events in turns():
        tracker = _turn(store, "c2", events)
        asyncio.run(store.save(tracker))
    assert len(loads) == len(turns()), "the save loaded the conversation again"
    assert len(commits) == len(turns())
    assert len(_rows(tmp_path / "events.db", "SELECT id FROM events")) == sum(len(t) for t in turns())


class Recorder(EventBroker):
    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


def test_another_broker_gets_each_event_as_before(tmp_path: Path) -> None:
    tracker_save.install()
    broker = Recorder()
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=broker)
    tracker = DialogueStateTracker("c3", DOMAIN.slots)
    for event in turns()[0]:
        tracker.update(event)
    asyncio.run(store.save(tracker))
    assert [e["event"] for e in broker.published] == [e.as_dict()["event"] for e in turns()[0]]
    assert all(e["sender_id"] == "c3" for e in broker.published)


def test_a_broker_that_fails_stores_nothing_and_raises(tmp_path: Path) -> None:
    """As with Rasa's save: the broker is written first; when it fails the turn fails (bot.store_failures makes it a
    failed turn the client resends), and the tracker store holds nothing of it."""
    tracker_save.install()

    class Down(Recorder):
        def publish(self, event: Dict[str, Any]) -> None:
            raise ConnectionError("broker down")

    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"), event_broker=Down())
    tracker = DialogueStateTracker("c4", DOMAIN.slots)
    for event in turns()[0]:
        tracker.update(event)
    with pytest.raises(ConnectionError):
        asyncio.run(store.save(tracker))
    assert _rows(tmp_path / "tracker.db", "SELECT id FROM events") == []


# -- the conversation kept between turns ----------------------------------------------------------------------------

def _store(tmp: Path, domain: Domain = DOMAIN) -> SQLTrackerStore:
    tracker_save.install()
    return SQLTrackerStore(domain, dialect="sqlite", db=str(tmp / "tracker.db"))


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The sender ids whose conversation was read and replayed from the database."""
    seen: List[str] = []
    original = DialogueStateTracker.from_dict.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, sender_id: str, *args: Any, **kwargs: Any) -> DialogueStateTracker:
        seen.append(sender_id)
        return original(cls, sender_id, *args, **kwargs)

    monkeypatch.setattr(DialogueStateTracker, "from_dict", classmethod(counting))
    return seen


def _state(tracker: DialogueStateTracker) -> Dict[str, Any]:
    from rasa.shared.core.trackers import EventVerbosity

    return tracker.current_state(EventVerbosity.ALL)


def _fresh(tmp: Path, sender: str) -> DialogueStateTracker:
    """The conversation as a replica that never saw it reads it (Rasa's own retrieve)."""
    other = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp / "tracker.db"))
    other.__dict__["_kefu_kept"] = None  # nothing kept: reads the database
    tracker = asyncio.run(tracker_save._installed_retrieve(other, sender))
    assert tracker is not None
    return tracker


def test_the_saved_tracker_is_handed_back_without_reading_the_conversation(tmp_path: Path,
                                                                         replays: List[str]) -> None:
    store = _store(tmp_path)
    asyncio.run(store.save(_turn(store, "k1", turns()[0])))  # it starts the session: read once, then kept
    second = _turn(store, "k1", turns()[1])
    assert replays == ["k1"]
    asyncio.run(store.save(second))
    again = asyncio.run(store.retrieve("k1"))
    assert again is second and replays == ["k1"]
    third = _turn(store, "k1", [UserUttered("还在吗", {"name": "greet", "confidence": 0.9}),
                                ActionExecuted("action_listen")])
    asyncio.run(store.save(third))
    assert third is second and asyncio.run(store.retrieve("k1")) is second and replays == ["k1"]
    # and it is what the database holds, as any replica reads it
    assert _state(again) == _state(_fresh(tmp_path, "k1"))


def test_a_tracker_changed_after_its_save_is_read_again(tmp_path: Path, replays: List[str]) -> None:
    """A turn that failed after changing the tracker (nothing saved): the next turn gets the stored conversation."""
    store = _store(tmp_path)
    asyncio.run(store.save(_turn(store, "k2", turns()[0])))
    tracker = _turn(store, "k2", turns()[1])
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("k2")) is tracker and replays == ["k2"]
    tracker.update(UserUttered("没保存的话", {"name": "greet", "confidence": 1.0}))
    loaded = asyncio.run(store.retrieve("k2"))
    assert loaded is not tracker and replays == ["k2", "k2"]
    assert _state(loaded) == _state(_fresh(tmp_path, "k2"))


def test_another_replicas_save_is_seen(tmp_path: Path, replays: List[str]) -> None:
    """Two replicas on one database: what one saves, the other reads on its next turn of that conversation."""
    one, two = _store(tmp_path), _store(tmp_path)
    asyncio.run(one.save(_turn(one, "k3", turns()[0])))
    asyncio.run(two.save(_turn(two, "k3", turns()[1])))  # replica two reads it (a replay), adds a turn
    assert replays == ["k3"]
    seen_by_one = asyncio.run(one.retrieve("k3"))
    assert replays == ["k3", "k3"], "replica one handed back its own, older tracker"
    assert seen_by_one.latest_message.text == "退款多久到账"
    assert _state(seen_by_one) == _state(_fresh(tmp_path, "k3"))


def test_a_turn_that_starts_a_new_session_is_read_from_the_database(tmp_path: Path, replays: List[str]) -> None:
    """Rasa's retrieve gives the latest session only; the tracker that started it still holds the one before."""
    store = _store(tmp_path)
    for events in turns():
        asyncio.run(store.save(_turn(store, "k4", events)))
    loaded = asyncio.run(store.retrieve("k4"))
    assert replays[-1] == "k4" and loaded.latest_message.text == "在吗"
    assert loaded.events[0].type_name == "session_started"  # the latest session only, as Rasa reads it
    assert _state(loaded) == _state(_fresh(tmp_path, "k4"))


def test_deleted_rows_and_a_new_domain_are_never_answered_from_memory(tmp_path: Path, replays: List[str]) -> None:
    store = _store(tmp_path)
    asyncio.run(store.save(_turn(store, "k5", turns()[0])))
    asyncio.run(store.save(_turn(store, "k5", turns()[1])))
    replays.clear()
    store.domain = Domain.from_dict({"intents": ["greet"], "slots": {}})  # a new model's domain
    assert asyncio.run(store.retrieve("k5")) is not None and replays == ["k5"]
    with sqlite3.connect(tmp_path / "tracker.db") as connection:
        connection.execute("DELETE FROM events WHERE sender_id = 'k5'")
    assert asyncio.run(store.retrieve("k5")) is None


def test_the_least_recently_used_conversations_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          replays: List[str]) -> None:
    monkeypatch.setattr(tracker_save, "CACHE_SIZE", 2)
    store = _store(tmp_path)
    for sender in ("a", "b", "c"):
        asyncio.run(store.save(_turn(store, sender, turns()[0])))
        asyncio.run(store.save(_turn(store, sender, turns()[1])))
    assert replays == ["a", "b", "c"] and list(tracker_save.kept_trackers(store)) == ["b", "c"]
    asyncio.run(store.retrieve("b"))
    asyncio.run(store.retrieve("a"))  # read from the database, kept; "c" was the least recently used
    assert replays == ["a", "b", "c", "a"] and list(tracker_save.kept_trackers(store)) == ["b", "a"]


def test_the_check_mode_finds_a_kept_tracker_that_differs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """KEFU_TRACKER_CACHE_CHECK=1 (the end-to-end tests): every hit is compared with the database."""
    monkeypatch.setenv("KEFU_TRACKER_CACHE_CHECK", "1")
    store = _store(tmp_path)
    asyncio.run(store.save(_turn(store, "k6", turns()[0])))
    tracker = _turn(store, "k6", turns()[1])
    asyncio.run(store.save(tracker))
    assert asyncio.run(store.retrieve("k6")) is tracker  # the same: no error
    assert "tracker_cache.differs" not in caplog.text
    tracker.slots["language"].value = "en"  # changed in memory, never saved
    loaded = asyncio.run(store.retrieve("k6"))
    assert "tracker_cache.differs" in caplog.text
    assert loaded is not tracker and loaded.get_slot("language") == "zh-Hans"


def test_the_stored_state_is_of_the_events_rasa_reads(tmp_path: Path) -> None:
    """The count and last id the kept tracker is checked against are those of Rasa's own query for the latest
    session (``_event_query``), before and after a new session starts."""
    store = _store(tmp_path)
    for events in turns():
        asyncio.run(store.save(_turn(store, "k7", events)))
        with store.session_scope() as session:
            rows = store._event_query(session, "k7", fetch_events_from_all_sessions=False).all()
            assert tracker_save.stored_state(store, session, "k7") == (len(rows), max(row.id for row in rows))
    assert tracker_save.stored_state(store, store.session_scope().__enter__(), "nobody") == (0, None)


def test_a_kept_tracker_is_what_reading_it_back_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A turn may replace its message's intent for itself (bot.turn_router: "謝謝 那要幾天才到" read as thanks is
    routed as a question); read back, the message has the intent NLU gave, and so has the kept tracker. Tuples the
    turn made (``text_tokens``) are lists when read back: that is no difference."""
    monkeypatch.setenv("KEFU_TRACKER_CACHE_CHECK", "1")
    store = _store(tmp_path)
    asyncio.run(store.save(_turn(store, "k8", turns()[0])))
    message = UserUttered("谢谢 那要几天才到", {"name": "greet", "confidence": 0.9},
                          parse_data={"text_tokens": [(0, 2), (3, 5)]})
    tracker = _turn(store, "k8", [message, ActionExecuted("action_answer_faq"), ActionExecuted("action_listen")])
    tracker.__dict__["_kefu_rule_states"] = object()  # what bot.rule_window keeps: worked out with the routed intent
    message.intent = {"name": "ask_faq", "confidence": 1.0, "kefu_nlu_intent": "greet"}  # routed, for this turn
    asyncio.run(store.save(tracker))
    kept = asyncio.run(store.retrieve("k8"))
    assert kept is tracker and kept.latest_message.intent["name"] == "greet"
    assert "_kefu_rule_states" not in kept.__dict__
    assert "tracker_cache.differs" not in caplog.text
    assert tracker_save.differences(kept, _fresh(tmp_path, "k8")) == []
    kept.latest_message.intent = {"name": "ask_faq"}
    assert "intents" in " ".join(tracker_save.differences(kept, _fresh(tmp_path, "k8")))
