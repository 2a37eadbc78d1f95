"""Every text the order, stock and coupon actions can ask for exists in all three languages, and the domain lists our actions."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml

from actions import coupons, orders
from actions.stock import actions as stock_actions
from actions.store.types import ORDER_CHANNELS, ORDER_STATUSES
from kernel.i18n import text

ROOT = Path(__file__).resolve().parents[2]
DYNAMIC = (
    [f"msg_order_status_{s}" for s in ORDER_STATUSES]
    + [f"msg_order_channel_{c}" for c in ORDER_CHANNELS]
    + [f"msg_order_next_{s}" for s in ("paid", "delivered", "cancelled")]
    + [f"msg_carrier_{c}" for c in ("sf", "jd", "zto")]
    + [f"msg_city_{c}" for c in ("shanghai", "beijing", "shenzhen", "guangzhou", "online")]
    + [f"msg_dim_{d}" for d in ("color", "capacity", "size")]
    + [f"msg_coupon_scope_{s}" for s in ("online", "in_store", "both")]
    + [f"msg_coupon_state_{s}" for s in ("usable", "used", "expired", "not_yet")]
)


def test_dynamic_keys_exist_in_every_language() -> None:
    for key in DYNAMIC:
        for lang in ("zh-Hans", "zh-Hant", "en"):
            assert text(key, lang)


def test_domain_declares_every_action_we_register() -> None:
    domain = yaml.safe_load((ROOT / "bot/domain/orders.yml").read_text(encoding="utf-8"))
    names = set()
    for module in (orders, stock_actions, coupons):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and hasattr(cls, "name") and hasattr(cls, "run"):
                names.add(cls().name())
    assert names == set(domain["actions"])
