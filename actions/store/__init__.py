"""Store backends: orders, customers, catalogue, stock and coupons behind one interface.

- :mod:`actions.store.types`: the dataclasses and the ``StoreBackend`` protocol
- :mod:`actions.store.sql`: SQLAlchemy backend (SQLite, PostgreSQL)
- :mod:`actions.store.http`: REST adapter for a seller's order system (docs/store-api.md)
- :mod:`actions.store.factory`: backend selection from the environment
- :mod:`actions.store.seed`, :mod:`actions.store.server`: demo data and the reference REST server
"""

from actions.store.factory import create_store, get_store, set_store
from actions.store.types import (
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
    StatusEvent,
    StockLevel,
    StoreBackend,
    StoreError,
    StoreInputError,
    StoreUnavailable,
)

__all__ = [
    "Catalogue",
    "ChannelIdentity",
    "Coupon",
    "Customer",
    "Location",
    "Order",
    "OrderLine",
    "Product",
    "RestockRequest",
    "RestockSubscription",
    "Sku",
    "StatusEvent",
    "StockLevel",
    "StoreBackend",
    "StoreError",
    "StoreInputError",
    "StoreUnavailable",
    "create_store",
    "get_store",
    "set_store",
]
