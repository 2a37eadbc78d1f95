"""What a buyer's message asks for, read from its words: a quote, a price, the quote's status, or a question.

Pure and shared: the presales desk decides with these, and the FAQ action and the fallback ladder use them as a safety
net, so that "Please quote 500 insulated bottles" reaches the desk even when NLU read it as a shop question.
"""

from __future__ import annotations

import re
from typing import Any

from kernel.language import normalise
from kernel.questions import looks_like_a_question

_QUOTE_WORDS = re.compile(
    r"报价|报个价|出个价|询价|批发价|底价|最低价|优惠价|团购价|便宜|砍价|议价|谈谈价|价格.{0,4}商量|商量.{0,4}价|拿货|"
    r"\bquote\b|quotation|best price|wholesale price|bulk price|discount|cheaper|negotiat|price for \d", re.IGNORECASE)
#: asking for a quote (not asking about quotes): "麻烦给个报价", "能报个价吗", "we'd like a quotation"
_QUOTE_REQUEST = re.compile(
    r"报个价|出个价|给个价|报一下价|报价一下|请报价|需要报价|要报价|想要报价|求报价|询个价|给个报价|出个报价|做个报价|"
    r"出一份报价|(?:发|给|出|要|开)(?:个|一个|一份|份|张|一张)报价单|"
    r"quote me|give (?:me|us) a quote|send (?:me|us) a quot|need a quot|(?:like|want) a quot|request a quot|"
    r"get a quot|quotation for|quote for \d|please quote|(?:can|could|would) you quote|quote us|quote \d", re.IGNORECASE)
#: bargaining: a price for the customer's own deal, which sales gives ("能再便宜点吗，买得多", "最低多少钱能拿")
_BARGAIN = re.compile(r"便宜点|便宜些|再便宜|便宜一点|少点|砍价|砍个价|议价|讲价|最低价|底价|最低多少|给个价|"
                      r"\bcheaper\b|best price|lowest price|negotiate", re.IGNORECASE)
#: asking where one's own quote stands: "我的报价到哪一步了", "报价好了没", "where is my quote"
_QUOTE_STATUS = re.compile(r"报价.{0,6}(?:进度|到哪|怎么样|好了|出来|结果|有进展)|询价.{0,6}(?:结果|进度|到哪)|报价呢|"
                           r"报价单呢|联系我了吗|(?:status|update).{0,20}quot|quot\w*.{0,20}(?:status|ready|update)|"
                           r"quote yet|heard back|where(?:'s| is) (?:my|our) quot", re.IGNORECASE)


#: a wholesale price for a number of pieces ("wholesale price for 10 bottles", "10个批发价"): the desk's, whatever NLU
#: read (the desk points a small number to checkout); a discount or coupon with a number is not one ("满199减30")
_BULK_PRICE = re.compile(r"批发价|团购价|拿货价|(?:wholesale|bulk) (?:price|rate|pricing)", re.IGNORECASE)
_A_NUMBER = re.compile(r"\d+|[一二两三四五六七八九十百千万]+\s*(?:个|件|只|台|套|箱|瓶|杯|条|双)")


def asks_for_a_quote(message: str) -> bool:
    """Asking for a quote or a price outright ("麻烦给个报价", "能再便宜点吗", "we'd like a quotation for…"), or the
    "get a quote" button; the quantity-based reading of ``is_a_deal`` is left to the desk."""
    plain = normalise(message or "")
    return (message or "").startswith("/presales_quote") or bool(
        _QUOTE_REQUEST.search(plain) or _BARGAIN.search(plain) or (_BULK_PRICE.search(plain) and _A_NUMBER.search(plain)))


def is_a_deal(message: str, quantity: Any) -> bool:
    """A concrete request the desk takes whatever the knowledge base knows: asking for a quote or a price
    (``asks_for_a_quote``), or a quantity with price words ("100 件能给个批发价吗") or stated plainly ("我们要采购
    200 个保温杯"). Quote words alone are not enough: "你们给的报价单有效期是几天" asks *about* quotes, and the
    knowledge base answers it."""
    if asks_for_a_quote(message):
        return True
    if not quantity:
        return False
    plain = normalise(message)
    return bool(_QUOTE_WORDS.search(plain)) or not looks_like_a_question(plain)


#: words of a business purchase: without any of them (nor a quantity, a product or quote words) a question that NLU
#: read as a quote request is no business need ("大概要等幾多日" after a shipping answer)
_BUSINESS = re.compile(
    r"公司|企业|单位|团购|批量|采购|定制|订制|印logo|logo|礼品|员工|客户|年会|活动|工厂|门店|经销|代理|发票|合同|"
    r"\b(?:company|corporate|business|bulk|wholesale|custom|logo|gift|employees?|staff|event|order for|b2b|reseller|"
    r"distributor|invoice|contract)\b", re.IGNORECASE)


def names_no_business_need(message: str, quantity: Any, product: Any) -> bool:
    """A question with nothing of a purchase in it: no quantity, no product, no quote or business words."""
    plain = normalise(message or "")
    return (not quantity and not product and looks_like_a_question(plain) and not _QUOTE_WORDS.search(plain)
            and not _BUSINESS.search(plain))


def asks_quote_status(message: str) -> bool:
    return bool(_QUOTE_STATUS.search(normalise(message or "")))
