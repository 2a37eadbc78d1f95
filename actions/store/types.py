"""The store interface: the data that crosses the boundary, and the backend protocol.

Every backend (SQL, HTTP) returns these frozen dataclasses, so the actions never
see an ORM row or a raw JSON document.  Money is in integers of the minor unit of the shop's
currency (fen of CNY in the demo; kernel/seller.py).
Times are timezone-aware UTC ``datetime``; dates are ``date``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional, Protocol, Sequence, Tuple, runtime_checkable

from kernel.product_questions import SPEC_KEYS as QUESTION_SPEC_KEYS

ORDER_STATUSES: Tuple[str, ...] = (
    "pending_payment",
    "paid",
    "shipped",
    "delivered",
    "refund_in_progress",
    "cancelled",
)
ORDER_CHANNELS: Tuple[str, ...] = ("online", "store", "wechat_mini_program")
LOCATION_KINDS: Tuple[str, ...] = ("store", "warehouse")
COUPON_SCOPES: Tuple[str, ...] = ("online", "in_store", "both")
COUPON_KINDS: Tuple[str, ...] = ("amount_off", "percent_off")
#: the keys a product's specs use (kernel/product_questions.py maps a question to them; docs/orders.md#product-specs)
SPEC_KEYS: Tuple[str, ...] = QUESTION_SPEC_KEYS
#: the longest spec value the stores keep, in characters (the SQL columns' sizes)
SPEC_VALUE_ZH_MAX = 200
SPEC_VALUE_EN_MAX = 400


class StoreError(Exception):
    """Base class of every store failure the actions handle."""


class StoreUnavailable(StoreError):
    """The backend cannot answer now: down, slow, broken or returning garbage."""


class StoreInputError(StoreError, ValueError):
    """The caller passed a value the store refuses (bad id, oversized text)."""


@dataclass(frozen=True)
class ChannelIdentity:
    channel: str  # "wechat" or "wecom"
    external_id: str  # the openid / userid on that channel


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    phone: str
    tier: str  # "regular" | "silver" | "gold"
    identities: Tuple[ChannelIdentity, ...] = ()


@dataclass(frozen=True)
class OrderLine:
    sku_code: str
    name_zh: str
    name_en: str
    variant_zh: str
    variant_en: str
    quantity: int
    unit_price_cents: int

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class StatusEvent:
    status: str
    at: datetime
    note_zh: str = ""
    note_en: str = ""


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    status: str
    channel: str
    created_at: datetime
    contact_name: str
    contact_phone: str
    shipping_address: str
    subtotal_cents: int
    shipping_fee_cents: int
    discount_cents: int
    total_cents: int
    lines: Tuple[OrderLine, ...] = ()
    events: Tuple[StatusEvent, ...] = ()
    carrier: Optional[str] = None  # "SF Express" | "JD Logistics" | "ZTO"
    tracking_number: Optional[str] = None
    expected_delivery: Optional[date] = None
    store_id: Optional[str] = None  # the store of an in-store purchase or pickup
    payment_deadline: Optional[datetime] = None
    refund_cents: Optional[int] = None


@dataclass(frozen=True)
class Spec:
    """One fact about a product: ``key`` from :data:`SPEC_KEYS`, the value in Simplified Chinese and in English (the
    Traditional text is derived from the Simplified one when it is shown)."""

    key: str
    value_zh: str
    value_en: str

    def value(self, language: Optional[str]) -> str:
        """The value in ``language``'s text: English, else the Chinese text (the caller renders its script)."""
        return (self.value_en or self.value_zh) if language == "en" else (self.value_zh or self.value_en)


@dataclass(frozen=True)
class Product:
    id: str
    name_zh: str
    name_en: str
    category: str
    brand: str
    aliases: Tuple[str, ...] = ()
    specs: Tuple[Spec, ...] = ()  # optional: a catalogue without specs is still a catalogue

    def spec(self, key: str) -> Optional[Spec]:
        """The product's spec ``key``, or None when the catalogue does not hold it."""
        return next((s for s in self.specs if s.key == key), None)


@dataclass(frozen=True)
class Sku:
    code: str
    product_id: str
    price_cents: int
    color_zh: str = ""
    color_en: str = ""
    size: str = ""
    capacity: str = ""

    def variant_label(self, language: str) -> str:
        color = self.color_en if language == "en" else self.color_zh
        return " ".join(part for part in (color, self.capacity, self.size) if part)


@dataclass(frozen=True)
class Location:
    id: str
    kind: str  # "store" | "warehouse"
    city: str  # a lower-case city key, e.g. "shanghai"; the cities with stores are those of kind "store"
    name_zh: str
    name_en: str
    address_zh: str
    address_en: str
    hours: str = ""


@dataclass(frozen=True)
class StockLevel:
    sku_code: str
    location_id: str
    quantity: int


@dataclass(frozen=True)
class Coupon:
    code: str
    customer_id: str
    title_zh: str
    title_en: str
    scope: str  # "online" | "in_store" | "both"
    kind: str  # "amount_off" | "percent_off"
    value: int  # cents for amount_off, percent for percent_off
    min_spend_cents: int
    valid_from: date
    valid_until: date
    used_at: Optional[datetime] = None


@dataclass(frozen=True)
class Catalogue:
    products: Tuple[Product, ...]
    skus: Tuple[Sku, ...]


@dataclass(frozen=True)
class RestockRequest:
    sku_code: str
    channel: str
    sender_id: str
    language: str
    customer_id: Optional[str] = None
    city: Optional[str] = None


@dataclass(frozen=True)
class RestockSubscription:
    id: int
    request: RestockRequest
    created: bool = field(default=True)  # False when the same request already existed
    created_at: Optional[datetime] = None  # when the customer asked (listings carry it)


@runtime_checkable
class StoreBackend(Protocol):
    """What the actions need from the seller's systems.

    Lookups return ``None`` (or an empty sequence) for "not found"; every other
    failure raises :class:`StoreUnavailable`.  Implementations validate ids and
    raise :class:`StoreInputError` before touching the backend.
    """

    def get_order(self, order_id: str) -> Optional[Order]: ...

    def recent_orders(self, customer_id: str, limit: int = 5) -> Sequence[Order]: ...

    def get_customer(self, customer_id: str) -> Optional[Customer]: ...

    def find_customer_by_channel(self, channel: str, external_id: str) -> Optional[Customer]: ...

    def catalogue(self) -> Catalogue: ...

    def locations(self) -> Sequence[Location]: ...

    def stock_for_sku(self, sku_code: str) -> Sequence[StockLevel]: ...

    def coupons_for_customer(self, customer_id: str) -> Sequence[Coupon]: ...

    def add_restock_subscription(self, request: RestockRequest) -> RestockSubscription: ...

    def list_restock_subscriptions(self, after_id: int = 0, limit: int = 500) -> Sequence[RestockSubscription]:
        """Stored restock requests with ``id > after_id``, by id, at most ``limit`` (1..1000): the notifier
        pages through them; whether one was already notified is the notifier's own record."""
        ...

    def health(self) -> bool: ...
