"""Content checks for the starter FAQ knowledge base (knowledge_base/faq/*.yml).

These tests read the YAML sources directly with PyYAML, so they do not depend on
the knowledge-base loader. They guard coverage (entry count, topics, phrasings
per language), integrity (unique ids, no question shared by two entries) and the
script of the Chinese texts (Traditional stays Traditional, Simplified stays
Simplified), which the matcher relies on to answer in the customer's script.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml

from kernel.language import ENGLISH, SIMPLIFIED, TRADITIONAL, detect, normalise

FAQ_DIR = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"
LANGS: Tuple[str, ...] = (SIMPLIFIED, TRADITIONAL, ENGLISH)
MIN_ENTRIES = 120
MIN_PHRASINGS = 3
TOPICS = frozenset(
    {
        "returns",
        "refunds",
        "shipping",
        "same_day",
        "pickup",
        "coupons",
        "membership",
        "price_protection",
        "invoices",
        "payment",
        "warranty",
        "b2b",
        "custom_orders",
        "account_privacy",
        "stores",
    }
)
ID_PATTERN = re.compile(r"^[a-z0-9_.-]+$")
# A Chinese text "detects" as the wrong script when the detector says so; texts
# without any script-specific character (detector answers "zh") are allowed.
WRONG_SCRIPT = {SIMPLIFIED: TRADITIONAL, TRADITIONAL: SIMPLIFIED}


@dataclass(frozen=True)
class Entry:
    source: str
    data: dict

    @property
    def id(self) -> str:
        return str(self.data.get("id"))


def _load_entries() -> List[Entry]:
    entries: List[Entry] = []
    for path in sorted(FAQ_DIR.glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            docs = yaml.safe_load(handle)
        assert isinstance(docs, list), f"{path.name}: top level must be a list of entries"
        entries.extend(Entry(path.name, item) for item in docs)
    return entries


ENTRIES = _load_entries()


def _question_key(text: str) -> str:
    """Questions that differ only in script, width, case, spaces or punctuation are the same."""
    folded = normalise(unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in folded if ch.isalnum())


def test_entry_count() -> None:
    assert len(ENTRIES) >= MIN_ENTRIES, f"only {len(ENTRIES)} FAQ entries"


def test_entries_are_mappings_with_required_keys() -> None:
    problems = [
        f"{e.source}: {e.id}"
        for e in ENTRIES
        if not isinstance(e.data, dict) or not {"id", "category", "questions", "answer"} <= set(e.data)
    ]
    assert not problems, f"entries missing id/category/questions/answer: {problems}"


def test_ids_unique_well_formed_and_prefixed_by_category() -> None:
    seen: Dict[str, str] = {}
    problems: List[str] = []
    for e in ENTRIES:
        if e.id in seen:
            problems.append(f"duplicate id {e.id} in {e.source} and {seen[e.id]}")
        seen[e.id] = e.source
        if not ID_PATTERN.match(e.id):
            problems.append(f"bad id {e.id!r}")
        category = e.data.get("category")
        if not e.id.startswith(f"{category}."):
            problems.append(f"id {e.id} not prefixed by its category {category}")
        if e.source != f"{category}.yml":
            problems.append(f"{e.id} (category {category}) is in {e.source}")
    assert not problems, "\n".join(problems)


def test_every_topic_present() -> None:
    present = {e.data.get("category") for e in ENTRIES}
    assert TOPICS <= present, f"missing topics: {sorted(TOPICS - present)}"
    assert present <= TOPICS, f"unknown categories: {sorted(present - TOPICS)}"


@pytest.mark.parametrize("lang", LANGS)
def test_enough_distinct_phrasings_per_language(lang: str) -> None:
    problems = []
    for e in ENTRIES:
        questions = (e.data.get("questions") or {}).get(lang) or []
        clean = {_question_key(q) for q in questions if isinstance(q, str) and q.strip()}
        if len(clean) < MIN_PHRASINGS or len(clean) != len(questions):
            problems.append(f"{e.id}: {len(clean)} distinct non-empty of {len(questions)}")
    assert not problems, f"{lang} phrasings: {problems}"


@pytest.mark.parametrize("lang", LANGS)
def test_answers_present(lang: str) -> None:
    missing = [
        e.id
        for e in ENTRIES
        if not isinstance((e.data.get("answer") or {}).get(lang), str) or not e.data["answer"][lang].strip()
    ]
    assert not missing, f"entries without a {lang} answer: {missing}"


def _texts(lang: str) -> List[Tuple[str, str]]:
    out = []
    for e in ENTRIES:
        for q in (e.data.get("questions") or {}).get(lang) or []:
            out.append((e.id, q))
        answer = (e.data.get("answer") or {}).get(lang)
        if isinstance(answer, str):
            out.append((e.id, answer))
    return out


@pytest.mark.parametrize("lang", [SIMPLIFIED, TRADITIONAL])
def test_chinese_script_matches_language(lang: str) -> None:
    wrong = [
        f"{entry_id}: {text}"
        for entry_id, text in _texts(lang)
        if detect(text).language in (WRONG_SCRIPT[lang], ENGLISH, None)
    ]
    assert not wrong, f"{lang} texts detected as another script or language:\n" + "\n".join(wrong)


def test_traditional_answers_carry_traditional_signal() -> None:
    # Answers are long enough that a Traditional one must contain Traditional-only characters.
    flat = [e.id for e in ENTRIES if detect((e.data.get("answer") or {}).get(TRADITIONAL, "")).language != TRADITIONAL]
    assert not flat, f"zh-Hant answers not detected as Traditional: {flat}"


def test_english_texts_are_english() -> None:
    # Questions must read as English. Answers may quote a Chinese UI label or the
    # mini-program's name (customers see those in the app), but stay mostly English.
    wrong = []
    for e in ENTRIES:
        for q in (e.data.get("questions") or {}).get(ENGLISH) or []:
            if detect(q).language != ENGLISH:
                wrong.append(f"{e.id} question: {q}")
        answer = (e.data.get("answer") or {}).get(ENGLISH) or ""
        found = detect(answer)
        if found.latin_words < 5 or found.cjk_chars * 5 > len(answer):
            wrong.append(f"{e.id} answer: {answer}")
    assert not wrong, "en texts not English:\n" + "\n".join(wrong)


def test_no_question_shared_between_entries() -> None:
    owners: Dict[str, set] = defaultdict(set)
    for e in ENTRIES:
        for lang in LANGS:
            for q in (e.data.get("questions") or {}).get(lang) or []:
                owners[_question_key(q)].add(e.id)
    shared = {key: sorted(ids) for key, ids in owners.items() if len(ids) > 1}
    assert not shared, f"questions used by several entries: {shared}"


def test_questions_and_answers_are_reasonable_length() -> None:
    problems = []
    for e in ENTRIES:
        for lang in LANGS:
            for q in (e.data.get("questions") or {}).get(lang) or []:
                if not 1 <= len(q) <= 200:
                    problems.append(f"{e.id} {lang} question length {len(q)}")
            answer = (e.data.get("answer") or {}).get(lang) or ""
            if not 10 <= len(answer) <= 600:
                problems.append(f"{e.id} {lang} answer length {len(answer)}")
    assert not problems, "\n".join(problems)
