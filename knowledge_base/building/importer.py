"""``python -m knowledge_base import FILE --out knowledge_base/faq/imported.yml``.

For sellers moving from another FAQ system. Input: CSV with a header, or JSONL objects, with the
columns ``question, answer`` and optionally ``id, category, lang``.

- Rows are grouped into entries by ``id``; rows without an id are grouped by identical answer text.
- ``lang`` (``zh-Hans``, ``zh-Hant``, ``en`` or common aliases such as ``zh-CN``, ``zh-TW``, ``en-US``) is
  detected per row with ``kernel.language.detect`` when absent.
- Ids are generated (``<category>.<hash>``) when absent; categories default to ``imported``.

The output is a normal FAQ source file; entries that miss a language are listed as warnings, and
``build`` reports them as validation errors until someone adds the missing phrasings.

:func:`quality_report` then says how good the result will be, so the seller knows what to add: the
entries too close to each other to tell apart (centroid cosine at or above 0.9) and the expected outcome
for typical customer messages (the shipped generic set), under the thresholds a build would calibrate.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from kernel.language import CHINESE_UNKNOWN_SCRIPT, ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, detect
from knowledge_base.building.source import ID_PATTERN, parse_entry

_ALIASES = {
    "zh-hans": SIMPLIFIED,
    "zh-cn": SIMPLIFIED,
    "zh_cn": SIMPLIFIED,
    "zh-sg": SIMPLIFIED,
    "zh": SIMPLIFIED,
    "cn": SIMPLIFIED,
    "sc": SIMPLIFIED,
    "zh-hant": TRADITIONAL,
    "zh-tw": TRADITIONAL,
    "zh_tw": TRADITIONAL,
    "zh-hk": TRADITIONAL,
    "zh_hk": TRADITIONAL,
    "tw": TRADITIONAL,
    "hk": TRADITIONAL,
    "tc": TRADITIONAL,
    "en": ENGLISH,
    "en-us": ENGLISH,
    "en-gb": ENGLISH,
    "en_us": ENGLISH,
    "english": ENGLISH,
}


class ImportError_(ValueError):
    """The import file cannot be used; the message says which row and why."""


@dataclass
class ImportReport:
    entries: int = 0
    rows: int = 0
    skipped: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    question: str
    answer: str
    id: Optional[str]
    category: Optional[str]
    lang: Optional[str]


def _read_rows(path: Path) -> List[_Row]:
    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    rows: List[_Row] = []
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportError_(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
            if not isinstance(obj, dict):
                raise ImportError_(f"{path}:{number}: each line must be a JSON object")
            rows.append(_row(number, obj))
        return rows
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
        if not {"question", "answer"} <= fields:
            raise ImportError_(f"{path}: the header needs question and answer columns, got {sorted(fields)}")
        for number, raw in enumerate(reader, 2):
            rows.append(_row(number, {(k or "").strip().lower(): v for k, v in raw.items()}))
    return rows


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _row(number: int, obj: Dict[str, object]) -> _Row:
    return _Row(
        number,
        _text(obj.get("question")),
        _text(obj.get("answer")),
        _text(obj.get("id")) or None,
        _text(obj.get("category")) or None,
        _text(obj.get("lang") or obj.get("language")) or None,
    )


def _language(row: _Row) -> Optional[str]:
    if row.lang:
        return _ALIASES.get(row.lang.lower().replace(" ", ""))
    detected = detect(row.question).language
    if detected == CHINESE_UNKNOWN_SCRIPT:
        answer_lang = detect(row.answer).language
        return answer_lang if answer_lang in (SIMPLIFIED, TRADITIONAL) else SIMPLIFIED
    return detected if detected in LANGUAGES else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40]


def convert(path: Path) -> Tuple[List[Dict[str, object]], ImportReport]:
    """Group the rows of an import file into FAQ entries (plain dicts, ready for YAML)."""
    report = ImportReport()
    groups: Dict[str, Dict[str, object]] = {}
    order: List[str] = []
    for row in _read_rows(path):
        report.rows += 1
        if not row.question or not row.answer:
            report.skipped.append(f"row {row.number}: empty question or answer")
            continue
        lang = _language(row)
        if lang is None:
            report.skipped.append(
                f"row {row.number}: cannot tell the language" + (f" {row.lang!r}" if row.lang else " of the question")
            )
            continue
        if row.id is not None and not ID_PATTERN.match(row.id):
            report.skipped.append(f"row {row.number}: bad id {row.id!r} (use [a-z0-9_.-])")
            continue
        key = f"id:{row.id}" if row.id else "answer:" + re.sub(r"\s+", " ", row.answer)
        if key not in groups:
            category = _slug(row.category or "") or "imported"
            entry_id = row.id or f"{category}.{hashlib.sha1(row.answer.encode()).hexdigest()[:10]}"
            groups[key] = {"id": entry_id, "category": category, "questions": {}, "answer": {}}
            order.append(key)
        entry = groups[key]
        questions: Dict[str, List[str]] = entry["questions"]  # type: ignore[assignment]
        answers: Dict[str, str] = entry["answer"]  # type: ignore[assignment]
        if row.question not in questions.setdefault(lang, []):
            questions[lang].append(row.question)
        answer_lang = lang
        if answer_lang in answers and answers[answer_lang] != row.answer:
            report.warnings.append(
                f"row {row.number}: entry {entry['id']} already has a different {answer_lang} answer; kept the first"
            )
        answers.setdefault(answer_lang, row.answer)
    entries: List[Dict[str, object]] = []
    seen_ids: Dict[str, int] = {}
    for key in order:
        entry = groups[key]
        base = str(entry["id"])
        if base in seen_ids:
            seen_ids[base] += 1
            entry["id"] = f"{base}-{seen_ids[base]}"
        else:
            seen_ids[base] = 1
        entry["questions"] = {lang: entry["questions"][lang] for lang in LANGUAGES if lang in entry["questions"]}  # type: ignore[index]
        entry["answer"] = {lang: entry["answer"][lang] for lang in LANGUAGES if lang in entry["answer"]}  # type: ignore[index]
        _, problems = parse_entry(entry, str(path))
        report.warnings.extend(str(p) for p in problems)
        entries.append(entry)
    report.entries = len(entries)
    return entries, report


def write_yaml(entries: Sequence[Dict[str, object]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    header = "# Imported with `python -m knowledge_base import`. Review, then run `python -m knowledge_base build`.\n"
    tmp.write_text(
        header + yaml.safe_dump(list(entries), allow_unicode=True, sort_keys=False, width=120), encoding="utf-8"
    )
    tmp.replace(out)


@dataclass
class QualityReport:
    """How well the imported knowledge base will answer, before anyone builds it."""

    entries: int
    questions: int
    single_phrasing: int  # entries with one question (in every language together)
    calibration: str  # "own" or "generic" (thin evidence: thresholds from the shipped generic sets)
    close_pairs: List[Tuple[str, str, float]]  # entries too close to tell apart: (id, id, cosine)
    #: on the shipped generic in-domain shopper messages: share answered directly, share with a
    #: "did you mean", share refused
    expected_answered: float
    expected_clarify: float
    expected_refused: float
    generic_queries: int

    def lines(self) -> List[str]:
        out = [
            f"quality: {self.entries} entries, {self.questions} questions, "
            f"{self.single_phrasing} entries with a single phrasing; thresholds calibrated on "
            + ("the entries' own phrasings" if self.calibration == "own" else "the generic customer messages"),
            f"quality: expected on {self.generic_queries} typical customer messages: "
            f"{self.expected_answered:.0%} answered, {self.expected_clarify:.0%} 'did you mean', "
            f"{self.expected_refused:.0%} no answer",
        ]
        for a, b, cosine in self.close_pairs:
            out.append(f"quality: too close to tell apart (cosine {cosine:.2f}): {a} / {b}: merge them or reword")
        if self.single_phrasing:
            out.append(
                "quality: add 3 or more phrasings per entry and language (how customers really ask) for confident answers"
            )
        return out


def quality_report(
    entries: Sequence[Dict[str, object]], config: Optional[object] = None, close_similarity: float = 0.9
) -> QualityReport:
    """Build the imported entries in memory (nothing written) and measure: pairs of entries whose centroids
    are at least ``close_similarity`` apart in cosine, and the outcomes for the shipped generic in-domain
    customer messages (``knowledge_base/calibration_data/generic.yml``) under the calibrated thresholds."""
    from knowledge_base.building.calibration import generic_queries
    from knowledge_base.building.indexing import build_index, records_from_entries
    from knowledge_base.config import KBConfig, load_config
    from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id
    from knowledge_base.serving.matcher import Matcher
    from knowledge_base.serving.scoring import ANSWER, CLARIFY

    cfg: KBConfig = config if isinstance(config, KBConfig) else load_config()
    parsed = []
    for raw in entries:
        entry, _problems = parse_entry(raw, "import", required_languages=())
        if entry is not None and entry.all_questions():
            parsed.append(entry)
    data = records_from_entries(parsed)
    flat = [q for group in data.questions for q in group]
    single = sum(len(group) == 1 for group in data.questions)
    if len(parsed) < 2:
        return QualityReport(len(parsed), len(flat), single, "none", [], 0.0, 0.0, 0.0, 0)
    encoder = get_encoder(resolve_encoder_id(cfg.encoder, flat))
    built = build_index(data, encoder, cfg)
    index = built.index
    sims = index.centroids @ index.centroids.T
    close: List[Tuple[str, str, float]] = []
    for i, j in zip(*np.triu_indices(len(parsed), k=1), strict=True):
        if sims[i, j] >= close_similarity:
            close.append((index.entries[i].id, index.entries[j].id, float(sims[i, j])))
    close.sort(key=lambda pair: -pair[2])
    matcher = Matcher(index, built.encoder, cfg)
    in_domain, _oos = generic_queries(flat)
    outcomes = [matcher.match(q).outcome for q in in_domain]
    n = max(len(outcomes), 1)
    return QualityReport(
        entries=len(parsed),
        questions=len(flat),
        single_phrasing=single,
        calibration=built.calibration.mode if built.calibration is not None else "none",
        close_pairs=close,
        expected_answered=sum(o == ANSWER for o in outcomes) / n,
        expected_clarify=sum(o == CLARIFY for o in outcomes) / n,
        expected_refused=sum(o not in (ANSWER, CLARIFY) for o in outcomes) / n,
        generic_queries=len(outcomes),
    )
