"""kernel.recent: the bounded map of recently used entries (bot.tracker_save's kept trackers, bot.action_events)."""

from __future__ import annotations

from collections import OrderedDict

from kernel.recent import put_recent


def test_the_least_recently_used_go_first() -> None:
    entries: OrderedDict[str, int] = OrderedDict()
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        put_recent(entries, key, value, 3)
    put_recent(entries, "a", 10, 3)  # used again: now the most recent
    put_recent(entries, "d", 4, 3)
    assert list(entries.items()) == [("c", 3), ("a", 10), ("d", 4)]


def test_none_or_no_room_removes_the_key() -> None:
    entries: OrderedDict[str, int] = OrderedDict(a=1, b=2)
    put_recent(entries, "a", None, 3)
    assert list(entries) == ["b"]
    put_recent(entries, "b", 5, 0)
    assert entries == {}
