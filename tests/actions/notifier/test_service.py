"""One notifier pass against the real SQL store and ledger: who is told, when, on which channel, and only once.

Rasa's HTTP API is the one part recorded here (:class:`RecordingRasa`); tests/e2e/test_notices_stack.py runs the
same passes against a real Rasa server, the WeChat stand-in and a real widget connection.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from actions.notifier.ledger import Ledger
from actions.notifier.service import Notifier, NotifierSettings
from actions.store.seed import seed
from actions.store.sql import SqlStore
from actions.store.types import RestockRequest, StoreUnavailable
from kernel.rasa_client import DeliveryRefused, RasaClient, RasaUnavailable

OUT = "P010-PK-750ML"  # out of stock everywhere in the demo data (actions/store/demo/stock.yml)
OUT_TOO = "P005-PK-45MM"
NOW_SETTINGS = NotifierSettings(held_retry=timedelta(0), error_retry=timedelta(0))


class RecordingRasa(RasaClient):
    """Rasa's HTTP API as the notifier sees it: what was appended, and when each customer last wrote."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", "token")
        self.appended: List[Dict[str, Any]] = []
        self.last_user: Dict[str, float] = {}
        self.refuse: Optional[Exception] = None

    async def append_events(self, sender_id: str, events: List[Dict[str, Any]],
                            output_channel: Optional[str] = None, execute_side_effects: bool = True) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.appended.append({"sender_id": sender_id, "channel": output_channel, "events": events})

    async def last_user_message_at(self, sender_id: str) -> Optional[float]:
        return self.last_user.get(sender_id)

    def to(self, sender_id: str) -> List[str]:
        return [e["text"] for call in self.appended if call["sender_id"] == sender_id for e in call["events"]]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("notifier-store") / "store.db"
    store = SqlStore(f"sqlite:///{path}")
    seed(store)
    store.dispose()
    return path


@pytest.fixture()
def store(template: Path, tmp_path: Path) -> Iterator[SqlStore]:
    shutil.copy(template, tmp_path / "store.db")
    s = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.dispose()


@pytest.fixture()
def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


def notifier(store: SqlStore, ledger_url: str, rasa: RecordingRasa, owner: str = "n1") -> Notifier:
    return Notifier(store, Ledger(ledger_url, owner), rasa, NOW_SETTINGS)


def subscribe(store: SqlStore, sku: str, channel: str, sender: str, language: str = "zh-Hans",
              city: Optional[str] = None) -> int:
    return store.add_restock_subscription(RestockRequest(sku, channel, sender, language, None, city)).id


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_nothing_is_sent_until_the_product_is_back_then_once(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "socketio", "web:s1")
    n = notifier(store, ledger_url, rasa)
    report = run(n.tick())
    assert (report.pending, report.in_stock, report.sent) == (1, 0, 0) and rasa.appended == []
    store.set_stock(OUT, "WHSH", 20)
    report = run(n.tick())
    assert report.sent == 1
    [call] = rasa.appended
    assert call["channel"] == "socketio" and call["sender_id"] == "web:s1"
    [text] = rasa.to("web:s1")
    assert text.startswith("到货通知") and "粉色" in text and "别再通知我" in text
    assert call["events"][0]["metadata"] == {"kefu_notice": "restock:1"}
    assert call["events"][0]["data"]["custom"]["kefu_card"]["type"] == "stock"
    for _ in range(3):
        assert run(n.tick()).sent == 0
    assert len(rasa.appended) == 1


def test_the_notice_speaks_the_language_the_customer_asked_in(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "socketio", "web:en", language="en")
    subscribe(store, OUT, "socketio", "web:hant", language="zh-Hant")
    store.set_stock(OUT, "SH01", 3)
    assert run(notifier(store, ledger_url, rasa).tick()).sent == 2
    assert rasa.to("web:en")[0].startswith("Back in stock:") and "stop notifying me" in rasa.to("web:en")[0]
    assert rasa.to("web:hant")[0].startswith("到貨通知") and "別再通知我" in rasa.to("web:hant")[0]


def test_two_replicas_send_each_notice_once(store: SqlStore, ledger_url: str, tmp_path: Path) -> None:
    rasa = RecordingRasa()
    senders = [f"web:r{i}" for i in range(12)]
    for sender in senders:
        subscribe(store, OUT, "socketio", sender)
    store.set_stock(OUT, "WHGZ", 50)
    other_store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    a, b = notifier(store, ledger_url, rasa, "a"), notifier(other_store, ledger_url, rasa, "b")

    async def both() -> None:
        await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())

    run(both())
    other_store.dispose()
    assert sorted(call["sender_id"] for call in rasa.appended) == sorted(senders)


def test_wechat_outside_48_hours_is_held_then_sent_after_the_customer_writes(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "wechat", "wechat:o_old")
    subscribe(store, OUT, "wechat", "wechat:o_never")
    rasa.last_user["wechat:o_old"] = time.time() - 49 * 3600
    store.set_stock(OUT, "WHSH", 5)
    n = notifier(store, ledger_url, rasa)
    report = run(n.tick())
    assert (report.sent, report.held) == (0, 2) and rasa.appended == []
    assert n.ledger.notice("restock:1").detail.startswith("outside the channel's reply window")  # type: ignore[union-attr]
    assert run(n.tick()).held == 2, "still outside the window: kept, not sent"
    rasa.last_user["wechat:o_old"] = time.time() - 60  # the customer wrote again
    report = run(n.tick())
    assert (report.sent, report.held) == (1, 1)
    assert [c["channel"] for c in rasa.appended] == ["wechat"] and len(rasa.to("wechat:o_old")) == 1
    assert run(n.tick()).sent == 0


def test_a_window_that_closes_within_the_margin_holds_the_notice(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "wecom", "wecom:ww:u1")
    rasa.last_user["wecom:ww:u1"] = time.time() - 48 * 3600 + 600  # ten minutes left, less than the margin
    store.set_stock(OUT, "WHSH", 5)
    assert run(notifier(store, ledger_url, rasa).tick()).held == 1 and rasa.appended == []


def test_opt_out_cancels_earlier_requests_and_a_later_request_subscribes_again(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "rest", "rest:c1")
    n = notifier(store, ledger_url, rasa)
    n.ledger.opt_out("rest", "rest:c1")
    time.sleep(0.01)  # the next request is made strictly after the opt-out
    subscribe(store, OUT_TOO, "rest", "rest:c1")
    store.set_stock(OUT, "WHSH", 5)
    store.set_stock(OUT_TOO, "WHSH", 5)
    report = run(n.tick())
    assert (report.cancelled, report.sent) == (1, 1)
    [text] = rasa.to("rest:c1")
    assert "45mm" in text.lower(), "the notice is about the request made after the opt-out"
    assert n.ledger.states(["restock:1", "restock:2"]) == {"restock:1": "cancelled", "restock:2": "sent"}


@pytest.mark.parametrize("errcode, state", [("43004", "failed"), ("43019", "failed"), ("45015", "held")])
def test_channel_refusals(store: SqlStore, ledger_url: str, errcode: str, state: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "wechat", "wechat:o_r")
    rasa.last_user["wechat:o_r"] = time.time()
    rasa.refuse = DeliveryRefused(errcode)
    store.set_stock(OUT, "WHSH", 5)
    n = notifier(store, ledger_url, rasa)
    run(n.tick())
    assert n.ledger.states(["restock:1"]) == {"restock:1": state}
    rasa.refuse = None
    run(n.tick())
    assert len(rasa.to("wechat:o_r")) == (0 if state == "failed" else 1), "a refusal for good is not retried"


def test_rasa_down_costs_a_retry_not_the_notice(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "socketio", "web:d1")
    store.set_stock(OUT, "WHSH", 5)
    rasa.refuse = RasaUnavailable("Rasa is unreachable (ConnectError)")
    n = notifier(store, ledger_url, rasa)
    assert run(n.tick()).held == 1
    rasa.refuse = None
    assert run(n.tick()).sent == 1 and len(rasa.to("web:d1")) == 1


def test_store_down_records_nothing(store: SqlStore, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "socketio", "web:x")
    store.set_stock(OUT, "WHSH", 5)
    n = notifier(store, ledger_url, rasa)

    def down(*_: Any) -> None:
        raise StoreUnavailable("SQL store failed during stock_for_sku: OperationalError")

    monkeypatch.setattr(store, "stock_for_sku", down)
    report = run(n.tick())
    assert report.errors and report.sent == 0 and n.ledger.counts() == {}
    monkeypatch.undo()
    assert run(n.tick()).sent == 1


def test_a_city_request_is_told_where_the_product_is(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    subscribe(store, OUT, "socketio", "web:bj", city="beijing")
    store.set_stock(OUT, "BJ01", 2)
    assert run(notifier(store, ledger_url, rasa).tick()).sent == 1
    assert "北京" in rasa.to("web:bj")[0]


def test_the_store_lists_requests_page_by_page(store: SqlStore) -> None:
    ids = [subscribe(store, OUT, "socketio", f"web:p{i}") for i in range(5)]
    first = store.list_restock_subscriptions(0, 2)
    rest = store.list_restock_subscriptions(first[-1].id, 1000)
    assert [s.id for s in first + list(rest)] == ids
    assert all(s.created_at is not None and s.created_at.tzinfo is not None for s in first)


def test_set_stock_command(store: SqlStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from actions.store.__main__ import main

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["set-stock", OUT, "WHSH", "7", "--url", url]) == 0
    assert {lv.location_id: lv.quantity for lv in store.stock_for_sku(OUT)}["WHSH"] == 7
    for argv, message in ((["NOPE-1", "WHSH", "1"], "unknown SKU"), ([OUT, "MARS", "1"], "unknown location"),
                          ([OUT, "WHSH", "-3"], "quantity")):
        assert main(["set-stock", *argv, "--url", url]) == 1
        assert message in capsys.readouterr().err


# -- order status changes -------------------------------------------------------------------------------------
PAID = "KF20261119001"  # paid, preparing to ship (docs/orders.md)


def test_a_watched_order_is_told_each_new_status_once_until_delivered(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    n = notifier(store, ledger_url, rasa)
    assert n.ledger.watch_order(PAID, "wechat", "wechat:o_w", "zh-Hans", "paid")
    assert not n.ledger.watch_order(PAID, "wechat", "wechat:o_w", "zh-Hans", "paid"), "already watched"
    rasa.last_user["wechat:o_w"] = time.time()
    assert run(n.tick()).sent == 0, "nothing changed"
    store.set_order_status(PAID, "shipped")
    report = run(n.tick())
    assert (report.sent, report.orders_watched) == (1, 1)
    [shipped] = rasa.to("wechat:o_w")
    assert shipped.startswith(f"订单动态：您的订单 {PAID} 现在是「已发货」") and "别再通知我" in shipped
    assert run(n.tick()).sent == 0
    store.set_order_status(PAID, "delivered")
    assert run(n.tick()).sent == 1
    assert rasa.to("wechat:o_w")[-1].startswith(f"订单动态：您的订单 {PAID} 现在是「已签收」")
    assert n.ledger.active_watches() == [], "delivered: the watch is over"
    store.set_order_status(PAID, "refund_in_progress")
    assert run(n.tick()).sent == 0 and len(rasa.to("wechat:o_w")) == 2


def test_a_status_that_moves_on_while_held_is_told_as_the_newest(store: SqlStore, ledger_url: str) -> None:
    rasa = RecordingRasa()
    n = notifier(store, ledger_url, rasa)
    n.ledger.watch_order(PAID, "wechat", "wechat:o_h", "en", "paid")
    store.set_order_status(PAID, "shipped")
    assert run(n.tick()).held == 1, "WeChat's window is closed: held"
    store.set_order_status(PAID, "delivered")
    rasa.last_user["wechat:o_h"] = time.time()
    assert run(n.tick()).sent == 1
    [told] = rasa.to("wechat:o_h")
    assert told.startswith(f"Order update: your order {PAID} is now delivered"), told
    for _ in range(2):
        assert run(n.tick()).sent == 0, "the stale 'shipped' notice is never sent"


def test_two_replicas_tell_an_order_change_once_and_opt_out_ends_the_watch(store: SqlStore, ledger_url: str,
                                                                         tmp_path: Path) -> None:
    rasa = RecordingRasa()
    a, b = notifier(store, ledger_url, rasa, "a"), notifier(store, ledger_url, rasa, "b")
    a.ledger.watch_order(PAID, "socketio", "web:w1", "zh-Hans", "paid")
    a.ledger.watch_order("KF20261121001", "socketio", "web:w2", "zh-Hans", "pending_payment")
    a.ledger.opt_out("socketio", "web:w2")
    store.set_order_status(PAID, "shipped")
    store.set_order_status("KF20261121001", "paid")

    async def both() -> None:
        await asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick())

    run(both())
    assert [c["sender_id"] for c in rasa.appended] == ["web:w1"]
    assert [w.sender_id for w in a.ledger.active_watches()] == ["web:w1"]


def test_set_order_status_command(store: SqlStore, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from actions.store.__main__ import main

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["set-order-status", PAID, "shipped", "--url", url]) == 0
    order = store.get_order(PAID)
    assert order is not None and order.status == "shipped" and order.events[-1].status == "shipped"
    for argv, message in (([PAID, "teleported"], "status must be one of"), (["KF20990101001", "paid"], "unknown order")):
        assert main(["set-order-status", *argv, "--url", url]) == 1
        assert message in capsys.readouterr().err
