"""The knowledge base's phrasings as ask_faq training examples (knowledge_base/building/nlu_export.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from knowledge_base.__main__ import main
from knowledge_base.building.nlu_export import ExportSettings, export, select, stale, write
from knowledge_base.building.source import FaqEntry, load_entries

ROOT = Path(__file__).resolve().parents[2]
NLU = ROOT / "bot" / "data" / "nlu"
LANGS = ("en", "zh-Hans", "zh-Hant")


def _entry(entry_id: str, category: str, en, hans=("问题一", "问题二", "问题三"), hant=("問題一", "問題二", "問題三")):
    return FaqEntry(
        id=entry_id,
        category=category,
        questions={"en": tuple(en), "zh-Hans": tuple(hans), "zh-Hant": tuple(hant)},
        answer={"en": "a", "zh-Hans": "答", "zh-Hant": "答"},
    )


def test_committed_examples_match_the_knowledge_base() -> None:
    files = export(load_entries(ROOT / "knowledge_base" / "faq"), NLU, ExportSettings())
    assert stale(files) == [], "run `python -m knowledge_base nlu-export`, then `make model`"


def test_committed_files_are_rasa_nlu_with_only_ask_faq() -> None:
    entries = load_entries(ROOT / "knowledge_base" / "faq")
    coupon_questions = {q for e in entries if e.category == "coupons" for _, q in e.all_questions()}
    for lang in LANGS:
        document = yaml.safe_load((NLU / f"faq_kb.{lang}.yml").read_text(encoding="utf-8"))
        assert [item["intent"] for item in document["nlu"]] == ["ask_faq"]
        examples = [line[2:] for line in document["nlu"][0]["examples"].splitlines()]
        assert len(examples) > 300
        assert not coupon_questions & set(examples)


def test_selection_rules() -> None:
    entries = [
        _entry("returns.a", "returns", ["Can I return it?", "return policy", "  send   it back ", "fourth one"]),
        _entry("coupons.a", "coupons", ["coupon policy", "stacking coupons", "coupon in store"]),
        _entry("returns.b", "returns", ["RETURN POLICY", "what about [brackets](x)", "refund {json}"]),
    ]
    chosen = select(entries, existing={"can i return it?"}, settings=ExportSettings(per_entry=3))
    # already an example of some intent (case-insensitive), beyond per_entry, markup, excluded category,
    # and a repeat of an earlier phrasing are all left out; whitespace is collapsed
    assert chosen["en"] == ["return policy", "send it back"]
    assert chosen["zh-Hans"] == ["问题一", "问题二", "问题三"]  # the later entries' repeats are dropped
    assert chosen["zh-Hant"] == ["問題一", "問題二", "問題三"]


def test_existing_examples_across_intents_are_not_repeated(tmp_path: Path) -> None:
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "orders.en.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: order_status\n  examples: |\n    - where is [order 123](order_id) ok\n'
        "    - Return Policy\n",
        encoding="utf-8",
    )
    entries = [_entry("returns.a", "returns", ["return policy", "where is order 123 ok", "new one"])]
    files = export(entries, nlu, ExportSettings())
    text = files[nlu / "faq_kb.en.yml"]
    assert "    - new one\n" in text
    assert "return policy" not in text.split("examples: |", 1)[1]
    assert "order 123" not in text


def test_cli_writes_checks_and_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nlu = tmp_path / "nlu"
    shutil.copytree(NLU, nlu)
    for lang in LANGS:
        (nlu / f"faq_kb.{lang}.yml").unlink()
    assert main(["nlu-export", "--nlu-dir", str(nlu), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["nlu-export", "--nlu-dir", str(nlu)]) == 0
    assert "wrote 3 file(s)" in capsys.readouterr().out
    for lang in LANGS:
        assert (nlu / f"faq_kb.{lang}.yml").read_text(encoding="utf-8") == (NLU / f"faq_kb.{lang}.yml").read_text(
            encoding="utf-8"
        )
    assert main(["nlu-export", "--nlu-dir", str(nlu), "--check"]) == 0
    assert main(["nlu-export", "--nlu-dir", str(nlu)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_write_replaces_only_changed_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text("same", encoding="utf-8")
    assert write({a: "same", b: "new"}) == [b]
    assert b.read_text(encoding="utf-8") == "new"
    assert not list(tmp_path.glob(".*.tmp"))


def test_bad_arguments_and_broken_nlu_files_get_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nlu-export", "--nlu-dir", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["nlu-export", "--per-entry", "0"]) == 2
    assert "--per-entry" in capsys.readouterr().err
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "broken.yml").write_text("nlu: [\n  - intent: x\n", encoding="utf-8")
    assert main(["nlu-export", "--nlu-dir", str(nlu)]) == 2
    assert "cannot read Rasa NLU data" in capsys.readouterr().err
    (nlu / "broken.yml").write_text("- just a list\n", encoding="utf-8")
    assert main(["nlu-export", "--nlu-dir", str(nlu)]) == 2
    assert "not Rasa NLU data" in capsys.readouterr().err
    assert not list(nlu.glob("faq_kb.*"))  # nothing written on error
