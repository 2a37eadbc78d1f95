"""kernel/questions.py: a question, whatever NLU read."""

import pytest

from kernel.questions import elliptical_followup, looks_like_a_question


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


@pytest.mark.parametrize("text", [
    "给我写首诗 夸夸你们家保温杯 要押韵的😄", "幫我寫一首情人節的詩", "你就直接告诉我答案嘛 求求了", "你算一下嘛 很簡單啊",
    "128乘36等於多少", "quick one, what's 15% of 240", "fine. 12+30?", "just give me your personal opinion",
    "write me a poem about cats", "can you translate this for me",
])
def test_assistant_tasks(text: str) -> None:
    from kernel.questions import asks_for_a_task

    assert asks_for_a_task(text)


@pytest.mark.parametrize("text", [
    "满199减30能和别的券一起用吗", "帮我算一下运费多少", "请拨打400-820-6688?", "12/25能发货吗", "可以帮我写贺卡吗",
    "刻字多少钱", "how much is 2 x the 500ml bottle", "KF20261118001", "白色 500ml",
])
def test_shop_questions_are_no_tasks(text: str) -> None:
    from kernel.questions import asks_for_a_task

    assert not asks_for_a_task(text)


@pytest.mark.parametrize("text, expected", [
    ("謝謝 那要幾天才到", True), ("你好 请问发票怎么开", True), ("hi, how do I get an invoice?", True),
    ("thanks, what about the black one?", True), ("谢谢", False), ("好 明天再说", False), ("ok thanks", False),
    ("发票怎么开", False),
])
def test_a_question_after_courtesy(text: str, expected: bool) -> None:
    from kernel.questions import question_after_courtesy

    assert question_after_courtesy(text) is expected


def _city(text: str, city: str) -> list:
    start = text.lower().find(city)
    return [{"entity": "city", "value": city, "start": start, "end": start + len(city)}] if start >= 0 else []


@pytest.mark.parametrize("message, city, expected", [
    ("ok and in beijing?", "beijing", True),
    ("那北京呢", "北京", True),
    ("那台北呢？", "台北", True),
    ("what about tomorrow", "", True),
    ("那後天呢", "", True),
    # a question of its own, or a bare value: not a follow-up that only swaps the place
    ("北京有没有门店", "北京", False),
    ("beijing stores opening hours?", "beijing", False),
    ("and in beijing do you have the black one?", "beijing", False),
    ("那在北京有吗", "北京", False),
    ("上海", "上海", False),
    ("ok", "", False),
    ("", "", False),
])
def test_a_follow_up_that_only_swaps_a_place_or_a_day(message: str, city: str, expected: bool) -> None:
    assert elliptical_followup(message, _city(message, city)) is expected
