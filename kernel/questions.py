"""Whether a message is worded as a question, in the three scripts (pure).

Used where NLU's reading is not enough to tell a question from a value or a remark: a shop question inside a form
("对了 门店自提收钱不", actions/interruptions.py), a follow-up to the previous answer (actions/faq.py), a presales
message that asks rather than buys (actions/presales/signals.py), a question while a person is awaited
(actions/waiting.py). Not "' OR 1=1 --", not "白色 500ml", not "好 明天再说".
"""

from __future__ import annotations

import re
from typing import Optional

from kernel.language import normalise

_QUESTION = re.compile(
    r"[?？]|吗|嘛|呢|么|[不没]\s*$|多少|多[久长大重远]|几|怎么|怎样|如何|能否|可否|是否|有没有|能不能|可不可以|可以.{0,8}[吗不]|哪|啥|什么|谁|"
    r"^\s*(?:can|could|do|does|did|is|are|how|what|when|where|who|which|why|will|would|should|may)\b|"
    r"\b(?:how|what|when|where|who|which|why)\b|"
    r"\b(?:what's|how much|how many|how long|is there|are there|do you|can you|can i|can we|could you|will you|"
    r"would you)\b",
    re.IGNORECASE,
)


def looks_like_a_question(text: Optional[str]) -> bool:
    return bool(text) and bool(_QUESTION.search(normalise(text or "")))
