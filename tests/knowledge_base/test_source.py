"""Loading and validating FAQ sources: every problem named with its file and entry id."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.building.source import ValidationError, load_entries, parse_documents, source_hash

GOOD = """
- id: shipping.time
  category: shipping
  questions:
    zh-Hans: ["多久发货"]
    en: ["when do you ship"]
  answer:
    zh-Hans: "24小时内发货。"
    en: "Within 24 hours."
"""


def _problems(text: str, name: str = "faq/a.yml") -> list:
    return [str(p) for p in parse_documents([(name, text)]).problems]


def test_valid_entry_generates_traditional_from_simplified() -> None:
    result = parse_documents([("a.yml", GOOD)])
    assert result.problems == []
    entry = result.entries[0]
    assert entry.answer["zh-Hant"] == "24小時內發貨。"
    assert entry.questions["zh-Hant"] == ("多久發貨",)


def test_duplicate_ids_across_files_name_both_files() -> None:
    result = parse_documents([("faq/a.yml", GOOD), ("faq/b.yml", GOOD)])
    assert len(result.entries) == 1
    [problem] = result.problems
    assert problem.file == "faq/b.yml" and problem.entry_id == "shipping.time"
    assert "duplicate id" in problem.message and "faq/a.yml" in problem.message


def test_missing_answer_for_a_language() -> None:
    problems = _problems(GOOD.replace('    en: "Within 24 hours."\n', ""))
    assert problems == ["faq/a.yml [shipping.time]: answer.en is missing"]


def test_empty_questions() -> None:
    problems = _problems(GOOD.replace('en: ["when do you ship"]', "en: []"))
    assert problems == ["faq/a.yml [shipping.time]: questions.en is empty"]


def test_bad_id_and_unknown_language_are_reported_together() -> None:
    text = GOOD.replace("id: shipping.time", "id: Shipping Time!").replace(
        '    en: ["when', '    fr: ["x"]\n    en: ["when'
    )
    problems = _problems(text)
    assert any("bad id 'Shipping Time!'" in p for p in problems)
    assert any("unknown language 'fr'" in p for p in problems)


def test_yaml_syntax_error_names_the_line() -> None:
    problems = _problems("- id: x\n  questions: [unclosed\n")
    assert len(problems) == 1 and "not valid YAML at line" in problems[0]


def test_hostile_strings_are_plain_data() -> None:
    text = GOOD.replace("多久发货", "'; DROP TABLE kb_unanswered; -- <script>alert(1)</script>")
    result = parse_documents([("a.yml", text)])
    assert result.problems == []
    assert "<script>" in result.entries[0].questions["zh-Hans"][0]


def test_load_entries_raises_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        GOOD + GOOD.replace("shipping.time", "x.y").replace('    en: "Within 24 hours."\n', ""), encoding="utf-8"
    )
    with pytest.raises(ValidationError) as info:
        load_entries(tmp_path)
    text = str(info.value)
    assert "2 problem(s)" in text
    assert "b.yml [shipping.time]: duplicate id" in text
    assert "b.yml [x.y]: answer.en is missing" in text


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no FAQ files"):
        load_entries(tmp_path)


def test_source_hash_changes_with_content(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(GOOD, encoding="utf-8")
    before = source_hash(tmp_path)
    assert source_hash(tmp_path) == before
    (tmp_path / "a.yml").write_text(GOOD.replace("24", "48"), encoding="utf-8")
    assert source_hash(tmp_path) != before


def test_fixture_and_project_sources_validate() -> None:
    root = Path(__file__).resolve().parents[2]
    assert len(load_entries(root / "tests" / "knowledge_base" / "fixtures" / "faq")) == 8
