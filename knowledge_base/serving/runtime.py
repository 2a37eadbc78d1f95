"""The served knowledge base: loads the ``current`` build once and follows new builds without a restart.

``KnowledgeBase.matcher()`` checks the ``current`` pointer at most once per ``reload_check_seconds``
(one ``readlink``). When it points to a new build, the new index is loaded completely, then swapped
in with one reference assignment; queries already running keep the old one. A build that cannot be
loaded is logged and the previous one keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Optional

from knowledge_base.config import KBConfig, load_config
from knowledge_base.serving import index as index_files
from knowledge_base.serving.encoders import build_encoder
from knowledge_base.serving.matcher import Matcher

log = logging.getLogger(__name__)

#: the symlink under ``output_dir`` that names the served build (``knowledge_base.building.builder`` moves it)
POINTER = "current"


def current_dir(output_dir: Path) -> Optional[Path]:
    """The directory ``current`` points to, or None when nothing was built yet."""
    pointer = output_dir / POINTER
    try:
        target = os.readlink(pointer)
    except OSError:
        return None
    path = (pointer.parent / target).resolve()
    return path if (path / "manifest.json").exists() else None


class KnowledgeBaseUnavailable(RuntimeError):
    """No build has been published yet (run ``python -m knowledge_base build``)."""


class KnowledgeBase:
    def __init__(self, config: KBConfig, clock=time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._matcher: Optional[Matcher] = None
        self._served: Optional[Path] = None
        self._checked_at = float("-inf")

    @property
    def served_version(self) -> Optional[str]:
        return self._served.name if self._served else None

    def _load(self, directory: Path) -> Matcher:
        index = index_files.load(directory)
        encoder = build_encoder(index.encoder_id, directory)
        return Matcher(index, encoder, self.config)

    def refresh(self, force: bool = False) -> bool:
        """Swap in a new build if ``current`` moved. Returns True when a new build was loaded."""
        now = self._clock()
        if not force and now - self._checked_at < self.config.reload_check_seconds:
            return False
        with self._lock:
            if not force and now - self._checked_at < self.config.reload_check_seconds:
                return False
            self._checked_at = now
            target = current_dir(self.config.output_dir)
            if target is None or target == self._served:
                return False
            try:
                matcher = self._load(target)
            except Exception:  # a broken build must not take the served one down
                log.exception("kb.reload.failed version=%s", target.name)
                return False
            self._matcher, self._served = matcher, target
            log.info("kb.reload.loaded version=%s entries=%d", target.name, matcher.index.n_entries)
            return True

    def matcher(self) -> Matcher:
        self.refresh()
        matcher = self._matcher
        if matcher is None:
            raise KnowledgeBaseUnavailable(
                f"no knowledge-base build under {self.config.output_dir}: run `python -m knowledge_base build`"
            )
        return matcher


_SHARED: Optional[KnowledgeBase] = None
_SHARED_LOCK = threading.Lock()


def shared_knowledge_base() -> KnowledgeBase:
    """The process-wide knowledge base (the action server uses one)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = KnowledgeBase(load_config())
        return _SHARED


def loaded_knowledge_base() -> Optional[KnowledgeBase]:
    """The process-wide knowledge base if this process already created it, else None (never loads one)."""
    return _SHARED
