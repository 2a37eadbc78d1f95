"""The question inside how people type it: conversational wrapping taken off, Cantonese read as Mandarin.

Shoppers wrap a question in conversation ("对了 门店自提收钱不", "好啦 那吹風機壞掉有保固嗎", "quick q, do silver members
get a birthday coupon?", "how much is shipping to chengdu btw") and Hong Kong shoppers write Cantonese ("積分喺門市用唔用
得到", "咁運費幾錢呀"). The knowledge base's questions are plain Mandarin or English, so the wrapping only dilutes the
match. :func:`plain_question` runs on the normalised query (``kernel.language.normalise``: Simplified, lower case,
half-width) before it is encoded and tokenised:

- leading discourse words ("对了", "问下", "好吧 那", "btw", "actually forget it.", "while I wait -") and trailing ones
  ("btw", "anyway", "谢谢") are taken off, repeatedly, when what is left is a question (kernel/questions.py);
- a yes/no question that ends in 不/没 ("收钱不", "发货了没") ends in 吗, as it is usually written;
- Cantonese words become their Mandarin equivalents (喺 → 在, 唔 → 不, 冇 → 没有, 嘅 → 的, 幾多 → 多少 …), only when
  the message has a Cantonese-only character, so Mandarin text is never touched.

Pure and cheap. When taking words off would leave nothing to match, the text is kept as it was.
"""

from __future__ import annotations

import re
from typing import Tuple

from kernel.questions import looks_like_a_question

_SEP = r"[\s,，。.、!！~～:：;；\-—…]*"

_LEAD_ZH = (
    "哦对了", "对了", "对啦", "另外", "顺便问一下", "顺便问下", "顺便问问", "顺便", "先问一下", "先问下",
    "想问一下", "想问下", "我想问一下", "我想问下", "问一下", "问下", "请问一下", "请问", "嗯嗯", "嗯", "哦", "噢",
    "好吧", "好啦", "好的", "行吧", "谢谢", "多谢", "唔该", "那么", "你好", "您好",
)
#: leading words that are also the start of a question ("还有货吗", "那家店几点关", "那个杯子"): taken off only before
#: a separator, or ("那", "咁": "那运费券呢", "咁运费几钱呀") before anything but a measure word
_LEAD_ZH_SEPARATED = ("还有就是", "还有", "那个", "亲亲", "亲", "老板", "在吗", "在不在")
_LEAD_ZH_THEN = r"(?:那|咁)(?![个家边里些款种位张件天台只双套次样么])"
_LEAD_EN = (
    "actually forget it", "forget it", "never mind", "nevermind", "by the way", "btw", "quick question", "quick q",
    "one more thing", "one more question", "also", "and", "ok so", "okay so", "ok", "okay", "nice", "cool", "great",
    "thanks", "thank you", "sorry", "hi", "hello", "hey", "actually", "anyway", "so", "well", "oh",
    "while i wait", "while i'm waiting", "in the meantime", "meanwhile",
)
_TRAIL_ZH = ("谢谢啦", "谢谢", "多谢", "唔该", "啊", "呀", "哈", "啦", "哦", "喔", "嘞", "咧", "㗎", "嘅", "呢")
_TRAIL_EN = ("btw", "by the way", "anyway", "anyways", "then", "please", "pls", "plz", "thanks", "thank you")

_LEAD = re.compile(
    r"^(?:(?:" + "|".join(re.escape(w) for w in sorted(_LEAD_ZH, key=len, reverse=True)) + r")" + _SEP
    + r"|(?:" + "|".join(re.escape(w) for w in _LEAD_ZH_SEPARATED) + r")[\s,，。.、!！~～:：;；]+"
    + r"|" + _LEAD_ZH_THEN + _SEP
    + r"|(?:" + "|".join(re.escape(w) for w in sorted(_LEAD_EN, key=len, reverse=True)) + r")\b" + _SEP + r")"
)
_TRAIL = re.compile(
    r"(?:" + _SEP + r"(?:" + "|".join(re.escape(w) for w in sorted(_TRAIL_ZH, key=len, reverse=True)) + r")"
    + r"|" + r"[\s,，]+(?:" + "|".join(re.escape(w) for w in sorted(_TRAIL_EN, key=len, reverse=True)) + r")\b)"
    + r"(?P<end>[\s?？!！.。~～]*)$"
)
#: "门店自提收钱不", "发货了没": a yes/no question in the A-not-A style, without its second half
_BARE_NOT = re.compile(r"(?<=[\u4e00-\u9fff])(?:不|没|没有)(?P<end>[\s?？]*)$")
_NEGATED_ALREADY = re.compile(r"[吗么嘛]|是不是|能不能|可不可以|有没有|会不会|要不要|行不行|对不对|好不好")

#: characters only Cantonese uses (after Traditional → Simplified): their presence switches the word map on
_CANTONESE_ONLY = re.compile(r"[喺唔冇嘅咗佢睇俾嚟咩嘢啲㗎噉嗰乜揾搵哋咁]|几多|点样|点解|系咪|边度|而家")
_CANTONESE: Tuple[Tuple[str, str], ...] = (
    ("系唔系", "是不是"), ("系咪", "是不是"), ("唔系", "不是"), ("可唔可以", "可不可以"), ("得唔得", "可不可以"),
    ("使唔使", "需不需要"), ("有冇", "有没有"), ("点样", "怎么"), ("点解", "为什么"), ("几多钱", "多少钱"),
    ("几钱", "多少钱"), ("几多", "多少"), ("几时", "什么时候"), ("边度", "哪里"), ("边间", "哪家"), ("边个", "哪个"),
    ("乜嘢", "什么"), ("咩", "什么"), ("而家", "现在"), ("依家", "现在"), ("嗰个", "那个"), ("嗰", "那"), ("呢个", "这个"),
    ("喺", "在"), ("唔", "不"), ("冇", "没有"), ("嘅", "的"), ("咗", "了"), ("佢哋", "他们"), ("佢", "他"), ("我哋", "我们"),
    ("你哋", "你们"), ("睇", "看"), ("俾", "给"), ("嚟", "来"), ("嘢", "东西"), ("啲", "些"), ("㗎", ""), ("噉", "这样"),
    ("揾", "找"), ("搵", "找"), ("咁", "这么"), ("多少日", "几天"),
)


def _mandarin(text: str) -> str:
    if not _CANTONESE_ONLY.search(text):
        return text
    text = re.sub(r"^咁[\s,，]*", "那", text)  # "咁運費幾錢呀": a leading 咁 is "so, then", elsewhere "so much"
    for cantonese, mandarin in _CANTONESE:
        text = text.replace(cantonese, mandarin)
    return text


def _meaningful(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) >= 2


def _keeps_a_question(after: str) -> bool:
    """Wrapping comes off only a question, and must leave one: "谢谢啦哈", "多谢你了", "thank you so much" and
    "就一个吸汗带很便宜的呀" keep their words."""
    return _meaningful(after) and looks_like_a_question(after)


def plain_question(normalised: str) -> str:
    """The question in ``normalised`` (already ``kernel.language.normalise``d) without its conversational wrapping."""
    text = _mandarin(normalised.strip())
    for _ in range(4):
        stripped = _LEAD.sub("", text, count=1).strip()
        if stripped == text or not _keeps_a_question(stripped):
            break
        text = stripped
    for _ in range(3):
        stripped = _TRAIL.sub(lambda m: m.group("end"), text, count=1).strip()
        if stripped == text or not _keeps_a_question(stripped):
            break
        text = stripped
    if not _NEGATED_ALREADY.search(text):
        text = _BARE_NOT.sub(lambda m: "吗" + m.group("end"), text, count=1)
    return text if _meaningful(text) else normalised
