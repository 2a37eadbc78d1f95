"""Matching: three outcomes, answers in the customer's script, calibrated and overridable thresholds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from knowledge_base.config import load_config
from knowledge_base.serving.index import Thresholds
from knowledge_base.serving.runtime import KnowledgeBase
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER, Candidate, decide

from .conftest import with_thresholds


@pytest.fixture(scope="module")
def matcher(built_kb):
    return KnowledgeBase(built_kb).matcher()


@pytest.mark.parametrize(
    "query, entry",
    [
        ("退款一般要几天才能到账啊", "refunds.how_long"),
        ("退款一般要幾天才能到帳", "refunds.how_long"),
        ("how many days until I get my refund", "refunds.how_long"),
        ("你们发顺丰快递吗", "shipping.carriers"),
        ("ｗｈａｔ ｔｉｍｅ ｄｏ ｓｔｏｒｅｓ ｏｐｅｎ", "stores.hours"),  # full-width
        ("可以用支付宝付钱吗", "payment.methods"),
    ],
)
def test_paraphrases_are_answered(matcher, query: str, entry: str) -> None:
    result = matcher.match(query)
    assert result.outcome == ANSWER, result
    assert result.candidates[0].id == entry


@pytest.mark.parametrize(
    "query, language, fragment",
    [
        ("退款要多久", "zh-Hans", "工作日"),
        ("退款要多久", "zh-Hant", "工作天"),  # hand-written Traditional answer
        ("積分可以抵現嗎", "zh-Hant", "積分"),  # Traditional generated with OpenCC from Simplified
        ("points as cash?", "en", "points"),
    ],
)
def test_answer_in_customer_script(matcher, query: str, language: str, fragment: str) -> None:
    # the query script wins over the conversation language, except for script-neutral Chinese
    result = matcher.match(query, language)
    assert result.language == language
    assert result.outcome == ANSWER
    assert fragment in result.answer


def test_traditional_query_gets_traditional_answer_even_in_simplified_conversation(matcher) -> None:
    result = matcher.match("請問門市週末有營業嗎", "zh-Hans")
    assert result.language == "zh-Hant"
    assert result.answer is not None and "營業" in result.answer


@pytest.mark.parametrize("query", ["你们卖汽车吗", "what's the weather in Paris tomorrow", "帮我写一首关于月亮的诗"])
def test_out_of_scope_gets_no_answer(matcher, query: str) -> None:
    assert matcher.match(query).outcome == NO_ANSWER


def test_clarify_when_answer_threshold_is_out_of_reach(built_kb) -> None:
    config = with_thresholds(built_kb, refuse=0.01, answer=1.01)
    result = KnowledgeBase(config).matcher().match("退款")
    assert result.outcome == CLARIFY
    assert 1 <= len(result.candidates) <= 3
    assert result.candidates[0].id == "refunds.how_long"
    assert result.answer is None


def test_thresholds_from_environment(built_kb) -> None:
    config = load_config(env={"KEFU_KB_REFUSE_THRESHOLD": "1.01", "KEFU_KB_ANSWER_THRESHOLD": "1.02"})
    merged = replace(built_kb, thresholds=config.thresholds)
    matcher = KnowledgeBase(merged).matcher()
    assert (matcher.thresholds.refuse, matcher.thresholds.answer) == (1.01, 1.02)
    assert matcher.match("退款多久到账").outcome == NO_ANSWER  # an exact question, refused by the override


def test_decide_pure() -> None:
    t = Thresholds(refuse=0.3, answer=0.6, margin=0.15)
    assert decide([], t).outcome == NO_ANSWER
    assert decide([Candidate(0, 0.2)], t).outcome == NO_ANSWER
    assert decide([Candidate(0, 0.9), Candidate(1, 0.1)], t).outcome == ANSWER
    close = decide([Candidate(0, 0.8), Candidate(1, 0.75), Candidate(2, 0.7), Candidate(3, 0.69)], t)
    assert close.outcome == CLARIFY and [c.entry for c in close.candidates] == [0, 1, 2]
    plausible = decide([Candidate(0, 0.5), Candidate(1, 0.05)], t)
    assert plausible.outcome == CLARIFY and [c.entry for c in plausible.candidates] == [0]


def test_entry_scoring_uses_all_phrasings(matcher) -> None:
    ranked, timing = matcher.rank("what is your return policy for items I changed my mind about")
    assert matcher.index.entries[ranked[0].entry].id == "returns.seven_day"
    assert set(timing) == {"encode", "search", "fusion", "total"}
    ids = [matcher.index.entries[c.entry].id for c in ranked]
    assert len(ids) == len(set(ids))  # one row per entry, not per question


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "🙏" * 500,
        "a" * 10000,
        "退款" * 5000,
        "'; DROP TABLE kb_unanswered; --",
        "<script>alert('x')</script>",
        "退款 refund 多久 how long 退貨",
        "\x00\x01\x02",
        "1234567890",
        "？？？！！",
    ],
)
def test_hostile_input_never_raises(matcher, text: str) -> None:
    result = matcher.match(text)
    assert result.outcome in (ANSWER, CLARIFY, NO_ANSWER)
    assert result.language in ("zh-Hans", "zh-Hant", "en")


@pytest.mark.parametrize("ablation", ["dense", "lexical", "nearest"])
def test_ablations_rank_without_errors(built_kb, ablation) -> None:
    """Benchmark ablations: candidates from one side only, even when more candidates than max_candidates."""
    from knowledge_base.learning.ablation import ablated_features
    from knowledge_base.serving.lexical import tokenize
    from knowledge_base.serving.scoring import score

    matcher = KnowledgeBase(built_kb).matcher()
    config = replace(built_kb.matching, max_candidates=2)
    text = "退款多久到账 refund how long"
    vector = matcher.encoder.encode_queries([text])[0]
    ranked = score(matcher.index, vector, tokenize(text), config, ablated_features(ablation)).ranked()
    assert 1 <= len(ranked) <= 2


def test_entry_classifier_with_two_entries_tells_them_apart() -> None:
    """sklearn keeps one row of weights for two classes; both entries must still get their own logit."""
    import numpy as np

    from knowledge_base.building.assemble import train_classifier

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=8), rng.normal(size=8)
    vectors = np.vstack(
        [a + 0.1 * rng.normal(size=8) for _ in range(5)] + [b + 0.1 * rng.normal(size=8) for _ in range(5)]
    )
    clf = train_classifier(vectors.astype(np.float32), np.repeat([0, 1], 5), 2)
    assert clf.probabilities(a.astype(np.float32)).argmax() == 0
    assert clf.probabilities(b.astype(np.float32)).argmax() == 1


def test_an_ablated_build_calibrates_and_answers_with_its_own_features(built_kb) -> None:
    """A benchmark's ablation goes through its own code path: the build calibrates with the ablated features and
    the ablated matcher scores with them; the product's matcher is untouched."""
    import numpy as np

    from knowledge_base.building.indexing import build_index, records_from_entries
    from knowledge_base.building.source import load_entries
    from knowledge_base.learning.ablation import ablated_features, ablated_matcher
    from knowledge_base.serving.encoders import get_encoder
    from knowledge_base.serving.index import FEATURES
    from knowledge_base.serving.lexical import tokenize
    from knowledge_base.serving.matcher import Matcher
    from knowledge_base.serving.scoring import candidate_features

    data = records_from_entries(load_entries(built_kb.sources))
    built = build_index(data, get_encoder(built_kb.encoder), built_kb, features=ablated_features("nearest"))
    matcher = ablated_matcher(built.index, built.encoder, built_kb, "nearest")
    text = "退款多久到账"
    vector = matcher.encoder.encode_queries([text])[0]
    _entries, feats, _ = matcher.candidate_features(matcher.index, vector, tokenize(text), built_kb.matching)
    used = {FEATURES[i] for i in np.flatnonzero(np.abs(feats).sum(axis=0))}
    assert used and used <= {"d_max", "d_max_gap"}
    assert matcher.match(text).outcome in (ANSWER, CLARIFY, NO_ANSWER)
    assert Matcher.candidate_features is candidate_features
    assert KnowledgeBase(built_kb).matcher().candidate_features is candidate_features
    with pytest.raises(ValueError, match="ablation must be one of"):
        ablated_features("none")
