"""The learning loop: questions the knowledge base could not answer confidently, in SQL.

Every ``no_answer`` and ``clarify`` turn is recorded (text, language, outcome, top candidates with
scores, conversation id, time) through SQLAlchemy 2: SQLite by default (``var/kefu_app.db``),
PostgreSQL or any other database by URL (``KEFU_APP_DB_URL``). ``python -m knowledge_base unanswered``
groups them by similarity so staff can turn frequent ones into new entries.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

log = logging.getLogger(__name__)

MAX_TEXT = 2000


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

    def to_dict(self) -> Dict[str, object]:
        return {
            "text": self.text,
            "count": self.count,
            "languages": self.languages,
            "outcomes": self.outcomes,
            "examples": self.examples,
            "top_candidates": self.top_candidates,
            "last_seen": self.last_seen,
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
        if not self._ready:
            Base.metadata.create_all(self.engine)
            self._ready = True

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

    def rows(self, since: Optional[datetime] = None, limit: int = 10000) -> List[UnansweredQuestion]:
        self.ensure_schema()
        query = sa.select(UnansweredQuestion).order_by(UnansweredQuestion.created_at.desc()).limit(limit)
        if since is not None:
            query = query.where(UnansweredQuestion.created_at >= since)
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
            session.expunge_all()
        return rows

    def dispose(self) -> None:
        self.engine.dispose()


def group_rows(rows: Sequence[UnansweredQuestion], vectors: np.ndarray, similarity: float) -> List[Group]:
    """Greedy single-pass clustering by cosine to each group's first member; largest groups first."""
    from bot.language import normalise

    groups: List[List[int]] = []
    leaders: List[np.ndarray] = []
    exact: Dict[str, int] = {}
    for i, row in enumerate(rows):
        key = normalise(row.text.strip())
        if key in exact:
            groups[exact[key]].append(i)
            continue
        best, best_sim = -1, similarity
        if leaders:
            sims = np.vstack(leaders) @ vectors[i]
            j = int(np.argmax(sims))
            if sims[j] >= best_sim:
                best = j
        if best < 0:
            groups.append([i])
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
            )
        )
    result.sort(key=lambda g: (-g.count, g.text))
    return result


def list_groups(store: UnansweredStore, encoder, similarity: float, days: Optional[int] = None) -> List[Group]:
    since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
    rows = store.rows(since=since)
    if not rows:
        return []
    from bot.language import normalise

    vectors = encoder.encode_queries([normalise(r.text[:500]) for r in rows])
    return group_rows(rows, vectors, similarity)
