"""Script detection and normalisation (kernel.language)."""

from __future__ import annotations

import pytest

from kernel.language import detect, normalise, resolve


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
