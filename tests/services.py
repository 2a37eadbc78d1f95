"""Reachability checks for the external services tests may use.

PostgreSQL and Redis are up in CI (``.ci/run`` starts them).  On a machine
without them, tests that need them skip with a clear reason instead of failing.
"""

from __future__ import annotations

import os
from typing import Optional

from tests.harness import port_open

POSTGRES_URL = os.environ.get("KEFU_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def postgres_unavailable_reason() -> Optional[str]:
    if not port_open("127.0.0.1", 5432):
        return "PostgreSQL is not listening on 127.0.0.1:5432 (CI starts it; run .ci/run or start it to include these tests)"
    return None


def redis_unavailable_reason() -> Optional[str]:
    if not port_open("127.0.0.1", 6379):
        return "Redis is not listening on 127.0.0.1:6379 (CI starts it; run .ci/run or start it to include these tests)"
    return None


def require_ci_services() -> bool:
    """In CI a missing service is a failure, not a skip."""
    return os.environ.get("CI", "").lower() == "true"
