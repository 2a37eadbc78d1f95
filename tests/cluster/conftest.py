"""One multi-process cluster per test module (it takes a minute or two to start)."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.cluster.cluster import Cluster, unavailable_reason
from tests.conftest import _skip_or_fail
from tests.harness import log_sections


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed cluster test shows the tail of every process's log: CI keeps nothing else."""
    outcome = yield
    report = outcome.get_result()
    started = getattr(item, "funcargs", {}).get("cluster")
    if report.when == "call" and report.failed and isinstance(started, Cluster):
        report.sections.extend(log_sections([started]))
