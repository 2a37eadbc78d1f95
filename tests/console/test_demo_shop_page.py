"""One shop, one source of truth (issue 27 defect 7): the demo shop page, the widget's greeting and the bot speak of
the same shop, and the product on the page has the catalogue's name, price and colours (the page said 优选数码,
¥899, white/black while the bot and the store said 优选生活, ¥499, black/white/blue)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from actions.store.demo_data import demo_data

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "webchat/demo/index.html").read_text(encoding="utf-8")
SCRIPT = (ROOT / "webchat/demo/demo.js").read_text(encoding="utf-8")


def test_every_text_names_the_catalogue_brand() -> None:
    brand = yaml.safe_load((ROOT / "actions/store/demo/catalogue.yml").read_text(encoding="utf-8"))["brand"]
    assert brand == "优选生活" and {p.brand for p in demo_data().products} >= {brand}
    core = (ROOT / "bot/responses/core.yml").read_text(encoding="utf-8")
    assert brand in core and "優選生活" in core and "Youxuan Life" in core  # the bot's own greeting
    for where, text in (("index.html", PAGE), ("demo.js", SCRIPT)):
        assert brand in text, where
        for other in ("优选数码", "優選數碼", "Youxuan Digital"):
            assert other not in text, f"{where} still names {other}"
    assert "優選生活" in SCRIPT and "Youxuan Life" in SCRIPT and "Youxuan Life" in PAGE


def test_the_product_on_the_page_is_the_catalogues() -> None:
    data = demo_data()
    product = next(p for p in data.products if p.id == "P001")
    assert product.name_zh in PAGE and product.name_en in PAGE
    prices = re.findall(r"¥\s*([\d,]+)", PAGE)
    assert prices == [str(product.price)], f"the page shows {prices}, the catalogue {product.price}"
    buttons = re.findall(r'<div class="variants"[^>]*>(.*?)</div>', PAGE, re.S)
    shown = re.findall(r"<button[^>]*>([^<]+)</button>", buttons[0])
    expected = [f"{data.colors[c][0]} {data.colors[c][1].capitalize()}" for c in product.colors]
    assert [s.strip() for s in shown] == expected
    first = data.colors[product.colors[0]][1]
    assert f'aria-label="{product.name_en}, {first}"' in PAGE  # the picture shows the preselected colour
