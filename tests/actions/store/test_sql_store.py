"""SQL backend and demo seed, on SQLite always and PostgreSQL where it is up."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from actions.store.demo_data import demo_data
from actions.store.seed import seed
from actions.store.sql import OrderRow, SqlStore
from actions.store.types import ORDER_STATUSES, RestockRequest, StoreBackend, StoreInputError, StoreUnavailable


def test_sql_store_satisfies_the_protocol(sql_store: SqlStore) -> None:
    assert isinstance(sql_store, StoreBackend)
    assert sql_store.health()


def test_seed_scale_and_every_status(sql_store: SqlStore) -> None:
    with sql_store.session() as s:
        statuses = Counter(s.scalars(sa.select(OrderRow.status)).all())
        channels = Counter(s.scalars(sa.select(OrderRow.channel)).all())
    assert sum(statuses.values()) == 300
    assert set(statuses) == set(ORDER_STATUSES)
    assert all(n >= 20 for n in statuses.values())
    assert set(channels) == {"online", "store", "wechat_mini_program"}
    cat = sql_store.catalogue()
    assert len(cat.skus) == 150
    assert all(p.name_zh and p.name_en and p.aliases for p in cat.products)
    assert {bool(k.color_en) for k in cat.skus} == {True}
    assert any(k.capacity for k in cat.skus) and any(k.size for k in cat.skus)
    locs = sql_store.locations()
    stores = [loc for loc in locs if loc.kind == "store"]
    assert len(stores) == 6 and {loc.city for loc in stores} == {"shanghai", "beijing", "shenzhen"}
    assert {loc.city for loc in locs if loc.kind == "warehouse"} == {"shanghai", "guangzhou"}
    customers = [sql_store.get_customer(f"C{i:04d}") for i in range(1, 61)]
    assert all(customers)
    assert sum(1 for c in customers if c and any(i.channel == "wechat" for i in c.identities)) >= 10


def test_showcase_order(sql_store: SqlStore) -> None:
    order = sql_store.get_order("KF20261120001")
    assert order is not None
    assert order.customer_id == "C0001" and order.contact_phone.endswith("5678")
    assert order.status == "shipped" and order.carrier == "SF Express" and order.tracking_number
    assert [e.status for e in order.events] == ["pending_payment", "paid", "shipped"]
    assert order.created_at.tzinfo is not None
    assert (
        order.total_cents
        == sum(ln.amount_cents for ln in order.lines) - order.discount_cents + order.shipping_fee_cents
    )
    assert sql_store.get_order("KF20991231999") is None


def test_recent_orders_and_channel_identity(sql_store: SqlStore) -> None:
    orders = sql_store.recent_orders("C0001", 5)
    assert 1 <= len(orders) <= 5
    assert all(o.customer_id == "C0001" for o in orders)
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)
    customer = sql_store.find_customer_by_channel("wechat", "oKefuDemoOpenid0000000000001")
    assert customer is not None and customer.id == "C0001"
    assert sql_store.find_customer_by_channel("wechat", "oUnknownOpenid") is None
    assert sql_store.find_customer_by_channel("wecom", "oKefuDemoOpenid0000000000001") is None


def test_stock_patterns(sql_store: SqlStore) -> None:
    wh = {loc.id for loc in sql_store.locations() if loc.kind == "warehouse"}
    patterns = demo_data().stock  # actions/store/demo/stock.yml
    for code in patterns.out_everywhere:
        assert all(lv.quantity == 0 for lv in sql_store.stock_for_sku(code))
    for code in patterns.online_only:
        levels = sql_store.stock_for_sku(code)
        assert sum(lv.quantity for lv in levels if lv.location_id in wh) > 0
        assert all(lv.quantity == 0 for lv in levels if lv.location_id not in wh)
    for code in patterns.store_only:
        levels = sql_store.stock_for_sku(code)
        assert all(lv.quantity == 0 for lv in levels if lv.location_id in wh)
        assert any(lv.quantity > 0 for lv in levels if lv.location_id not in wh)
    levels = {lv.location_id: lv.quantity for lv in sql_store.stock_for_sku("P010-WH-500ML")}
    assert levels["SH01"] == 8 and levels["SH02"] == 0 and levels["WHSH"] == 120


def test_coupons(sql_store: SqlStore) -> None:
    coupons = {c.code: c for c in sql_store.coupons_for_customer("C0001")}
    assert coupons["CP-C0001-ON30"].scope == "online"
    assert coupons["CP-C0001-ST20"].scope == "in_store"
    assert coupons["CP-C0001-ALL90"].scope == "both"
    assert coupons["CP-C0001-USED50"].used_at is not None


def test_restock_subscription_is_stored_once(sql_store: SqlStore) -> None:
    req = RestockRequest("P010-PK-750ML", "rest", "sender-restock-1", "zh-Hans", None, "shanghai")
    first = sql_store.add_restock_subscription(req)
    again = sql_store.add_restock_subscription(req)
    assert first.created and not again.created and first.id == again.id
    assert [s.request.sender_id for s in sql_store.restock_subscriptions("P010-PK-750ML")].count(
        "sender-restock-1"
    ) == 1
    with pytest.raises(StoreInputError):
        sql_store.add_restock_subscription(RestockRequest("P999-XX", "rest", "s", "en"))


@pytest.mark.parametrize(
    "bad",
    [
        "KF2026' OR '1'='1",
        "'; DROP TABLE orders; --",
        "KF" + "1" * 5000,
        "KF2026112000😀",
        "",
        "kf20261120001",
    ],
)
def test_hostile_order_ids_are_refused_before_the_database(sql_store: SqlStore, bad: str) -> None:
    with pytest.raises(StoreInputError):
        sql_store.get_order(bad)
    assert sql_store.get_order("KF20261120001") is not None  # the table is still there


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_customer("C1; DROP TABLE customers"),
        lambda s: s.recent_orders("C0001", 10_000),
        lambda s: s.find_customer_by_channel("wechat", "x" * 500),
        lambda s: s.find_customer_by_channel("sms", "abc"),
        lambda s: s.stock_for_sku("P010' OR 1=1 --"),
        lambda s: s.coupons_for_customer("<script>"),
    ],
)
def test_other_hostile_inputs(sql_store: SqlStore, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreInputError):
        call(sql_store)


def test_seed_is_deterministic_and_refuses_to_overwrite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dumps = []
    for name in ("a.db", "b.db"):
        store = SqlStore(f"sqlite:///{tmp_path / name}")
        seed(store)
        with store.engine.connect() as conn:
            raw = conn.connection.dbapi_connection  # type: ignore[union-attr]
            dumps.append("\n".join(raw.iterdump()))
        with pytest.raises(RuntimeError):
            seed(store)
        seed(store, force=True)
        assert store.get_order("KF20261120001") is not None
        store.dispose()
    assert dumps[0] == dumps[1]


def test_missing_database_is_unavailable_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreUnavailable):
        store.get_order("KF20261120001")
    assert not store.has_data()


def test_postgres_seed_in_its_own_schema(pg_schema_store: SqlStore) -> None:
    """The seed on a fresh schema from the shared pg_schema_url fixture, and --force on PostgreSQL."""
    assert pg_schema_store.url.startswith("postgresql")
    seed(pg_schema_store, force=True)
    assert pg_schema_store.get_order("KF20261120001") is not None
