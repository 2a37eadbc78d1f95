"""The demo shop's data files (``actions/store/demo/*.yml``): read, checked and returned as frozen dataclasses.

The files hold what the demo shop *has*: its stores and warehouses, catalogue, the stock rows
and showcase customers, orders and coupons the docs name, and the pools the rest is drawn from.
How the rest is drawn (deterministically) is :mod:`actions.store.seed`. A mistake in a file
(a missing or unknown field, a wrong type, a colour, SKU, store or customer that does not
exist) stops the load with :class:`DemoDataError` naming the file and the entry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import yaml

from actions.store.types import (
    COUPON_KINDS,
    COUPON_SCOPES,
    LOCATION_KINDS,
    ORDER_CHANNELS,
    ORDER_STATUSES,
    SPEC_KEYS,
    SPEC_VALUE_EN_MAX,
    SPEC_VALUE_ZH_MAX,
    Coupon,
    Location,
    Spec,
)
from kernel import seller

DEMO_DIR = Path(__file__).resolve().parent / "demo"
FILES = ("locations", "catalogue", "stock", "customers", "orders", "coupons")


class DemoDataError(ValueError):
    """A demo data file is missing, is not valid YAML, or holds an entry that does not fit."""


@dataclass(frozen=True)
class ProductSpec:
    id: str
    name_zh: str
    name_en: str
    category: str
    brand: str
    aliases: Tuple[str, ...]
    colors: Tuple[str, ...]
    capacities: Tuple[str, ...] = ("",)
    sizes: Tuple[str, ...] = ("",)
    price: int = 0  # yuan
    price_step: int = 0  # added per capacity/size step
    specs: Tuple[Spec, ...] = ()  # the product's specs, in the file's order


@dataclass(frozen=True)
class StockPatterns:
    out_everywhere: Tuple[str, ...]  # SKU codes with no stock anywhere
    online_only: Tuple[str, ...]  # in warehouses only
    store_only: Tuple[str, ...]  # a few left in ``store_only_stores``, none online
    store_only_stores: Tuple[str, ...]
    fixed: Mapping[Tuple[str, str], int]  # (SKU code, location id) -> quantity, applied last


@dataclass(frozen=True)
class CustomerSpec:
    id: str
    name: str
    phone: str
    tier: str
    wechat_openid: Optional[str] = None
    address: Optional[int] = None  # index into DemoData.addresses; None: drawn


@dataclass(frozen=True)
class OrderPlan:
    day: date
    minute: int  # minutes after local midnight
    status: str
    channel: str
    customer_id: str
    skus: Tuple[str, ...] = ()  # fixed lines for showcase orders
    carrier: Optional[str] = None


@dataclass(frozen=True)
class CouponTemplate:
    title_zh: str
    title_en: str
    kind: str
    value: int
    min_spend_cents: int


@dataclass(frozen=True)
class DemoData:
    locations: Tuple[Location, ...]
    colors: Mapping[str, Tuple[str, str]]  # code -> (zh, en)
    products: Tuple[ProductSpec, ...]
    stock: StockPatterns
    customer_count: int
    showcase_customers: Tuple[CustomerSpec, ...]
    surnames: str
    given_names: Tuple[str, ...]
    tiers: Tuple[str, ...]
    addresses: Tuple[Tuple[str, str, str], ...]
    data_day: date
    first_day: date
    showcase_orders: Tuple[OrderPlan, ...]
    order_quota: Tuple[Tuple[str, int], ...]  # (status, how many generated), in drawing order
    channel_weights: Tuple[Tuple[str, int], ...]
    fixed_coupons: Tuple[Coupon, ...]
    coupon_templates: Tuple[CouponTemplate, ...]
    scope_suffix: Mapping[str, Tuple[str, str]]  # coupon scope -> (zh, en) title suffix

    @property
    def store_ids(self) -> Tuple[str, ...]:
        return tuple(loc.id for loc in self.locations if loc.kind == "store")

    @property
    def warehouse_ids(self) -> Tuple[str, ...]:
        return tuple(loc.id for loc in self.locations if loc.kind == "warehouse")


def _code_part(value: str) -> str:
    return value.upper().replace(".", "P").replace(" ", "")


def sku_code(product_id: str, color: str, capacity: str, size: str) -> str:
    """``P010`` + ``WH`` + ``500ml`` -> ``P010-WH-500ML``; ``1.7L`` is written ``1P7L``."""
    parts = [product_id, color] + [_code_part(v) for v in (capacity, size) if v]
    return "-".join(parts)


def sku_codes(products: Sequence[ProductSpec]) -> List[str]:
    """Every SKU code of ``products``, in the order the seed creates them (capacity, size, colour)."""
    return [
        sku_code(spec.id, color, cap, size)
        for spec in products
        for cap in spec.capacities
        for size in spec.sizes
        for color in spec.colors
    ]


# ---------------------------------------------------------------------------
# Reading one entry, with the file and the place in it for every error
# ---------------------------------------------------------------------------
class _Entry:
    def __init__(self, raw: Any, where: str, allowed: Sequence[str]) -> None:
        if not isinstance(raw, dict):
            raise DemoDataError(f"{where}: expected a mapping, got {type(raw).__name__}")
        unknown = sorted(set(map(str, raw)) - set(allowed))
        if unknown:
            raise DemoDataError(f"{where}: unknown field(s) {', '.join(unknown)}")
        self.raw, self.where = raw, where

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.raw or self.raw[key] is None:
            if required:
                raise DemoDataError(f"{self.where}: missing {key!r}")
            return None
        return self.raw[key]

    def text(self, key: str, required: bool = True, empty: bool = False) -> str:
        value = self._get(key, required)
        if value is None:
            return ""
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise DemoDataError(f"{self.where}: {key!r} must be a non-empty string, got {value!r}")
        return value

    def optional_text(self, key: str) -> Optional[str]:
        return self.text(key, required=False) or None

    def number(self, key: str, required: bool = True, default: int = 0, minimum: int = 0) -> int:
        value = self._get(key, required)
        return default if value is None else _whole(value, f"{self.where}: {key!r}", minimum)

    def texts(self, key: str, required: bool = True, default: Tuple[str, ...] = ()) -> Tuple[str, ...]:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise DemoDataError(f"{self.where}: {key!r} must be a list of non-empty strings, got {value!r}")
        return tuple(value)

    def day(self, key: str) -> date:
        value = self._get(key, True)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise DemoDataError(f"{self.where}: {key!r} must be a date YYYY-MM-DD, got {value!r}") from None

    def instant(self, key: str) -> Optional[datetime]:
        value = self._get(key, False)
        if value is None:
            return None
        try:
            at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise DemoDataError(f"{self.where}: {key!r} must be a time with its zone (…Z), got {value!r}")
        return at.astimezone(timezone.utc)

    def one_of(self, key: str, choices: Sequence[str]) -> str:
        value = self.text(key)
        if value not in choices:
            raise DemoDataError(f"{self.where}: {key!r} must be one of {', '.join(choices)}, got {value!r}")
        return value


def _whole(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DemoDataError(f"{where} must be a whole number >= {minimum}, got {value!r}")
    return value


def _pairs(raw: Any, where: str) -> Tuple[str, str]:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(v, str) for v in raw)):
        raise DemoDataError(f"{where}: expected [Chinese, English], got {raw!r}")
    return raw[0], raw[1]


def _specs(raw: Any, where: str) -> Tuple[Spec, ...]:
    """``specs: {material: [Chinese, English], ...}``: keys from SPEC_KEYS, both texts within the stores' sizes."""
    if raw is None:
        return ()
    out = []
    for key, value in _mapping(raw, where).items():
        if key not in SPEC_KEYS:
            raise DemoDataError(f"{where}: unknown spec key {key!r} (one of {', '.join(SPEC_KEYS)})")
        zh, en = _pairs(value, f"{where}.{key}")
        if not zh.strip() or not en.strip():
            raise DemoDataError(f"{where}.{key}: both texts must be non-empty")
        if len(zh) > SPEC_VALUE_ZH_MAX or len(en) > SPEC_VALUE_EN_MAX:
            raise DemoDataError(f"{where}.{key}: longer than {SPEC_VALUE_ZH_MAX} (Chinese) or {SPEC_VALUE_EN_MAX} "
                                "(English) characters")
        out.append(Spec(str(key), zh, en))
    return tuple(out)


def _mapping(raw: Any, where: str) -> Dict[str, Any]:
    if not isinstance(raw, dict):
        raise DemoDataError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _list(doc: Dict[str, Any], key: str, where: str) -> List[Any]:
    value = doc.get(key)
    if not isinstance(value, list) or not value:
        raise DemoDataError(f"{where}: {key!r} must be a non-empty list")
    return value


def _unique(ids: Sequence[str], where: str) -> None:
    seen = set()
    for i in ids:
        if i in seen:
            raise DemoDataError(f"{where}: {i!r} appears twice")
        seen.add(i)


def _known(values: Sequence[str], known: FrozenSet[str], what: str, where: str) -> None:
    for v in values:
        if v not in known:
            raise DemoDataError(f"{where}: unknown {what} {v!r}")


def _read(directory: Path, name: str) -> Tuple[Dict[str, Any], str]:
    path = directory / f"{name}.yml"
    where = f"{path.parent.name}/{path.name}"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DemoDataError(f"{where}: cannot be read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise DemoDataError(f"{where}: not valid YAML: {exc}") from exc
    return _mapping(doc, where), where


# ---------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------
def _locations(doc: Dict[str, Any], where: str) -> Tuple[Location, ...]:
    out = []
    fields = ("id", "kind", "city", "name_zh", "name_en", "address_zh", "address_en", "hours")
    for i, raw in enumerate(_list(doc, "locations", where)):
        e = _Entry(raw, f"{where}: locations[{i}]", fields)
        out.append(
            Location(
                id=e.text("id"),
                kind=e.one_of("kind", LOCATION_KINDS),
                city=e.text("city"),
                name_zh=e.text("name_zh"),
                name_en=e.text("name_en"),
                address_zh=e.text("address_zh"),
                address_en=e.text("address_en"),
                hours=e.text("hours", required=False, empty=True),
            )
        )
    _unique([loc.id for loc in out], f"{where}: location id")
    return tuple(out)


def _catalogue(doc: Dict[str, Any], where: str) -> Tuple[Mapping[str, Tuple[str, str]], Tuple[ProductSpec, ...]]:
    brand = _Entry(doc, where, ("brand", "shop", "colors", "products")).text("brand")
    try:  # the shop's formats (kernel/seller.py reads them for every process); a mistake stops this load too
        seller.formats_from(doc.get("shop"), where)
    except seller.ShopConfigError as e:
        raise DemoDataError(str(e)) from None
    colors = {
        str(code): _pairs(v, f"{where}: colors.{code}")
        for code, v in _mapping(doc.get("colors"), f"{where}: colors").items()
    }
    fields = (
        "id", "name_zh", "name_en", "category", "brand", "aliases", "colors", "capacities", "sizes", "price",
        "price_step", "specs",
    )  # fmt: skip
    products = []
    for i, raw in enumerate(_list(doc, "products", where)):
        e = _Entry(raw, f"{where}: products[{i}]", fields)
        spec = ProductSpec(
            id=e.text("id"),
            name_zh=e.text("name_zh"),
            name_en=e.text("name_en"),
            category=e.text("category"),
            brand=e.text("brand", required=False) or brand,
            aliases=e.texts("aliases"),
            colors=e.texts("colors"),
            capacities=e.texts("capacities", required=False, default=("",)),
            sizes=e.texts("sizes", required=False, default=("",)),
            price=e.number("price", minimum=1),
            price_step=e.number("price_step", required=False),
            specs=_specs(raw.get("specs"), f"{e.where}: specs"),
        )
        _known(spec.colors, frozenset(colors), "colour code", e.where)
        products.append(spec)
    _unique([p.id for p in products], f"{where}: product id")
    _unique(sku_codes(products), f"{where}: SKU code")
    return MappingProxyType(colors), tuple(products)


def _stock(doc: Dict[str, Any], where: str, skus: FrozenSet[str], locations: Sequence[Location]) -> StockPatterns:
    e = _Entry(doc, where, ("out_everywhere", "online_only", "store_only", "fixed"))
    only = _Entry(doc.get("store_only"), f"{where}: store_only", ("skus", "stores"))
    stores = frozenset(loc.id for loc in locations if loc.kind == "store")
    patterns = StockPatterns(
        out_everywhere=e.texts("out_everywhere"),
        online_only=e.texts("online_only"),
        store_only=only.texts("skus"),
        store_only_stores=only.texts("stores"),
        fixed=MappingProxyType(
            {
                (str(code), str(loc)): _whole(qty, f"{where}: fixed.{code}.{loc}")
                for code, levels in _mapping(doc.get("fixed") or {}, f"{where}: fixed").items()
                for loc, qty in _mapping(levels, f"{where}: fixed.{code}").items()
            }
        ),
    )
    _known(patterns.out_everywhere + patterns.online_only + patterns.store_only, skus, "SKU", where)
    _known(patterns.store_only_stores, stores, "store", f"{where}: store_only")
    _known([code for code, _ in patterns.fixed], skus, "SKU", f"{where}: fixed")
    _known([loc for _, loc in patterns.fixed], frozenset(loc.id for loc in locations), "location", f"{where}: fixed")
    return patterns


def _customers(doc: Dict[str, Any], where: str) -> Dict[str, Any]:
    e = _Entry(doc, where, ("count", "showcase", "surnames", "given_names", "tiers", "addresses"))
    addresses = []
    for i, raw in enumerate(_list(doc, "addresses", where)):
        if not (isinstance(raw, list) and len(raw) == 3 and all(isinstance(v, str) and v for v in raw)):
            raise DemoDataError(f"{where}: addresses[{i}]: expected [province or city, district, street], got {raw!r}")
        addresses.append((raw[0], raw[1], raw[2]))
    count = e.number("count", minimum=1)
    showcase = []
    for i, raw in enumerate(_list(doc, "showcase", where)):
        c = _Entry(raw, f"{where}: showcase[{i}]", ("id", "name", "phone", "tier", "wechat_openid", "address"))
        spec = CustomerSpec(
            id=c.text("id"),
            name=c.text("name"),
            phone=c.text("phone"),
            tier=c.text("tier"),
            wechat_openid=c.optional_text("wechat_openid"),
            address=c.number("address") if c.raw.get("address") is not None else None,
        )
        if spec.id not in {f"C{n:04d}" for n in range(1, count + 1)}:
            raise DemoDataError(f"{c.where}: id {spec.id!r} is not one of C0001…C{count:04d}")
        if spec.address is not None and spec.address >= len(addresses):
            raise DemoDataError(f"{c.where}: address {spec.address} is not an index into addresses")
        if not spec.phone.isdigit():
            raise DemoDataError(f"{c.where}: phone must be digits, got {spec.phone!r}")
        showcase.append(spec)
    _unique([c.id for c in showcase], f"{where}: showcase customer id")
    return {
        "customer_count": count,
        "showcase_customers": tuple(showcase),
        "surnames": e.text("surnames"),
        "given_names": e.texts("given_names"),
        "tiers": e.texts("tiers"),
        "addresses": tuple(addresses),
    }


def _minute(value: Any, where: str) -> int:
    parts = str(value).split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise DemoDataError(f"{where}: 'time' must be HH:MM, got {value!r}")
    return int(parts[0]) * 60 + int(parts[1])


def _orders(doc: Dict[str, Any], where: str, skus: FrozenSet[str], customers: FrozenSet[str]) -> Dict[str, Any]:
    e = _Entry(doc, where, ("data_day", "first_day", "showcase", "generated", "channel_weights"))
    plans = []
    fields = ("day", "time", "status", "channel", "customer", "skus", "carrier")
    for i, raw in enumerate(_list(doc, "showcase", where)):
        o = _Entry(raw, f"{where}: showcase[{i}]", fields)
        plan = OrderPlan(
            day=o.day("day"),
            minute=_minute(o.text("time"), o.where),
            status=o.one_of("status", ORDER_STATUSES),
            channel=o.one_of("channel", ORDER_CHANNELS),
            customer_id=o.text("customer"),
            skus=o.texts("skus"),
            carrier=o.optional_text("carrier"),
        )
        _known(plan.skus, skus, "SKU", o.where)
        _known([plan.customer_id], customers, "customer", o.where)
        plans.append(plan)
    quota = tuple(
        (str(status), _whole(n, f"{where}: generated.{status}"))
        for status, n in _mapping(doc.get("generated"), f"{where}: generated").items()
    )
    weights = tuple(
        (str(channel), _whole(n, f"{where}: channel_weights.{channel}", minimum=1))
        for channel, n in _mapping(doc.get("channel_weights"), f"{where}: channel_weights").items()
    )
    _known([s for s, _ in quota], frozenset(ORDER_STATUSES), "status", f"{where}: generated")
    _known([c for c, _ in weights], frozenset(ORDER_CHANNELS), "channel", f"{where}: channel_weights")
    return {
        "data_day": e.day("data_day"),
        "first_day": e.day("first_day"),
        "showcase_orders": tuple(plans),
        "order_quota": quota,
        "channel_weights": weights,
    }


def _coupons(doc: Dict[str, Any], where: str, customers: FrozenSet[str]) -> Dict[str, Any]:
    _Entry(doc, where, ("fixed", "templates", "scope_suffix"))
    fixed = []
    fields = (
        "code", "customer", "title_zh", "title_en", "scope", "kind", "value", "min_spend_cents",
        "valid_from", "valid_until", "used_at",
    )  # fmt: skip
    for i, raw in enumerate(doc.get("fixed") or []):
        c = _Entry(raw, f"{where}: fixed[{i}]", fields)
        coupon = Coupon(
            code=c.text("code"),
            customer_id=c.text("customer"),
            title_zh=c.text("title_zh"),
            title_en=c.text("title_en"),
            scope=c.one_of("scope", COUPON_SCOPES),
            kind=c.one_of("kind", COUPON_KINDS),
            value=c.number("value", minimum=1),
            min_spend_cents=c.number("min_spend_cents"),
            valid_from=c.day("valid_from"),
            valid_until=c.day("valid_until"),
            used_at=c.instant("used_at"),
        )
        _known([coupon.customer_id], customers, "customer", c.where)
        if coupon.valid_until < coupon.valid_from:
            raise DemoDataError(f"{c.where}: valid_until is before valid_from")
        fixed.append(coupon)
    _unique([c.code for c in fixed], f"{where}: coupon code")
    templates = []
    for i, raw in enumerate(_list(doc, "templates", where)):
        t = _Entry(raw, f"{where}: templates[{i}]", ("title_zh", "title_en", "kind", "value", "min_spend_cents"))
        templates.append(
            CouponTemplate(
                title_zh=t.text("title_zh"),
                title_en=t.text("title_en"),
                kind=t.one_of("kind", COUPON_KINDS),
                value=t.number("value", minimum=1),
                min_spend_cents=t.number("min_spend_cents"),
            )
        )
    raw_suffix = _mapping(doc.get("scope_suffix"), f"{where}: scope_suffix")
    if set(raw_suffix) != set(COUPON_SCOPES):
        raise DemoDataError(f"{where}: scope_suffix must name exactly {', '.join(COUPON_SCOPES)}")
    suffix = {str(k): _pairs(v, f"{where}: scope_suffix.{k}") for k, v in raw_suffix.items()}
    return {
        "fixed_coupons": tuple(fixed),
        "coupon_templates": tuple(templates),
        "scope_suffix": MappingProxyType(suffix),
    }


def load_demo_data(directory: Path = DEMO_DIR) -> DemoData:
    """Read and check every demo data file in ``directory``."""
    docs = {name: _read(directory, name) for name in FILES}
    locations = _locations(*docs["locations"])
    colors, products = _catalogue(*docs["catalogue"])
    skus = frozenset(sku_codes(products))
    stock = _stock(*docs["stock"], skus, locations)
    customers = _customers(*docs["customers"])
    customer_ids = frozenset(f"C{n:04d}" for n in range(1, customers["customer_count"] + 1))
    return DemoData(
        locations=locations,
        colors=colors,
        products=products,
        stock=stock,
        **customers,
        **_orders(*docs["orders"], skus, customer_ids),
        **_coupons(*docs["coupons"], customer_ids),
    )


@functools.lru_cache(maxsize=4)
def demo_data(directory: Path = DEMO_DIR) -> DemoData:
    """:func:`load_demo_data`, read once per process and directory."""
    return load_demo_data(directory)
