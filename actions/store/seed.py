"""Deterministic demo data for the store: `python -m actions.store seed`.

The data follows docs/shop-policies.md (优选生活 / Youxuan Life). What the shop has (stores,
catalogue, the showcase customers, orders, coupons and stock rows that docs/orders.md names, and
the pools the rest is drawn from) is in ``actions/store/demo/*.yml``, read by
:mod:`actions.store.demo_data`. This module draws the rest from a seeded ``random.Random`` and
writes the rows, so every run with the same files and code produces the same rows, and tests and
docs can name orders, phones and stock levels.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy.orm import Session

from actions.store.demo_data import DemoData, OrderPlan, ProductSpec, demo_data, sku_code
from actions.store.sql import (
    ChannelIdentityRow,
    CouponRow,
    CustomerRow,
    LocationRow,
    OrderLineRow,
    OrderRow,
    ProductAliasRow,
    ProductRow,
    ProductSpecRow,
    SkuRow,
    SqlStore,
    StatusEventRow,
    StockLevelRow,
)
from kernel import seller

SEED = 20261122
#: The demo shop's local time (UTC+8): order numbers and timelines are by local day.
LOCAL = timezone(timedelta(hours=8))

#: (product, code, colour key, capacity, size, price in yuan) of one SKU.
SkuSpec = Tuple[ProductSpec, str, str, str, str, int]
#: (code, title zh, title en, scope, kind, value, min spend, valid from, valid until, used at) of one coupon.
CouponFields = Tuple[str, str, str, str, str, int, int, date, date, Optional[datetime]]


def build_skus(data: Optional[DemoData] = None) -> List[SkuSpec]:
    """(product, code, color key, capacity, size, price in yuan) for every SKU, in a fixed order."""
    out = []
    for spec in (data or demo_data()).products:
        for ci, cap in enumerate(spec.capacities):
            for si, size in enumerate(spec.sizes):
                for color in spec.colors:
                    price = spec.price + spec.price_step * (ci + si)
                    out.append((spec, sku_code(spec.id, color, cap, size), color, cap, size, price))
    return out


def openid_for(customer_id: str) -> str:
    digest = hashlib.sha1(f"kefu-demo-{customer_id}".encode()).hexdigest()
    return f"oKefu{digest[:23]}"


# ---------------------------------------------------------------------------
# The drawing rules
# ---------------------------------------------------------------------------
def _days_for(status: str, rng: random.Random, data: DemoData) -> date:
    last = data.data_day - timedelta(days=1)
    span = {"shipped": 4, "paid": 1, "pending_payment": 2}.get(status)
    if span is not None:
        return last - timedelta(days=rng.randint(0, span - 1))
    if status == "delivered":
        return data.first_day + timedelta(days=rng.randint(0, (last - data.first_day).days - 4))
    return data.first_day + timedelta(days=rng.randint(0, (last - data.first_day).days - 1))


def _carrier(skus: Sequence[SkuSpec], total_yuan: int) -> str:
    categories = {s[0].category for s in skus}
    if categories & {"electronics", "small_appliances"} or total_yuan >= 299:
        return "SF Express"
    if any(s[0].id in ("P030", "P032") for s in skus):
        return "JD Logistics"
    return "ZTO"


def _tracking(carrier: str, rng: random.Random) -> str:
    if carrier == "SF Express":
        return "SF" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    if carrier == "JD Logistics":
        return "JDVA" + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return "78" + "".join(str(rng.randint(0, 9)) for _ in range(12))


def _local(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=LOCAL).astimezone(timezone.utc)


def _warehouse_label(address: str) -> Tuple[str, str]:
    south = any(p in address for p in ("广东", "香港", "台湾", "四川", "湖北"))
    return ("广州白云仓", "Guangzhou warehouse") if south else ("上海嘉定仓", "Shanghai warehouse")


def _events(
    plan: OrderPlan,
    created: datetime,
    carrier: Optional[str],
    address: str,
    store: Optional[LocationRow],
    rng: random.Random,
) -> Tuple[List[Tuple[str, datetime, str, str]], Optional[date]]:
    """The status timeline of one order and its expected delivery date."""
    events = [("pending_payment", created, "订单已提交，等待付款", "Order placed, awaiting payment")]
    expected: Optional[date] = None
    if plan.channel == "store":
        assert store is not None
        paid = created + timedelta(minutes=2)
        events.append(("paid", paid, f"已在{store.name_zh}付款", f"Paid at {store.name_en}"))
        events.append(("delivered", paid + timedelta(minutes=1), "门店当场提货", "Collected in store"))
        if plan.status == "refund_in_progress":
            at = paid + timedelta(days=rng.randint(1, 5), hours=3)
            events.append(
                (
                    "refund_in_progress",
                    at,
                    f"已在{store.name_zh}办理退货，退款处理中",
                    f"Returned at {store.name_en}; refund in progress",
                )
            )
        return events, None
    if plan.status == "pending_payment":
        return events, None
    if plan.status == "cancelled" and rng.random() < 0.5:
        events.append(
            (
                "cancelled",
                created + timedelta(minutes=30),
                "超时未付款，订单已自动取消",
                "Not paid within 30 minutes; cancelled automatically",
            )
        )
        return events, None
    paid = created + timedelta(minutes=rng.randint(1, 25))
    events.append(("paid", paid, "付款成功", "Payment received"))
    if plan.status == "paid":
        return events, None
    if plan.status == "cancelled":
        at = paid + timedelta(hours=rng.randint(1, 5))
        events.append(
            ("cancelled", at, "顾客在发货前取消，款项已原路退回", "Cancelled by the customer before dispatch; refunded")
        )
        return events, None
    wh_zh, wh_en = _warehouse_label(address)
    local_paid = paid.astimezone(LOCAL)
    ship_day = local_paid.date() if local_paid.hour < 16 else local_paid.date() + timedelta(days=1)
    shipped = _local(ship_day, 18 * 60 + rng.randint(0, 90))
    carrier_zh = {"SF Express": "顺丰速运", "JD Logistics": "京东物流", "ZTO": "中通快递"}.get(carrier or "", carrier)
    events.append(
        (
            "shipped",
            shipped,
            f"已从{wh_zh}发出，{carrier_zh}揽收",
            f"Dispatched from the {wh_en}, picked up by {carrier}",
        )
    )
    near = any(p in address for p in ("上海", "浙江", "江苏", "广东"))
    far = any(p in address for p in ("香港", "台湾"))
    expected = ship_day + timedelta(days=1 if near else (4 if far else 3))
    if plan.status == "shipped":
        return events, expected
    delivered = _local(expected, 10 * 60 + rng.randint(0, 480))
    events.append(("delivered", delivered, "已签收", "Delivered and signed for"))
    if plan.status == "refund_in_progress":
        at = delivered + timedelta(days=rng.randint(1, 6), hours=2)
        events.append(("refund_in_progress", at, "退货已寄回，退款处理中", "Return received; refund in progress"))
    return events, expected


# ---------------------------------------------------------------------------
# The tables, in the order the random draws depend on
# ---------------------------------------------------------------------------
def _add_locations_and_catalogue(s: Session, data: DemoData, skus: Sequence[SkuSpec]) -> Dict[str, LocationRow]:
    locations = {}
    for loc in data.locations:
        row = LocationRow(
            id=loc.id,
            kind=loc.kind,
            city=loc.city,
            name_zh=loc.name_zh,
            name_en=loc.name_en,
            address_zh=loc.address_zh,
            address_en=loc.address_en,
            hours=loc.hours,
        )
        locations[loc.id] = row
        s.add(row)
    for spec in data.products:
        s.add(ProductRow(id=spec.id, name_zh=spec.name_zh, name_en=spec.name_en, category=spec.category, brand=spec.brand))
    s.flush()
    for spec in data.products:
        for alias in spec.aliases:
            s.add(ProductAliasRow(product_id=spec.id, alias=alias))
        for fact in spec.specs:
            s.add(ProductSpecRow(product_id=spec.id, key=fact.key, value_zh=fact.value_zh, value_en=fact.value_en))
    for spec, code, color, cap, size, price in skus:
        zh, en = data.colors[color]
        s.add(
            SkuRow(
                code=code,
                product_id=spec.id,
                price_cents=price * 100,
                color_zh=zh,
                color_en=en,
                size=size,
                capacity=cap,
            )
        )
    s.flush()
    return locations


def _add_stock(s: Session, data: DemoData, skus: Sequence[SkuSpec], rng: random.Random) -> None:
    """Every SKU has a row at every location; the fixed rows of stock.yml are applied last."""
    patterns = data.stock
    warehouses = data.warehouse_ids
    for _spec, code, *_ in skus:
        for loc_id in data.store_ids + warehouses:
            is_wh = loc_id in warehouses
            if code in patterns.out_everywhere:
                qty = 0
            elif code in patterns.online_only:
                qty = rng.randint(20, 80) if is_wh else 0
            elif code in patterns.store_only:
                qty = 0 if is_wh else (rng.randint(1, 3) if loc_id in patterns.store_only_stores else 0)
            elif is_wh:
                qty = rng.choice((0, 15, 40, 60, 120, 200)) if rng.random() < 0.9 else 0
            else:
                qty = 0 if rng.random() < 0.3 else rng.randint(1, 12)
            s.add(StockLevelRow(sku_code=code, location_id=loc_id, quantity=qty))
    s.flush()
    for (code, loc_id), qty in patterns.fixed.items():
        row = s.get(StockLevelRow, (code, loc_id))
        assert row is not None
        row.quantity = qty


def _add_customers(s: Session, data: DemoData, rng: random.Random) -> List[CustomerRow]:
    customers: List[CustomerRow] = []
    showcase = {c.id: c for c in data.showcase_customers}
    used_phones = {c.phone for c in data.showcase_customers}
    for i in range(1, data.customer_count + 1):
        cid = f"C{i:04d}"
        openid: Optional[str]
        if cid in showcase:
            spec = showcase[cid]
            name, phone, tier, openid = spec.name, spec.phone, spec.tier, spec.wechat_openid
        else:
            name = rng.choice(data.surnames) + rng.choice(data.given_names)
            while True:
                phone = rng.choice(("13", "15", "17", "18", "19")) + "".join(str(rng.randint(0, 9)) for _ in range(9))
                if phone not in used_phones:
                    used_phones.add(phone)
                    break
            tier = rng.choice(data.tiers)
            openid = openid_for(cid) if i % 4 == 0 else None
        row = CustomerRow(id=cid, name=name, phone=phone, tier=tier)
        s.add(row)
        customers.append(row)
        if openid:
            s.add(ChannelIdentityRow(customer_id=cid, channel="wechat", external_id=openid))
        if i % 10 == 0:
            s.add(ChannelIdentityRow(customer_id=cid, channel="wecom", external_id=f"wm{cid.lower()}user"))
    s.flush()
    return customers


def _add_orders(
    s: Session,
    data: DemoData,
    skus: Sequence[SkuSpec],
    customers: Sequence[CustomerRow],
    locations: Dict[str, LocationRow],
    rng: random.Random,
) -> Tuple[int, int, Dict[str, int]]:
    """The showcase orders and the generated ones. Returns (orders, order lines, orders per status)."""
    sku_by_code = {sk[1]: sk for sk in skus}
    store_ids = data.store_ids
    addresses = {c.id: rng.choice(data.addresses) for c in customers}
    for spec in data.showcase_customers:
        if spec.address is not None:
            addresses[spec.id] = data.addresses[spec.address]

    plans: List[OrderPlan] = list(data.showcase_orders)
    generated_ids = [c.id for c in customers]
    weights = data.channel_weights
    for status, n in data.order_quota:
        for _ in range(n):
            channel = rng.choices([c for c, _ in weights], [w for _, w in weights])[0]
            if channel == "store" and status not in ("delivered", "refund_in_progress"):
                channel = "online"
            plans.append(
                OrderPlan(
                    _days_for(status, rng, data),
                    rng.randint(8 * 60, 23 * 60 - 1),
                    status,
                    channel,
                    rng.choice(generated_ids),
                )
            )
    plans.sort(key=lambda p: (p.day, p.minute, p.customer_id))
    seq_by_day: Dict[date, int] = {}
    status_count: Dict[str, int] = {}
    line_total = 0
    order_format = seller.current().order_number  # the demo's: KF<yyyymmdd><3-digit sequence of the day>
    for number, plan in enumerate(plans, start=1):
        seq = seq_by_day.get(plan.day, 0) + 1
        seq_by_day[plan.day] = seq
        order_id = order_format.make(seq, plan.day) if order_format.dated else order_format.make(number)
        cust = next(c for c in customers if c.id == plan.customer_id)
        created = _local(plan.day, plan.minute)
        codes = plan.skus or tuple(
            rng.sample(
                [sk[1] for sk in skus if sk[1] not in data.stock.out_everywhere], rng.choice((1, 1, 1, 2, 2, 3))
            )
        )
        lines = [(sku_by_code[c], 1 if plan.skus else rng.choice((1, 1, 1, 2))) for c in codes]
        subtotal = sum(sk[5] * q for sk, q in lines) * 100
        discount = 3000 if subtotal >= 19900 and rng.random() < 0.3 else 0
        paid_goods = subtotal - discount
        free = paid_goods >= 9900 or cust.tier in ("gold", "platinum") or plan.channel == "store"
        shipping = 0 if free else 800
        total = paid_goods + shipping
        store_row: Optional[LocationRow] = None
        if plan.channel == "store":
            store_row = locations[store_ids[(int(cust.id[1:]) + seq) % len(store_ids)]]
            address = store_row.address_zh
        else:
            prov, district, street = addresses[cust.id]
            address = (
                prov + district + street.format(n=rng.randint(10, 999), b=rng.randint(1, 12), r=rng.randint(101, 2208))
            )
        ships = plan.channel != "store" and plan.status in ("shipped", "delivered", "refund_in_progress")
        carrier = (plan.carrier or _carrier([sk for sk, _ in lines], total // 100)) if ships else None
        events, expected = _events(plan, created, carrier, address, store_row, rng)
        refund = None
        if plan.status == "refund_in_progress":
            refund = lines[0][0][5] * lines[0][1] * 100 if len(lines) > 1 else paid_goods
        s.add(
            OrderRow(
                order_id=order_id,
                customer_id=cust.id,
                status=plan.status,
                channel=plan.channel,
                created_at=created,
                contact_name=cust.name,
                contact_phone=cust.phone,
                shipping_address=address,
                subtotal_cents=subtotal,
                shipping_fee_cents=shipping,
                discount_cents=discount,
                total_cents=total,
                carrier=carrier,
                tracking_number=_tracking(carrier, rng) if carrier else None,
                expected_delivery=expected,
                store_id=store_row.id if store_row else None,
                payment_deadline=created + timedelta(minutes=30) if plan.status == "pending_payment" else None,
                refund_cents=refund,
            )
        )
        s.flush()
        for n, (sk, q) in enumerate(lines, start=1):
            spec, code, color, cap, size, price = sk
            zh, en = data.colors[color]
            s.add(
                OrderLineRow(
                    order_id=order_id,
                    line_no=n,
                    sku_code=code,
                    name_zh=spec.name_zh,
                    name_en=spec.name_en,
                    variant_zh=" ".join(v for v in (zh, cap, size) if v),
                    variant_en=" ".join(v for v in (en, cap, size) if v),
                    quantity=q,
                    unit_price_cents=price * 100,
                )
            )
            line_total += 1
        for n, (status, at, zh_note, en_note) in enumerate(events, start=1):
            s.add(StatusEventRow(order_id=order_id, seq=n, status=status, at=at, note_zh=zh_note, note_en=en_note))
        status_count[plan.status] = status_count.get(plan.status, 0) + 1
    return len(plans), line_total, status_count


def _drawn_coupons(customer_id: str, data: DemoData, rng: random.Random) -> List[CouponFields]:
    rows: List[CouponFields] = []
    for k in range(rng.choice((0, 1, 1, 2, 3))):
        template = rng.choice(data.coupon_templates)
        scope = rng.choice(("online", "in_store", "both", "both"))
        start = date(2026, rng.choice((9, 10, 11)), 1)
        until = start + timedelta(days=rng.choice((30, 60, 90)))
        used = datetime(2026, 11, 5, 4, 0, tzinfo=timezone.utc) if rng.random() < 0.15 else None
        suffix_zh, suffix_en = data.scope_suffix[scope]
        rows.append(
            (
                f"CP-{customer_id}-{k + 1:02d}",
                template.title_zh + suffix_zh,
                template.title_en + suffix_en,
                scope,
                template.kind,
                template.value,
                template.min_spend_cents,
                start,
                until,
                used,
            )
        )
    return rows


def _add_coupons(s: Session, data: DemoData, customers: Sequence[CustomerRow], rng: random.Random) -> int:
    """The fixed coupons of coupons.yml; 0–3 drawn ones for every customer without any."""
    fixed: Dict[str, List[CouponFields]] = {}
    for c in data.fixed_coupons:
        fixed.setdefault(c.customer_id, []).append(
            (c.code, c.title_zh, c.title_en, c.scope, c.kind, c.value, c.min_spend_cents, c.valid_from, c.valid_until, c.used_at)
        )
    n_coupons = 0
    for cust in customers:
        rows = fixed.get(cust.id)
        if rows is None:
            rows = _drawn_coupons(cust.id, data, rng)
        for code, zh, en, scope, kind, value, min_spend, start, until, used in rows:
            s.add(
                CouponRow(
                    code=code,
                    customer_id=cust.id,
                    title_zh=zh,
                    title_en=en,
                    scope=scope,
                    kind=kind,
                    value=value,
                    min_spend_cents=min_spend,
                    valid_from=start,
                    valid_until=until,
                    used_at=used,
                )
            )
            n_coupons += 1
    return n_coupons


def seed(store: SqlStore, force: bool = False, data: Optional[DemoData] = None) -> Dict[str, int]:
    """Create the schema and fill it with the demo data. Returns row counts.

    Refuses to touch a database that already holds orders unless ``force``
    (then every table is dropped and recreated). ``data``: the demo data files
    (:func:`actions.store.demo_data.demo_data` by default).
    """
    data = data or demo_data()
    if store.has_data():
        if not force:
            raise RuntimeError("the store database already has data; use --force to replace it")
        store.drop_schema()
    store.create_schema()
    rng = random.Random(SEED)
    counts: Dict[str, int] = {}
    skus = build_skus(data)

    with store.session() as s:
        locations = _add_locations_and_catalogue(s, data, skus)
        _add_stock(s, data, skus, rng)
        customers = _add_customers(s, data, rng)
        counts["customers"] = len(customers)
        counts["orders"], counts["order_lines"], status_count = _add_orders(s, data, skus, customers, locations, rng)
        counts["coupons"] = _add_coupons(s, data, customers, rng)
        counts["skus"] = len(skus)
        counts["products"] = len(data.products)
        counts["locations"] = len(data.locations)
        s.commit()
    counts.update({f"status:{k}": v for k, v in sorted(status_count.items())})
    return counts
