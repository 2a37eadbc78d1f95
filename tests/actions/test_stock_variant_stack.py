"""Issue 27 #1 over the real stack (Rasa REST channel + action server + demo store).

"P001 有货吗" → tap one of the colour buttons the bot offered → the next reply must move on
(the stock answer, or the city question that precedes it), never the same "which one?"
question again. The payload is taken from the bot's own reply, as a shopper's tap would be.
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest

from tests.stack import Stack, model_missing_reason

pytestmark = [pytest.mark.stack, pytest.mark.skipif(bool(model_missing_reason()), reason=model_missing_reason() or "")]

#: language -> (first message, the variant question, the city question, a city answer, the stock answer's mark)
CASES = {
    "zh-Hans": ("P001 有货吗", "您要哪一款", "您在哪个城市", "上海", "🛒"),
    "zh-Hant": ("P001 有貨嗎", "您要哪一款", "您在哪個城市", "上海", "🛒"),
    "en": ("is P001 in stock?", "Which one?", "Which city are you in", "Shanghai", "🛒"),
}


@pytest.fixture(scope="module")
def stack(staffed_stack: Stack) -> Stack:
    """The shared stack on the demo catalogue (tests/stack.py ``SHARED``); every test has its own sender."""
    return staffed_stack


def _texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [r.get("text") or "" for r in replies]


@pytest.mark.parametrize("language", list(CASES))
def test_tapping_a_colour_answers_instead_of_asking_again(stack: Stack, language: str) -> None:
    first, which, city_question, city, stock_mark = CASES[language]
    sender = f"variant-{language}-{uuid.uuid4().hex[:8]}"
    meta = {"language": language}
    replies = stack.say(sender, first, meta)
    assert any(which in t for t in _texts(replies)), _texts(replies)
    offered = [b for r in replies for b in (r.get("buttons") or []) if '"variant"' in str(b.get("payload"))]
    assert len(offered) > 1, replies
    button = offered[0]
    code = str(button["payload"]).split('"variant":"')[1].split('"')[0]

    replies = stack.say(sender, button["payload"], meta)
    texts = _texts(replies)
    assert texts and not any(which in t for t in texts), f"asked for the variant again: {texts}"
    if any(city_question in t for t in texts):
        replies = stack.say(sender, city, meta)
        texts = _texts(replies)
    assert any(t.startswith(stock_mark) for t in texts), texts
    cards = [(r.get("custom") or {}).get("kefu_card") for r in replies if (r.get("custom") or {}).get("kefu_card")]
    assert cards and cards[0]["product"]["sku"] == code, cards
