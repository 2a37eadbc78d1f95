"""The knowledge base's unanswered questions, for the supervisor dashboard.

The knowledge base owns the store and its grouping; the console asks it through its API
(``knowledge_base.learning.unanswered.review``) and only shapes the answer for the dashboard. Grouping by
meaning loads the knowledge base's encoder once per process; ``KEFU_CONSOLE_UNANSWERED_GROUPING=exact`` groups
identical questions (after normalisation) without it.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Optional

from knowledge_base.learning.unanswered import Group, mask, review

log = logging.getLogger("kefu.console.unanswered")


def _group_json(group: Group) -> Dict[str, Any]:
    """One group for the dashboard, phone and order numbers and e-mail addresses masked (as in the logs)."""
    return {
        "question": mask(group.text),
        "count": group.count,
        "examples": [mask(x) for x in group.examples[:5]],
        "languages": dict(group.languages),
        "outcomes": dict(group.outcomes),
        "last_seen": group.last_seen or None,
        "row_ids": list(group.row_ids),  # what a supervisor links, drafts or dismisses (console/learning.py)
        "candidates": list(group.top_candidates),  # the entries the bot ranked first, most often first
    }


def unanswered_groups(limit: int = 20, days: Optional[int] = None) -> Dict[str, Any]:
    """The dashboard's ``unanswered`` block: ``available`` and the groups, or ``available: false`` and why."""
    similar = os.environ.get("KEFU_CONSOLE_UNANSWERED_GROUPING", "encoder") == "encoder"
    try:
        result = review(limit, days, similar=similar)
    except Exception as error:  # the dashboard must render even when the KB store is broken
        log.warning("unanswered list failed: %s", type(error).__name__)
        return {"available": False, "reason": f"unanswered store unreadable ({type(error).__name__})", "groups": []}
    if not result.available:
        return {"available": False, "reason": result.reason, "groups": []}
    return {
        "available": True,
        "source": "knowledge_base",
        "grouping": result.grouping,
        "groups": [_group_json(g) for g in result.groups],
    }
