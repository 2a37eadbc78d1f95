"""The seller's store behind one interface (orders, customers, catalogue, locations, stock, coupons); imported by the actions and tests.

- :mod:`actions.store.types`: the dataclasses and the ``StoreBackend`` protocol
- :mod:`actions.store.sql`: SQLAlchemy backend (SQLite, PostgreSQL)
- :mod:`actions.store.http`: REST adapter for a seller's order system (docs/store-api.md)
- :mod:`actions.store.factory`: backend selection from the environment
- :mod:`actions.store.demo_data` (files in ``actions/store/demo/``), :mod:`actions.store.seed`: the demo shop's data
  and the seed that writes it (``python -m actions.store seed``)
- :mod:`actions.store.server`: the reference REST server (``python -m actions.store serve``)
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
    Spec,
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
    "Spec",
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
