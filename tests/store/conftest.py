"""Store fixtures: one seeded SQLite database per test session, PostgreSQL per test when it is up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from actions.store.seed import seed
from actions.store.sql import SqlStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("store") / "store.db"
    url = f"sqlite:///{path}"
    store = SqlStore(url)
    seed(store)
    store.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_store(sqlite_url: str) -> Iterator[SqlStore]:
    store = SqlStore(sqlite_url)
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def pg_store(pg_url: str) -> Iterator[SqlStore]:
    """A seeded PostgreSQL schema shared by one test module (seeding takes a few seconds), dropped afterwards."""
    import uuid

    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    store = SqlStore(f"{pg_url}?options=-csearch_path%3D{schema}")
    try:
        seed(store)
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture()
def pg_schema_store(pg_schema_url: str) -> Iterator[SqlStore]:
    """A fresh seeded PostgreSQL schema for one test (the shared pg_schema_url fixture)."""
    store = SqlStore(pg_schema_url)
    seed(store)
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_store(request: pytest.FixtureRequest) -> SqlStore:
    """Every SQL test runs on SQLite, and on PostgreSQL where it is up."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_store")
    return request.getfixturevalue("pg_store")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, url: str, faults: bool = True, token: str = "") -> None:
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), KEFU_STORE_HTTP_TOKEN=token)
        cmd = [sys.executable, "-m", "actions.store", "serve", "--url", url, "--port", str(self.port)]
        if faults:
            cmd.append("--faults")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the server prints its address
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"store server did not start: {line!r}")
        self.base = f"http://127.0.0.1:{self.port}/api/v1"

    def set_fault(self, mode: str, delay: float = 0.0) -> None:
        import requests

        r = requests.post(f"http://127.0.0.1:{self.port}/_faults", json={"mode": mode, "delay": delay}, timeout=5)
        r.raise_for_status()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def store_server(sqlite_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(sqlite_url)
    yield server
    server.stop()


@pytest.fixture()
def healthy_server(store_server: ServerProcess) -> Iterator[ServerProcess]:
    store_server.set_fault("none")
    yield store_server
    store_server.set_fault("none")


def wait_until(predicate, attempts: int = 100) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        if predicate():
            return True
        time.sleep(0.05)
    return False
