"""SQL store backend: SQLAlchemy 2.x models and queries, the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

from actions.store.types import (
    SPEC_VALUE_EN_MAX,
    SPEC_VALUE_ZH_MAX,
    Catalogue,
    ChannelIdentity,
    Coupon,
    Customer,
    Location,
    Order,
    OrderLine,
    Product,
    RestockRequest,
    RestockSubscription,
    Sku,
    Spec,
    StatusEvent,
    StockLevel,
    StoreInputError,
    StoreUnavailable,
)
from actions.store.validation import (
    check_channel_identity,
    check_customer_id,
    check_limit,
    check_order_id,
    check_page,
    check_sender_id,
    check_sku_code,
)

log = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    phone: Mapped[str] = mapped_column(sa.String(20), index=True)
    tier: Mapped[str] = mapped_column(sa.String(16))
    identities: Mapped[List[ChannelIdentityRow]] = relationship(
        back_populates="customer", order_by="ChannelIdentityRow.id"
    )


class ChannelIdentityRow(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (sa.UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(16))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    customer: Mapped[CustomerRow] = relationship(back_populates="identities")


class LocationRow(Base):
    __tablename__ = "locations"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    city: Mapped[str] = mapped_column(sa.String(32), index=True)
    name_zh: Mapped[str] = mapped_column(sa.String(64))
    name_en: Mapped[str] = mapped_column(sa.String(96))
    address_zh: Mapped[str] = mapped_column(sa.String(160))
    address_en: Mapped[str] = mapped_column(sa.String(200))
    hours: Mapped[str] = mapped_column(sa.String(32), default="")


ORDER_STATUSES = frozenset({"pending_payment", "paid", "shipped", "delivered", "refund_in_progress", "cancelled"})


class OrderRow(Base):
    __tablename__ = "orders"
    order_id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(24), index=True)
    channel: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(64))
    contact_phone: Mapped[str] = mapped_column(sa.String(20))
    shipping_address: Mapped[str] = mapped_column(sa.String(200))
    subtotal_cents: Mapped[int] = mapped_column(sa.Integer)
    shipping_fee_cents: Mapped[int] = mapped_column(sa.Integer)
    discount_cents: Mapped[int] = mapped_column(sa.Integer)
    total_cents: Mapped[int] = mapped_column(sa.Integer)
    carrier: Mapped[Optional[str]] = mapped_column(sa.String(32))
    tracking_number: Mapped[Optional[str]] = mapped_column(sa.String(32))
    expected_delivery: Mapped[Optional[date]] = mapped_column(sa.Date)
    store_id: Mapped[Optional[str]] = mapped_column(sa.ForeignKey("locations.id"))
    payment_deadline: Mapped[Optional[datetime]] = mapped_column(sa.DateTime(timezone=True))
    refund_cents: Mapped[Optional[int]] = mapped_column(sa.Integer)
    lines: Mapped[List[OrderLineRow]] = relationship(order_by="OrderLineRow.line_no")
    events: Mapped[List[StatusEventRow]] = relationship(order_by="StatusEventRow.seq")


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (sa.UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.order_id"), index=True)
    line_no: Mapped[int] = mapped_column(sa.Integer)
    sku_code: Mapped[str] = mapped_column(sa.ForeignKey("skus.code"))
    name_zh: Mapped[str] = mapped_column(sa.String(96))
    name_en: Mapped[str] = mapped_column(sa.String(128))
    variant_zh: Mapped[str] = mapped_column(sa.String(64))
    variant_en: Mapped[str] = mapped_column(sa.String(64))
    quantity: Mapped[int] = mapped_column(sa.Integer)
    unit_price_cents: Mapped[int] = mapped_column(sa.Integer)


class StatusEventRow(Base):
    __tablename__ = "order_events"
    __table_args__ = (sa.UniqueConstraint("order_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(sa.ForeignKey("orders.order_id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(24))
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    note_zh: Mapped[str] = mapped_column(sa.String(160), default="")
    note_en: Mapped[str] = mapped_column(sa.String(200), default="")


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(96))
    name_en: Mapped[str] = mapped_column(sa.String(128))
    category: Mapped[str] = mapped_column(sa.String(32))
    brand: Mapped[str] = mapped_column(sa.String(48))
    aliases: Mapped[List[ProductAliasRow]] = relationship(order_by="ProductAliasRow.id")


class ProductAliasRow(Base):
    __tablename__ = "product_aliases"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"), index=True)
    alias: Mapped[str] = mapped_column(sa.String(96))


class ProductSpecRow(Base):
    """One spec of a product (``key`` from SPEC_KEYS), in the order the catalogue lists them. A database made before
    specs existed has no such table: its products are read without specs."""

    __tablename__ = "product_specs"
    __table_args__ = (sa.UniqueConstraint("product_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(32))
    value_zh: Mapped[str] = mapped_column(sa.String(SPEC_VALUE_ZH_MAX))
    value_en: Mapped[str] = mapped_column(sa.String(SPEC_VALUE_EN_MAX))


class SkuRow(Base):
    __tablename__ = "skus"
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    product_id: Mapped[str] = mapped_column(sa.ForeignKey("products.id"), index=True)
    price_cents: Mapped[int] = mapped_column(sa.Integer)
    color_zh: Mapped[str] = mapped_column(sa.String(16), default="")
    color_en: Mapped[str] = mapped_column(sa.String(24), default="")
    size: Mapped[str] = mapped_column(sa.String(8), default="")
    capacity: Mapped[str] = mapped_column(sa.String(16), default="")


class StockLevelRow(Base):
    __tablename__ = "stock_levels"
    sku_code: Mapped[str] = mapped_column(sa.ForeignKey("skus.code"), primary_key=True)
    location_id: Mapped[str] = mapped_column(sa.ForeignKey("locations.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(sa.Integer)


class CouponRow(Base):
    __tablename__ = "coupons"
    code: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    customer_id: Mapped[str] = mapped_column(sa.ForeignKey("customers.id"), index=True)
    title_zh: Mapped[str] = mapped_column(sa.String(64))
    title_en: Mapped[str] = mapped_column(sa.String(96))
    scope: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[int] = mapped_column(sa.Integer)
    min_spend_cents: Mapped[int] = mapped_column(sa.Integer)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date] = mapped_column(sa.Date)
    used_at: Mapped[Optional[datetime]] = mapped_column(sa.DateTime(timezone=True))


class RestockSubscriptionRow(Base):
    __tablename__ = "restock_subscriptions"
    __table_args__ = (sa.UniqueConstraint("sku_code", "channel", "sender_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sku_code: Mapped[str] = mapped_column(sa.ForeignKey("skus.code"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(32))
    sender_id: Mapped[str] = mapped_column(sa.String(256))
    language: Mapped[str] = mapped_column(sa.String(8))
    customer_id: Mapped[Optional[str]] = mapped_column(sa.ForeignKey("customers.id"))
    city: Mapped[Optional[str]] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


def _utc(value: Optional[datetime]) -> Optional[datetime]:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _order(row: OrderRow) -> Order:
    return Order(
        order_id=row.order_id,
        customer_id=row.customer_id,
        status=row.status,
        channel=row.channel,
        created_at=_utc(row.created_at),  # type: ignore[arg-type]
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        shipping_address=row.shipping_address,
        subtotal_cents=row.subtotal_cents,
        shipping_fee_cents=row.shipping_fee_cents,
        discount_cents=row.discount_cents,
        total_cents=row.total_cents,
        lines=tuple(
            OrderLine(
                sku_code=ln.sku_code,
                name_zh=ln.name_zh,
                name_en=ln.name_en,
                variant_zh=ln.variant_zh,
                variant_en=ln.variant_en,
                quantity=ln.quantity,
                unit_price_cents=ln.unit_price_cents,
            )
            for ln in row.lines
        ),
        events=tuple(
            StatusEvent(status=ev.status, at=_utc(ev.at), note_zh=ev.note_zh, note_en=ev.note_en)  # type: ignore[arg-type]
            for ev in row.events
        ),
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        expected_delivery=row.expected_delivery,
        store_id=row.store_id,
        payment_deadline=_utc(row.payment_deadline),
        refund_cents=row.refund_cents,
    )


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        name=row.name,
        phone=row.phone,
        tier=row.tier,
        identities=tuple(ChannelIdentity(i.channel, i.external_id) for i in row.identities),
    )


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets a busy timeout so concurrent readers wait."""
    if url.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": 5, "check_same_thread": False})
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class SqlStore:
    """:class:`~actions.store.types.StoreBackend` on a SQL database."""

    def __init__(self, url: str, engine: Optional[sa.Engine] = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_checked = False

    # -- schema -------------------------------------------------------------
    def create_schema(self) -> None:
        """Bring the database to this release's schema (the ``store`` store of :mod:`kernel.migrations`): at head
        one query; behind, an upgrade under the migration lock, or a refusal when ``KEFU_MIGRATE_ON_START`` is off."""
        from kernel.migrations import ensure

        ensure(self.engine, "store")
        self._schema_checked = True

    def _check_schema(self) -> None:
        """On first use: the schema is this release's (a database the previous release made is migrated; an empty
        one is refused)."""
        if self._schema_checked:
            return
        from kernel.migrations import MigrationError, ensure

        try:  # an empty database stays unavailable (never mistaken for a shop without orders): seed it
            ensure(self.engine, "store", create=False)
            self._schema_checked = True
        except MigrationError as exc:
            log.error("store.schema %s", exc)
            raise StoreUnavailable(f"SQL store schema: {exc}") from exc

    def drop_schema(self) -> None:
        """Drop every table and the version table: the next :meth:`create_schema` starts from empty."""
        from kernel.migrations import forget

        Base.metadata.drop_all(self.engine)
        forget(self.engine, "store")
        self._schema_checked = False

    def has_data(self) -> bool:
        try:
            with self._sessions() as s:
                return bool(s.scalar(sa.select(sa.func.count()).select_from(OrderRow)))
        except sa_exc.SQLAlchemyError:
            return False

    def session(self) -> Session:
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()

    # -- reads --------------------------------------------------------------
    def _run(self, what: str, fn):  # type: ignore[no-untyped-def]
        try:
            self._check_schema()
            with self._sessions() as s:
                return fn(s)
        except sa_exc.SQLAlchemyError as exc:
            raise StoreUnavailable(f"SQL store failed during {what}: {type(exc).__name__}") from exc

    def get_order(self, order_id: str) -> Optional[Order]:
        check_order_id(order_id)

        def q(s: Session) -> Optional[Order]:
            row = s.scalar(
                sa.select(OrderRow)
                .where(OrderRow.order_id == order_id)
                .options(selectinload(OrderRow.lines), selectinload(OrderRow.events))
            )
            return _order(row) if row else None

        return self._run("get_order", q)

    def recent_orders(self, customer_id: str, limit: int = 5) -> Sequence[Order]:
        check_customer_id(customer_id)
        check_limit(limit)

        def q(s: Session) -> List[Order]:
            rows = s.scalars(
                sa.select(OrderRow)
                .where(OrderRow.customer_id == customer_id)
                .order_by(OrderRow.created_at.desc(), OrderRow.order_id.desc())
                .limit(limit)
                .options(selectinload(OrderRow.lines), selectinload(OrderRow.events))
            ).all()
            return [_order(r) for r in rows]

        return self._run("recent_orders", q)

    def get_customer(self, customer_id: str) -> Optional[Customer]:
        check_customer_id(customer_id)

        def q(s: Session) -> Optional[Customer]:
            row = s.scalar(
                sa.select(CustomerRow)
                .where(CustomerRow.id == customer_id)
                .options(selectinload(CustomerRow.identities))
            )
            return _customer(row) if row else None

        return self._run("get_customer", q)

    def find_customer_by_channel(self, channel: str, external_id: str) -> Optional[Customer]:
        check_channel_identity(channel, external_id)

        def q(s: Session) -> Optional[Customer]:
            row = s.scalar(
                sa.select(CustomerRow)
                .join(ChannelIdentityRow)
                .where(ChannelIdentityRow.channel == channel, ChannelIdentityRow.external_id == external_id)
                .options(selectinload(CustomerRow.identities))
            )
            return _customer(row) if row else None

        return self._run("find_customer_by_channel", q)

    def catalogue(self) -> Catalogue:
        def q(s: Session) -> Catalogue:
            products = s.scalars(
                sa.select(ProductRow).order_by(ProductRow.id).options(selectinload(ProductRow.aliases))
            ).all()
            skus = s.scalars(sa.select(SkuRow).order_by(SkuRow.code)).all()
            specs = _specs(s)
            return Catalogue(
                products=tuple(
                    Product(p.id, p.name_zh, p.name_en, p.category, p.brand, tuple(a.alias for a in p.aliases),
                            specs.get(p.id, ()))
                    for p in products
                ),
                skus=tuple(
                    Sku(k.code, k.product_id, k.price_cents, k.color_zh, k.color_en, k.size, k.capacity) for k in skus
                ),
            )

        return self._run("catalogue", q)

    def locations(self) -> Sequence[Location]:
        def q(s: Session) -> List[Location]:
            rows = s.scalars(sa.select(LocationRow).order_by(LocationRow.id)).all()
            return [
                Location(r.id, r.kind, r.city, r.name_zh, r.name_en, r.address_zh, r.address_en, r.hours) for r in rows
            ]

        return self._run("locations", q)

    def stock_for_sku(self, sku_code: str) -> Sequence[StockLevel]:
        check_sku_code(sku_code)

        def q(s: Session) -> List[StockLevel]:
            rows = s.scalars(
                sa.select(StockLevelRow).where(StockLevelRow.sku_code == sku_code).order_by(StockLevelRow.location_id)
            ).all()
            return [StockLevel(r.sku_code, r.location_id, r.quantity) for r in rows]

        return self._run("stock_for_sku", q)

    def coupons_for_customer(self, customer_id: str) -> Sequence[Coupon]:
        check_customer_id(customer_id)

        def q(s: Session) -> List[Coupon]:
            rows = s.scalars(
                sa.select(CouponRow).where(CouponRow.customer_id == customer_id).order_by(CouponRow.code)
            ).all()
            return [
                Coupon(
                    code=r.code,
                    customer_id=r.customer_id,
                    title_zh=r.title_zh,
                    title_en=r.title_en,
                    scope=r.scope,
                    kind=r.kind,
                    value=r.value,
                    min_spend_cents=r.min_spend_cents,
                    valid_from=r.valid_from,
                    valid_until=r.valid_until,
                    used_at=_utc(r.used_at),
                )
                for r in rows
            ]

        return self._run("coupons_for_customer", q)

    # -- writes -------------------------------------------------------------
    def add_restock_subscription(self, request: RestockRequest) -> RestockSubscription:
        check_sku_code(request.sku_code)
        check_sender_id(request.sender_id)
        if request.customer_id is not None:
            check_customer_id(request.customer_id)
        if len(request.channel) > 32 or len(request.language) > 8 or len(request.city or "") > 32:
            raise StoreInputError("restock request field too long")

        def q(s: Session) -> RestockSubscription:
            existing = s.scalar(
                sa.select(RestockSubscriptionRow).where(
                    RestockSubscriptionRow.sku_code == request.sku_code,
                    RestockSubscriptionRow.channel == request.channel,
                    RestockSubscriptionRow.sender_id == request.sender_id,
                )
            )
            if existing is not None:
                return RestockSubscription(existing.id, request, created=False)
            if s.get(SkuRow, request.sku_code) is None:
                raise StoreInputError("unknown SKU")
            row = RestockSubscriptionRow(
                sku_code=request.sku_code,
                channel=request.channel,
                sender_id=request.sender_id,
                language=request.language,
                customer_id=request.customer_id,
                city=request.city,
                created_at=datetime.now(timezone.utc),
            )
            s.add(row)
            try:
                s.commit()
            except sa_exc.IntegrityError:
                # A concurrent identical request won the race: report that one.
                s.rollback()
                again = s.scalar(
                    sa.select(RestockSubscriptionRow).where(
                        RestockSubscriptionRow.sku_code == request.sku_code,
                        RestockSubscriptionRow.channel == request.channel,
                        RestockSubscriptionRow.sender_id == request.sender_id,
                    )
                )
                if again is None:
                    raise
                return RestockSubscription(again.id, request, created=False)
            return RestockSubscription(row.id, request, created=True)

        return self._run("add_restock_subscription", q)

    def set_stock(self, sku_code: str, location_id: str, quantity: int) -> None:
        """Set one SKU's quantity at one location (the seller's inventory system; ``python -m actions.store
        set-stock``). Not part of :class:`StoreBackend`: the bot never changes stock."""
        check_sku_code(sku_code)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= 10_000_000:
            raise StoreInputError("quantity must be between 0 and 10,000,000")

        def q(s: Session) -> None:
            if s.get(SkuRow, sku_code) is None:
                raise StoreInputError("unknown SKU")
            if s.get(LocationRow, location_id) is None:
                raise StoreInputError("unknown location")
            row = s.get(StockLevelRow, (sku_code, location_id))
            if row is None:
                s.add(StockLevelRow(sku_code=sku_code, location_id=location_id, quantity=quantity))
            else:
                row.quantity = quantity
            s.commit()

        self._run("set_stock", q)

    def set_order_status(self, order_id: str, status: str, note_zh: str = "", note_en: str = "") -> None:
        """Move an order to ``status`` and add it to the order's events (the seller's order system; ``python -m
        actions.store set-order-status``). Not part of :class:`StoreBackend`: the bot never changes orders."""
        check_order_id(order_id)
        if status not in ORDER_STATUSES:
            raise StoreInputError(f"status must be one of {', '.join(sorted(ORDER_STATUSES))}")

        def q(s: Session) -> None:
            row = s.get(OrderRow, order_id)
            if row is None:
                raise StoreInputError("unknown order")
            seq = s.scalar(sa.select(sa.func.max(StatusEventRow.seq)).where(StatusEventRow.order_id == order_id)) or 0
            row.status = status
            s.add(StatusEventRow(order_id=order_id, seq=seq + 1, status=status, at=datetime.now(timezone.utc),
                                 note_zh=note_zh[:160], note_en=note_en[:200]))
            s.commit()

        self._run("set_order_status", q)

    def restock_subscriptions(self, sku_code: str) -> List[RestockSubscription]:
        check_sku_code(sku_code)
        where = RestockSubscriptionRow.sku_code == sku_code
        return self._run("restock_subscriptions", lambda s: _subscriptions(s, where, None))

    def list_restock_subscriptions(self, after_id: int = 0, limit: int = 500) -> List[RestockSubscription]:
        check_page(after_id, limit)
        where = RestockSubscriptionRow.id > after_id
        return self._run("list_restock_subscriptions", lambda s: _subscriptions(s, where, limit))

    def health(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except sa_exc.SQLAlchemyError:
            return False


def _specs(s: Session) -> Dict[str, Tuple[Spec, ...]]:
    """Every product's specs, by product id; none when the database predates the ``product_specs`` table."""
    if not sa.inspect(s.connection()).has_table(ProductSpecRow.__tablename__):
        return {}
    out: Dict[str, List[Spec]] = {}
    for row in s.scalars(sa.select(ProductSpecRow).order_by(ProductSpecRow.product_id, ProductSpecRow.id)):
        out.setdefault(row.product_id, []).append(Spec(row.key, row.value_zh, row.value_en))
    return {product_id: tuple(specs) for product_id, specs in out.items()}


def _subscriptions(s: Session, where: Any, limit: Optional[int]) -> List[RestockSubscription]:
    query = sa.select(RestockSubscriptionRow).where(where).order_by(RestockSubscriptionRow.id)
    rows = s.scalars(query if limit is None else query.limit(limit)).all()
    return [
        RestockSubscription(
            r.id,
            RestockRequest(r.sku_code, r.channel, r.sender_id, r.language, r.customer_id, r.city),
            created=False,
            created_at=_utc(r.created_at),
        )
        for r in rows
    ]
