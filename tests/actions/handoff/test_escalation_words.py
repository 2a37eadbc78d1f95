"""The supervisors' escalation words in the action server (actions/escalation_words.py): merged over
actions/escalation.yml, refreshed in the background from the console's ``/internal/escalation-words`` (a real
HTTP server here), the last known lists kept when the console is down or answers garbage, one refresh at a time;
and end to end against a real console process."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator, List, Optional, Tuple

import pytest

from actions import escalation_words, metrics
from actions.escalation import (
    asks_for_a_person,
    complaint_evidence,
    keyword_intent,
    load_config,
    load_yaml_config,
)
from actions.escalation_words import REFRESHER, BadBody, Refresher, parse_body, refresh_seconds
from tests.console.process import Console
from tests.harness import free_port


def body(version: str = "v1", **lists: List[str]) -> dict:
    overrides: dict = {}
    for key, words in lists.items():
        trigger, _, name = key.rpartition("_")
        overrides.setdefault(trigger, {})[name] = words
    return {"version": version, "overrides": overrides, "updated_at": None}


class Stub:
    """A real HTTP server standing in for the console: answers what ``reply`` says, counts requests, and holds
    a request until ``release`` is set when ``hold`` is on."""

    def __init__(self) -> None:
        self.reply: Tuple[int, bytes] = (200, json.dumps(body("empty")).encode())
        self.requests: List[str] = []
        self.hold = False
        self.release = threading.Event()
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.headers.get("Authorization") or "")
                outer.arrived.set()
                if outer.hold:
                    outer.release.wait(30)
                status, payload = outer.reply
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, status: int, payload: Any) -> None:
        self.reply = (status, payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode())

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def yaml_only() -> Iterator[None]:
    """Every test starts and ends with the process refresher knowing nothing (the YAML's lists)."""
    REFRESHER.forget()
    yield
    REFRESHER.forget()


@pytest.fixture()
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.close()


def failures(kind: str) -> float:
    return metrics.REGISTRY.get_sample_value("kefu_escalation_words_refresh_failures_total", {"kind": kind}) or 0.0


# -- the merge --------------------------------------------------------------------------------------------
def test_the_yaml_applies_until_overrides_are_known_and_they_replace_only_their_list() -> None:
    yaml_config = load_yaml_config()
    assert load_config() is yaml_config
    assert asks_for_a_person("我要转人工") and not asks_for_a_person("我要找店长")

    REFRESHER.current = parse_body(body("v1", explicit_request_keywords=["找店长"], complaint_evidence=["缺斤少两"]))
    merged = load_config()
    assert merged is not yaml_config and load_config() is merged  # merged once per version
    assert merged.triggers["explicit_request"]["keywords"] == ["找店长"]
    assert merged.triggers["explicit_request"]["intents"] == yaml_config.triggers["explicit_request"]["intents"]
    assert merged.triggers["complaint"]["keywords"] == yaml_config.triggers["complaint"]["keywords"]
    assert merged.triggers["negative_sentiment"] == yaml_config.triggers["negative_sentiment"]
    assert yaml_config.triggers["explicit_request"]["keywords"][0] == "转人工"  # the YAML's parse untouched
    assert asks_for_a_person("我要找店長") and not asks_for_a_person("我要转人工")  # normalised, replaced
    assert keyword_intent("投诉你们", merged) == "complain"
    assert complaint_evidence(["这次缺斤少两"], merged) and not complaint_evidence(["这次缺斤少两"], yaml_config)

    REFRESHER.current = parse_body(body("v2", explicit_request_keywords=[]))  # switched off by a supervisor
    assert load_config().triggers["explicit_request"]["keywords"] == []
    assert not asks_for_a_person("我要转人工") and asks_for_a_person("我要投诉")
    REFRESHER.current = parse_body(body("v3"))  # nothing saved: the YAML itself
    assert load_config() is yaml_config


@pytest.mark.parametrize("raw", [
    [], "x", None, {"overrides": {}}, {"version": "", "overrides": {}}, {"version": "v", "overrides": []},
    body("v", presales_keywords=["x"]), body("v", explicit_request_intents=["x"]),
    body("v", explicit_request_keywords="转人工"), body("v", explicit_request_keywords=["ok", 3]),
    body("v", explicit_request_keywords=["  "]), body("v", complaint_evidence=["长" * 41]),
    body("v", complaint_evidence=[f"w{i}" for i in range(201)]), {"version": "v", "overrides": {"complaint": ["x"]}},
])
def test_a_body_that_is_not_the_consoles_is_refused(raw: Any) -> None:
    with pytest.raises(BadBody):
        parse_body(raw)


def test_the_refresh_setting() -> None:
    assert refresh_seconds({}) == 30.0
    assert refresh_seconds({"KEFU_ESCALATION_REFRESH_SECONDS": "5"}) == 5.0
    assert refresh_seconds({"KEFU_ESCALATION_REFRESH_SECONDS": "0"}) == 0.0
    for bad in ("soon", "-1", "nan", "1e9"):
        assert refresh_seconds({"KEFU_ESCALATION_REFRESH_SECONDS": bad}) == 30.0


# -- the refresher ----------------------------------------------------------------------------------------
def test_the_last_known_lists_stay_when_the_console_is_down_or_answers_garbage(stub: Stub, caplog) -> None:
    refresher = Refresher(interval=30, where=lambda: (stub.url, "tok"))
    stub.answer(200, body("v1", explicit_request_keywords=["找店长"]))
    assert asyncio.run(refresher.refresh()) is True
    assert refresher.current.lists == {("explicit_request", "keywords"): ("找店长",)}
    assert stub.requests == ["Bearer tok"]
    known = refresher.current

    before = {k: failures(k) for k in ("unreachable", "status", "bad_body")}
    caplog.set_level(logging.INFO, logger="actions.escalation_words")
    for status, payload, kind in [
        (200, b"<html>not json</html>", "bad_body"),
        (200, body("v2", explicit_request_keywords=["x" * 41]), "bad_body"),
        (200, {"version": "v2"}, "bad_body"),
        (500, {"error": "internal"}, "status"),
        (401, {"error": "unauthenticated"}, "status"),
        (200, b"\xff\xfe garbage", "bad_body"),
    ]:
        stub.answer(status, payload)
        counted = failures(kind)
        assert asyncio.run(refresher.refresh()) is False, payload
        assert refresher.current is known and failures(kind) == counted + 1
    down_port = free_port()
    refresher.where = lambda: (f"http://127.0.0.1:{down_port}", "tok")
    assert asyncio.run(refresher.refresh()) is False and refresher.current is known
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "keeping version v1" in warnings[0].getMessage()  # once per outage
    assert failures("bad_body") - before["bad_body"] == 4
    assert failures("status") - before["status"] == 2
    assert failures("unreachable") - before["unreachable"] == 1

    refresher.where = lambda: (stub.url, "tok")  # the console is back: new lists, and a line saying so
    stub.answer(200, body("v3", complaint_keywords=["差评"]))
    assert asyncio.run(refresher.refresh()) is True and refresher.current.version == "v3" and not refresher.down
    assert any("console_back" in r.getMessage() for r in caplog.records)
    stub.answer(503, b"")
    assert asyncio.run(refresher.refresh()) is False  # a second outage warns again
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_at_start_up_a_down_console_leaves_the_yaml(stub: Stub) -> None:
    port = free_port()
    REFRESHER.where = lambda: (f"http://127.0.0.1:{port}", "tok")
    try:
        assert asyncio.run(REFRESHER.refresh()) is False
        assert REFRESHER.current is None and load_config() is load_yaml_config()
        assert asks_for_a_person("转人工")
    finally:
        REFRESHER.where = escalation_words._console


def test_one_refresh_at_a_time_and_only_when_stale(stub: Stub) -> None:
    clock = Clock()
    refresher = Refresher(interval=30, where=lambda: (stub.url, "tok"), clock=clock)
    stub.hold = True
    stub.answer(200, body("v1", explicit_request_keywords=["找店长"]))

    async def scenario() -> None:
        first = refresher.poke()
        assert first is not None
        await asyncio.get_running_loop().run_in_executor(None, stub.arrived.wait, 30)
        assert refresher.poke() is first and refresher.poke() is first  # running: no second refresh
        assert refresher.current is None  # the callers go on with what is known
        stub.release.set()
        assert await first is True
        assert refresher.poke() is None  # fresh
        clock.now += 29.9
        assert refresher.poke() is None
        clock.now += 0.1
        second = refresher.poke()
        assert second is not None and second is not first
        assert await second is True

    asyncio.run(scenario())
    assert len(stub.requests) == 2 and refresher.current.version == "v1"


def test_a_failed_refresh_waits_for_the_interval_too_and_zero_switches_fetching_off(stub: Stub) -> None:
    clock = Clock()
    refresher = Refresher(interval=30, where=lambda: (stub.url, "tok"), clock=clock)
    stub.answer(500, b"")

    async def scenario() -> None:
        task = refresher.poke()
        assert task is not None and await task is False
        assert refresher.poke() is None  # the console is not asked on every action while it is down

    asyncio.run(scenario())
    off = Refresher(interval=0, where=lambda: (stub.url, "tok"), clock=clock)

    async def never() -> None:
        assert off.poke() is None

    asyncio.run(never())
    assert len(stub.requests) == 1


def test_every_action_call_pokes_the_refresher_without_waiting(stub: Stub) -> None:
    from rasa_sdk.interfaces import ActionNotFoundException

    from actions.server import InstrumentedExecutor

    stub.answer(200, body("v9", complaint_keywords=["差评"]))
    REFRESHER.where = lambda: (stub.url, "tok")
    REFRESHER._interval = 30

    async def scenario() -> Optional[asyncio.Task]:
        with pytest.raises(ActionNotFoundException):
            await InstrumentedExecutor().run({"next_action": "action_nobody_has", "tracker": {"sender_id": "s"}})
        return REFRESHER.task

    try:
        async def run() -> None:
            task = await scenario()
            assert task is not None
            assert await task is True

        asyncio.run(run())
        assert REFRESHER.current.version == "v9" and len(stub.requests) == 1
    finally:
        REFRESHER.where = escalation_words._console
        REFRESHER._interval = None


# -- end to end: a supervisor's keyword reaches the bot -----------------------------------------------------
def test_a_supervisors_keyword_reaches_the_action_server_over_http(console: Console,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_CONSOLE_URL", console.url)
    monkeypatch.setenv("KEFU_CONSOLE_SERVICE_TOKEN", console.token)
    assert asyncio.run(REFRESHER.refresh()) is True  # nothing saved yet: the YAML
    assert not asks_for_a_person("我要找店长") and asks_for_a_person("我要转人工")

    admin = console.login("admin")
    saved = admin.put("/api/admin/escalation/explicit_request/keywords", json={"words": ["找店长"]})
    assert saved.status_code == 200, saved.text
    assert not asks_for_a_person("我要找店长")  # not fetched yet: the last known lists
    assert asyncio.run(REFRESHER.refresh()) is True
    assert asks_for_a_person("我要找店长")

    assert admin.delete("/api/admin/escalation/explicit_request/keywords").status_code == 200
    assert asyncio.run(REFRESHER.refresh()) is True
    assert not asks_for_a_person("我要找店长") and asks_for_a_person("我要转人工")

    # the console going away keeps what was last read
    admin.put("/api/admin/escalation/explicit_request/keywords", json={"words": ["找店长"]})
    assert asyncio.run(REFRESHER.refresh()) is True
    console.stop()
    assert asyncio.run(REFRESHER.refresh()) is False
    assert asks_for_a_person("我要找店长")
