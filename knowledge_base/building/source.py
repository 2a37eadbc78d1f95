"""FAQ source files: load, validate and fingerprint ``knowledge_base/faq/*.yml``.

Each file holds a YAML list of entries::

    - id: returns.seven_day_no_reason
      category: returns
      tags: [returns, policy]
      questions: {zh-Hans: [...], zh-Hant: [...], en: [...]}
      answer: {zh-Hans: "...", zh-Hant: "...", en: "..."}

A missing ``zh-Hant`` answer or question list is generated from ``zh-Hans``
with OpenCC ``s2twp``. Validation collects every problem with its file and
entry id, so an editor sees all of them at once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from kernel.i18n import to_traditional  # Simplified to Traditional (Taiwan phrasing), as the responses do
from kernel.language import ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, normalise

log = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 4000


@dataclass(frozen=True)
class FaqEntry:
    """One FAQ entry: several phrasings per language and one answer per language."""

    id: str
    category: str
    questions: Mapping[str, Tuple[str, ...]]
    answer: Mapping[str, str]
    tags: Tuple[str, ...] = ()
    source: str = ""

    def all_questions(self) -> List[Tuple[str, str]]:
        """(language, text) for every phrasing."""
        return [(lang, q) for lang in self.questions for q in self.questions[lang]]

    def answer_for(self, language: str) -> str:
        if language in self.answer:
            return self.answer[language]
        return self.answer.get(SIMPLIFIED) or next(iter(self.answer.values()))


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file and entry id."""

    file: str
    entry_id: Optional[str]
    message: str

    def __str__(self) -> str:
        where = self.file + (f" [{self.entry_id}]" if self.entry_id else "")
        return f"{where}: {self.message}"


class ValidationError(ValueError):
    """The FAQ sources have problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the FAQ sources:\n{lines}")


@dataclass
class LoadResult:
    entries: List[FaqEntry] = field(default_factory=list)
    problems: List[Problem] = field(default_factory=list)


def _clean_text_list(value: Any) -> Optional[List[str]]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def parse_entry(
    raw: Any, file: str, required_languages: Sequence[str] = LANGUAGES
) -> Tuple[Optional[FaqEntry], List[Problem]]:
    """Validate one raw YAML mapping; return the entry (when valid) and its problems."""
    problems: List[Problem] = []
    if not isinstance(raw, Mapping):
        return None, [Problem(file, None, f"an entry must be a mapping, got {type(raw).__name__}")]
    entry_id = raw.get("id")
    label = entry_id if isinstance(entry_id, str) else None

    def problem(msg: str) -> None:
        problems.append(Problem(file, label, msg))

    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        problem(f"bad id {entry_id!r}: use 1-128 characters of [a-z0-9_.-], starting with a letter or digit")
    unknown = set(raw) - {"id", "category", "tags", "questions", "answer"}
    if unknown:
        problem(f"unknown keys {sorted(unknown)}")
    category = raw.get("category")
    if category is None and isinstance(entry_id, str) and "." in entry_id:
        category = entry_id.split(".", 1)[0]
    if not isinstance(category, str) or not category.strip():
        problem("missing category")
        category = ""
    tags_raw = raw.get("tags") or []
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) for t in tags_raw):
        problem("tags must be a list of strings")
        tags_raw = []

    questions: Dict[str, Tuple[str, ...]] = {}
    raw_q = raw.get("questions")
    if not isinstance(raw_q, Mapping) or not raw_q:
        problem("questions must be a mapping of language to a list of phrasings")
        raw_q = {}
    for lang in raw_q:
        if lang not in LANGUAGES:
            problem(f"questions: unknown language {lang!r} (use {', '.join(LANGUAGES)})")
    for lang in LANGUAGES:
        if lang not in raw_q:
            continue
        cleaned = _clean_text_list(raw_q[lang])
        if cleaned is None:
            problem(f"questions.{lang} must be a list of strings")
            continue
        if not cleaned:
            problem(f"questions.{lang} is empty")
            continue
        too_long = [q for q in cleaned if len(q) > MAX_QUESTION_CHARS]
        if too_long:
            problem(f"questions.{lang}: a phrasing is longer than {MAX_QUESTION_CHARS} characters")
        seen: Dict[str, int] = {}
        for q in cleaned:
            seen[q] = seen.get(q, 0) + 1
        dups = [q for q, n in seen.items() if n > 1]
        if dups:
            problem(f"questions.{lang}: duplicate phrasing {dups[0]!r}")
        questions[lang] = tuple(dict.fromkeys(cleaned))
    if TRADITIONAL in required_languages and TRADITIONAL not in questions and SIMPLIFIED in questions:
        questions[TRADITIONAL] = tuple(dict.fromkeys(to_traditional(q) for q in questions[SIMPLIFIED]))
    for lang in required_languages:
        if lang not in questions and not any(p.message.startswith(f"questions.{lang}") for p in problems):
            problem(f"questions.{lang} is missing: give at least one phrasing")

    answers: Dict[str, str] = {}
    raw_a = raw.get("answer")
    if not isinstance(raw_a, Mapping):
        problem("answer must be a mapping of language to text")
        raw_a = {}
    for lang in raw_a:
        if lang not in LANGUAGES:
            problem(f"answer: unknown language {lang!r} (use {', '.join(LANGUAGES)})")
    for lang in LANGUAGES:
        value = raw_a.get(lang)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            problem(f"answer.{lang} is empty")
            continue
        if len(value) > MAX_ANSWER_CHARS:
            problem(f"answer.{lang} is longer than {MAX_ANSWER_CHARS} characters")
        answers[lang] = value.strip()
    if TRADITIONAL not in answers and SIMPLIFIED in answers:
        answers[TRADITIONAL] = to_traditional(answers[SIMPLIFIED])
    for lang in required_languages:
        if lang not in answers and not any(p.message.startswith(f"answer.{lang}") for p in problems):
            problem(f"answer.{lang} is missing")
    if problems:
        return None, problems
    return (
        FaqEntry(
            id=entry_id,
            category=category.strip(),
            questions=questions,
            answer=answers,
            tags=tuple(tags_raw),
            source=file,
        ),
        [],
    )


def source_files(directory: Path) -> List[Path]:
    return sorted(p for p in directory.glob("**/*.y*ml") if p.is_file() and p.suffix in (".yml", ".yaml"))


def parse_documents(documents: Iterable[Tuple[str, str]], required_languages: Sequence[str] = LANGUAGES) -> LoadResult:
    """Parse (file name, YAML text) pairs. Duplicate ids are reported across files."""
    result = LoadResult()
    first_seen: Dict[str, str] = {}
    for name, text in documents:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            result.problems.append(Problem(name, None, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}"))
            continue
        if data is None:
            continue
        if not isinstance(data, list):
            result.problems.append(Problem(name, None, "the file must hold a YAML list of entries"))
            continue
        for raw in data:
            entry, problems = parse_entry(raw, name, required_languages)
            result.problems.extend(problems)
            if entry is None:
                continue
            if entry.id in first_seen:
                result.problems.append(
                    Problem(name, entry.id, f"duplicate id (first defined in {first_seen[entry.id]})")
                )
                continue
            first_seen[entry.id] = name
            result.entries.append(entry)
    return result


def load_entries(directory: Path, required_languages: Sequence[str] = LANGUAGES) -> List[FaqEntry]:
    """Load and validate every FAQ file; raise ``ValidationError`` listing all problems."""
    files = source_files(directory)
    if not files:
        raise ValidationError([Problem(str(directory), None, "no FAQ files (*.yml) found")])
    documents = []
    for path in files:
        try:
            documents.append((str(path), path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError([Problem(str(path), None, f"cannot read: {exc}")]) from exc
    result = parse_documents(documents, required_languages)
    if result.problems:
        raise ValidationError(result.problems)
    if not result.entries:
        raise ValidationError([Problem(str(directory), None, "the FAQ files hold no entries")])
    return result.entries


def source_hash(directory: Path) -> str:
    """SHA-256 over the relative names and bytes of every source file."""
    digest = hashlib.sha256()
    for path in source_files(directory):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Learned:
    """What supervisors added in the console (``knowledge_base.learning.curation`` stores it in SQL): new
    phrasings of existing entries, ``(entry id, language, text)``, and whole drafted entries. ``digest``
    identifies the additions; it is part of the build fingerprint, so a link or a draft makes the next build
    run and an unchanged set lets it skip."""

    phrasings: Tuple[Tuple[str, str, str], ...] = ()
    entries: Tuple[FaqEntry, ...] = ()
    digest: str = ""


def merge_learned(entries: Sequence[FaqEntry], learned: Learned) -> List[FaqEntry]:
    """The source entries with the learned phrasings added (a phrasing the entry already has, after
    normalisation, is not added twice) and the drafted entries after them. A source entry wins over a drafted
    one with the same id; a phrasing of an entry that is gone from the sources is dropped. Both are logged."""
    merged: Dict[str, FaqEntry] = {e.id: e for e in entries}
    order = [e.id for e in entries]
    for entry in learned.entries:
        if entry.id in merged:
            log.warning("kb.learned.draft_shadowed id=%s reason=a source entry has this id", entry.id)
            continue
        merged[entry.id] = entry
        order.append(entry.id)
    added: Dict[str, Dict[str, List[str]]] = {}
    seen: Dict[str, set] = {}
    for entry_id, language, text in learned.phrasings:
        entry = merged.get(entry_id)
        if entry is None:
            log.warning("kb.learned.phrasing_dropped entry=%s reason=no such entry", entry_id)
            continue
        if entry_id not in seen:
            seen[entry_id] = {normalise(q) for _, q in entry.all_questions()}
        text = text.strip()[:MAX_QUESTION_CHARS]
        key = normalise(text)
        if not key or key in seen[entry_id]:
            continue
        seen[entry_id].add(key)
        added.setdefault(entry_id, {}).setdefault(language, []).append(text)
    out = []
    for entry_id in order:
        entry = merged[entry_id]
        if entry_id in added:
            questions = {lang: tuple(qs) for lang, qs in entry.questions.items()}
            for lang, texts in added[entry_id].items():
                questions[lang] = questions.get(lang, ()) + tuple(texts)
            entry = replace(entry, questions=questions)
        out.append(entry)
    return out


def languages_of(entries: Sequence[FaqEntry]) -> List[str]:
    present = {lang for e in entries for lang in e.questions}
    return [lang for lang in LANGUAGES if lang in present] or [ENGLISH]
