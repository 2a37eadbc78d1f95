"""Shared pytest fixtures: service URLs that skip cleanly when a service is down; and which environment runs
which test file.

Two virtualenvs run the suite: ``.venv-rasa`` (Rasa 3.6, Python 3.10) and ``.venv`` (Python 3.11). A test file
that needs Rasa says so with ``pytestmark = pytest.mark.rasa_env``; tests live beside the code they test
(``tests/<package>/...``), whatever environment they need. In the Rasa environment only marked files are
collected (and only the folders that hold one, so that other folders' conftests are never imported there); in
the app environment marked files are skipped at collection, since they import Rasa.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from functools import cache
from pathlib import Path
from typing import Iterator

import pytest

from tests.services import (
    POSTGRES_URL,
    REDIS_URL,
    postgres_unavailable_reason,
    redis_unavailable_reason,
    require_ci_services,
)

RASA_ENV_MARK = re.compile(r"^pytestmark\s*=.*\bpytest\.mark\.rasa_env\b", re.M)
IN_RASA_ENV = importlib.util.find_spec("rasa") is not None


@cache
def _needs_rasa(path: Path) -> bool:
    if path.is_dir():
        return any(_needs_rasa(child) for child in path.rglob("test_*.py"))
    return path.name.startswith("test_") and bool(RASA_ENV_MARK.search(path.read_text(encoding="utf-8")))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name == "__pycache__":
        return True
    if IN_RASA_ENV:
        if collection_path.is_dir() or collection_path.name.startswith("test_"):
            return not _needs_rasa(collection_path) or None
        return True  # conftest and helpers are imported when needed, never collected as tests
    if collection_path.suffix == ".py" and _needs_rasa(collection_path):
        return True
    return None


def _skip_or_fail(reason: str) -> None:
    if require_ci_services():
        pytest.fail(f"CI must have this service: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL database (trust auth, database ``test``)."""
    reason = postgres_unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    return POSTGRES_URL


@pytest.fixture()
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema, dropped afterwards.

    Tests that create tables get their own namespace, so parallel or repeated
    runs never see each other's rows.
    """
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    reason = redis_unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    return REDIS_URL
