"""kernel/questions.py: a question, whatever NLU read."""

import pytest

from kernel.questions import looks_like_a_question


@pytest.mark.parametrize("text", [
    "对了 门店自提收钱不", "发货了没", "要等多久啊", "那關稅誰要付", "海淀那家晚上几点关", "積分喺門市用唔用得到嗎",
    "how much is shipping to chengdu btw", "so I shouldn't give it to them?", "what time do your agents start",
    "who pays the customs duty", "can my husband grab it instead of me",
])
def test_questions(text: str) -> None:
    assert looks_like_a_question(text)


@pytest.mark.parametrize("text", [
    "白色 500ml", "好 明天再说", "ok", "' OR 1=1 --", "KF20261118001", "black 41mm, shenzhen", "谢谢", "", None,
    "我是用支付宝余额付的",
])
def test_not_questions(text) -> None:  # type: ignore[no-untyped-def]
    assert not looks_like_a_question(text)
