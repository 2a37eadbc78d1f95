"""Several replicas starting at once: processes upgrading one empty database together all succeed, the tables are
made once and the version row is the head (the PostgreSQL advisory lock; the SQLite lock file)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
import sqlalchemy as sa

from kernel import migrations
from kernel.migrations.stores import STORES
from tests.kernel.migration_models import differences

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4


def _upgrade_at_the_barrier(barrier, url: str, results) -> None:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(url)
    try:
        barrier.wait(timeout=60)
        for store in STORES:
            migrations.ensure(engine, store)  # what every service does at start-up
        results.put("ok")
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()


def check_one_set_at_head(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        for store in STORES:
            assert differences(engine, store) == []
            with engine.connect() as conn:
                rows = conn.execute(sa.text(f"SELECT version_num FROM kefu_version_{store}")).scalars().all()
            assert rows == [migrations.head(store)]
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return request.getfixturevalue("pg_schema_url")


def test_processes_starting_together_migrate_once(url: str) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=_upgrade_at_the_barrier, args=(barrier, url, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes: List[str] = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert outcomes == ["ok"] * PROCESSES, outcomes
    check_one_set_at_head(url)


def test_the_cli_run_by_several_one_shots_at_once(url: str) -> None:
    env: Dict[str, str] = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "KEFU_CONSOLE_DB_URL": url,
                           "KEFU_STORE_DB_URL": url, "KEFU_APP_DB_URL": url, "KEFU_VERIFY_DB_URL": url}
    runs = [subprocess.Popen([sys.executable, "-m", "kernel.migrations", "upgrade"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * PROCESSES, outputs
    upgraded = sum(out.count("upgraded from nothing") for out, _ in outputs)
    assert upgraded == len(STORES), outputs  # each store migrated by exactly one process; the others found the head
    check_one_set_at_head(url)
