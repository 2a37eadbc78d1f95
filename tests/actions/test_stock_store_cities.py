"""Which cities have stores comes from the store's own locations, not from a list in the code.

The stock answer and the restock request read the store's locations (``StoreBackend.locations``):
open a store in a new city, or move a city's stores away, and the answers follow, on SQLite and
on PostgreSQL. The pure parts (``store_cities``, ``stock_view``) are checked without a database.
"""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

import shutil
from typing import Iterator

import pytest
import sqlalchemy as sa

from actions.stock.actions import CATALOGUE, ActionCheckStock, ActionRestockSubscribe, ValidateStockForm
from actions.stock.matching import parse_city, stock_view, store_cities
from actions.stock.rendering import render_stock
from actions.store.factory import set_store
from actions.store.http import HttpSettings, HttpStore
from actions.store.seed import seed
from actions.store.sql import LocationRow, SqlStore, StockLevelRow
from actions.store.types import Location, Product, Sku, StockLevel
from actions.verification_guard import MemoryBackend, VerificationGuard, set_guard
from tests.actions.orders_harness import Conversation, cards, seeded_url, texts  # noqa: F401

SKU = "P010-WH-500ML"  # white 500ml vacuum bottle: 180 online, in stores in Shanghai, Beijing, Shenzhen


def _location(id_: str, kind: str, city: str, name: str) -> Location:
    return Location(id_, kind, city, name, name, f"{name} address", f"{name} address", "10:00–22:00")


# ---------------------------------------------------------------------------
# Pure
# ---------------------------------------------------------------------------
def test_store_cities_are_the_cities_of_the_store_locations() -> None:
    locations = [
        _location("A1", "store", "hangzhou", "杭州西湖店"),
        _location("A2", "store", "hangzhou", "杭州滨江店"),
        _location("W1", "warehouse", "guangzhou", "广州仓"),
        _location("B1", "store", "beijing", "北京朝阳店"),
    ]
    assert store_cities(locations) == frozenset({"hangzhou", "beijing"})
    assert store_cities([]) == frozenset()
    assert store_cities([_location("W1", "warehouse", "shanghai", "上海仓")]) == frozenset()


def test_a_city_with_a_store_in_the_data_gets_the_store_answer() -> None:
    product = Product("P900", "测试杯", "Test cup", "cups_bottles", "优选生活")
    sku = Sku("P900-WH", "P900", 9900, "白色", "white")
    hangzhou = _location("HZ01", "store", "hangzhou", "杭州西湖店")
    warehouse = _location("WH1", "warehouse", "shanghai", "上海仓")
    levels = [StockLevel("P900-WH", "HZ01", 4), StockLevel("P900-WH", "WH1", 10)]
    city = parse_city("I'm in Hangzhou")
    assert city == "hangzhou"
    view = stock_view(product, sku, levels, [hangzhou, warehouse], city)
    assert view.city_has_stores and view.case == "online_and_city"
    body, card, _ = render_stock(view, "zh-Hans")
    assert "杭州西湖店 有货（4 件）" in body and card["kefu_card"]["pickup"]["same_day_store_ids"] == ["HZ01"]
    # the same city without a store in the data: no store answer
    view = stock_view(product, sku, levels, [warehouse], city)
    assert not view.city_has_stores and view.case == "online_only"
    body, _, _ = render_stock(view, "zh-Hans")
    assert "暂时没有我们的门店" in body


# ---------------------------------------------------------------------------
# Against the store database
# ---------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def own_store(request: pytest.FixtureRequest, tmp_path, seeded_url: str) -> Iterator[SqlStore]:  # type: ignore[no-untyped-def]
    """A seeded demo store this test may change: a copy of the SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(seeded_url[len("sqlite:///") :], path)
        store = SqlStore(f"sqlite:///{path}")
    else:
        store = SqlStore(request.getfixturevalue("pg_schema_url"))
        seed(store)
    set_store(store)
    set_guard(VerificationGuard(MemoryBackend()))
    CATALOGUE.clear()
    yield store
    set_store(None)
    set_guard(None)
    CATALOGUE.clear()
    store.dispose()


def _check(language: str, city_words: str):  # type: ignore[no-untyped-def]
    conv = Conversation(language=language, sender=f"cities-{language}")
    out = conv.form_turn(
        "stock_form",
        ValidateStockForm(),
        ActionCheckStock(),
        f"{city_words}有白色保温杯 500ml 吗",
        {"stock_product": "保温杯", "stock_city": city_words},
        {},
    )
    return conv, texts(out)[-1], cards(out)[0]


def test_a_store_opened_in_a_new_city_is_offered(own_store: SqlStore) -> None:
    conv, body, card = _check("zh-Hans", "广州")  # Guangzhou: a warehouse, no store in the demo data
    assert card["status"] == "online_only" and card["pickup"]["same_day_store_ids"] == []
    assert "广州暂时没有我们的门店" in body
    with own_store.session() as s:
        s.add(
            LocationRow(
                id="GZ01",
                kind="store",
                city="guangzhou",
                name_zh="广州天河店",
                name_en="Guangzhou Tianhe",
                address_zh="广州市天河区天河路208号 1层",
                address_en="208 Tianhe Road, Tianhe, Guangzhou, 1F",
                hours="10:00–22:00",
            )
        )
        s.flush()
        s.add(StockLevelRow(sku_code=SKU, location_id="GZ01", quantity=5))
        s.commit()
    conv, body, card = _check("zh-Hans", "广州")
    assert card["status"] == "online_and_city" and card["pickup"]["same_day_store_ids"] == ["GZ01"]
    assert "广州门店：广州天河店 有货（5 件）" in body and "暂时没有我们的门店" not in body
    conv.run_action(ActionRestockSubscribe(), "/restock_notify")
    subs = [s for s in own_store.restock_subscriptions(SKU) if s.request.sender_id == conv.sender]
    assert [s.request.city for s in subs] == ["guangzhou"]


def test_a_city_whose_stores_moved_away_gets_no_store_answer(own_store: SqlStore) -> None:
    _, body, card = _check("en", "Shenzhen")
    assert card["status"] == "online_and_city" and "Shenzhen stores:" in body
    with own_store.session() as s:
        s.execute(sa.update(LocationRow).where(LocationRow.city == "shenzhen").values(city="dongguan"))
        s.commit()
    conv, body, card = _check("en", "Shenzhen")
    assert card["status"] == "online_only" and card["pickup"]["same_day_store_ids"] == []
    assert "We have no store in Shenzhen" in body
    conv.run_action(ActionRestockSubscribe(), "/restock_notify")
    subs = [s for s in own_store.restock_subscriptions(SKU) if s.request.sender_id == conv.sender]
    assert [s.request.city for s in subs] == [None]  # no store there: the request keeps no city


def test_restock_city_when_the_store_is_down() -> None:
    """Reading the locations for the restock request fails like any store call: the apology, a human offered."""
    set_store(
        HttpStore(
            HttpSettings(base_url="http://127.0.0.1:9/api/v1", retries=0, connect_timeout=0.2), sleep=lambda _s: None
        )
    )
    try:
        conv = Conversation(language="en", sender="cities-down")
        out = conv.run_action(
            ActionRestockSubscribe(), "/restock_notify", {"stock_last_sku": SKU, "stock_city": "shanghai"}
        )
        assert "can't reach" in texts(out)[0] and conv.slots["human_offered"] is True
    finally:
        set_store(None)
