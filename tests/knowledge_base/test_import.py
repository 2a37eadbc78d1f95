"""CSV/JSONL import: grouping by id or by answer, language detection, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from knowledge_base.__main__ import main
from knowledge_base.building.importer import ImportError_, convert
from knowledge_base.building.source import parse_documents


def test_csv_grouped_by_id_and_languages_detected(tmp_path: Path) -> None:
    src = tmp_path / "faq.csv"
    src.write_text(
        "question,answer,id,category\n"
        "退款多久到账,1到3个工作日。,refunds.time,refunds\n"
        "退款多久到帳,1到3個工作天。,refunds.time,refunds\n"
        "How long does a refund take?,1 to 3 working days.,refunds.time,refunds\n"
        "钱什么时候退回来,1到3个工作日。,refunds.time,refunds\n",
        encoding="utf-8",
    )
    entries, report = convert(src)
    assert report.rows == 4 and report.skipped == []
    [entry] = entries
    assert entry["id"] == "refunds.time"
    assert entry["questions"] == {
        "zh-Hans": ["退款多久到账", "钱什么时候退回来"],
        "zh-Hant": ["退款多久到帳"],
        "en": ["How long does a refund take?"],
    }
    assert entry["answer"]["zh-Hant"] == "1到3個工作天。"
    assert report.warnings == []


def test_jsonl_without_id_grouped_by_answer(tmp_path: Path) -> None:
    src = tmp_path / "faq.jsonl"
    rows = [
        {"question": "Do you ship abroad?", "answer": "Only within mainland China."},
        {"question": "international shipping?", "answer": "Only within mainland China."},
        {"question": "Are you open on Sunday?", "answer": "Yes, 10:00-22:00.", "lang": "en-US"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    entries, report = convert(src)
    assert [len(e["questions"]["en"]) for e in entries] == [2, 1]
    assert all(e["id"].startswith("imported.") for e in entries)
    # English only: the validator's complaints become warnings naming the entry
    assert any("answer.zh-Hans is missing" in w for w in report.warnings)


def test_bad_rows_are_skipped_with_reasons(tmp_path: Path) -> None:
    src = tmp_path / "faq.csv"
    src.write_text(
        "question,answer,id,lang\n,empty question,,\n😀😀,emoji,,\nhi there,x,BAD ID,\nok,y,,xx\n", encoding="utf-8"
    )
    entries, report = convert(src)
    assert entries == []
    assert len(report.skipped) == 4
    assert any("bad id 'BAD ID'" in s for s in report.skipped)
    assert any("cannot tell the language" in s for s in report.skipped)


def test_missing_columns_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "faq.csv"
    src.write_text("q,a\nx,y\n", encoding="utf-8")
    with pytest.raises(ImportError_, match="question and answer columns"):
        convert(src)


def test_cli_writes_a_valid_source_file(tmp_path: Path) -> None:
    src = tmp_path / "faq.csv"
    src.write_text(
        "question,answer,id,lang\n"
        "怎么开发票,订单页申请。,invoices.how,zh-CN\n"
        "怎麼開發票,訂單頁申請。,invoices.how,zh-TW\n"
        "how do I get an invoice,Request it on the order page.,invoices.how,en\n",
        encoding="utf-8",
    )
    out = tmp_path / "faq" / "imported.yml"
    assert main(["import", str(src), "--out", str(out)]) == 0
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data[0]["category"] == "imported"
    result = parse_documents([(str(out), out.read_text(encoding="utf-8"))])
    assert result.problems == [] and result.entries[0].id == "invoices.how"
