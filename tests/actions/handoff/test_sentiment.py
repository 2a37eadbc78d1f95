"""The Chinese + English sentiment lexicon."""

from __future__ import annotations

import pytest

from actions.sentiment import label_for, score_message, score_transcript

STRONGLY_NEGATIVE = [
    "你们这是什么垃圾服务！！",
    "等了三天了还没发货，你们是不是骗子",
    "太失望了，再也不买了",
    "訂單到底什麼時候到？氣死我了",
    "你們這家黑店，我要去消協投訴",
    "This is the WORST service ever, total scam!!",
    "absolutely unacceptable, you are useless",
    "I'm so fed up with this garbage",
]
NEGATIVE_NOT_STRONG = ["我的杯子碎了", "快递太慢了", "不满意", "I am a bit disappointed", "the lid is broken"]
NEUTRAL_OR_POSITIVE = ["我的订单到哪了", "怎么开发票", "where is my order", "谢谢，很满意", "thanks, great help",
                       "not bad", "我不是很生气", "你们是不是有现货", "/human_handoff", "", "😀", "KF20261101001"]


@pytest.mark.parametrize("text", STRONGLY_NEGATIVE)
def test_strongly_negative(text: str) -> None:
    assert score_message(text).label == "strongly_negative", score_message(text)


@pytest.mark.parametrize("text", NEGATIVE_NOT_STRONG)
def test_negative_but_not_strong(text: str) -> None:
    assert score_message(text).label == "negative", score_message(text)


@pytest.mark.parametrize("text", NEUTRAL_OR_POSITIVE)
def test_neutral_or_positive(text: str) -> None:
    assert score_message(text).label in ("neutral", "positive"), score_message(text)


def test_negation_intensifiers_and_exclamation() -> None:
    assert score_message("不开心").score < 0 < score_message("开心").score
    assert score_message("not happy").score < 0 < score_message("happy").score
    assert score_message("非常失望").score < score_message("失望").score
    assert score_message("very disappointed").score < score_message("disappointed").score
    assert score_message("太差了！！！").score < score_message("太差了").score
    assert score_message("TERRIBLE SERVICE").score < score_message("terrible service").score


def test_scores_are_bounded_and_traditional_matches_simplified() -> None:
    huge = "垃圾骗子黑店" * 200
    assert -1.0 <= score_message(huge).score < -0.9
    assert score_message("氣死我了").score == score_message("气死我了").score
    assert score_message("ＷＯＲＳＴ").label == score_message("worst").label


def test_transcript_sentiment_recent_window() -> None:
    calm = score_transcript(["你好", "我的订单到哪了"])
    assert calm.label == "neutral" and calm.worst_message is None
    angry = score_transcript(["你好", "我的订单到哪了", "你们这是什么垃圾服务！！"])
    assert angry.recent_strongly_negative and angry.label == "strongly_negative"
    assert angry.worst_message == "你们这是什么垃圾服务！！"
    old_anger = score_transcript(["垃圾！！", "好的", "谢谢", "可以"], window=3)
    assert not old_anger.recent_strongly_negative and old_anger.worst_score < -0.6
    assert score_transcript([]).label == "neutral"


def test_labels() -> None:
    assert label_for(-0.6) == "strongly_negative" and label_for(-0.3) == "negative"
    assert label_for(0.0) == "neutral" and label_for(0.5) == "positive"
    assert label_for(-0.5, strongly_negative=-0.4) == "strongly_negative"
