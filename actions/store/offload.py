"""Blocking I/O off the action server's event loop.

rasa-sdk runs every action as a coroutine on one Sanic event loop. The store backends (SQLAlchemy, the HTTP
adapter on a synchronous ``httpx.Client``), the verification lockout (Redis or SQL) and the notifier's ledger are
synchronous: called on the loop, one slow order system (5 s, or ~11 s with retries) would stall every other
conversation on the replica, FAQ answers included. Every such call of an action goes through :func:`offload`,
which runs it in one bounded thread pool and lets the loop serve other conversations meanwhile.

- ``KEFU_ACTIONS_IO_THREADS``: the pool's size (default 16, 1..256). It bounds how many store calls are in
  flight at once: with the order system slow, further store calls queue here instead of opening more
  connections to it, while actions that need no store (FAQ, fallback, language) are not delayed at all.

The log's conversation id (a context variable) is carried into the worker thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Optional, TypeVar

THREADS_ENV = "KEFU_ACTIONS_IO_THREADS"
DEFAULT_THREADS = 16
MAX_THREADS = 256

T = TypeVar("T")

_lock = threading.Lock()
_executor: Optional[ThreadPoolExecutor] = None


class OffloadConfigError(ValueError):
    """``KEFU_ACTIONS_IO_THREADS`` is not a whole number in 1..256."""


def pool_size(env: Mapping[str, str] = os.environ) -> int:
    raw = (env.get(THREADS_ENV) or "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        size = int(raw)
    except ValueError:
        raise OffloadConfigError(f"{THREADS_ENV} must be a whole number, not {raw!r}") from None
    if not 1 <= size <= MAX_THREADS:
        raise OffloadConfigError(f"{THREADS_ENV} must be between 1 and {MAX_THREADS}, not {size}")
    return size


def executor() -> ThreadPoolExecutor:
    """The process-wide pool, created on first use (after a fork or in a Sanic worker, in that process)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=pool_size(), thread_name_prefix="kefu-io")
        return _executor


def shutdown() -> None:
    """Stop the pool (waiting for running calls); the next :func:`offload` starts a new one."""
    global _executor
    with _lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True)


async def offload(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the I/O pool; its result or its exception, raised here."""
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(executor(), call)
