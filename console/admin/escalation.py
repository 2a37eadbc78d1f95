"""The escalation word lists supervisors edit: the keywords that hand a conversation to a person whatever NLU
predicted (``explicit_request.keywords``, ``complaint.keywords``) and the problem words a ``complain`` turn needs
as evidence (``complaint.evidence``).

actions/escalation.yml holds the defaults; a list a supervisor saved (``console_escalation_words``) replaces its
YAML list until it is reset. The action server reads the saved lists from ``GET /internal/escalation-words``
(actions/escalation_words.py) and tells by ``version`` (a digest of the saved lists) whether anything changed.

The checks here are what the web API, the command line and the action server's reading agree on: 1-40
characters a word after trimming, no control characters or line breaks, at most 200 words a list, duplicates
(after ``kernel.language.normalise``: Traditional and Simplified, full and half width, case) dropped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from kernel.language import normalise
from kernel.text import is_clean

#: the lists that can be edited, as ``trigger.list``
LISTS: Tuple[str, ...] = ("explicit_request.keywords", "complaint.keywords", "complaint.evidence")
MAX_WORD = 40
MAX_WORDS = 200
DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "actions" / "escalation.yml"


class WordsError(ValueError):
    """A word list that cannot be saved (the message says why)."""


def list_id(trigger: Any, name: Any) -> Optional[str]:
    """``trigger.name`` when it is one of :data:`LISTS`, else None."""
    key = f"{trigger}.{name}" if isinstance(trigger, str) and isinstance(name, str) else ""
    return key if key in LISTS else None


def check_words(value: Any, key: str) -> List[str]:
    """The words as saved: trimmed, checked, duplicates after normalisation dropped (the first spelling kept)."""
    if not isinstance(value, list):
        raise WordsError(f"{key}: words must be a list of strings")
    words: List[str] = []
    seen = set()
    for position, word in enumerate(value, 1):
        if not isinstance(word, str):
            raise WordsError(f"{key}: word {position} must be a string")
        text = word.strip()
        if not text:
            raise WordsError(f"{key}: word {position} is empty")
        if len(text) > MAX_WORD:
            raise WordsError(f"{key}: word {position} has more than {MAX_WORD} characters")
        if not is_clean(text) or any(c in text for c in "\n\r\t"):
            raise WordsError(f"{key}: word {position} contains control characters")
        folded = normalise(text)
        if folded in seen:
            continue
        seen.add(folded)
        words.append(text)
    if len(words) > MAX_WORDS:
        raise WordsError(f"{key}: at most {MAX_WORDS} words a list ({len(words)} given)")
    return words


def defaults(path: Path = DEFAULTS_FILE) -> Dict[str, List[str]]:
    """The YAML's lists (``trigger.list`` -> words); a list the YAML does not have is empty."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    triggers = raw.get("triggers") or {}
    out: Dict[str, List[str]] = {}
    for key in LISTS:
        trigger, name = key.split(".")
        out[key] = [str(w) for w in ((triggers.get(trigger) or {}).get(name) or [])]
    return out


def version_of(overrides: Mapping[str, List[str]]) -> str:
    """A digest of the saved lists: equal exactly when the lists are (the action server's change check)."""
    canonical = json.dumps({k: overrides[k] for k in sorted(overrides)}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
