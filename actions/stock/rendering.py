"""Stock wording (pure): the stock answer's text, buttons and ``stock`` card, and the questions the stock form asks.

Texts come from ``bot/responses/orders.yml`` through :mod:`kernel.i18n`, in the customer's
language; prices, product names and the store-down reply are the ones orders and coupons use
(:mod:`actions.store_replies`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from actions.stock.matching import CITY_WORDS, StockView, StoreStock
from actions.store.types import Location, Product, Sku
from actions.store_replies import money, product_name
from kernel.i18n import buttons, text, to_script

#: At most this many left is shown as "only n left".
LOW_STOCK = 3
#: Variant buttons are offered when at most this many variants remain.
MAX_VARIANT_BUTTONS = 6
#: Product buttons when a message matched several products.
MAX_PRODUCT_BUTTONS = 4

Button = Dict[str, str]


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


def render_stock(view: StockView, language: Optional[str]) -> Tuple[str, Dict[str, Any], List[Button]]:
    """Reply text, ``stock`` card and buttons for one SKU.

    The card shows the facts of the text, in its words: the stores of the customer's city and, where the text
    names them, the stores elsewhere that have it; each quantity as the text says it ("暂无", "仅剩 2 件").
    """
    lang = language
    name = product_name(view.product.name_zh, view.product.name_en, lang)
    variant = variant_label(view.sku, lang)
    label = f"{name} {variant}".strip()
    sep = "; " if lang == "en" else "；"
    parts = [text("msg_stock_header", lang, product=label, price=money(view.sku.price_cents))]
    btns: List[Button] = []
    store_line = sep.join(f"{_store_name(s.location, lang)} {_qty(s.quantity, lang)}" for s in view.city_stores)
    other_line = sep.join(f"{_store_name(s.location, lang)} {_qty(s.quantity, lang)}" for s in view.other_stores)
    city = _city_name(view.city, lang)
    shown: List[StoreStock] = []  # the stores the text names, in its order
    if view.case == "out_everywhere":
        parts.append(text("msg_stock_out_everywhere", lang))
        btns = buttons("msg_stock_out_everywhere", lang)
    else:
        parts.append(
            text("msg_stock_online_yes", lang, qty=_qty(view.online_quantity, lang))
            if view.online_quantity
            else text("msg_stock_online_no", lang)
        )
        if view.city_has_stores:
            parts.append(text("msg_stock_city_stores", lang, city=city, stores=store_line))
            shown += view.city_stores
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
            if not view.city_has_stores or not any(s.quantity for s in view.city_stores):
                parts.append(text("msg_stock_stores_elsewhere", lang, stores=other_line))
                shown += view.other_stores
            parts.append(text("msg_stock_stores_only_hint", lang))
        elif view.case == "online_only" and other_line and view.city == "online":
            parts.append(text("msg_stock_all_stores", lang, stores=other_line))
            shown += view.other_stores
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
            "city_label": city,
            "status": view.case,
            "online": {
                "available": view.online_quantity > 0,
                "quantity": view.online_quantity,
                "quantity_text": _qty(view.online_quantity, lang),
            },
            "stores": [
                {
                    "id": s.location.id,
                    "name": _store_name(s.location, lang),
                    "city": s.location.city,
                    "address": s.location.address_en if lang == "en" else to_script(s.location.address_zh, lang),
                    "hours": s.location.hours,
                    "quantity": s.quantity,
                    "quantity_text": _qty(s.quantity, lang),
                    "available": s.quantity > 0,
                    "in_city": s.location.city == view.city,
                }
                for s in shown
            ],
            "pickup": {
                "same_day_store_ids": [s.location.id for s in view.city_stores if s.quantity > 0],
                "transfer_possible": view.online_quantity > 0,
            },
            "actions": btns,
        }
    }
    return "\n".join(parts), card, btns


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



def options_listing(skus: Sequence[Sku], language: Optional[str]) -> str:
    """"颜色: 白色、黑色；容量: 350ml、500ml" / "colour: white, black; capacity: 350ml, 500ml"."""
    sep = ", " if language == "en" else "、"
    differing = variant_options(skus, language)
    if not differing:  # one version (or none that differ): name it, never an empty list
        return sep.join(dict.fromkeys(variant_label(s, language) for s in skus if variant_label(s, language)))
    return ("; " if language == "en" else "；").join(
        f"{text(f'msg_dim_{dim}', language)}: {sep.join(values)}" for dim, values in differing.items()
    )


def variant_label(sku: Sku, language: Optional[str]) -> str:
    """"白色 500ml" / "白色 500ml" (Traditional) / "white 500ml"."""
    label = sku.variant_label(language or "zh-Hans")
    return label if language == "en" else to_script(label, language)


def sku_label(product: Optional[Product], sku: Optional[Sku], sku_code: str, language: Optional[str]) -> str:
    """The product name and variant of a SKU, or its bare code when the catalogue no longer has it."""
    if sku is None or product is None:
        return sku_code.strip()
    return f"{product_name(product.name_zh, product.name_en, language)} {variant_label(sku, language)}".strip()


def render_variant_unavailable(skus: Sequence[Sku], language: Optional[str]) -> str:
    """No variant of the product fits what was asked: say which ones exist."""
    return text("msg_stock_variant_unavailable", language, options=options_listing(skus, language))


def render_product_choice(products: Sequence[Product], language: Optional[str]) -> Tuple[str, List[Button]]:
    """"Which one do you mean?" with one button per product the message matched."""
    btns = [
        {"title": product_name(p.name_zh, p.name_en, language), "payload": f'/inform{{"product":"{p.id}"}}'}
        for p in products[:MAX_PRODUCT_BUTTONS]
    ]
    return text("msg_stock_which_product", language), btns


def render_variant_question(
    product: Product, remaining: Sequence[Sku], language: Optional[str]
) -> Tuple[str, List[Button]]:
    """Which colour / capacity / size, listing only what is still possible; buttons when few are left."""
    btns: List[Button] = []
    if len(remaining) <= MAX_VARIANT_BUTTONS:
        btns = [{"title": variant_label(s, language), "payload": f'/inform{{"variant":"{s.code}"}}'} for s in remaining]
    body = text(
        "msg_stock_ask_variant",
        language,
        product=product_name(product.name_zh, product.name_en, language),
        options=options_listing(remaining, language),
    )
    return body, btns
