"""One multi-process cluster per test module (it takes a minute or two to start)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.cluster.cluster import Cluster, unavailable_reason
from tests.conftest import _skip_or_fail


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    reason = unavailable_reason()
    if reason:
        _skip_or_fail(reason)
    started = Cluster.start(tmp_path_factory.mktemp("cluster"), redis_url=redis_url)
    try:
        yield started
    finally:
        started.stop()
