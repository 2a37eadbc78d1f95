"""Shared pytest fixtures: service URLs that skip cleanly when a service is down."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.services import (
    POSTGRES_URL,
    REDIS_URL,
    postgres_unavailable_reason,
    redis_unavailable_reason,
    require_ci_services,
)


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
