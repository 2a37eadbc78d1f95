"""Stock check: fuzzy product matching, one answer for online and store stock, restock notifications.

Online stock and store stock come from the same ``stock_levels`` data in one
call, so the bot can never say "in stock online" from one source and "none in
the store" from another.  Online stock is what the warehouses hold.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import identity_for_tracker
from actions.orders import log_store_failure, money, product_name, utter_store_down
from actions.store import get_store
from actions.store.types import (
    Catalogue,
    Location,
    Product,
    RestockRequest,
    Sku,
    StockLevel,
    StoreBackend,
    StoreError,
    StoreInputError,
)
from bot.i18n import buttons, text, to_script
from bot.language import normalise

log = logging.getLogger(__name__)

MAX_QUERY = 200
LOW_STOCK = 3
CATALOGUE_TTL = 300.0

# ---------------------------------------------------------------------------
# Vocabulary (normalised: Simplified, lower case, half-width)
# ---------------------------------------------------------------------------
COLOR_WORDS: Dict[str, Tuple[str, ...]] = {
    "black": ("黑色", "黑", "black", "暗夜黑"),
    "white": ("白色", "白", "white", "纯白"),
    "blue": ("蓝色", "蓝", "blue", "navy"),
    "pink": ("粉色", "粉红", "粉", "pink"),
    "grey": ("灰色", "灰", "grey", "gray"),
    "green": ("绿色", "绿", "green"),
    "red": ("红色", "红", "red"),
    "beige": ("米色", "米白", "卡其", "beige", "cream"),
    "silver": ("银色", "银", "silver"),
    "clear": ("透明", "clear", "transparent"),
}
CITY_WORDS: Dict[str, Tuple[str, ...]] = {
    "shanghai": ("上海", "沪", "魔都", "shanghai", "sh"),
    "beijing": ("北京", "帝都", "beijing", "peking", "bj"),
    "shenzhen": ("深圳", "shenzhen", "sz"),
    "guangzhou": ("广州", "guangzhou", "gz"),
    "online": (
        "网上",
        "线上",
        "网店",
        "官网",
        "快递",
        "都行",
        "随便",
        "不限",
        "哪里都行",
        "全国",
        "小程序",
        "online",
        "anywhere",
        "any",
        "website",
        "delivery",
        "all",
    ),
}
OTHER_CITIES = (
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "天津",
    "重庆",
    "西安",
    "长沙",
    "厦门",
    "青岛",
    "香港",
    "台北",
    "hangzhou",
    "nanjing",
    "chengdu",
    "wuhan",
    "tianjin",
    "chongqing",
    "hong kong",
    "taipei",
)
STORE_CITIES = ("shanghai", "beijing", "shenzhen")
FILLER_ZH = (
    "有没有",
    "有冇",
    "还有",
    "有货",
    "有现货",
    "现货",
    "库存",
    "请问",
    "查一下",
    "查查",
    "帮我",
    "看看",
    "那款",
    "这款",
    "那个",
    "这个",
    "一下",
    "的",
    "吗",
    "呢",
    "嘛",
    "啊",
    "呀",
    "款",
    "门店",
    "店里",
    "附近",
    "能买到",
    "买",
    "?",
    "!",
    ",",
    "，",
    "。",
    "？",
    "！",
)
FILLER_EN = re.compile(
    r"\b(?:do|does|you|we|have|has|is|are|there|any|in|stock|available|the|a|an|of|at|check|please|store|"
    r"stores|shop|near|me|my|i|want|need|looking|for|still|got|it|this|that|one|left)\b"
)

_CAPACITY = re.compile(r"(\d+(?:\.\d+)?)\s*(mah|毫安|ml|毫升|l|升|gb|g)(?![a-z])")
_DIMENSION = re.compile(r"(\d+(?:\.\d+)?)\s*(mm|cm|m|米)(?![a-z])")
_LETTER_SIZE = re.compile(r"(?<![a-z'’\d])(xxl|xl|l|m|s)(?![a-z])")
_SIZE_WORDS = {"加大": "XL", "大号": "L", "大码": "L", "中号": "M", "中码": "M", "小号": "S", "小码": "S"}
_SKU_CODE = re.compile(r"\bp\d{3}(?:-[a-z0-9]+){0,3}\b")
_PRODUCT_ID = re.compile(r"^p\d{3}$")
_PRODUCT_CODE_IN_TEXT = re.compile(r"(?<![a-z0-9-])(p\d{3})(?![a-z0-9-])")


@dataclass(frozen=True)
class VariantHints:
    colors: FrozenSet[str] = frozenset()
    capacity: Optional[float] = None  # ml, or mAh
    capacity_unit: Optional[str] = None  # "ml" | "mah"
    size: Optional[str] = None  # "M", "1.8m", "45mm"
    sku_code: Optional[str] = None

    def is_empty(self) -> bool:
        return not (self.colors or self.capacity or self.size or self.sku_code)


def _capacity_value(raw: str) -> Tuple[Optional[float], Optional[str]]:
    m = _CAPACITY.search(normalise(raw))
    if not m:
        return None, None
    number, unit = float(m.group(1)), m.group(2)
    if unit in ("mah", "毫安"):
        return number, "mah"
    if unit in ("l", "升"):
        return number * 1000, "ml"
    if unit in ("ml", "毫升"):
        return number, "ml"
    return number, unit


def _dimension(number: str, unit: str) -> str:
    unit = "m" if unit == "米" else unit
    value = float(number)
    return (f"{value:g}{unit}").lower()


def extract_variant_hints(raw: Any) -> VariantHints:
    """Colours, capacity, size and SKU code mentioned in a message."""
    if not isinstance(raw, str):
        return VariantHints()
    q = normalise(raw[:MAX_QUERY])
    sku = _variant_code(q)
    colors = frozenset(key for key, words in COLOR_WORDS.items() if any(w in q for w in words))
    capacity, unit = _capacity_value(q)
    rest = _CAPACITY.sub(" ", q)
    size: Optional[str] = None
    dim = _DIMENSION.search(rest)
    if dim:
        size = _dimension(dim.group(1), dim.group(2))
        rest = _DIMENSION.sub(" ", rest)
    if size is None:
        for word, letter in _SIZE_WORDS.items():
            if word in rest:
                size = letter
                break
    if size is None:
        rest_no_codes = _SKU_CODE.sub(" ", rest)
        m = _LETTER_SIZE.search(rest_no_codes)
        if m:
            size = m.group(1).upper()
    return VariantHints(colors, capacity, unit, size, sku)


def _variant_code(q: str) -> Optional[str]:
    """The last full SKU code in ``q`` ("P001-BK"), never a bare product code ("P001").

    Hints accumulate over turns ("P001 有货吗" + the tapped button's "P001-BK"): the bare
    product code names no variant, and the newest code is what the customer chose last.
    """
    codes = [m.group(0).upper() for m in _SKU_CODE.finditer(q) if "-" in m.group(0)]
    return codes[-1] if codes else None


def _sku_capacity(sku: Sku) -> Tuple[Optional[float], Optional[str]]:
    return _capacity_value(sku.capacity) if sku.capacity else (None, None)


def _sku_size(sku: Sku) -> Optional[str]:
    if not sku.size:
        return None
    m = _DIMENSION.fullmatch(sku.size.lower())
    return _dimension(m.group(1), m.group(2)) if m else sku.size.upper()


def filter_skus(skus: Sequence[Sku], hints: VariantHints) -> List[Sku]:
    """The SKUs compatible with every hint that the product's SKUs can express."""
    out = list(skus)
    if hints.sku_code:
        exact = [s for s in out if s.code == hints.sku_code]
        if exact:
            return exact
    if hints.colors and any(s.color_en for s in out):
        out = [s for s in out if s.color_en in hints.colors]
    if hints.capacity is not None and any(s.capacity for s in out):
        out = [s for s in out if _sku_capacity(s) == (hints.capacity, hints.capacity_unit)]
    if hints.size and any(s.size for s in out):
        out = [s for s in out if _sku_size(s) == hints.size.lower() or _sku_size(s) == hints.size.upper()]
    return out


# ---------------------------------------------------------------------------
# Product matching
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductMatch:
    product: Product
    score: float


def _strip(q: str) -> str:
    for words in COLOR_WORDS.values():
        for w in words:
            if len(w) > 1 or not w.isascii():
                q = q.replace(w, " ")
    for words in CITY_WORDS.values():
        for w in words:
            if not w.isascii():
                q = q.replace(w, " ")
    q = _CAPACITY.sub(" ", q)
    q = _DIMENSION.sub(" ", q)
    for f in FILLER_ZH:
        q = q.replace(f, " ")
    q = FILLER_EN.sub(" ", q)
    return re.sub(r"\s+", " ", q).strip()


def _bigrams(s: str) -> FrozenSet[str]:
    s = s.replace(" ", "")
    return frozenset(s[i : i + 2] for i in range(len(s) - 1)) if len(s) > 1 else frozenset({s})


def _name_score(q: str, name: str) -> float:
    if not q or not name:
        return 0.0
    if len(name) >= 2 and name in q:
        return 0.9 + 0.1 * len(name) / max(len(q), 1)
    if len(q) >= 2 and q in name:
        return 0.7 + 0.2 * len(q) / len(name)
    a, b = _bigrams(q), _bigrams(name)
    dice = 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0
    ratio = SequenceMatcher(None, q, name).ratio()
    return 0.85 * max(dice, ratio)


def match_products(query: Any, catalogue: Catalogue, threshold: float = 0.55) -> List[ProductMatch]:
    """Products ranked by how well their names and aliases match ``query`` (best first)."""
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY:
        return []
    q_full = normalise(query)
    q = _strip(q_full) or q_full
    ranked = []
    for product in catalogue.products:
        names = [normalise(n) for n in (product.name_zh, product.name_en, *product.aliases)]
        score = max(max(_name_score(q, n), _name_score(q_full, n) - 0.05) for n in names)
        if score >= threshold:
            ranked.append(ProductMatch(product, round(score, 4)))
    ranked.sort(key=lambda m: (-m.score, m.product.id))
    return ranked


@dataclass(frozen=True)
class ProductResolution:
    product: Optional[Product]
    candidates: Tuple[Product, ...] = ()  # when ambiguous
    sku: Optional[Sku] = None  # when the message names a SKU code


def resolve_product(query: Any, catalogue: Catalogue) -> ProductResolution:
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return ProductResolution(None)
    q = normalise(query).strip()
    by_id = {p.id.lower(): p for p in catalogue.products}
    if _PRODUCT_ID.match(q) and q in by_id:
        return ProductResolution(by_id[q])
    code = _SKU_CODE.search(q)
    if code:
        sku = next((s for s in catalogue.skus if s.code == code.group(0).upper()), None)
        if sku:
            return ProductResolution(by_id[sku.product_id.lower()], sku=sku)
    named = [by_id[m] for m in _PRODUCT_CODE_IN_TEXT.findall(q) if m in by_id]
    distinct = tuple(dict.fromkeys(named))
    if len(distinct) == 1:  # "is P001 in stock?": the product code inside a sentence
        return ProductResolution(distinct[0])
    if distinct:  # "P001 or P002?": let the customer pick
        return ProductResolution(None, distinct[:4])
    matches = match_products(query, catalogue)
    if not matches:
        return ProductResolution(None)
    best = matches[0]
    close = [m.product for m in matches if best.score - m.score < 0.04]
    if len(close) > 1 and best.score < 0.95:
        return ProductResolution(None, tuple(close[:4]))
    return ProductResolution(best.product)


# ---------------------------------------------------------------------------
# The stock answer (pure)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreStock:
    location: Location
    quantity: int


@dataclass(frozen=True)
class StockView:
    sku: Sku
    product: Product
    online_quantity: int
    stores: Tuple[StoreStock, ...]
    city: str  # "shanghai" | "beijing" | "shenzhen" | "online" | another city name
    case: str  # "out_everywhere" | "online_and_city" | "online_not_city" | "stores_only" | "online_only"
    city_stores: Tuple[StoreStock, ...] = field(default=())
    other_stores: Tuple[StoreStock, ...] = field(default=())


def stock_view(
    product: Product, sku: Sku, levels: Sequence[StockLevel], locations: Sequence[Location], city: str
) -> StockView:
    by_loc = {lv.location_id: lv.quantity for lv in levels if lv.sku_code == sku.code}
    online = sum(max(by_loc.get(loc.id, 0), 0) for loc in locations if loc.kind == "warehouse")
    stores = tuple(StoreStock(loc, max(by_loc.get(loc.id, 0), 0)) for loc in locations if loc.kind == "store")
    in_city = tuple(s for s in stores if s.location.city == city)
    city_with = tuple(s for s in in_city if s.quantity > 0)
    others_with = tuple(s for s in stores if s.quantity > 0 and s.location.city != city)
    any_store = any(s.quantity > 0 for s in stores)
    if online == 0 and not any_store:
        case = "out_everywhere"
    elif city in STORE_CITIES:
        if online and city_with:
            case = "online_and_city"
        elif online:
            case = "online_not_city"
        else:
            case = "stores_only"
    else:
        case = "online_only" if online else "stores_only"
    return StockView(sku, product, online, stores, city, case, in_city, others_with)


def _qty(n: int, language: Optional[str]) -> str:
    if n <= 0:
        return text("msg_stock_qty_none", language)
    if n <= LOW_STOCK:
        return text("msg_stock_qty_low", language, n=n)
    return text("msg_stock_qty_ok", language, n=n)


def _store_name(loc: Location, language: Optional[str]) -> str:
    return loc.name_en if language == "en" else to_script(loc.name_zh, language)


def _city_name(city: str, language: Optional[str]) -> str:
    if city in CITY_WORDS:
        return text(f"msg_city_{city}", language)
    return city


def render_stock(view: StockView, language: Optional[str]) -> Tuple[str, Dict[str, Any], List[Dict[str, str]]]:
    """Reply text, ``stock`` card and buttons for one SKU."""
    lang = language
    name = product_name(view.product.name_zh, view.product.name_en, lang)
    variant = view.sku.variant_label(lang or "zh-Hans")
    variant = variant if lang == "en" else to_script(variant, lang)
    label = f"{name} {variant}".strip()
    sep = "; " if lang == "en" else "；"
    parts = [text("msg_stock_header", lang, product=label, price=money(view.sku.price_cents))]
    btns: List[Dict[str, str]] = []
    store_line = sep.join(f"{_store_name(s.location, lang)} {_qty(s.quantity, lang)}" for s in view.city_stores)
    other_line = sep.join(f"{_store_name(s.location, lang)} {_qty(s.quantity, lang)}" for s in view.other_stores)
    city = _city_name(view.city, lang)
    if view.case == "out_everywhere":
        parts.append(text("msg_stock_out_everywhere", lang))
        btns = buttons("msg_stock_out_everywhere", lang)
    else:
        parts.append(
            text("msg_stock_online_yes", lang, qty=_qty(view.online_quantity, lang))
            if view.online_quantity
            else text("msg_stock_online_no", lang)
        )
        if view.city in STORE_CITIES:
            parts.append(text("msg_stock_city_stores", lang, city=city, stores=store_line))
        elif view.city != "online":
            parts.append(text("msg_stock_no_store_in_city", lang, city=city))
        if view.case == "online_and_city":
            best = max(view.city_stores, key=lambda s: s.quantity)
            parts.append(
                text("msg_stock_pickup_today", lang, store=_store_name(best.location, lang), hours=best.location.hours)
            )
        elif view.case == "online_not_city":
            parts.append(text("msg_stock_pickup_transfer", lang, city=city))
        elif view.case == "stores_only":
            if view.city not in STORE_CITIES or not any(s.quantity for s in view.city_stores):
                parts.append(text("msg_stock_stores_elsewhere", lang, stores=other_line))
            parts.append(text("msg_stock_stores_only_hint", lang))
        elif view.case == "online_only" and other_line and view.city == "online":
            parts.append(text("msg_stock_all_stores", lang, stores=other_line))
    card = {
        "kefu_card": {
            "type": "stock",
            "version": 1,
            "language": lang,
            "product": {
                "id": view.product.id,
                "sku": view.sku.code,
                "name": name,
                "variant": variant,
                "price": {"cents": view.sku.price_cents, "text": money(view.sku.price_cents)},
            },
            "city": view.city,
            "status": view.case,
            "online": {"available": view.online_quantity > 0, "quantity": view.online_quantity},
            "stores": [
                {
                    "id": s.location.id,
                    "name": _store_name(s.location, lang),
                    "city": s.location.city,
                    "address": s.location.address_en if lang == "en" else to_script(s.location.address_zh, lang),
                    "hours": s.location.hours,
                    "quantity": s.quantity,
                    "available": s.quantity > 0,
                }
                for s in view.stores
            ],
            "pickup": {
                "same_day_store_ids": [s.location.id for s in view.city_stores if s.quantity > 0],
                "transfer_possible": view.online_quantity > 0,
            },
            "actions": btns,
        }
    }
    return "\n".join(parts), card, btns


def parse_city(raw: Any) -> Optional[str]:
    """A known city key, ``online`` for "anywhere", another recognised city name, or None."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        return None
    q = normalise(raw).strip()
    tokens = set(re.findall(r"[a-z]+", q))
    for key, words in CITY_WORDS.items():
        for w in words:
            if (w.isascii() and (w in tokens or (" " in w and w in q))) or (not w.isascii() and w in q):
                return key
    for other in OTHER_CITIES:
        if other in q:
            return to_script(other, None)
    m = re.fullmatch(r"([\u4e00-\u9fff]{2,4})市?", q)
    if m and q.endswith("市"):
        return m.group(1)
    return None


# ---------------------------------------------------------------------------
# Catalogue cache
# ---------------------------------------------------------------------------
class CatalogueCache:
    def __init__(self, ttl: float = CATALOGUE_TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: Optional[Tuple[int, float, Catalogue]] = None

    def get(self, store: StoreBackend) -> Catalogue:
        now = time.monotonic()
        with self._lock:
            if self._value and self._value[0] == id(store) and now - self._value[1] < self.ttl:
                return self._value[2]
        cat = store.catalogue()
        with self._lock:
            self._value = (id(store), now, cat)
        return cat

    def clear(self) -> None:
        with self._lock:
            self._value = None


CATALOGUE = CatalogueCache()


def _product(cat: Catalogue, product_id: Any) -> Optional[Product]:
    return next((p for p in cat.products if p.id == product_id), None)


def _skus(cat: Catalogue, product_id: str) -> List[Sku]:
    return [s for s in cat.skus if s.product_id == product_id]


def variant_options(skus: Sequence[Sku], language: Optional[str]) -> Dict[str, List[str]]:
    """The values that still differ between ``skus``, per dimension."""
    out: Dict[str, List[str]] = {}
    lang = language or "zh-Hans"
    colors = sorted({(s.color_en, s.color_en if lang == "en" else to_script(s.color_zh, lang)) for s in skus})
    if len(colors) > 1:
        out["color"] = [c[1] for c in colors]
    for dim in ("capacity", "size"):
        values = sorted({getattr(s, dim) for s in skus if getattr(s, dim)}, key=lambda v: (len(v), v))
        if len(values) > 1:
            out[dim] = values
    return out


# ---------------------------------------------------------------------------
# Rasa side
# ---------------------------------------------------------------------------
def _lang(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot("language")


def _latest_text(tracker: Tracker) -> str:
    raw = (tracker.latest_message or {}).get("text")
    return raw if isinstance(raw, str) else ""


class ValidateStockForm(FormValidationAction):
    def name(self) -> str:
        return "validate_stock_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        if tracker.get_slot("stock_outcome"):
            return []
        slots = ["stock_product"]
        if not tracker.get_slot("stock_sku"):
            slots.append("stock_variant")
        slots.append("stock_city")
        return slots

    async def extract_stock_product(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """When NLU found no product entity, try the whole first message."""
        if tracker.get_slot("stock_product") is not None or tracker.get_slot("requested_slot"):
            return {}
        raw = _latest_text(tracker)
        if not raw or len(raw) > MAX_QUERY:
            return {}
        try:
            res = resolve_product(raw, CATALOGUE.get(get_store()))
        except StoreError:
            return {}
        return {"stock_product": raw} if (res.product or res.candidates) else {}

    async def extract_stock_city(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if tracker.get_slot("stock_city") is not None or tracker.get_slot("requested_slot") == "stock_city":
            return {}
        city = parse_city(_latest_text(tracker)) if len(_latest_text(tracker)) <= MAX_QUERY else None
        return {"stock_city": city} if city and city != "online" else {}

    def validate_stock_product(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        lang = _lang(tracker)
        if not isinstance(slot_value, str) or len(slot_value) > MAX_QUERY or len(_latest_text(tracker)) > 2000:
            dispatcher.utter_message(text=text("msg_stock_query_invalid", lang))
            return {"stock_product": None}
        try:
            store = get_store()
            cat = CATALOGUE.get(store)
            res = resolve_product(slot_value, cat)
            if res.product is None and not res.candidates and slot_value != _latest_text(tracker):
                res = resolve_product(_latest_text(tracker), cat)
            if res.candidates:
                return {"stock_product": None, "stock_candidates": [p.id for p in res.candidates]}
            if res.product is None:
                return {"stock_product": None, "stock_outcome": "not_found", "stock_query": slot_value[:60]}
            skus = _skus(cat, res.product.id)
            hints_text = f"{slot_value} {_latest_text(tracker)}"
            remaining = [res.sku] if res.sku else filter_skus(skus, extract_variant_hints(hints_text))
            result: Dict[str, Any] = {"stock_product": res.product.id, "stock_candidates": None}
            if not remaining:
                dispatcher.utter_message(text=_variant_unavailable(skus, lang))
                result["stock_hints"] = None
                return result
            if len(remaining) == 1:
                result.update(self._chosen(remaining[0], store, tracker))
            else:
                result["stock_hints"] = hints_text[:MAX_QUERY]
            return result
        except StoreError as exc:
            log_store_failure("stock check", tracker, exc)
            return {"stock_outcome": "store_error"}

    def _chosen(self, sku: Sku, store: StoreBackend, tracker: Tracker) -> Dict[str, Any]:
        result: Dict[str, Any] = {"stock_sku": sku.code, "stock_variant": sku.code, "stock_hints": None}
        if tracker.get_slot("stock_city") is None:
            levels = store.stock_for_sku(sku.code)
            if not any(lv.quantity > 0 for lv in levels):
                result["stock_city"] = "online"  # nothing anywhere: no need to ask where
        return result

    def validate_stock_variant(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        lang = _lang(tracker)
        if tracker.get_slot("stock_sku"):
            return {"stock_variant": tracker.get_slot("stock_sku")}
        product_id = tracker.get_slot("stock_product")
        if not isinstance(slot_value, str) or len(slot_value) > MAX_QUERY or not product_id:
            return {"stock_variant": None}
        try:
            store = get_store()
            cat = CATALOGUE.get(store)
            skus = _skus(cat, product_id)
            previous = tracker.get_slot("stock_hints") or ""
            new_hints = extract_variant_hints(slot_value)
            exact = next((s for s in skus if new_hints.sku_code and s.code == new_hints.sku_code), None)
            if exact is not None:  # a tapped button (or a typed SKU code) names exactly one variant
                return self._chosen(exact, store, tracker)
            if new_hints.is_empty():
                dispatcher.utter_message(text=text("msg_stock_variant_not_understood", lang))
                return {"stock_variant": None}
            remaining = filter_skus(skus, extract_variant_hints(f"{previous} {slot_value}"))
            if not remaining:
                remaining = filter_skus(skus, new_hints)  # the customer changed their mind
                previous = ""
            if not remaining:
                dispatcher.utter_message(text=_variant_unavailable(skus, lang))
                return {"stock_variant": None}
            if len(remaining) == 1:
                return self._chosen(remaining[0], store, tracker)
            return {"stock_variant": None, "stock_hints": f"{previous} {slot_value}"[:MAX_QUERY]}
        except StoreError as exc:
            log_store_failure("stock check", tracker, exc)
            return {"stock_outcome": "store_error"}

    def validate_stock_city(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        city = parse_city(slot_value)
        if city is None:
            dispatcher.utter_message(text=text("msg_stock_city_invalid", _lang(tracker)))
            return {"stock_city": None}
        return {"stock_city": city}


def _variant_unavailable(skus: Sequence[Sku], language: Optional[str]) -> str:
    options = variant_options(skus, language)
    sep = ", " if language == "en" else "、"
    listing = ("; " if language == "en" else "；").join(
        f"{text(f'msg_dim_{dim}', language)}: {sep.join(values)}" for dim, values in options.items()
    )
    return text("msg_stock_variant_unavailable", language, options=listing)


class ActionAskStockProduct(Action):
    """Ask for the product, with buttons when the last answer matched several."""

    def name(self) -> str:
        return "action_ask_stock_product"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        candidates = tracker.get_slot("stock_candidates") or []
        if candidates:
            try:
                cat = CATALOGUE.get(get_store())
            except StoreError as exc:
                log_store_failure("stock check", tracker, exc)
                utter_store_down(dispatcher, lang)
                return []
            btns = []
            for pid in candidates[:4]:
                p = _product(cat, pid)
                if p:
                    btns.append(
                        {"title": product_name(p.name_zh, p.name_en, lang), "payload": f'/inform{{"product":"{p.id}"}}'}
                    )
            dispatcher.utter_message(text=text("msg_stock_which_product", lang), buttons=btns)
            return [SlotSet("stock_candidates", None)]
        dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
        return []


class ActionAskStockVariant(Action):
    """Ask which colour / capacity / size, listing only what is still possible."""

    def name(self) -> str:
        return "action_ask_stock_variant"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        try:
            cat = CATALOGUE.get(get_store())
        except StoreError as exc:
            log_store_failure("stock check", tracker, exc)
            utter_store_down(dispatcher, lang)
            return []
        product = _product(cat, tracker.get_slot("stock_product"))
        if product is None:
            dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
            return []
        skus = _skus(cat, product.id)
        remaining = filter_skus(skus, extract_variant_hints(tracker.get_slot("stock_hints") or "")) or skus
        options = variant_options(remaining, lang)
        sep = ", " if lang == "en" else "、"
        listing = ("; " if lang == "en" else "；").join(
            f"{text(f'msg_dim_{dim}', lang)}: {sep.join(values)}" for dim, values in options.items()
        )
        btns = []
        if len(remaining) <= 6:
            btns = [
                {
                    "title": (
                        s.variant_label(lang or "zh-Hans")
                        if lang == "en"
                        else to_script(s.variant_label("zh-Hans"), lang)
                    ),
                    "payload": f'/inform{{"variant":"{s.code}"}}',
                }
                for s in remaining
            ]
        dispatcher.utter_message(
            text=text(
                "msg_stock_ask_variant",
                lang,
                product=product_name(product.name_zh, product.name_en, lang),
                options=listing,
            ),
            buttons=btns,
        )
        return []


def _reset_stock() -> List[Dict[str, Any]]:
    return [
        SlotSet(s, None)
        for s in (
            "stock_product",
            "stock_variant",
            "stock_sku",
            "stock_hints",
            "stock_candidates",
            "stock_outcome",
            "stock_query",
            "requested_slot",
        )
    ]


class ActionCheckStock(Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        outcome = tracker.get_slot("stock_outcome")
        if outcome == "store_error":
            utter_store_down(dispatcher, lang)
            return [*_reset_stock(), SlotSet("human_offered", True)]
        if outcome == "not_found":
            dispatcher.utter_message(
                text=text("msg_stock_not_found", lang), buttons=buttons("msg_stock_not_found", lang)
            )
            return [*_reset_stock(), SlotSet("human_offered", True)]
        sku_code = tracker.get_slot("stock_sku")
        city = tracker.get_slot("stock_city") or "online"
        if not sku_code:
            dispatcher.utter_message(text=text("msg_stock_ask_product", lang))
            return _reset_stock()
        try:
            store = get_store()
            cat = CATALOGUE.get(store)
            sku = next((s for s in cat.skus if s.code == sku_code), None)
            product = _product(cat, sku.product_id) if sku else None
            if sku is None or product is None:
                dispatcher.utter_message(
                    text=text("msg_stock_not_found", lang), buttons=buttons("msg_stock_not_found", lang)
                )
                return _reset_stock()
            levels = store.stock_for_sku(sku.code)
            locations = store.locations()
        except StoreInputError:
            dispatcher.utter_message(text=text("msg_stock_query_invalid", lang))
            return _reset_stock()
        except StoreError as exc:
            log_store_failure("stock check", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [*_reset_stock(), SlotSet("human_offered", True)]
        view = stock_view(product, sku, levels, locations, city)
        body, card, btns = render_stock(view, lang)
        dispatcher.utter_message(text=body, buttons=btns, json_message=card)
        events = [*_reset_stock(), SlotSet("stock_last_sku", sku.code)]
        if view.case == "out_everywhere":
            events.append(SlotSet("human_offered", True))
        return events


class ActionRestockSubscribe(Action):
    """Store a "tell me when it is back" request for the last SKU the customer checked."""

    def name(self) -> str:
        return "action_restock_subscribe"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        lang = _lang(tracker)
        sku_code = tracker.get_slot("stock_last_sku")
        if not sku_code:
            dispatcher.utter_message(text=text("msg_restock_need_product", lang))
            return []
        city = tracker.get_slot("stock_city")
        try:
            store = get_store()
            # only an identity that holds now (not an expired or replaced one) owns the subscription
            identity = identity_for_tracker(tracker, store)
            request = RestockRequest(
                sku_code=sku_code,
                channel=(tracker.get_latest_input_channel() or "rest")[:32],
                sender_id=tracker.sender_id,
                language=lang or "zh-Hans",
                customer_id=identity.customer_id if identity else None,
                city=city if city in STORE_CITIES else None,
            )
            sub = store.add_restock_subscription(request)
            cat = CATALOGUE.get(store)
        except StoreInputError:
            dispatcher.utter_message(text=text("msg_restock_need_product", lang))
            return []
        except StoreError as exc:
            log_store_failure("restock subscription", tracker, exc)
            utter_store_down(dispatcher, lang)
            return [SlotSet("human_offered", True)]
        sku = next((s for s in cat.skus if s.code == sku_code), None)
        product = _product(cat, sku.product_id) if sku else None
        label = sku_code
        if sku and product:
            variant = sku.variant_label(lang or "zh-Hans")
            label = f"{product_name(product.name_zh, product.name_en, lang)} " + (
                variant if lang == "en" else to_script(variant, lang)
            )
        key = "msg_restock_done" if sub.created else "msg_restock_already"
        dispatcher.utter_message(text=text(key, lang, product=label.strip()))
        return []
