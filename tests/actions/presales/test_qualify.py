"""Presales qualification: the shop's published B2B thresholds (config.yml, docs/shop-policies.md §14), checkout or
lead and hot or warm at the boundaries, the stock answer, and the stock count against the seeded demo store."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

import pytest
import yaml

from actions.presales.qualify import (
    CONFIG_ENV,
    CONFIG_PATH,
    PresalesConfigError,
    Qualification,
    available_units,
    config_path,
    load_config,
    parse_config,
    qualify,
    stock_answer,
)
from actions.store.seed import seed
from actions.store.sql import SqlStore
from actions.store.types import StockLevel, StoreInputError, StoreUnavailable

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 12, 4)
CONFIG = load_config(CONFIG_PATH)
RAW: Dict[str, Any] = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------
# The configuration is the shop's published policy
# ---------------------------------------------------------------------------
def test_defaults_are_the_published_policy() -> None:
    policy = (ROOT / "docs" / "shop-policies.md").read_text(encoding="utf-8")
    faq = (ROOT / "knowledge_base" / "faq" / "b2b.yml").read_text(encoding="utf-8")
    assert "For 50 or more units of one item, or 10,000 元 or more per order" in policy
    assert "同一商品50件以上或单笔10,000元以上" in faq
    assert (CONFIG.bulk_threshold.quantity, CONFIG.bulk_threshold.value_yuan) == (50, 10_000)
    assert "Reply within\n  1 working day" in policy and "We reply within 1 working day" in faq
    assert CONFIG.quote_sla_hours == 24
    assert re.search(r"Samples: up to 2 units at the regular price; their cost is credited to the bulk order placed "
                     r"within 30 days", policy)
    assert (CONFIG.sample.max_quantity, CONFIG.sample.credit_days) == (2, 30)
    assert CONFIG.restock_days == 7
    assert (CONFIG.hot.quantity, CONFIG.hot.value_yuan, CONFIG.hot.within_days) == (500, 50_000, 14)


def test_env_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = copy.deepcopy(RAW)
    other["bulk_threshold"]["quantity"] = 20
    path = tmp_path / "presales.yml"
    path.write_text(yaml.safe_dump(other, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert config_path() == path
    assert load_config().bulk_threshold.quantity == 20
    monkeypatch.setenv(CONFIG_ENV, "  ")
    assert config_path() == CONFIG_PATH
    assert config_path({CONFIG_ENV: str(path)}) == path


def _with(path: str, value: Any) -> Dict[str, Any]:
    raw = copy.deepcopy(RAW)
    *parents, key = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[key]
    else:
        node[key] = value
    return raw


@pytest.mark.parametrize(
    "raw,message",
    [
        (None, "must be a mapping"),
        ([1, 2], "must be a mapping"),
        (_with("bulk_threshold", 50), "bulk_threshold must be a mapping"),
        (_with("bulk_threshold.quantity", "50"), "bulk_threshold.quantity must be a whole number"),
        (_with("bulk_threshold.quantity", 0), "bulk_threshold.quantity must be at least 1"),
        (_with("bulk_threshold.value_yuan", True), "bulk_threshold.value_yuan must be a whole number"),
        (_with("bulk_threshold.value_yuan", 10000.5), "bulk_threshold.value_yuan must be a whole number"),
        (_with("hot.within_days", -1), "hot.within_days must be at least 0"),
        (_with("hot.quantity", 10), r"hot.quantity \(10\) must not be below bulk_threshold.quantity \(50\)"),
        (_with("hot.value_yuan", 5000), "hot.value_yuan .* must not be below"),
        (_with("quote_sla_hours", KeyError), "missing key.*quote_sla_hours"),
        (_with("sample.max_quantity", KeyError), "sample: missing key.*max_quantity"),
        (_with("restock_days", "seven"), "restock_days must be a whole number"),
        (_with("bulk_treshold", {"quantity": 50}), "unknown key.*bulk_treshold"),
        (_with("hot.within", 3), "hot: unknown key.*within"),
    ],
)
def test_config_errors_name_the_key(raw: Any, message: str) -> None:
    with pytest.raises(PresalesConfigError, match=message):
        parse_config(raw, "presales.yml")


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(PresalesConfigError, match=f"{re.escape(str(missing))}: cannot be read"):
        load_config(missing)
    broken = tmp_path / "broken.yml"
    broken.write_text("bulk_threshold: [", encoding="utf-8")
    with pytest.raises(PresalesConfigError, match="broken.yml: not valid YAML"):
        load_config(broken)
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(yaml.safe_dump(_with("restock_days", -3)), encoding="utf-8")
    with pytest.raises(PresalesConfigError, match="wrong.yml: restock_days must be at least 0"):
        load_config(wrong)


# ---------------------------------------------------------------------------
# qualify
# ---------------------------------------------------------------------------
FAR = TODAY + timedelta(days=60)


def q(quantity: Any, price: Any = None, needed_by: Any = None, lead_type: Any = None) -> Qualification:
    return qualify(quantity, price, needed_by, today=TODAY, lead_type=lead_type, config=CONFIG)


@pytest.mark.parametrize(
    "quantity,price,needed_by,kind,priority,reasons",
    [
        # the quantity threshold: 49 is a checkout, 50 a lead
        (49, None, None, "checkout", None, ("quantity<50",)),
        (50, None, None, "lead", "warm", ("quantity>=50",)),
        (49, 100, FAR, "checkout", None, ("quantity<50", "value<10000")),
        # the value threshold: 10,000 元 exactly is a lead; one fen below is not
        (40, 25_000, FAR, "lead", "warm", ("value>=10000",)),
        (40, 24_999, FAR, "checkout", None, ("quantity<50", "value<10000")),
        (1, 1_000_000, None, "lead", "warm", ("value>=10000",)),
        # hot: quantity 500, value 50,000 元, or needed within 14 days
        (499, 100, FAR, "lead", "warm", ("quantity>=50",)),
        (500, 100, FAR, "lead", "hot", ("quantity>=50", "quantity>=500")),
        (100, 50_000, FAR, "lead", "hot", ("quantity>=50", "value>=10000", "value>=50000")),
        (100, 49_999, FAR, "lead", "warm", ("quantity>=50", "value>=10000")),
        (60, None, TODAY + timedelta(days=14), "lead", "hot", ("quantity>=50", "needed_within_14_days")),
        (60, None, TODAY + timedelta(days=15), "lead", "warm", ("quantity>=50",)),
        (60, None, TODAY - timedelta(days=1), "lead", "hot", ("quantity>=50", "needed_within_14_days")),
        # a small urgent order is still a checkout
        (10, 9_900, TODAY, "checkout", None, ("quantity<50", "value<10000")),
        # unknown quantity: sales asks
        (None, 9_900, TODAY, "lead", "warm", ("quantity_unknown",)),
        (None, None, None, "lead", "warm", ("quantity_unknown",)),
    ],
)
def test_qualify_at_the_boundaries(
    quantity: Any, price: Any, needed_by: Any, kind: str, priority: Any, reasons: tuple
) -> None:
    result = q(quantity, price, needed_by)
    assert (result.kind, result.priority, result.reasons) == (kind, priority, reasons)
    assert result.value_cents == (quantity * price if quantity is not None and price is not None else None)


def test_samples_are_always_a_lead() -> None:
    assert q(2, 9_900, None, "sample") == Qualification("lead", "warm", 19_800, ("sample",))
    assert q(None, None, None, "sample") == Qualification("lead", "warm", None, ("sample", "quantity_unknown"))
    # a sample request that names a large order is judged by that order too
    assert q(800, 9_900, FAR, "sample").priority == "hot"


@pytest.mark.parametrize("quantity", [0, -5, 1.5, "200", True])
def test_qualify_refuses_a_quantity_that_is_not_a_count(quantity: Any) -> None:
    with pytest.raises(ValueError, match="quantity"):
        q(quantity)


def test_qualify_follows_another_config() -> None:
    strict = parse_config(_with("bulk_threshold.quantity", 10))
    assert qualify(10, None, None, today=TODAY, config=strict).kind == "lead"


# ---------------------------------------------------------------------------
# Stock
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "requested,available,short,restock",
    [(200, 198, 2, 7), (198, 198, 0, None), (50, 500, 0, None), (10, 0, 10, 7), (10, -3, 10, 7)],
)
def test_stock_answer(requested: int, available: int, short: int, restock: Any) -> None:
    answer = stock_answer(requested, available, CONFIG)
    assert (answer.requested, answer.available, answer.short, answer.restock_days) == (
        requested, max(available, 0), short, restock,
    )
    assert answer.covered == (short == 0)


@pytest.mark.parametrize("requested,available", [(0, 5), (5, "3"), (True, 1), (2.5, 1)])
def test_stock_answer_refuses_bad_numbers(requested: Any, available: Any) -> None:
    with pytest.raises(ValueError):
        stock_answer(requested, available, CONFIG)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    path = tmp_path_factory.mktemp("presales-store") / "store.db"
    store = SqlStore(f"sqlite:///{path}")
    seed(store)
    yield store
    store.dispose()


def test_available_units_sums_every_location_of_the_demo_store(demo_store: SqlStore) -> None:
    # actions/store/demo/stock.yml fixes these rows at all 8 locations (6 stores, 2 warehouses)
    assert available_units(demo_store, ["P010-WH-500ML"]) == 8 + 0 + 3 + 0 + 5 + 2 + 120 + 60
    assert available_units(demo_store, ["P001-BK"]) == 4 + 6 + 1 + 40
    assert available_units(demo_store, ["P010-WH-500ML", "P001-BK", "P010-WH-500ML"]) == 198 + 51
    assert available_units(demo_store, ["P010-PK-750ML"]) == 0  # out everywhere
    assert available_units(demo_store, []) == 0
    assert available_units(demo_store, ["P999-XX"]) == 0  # unknown SKU: no rows


def test_available_units_lets_store_errors_through(demo_store: SqlStore) -> None:
    with pytest.raises(StoreInputError):
        available_units(demo_store, ["not a sku; DROP TABLE skus"])

    class Down:
        def stock_for_sku(self, sku_code: str) -> Sequence[StockLevel]:
            raise StoreUnavailable("store down")

    with pytest.raises(StoreUnavailable):
        available_units(Down(), ["P001-BK"])  # type: ignore[arg-type]


def test_available_units_counts_negative_rows_as_zero() -> None:
    class Fake:
        def __init__(self) -> None:
            self.calls: List[str] = []

        def stock_for_sku(self, sku_code: str) -> Sequence[StockLevel]:
            self.calls.append(sku_code)
            return [StockLevel(sku_code, "A", 5), StockLevel(sku_code, "B", -2)]

    fake = Fake()
    assert available_units(fake, ["X", "Y", "X"]) == 10  # type: ignore[arg-type]
    assert fake.calls == ["X", "Y"]
