"""微信客服: the sync cursor, the message ledger and the delivery rules, against the local stand-in
(tests/bot/channels/wechat_kf_standin.py) over real HTTP; state on SQLite, PostgreSQL and Redis.

A "crash" is an exception that ends the pull at the named point (nothing after it runs); "a
restart" is a new :class:`Syncer` with a new process id on the same database.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Set

import pytest

from bot.channels.wechat.client import InProcessTokenCache
from bot.channels.wechat.delivery import DeliveryRefused, WrongRecipient
from bot.channels.wechat.memory import InProcessUserMemory
from bot.channels.wechat.outbox import FAILED, SENT, OutboxSender, OutboxSettings, open_outbox
from bot.channels.wechat_kf.channel import WeChatKfOutput, settings_from
from bot.channels.wechat_kf.client import KfClient, recipient
from bot.channels.wechat_kf.protocol import REFUSED_ERRCODES, CallbackEvent, KfMessage
from bot.channels.wechat_kf.state import BUSY, DONE, NEW, STALE, open_state
from bot.channels.wechat_kf.sync import Syncer
from tests.bot.channels.wechat_kf_standin import CORP_ID, OPEN_KFID, SECRET, KfStandIn

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


class Crash(BaseException):
    """Ends the pull like a killed process: no handler below catches a BaseException."""


def run(coro_factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_factory())


@pytest.fixture()
def standin() -> Iterator[KfStandIn]:
    server = KfStandIn().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wxkf_state.db'}"
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_schema_url"))
    base = str(request.getfixturevalue("redis_url"))
    return base  # keys are prefixed by a fresh corp id per test (see `corp`)


@pytest.fixture()
def corp(state_url: str) -> str:
    # Redis is shared between runs: a fresh corp id keeps this test's keys apart; the stand-in knows it
    return f"{CORP_ID}_{uuid.uuid4().hex[:8]}" if state_url.startswith("redis") else CORP_ID


class Bot:
    """Records what is handed to it; ``handled`` answers like the tracker would."""

    def __init__(self) -> None:
        self.handed: List[str] = []
        self.in_tracker: Set[str] = set()
        self.crash_on: Optional[str] = None

    async def hand(self, message: KfMessage) -> None:
        if message.msgid == self.crash_on:
            self.crash_on = None
            raise Crash("killed while the bot turn ran")
        self.handed.append(message.msgid)
        self.in_tracker.add(message.msgid)

    async def handled(self, message: KfMessage) -> bool:
        return message.msgid in self.in_tracker


def syncer(standin: KfStandIn, state: Any, bot: Bot, corp: str, limit: int = 1000) -> Syncer:
    standin.state.corp_id = corp
    client = KfClient(standin.url, corp, SECRET, InProcessTokenCache())
    return Syncer(client, state, [OPEN_KFID], bot.hand, bot.handled, page_limit=limit, retry_after=0.2)


def say(standin: KfStandIn, user: str, text: str) -> str:
    return str(standin.control("customer", open_kfid=OPEN_KFID, external_userid=user, content=text)["msgid"])


def test_every_message_is_handed_once_in_order_across_pages(standin: KfStandIn, state_url: str, corp: str) -> None:
    ids = [say(standin, "wm_alice", f"第{i}条") for i in range(5)]
    standin.control("servicer", external_userid="wm_alice", content="a servicer wrote in WeCom")

    async def scenario() -> Bot:
        bot = Bot()
        state = open_state(state_url, corp, "p1")
        engine = syncer(standin, state, bot, corp, limit=2)
        assert await engine.sync(OPEN_KFID) == 5
        assert await engine.sync(OPEN_KFID) == 0  # nothing new: the stored cursor is at the end
        await engine.client.close()
        await state.close()
        return bot

    bot = run(scenario)
    assert bot.handed == ids
    bodies = [c["body"] for c in standin.calls("/cgi-bin/kf/sync_msg")]
    assert bodies[0]["limit"] == 2 and "cursor" not in bodies[0] and bodies[0]["open_kfid"] == OPEN_KFID
    assert all(b.get("cursor") for b in bodies[1:]), "every later pull sends the stored cursor"


def test_a_page_sent_again_is_not_handed_again(standin: KfStandIn, state_url: str, corp: str) -> None:
    first = say(standin, "wm_bob", "你好")

    async def scenario() -> Bot:
        bot = Bot()
        state = open_state(state_url, corp, "p1")
        engine = syncer(standin, state, bot, corp)
        await engine.sync(OPEN_KFID)
        standin.control("rewind", open_kfid=OPEN_KFID)  # WeCom sends the whole log again
        second = say(standin, "wm_bob", "还在吗")
        await engine.sync(OPEN_KFID)
        await engine.client.close()
        await state.close()
        assert bot.handed == [first, second]
        return bot

    run(scenario)


def test_crash_between_handing_and_storing_the_cursor_repeats_nothing(standin: KfStandIn, state_url: str, corp: str) -> None:
    ids = [say(standin, "wm_carol", t) for t in ("订单到哪了", "KF12345678901")]

    async def scenario() -> None:
        bot = Bot()
        state = open_state(state_url, corp, "before")
        engine = syncer(standin, state, bot, corp)

        async def killed(open_kfid: str, cursor: str) -> None:
            raise Crash("killed before the cursor was stored")

        state.save_cursor = killed  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await engine.sync(OPEN_KFID)
        assert bot.handed == ids
        await engine.client.close()
        await state.close()

        restarted = open_state(state_url, corp, "after")
        again = syncer(standin, restarted, bot, corp)
        assert await again.sync(OPEN_KFID) == 0  # the page comes again, the ledger skips it
        third = say(standin, "wm_carol", "谢谢")
        assert await again.sync(OPEN_KFID) == 1
        assert bot.handed == [*ids, third]
        await again.client.close()
        await restarted.close()

    run(scenario)


@pytest.mark.parametrize("turn_saved", [True, False], ids=["turn-saved", "turn-lost"])
def test_crash_during_a_turn_loses_nothing_and_doubles_nothing(
    standin: KfStandIn, state_url: str, corp: str, turn_saved: bool
) -> None:
    """Killed after the claim: the restarted process asks the conversation whether the turn was
    saved; saved → not handed again, not saved → handed (once)."""
    first = say(standin, "wm_dan", "你好")
    second = say(standin, "wm_dan", "退货")

    async def scenario() -> Bot:
        bot = Bot()
        bot.crash_on = second
        # the dead process's claim is leased (2 minutes in production, half a second here)
        state = open_state(state_url, corp, "before", lease=0.5)
        engine = syncer(standin, state, bot, corp)
        with pytest.raises(Crash):
            await engine.sync(OPEN_KFID)
        if turn_saved:
            bot.in_tracker.add(second)
        await engine.client.close()
        await state.close()
        restarted = open_state(state_url, corp, "after")
        again = syncer(standin, restarted, bot, corp)
        assert await again.sync(OPEN_KFID) == 0  # busy: still leased to the dead process; the cursor stays
        assert bot.handed == [first]
        await asyncio.sleep(0.6)
        await again.sync(OPEN_KFID)  # the lease is over: taken over, checked against the conversation
        await again.close()
        await again.client.close()
        await restarted.close()
        return bot

    bot = run(scenario)
    assert bot.handed.count(first) == 1
    assert bot.handed.count(second) == (0 if turn_saved else 1)


def test_claims_are_single_use_and_leased(state_url: str, corp: str) -> None:
    async def scenario() -> None:
        one = open_state(state_url, corp, "one", lease=60)
        two = open_state(state_url, corp, "two", lease=60)
        msgid = secrets.token_hex(6)
        claims = await asyncio.gather(one.claim(msgid), two.claim(msgid))
        assert sorted(claims) == [BUSY, NEW]
        owner = one if claims[0] == NEW else two
        assert await owner.claim(msgid) == STALE  # the same process takes its own claim back at once
        await owner.done(msgid)
        assert await one.claim(msgid) == DONE and await two.claim(msgid) == DONE
        await one.save_cursor(OPEN_KFID, "c1")
        await two.save_cursor(OPEN_KFID, "c2")
        assert await one.cursor(OPEN_KFID) == "c2"
        await one.close()
        await two.close()

    run(scenario)


def test_a_wecom_servicer_session_keeps_the_bot_out_until_it_ends(standin: KfStandIn, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    standin.control("event", external_userid="wm_eve", event={
        "event_type": "session_status_change", "change_type": 1, "new_servicer_userid": "zhangsan"})
    during = say(standin, "wm_eve", "我找张三")

    async def scenario() -> Bot:
        bot = Bot()
        state = open_state(url, CORP_ID, "p")
        engine = syncer(standin, state, bot, CORP_ID)
        await engine.sync(OPEN_KFID)
        standin.control("event", external_userid="wm_eve", event={
            "event_type": "session_status_change", "change_type": 3, "old_servicer_userid": "zhangsan"})
        after = say(standin, "wm_eve", "又来了")
        await engine.sync(OPEN_KFID)
        assert bot.handed == [after] and during not in bot.handed
        await engine.client.close()
        await state.close()
        return bot

    run(scenario)


def outbox_sender(tmp_path: Path, client: KfClient) -> OutboxSender:
    outbox = open_outbox(OutboxSettings(url=f"sqlite:///{tmp_path / 'outbox.db'}", max_attempts=3, base_delay=0.05))
    return OutboxSender(outbox, "wxkf", CORP_ID, client.send_text, refused=REFUSED_ERRCODES)


def test_48_hours_and_5_messages_are_final_kept_in_the_outbox_and_never_retried(standin: KfStandIn, tmp_path: Path) -> None:
    say(standin, "wm_old", "在吗")
    standin.control("age", external_userid="wm_old", hours=49)
    say(standin, "wm_busy", "在吗")

    async def scenario() -> List[Dict[str, Any]]:
        client = KfClient(standin.url, CORP_ID, SECRET, InProcessTokenCache())
        sender = outbox_sender(tmp_path, client)
        await sender.put(recipient(OPEN_KFID, "wm_old"), ["迟到的回复"])
        await sender.put(recipient(OPEN_KFID, "wm_busy"), [f"第{i}条" for i in range(7)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            rows = sender.outbox.rows()
            if all(r["status"] != "pending" for r in rows):
                break
            await asyncio.sleep(0.1)
        await sender.stop()
        await client.close()
        return sender.outbox.rows()

    rows = run(scenario)
    old = [r for r in rows if r["recipient"].endswith("wm_old")]
    busy = [r for r in rows if r["recipient"].endswith("wm_busy")]
    assert [(r["status"], r["last_error"], r["attempts"]) for r in old] == [(FAILED, "errcode 95002", 1)]
    assert [r["status"] for r in busy][:5] == [SENT] * 5
    assert busy[5]["status"] == FAILED and busy[5]["last_error"] == "errcode 95001" and busy[5]["attempts"] == 1
    assert len(standin.sent("wm_busy")) == 5 and not standin.sent("wm_old")
    sends = standin.calls("/cgi-bin/kf/send_msg")
    assert sends[0]["body"]["open_kfid"] == OPEN_KFID and sends[0]["body"]["msgtype"] == "text"


def test_agent_reply_refused_by_wecom_is_reported_and_wrong_ids_never_sent(standin: KfStandIn, tmp_path: Path) -> None:
    say(standin, "wm_fay", "你好")
    standin.control("state", external_userid="wm_fay", service_state=3)

    async def scenario() -> None:
        client = KfClient(standin.url, CORP_ID, SECRET, InProcessTokenCache())
        output = WeChatKfOutput(client, InProcessUserMemory(), outbox_sender(tmp_path, client), (OPEN_KFID,))
        with pytest.raises(DeliveryRefused, match="kefu_undeliverable:95018"):
            await output.send_text_message(f"wxkf:{OPEN_KFID}:wm_fay", "客服回复")
        for wrong in ("wechat:wm_fay", "wxkf:wk_other:wm_fay", "wm_fay", f"wxkf:{OPEN_KFID}:"):
            with pytest.raises(WrongRecipient):
                await output.send_text_message(wrong, "不该发出")
        await client.close()

    run(scenario)
    assert not standin.sent()


def test_settings_switch_the_channel_on_only_when_complete() -> None:
    from rasa.shared.exceptions import RasaException

    assert settings_from(None, {}) is None
    assert settings_from({}, {"WXKF_API_BASE": "http://x"}) is None  # optional ones alone do not switch it on
    with pytest.raises(RasaException, match="WXKF_SECRET"):
        settings_from(None, {"WXKF_CORP_ID": "ww1", "WXKF_TOKEN": "t", "WXKF_AES_KEY": "k" * 43, "WXKF_OPEN_KFIDS": "wk1"})
    full = {"WXKF_CORP_ID": "ww1", "WXKF_SECRET": "s3cret", "WXKF_TOKEN": "t", "WXKF_AES_KEY": "k" * 43,
            "WXKF_OPEN_KFIDS": " wk1, wk2 ,wk1"}
    settings = settings_from({"corp_id": "ww_given"}, full)
    assert settings is not None and settings.corp_id == "ww_given" and settings.open_kfids == ("wk1", "wk2")
    assert "s3cret" not in repr(settings) and "k" * 43 not in repr(settings)


def test_callback_event_fields() -> None:
    event = CallbackEvent.from_fields({"ToUserName": "ww1", "CreateTime": "1", "MsgType": "event",
                                       "Event": "kf_msg_or_event", "Token": "ENCx", "OpenKfId": "wk1"})
    assert event == CallbackEvent("ww1", "1", "ENCx", "wk1")
    assert CallbackEvent.from_fields({"MsgType": "event", "Event": "change_contact"}) is None
    message = KfMessage.from_json({"msgid": "m1", "origin": 4, "msgtype": "event", "event": {
        "event_type": "msg_send_fail", "open_kfid": "wk1", "external_userid": "wm1", "fail_type": 4}})
    assert (message.open_kfid, message.external_userid, message.event_type) == ("wk1", "wm1", "msg_send_fail")
    assert not message.from_customer


def test_messages_wait_while_the_bot_is_not_ready(standin: KfStandIn, tmp_path: Path) -> None:
    """Rasa ignores messages while its agent loads: the page waits (cursor kept) instead of losing them."""
    msgid = say(standin, "wm_gus", "你好")

    async def scenario() -> Bot:
        bot = Bot()
        state = open_state(f"sqlite:///{tmp_path / 'r.db'}", CORP_ID, "p")
        loaded = {"ready": False}

        async def ready() -> bool:
            return loaded["ready"]

        engine = syncer(standin, state, bot, CORP_ID)
        engine.ready = ready
        assert await engine.sync(OPEN_KFID) == 0 and await state.cursor(OPEN_KFID) == ""
        loaded["ready"] = True
        assert await engine.sync(OPEN_KFID) == 1
        await engine.close()
        await engine.client.close()
        await state.close()
        return bot

    assert run(scenario).handed == [msgid]
