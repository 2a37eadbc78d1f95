"""The loaded model is kept out of Python's cyclic garbage collector: a full collection no longer stalls turns.

A Rasa process with Kefu's model tracks about 940,000 objects once the model is loaded (TensorFlow graphs, the
featurizers' vocabularies, the domain). CPython's collector walks every one of them in each full (generation 2)
collection: 714 ms measured on this machine, during which the event loop answers nobody. Full collections come
whenever enough objects have survived into the oldest generation, so under load they land on running turns as
latency spikes and lost throughput (issue 24).

``install()`` wraps ``Agent.load_model`` (the start, and every model replaced through the HTTP API) with
``kernel.gc_freeze.frozen_after``: the earlier model's objects are handed back to the collector, the new model is
loaded, one full collection clears what the load left behind, and every surviving object moves to the permanent
generation, which collections skip. After the freeze a full collection walks only the turns' own objects.

``bot.server`` installs this before starting Rasa; ``KEFU_RUNTIME_BASELINE=1`` leaves it out (bot/runtime.py).
"""

from __future__ import annotations

from typing import Any, Optional

from kernel.gc_freeze import frozen_after

_installed: Optional[Any] = None


def install() -> None:
    """Wrap Agent.load_model (idempotent)."""
    global _installed
    from rasa.core.agent import Agent

    if _installed is not None:
        return
    original = Agent.load_model

    def load_model(self: Any, model_path: Any, fingerprint: Optional[str] = None) -> None:
        return frozen_after(lambda: original(self, model_path, fingerprint))

    load_model.__doc__ = original.__doc__
    Agent.load_model = load_model  # type: ignore[method-assign]
    _installed = original
