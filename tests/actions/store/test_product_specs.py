"""Product specs (issue 25, "Product facts"): in the demo catalogue, through seed -> SQL (SQLite, PostgreSQL) -> read,
over the HTTP contract (reference server and a seller's system), and optional everywhere: data without specs loads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import httpx
import pytest
import sqlalchemy as sa
import yaml

from actions.store.codec import from_json, to_json
from actions.store.demo_data import DemoDataError, demo_data, load_demo_data
from actions.store.http import HttpSettings, HttpStore
from actions.store.seed import seed
from actions.store.sql import ProductSpecRow, SqlStore
from actions.store.types import SPEC_KEYS, Catalogue, Product, Spec, StoreUnavailable
from kernel.product_questions import SPEC_KEYS as QUESTION_KEYS
from tests.actions.store.conftest import StoreServer
from tests.actions.store.test_demo_data import _broken, _set

ROOT = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------------------
# The demo catalogue's specs
# ---------------------------------------------------------------------------
def test_every_demo_product_has_specs_from_the_vocabulary() -> None:
    assert SPEC_KEYS == QUESTION_KEYS  # one vocabulary: what a question asks is what the catalogue holds
    products = demo_data().products
    assert len(products) == 37
    for product in products:
        keys = [s.key for s in product.specs]
        assert len(keys) >= 4 and "warranty" in keys, product.id
        assert len(set(keys)) == len(keys) and set(keys) <= set(SPEC_KEYS), product.id
        for spec in product.specs:
            assert spec.value_zh.strip() and spec.value_en.strip(), (product.id, spec.key)
            assert not re.search(r"[\u4e00-\u9fff]", spec.value_en.replace("三包", "").replace("优选延保", "")), \
                (product.id, spec.key, "English text with Chinese in it")
    by_id = {p.id: p for p in products}
    assert "IPX7" in _value(by_id["P006"], "waterproof")  # the speaker in the shower
    assert "65W" in _value(by_id["P004"], "power")
    assert "304" in _value(by_id["P010"], "material")
    assert "棉" in _value(by_id["P040"], "material")


def _value(product: Any, key: str) -> str:
    return next(s.value_zh for s in product.specs if s.key == key)


def _kb_answer(entry_id: str) -> str:
    entries = yaml.safe_load((ROOT / "knowledge_base/faq/warranty.yml").read_text(encoding="utf-8"))
    return next(e["answer"]["zh-Hans"] for e in entries if e["id"] == entry_id)


#: category -> (the knowledge-base entry that answers its warranty, the terms both must say)
WARRANTY_TERMS = {
    "electronics": ("warranty.electronics", ["7天内", "退货", "15天内", "换货", "1年内免费维修"]),
    "small_appliances": ("warranty.electronics", ["7天内", "退货", "15天内", "换货", "1年内免费维修"]),
    "cups_bottles": ("warranty.cups_bottles", ["1年", "保温失效", "杯盖", "密封圈"]),
    "home": ("warranty.home_clothing", ["6个月", "制造缺陷"]),
    "clothing": ("warranty.home_clothing", ["30天内", "开线", "掉色"]),
}


def test_warranty_specs_say_what_the_policy_and_the_knowledge_base_say() -> None:
    """docs/shop-policies.md section 13 and knowledge_base/faq/warranty.yml: a product's warranty spec repeats its
    category's terms, and names the extended warranty exactly for electronics and small appliances of 300 yuan or
    more. Brush heads are consumables: the policy does not cover their wear."""
    policy = (ROOT / "docs/shop-policies.md").read_text(encoding="utf-8")
    assert "electronics and small appliances of 300 元 or more" in policy.replace("**", "")
    for product in demo_data().products:
        entry, terms = WARRANTY_TERMS[product.category]
        answer, warranty = _kb_answer(entry), _value(product, "warranty")
        for term in terms:
            if product.id == "P024" and term == "1年内免费维修":
                continue
            assert term in warranty and term in answer, (product.id, term)
        extendable = product.category in ("electronics", "small_appliances") and product.price >= 300
        assert ("优选延保" in warranty) == extendable, product.id
    assert "耗材" in _value({p.id: p for p in demo_data().products}["P024"], "warranty")


@pytest.mark.parametrize("change, message", [
    (_set("products.0.specs.colour", ["黑", "black"]), "products[0]: specs: unknown spec key 'colour'"),
    (_set("products.0.specs.battery", "7 hours"), "products[0]: specs.battery: expected [Chinese, English]"),
    (_set("products.0.specs.battery", ["", "7 hours"]), "specs.battery: both texts must be non-empty"),
    (_set("products.0.specs.battery", ["长" * 201, "long"]), "specs.battery: longer than 200"),
    (_set("products.0.specs", ["battery"]), "products[0]: specs: expected a mapping"),
])
def test_a_mistake_in_the_specs_is_named(tmp_path: Path, change: Callable[[dict], None], message: str) -> None:
    with pytest.raises(DemoDataError) as err:
        load_demo_data(_broken(tmp_path, "catalogue", change))
    assert message in str(err.value)


def test_a_catalogue_file_without_specs_still_loads(tmp_path: Path) -> None:
    def strip(doc: dict) -> None:
        for product in doc["products"]:
            product.pop("specs", None)

    data = load_demo_data(_broken(tmp_path, "catalogue", strip))
    assert len(data.products) == 37 and all(p.specs == () for p in data.products)


# ---------------------------------------------------------------------------
# seed -> SQL -> read, on SQLite and PostgreSQL
# ---------------------------------------------------------------------------
def test_specs_survive_seed_and_read(sql_store: SqlStore) -> None:
    products = {p.id: p for p in sql_store.catalogue().products}
    for spec in demo_data().products:
        assert products[spec.id].specs == spec.specs, spec.id  # every spec, in the file's order
    speaker = products["P006"]
    assert speaker.spec("waterproof") is not None and speaker.spec("waterproof").value_zh.startswith("IPX7")  # type: ignore[union-attr]
    assert speaker.spec("coating") is None


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A seeded store of its own (the test changes its schema)."""
    if request.param == "postgres":
        yield request.getfixturevalue("pg_schema_store")
        return
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    seed(store)
    yield store
    store.dispose()


def test_a_database_from_before_specs_still_serves_its_catalogue(fresh_store: SqlStore) -> None:
    """A seller's database (or var/store.db) made before the product_specs table existed: the products are read
    without specs, the rest as before; seeding again with --force brings the specs."""
    before = fresh_store.catalogue()
    ProductSpecRow.__table__.drop(fresh_store.engine)
    assert not sa.inspect(fresh_store.engine).has_table("product_specs")
    old = fresh_store.catalogue()
    assert all(p.specs == () for p in old.products)
    assert [(p.id, p.name_zh, p.aliases) for p in old.products] == [(p.id, p.name_zh, p.aliases) for p in before.products]
    assert old.skus == before.skus
    seed(fresh_store, force=True)
    assert fresh_store.catalogue() == before


def test_a_product_without_specs_sits_beside_one_with(fresh_store: SqlStore) -> None:
    with fresh_store.session() as s:
        s.execute(sa.delete(ProductSpecRow).where(ProductSpecRow.product_id == "P036"))
        s.commit()
    products = {p.id: p for p in fresh_store.catalogue().products}
    assert products["P036"].specs == () and products["P006"].spec("waterproof") is not None


# ---------------------------------------------------------------------------
# The HTTP contract: the reference server, and a seller's system with or without specs
# ---------------------------------------------------------------------------
def test_specs_over_the_reference_server(healthy_server: StoreServer, sqlite_store: SqlStore) -> None:
    http = HttpStore(HttpSettings(base_url=healthy_server.base, backoff=0.0))
    try:
        raw = httpx.get(f"{healthy_server.base}/catalogue", timeout=5).json()
        on_the_wire = next(p for p in raw["products"] if p["id"] == "P006")["specs"]
        stored = next(p for p in sqlite_store.catalogue().products if p.id == "P006").spec("waterproof")
        assert stored is not None
        assert {"key": "waterproof", "value_zh": stored.value_zh, "value_en": stored.value_en} in on_the_wire
        catalogue = http.catalogue()
        assert catalogue == sqlite_store.catalogue()
        assert next(p for p in catalogue.products if p.id == "P004").spec("power") is not None
    finally:
        http.close()


def _seller(catalogue: Dict[str, Any]) -> HttpStore:
    """An HttpStore talking to a seller's system that answers GET /catalogue with ``catalogue``."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/catalogue")
        return httpx.Response(200, content=json.dumps(catalogue).encode(), headers={"Content-Type": "application/json"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpStore(HttpSettings(base_url="http://seller.example/api/v1", retries=0), client=client)


PRODUCT = {"id": "P010", "name_zh": "不锈钢保温杯", "name_en": "Stainless Steel Vacuum Bottle",
           "category": "cups_bottles", "brand": "优选生活", "aliases": ["保温杯"]}
SKU = {"code": "P010-WH-500ML", "product_id": "P010", "price_cents": 11900, "color_zh": "白色", "color_en": "white",
       "size": "", "capacity": "500ml"}


def test_a_seller_system_without_specs_is_still_read() -> None:
    catalogue = _seller({"products": [PRODUCT], "skus": [SKU]}).catalogue()
    assert catalogue.products[0].specs == () and catalogue.products[0].spec("material") is None


def test_a_seller_system_with_specs_is_read() -> None:
    specs = [{"key": "material", "value_zh": "316不锈钢内胆", "value_en": "316 stainless steel inside"},
             {"key": "colour_temperature", "value_zh": "暖光", "value_en": "warm"}]  # a key we do not ask about: kept
    product = _seller({"products": [{**PRODUCT, "specs": specs}], "skus": [SKU]}).catalogue().products[0]
    assert product.spec("material") == Spec("material", "316不锈钢内胆", "316 stainless steel inside")
    assert [s.key for s in product.specs] == ["material", "colour_temperature"]


@pytest.mark.parametrize("specs", [
    {"material": "316"},  # a mapping, not the documented list
    [{"key": "material", "value_zh": "316"}],  # no English
    [{"key": "material", "value_zh": 316, "value_en": "316"}],  # not a string
])
def test_malformed_specs_are_a_broken_backend(specs: Any) -> None:
    with pytest.raises(StoreUnavailable, match="specs"):
        _seller({"products": [{**PRODUCT, "specs": specs}], "skus": [SKU]}).catalogue()


def test_the_codec_round_trips_specs() -> None:
    product = Product("P006", "便携蓝牙音箱", "Portable Bluetooth Speaker", "electronics", "优选生活", ("音箱",),
                      (Spec("waterproof", "IPX7", "IPX7"), Spec("weight", "约540克", "about 540 g")))
    catalogue = Catalogue((product,), ())
    wire = to_json(catalogue)
    assert wire["products"][0]["specs"][1] == {"key": "weight", "value_zh": "约540克", "value_en": "about 540 g"}
    assert from_json(Catalogue, json.loads(json.dumps(wire))) == catalogue
    assert Spec("weight", "约540克", "about 540 g").value("en") == "about 540 g"
    assert Spec("weight", "约540克", "about 540 g").value("zh-Hant") == "约540克"  # the caller renders the script
