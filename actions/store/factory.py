"""Pick the store backend from the environment.

- ``KEFU_STORE_BACKEND``: ``sql`` (default) or ``http``
- ``KEFU_STORE_DB_URL``: SQLAlchemy URL for ``sql`` (default ``sqlite:///var/store.db``)
- ``KEFU_STORE_HTTP_BASE``: base URL for ``http``, e.g. ``https://orders.example.com/api/v1``
- ``KEFU_STORE_HTTP_TOKEN``: optional bearer token for ``http``
- ``KEFU_STORE_HTTP_TIMEOUT``: read timeout in seconds for ``http`` (default 2.5)
"""

from __future__ import annotations

import os
import threading
from typing import Mapping, Optional

from actions.store.types import StoreBackend

DEFAULT_DB_URL = "sqlite:///var/store.db"

_lock = threading.Lock()
_store: Optional[StoreBackend] = None


class StoreConfigError(RuntimeError):
    pass


def create_store(env: Mapping[str, str] = os.environ) -> StoreBackend:
    """A new backend configured from ``env``."""
    kind = env.get("KEFU_STORE_BACKEND", "sql").strip().lower()
    if kind == "sql":
        from actions.store.sql import SqlStore

        return SqlStore(env.get("KEFU_STORE_DB_URL") or DEFAULT_DB_URL)
    if kind == "http":
        from actions.store.http import HttpSettings, HttpStore

        base = env.get("KEFU_STORE_HTTP_BASE")
        if not base:
            raise StoreConfigError("KEFU_STORE_BACKEND=http needs KEFU_STORE_HTTP_BASE")
        timeout = float(env.get("KEFU_STORE_HTTP_TIMEOUT") or 2.5)
        return HttpStore(
            HttpSettings(base_url=base, token=env.get("KEFU_STORE_HTTP_TOKEN") or None, read_timeout=timeout)
        )
    raise StoreConfigError(f"KEFU_STORE_BACKEND must be sql or http, not {kind!r}")


def get_store() -> StoreBackend:
    """The process-wide backend, created on first use."""
    global _store
    with _lock:
        if _store is None:
            _store = create_store()
        return _store


def set_store(store: Optional[StoreBackend]) -> None:
    """Replace the process-wide backend (tests, or an embedding application)."""
    global _store
    with _lock:
        _store = store
