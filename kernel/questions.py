"""Whether a message is worded as a question, in the three scripts (pure).

Used where NLU's reading is not enough to tell a question from a value or a remark: a shop question inside a form
("对了 门店自提收钱不", actions/interruptions.py), a follow-up to the previous answer (actions/faq.py), a presales
message that asks rather than buys (actions/presales/signals.py), a question while a person is awaited
(actions/waiting.py). Not "' OR 1=1 --", not "白色 500ml", not "好 明天再说".
"""

from __future__ import annotations

import re
from typing import Any, Optional

from kernel.language import normalise

_QUESTION = re.compile(
    r"[?？]|吗|嘛|呢|么|[不没]\s*$|多少|多[久长大重远]|几|怎么|怎样|咋|为啥|为什么|如何|能否|可否|是否|有没有|能不能|可不可以|可以.{0,8}[吗不]|哪|啥|什么|谁|"
    r"^\s*(?:can|could|do|does|did|is|are|how|what|when|where|who|which|why|will|would|should|may)\b|"
    r"\b(?:how|what|when|where|who|which|why)\b|"
    r"\b(?:what's|how much|how many|how long|is there|are there|do you|can you|can i|can we|could you|will you|"
    r"would you)\b",
    re.IGNORECASE,
)


def looks_like_a_question(text: Optional[str]) -> bool:
    return bool(text) and bool(_QUESTION.search(normalise(text or "")))


#: a task for a general assistant, not a shop question: a poem, homework, sums, a translation, an opinion
_TASK = re.compile(
    r"写(?:一)?[首篇]|作文|写诗|(?<!打)诗(?:歌)?(?!人)|翻译一下|帮我翻译|等于多少|告诉我答案|"
    r"\d+\s*(?:[+*×÷]|乘以?|除以?)\s*\d+|"
    r"\bwrite (?:me )?(?:a|an|some)\b|\bpoems?\b|\bessay\b|\bhomework\b|\btranslate\b|\bcalculate\b|"
    r"\d+\s*%\s*of\s*\d+|\b\d+\s*[+*x]\s*\d+\s*\??$|\b(?:your|personal) opinion\b"
)
#: "你算一下嘛": a sum asked for, when nothing of the shop is in it ("帮我算一下运费" is a shop question)
_SUM = re.compile(r"算一下|算算|帮我算|计算一下")
_SHOP = re.compile(r"运费|价|钱|满减|优惠|券|积分|折|退款|订单|元|块")
#: courtesy before a question: "谢谢 那要几天才到", "hi, how do I get an invoice"
_COURTESY = re.compile(r"^(?:谢谢|多谢|感谢|好的|好吧|好|嗯|ok|okay|thanks|thank you|hi|hello|hey|你好|您好)"
                       r"(?:[\s,，!！.。~～]+|(?=[\u4e00-\u9fff]))(?:那么?|then\b)?\s*")


def asks_for_a_task(text: Optional[str]) -> bool:
    """A general-assistant task ("给我写首诗 夸夸你们家保温杯", "你算一下嘛", "quick one, what's 15% of 240", "just give
    me your personal opinion"), which the bot declines however NLU read it (no answer, form or ticket)."""
    plain = normalise(text or "")
    return bool(_TASK.search(plain)) or bool(_SUM.search(plain) and not _SHOP.search(plain))


def question_after_courtesy(text: Optional[str]) -> bool:
    """A question after a thank-you or a greeting ("謝謝 那要幾天才到"): NLU reads the courtesy, the customer asks."""
    plain = normalise(text or "").strip()
    rest = _COURTESY.sub("", plain, count=1)
    return rest != plain and len(rest) >= 3 and looks_like_a_question(rest)


#: words with which a message may ask for a person even without a configured keyword ("a human please", "客服在吗",
#: "let me talk to someone", "叫你们经理来")
_PERSON_WORDS = re.compile(
    r"人工|真人|活人|客服|小二|经理|主管|店长|老板|负责人|机器人|\b(?:human|humans|person|people|agent|agents|someone|"
    r"somebody|anyone|anybody|staff|representative|rep|operator|manager|supervisor|real|live|talk|speak|chat|call|bot|"
    r"robot)\b"
)


def names_someone(text: Optional[str]) -> bool:
    """Whether a message names someone to talk to: a person, an agent, a manager, the bot itself."""
    return bool(text) and bool(_PERSON_WORDS.search(normalise(text or "")))



#: what an elliptical follow-up is made of besides the place or time it swaps in: "ok and in beijing?", "那北京呢",
#: "what about tomorrow then", "那後天呢"
_ELLIPSIS_FILLER = re.compile(
    r"\b(?:ok|okay|and|what|how|about|in|at|for|then|there|the|same|one|too|also|so)\b|"
    r"那么|那|呢|的话|如果是|要是|换成|还有|也|在|去|到|吗|嘛|[?？!！.。,，~～…\s]"
)
#: places and days that such a follow-up swaps in (the rest of a city name comes from NLU's city entity)
_ELLIPSIS_SLOT = re.compile(r"\b(?:today|tomorrow|tonight|weekend|next week)\b|今天|明天|后天|周末|下周|今晚")


def elliptical_followup(text: Optional[str], entities: Any = ()) -> bool:
    """Whether a message only swaps a place or a day into the previous question ("ok and in beijing?", "那北京呢",
    "what about tomorrow"): it means nothing alone, so it is read as the previous question was (a declined weather
    question stays declined). ``entities``: NLU's, whose ``city`` spans are taken out."""
    raw = text or ""
    spans = sorted(((e.get("start"), e.get("end")) for e in entities or () if isinstance(e, dict)
                    and e.get("entity") == "city" and isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int)), reverse=True)
    if not spans and not _ELLIPSIS_SLOT.search(normalise(raw)):
        return False
    for start, end in spans:
        raw = raw[:start] + " " + raw[end:]
    plain = normalise(raw)
    if not looks_like_a_question(text) and not re.search(r"\b(?:and|what about|how about)\b|那", normalise(text or "")):
        return False
    return not _ELLIPSIS_FILLER.sub("", _ELLIPSIS_SLOT.sub("", plain))
