"""Script detection and normalisation (kernel.language)."""

from __future__ import annotations

import pytest

from kernel.language import detect, normalise, requested_language, resolve


@pytest.mark.parametrize(
    "text, expected",
    [
        ("你好", "zh"),
        ("您好，請問營業時間", "zh-Hant"),
        ("请问营业时间", "zh-Hans"),
        ("hi there", "en"),
        ("谢谢", "zh-Hans"),
        ("謝謝", "zh-Hant"),
        ("我的order到哪了", "zh"),
        ("我的訂單到哪了", "zh-Hant"),
        ("where is my 订单", "zh-Hans"),
        ("ok", None),
        ("KF20261120001", None),
        ("5678", None),
        ("👍👍", None),
        ("", None),
    ],
)
def test_detect(text, expected):
    assert detect(text).language == expected


@pytest.mark.parametrize(
    "detected, previous, expected",
    [
        ("en", "zh-Hant", "en"),
        ("zh", "zh-Hant", "zh-Hant"),
        ("zh", "en", "zh-Hans"),
        ("zh", None, "zh-Hans"),
        (None, "en", "en"),
        (None, None, "zh-Hans"),
        ("zh-Hant", "zh-Hans", "zh-Hant"),
    ],
)
def test_resolve_keeps_the_script_when_a_message_has_none(detected, previous, expected):
    assert resolve(detected, previous) == expected


def test_normalise_folds_width_script_and_case_and_keeps_length():
    text = "ＫＦ２０２６　請問發票ABC"
    out = normalise(text)
    assert out == "kf2026 请问发票abc"
    assert len(out) == len(text)


def test_normalise_keeps_length_for_every_character_class():
    text = "İ" + "ß" + "😀" + "ｱ" + "請" + "\u3000"
    assert len(normalise(text)) == len(text)


# -- requests for another language (issue 25) --------------------------------------------------------------------
@pytest.mark.parametrize("message, language", [
    ("sorry can you say that in English?", "en"),
    ("could u repeat that in english? my colleague cant read chinese", "en"),
    ("my wife doesnt read chinese, English please", "en"),
    ("oops my colleague can't read that, english again please", "en"),
    ("pls reply in english", "en"),
    ("reply in chinese pls", "zh-Hans"),
    ("could you say this in mandarin, my dad wants to read it", "zh-Hans"),
    ("traditional chinese please, I'm from Taipei and read it better", "zh-Hant"),
    ("看不太懂英文 可以用中文回复我吗", "zh-Hans"),
    ("好了 麻烦换回中文 看英文头疼", "zh-Hans"),
    ("可以用中文講一次嗎？", "zh-Hant"),  # the request itself is Traditional
    ("好 可以切回繁體中文了", "zh-Hant"),
    ("说英文", "en"),
])
def test_a_request_for_a_language_is_read(message: str, language: str) -> None:
    assert requested_language(message) == language


@pytest.mark.parametrize("message", [
    "你们有英文说明书吗", "英文版的说明书有吗", "我要用中文名字开发票", "用英文名字注册可以吗", "中文",
    "do you have an english manual", "is the manual in chinese", "can I write the card in chinese",
    "does the watch support chinese", "the box is in chinese only", "", "x" * 400,
])
def test_a_language_named_in_a_question_is_no_request(message: str) -> None:
    assert requested_language(message) is None
