"""HTTP adapter against the reference server, run as a real process on a free port."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from actions.store.codec import to_json
from actions.store.http import CircuitBreaker, HttpSettings, HttpStore
from actions.store.sql import SqlStore
from actions.store.types import RestockRequest, StoreBackend, StoreInputError, StoreUnavailable
from tests.actions.store.conftest import StoreServer
from tests.harness import free_port


def make(base: str, **kw) -> HttpStore:  # type: ignore[no-untyped-def]
    settings = HttpSettings(
        base_url=base,
        connect_timeout=0.5,
        read_timeout=kw.pop("read_timeout", 2.0),
        retries=kw.pop("retries", 2),
        backoff=0.0,
        **kw,
    )
    return HttpStore(settings, sleep=lambda _s: None)


def test_same_answers_as_the_sql_store(healthy_server: StoreServer, sqlite_store: SqlStore) -> None:
    http = make(healthy_server.base)
    assert isinstance(http, StoreBackend) and http.health()
    for oid in ("KF20261120001", "KF20261115001", "KF20261116001"):
        assert to_json(http.get_order(oid)) == to_json(sqlite_store.get_order(oid))
    assert http.get_order("KF20991231999") is None
    assert to_json(http.recent_orders("C0001", 3)) == to_json(sqlite_store.recent_orders("C0001", 3))
    assert http.get_customer("C0001") == sqlite_store.get_customer("C0001")
    assert http.get_customer("C9999") is None
    assert http.find_customer_by_channel("wechat", "oKefuDemoOpenid0000000000001") is not None
    assert http.find_customer_by_channel("wechat", "nobody") is None
    assert http.catalogue() == sqlite_store.catalogue()
    assert list(http.locations()) == list(sqlite_store.locations())
    assert list(http.stock_for_sku("P010-WH-500ML")) == list(sqlite_store.stock_for_sku("P010-WH-500ML"))
    assert list(http.coupons_for_customer("C0001")) == list(sqlite_store.coupons_for_customer("C0001"))


def test_restock_over_http(healthy_server: StoreServer) -> None:
    http = make(healthy_server.base)
    req = RestockRequest("P005-PK-45MM", "socketio", "http-sender-1", "en", "C0004", None)
    first = http.add_restock_subscription(req)
    second = http.add_restock_subscription(req)
    assert first.created and not second.created and first.id == second.id
    listed = http.list_restock_subscriptions(first.id - 1, 1)
    assert [(s.id, s.request) for s in listed] == [(first.id, req)] and listed[0].created_at is not None
    assert all(s.id > first.id for s in http.list_restock_subscriptions(first.id, 1000))
    for bad in ("after_id=-1", "limit=0", "limit=1001", "after_id=x"):
        r = requests.get(f"{healthy_server.base}/restock-subscriptions?{bad}", timeout=5)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", bad
    with pytest.raises(StoreInputError):
        http.list_restock_subscriptions(0, 5000)


def test_hostile_ids_never_leave_the_adapter(healthy_server: StoreServer) -> None:
    http = make(healthy_server.base)
    for bad in ("../../etc/passwd", "KF' OR 1=1", "KF" + "9" * 5000, "KF🙂"):
        with pytest.raises(StoreInputError):
            http.get_order(bad)


def test_server_rejects_bad_requests(healthy_server: StoreServer) -> None:
    r = requests.get(f"{healthy_server.base}/orders/KF'%20OR%201=1", timeout=5)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = requests.post(f"{healthy_server.base}/restock-subscriptions", data=b"{not json", timeout=5)
    assert r.status_code == 400
    r = requests.get(f"{healthy_server.base}/nope", timeout=5)
    assert r.status_code == 404


def test_slow_server_times_out(store_server: StoreServer) -> None:
    store_server.set_fault("slow", delay=1.5)
    http = make(store_server.base, read_timeout=0.3, retries=1)
    with pytest.raises(StoreUnavailable, match="timed out"):
        http.get_order("KF20261120001")
    store_server.set_fault("none")


def test_500_is_retried_then_unavailable(store_server: StoreServer) -> None:
    store_server.set_fault("error")
    calls = []
    http = HttpStore(HttpSettings(base_url=store_server.base, retries=2, backoff=0.1), sleep=lambda s: calls.append(s))
    with pytest.raises(StoreUnavailable, match="HTTP 500"):
        http.get_order("KF20261120001")
    assert calls == [0.1, 0.2]  # two retries with exponential backoff
    store_server.set_fault("none")


@pytest.mark.parametrize("mode", ["garbage", "wrong_shape"])
def test_garbage_is_unavailable(store_server: StoreServer, mode: str) -> None:
    store_server.set_fault(mode)
    http = make(store_server.base)
    with pytest.raises(StoreUnavailable):
        http.get_order("KF20261120001")
    with pytest.raises(StoreUnavailable):
        http.catalogue()
    store_server.set_fault("none")


def test_post_is_not_retried(store_server: StoreServer) -> None:
    store_server.set_fault("error")
    calls = []
    http = HttpStore(HttpSettings(base_url=store_server.base, retries=3, backoff=0.1), sleep=calls.append)
    with pytest.raises(StoreUnavailable):
        http.add_restock_subscription(RestockRequest("P010-PK-750ML", "rest", "no-retry", "en"))
    assert calls == []
    store_server.set_fault("none")


def test_down_server_is_unavailable() -> None:
    http = make(f"http://127.0.0.1:{free_port()}/api/v1", retries=1)
    with pytest.raises(StoreUnavailable, match="connection failed"):
        http.get_order("KF20261120001")
    assert not http.health()


def test_circuit_breaker_fails_fast_and_recovers(store_server: StoreServer) -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_after=30.0, clock=lambda: now[0])
    http = HttpStore(HttpSettings(base_url=store_server.base, retries=0), breaker=breaker, sleep=lambda _s: None)
    store_server.set_fault("error")
    for _ in range(2):
        with pytest.raises(StoreUnavailable, match="HTTP 500"):
            http.get_order("KF20261120001")
    assert breaker.state == "open"
    store_server.set_fault("none")
    with pytest.raises(StoreUnavailable, match="circuit open"):
        http.get_order("KF20261120001")  # fails fast although the server is healthy again
    now[0] = 31.0
    assert breaker.state == "half_open"
    assert http.get_order("KF20261120001") is not None
    assert breaker.state == "closed"


def test_breaker_half_open_failure_reopens() -> None:
    now = [0.0]
    b = CircuitBreaker(threshold=1, reset_after=10.0, clock=lambda: now[0])
    b.record_failure()
    assert not b.allow()
    now[0] = 10.0
    assert b.allow() and not b.allow()  # one trial at a time
    b.record_failure()
    assert b.state == "open"
    now[0] = 15.0
    assert not b.allow()


def test_bearer_token(sqlite_url: str, tmp_path: Path) -> None:
    server = StoreServer.start(sqlite_url, tmp_path / "store-server.log", faults=False, token="s3cret")
    try:
        with pytest.raises(StoreUnavailable):
            make(server.base, retries=0).get_order("KF20261120001")
        assert make(server.base, token="s3cret").get_order("KF20261120001") is not None
    finally:
        server.stop()


def test_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    from actions.store.factory import StoreConfigError, create_store

    assert isinstance(
        create_store({"KEFU_STORE_BACKEND": "http", "KEFU_STORE_HTTP_BASE": "http://x/api/v1"}), HttpStore
    )
    assert isinstance(create_store({"KEFU_STORE_DB_URL": "sqlite://"}), SqlStore)
    with pytest.raises(StoreConfigError):
        create_store({"KEFU_STORE_BACKEND": "http"})
    with pytest.raises(StoreConfigError):
        create_store({"KEFU_STORE_BACKEND": "mongo"})


def test_the_product_server_has_no_fault_switch(sqlite_url: str, tmp_path: Path) -> None:
    """`python -m actions.store serve` as shipped: POST /_faults is an unknown path, and nothing changes."""
    server = StoreServer.start(sqlite_url, tmp_path / "store-server.log", faults=False)
    try:
        r = requests.post(f"http://127.0.0.1:{server.port}/_faults", json={"mode": "error"}, timeout=5)
        assert r.status_code == 404 and r.json()["error"]["code"] == "no_route"
        assert make(server.base).get_order("KF20261120001") is not None
    finally:
        server.stop()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"mode": "explode"}', b'{"mode": "slow", "delay": -1}', b'{"mode": "slow", "delay": 1e9}'],
)
def test_the_test_wrapper_refuses_bad_fault_specs(healthy_server: StoreServer, body: bytes) -> None:
    r = requests.post(f"http://127.0.0.1:{healthy_server.port}/_faults", data=body, timeout=5)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    assert make(healthy_server.base).get_order("KF20261120001") is not None  # still no fault
