"""The supervisor's side of the knowledge base's learning loop: link an unanswered group to an entry, draft a new
entry from it, dismiss it, undo, and the background rebuild that puts the change live.

The knowledge base owns the tables and the build (``knowledge_base.learning.curation``); this module holds the
console's one :class:`Rebuilder` and shapes answers for the API. Blocking work (SQL, the build) runs in threads.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from knowledge_base.config import load_config
from knowledge_base.learning.curation import (
    CurationError,
    CurationStore,
    Rebuilder,
    entry_choices,
    store_for,
)

STATUS = {"not_found": 404, "conflict": 409, "invalid": 400}

_rebuilder: Optional[Rebuilder] = None


def rebuilder() -> Rebuilder:
    global _rebuilder
    if _rebuilder is None:
        _rebuilder = Rebuilder()
    return _rebuilder


class NoStore(CurationError):
    def __init__(self) -> None:
        super().__init__("not_found", "the knowledge base has no unanswered-questions store yet")


def _with_store(call: Callable[[CurationStore], Any]) -> Any:
    """``call`` on the configured store, closed afterwards; 404 while nothing was ever recorded."""
    store = store_for(load_config())
    if store is None:
        raise NoStore()
    try:
        return call(store)
    finally:
        store.dispose()


def entries() -> List[Dict[str, Any]]:
    return [{"id": c.id, "category": c.category, "title": c.title, "drafted": c.drafted}
            for c in entry_choices(load_config())]


def _known() -> List[str]:
    return [e["id"] for e in entries()]


def link(row_ids: Sequence[int], entry_id: str, by: str) -> Dict[str, Any]:
    added = _with_store(lambda store: store.link(row_ids, entry_id, by, _known()))
    return {"entry_id": entry_id, "phrasings_added": added, "rebuild": rebuilder().request()}


def draft(row_ids: Sequence[int], answer: Mapping[str, Any], by: str, entry_id: Optional[str],
          category: Optional[str]) -> Dict[str, Any]:
    new_id = _with_store(lambda store: store.draft(row_ids, answer, by, _known(), entry_id=entry_id,
                                                   category=category or "learned"))
    return {"entry_id": new_id, "rebuild": rebuilder().request()}


def dismiss(row_ids: Sequence[int], by: str) -> Dict[str, Any]:
    return {"dismissed": _with_store(lambda store: store.dismiss(row_ids, by))}


def learned(limit: int) -> Dict[str, Any]:
    store = store_for(load_config())
    if store is None:
        listing: Dict[str, Any] = {"phrasings": [], "entries": []}
    else:
        try:
            listing = store.listing(limit)
        finally:
            store.dispose()
    return {**listing, "rebuild": rebuilder().status()}


def remove_phrasing(phrasing_id: int) -> Dict[str, Any]:
    _with_store(lambda store: store.remove_phrasing(phrasing_id))
    return {"removed": phrasing_id, "rebuild": rebuilder().request()}


def remove_entry(entry_id: str) -> Dict[str, Any]:
    _with_store(lambda store: store.remove_entry(entry_id))
    return {"removed": entry_id, "rebuild": rebuilder().request()}
