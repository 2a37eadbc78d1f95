"""Supervisors teach the knowledge base from its unanswered questions, without editing YAML.

A group of unanswered questions (``unanswered.review``) is

- **linked** to an existing entry: each distinct question becomes a new phrasing of that entry;
- **drafted** into a new entry: the questions are its phrasings, the supervisor writes the answer;
- **dismissed**: nothing to learn (greetings, noise), it only leaves the list.

What was learned is stored in SQL next to the unanswered questions (the same database URL), so every console
and action server sees one truth. Every build merges it into the source entries (:func:`build`; ``python -m
knowledge_base build`` does too, so a rebuild never loses it), and :class:`Rebuilder` runs that build in the
background after each change: the action servers load the new build on their next check of the ``current``
pointer (``reload_check_seconds``). A learned phrasing or drafted entry can be removed again.

The tables and their columns are this module's business only; the console calls the functions below.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from kernel.i18n import to_traditional
from kernel.language import LANGUAGES, SIMPLIFIED, TRADITIONAL, normalise
from knowledge_base.building.builder import BuildOutcome
from knowledge_base.building.builder import build as build_index_files
from knowledge_base.building.source import (
    ID_PATTERN,
    MAX_ANSWER_CHARS,
    MAX_QUESTION_CHARS,
    FaqEntry,
    Learned,
    load_entries,
    merge_learned,
    source_hash,
)
from knowledge_base.config import PROJECT_ROOT, KBConfig, load_config
from knowledge_base.learning.unanswered import (
    ReviewedQuestion,
    UnansweredQuestion,
    UnansweredStore,
    mask,
    review_url,
)

log = logging.getLogger(__name__)

#: questions one review action may carry (a group is at most the review's rows)
MAX_ROWS = 5000
DRAFT_CATEGORY = "learned"


class CurationError(ValueError):
    """A review action that cannot be applied; ``code`` for the API (``not_found``, ``conflict``, ``invalid``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Base(DeclarativeBase):
    pass


class LearnedPhrasing(Base):
    __tablename__ = "kb_learned_phrasings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    language: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text)
    row_id: Mapped[Optional[int]] = mapped_column(sa.Integer, nullable=True)  # the unanswered question it came from
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class DraftedEntry(Base):
    __tablename__ = "kb_learned_entries"

    entry_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64))
    questions: Mapped[str] = mapped_column(sa.Text)  # JSON {language: [question, ...]}
    answer: Mapped[str] = mapped_column(sa.Text)  # JSON {language: answer}
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


def _language(value: str) -> str:
    return value if value in LANGUAGES else SIMPLIFIED  # "zh" (script unknown) and anything odd: Simplified


def _phrasing(text: str) -> str:
    """A customer's question as a phrasing: phone and order numbers and e-mail addresses masked (a drafted
    entry's first question is its "did you mean" button for every other customer), cut to the source limit."""
    return mask(text.strip())[:MAX_QUESTION_CHARS]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _entry_from_row(row: DraftedEntry) -> FaqEntry:
    questions = {lang: tuple(qs) for lang, qs in json.loads(row.questions).items()}
    return FaqEntry(row.entry_id, row.category, questions, dict(json.loads(row.answer)), (), "console")


def clean_answer(answer: Mapping[str, Any]) -> Dict[str, str]:
    """The drafted answer per language: at least one; Traditional made from Simplified when missing."""
    if not isinstance(answer, Mapping):
        raise CurationError("invalid", "answer must be an object {language: text}")
    out: Dict[str, str] = {}
    for lang, text in answer.items():
        if lang not in LANGUAGES:
            raise CurationError("invalid", f"unknown answer language {lang!r} (one of {', '.join(LANGUAGES)})")
        if not isinstance(text, str):
            raise CurationError("invalid", f"the {lang} answer must be text")
        text = text.strip()
        if len(text) > MAX_ANSWER_CHARS:
            raise CurationError("invalid", f"the {lang} answer is longer than {MAX_ANSWER_CHARS} characters")
        if text:
            out[lang] = text
    if not out:
        raise CurationError("invalid", "write the answer in at least one language")
    if SIMPLIFIED in out and TRADITIONAL not in out:
        out[TRADITIONAL] = to_traditional(out[SIMPLIFIED])
    return out


class CurationStore:
    """What supervisors taught, in the unanswered questions' database."""

    def __init__(self, url: str) -> None:
        self.unanswered = UnansweredStore(url)
        self.engine = self.unanswered.engine
        self._ready = False

    def ensure_schema(self) -> None:
        if not self._ready:
            self.unanswered.ensure_schema()  # one migrated store holds both modules' tables
            self._ready = True

    def exists(self) -> bool:
        return self._ready or sa.inspect(self.engine).has_table(LearnedPhrasing.__tablename__)

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ review actions
    @contextmanager
    def _review(self) -> Iterator[Session]:
        """One review action's transaction. Two supervisors reviewing the same question at once: the second
        one's commit breaks the reviewed table's key and is reported as a conflict, with nothing written."""
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except sa.exc.IntegrityError:
            raise CurationError("conflict", "these questions were just reviewed by someone else (reload the list)") from None

    def _open_rows(self, session: Session, row_ids: Sequence[int]) -> List[UnansweredQuestion]:
        ids = sorted({int(i) for i in row_ids})
        if not ids:
            raise CurationError("invalid", "row_ids must name at least one unanswered question")
        if len(ids) > MAX_ROWS:
            raise CurationError("invalid", f"at most {MAX_ROWS} questions per review action")
        rows = list(session.scalars(sa.select(UnansweredQuestion).where(UnansweredQuestion.id.in_(ids))))
        missing = sorted(set(ids) - {r.id for r in rows})
        if missing:
            raise CurationError("not_found", f"no unanswered question with id {missing[0]}")
        done = list(session.scalars(sa.select(ReviewedQuestion.row_id).where(ReviewedQuestion.row_id.in_(ids))))
        if done:
            raise CurationError("conflict", f"question {min(done)} was already reviewed (reload the list)")
        return rows

    @staticmethod
    def _mark(session: Session, rows: Sequence[UnansweredQuestion], action: str, entry_id: Optional[str],
              by: str) -> None:
        at = _now()
        for row in rows:
            session.add(ReviewedQuestion(row_id=row.id, action=action, entry_id=entry_id, reviewed_by=by[:64],
                                         reviewed_at=at))

    def link(self, row_ids: Sequence[int], entry_id: str, by: str, known: Sequence[str]) -> int:
        """Each distinct question of ``row_ids`` becomes a phrasing of ``entry_id`` (one of ``known``, the
        entries the knowledge base has). Returns how many phrasings were added."""
        if entry_id not in set(known):
            raise CurationError("not_found", f"no knowledge-base entry {entry_id!r}")
        self.ensure_schema()
        with self._review() as session:
            rows = self._open_rows(session, row_ids)
            seen = {normalise(t) for t in session.scalars(
                sa.select(LearnedPhrasing.text).where(LearnedPhrasing.entry_id == entry_id))}
            added = 0
            for row in rows:
                text = _phrasing(row.text)
                key = normalise(text)
                if not key or key in seen:
                    continue
                seen.add(key)
                session.add(LearnedPhrasing(entry_id=entry_id, language=_language(row.language), text=text,
                                            row_id=row.id, created_by=by[:64], created_at=_now()))
                added += 1
            self._mark(session, rows, "linked", entry_id, by)
        log.info("kb.learned.linked entry=%s questions=%d phrasings=%d by=%s", entry_id, len(rows), added, by)
        return added

    def draft(self, row_ids: Sequence[int], answer: Mapping[str, Any], by: str, known: Sequence[str],
              entry_id: Optional[str] = None, category: str = DRAFT_CATEGORY) -> str:
        """A new entry: the distinct questions of ``row_ids`` as its phrasings, ``answer`` per language.
        Returns the entry id (``entry_id`` when given and free, else ``learned.<date>-<hex>``)."""
        answers = clean_answer(answer)
        if entry_id:
            if not ID_PATTERN.match(entry_id):
                raise CurationError("invalid", "entry id: lower-case letters, digits, '.', '_' or '-' (max 128)")
            if entry_id in set(known):
                raise CurationError("conflict", f"the knowledge base already has an entry {entry_id!r}")
        else:
            entry_id = f"learned.{_now():%Y%m%d}-{uuid.uuid4().hex[:6]}"
        category = (category or DRAFT_CATEGORY).strip()[:64] or DRAFT_CATEGORY
        self.ensure_schema()
        with self._review() as session:
            rows = self._open_rows(session, row_ids)
            if session.get(DraftedEntry, entry_id) is not None:
                raise CurationError("conflict", f"the knowledge base already has an entry {entry_id!r}")
            questions: Dict[str, List[str]] = {}
            seen = set()
            for row in rows:
                text = _phrasing(row.text)
                if normalise(text) and normalise(text) not in seen:
                    seen.add(normalise(text))
                    questions.setdefault(_language(row.language), []).append(text)
            if not questions:
                raise CurationError("invalid", "the questions are empty")
            session.add(DraftedEntry(entry_id=entry_id, category=category,
                                     questions=json.dumps(questions, ensure_ascii=False),
                                     answer=json.dumps(answers, ensure_ascii=False), created_by=by[:64],
                                     created_at=_now()))
            self._mark(session, rows, "drafted", entry_id, by)
        log.info("kb.learned.drafted entry=%s questions=%d by=%s", entry_id, len(rows), by)
        return entry_id

    def dismiss(self, row_ids: Sequence[int], by: str) -> int:
        self.ensure_schema()
        with self._review() as session:
            rows = self._open_rows(session, row_ids)
            self._mark(session, rows, "dismissed", None, by)
        log.info("kb.learned.dismissed questions=%d by=%s", len(rows), by)
        return len(rows)

    # ------------------------------------------------------------------ what was learned
    def learned(self) -> Learned:
        """Every learned phrasing and drafted entry, with a digest of them (empty when there are none)."""
        if not self.exists():
            return Learned()
        self.ensure_schema()
        with Session(self.engine) as session:
            phrasings = [(p.entry_id, p.language, p.text) for p in session.scalars(
                sa.select(LearnedPhrasing).order_by(LearnedPhrasing.id))]
            entries = [_entry_from_row(e) for e in session.scalars(
                sa.select(DraftedEntry).order_by(DraftedEntry.created_at, DraftedEntry.entry_id))]
        if not phrasings and not entries:
            return Learned()
        digest = hashlib.sha256(json.dumps(
            [phrasings, [[e.id, e.category, e.questions, e.answer] for e in entries]],
            ensure_ascii=False, sort_keys=True, default=list).encode()).hexdigest()
        return Learned(tuple(phrasings), tuple(entries), digest)

    def listing(self, limit: int = 200) -> Dict[str, List[Dict[str, Any]]]:
        """The newest learned phrasings and drafted entries, for the console (to check and to undo)."""
        if not self.exists():
            return {"phrasings": [], "entries": []}
        with Session(self.engine) as session:
            phrasings = [{"id": p.id, "entry_id": p.entry_id, "language": p.language, "text": p.text,
                          "created_by": p.created_by, "created_at": p.created_at.isoformat(timespec="seconds")}
                         for p in session.scalars(sa.select(LearnedPhrasing)
                                                  .order_by(LearnedPhrasing.id.desc()).limit(limit))]
            entries = [{"entry_id": e.entry_id, "category": e.category, "questions": json.loads(e.questions),
                        "answer": json.loads(e.answer), "created_by": e.created_by,
                        "created_at": e.created_at.isoformat(timespec="seconds")}
                       for e in session.scalars(sa.select(DraftedEntry)
                                                .order_by(DraftedEntry.created_at.desc()).limit(limit))]
        return {"phrasings": phrasings, "entries": entries}

    def remove_phrasing(self, phrasing_id: int) -> None:
        self._remove(LearnedPhrasing, phrasing_id, f"no learned phrasing {phrasing_id}")

    def remove_entry(self, entry_id: str) -> None:
        """A drafted entry and the phrasings linked to it."""
        self._remove(DraftedEntry, entry_id, f"no drafted entry {entry_id!r}",
                     sa.delete(LearnedPhrasing).where(LearnedPhrasing.entry_id == entry_id))

    def _remove(self, model: Any, key: Any, missing: str, *also: Any) -> None:
        self.ensure_schema()
        with Session(self.engine) as session, session.begin():
            row = session.get(model, key)
            if row is None:
                raise CurationError("not_found", missing)
            session.delete(row)
            for statement in also:
                session.execute(statement)


# ---------------------------------------------------------------------- builds with what was learned


def store_for(config: KBConfig, root: Path = PROJECT_ROOT) -> Optional[CurationStore]:
    """The store in ``config``'s database; None while nothing was ever recorded there (never creates one)."""
    url = review_url(config, root)
    return CurationStore(url) if url is not None else None


def learned_for(config: KBConfig, root: Path = PROJECT_ROOT) -> Learned:
    store = store_for(config, root)
    if store is None:
        return Learned()
    try:
        return store.learned()
    finally:
        store.dispose()


def build(config: KBConfig, force: bool = False, root: Path = PROJECT_ROOT) -> BuildOutcome:
    """The knowledge-base build with what supervisors taught merged in (skipped when nothing changed)."""
    return build_index_files(config, force=force, learned=learned_for(config, root))


@dataclass(frozen=True)
class EntryChoice:
    id: str
    category: str
    title: Dict[str, str]  # the first question per language
    drafted: bool


_CHOICES: Dict[str, Tuple[str, List[EntryChoice]]] = {}
_CHOICES_LOCK = threading.Lock()


def entry_choices(config: KBConfig, learned: Optional[Learned] = None, root: Path = PROJECT_ROOT) -> List[EntryChoice]:
    """The entries a group can be linked to: the sources' and the drafted ones (cached per sources + digest)."""
    learned = learned if learned is not None else learned_for(config, root)
    key = str(config.sources)
    stamp = f"{source_hash(config.sources)}:{learned.digest}"
    with _CHOICES_LOCK:
        cached = _CHOICES.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    drafted = {e.id for e in learned.entries}
    entries = merge_learned(load_entries(config.sources), Learned(entries=learned.entries))
    choices = [EntryChoice(e.id, e.category, {lang: qs[0] for lang, qs in e.questions.items() if qs},
                           e.id in drafted) for e in entries]
    with _CHOICES_LOCK:
        _CHOICES[key] = (stamp, choices)
    return choices


class Rebuilder:
    """Runs :func:`build` in one background thread after each change; changes during a build make it run once
    more. ``status()`` says what the last build did, for the console."""

    def __init__(self, config: Callable[[], KBConfig] = load_config, root: Path = PROJECT_ROOT) -> None:
        self._config, self._root = config, root
        self._lock = threading.Lock()
        self._pending = False
        self._thread: Optional[threading.Thread] = None
        self._state: Dict[str, Any] = {"state": "idle", "version": None, "error": None, "requested_at": None,
                                       "finished_at": None, "seconds": None, "entries": None, "questions": None}

    def request(self) -> Dict[str, Any]:
        with self._lock:
            self._pending = True
            self._state["requested_at"] = _now().isoformat(timespec="seconds")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="kefu-kb-rebuild", daemon=True)
                self._state["state"] = "building"
                self._thread.start()
            return dict(self._state)

    def status(self) -> Dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def wait(self, timeout: float) -> bool:
        """For the command line and tests: True when no build is running or pending within ``timeout``."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._state["state"] = "idle" if self._state["error"] is None else "failed"
                    return
                self._pending = False
                self._state["state"] = "building"
            t0 = time.monotonic()
            try:
                outcome = build(self._config(), root=self._root)
                update = {"version": outcome.manifest.version, "error": None, "entries": outcome.manifest.entries,
                          "questions": outcome.manifest.questions}
                log.info("kb.learned.rebuilt version=%s built=%s", outcome.manifest.version, outcome.built)
            except Exception as error:  # a broken build keeps the previous one serving; the console says why
                log.exception("kb.learned.rebuild_failed")
                update = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
            with self._lock:
                self._state.update(update)
                self._state["finished_at"] = _now().isoformat(timespec="seconds")
                self._state["seconds"] = round(time.monotonic() - t0, 1)

