"""bot.gc_freeze: the loaded model sits in the permanent generation, out of the cyclic collector's walks; a model loaded
again hands the earlier one back to the collector first, so its reference cycles are freed, not kept for good."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from bot import gc_freeze
from kernel.gc_freeze import frozen_after
from kernel.settings import ROOT

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

MODEL = ROOT / "models" / "kefu.tar.gz"


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture()
def unfrozen() -> Any:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_what_a_load_made_is_frozen_and_a_second_load_frees_the_first_ones_cycles(unfrozen: Any) -> None:
    first = frozen_after(Node)
    assert gc.get_freeze_count() > 0
    assert first not in gc.get_objects()  # frozen: no generation holds it, no collection walks it
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is not None  # a frozen cycle outlives collections...
    second = frozen_after(Node)
    assert gone() is None  # ...until the next load hands it back to the collector
    assert second not in gc.get_objects()


def test_the_trained_model_is_frozen_when_rasa_loads_it(unfrozen: Any) -> None:
    if not MODEL.exists():
        pytest.skip(f"no trained Rasa model at {MODEL}: run `make model` (make test does)")
    from rasa.core.agent import Agent

    gc_freeze.install()
    gc_freeze.install()  # idempotent
    agent = Agent.load(str(MODEL))
    tracked = len(gc.get_objects())
    # hundreds of thousands of the model's objects frozen, the few made since tracked as usual
    assert gc.get_freeze_count() > 100_000 and gc.get_freeze_count() > 10 * tracked
    assert agent.processor not in gc.get_objects()
