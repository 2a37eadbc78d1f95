"""Questions about a product itself, not about its stock (pure: the Rasa process and the action server read them).

"降噪耳机有几个颜色", "what sizes does the stainless steel bottle come in", "保温杯是什么材质", "蓝牙音箱防水吗": NLU
reads these as stock questions, and the stock form then asks for a city. :func:`asks_about_a_product` says that a
message asks about the product (its versions, or a spec), not whether it is in stock nor for a quote;
:func:`asked_specs` says which specs it asks about, as keys of :data:`SPEC_KEYS`, the vocabulary the catalogue's
product specs use (actions/store/types.py, docs/orders.md#product-specs). actions/router.py answers the versions
and the specs from the catalogue, and says honestly when a spec is not in it, with a pre-sales offer.

Warranty is a spec the catalogue holds, but a question about the warranty alone ("不粘锅保修多久", "要是进水坏了给保修
吗") is left to the knowledge base: its warranty entries say the same terms (docs/shop-policies.md, section 13) and
how to claim them. It is answered from the catalogue only beside another spec ("续航多久 保修几年"). Price questions
are left to the stock answer.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Pattern, Tuple

from kernel.language import normalise
from kernel.questions import looks_like_a_question

#: what the catalogue knows: the versions a product comes in
OPTIONS = re.compile(
    r"几[个种款]颜色|几种颜色|什么颜色|哪些颜色|哪几种颜色|有哪些颜色|颜色.{0,4}(?:有哪|几种|几个|可以选|可选)|"
    r"几种容量|多大容量|容量.{0,4}(?:有哪|多大|几种|多少)|最大.{0,3}容量|几公?升|几种尺寸|哪几个尺寸|尺寸.{0,4}(?:有哪|几种|几个)|"
    r"哪些尺码|尺码.{0,4}(?:有哪|几种|全)|有哪几种|有几款|"
    r"\b(?:what|which)\s+(?:colou?rs?|sizes?|capacit(?:y|ies))\b|\bcome\s+in\b|\bcapacity\s+options?\b|"
    r"\bhow\s+(?:big|large)\b"
)

#: The spec keys a product's specs may use, and the words that ask for each (on normalised text: Simplified, lower
#: case, half-width). A product holds the keys that fit it; docs/orders.md#product-specs says what each one holds.
_SPEC_WORDS: Dict[str, str] = {
    "material": (
        r"材质|材料|料子|面料|布料|成分|含棉量|什么做的|啥做的|什么料|(?<!\d)(?:304|316)(?!\d)|"
        r"是(?:不是)?(?:纯棉|全棉|棉的|不锈钢|陶瓷|玻璃|塑料|真皮)|(?:纯棉|全棉|不锈钢|陶瓷|塑料|玻璃)(?:的)?(?:吗|么|嘛)|"
        r"\b(?:materials?|made\s+(?:of|from|out\s+of)|fabric)\b|\b(?:real|pure|100%)\s*(?:cotton|ceramic|stainless|glass)\b|"
        r"\bis\s+it\s+(?:cotton|ceramic|plastic|glass|stainless)\b|\bor\s+(?:some\s+)?plastic\b|\bbpa\b"
    ),
    "coating": r"涂层|不粘层|特氟龙|铁氟龙|pfoa|ptfe|\b(?:coating|coated|teflon)\b",
    "battery": (
        r"续航|电池|待机|充(?:满|饱|一次)(?:电)?(?:后)?(?:能|可以)?用(?:多久|几天|几个?小时|多长)|几天一充|多久充一次|"
        r"听歌.{0,4}(?:多久|几个?小时)|能充几次|充几次|"
        r"\b(?:battery|batteries|how\s+many\s+(?:times|charges)|run\s*time|play(?:back|ing)?\s+time|standby|"
        r"per\s+charge|on\s+a\s+charge)\b|\bhow\s+long\s+does\s+it\s+last\b"
    ),
    "charging": (
        r"无线充电(?![宝器板头线座])|(?:支持|支援|能|可以|可)无线充|快充(?![头线充数资])|闪充|"
        r"充电(?:多久|多快|要多久|要多长|几个?小时|时间|速度|接口|口|协议|方式)|充满(?:电)?(?:要|需要|得)?(?:多久|多长|几个?小时)|"
        r"怎么充电|用什么充|(?:type-?c|usb-?c|lightning)(?:接口|口|充电)|\bpd\b|\bpps\b|\bqi\b|"
        r"\b(?:charging(?!\s+(?:pad|cable|case))|recharg\w*|(?:fast|quick)[- ]?charg(?:e|es|ed|ing)\b(?![- ]?(?:power|cable|bank))|"
        r"wireless(?:ly)?\s+charg(?:e|es|ed|ing)\b(?!\s+(?:pad|stand|dock))|how\s+(?:do\s+i|to)\s+charge\s+(?:it|this|the)|"
        r"charge\s+(?:time|speed))\b"
    ),
    "power": (
        r"几瓦|多少瓦|瓦数|多大功率|功率|多少伏|电压|输出多|最大输出|\d+\s*w的?(?:吗|么|嘛)|"
        r"\b(?:watts?|wattage|how\s+many\s+w|power\s+(?:output|rating)|output|voltage|110\s*v|220\s*v)\b"
    ),
    "waterproof": (
        r"防水|防泼|防溅|防汗|防尘|ip[x\d]\d|能泡水|(?:能|可以)(?:戴着|带着|带去)?游泳|(?:能|可以)淋雨|"
        r"\b(?:waterproof|water[- ]?resistan\w*|splash\w*|sweat[- ]?proof|ip[x\d]\d|swim(?:ming)?\s+with)\b"
    ),
    "insulation": (
        r"(?<!不)(?<!不太)(?<!不怎么)保(?:温|冷)(?:效果|多久|多长|几个?小时|时间|性能|怎么样|好吗|好不好|能力|吗|么)|保冰|"
        r"(?<!n't\s)(?<!not\s)(?<!dosent\s)(?<!doesnt\s)(?<!dont\s)\bkeeps?\s+(?:\w+\s+)?(?:hot|cold|warm)\b|"
        r"\b(?:insulation|heat\s+retention)\b"
    ),
    "weight": (
        r"重量(?!限制)|多重|几斤|多少克|多少斤|重不重|沉不沉|轻不轻|"
        r"\b(?:weighs?|how\s+heavy|(?:the|its)\s+weight(?!\s+limit))\b"
    ),
    "dimensions": r"长宽高|外形尺寸|尺寸是多少|尺寸多大|多大尺寸|体积多大|\b(?:dimensions?|measurements?|how\s+(?:wide|tall))\b",
    "care": (
        r"洗碗机|机洗|手洗|(?:能|可以)水洗|水洗吗|怎么洗|怎么清洗|清洗|能洗吗|可以洗吗|烘干|干洗|熨烫|\b(?:dishwasher|"
        r"machine[- ]?wash\w*|hand[- ]?wash\w*|tumble[- ]dry\w*|how\s+(?:do\s+i|to)\s+(?:wash|clean)|washable|cleaning)\b"
    ),
    "microwave": r"微波|烤箱|\b(?:microwav\w*|oven[- ]?safe|in\s+the\s+oven)\b",
    "compatibility": (
        r"兼容|适配|(?:能|可以|能不能)(?:给|为)(?!我).{1,16}充(?:电)?(?:吗|么|嘛|不|\s|$)|"
        r"支持(?:iphone|苹果|安卓|华为|小米|mac|笔记本|电脑)|(?:能|可以)连(?:接)?(?:iphone|苹果|安卓|手机|电脑)|"
        r"(?:iphone|ipad|macbook|苹果|安卓|华为|小米|笔记本|电脑|电磁炉|燃气灶|明火|点烟器).{0,8}"
        r"(?:能用|可以用|用得了|适用|兼容|能不能用)|"
        r"\b(?:compatib\w*|works?\s+(?:with\s+(?:my\s+|an?\s+)?(?:iphones?|androids?|mac\w*|windows|laptops?|phones?|tablets?|ipads?|cars?)|"
        r"on\s+(?:an?\s+)?(?:induction|gas))|"
        r"supports?\s+(?:iphone|android|mac\w*|laptops?)|"
        r"(?:charge|power)\s+(?:my|a|the)\s+(?:macbook|laptop|iphone|phone|ipad|tablet)|fits?\s+(?:my|the|a)\s+(?:car|cup))\b"
    ),
    "bluetooth": (
        r"蓝牙(?!耳机|音箱|音响|喇叭)|连接距离|双设备|多设备|同时连|配对|"
        r"\b(?:bluetooth(?!\s+(?:speaker|earphones?|earbuds|headphones))|multipoint|pairing|pair\s+(?:it|with|to)|ldac|aac)\b"
    ),
    "noise": r"噪音|分贝|声音大|声音多大|吵不吵|吵吗|多吵|静音吗|\b(?:noise\s+level|noisy|loud|decibels?|\d+\s*db)\b",
    "noise_cancelling": (
        r"降噪(?!耳机)(?:效果|深度|怎么样|好吗|好不好|强吗|多少|吗|么)|主动降噪|通透模式|"
        r"\b(?:anc(?!\s+(?:earbuds|earphones))|noise[- ]cancell?ing(?!\s+(?:earbuds|earphones|headphones))|"
        r"transparency\s+mode)\b"
    ),
    "fit": (
        r"偏大吗|偏小吗|偏大还是偏小|会不会偏(?:大|小)|(?:尺码|码数|码子).{0,3}(?:正|准)|版型|宽松吗|修身吗|怎么选码|选哪个码|"
        r"选什么码|穿多大|多大码|穿什么码|\b(?:fits?\s+(?:true|small|large|big|loose|tight)|true\s+to\s+size|"
        r"runs?\s+(?:small|large|big)|(?:what|which)\s+size\s+should)\b"
    ),
    "included": (
        r"包装清单|包装里有|盒子里有|有哪些配件|配件有|送(?:不送)?(?:数据)?线|带(?:不带)?(?:数据)?线吗|"
        r"(?:送|配|带|含)(?:数据线|充电线|充电头|充电器|刷头|锅盖)|"
        r"\b(?:in\s+the\s+box|comes?\s+with|what(?:'s|\s+is)\s+included|accessor(?:y|ies))\b"
    ),
    "warranty": r"保修|保固|质保|保用|三包|延保|\b(?:warrant\w*|guarantee)\b",
}
#: the spec keys, in the order the docs list them
SPEC_KEYS: Tuple[str, ...] = tuple(_SPEC_WORDS)
_SPEC_PATTERNS: Dict[str, Pattern[str]] = {key: re.compile(words) for key, words in _SPEC_WORDS.items()}
#: specs a shopper asks about: any of the keys
SPECS = re.compile("|".join(f"(?:{words})" for words in _SPEC_WORDS.values()))
#: words that make it a stock question after all
STOCK = re.compile(r"有货|有没有货|库存|还有吗|还有没|现货|到货|补货|in stock|available|sold out|restock")
#: words of a purchase: "Please quote 100 ceramic mugs" is for the presales desk, not about the mug's material
PURCHASE = re.compile(r"报价|报个价|询价|批发|采购|团购|定制|\b(?:quote|quotation|wholesale|bulk|order for)\b|"
                      r"\d{2,}\s*(?:个|件|只|台|套|箱|pcs|pieces|units)|\b\d{2,}\s+[a-z]")
#: words of an after-sales request ("穿着偏大，想换小一号的"): the knowledge base's returns and exchanges entries
AFTER_SALES = re.compile(r"退货|换货|退款|退换|能退|可以退|退吗|退不|怎么换|想换|换一|换个|售后|"
                         r"\b(?:return(?:s|ed|ing)?|refund\w*|exchang\w*)\b")
#: other makers' devices a compatibility question names ("能给MacBook充电吗"): not the product asked about
DEVICES = re.compile(
    r"(?:iphone|ipad|macbook|airpods|apple\s*watch|galaxy|pixel|switch)(?:\s*(?:\d+|pro|max|plus|mini|air|ultra|se))*|"
    r"苹果手机|苹果电脑|苹果|安卓手机|安卓|华为|小米|笔记本电脑|笔记本|\b(?:android|laptops?|tablets?)\b"
)

#: what an "is it included" question names besides the product ("does it come with a cable", "充电宝送充电器吗")
ACCESSORIES = re.compile(
    r"数据线|充电线|充电头|充电器|刷头|锅盖|耳塞|表带|\b(?:cables?|chargers?|plugs?|adapters?|cases?|straps?|lids?|"
    r"ear\s*tips?)\b"
)
#: the words of an English question around the product ("what's the bottle made of" -> "bottle")
_FILLER = re.compile(
    r"\b(?:what'?s|what|which|how|is|are|was|does|do|did|can|could|will|would|it|its|it's|the|a|an|of|from|your|you|"
    r"my|i|me|this|that|these|those|there|or|and|some|real|any|long|much|many|last|lasts|safe|really|please|pls|"
    r"so|on|in|with|for|to|be|get|buy|need|want|know|tell|about|ok|hi|hey)\b|[?？!！,，。.、~～]"
)


def _question(text: Optional[str]) -> Optional[str]:
    """The normalised text of a message that may ask about a product, or None (none, too long, about stock, a
    purchase or an after-sales request)."""
    if not text or len(text) > 200:
        return None
    q = normalise(text)
    if STOCK.search(q) or PURCHASE.search(DEVICES.sub(" ", q)) or AFTER_SALES.search(q):  # "iPhone 15 Pro": no quantity
        return None
    return q


def _specs_in(q: str) -> Tuple[str, ...]:
    found = []
    for key, pattern in _SPEC_PATTERNS.items():
        match = pattern.search(q)
        if match:
            found.append((match.start(), SPEC_KEYS.index(key), key))
    return tuple(key for _, _, key in sorted(found))


def asked_specs(text: Optional[str]) -> Tuple[str, ...]:
    """The spec keys (:data:`SPEC_KEYS`) ``text`` asks about, in the order it asks them; () when it asks none, or
    asks about stock or for a quote. "那个氮化镓充电头多少瓦 能给MacBook充电吗" -> ("power", "compatibility")."""
    q = _question(text)
    return () if q is None else _specs_in(q)


def asks_about_a_product(text: Optional[str]) -> Optional[str]:
    """``options`` (the versions), ``spec`` (another fact about the product: :func:`asked_specs` says which), or
    None (not such a question, a question about stock, or about the warranty alone: the knowledge base answers it)."""
    q = _question(text)
    if q is None:
        return None
    if OPTIONS.search(q):
        return "options"
    keys = _specs_in(q)
    if keys and keys != ("warranty",):
        return "spec"
    return None


def asks_about_the_warranty(text: Optional[str]) -> bool:
    """A question about the warranty alone ("不粘锅保修多久", "what's the warranty on the watch s"): the knowledge base
    answers it when it is sure; else the product's own warranty from the catalogue (actions/router.py)."""
    q = _question(text)
    return q is not None and not OPTIONS.search(q) and _specs_in(q) == ("warranty",)


def product_words(text: str, keys: Tuple[str, ...] = ()) -> str:
    """What is left of a product question to find the product in: ``text`` (normalised) without the words that ask
    for the specs ``keys``, without the other makers' devices a compatibility question names and the accessories an
    "is it included" question names, and without English question words. "降噪耳机支持无线充电么" -> "降噪耳机支持
    么" (not the wireless charging pad); "充电头能给MacBook充电吗" -> "充电头"; "what's the bottle made of" ->
    "bottle"."""
    q = normalise(text)
    for key in keys:
        q = _SPEC_PATTERNS[key].sub(" ", q)
    if "compatibility" in keys:
        q = DEVICES.sub(" ", q)
    if "included" in keys:
        q = ACCESSORIES.sub(" ", q)
    return " ".join(_FILLER.sub(" ", q).split())


#: words that ask whether something is there to buy: "有卫衣吗", "还有红色的吗", "do you still have…", "卖不卖" (not
#: "還有保固嗎", "有保修吗", "有发票吗": those ask about the warranty, the invoice); a price ("保温杯多少钱") is
#: the stock answer's too
_STOCK_WORDED = re.compile(
    r"有(?!.{0,2}(?:保修|保固|质保|发票|优惠|活动|赠品|运费|折扣|积分|会员|门店|门市|实体店|店|问题|影响))|卖|"
    r"多少钱|价格|价钱|几块|\b(?:have|has|sell|sells|selling|carry|stock|stocks|buy|price|cost|how much)\b")


def asks_about_stock(text: Optional[str]) -> bool:
    """Whether a message is worded as a question about stock or availability ("保温杯还有货没", "深圳门店有卫衣吗",
    "do you still have the red speaker"), as opposed to a question NLU read as one ("你们那个降噪耳机保修多久",
    "the tshirt is too small. can i still send it back?")."""
    if not text:
        return False
    q = normalise(text)
    return bool(STOCK.search(q) or _STOCK_WORDED.search(q))


STOCK_INTENT = "stock_check"


def stock_check_misread(intent: Optional[str], text: Optional[str], entities: Any = ()) -> bool:
    """NLU read a stock check, but the message is worded as another question ("你们那个降噪耳机保修多久", "T恤尺寸買太小
    了 可以換大一號嗎"): no stock or price words, no version nor city found in it ("got the vacuum flask in shanghai?"
    is a stock question). The turn router asks actions/router.py, which gives the knowledge base's reply."""
    kinds = {e.get("entity") for e in entities or () if isinstance(e, dict)}
    return (intent == STOCK_INTENT and bool(text) and not kinds & {"variant", "city"} and not asks_about_stock(text)
            and looks_like_a_question(text))

