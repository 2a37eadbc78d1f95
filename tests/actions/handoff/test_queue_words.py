"""Issue 27 #2 and #3: what the shopper reads about the queue and the team, against a real console.

- The queue notice (widget banner, ``kefu_event.notice``) and the bot's message say the same
  thing with the same number: "您排在第 N 位", never "前面还有 N 位" next to "第 N 位".
- Off hours the shopper is told when the team is back ("周一 09:00 后"), never "约 748 分钟".
- A transfer names the team in the shopper's language ("售後"), never its id ("after_sales").
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandoff
from tests.actions.handoff.events import user
from tests.console.process import NEVER_STAFFED, Console, FakeRasa

PLACE = {"zh-Hans": "您排在第 1 位", "zh-Hant": "您排在第 1 位", "en": "You're number 1 in the queue"}
BACK = {"zh-Hans": "09:00 后", "zh-Hant": "09:00 後", "en": "after 09:00"}
MINUTES = re.compile(r"分钟|分鐘|\bmin\b|minutes")


def _handoff(sender: str, language: str, events: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    events = events or [user("我要投诉", "complain")]
    latest = events[-1]
    tracker = Tracker(sender, {"language": language}, {**latest["parse_data"], "text": latest["text"]}, events,
                      False, None, None, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionHandoff().run(dispatcher, tracker, {}))
    return dispatcher.messages


def _queued(messages: List[Dict[str, Any]]) -> Dict[str, Any]:
    return next(m for m in messages if ((m.get("custom") or {}).get("kefu_event") or {}).get("type") == "handoff_queued")


def _wire(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_banner_and_bot_say_the_same_place(console: Console, monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    _wire(console, monkeypatch)
    message = _queued(_handoff(f"words-{language}", language))
    notice = message["custom"]["kefu_event"].get("notice")
    assert notice, f"the widget gets no notice text and words its own: {message['custom']['kefu_event']}"
    assert PLACE[language] in notice and notice in message["text"]
    assert "前面还有" not in notice and "前面還有" not in notice


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_off_hours_say_when_the_team_is_back(tmp_path: Path, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch,
                                             language: str) -> None:
    console = Console.create(tmp_path / "c", fake_rasa.url, staffed=NEVER_STAFFED).start()  # staffed Mon 09:00 only
    try:
        _wire(console, monkeypatch)
        sender = f"offhours-{language}"
        first = _queued(_handoff(sender, language))
        again = _queued(_handoff(sender, language, [user("我要投诉", "complain"), user("人呢", "human_handoff")]))
        for message in (first, again):
            notice = message["custom"]["kefu_event"].get("notice") or ""
            for shown in (message["text"], notice):
                assert not MINUTES.search(shown), f"a minute count off hours: {shown!r}"
                assert BACK[language] in shown, shown
            assert PLACE[language] in notice
    finally:
        console.stop()


@pytest.mark.parametrize("language,team,label", [("zh-Hant", "after_sales", "售後"), ("en", "after_sales", "After-sales"),
                                                 ("zh-Hans", "presales", "售前")])
def test_transfer_names_the_team_in_the_shoppers_language(console: Console, fake_rasa: FakeRasa, language: str,
                                                          team: str, label: str) -> None:
    sender = f"transfer-{language}-{team}"
    opened = console.handoff(sender, language=language, category="complaint", reason="complaint")
    admin = console.login("admin")
    admin.post(f"/api/tickets/{opened['ticket_id']}/claim", json={}).raise_for_status()
    admin.post(f"/api/tickets/{opened['ticket_id']}/transfer", json={"team": team}).raise_for_status()
    sent = [e for e in fake_rasa.events_for(sender)
            if ((e.get("data") or {}).get("custom") or {}).get("kefu_event", {}).get("type") == "transferred"]
    assert sent, fake_rasa.calls
    event = sent[-1]["data"]["custom"]["kefu_event"]
    assert event.get("team_label") == label, f"the widget would show the raw team id: {event}"
    assert team not in sent[-1]["text"] and label in sent[-1]["text"]
