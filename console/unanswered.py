"""The knowledge base's unanswered questions, for the supervisor dashboard.

The knowledge-base package owns the store (``knowledge_base.unanswered``). The
console calls its ``list_groups`` (semantic grouping with the KB encoder); with
``KEFU_CONSOLE_UNANSWERED_GROUPING=exact``, or when that fails, it reads the
store's table directly (``KEFU_APP_DB_URL``, table ``kb_unanswered``) and groups
identical questions after normalisation.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.language import normalise

log = logging.getLogger("kefu.console.unanswered")

TEXT_COLUMNS = ("question", "text", "query", "message", "normalised", "question_text")
TIME_COLUMNS = ("created_at", "asked_at", "timestamp", "ts", "last_seen", "time")


_ENCODER: Any = None


def _from_package(limit: int, days: Optional[int]) -> Optional[List[Dict[str, Any]]]:
    """Grouped by the knowledge base itself (semantic grouping with its encoder)."""
    if os.environ.get("KEFU_CONSOLE_UNANSWERED_GROUPING", "encoder") != "encoder":
        return None
    try:
        from knowledge_base import unanswered as kbu
        from knowledge_base.config import load_config
        from knowledge_base.encoders import get_encoder
    except ImportError:
        return None
    global _ENCODER
    config = load_config()
    if _ENCODER is None:
        _ENCODER = get_encoder(config.encoder)
    store = kbu.UnansweredStore(config.db_url())
    try:
        groups = kbu.list_groups(store, _ENCODER, config.unanswered.group_similarity, days)
    finally:
        store.dispose()
    groups = sorted(groups, key=lambda g: -g.count)
    return [_group_json(g.to_dict()) for g in groups[:limit]]


def _group_json(group: Any) -> Dict[str, Any]:
    if isinstance(group, dict):
        raw = group
    elif hasattr(group, "__dict__"):
        raw = dict(vars(group))
    else:
        raw = {"question": str(group)}
    question = raw.get("question") or raw.get("text") or ""
    examples = raw.get("examples") or []
    return {"question": str(question), "count": int(raw.get("count") or len(examples) or 1),
            "examples": [str(e) for e in list(examples)[:5]],
            "languages": raw.get("languages") or {}, "outcomes": raw.get("outcomes") or {},
            "last_seen": _iso(raw.get("last_seen"))}


def _iso(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _from_table(db_url: str, limit: int) -> Optional[List[Dict[str, Any]]]:
    engine = sa.create_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        names = [t for t in inspector.get_table_names() if "unanswered" in t.lower()]
        if not names:
            return None
        table = sa.Table(names[0], sa.MetaData(), autoload_with=engine)
        columns = {c.name.lower(): c for c in table.columns}
        text_col = next((columns[c] for c in TEXT_COLUMNS if c in columns), None)
        if text_col is None:
            return None
        time_col = next((columns[c] for c in TIME_COLUMNS if c in columns), None)
        query = sa.select(text_col, time_col) if time_col is not None else sa.select(text_col)
        if time_col is not None:
            query = query.order_by(time_col.desc())
        groups: OrderedDict[str, Dict[str, Any]] = OrderedDict()
        with engine.connect() as conn:
            for row in conn.execute(query.limit(5000)):
                text = str(row[0] or "").strip()
                if not text:
                    continue
                key = normalise(text).strip(" ?？!！。.")
                group = groups.setdefault(key, {"question": text, "count": 0, "examples": [], "last_seen": None})
                group["count"] += 1
                if text not in group["examples"] and len(group["examples"]) < 5:
                    group["examples"].append(text)
                if time_col is not None and group["last_seen"] is None:
                    group["last_seen"] = _iso(row[1])
        ordered = sorted(groups.values(), key=lambda g: -g["count"])
        return ordered[:limit]
    finally:
        engine.dispose()


def unanswered_groups(limit: int = 20, days: Optional[int] = None) -> Dict[str, Any]:
    try:
        try:
            groups = _from_package(limit, days)
        except Exception as error:  # encoder or store trouble: fall back to exact grouping
            log.warning("knowledge-base grouping failed (%s), grouping identical questions", type(error).__name__)
            groups = None
        if groups is not None:
            return {"available": True, "source": "knowledge_base", "groups": groups}
        db_url = os.environ.get("KEFU_APP_DB_URL") or _kb_db_url()
        if db_url:
            groups = _from_table(db_url, limit)
            if groups is not None:
                return {"available": True, "source": "table", "groups": groups}
        return {"available": False, "reason": "the knowledge base has no unanswered-questions store yet", "groups": []}
    except Exception as error:  # the dashboard must render even when the KB store is broken
        log.warning("unanswered list failed: %s", type(error).__name__)
        return {"available": False, "reason": f"unanswered store unreadable ({type(error).__name__})", "groups": []}


def _kb_db_url() -> Optional[str]:
    try:
        from knowledge_base.config import load_config

        url = load_config().db_url()
    except Exception:
        return None
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        from console.settings import ROOT

        path = ROOT / url[len("sqlite:///"):]
        if not path.exists():
            return None
        return f"sqlite:///{path}"
    return url
