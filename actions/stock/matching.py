"""Stock matching (pure): which product, which variant, which city, and what the stores and warehouses hold.

Everything here is a function of its arguments (the customer's words, the store's catalogue,
locations and stock levels); no I/O. The vocabulary below is for reading customers' messages
(colour and city words in Chinese and English); which cities have stores is never listed here:
it is what the store's locations say (:func:`store_cities`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from actions.store.types import Catalogue, Location, Product, Sku, StockLevel
from kernel.i18n import to_script
from kernel.language import normalise

MAX_QUERY = 200

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
#: How customers name a city, by the city key the store's locations use (``Location.city``);
#: ``online`` means "anywhere". Reading vocabulary only: which cities have shops is the store's data.
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
#: Other cities customers name; :func:`parse_city` returns the name itself, which has shops only
#: if the store's locations use that same city key.
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
    colors = _colours(q)
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


#: words that hold a colour character but name no colour: 蓝牙 is Bluetooth, 银行 a bank, 红包 a red envelope
_NOT_COLOURS = re.compile(r"蓝牙|银行|银联|红包|白条|粉丝|黑五|黑名单|白名单|白天|红利")


def _colours(q: str) -> FrozenSet[str]:
    """The colours named in normalised text; English colour words count as whole words only ("bluetooth" is
    not blue, "bored" not red)."""
    q = _NOT_COLOURS.sub(" ", q)
    words = set(re.findall(r"[a-z]+", q))
    return frozenset(key for key, names in COLOR_WORDS.items()
                     if any((name in words) if name.isascii() else (name in q) for name in names))


def with_bare_capacity(hints: VariantHints, raw: Any, skus: Sequence[Sku]) -> VariantHints:
    """"白色保温杯 500的", "the pink one. 750": a bare number that is one of the product's capacities is that
    capacity (500 → 500ml, 5.5 → 5.5L, 20000 → 20000mAh); anything else leaves the hints as they were."""
    if hints.capacity is not None or not isinstance(raw, str):
        return hints
    capacities = {_sku_capacity(s) for s in skus if s.capacity}
    numbers = {float(n) for n in re.findall(r"(?<![\d.a-z])(\d+(?:\.\d+)?)(?![\d.]|\s*(?:mm|cm|个|件|天|号|点|元|块|%))",
                                            normalise(raw[:MAX_QUERY]))}
    found = {(value, unit) for value, unit in capacities if value is not None
             and (value in numbers or (unit == "ml" and value / 1000 in numbers))}
    if len(found) != 1:
        return hints
    value, unit = found.pop()
    return replace(hints, capacity=value, capacity_unit=unit)


def without_product_names(raw: Any, product: Optional[Product]) -> str:
    """``raw`` without the product's own names and aliases, so that a letter or a number in a name is not read as
    a version: "is the watch s in stock?" names the Watch S, not size S. Normalised; "" for no text."""
    if not isinstance(raw, str):
        return ""
    q = normalise(raw[:MAX_QUERY])
    if product is None:
        return q
    names = {normalise(n) for n in (product.name_zh, product.name_en, *product.aliases) if n and n.strip()}
    for name in sorted(names, key=len, reverse=True):
        q = re.sub(r"(?<![a-z\d])" + re.escape(name) + r"(?![a-z\d])" if name.isascii() else re.escape(name), " ", q)
    return q


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


def hints_of(sku: Sku) -> VariantHints:
    """The version ``sku`` is, as hints: its colour, capacity and size."""
    capacity, unit = _sku_capacity(sku)
    return VariantHints(frozenset({sku.color_en}) if sku.color_en else frozenset(), capacity, unit, _sku_size(sku))


def changed(before: VariantHints, after: VariantHints) -> VariantHints:
    """``before`` with what ``after`` names instead: "不对 我要500毫升的" keeps the colour and changes the capacity."""
    return VariantHints(
        after.colors or before.colors,
        after.capacity if after.capacity is not None else before.capacity,
        after.capacity_unit if after.capacity is not None else before.capacity_unit,
        after.size or before.size,
        after.sku_code,
    )


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


def _contains(q: str, name: str) -> bool:
    """``name`` is in ``q``; a Latin name as whole words ("tee" is not in "stainless steel")."""
    if not name.isascii():
        return name in q
    return re.search(r"(?<![a-z\d])" + re.escape(name) + r"(?![a-z\d])", q) is not None


def _name_score(q: str, name: str) -> float:
    if not q or not name:
        return 0.0
    if len(name) >= 2 and _contains(q, name):
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


#: other makers' products: "iPhone 15 Pro" is not our "Pro" earbuds, "AirPods" not our ANC earbuds
_OTHER_MAKERS = re.compile(
    r"iphone|ipad|macbook|airpods|apple watch|galaxy|pixel|playstation|ps5|xbox|nintendo|任天堂|switch游戏|"
    r"华为|huawei|小米|xiaomi|红米|redmi|oppo|vivo|荣耀|honor|戴森|dyson|索尼|sony|bose|beats|苹果手机|苹果耳机"
)


def another_makers(text: Any) -> bool:
    """Whether ``text`` names another maker's product ("你们有iPhone 15 Pro吗", "AirPods Pro")."""
    return isinstance(text, str) and bool(_OTHER_MAKERS.search(normalise(text[:MAX_QUERY])))


def resolve_product(query: Any, catalogue: Catalogue) -> ProductResolution:
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        return ProductResolution(None)
    q = normalise(query).strip()
    if another_makers(q):
        return ProductResolution(None)  # we do not sell it: "not found", and a person can suggest ours
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


def find_product(catalogue: Catalogue, product_id: Any) -> Optional[Product]:
    return next((p for p in catalogue.products if p.id == product_id), None)


def product_skus(catalogue: Catalogue, product_id: str) -> List[Sku]:
    return [s for s in catalogue.skus if s.product_id == product_id]


def find_sku(catalogue: Catalogue, sku_code: Any) -> Optional[Sku]:
    return next((s for s in catalogue.skus if s.code == sku_code), None)


# ---------------------------------------------------------------------------
# Cities
# ---------------------------------------------------------------------------
def parse_city(raw: Any) -> Optional[str]:
    """A known city key, ``online`` for "anywhere", another recognised city name, or None."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_QUERY:
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




def store_cities(locations: Iterable[Location]) -> FrozenSet[str]:
    """The cities where the store has at least one shop (``kind == "store"``), from its own locations."""
    return frozenset(loc.city for loc in locations if loc.kind == "store")


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
    city: str  # a city key ("shanghai"), "online", or another city name
    case: str  # "out_everywhere" | "online_and_city" | "online_not_city" | "stores_only" | "online_only"
    city_stores: Tuple[StoreStock, ...] = field(default=())  # every store in ``city``, with stock or not
    other_stores: Tuple[StoreStock, ...] = field(default=())  # stores elsewhere that have it

    @property
    def city_has_stores(self) -> bool:
        """Whether the store has shops in the customer's city (from its locations, never a fixed list)."""
        return bool(self.city_stores)


def stock_view(
    product: Product, sku: Sku, levels: Sequence[StockLevel], locations: Sequence[Location], city: str
) -> StockView:
    """Online stock (the warehouses), the stores in ``city`` and elsewhere, and which answer applies."""
    by_loc = {lv.location_id: lv.quantity for lv in levels if lv.sku_code == sku.code}
    online = sum(max(by_loc.get(loc.id, 0), 0) for loc in locations if loc.kind == "warehouse")
    stores = tuple(StoreStock(loc, max(by_loc.get(loc.id, 0), 0)) for loc in locations if loc.kind == "store")
    in_city = tuple(s for s in stores if s.location.city == city)
    city_with = tuple(s for s in in_city if s.quantity > 0)
    others_with = tuple(s for s in stores if s.quantity > 0 and s.location.city != city)
    any_store = any(s.quantity > 0 for s in stores)
    if online == 0 and not any_store:
        case = "out_everywhere"
    elif city in store_cities(locations):
        if online and city_with:
            case = "online_and_city"
        elif online:
            case = "online_not_city"
        else:
            case = "stores_only"
    else:
        case = "online_only" if online else "stores_only"
    return StockView(sku, product, online, stores, city, case, in_city, others_with)

