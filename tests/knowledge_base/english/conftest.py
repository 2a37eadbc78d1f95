"""The optional English adaptation stack's tests (knowledge_base/english): they need its packages, so without
them every test here is skipped, saying what is missing and how to install it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import english

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if english.installed():
        return
    skip = pytest.mark.skip(reason=f"the English stack test {english.needed()}")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)
