"""knowledge_base/serving/colloquial.py: the question inside how people type it."""

import pytest

from kernel.language import normalise
from knowledge_base.serving.colloquial import plain_question


@pytest.mark.parametrize("typed, plain", [
    ("对了 门店自提收钱不", "门店自提收钱吗"),
    ("好啦 那吹風機壞掉有保固嗎", "吹风机坏掉有保固吗"),
    ("谢谢 那要幾天才到", "要几天才到"),
    ("quick q, do silver members get a birthday coupon?", "do silver members get a birthday coupon?"),
    ("how much is shipping to chengdu btw", "how much is shipping to chengdu"),
    ("actually forget it. how do I get a fapiao with my company name on it",
     "how do i get a fapiao with my company name on it"),
    ("while I wait - opening hours of your beijing stores?", "opening hours of your beijing stores?"),
    ("发货了没", "发货了吗"),
    # Cantonese, read as Mandarin only when a Cantonese-only character or word is there
    ("積分喺門市用唔用得到", "积分在门市用不用得到"),
    ("咁運費幾錢呀", "运费多少钱"),
    ("你們有冇寄香港㗎", "你们有没有寄香港"),
    ("大概要等幾多日", "大概要等几天"),
])
def test_wrapping_comes_off(typed: str, plain: str) -> None:
    assert plain_question(normalise(typed)) == plain


@pytest.mark.parametrize("typed", [
    # words that start a question are kept: "还有货吗", "那家店", "那个杯子"
    "还有货吗", "那家店几点关", "那个杯子多少钱", "有没有货",
    # no question: nothing comes off
    "谢谢啦哈", "多谢你了", "thank you so much", "就一个吸汗带很便宜的呀", "好的", "ok", "hi",
    # Mandarin is never mapped as Cantonese
    "系统什么时候更新", "几点开门",
    "", "' OR 1=1 --", "x" * 2000,
])
def test_the_rest_is_kept(typed: str) -> None:
    assert plain_question(normalise(typed)) == normalise(typed)
