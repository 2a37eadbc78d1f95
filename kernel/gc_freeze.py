"""Keep a server's long-lived objects out of CPython's cyclic garbage collector.

A full (generation 2) collection walks every tracked object. In a server that has loaded a model or an index those
are hundreds of thousands of objects that live as long as the process: a full collection took 714 ms in the Rasa
server (about 940,000 objects with the model) and 80 ms in the action server (about 137,000 with the knowledge base
and its encoder), and each one stalls every request the process is serving (issue 24). :func:`frozen_after` runs a
load, collects what it left behind and moves every surviving object to the permanent generation (``gc.freeze``),
which collections skip. Reference counting still frees those objects; only reference cycles among them wait for
the next :func:`frozen_after`, which hands the frozen objects back to the collector first (``gc.unfreeze``), so a
model or index loaded again does not keep the earlier one's cycles for good.

Used by ``bot.gc_freeze`` (Rasa's ``Agent.load_model``) and ``actions.server`` (after the knowledge base warms up).
"""

from __future__ import annotations

import gc
import logging
from typing import Callable, TypeVar

log = logging.getLogger("kefu.gc_freeze")

T = TypeVar("T")


def frozen_after(load: Callable[[], T]) -> T:
    """Run ``load`` with what was frozen before handed back to the collector, then freeze what survives it."""
    gc.unfreeze()
    result = load()
    gc.collect()
    gc.freeze()
    log.info("gc_freeze.frozen objects=%d", gc.get_freeze_count())
    return result
