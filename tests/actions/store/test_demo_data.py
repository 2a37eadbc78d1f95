"""The demo data files (actions/store/demo/*.yml), their loader, and `python -m actions.store seed` on them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pytest
import yaml

from actions.store.demo_data import DEMO_DIR, DemoDataError, demo_data, load_demo_data, sku_codes
from actions.store.seed import seed
from actions.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[3]
#: What `python -m actions.store seed` printed before the data moved to files, and must keep printing.
SEEDED = (
    "seeded customers=60, orders=300, order_lines=482, coupons=92, skus=150, products=37, locations=8, "
    "status:cancelled=28, status:delivered=147, status:paid=29, status:pending_payment=21, "
    "status:refund_in_progress=29, status:shipped=46"
)


def test_the_files_hold_the_documented_shop() -> None:
    data = demo_data()
    assert len(data.products) == 37 and len(sku_codes(data.products)) == 150
    assert data.store_ids == ("SH01", "SH02", "BJ01", "BJ02", "SZ01", "SZ02")
    assert data.warehouse_ids == ("WHSH", "WHGZ")
    assert [c.id for c in data.showcase_customers] == ["C0001", "C0002", "C0003", "C0004", "C0005"]
    assert data.showcase_customers[0].phone == "13812345678"  # a string: the YAML quotes it
    assert len(data.showcase_orders) == 7 and sum(n for _, n in data.order_quota) == 293
    assert data.stock.fixed[("P010-WH-500ML", "SH01")] == 8
    assert {c.code for c in data.fixed_coupons} >= {"CP-C0001-ON30", "CP-C0001-ST20", "CP-C0001-USED50"}
    assert demo_data() is data  # read once per process


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "actions.store", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_seed_command_makes_the_same_rows_and_if_empty_keeps_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = _run("seed", "--url", url)
    assert first.returncode == 0 and first.stdout.strip() == SEEDED, first.stderr
    again = _run("seed", "--if-empty", "--url", url)
    assert again.returncode == 0 and "already seeded; nothing to do" in again.stdout
    refused = _run("seed", "--url", url)
    assert refused.returncode == 1 and "already has data" in refused.stderr


# ---------------------------------------------------------------------------
# Broken files: a clear error naming the file and the entry, and nothing written
# ---------------------------------------------------------------------------
def _broken(tmp_path: Path, name: str, change: Callable[[dict], None]) -> Path:
    directory = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, directory)
    path = directory / f"{name}.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def _set(path: str, value: object) -> Callable[[dict], None]:
    def change(doc: dict) -> None:
        node = doc
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node[k]
        last = keys[-1]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    "name,change,message",
    [
        ("catalogue", _set("products.3.name_en", _DELETE), "catalogue.yml: products[3]: missing 'name_en'"),
        ("catalogue", _set("products.0.colour", "BK"), "products[0]: unknown field(s) colour"),
        ("catalogue", _set("products.0.price", "cheap"), "products[0]: 'price' must be a whole number"),
        ("catalogue", _set("products.0.colors", ["BK", "XX"]), "products[0]: unknown colour code 'XX'"),
        ("catalogue", _set("products.1.id", "P001"), "product id: 'P001' appears twice"),
        ("locations", _set("locations.0.kind", "kiosk"), "locations[0]: 'kind' must be one of store, warehouse"),
        ("stock", _set("online_only", ["P001-BL", "P001-ZZ"]), "stock.yml: unknown SKU 'P001-ZZ'"),
        ("stock", _set("fixed.P001-BK", {"XX01": 3}), "stock.yml: fixed: unknown location 'XX01'"),
        ("stock", _set("store_only.stores", ["WHSH"]), "store_only: unknown store 'WHSH'"),
        ("customers", _set("showcase.0.phone", 13812345678), "showcase[0]: 'phone' must be a non-empty string"),
        ("customers", _set("showcase.0.id", "C9999"), "id 'C9999' is not one of C0001"),
        ("customers", _set("showcase.0.address", 99), "address 99 is not an index into addresses"),
        ("orders", _set("showcase.0.status", "lost"), "showcase[0]: 'status' must be one of"),
        ("orders", _set("showcase.0.time", "25:00"), "showcase[0]: 'time' must be HH:MM"),
        ("orders", _set("showcase.0.day", "2026-13-40"), "'day' must be a date YYYY-MM-DD"),
        ("orders", _set("showcase.0.skus", ["P001-BK", "'; DROP TABLE skus; --"]), "unknown SKU \"'; DROP TABLE"),
        ("orders", _set("generated.lost", 3), "orders.yml: generated: unknown status 'lost'"),
        ("coupons", _set("fixed.0.scope", "everywhere"), "fixed[0]: 'scope' must be one of online, in_store, both"),
        ("coupons", _set("fixed.4.used_at", "2026-10-12T06:30:00"), "'used_at' must be a time with its zone"),
        ("coupons", _set("scope_suffix.both", _DELETE), "scope_suffix must name exactly online, in_store, both"),
    ],
)
def test_a_mistake_in_a_file_is_named(tmp_path: Path, name: str, change, message: str) -> None:  # type: ignore[no-untyped-def]
    directory = _broken(tmp_path, name, change)
    with pytest.raises(DemoDataError) as err:
        load_demo_data(directory)
    assert message in str(err.value)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, directory)
    (directory / "orders.yml").write_text("showcase: [unclosed\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match="orders.yml: not valid YAML"):
        load_demo_data(directory)
    (directory / "orders.yml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(DemoDataError, match="orders.yml: expected a mapping, got list"):
        load_demo_data(directory)
    (directory / "orders.yml").unlink()
    with pytest.raises(DemoDataError, match="orders.yml: cannot be read"):
        load_demo_data(directory)


def test_a_broken_file_writes_nothing(tmp_path: Path) -> None:
    directory = _broken(tmp_path, "coupons", _set("fixed.0.kind", "free_lunch"))
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    with pytest.raises(DemoDataError):
        seed(store, data=load_demo_data(directory))
    assert not store.has_data()
    store.dispose()


def test_hostile_and_emoji_text_is_stored_as_text(tmp_path: Path) -> None:
    """Names are data: SQL, HTML and emoji in a data file come back from the store verbatim."""
    data = demo_data()
    odd = replace(
        data.products[0],
        name_zh="'; DROP TABLE products; --",
        name_en="<script>alert(1)</script>",
        aliases=("耳机🎧", "x" * 96),
    )
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store, data=replace(data, products=(odd, *data.products[1:])))
    product = next(p for p in store.catalogue().products if p.id == odd.id)
    assert (product.name_zh, product.name_en, product.aliases) == (odd.name_zh, odd.name_en, odd.aliases)
    assert len(store.catalogue().products) == 37
    store.dispose()
