"""Presales qualification (pure): is a quote request a normal checkout or a lead for sales, how urgent, and what
stock covers it.

The thresholds are the shop's published B2B policy (docs/shop-policies.md §14), read from ``config.yml`` next to
this module or from the file named by ``KEFU_PRESALES_CONFIG``. :func:`qualify` and :func:`stock_answer` are
functions of their arguments; :func:`available_units` is the one reader of the store, and lets a store error
propagate to the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Tuple

import yaml

from actions.store.types import StoreBackend

CONFIG_PATH = Path(__file__).resolve().parent / "config.yml"
CONFIG_ENV = "KEFU_PRESALES_CONFIG"

KINDS = ("checkout", "lead")
PRIORITIES = ("hot", "warm")


class PresalesConfigError(ValueError):
    """The presales configuration is missing, not YAML, or holds a value that does not fit; the message names the
    file and the key."""


@dataclass(frozen=True)
class BulkThreshold:
    quantity: int  # units of one item
    value_yuan: int  # per order

    @property
    def value_cents(self) -> int:
        return self.value_yuan * 100


@dataclass(frozen=True)
class HotRule:
    quantity: int
    value_yuan: int
    within_days: int  # needed within this many days of today

    @property
    def value_cents(self) -> int:
        return self.value_yuan * 100


@dataclass(frozen=True)
class SamplePolicy:
    max_quantity: int  # sample units per item
    credit_days: int  # sample cost credited to a bulk order placed within this many days


@dataclass(frozen=True)
class PresalesConfig:
    bulk_threshold: BulkThreshold
    hot: HotRule
    quote_sla_hours: int
    restock_days: int
    sample: SamplePolicy


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------
_KEYS = {
    "": ("bulk_threshold", "hot", "quote_sla_hours", "restock_days", "sample"),
    "bulk_threshold": ("quantity", "value_yuan"),
    "hot": ("quantity", "value_yuan", "within_days"),
    "sample": ("max_quantity", "credit_days"),
}


def _section(raw: Any, name: str, where: str) -> Mapping[str, Any]:
    label = f"{where}: {name}" if name else where
    if not isinstance(raw, dict):
        raise PresalesConfigError(f"{label} must be a mapping")
    allowed = _KEYS[name]
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise PresalesConfigError(f"{label}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})")
    missing = [k for k in allowed if k not in raw]
    if missing:
        raise PresalesConfigError(f"{label}: missing key(s) {', '.join(missing)}")
    return raw


def _whole(raw: Mapping[str, Any], key: str, path: str, where: str, minimum: int = 1) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise PresalesConfigError(f"{where}: {path} must be a whole number, not {value!r}")
    if value < minimum:
        raise PresalesConfigError(f"{where}: {path} must be at least {minimum}, not {value}")
    return value


def parse_config(raw: Any, where: str = "presales config") -> PresalesConfig:
    """A validated :class:`PresalesConfig` from the parsed YAML document; ``where`` names it in errors."""
    top = _section(raw, "", where)
    bulk_raw = _section(top["bulk_threshold"], "bulk_threshold", where)
    hot_raw = _section(top["hot"], "hot", where)
    sample_raw = _section(top["sample"], "sample", where)
    bulk = BulkThreshold(
        quantity=_whole(bulk_raw, "quantity", "bulk_threshold.quantity", where),
        value_yuan=_whole(bulk_raw, "value_yuan", "bulk_threshold.value_yuan", where),
    )
    hot = HotRule(
        quantity=_whole(hot_raw, "quantity", "hot.quantity", where),
        value_yuan=_whole(hot_raw, "value_yuan", "hot.value_yuan", where),
        within_days=_whole(hot_raw, "within_days", "hot.within_days", where, minimum=0),
    )
    if hot.quantity < bulk.quantity:
        raise PresalesConfigError(
            f"{where}: hot.quantity ({hot.quantity}) must not be below bulk_threshold.quantity ({bulk.quantity})"
        )
    if hot.value_yuan < bulk.value_yuan:
        raise PresalesConfigError(
            f"{where}: hot.value_yuan ({hot.value_yuan}) must not be below bulk_threshold.value_yuan ({bulk.value_yuan})"
        )
    sample = SamplePolicy(
        max_quantity=_whole(sample_raw, "max_quantity", "sample.max_quantity", where),
        credit_days=_whole(sample_raw, "credit_days", "sample.credit_days", where, minimum=0),
    )
    return PresalesConfig(
        bulk_threshold=bulk,
        hot=hot,
        quote_sla_hours=_whole(top, "quote_sla_hours", "quote_sla_hours", where),
        restock_days=_whole(top, "restock_days", "restock_days", where, minimum=0),
        sample=sample,
    )


def config_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """``KEFU_PRESALES_CONFIG`` when set (and not empty), else ``actions/presales/config.yml``."""
    env = os.environ if environ is None else environ
    override = (env.get(CONFIG_ENV) or "").strip()
    return Path(override) if override else CONFIG_PATH


def load_config(path: Optional[Path] = None) -> PresalesConfig:
    """Read and validate the configuration file (``path``, else :func:`config_path`)."""
    source = Path(path) if path is not None else config_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise PresalesConfigError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PresalesConfigError(f"{source}: not valid YAML ({exc})") from None
    return parse_config(raw, str(source))


# ---------------------------------------------------------------------------
# Qualification
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Qualification:
    kind: str  # "checkout" (below the B2B threshold: the normal shop) | "lead" (sales quotes)
    priority: Optional[str]  # "hot" | "warm" for a lead; None for a checkout
    value_cents: Optional[int]  # quantity x unit list price, when both are known
    reasons: Tuple[str, ...] = ()  # short codes: "quantity>=50", "value>=10000", "needed_within_14_days", ...


def qualify(
    quantity: Optional[int],
    unit_price_cents: Optional[int],
    needed_by: Optional[date],
    *,
    today: date,
    lead_type: Optional[str] = None,
    config: PresalesConfig,
) -> Qualification:
    """Checkout or lead, and a lead's priority.

    - Unknown quantity: a lead, warm (sales asks); the date does not make it hot.
    - A sample request (``lead_type == "sample"``) is always a lead: hot when the hot rules hold for the quantity
      it names, else warm.
    - Otherwise a lead when ``quantity >= bulk_threshold.quantity`` or ``value >= bulk_threshold.value_yuan``
      (value = quantity x unit price, only when the price is known); below both, a checkout with no priority.
    - A lead is hot when ANY of: ``quantity >= hot.quantity``, ``value >= hot.value_yuan``, or ``needed_by`` is at
      most ``hot.within_days`` days from ``today`` (a date already past counts as urgent too).
    """
    if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1):
        raise ValueError(f"quantity must be a whole number of at least 1, not {quantity!r}")
    if unit_price_cents is not None and (
        isinstance(unit_price_cents, bool) or not isinstance(unit_price_cents, int) or unit_price_cents < 0
    ):
        raise ValueError(f"unit_price_cents must be a whole number of at least 0, not {unit_price_cents!r}")
    sample = lead_type == "sample"
    if quantity is None:
        return Qualification("lead", "warm", None, ("sample", "quantity_unknown") if sample else ("quantity_unknown",))
    value = quantity * unit_price_cents if unit_price_cents is not None else None
    bulk, hot = config.bulk_threshold, config.hot
    reasons = ["sample"] if sample else []
    is_bulk = False
    if quantity >= bulk.quantity:
        reasons.append(f"quantity>={bulk.quantity}")
        is_bulk = True
    if value is not None and value >= bulk.value_cents:
        reasons.append(f"value>={bulk.value_yuan}")
        is_bulk = True
    if not (is_bulk or sample):
        below = [f"quantity<{bulk.quantity}"]
        if value is not None:
            below.append(f"value<{bulk.value_yuan}")
        return Qualification("checkout", None, value, tuple(below))
    urgent = []
    if quantity >= hot.quantity:
        urgent.append(f"quantity>={hot.quantity}")
    if value is not None and value >= hot.value_cents:
        urgent.append(f"value>={hot.value_yuan}")
    if needed_by is not None and (needed_by - today).days <= hot.within_days:
        urgent.append(f"needed_within_{hot.within_days}_days")
    priority = "hot" if urgent else "warm"
    return Qualification("lead", priority, value, tuple(reasons + urgent))


# ---------------------------------------------------------------------------
# Stock
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StockAnswer:
    requested: int
    available: int  # units in stock now (never negative)
    short: int  # units missing: requested - available, at least 0
    restock_days: Optional[int]  # how long the short units take; None when nothing is short

    @property
    def covered(self) -> bool:
        return self.short == 0


def stock_answer(requested: int, available: int, config: PresalesConfig) -> StockAnswer:
    """How much of ``requested`` the stock covers, and how long the rest takes (``config.restock_days``)."""
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ValueError(f"requested must be a whole number of at least 1, not {requested!r}")
    if isinstance(available, bool) or not isinstance(available, int):
        raise ValueError(f"available must be a whole number, not {available!r}")
    available = max(available, 0)
    short = max(requested - available, 0)
    return StockAnswer(requested, available, short, config.restock_days if short else None)


def available_units(store: StoreBackend, sku_codes: Iterable[str]) -> int:
    """Units of these SKUs in stock over all the store's locations (shops and warehouses; negative rows count 0).

    One ``stock_for_sku`` call per distinct code; a store error (``StoreError``) propagates to the caller.
    """
    total = 0
    for code in dict.fromkeys(sku_codes):
        total += sum(max(level.quantity, 0) for level in store.stock_for_sku(code))
    return total
