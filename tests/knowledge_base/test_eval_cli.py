"""python -m knowledge_base eval on tiny datasets (CSV and JSONL, oos labels, project KB mode)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.__main__ import main
from knowledge_base.learning.evaluation import OOS, DataError, read_examples

TRAIN = {
    "card_lost": [
        "I lost my card",
        "my card is missing",
        "I can't find my bank card",
        "card lost, what now",
        "someone stole my card",
        "my wallet with the card is gone",
    ],
    "transfer_fee": [
        "how much does a transfer cost",
        "is there a fee for transfers",
        "transfer charges",
        "why was I charged for sending money",
        "what do transfers cost",
        "fees on bank transfers",
    ],
    "open_account": [
        "how do I open an account",
        "I want to open a new account",
        "sign up for an account",
        "create a bank account",
        "open account online",
        "new customer account opening",
    ],
    "exchange_rate": [
        "what is the exchange rate",
        "currency conversion rate",
        "how much is a dollar in euros",
        "exchange rate for pounds",
        "rate for converting currency",
        "today's FX rate",
    ],
}
TEST = [
    ("I think I lost my debit card", "card_lost"),
    ("are transfers free", "transfer_fee"),
    ("how can I open a new account", "open_account"),
    ("what rate do you use to convert currencies", "exchange_rate"),
    ("who won the football match yesterday", "oos"),
    ("recipe for chocolate cake", "NO_NODES_DETECTED"),
    ("what's the capital of Australia", ""),
]


def _write_csv(path: Path, rows, header=("text", "label")) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture()
def files(tmp_path: Path):
    train = _write_csv(
        tmp_path / "train.csv", [(t, label) for label, texts in TRAIN.items() for t in texts], ("sentence", "label")
    )
    test = tmp_path / "test.jsonl"
    test.write_text("\n".join(json.dumps({"text": t, "label": label}) for t, label in TEST), encoding="utf-8")
    return train, test


def test_read_examples_oos_labels(files) -> None:
    _, test = files
    labels = [ex.label for ex in read_examples(test)]
    assert labels[-3:] == [OOS, OOS, OOS]


def test_eval_train_test(files, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_KB_ENCODER", "usem3")
    train, test = files
    assert main(["eval", "--train", str(train), "--test", str(test)]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("in_scope_accuracy", "oos_recall", "oos_precision", "overall_accuracy", "mrr_at_5"):
        assert result[key] is None or 0.0 <= result[key] <= 1.0, key
    assert result["counts"]["in_scope"] == 4 and result["counts"]["oos"] == 3 and result["counts"]["entries"] == 4
    assert result["latency_ms"]["p50"] > 0 and result["latency_ms"]["p95"] >= result["latency_ms"]["p50"]
    assert result["in_scope_top1_no_threshold"] == 1.0
    assert result["mrr_at_5"] == 1.0
    assert result["overall_accuracy"] >= 4 / 7


def test_eval_project_kb(tmp_path, writable_kb, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_KB_ENCODER", "usem3")
    test = tmp_path / "heldout.jsonl"
    rows = [
        ("退款大概几天到", "refunds.how_long"),
        ("你們門市幾點關門", "stores.hours"),
        ("do you deliver with SF", "shipping.carriers"),
        ("你们卖汽车吗", "oos"),
    ]
    test.write_text(
        "\n".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) for t, label in rows), encoding="utf-8"
    )
    args = [
        "eval",
        "--test",
        str(test),
        "--sources",
        str(writable_kb.sources),
        "--out-dir",
        str(writable_kb.output_dir),
    ]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["counts"]["entries"] == 8 and result["counts"]["test"] == 4
    assert result["in_scope_top1_no_threshold"] == 1.0
    assert set(result["by_language"]) == {"zh-Hans", "zh-Hant", "en"}


def test_eval_unknown_label_in_project_mode(tmp_path, writable_kb, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_KB_ENCODER", "usem3")
    test = tmp_path / "t.jsonl"
    test.write_text(json.dumps({"text": "x", "label": "no.such.entry"}), encoding="utf-8")
    args = [
        "eval",
        "--test",
        str(test),
        "--sources",
        str(writable_kb.sources),
        "--out-dir",
        str(writable_kb.output_dir),
    ]
    assert main(args) == 2
    assert "no.such.entry" in capsys.readouterr().err


def test_bad_files(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "label": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:2"):
        read_examples(bad)
    csv_bad = _write_csv(tmp_path / "bad.csv", [("a", "b")], ("foo", "bar"))
    with pytest.raises(DataError, match="need a header"):
        read_examples(csv_bad)
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "missing.csv")
