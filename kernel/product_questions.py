"""Questions about a product itself, not about its stock (pure: the Rasa process and the action server read them).

"降噪耳机有几个颜色", "what sizes does the stainless steel bottle come in", "保温杯是什么材质", "蓝牙音箱防水吗": NLU
reads these as stock questions, and the stock form then asks for a city. :func:`asks_about_a_product` says that a
message asks about the product (its versions, or a spec), not whether it is in stock nor for a quote; actions/router.py answers
the versions from the catalogue and says honestly when a spec is not in it, with a pre-sales offer. Warranty
questions are left to the knowledge base (its warranty entries), price questions to the stock answer.
"""

from __future__ import annotations

import re
from typing import Optional

from kernel.language import normalise

#: what the catalogue knows: the versions a product comes in
OPTIONS = re.compile(
    r"几[个种款]颜色|几种颜色|什么颜色|哪些颜色|哪几种颜色|有哪些颜色|颜色.{0,4}(?:有哪|几种|几个|可以选|可选)|"
    r"几种容量|多大容量|容量.{0,4}(?:有哪|多大|几种|多少)|最大.{0,3}容量|几公?升|几种尺寸|哪几个尺寸|尺寸.{0,4}(?:有哪|几种|几个)|"
    r"哪些尺码|尺码.{0,4}(?:有哪|几种|全)|有哪几种|有几款|"
    r"\b(?:what|which)\s+(?:colou?rs?|sizes?|capacit(?:y|ies))\b|\bcome\s+in\b|\bcapacity\s+options?\b|"
    r"\bhow\s+(?:big|large)\b"
)
#: specs a shopper asks about that a catalogue may not hold
SPECS = re.compile(
    r"材质|材料|料子|面料|什么做的|啥做的|304|316|续航|电池|待机|无线充|充电(?:多久|多快|要多|几个小时|功率)|"
    r"支持快充|快充吗|几瓦|功率|防水|防尘|ip[x\d]|重量|多重|洗碗机|微波炉|涂层|噪音|分贝|兼容|"
    r"\b(?:material|made of|ceramic|plastic|battery|charg\w*|waterproof|water resistant|weigh\w*|watts?|"
    r"dishwasher|microwave|coating|teflon|compatible|noise level)\b"
)
#: words that make it a stock question after all
STOCK = re.compile(r"有货|有没有货|库存|还有吗|还有没|现货|到货|补货|in stock|available|sold out|restock")
#: words of a purchase: "Please quote 100 ceramic mugs" is for the presales desk, not about the mug's material
PURCHASE = re.compile(r"报价|报个价|询价|批发|采购|团购|定制|\b(?:quote|quotation|wholesale|bulk|order for)\b|"
                      r"\d{2,}\s*(?:个|件|只|台|套|箱|pcs|pieces|units)|\b\d{2,}\s+[a-z]")


def asks_about_a_product(text: Optional[str]) -> Optional[str]:
    """``options`` (the versions), ``spec`` (another fact about the product), or None (not such a question, or a
    question about stock)."""
    if not text or len(text) > 200:
        return None
    q = normalise(text)
    if STOCK.search(q) or PURCHASE.search(q):
        return None
    if OPTIONS.search(q):
        return "options"
    if SPECS.search(q):
        return "spec"
    return None
