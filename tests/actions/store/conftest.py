"""Store fixtures: one seeded SQLite database per test session, PostgreSQL per test when it is up."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from actions.store.seed import seed
from actions.store.sql import SqlStore
from tests.harness import ROOT, Command, HttpReady, ServerProcess, environ_without, free_port


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


class StoreServer:
    """The store's reference server as a real process on a free port (started and stopped through
    tests/harness.py; its output goes to ``log_path``).

    ``faults=True`` runs it inside the test-only fault wrapper (tests/actions/store/faulty_server.py), which
    adds ``POST /_faults`` (:meth:`set_fault`); ``faults=False`` runs the product command as shipped.
    """

    def __init__(self, process: ServerProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}/api/v1"

    @classmethod
    def start(cls, url: str, log_path: Path, faults: bool = True, token: str = "") -> StoreServer:
        """Start the server on ``url``'s database and wait until it answers HTTP (a deadline; a server that
        exits first raises with its output)."""
        port = free_port()
        env = environ_without()
        env.update({"PYTHONPATH": str(ROOT), "KEFU_STORE_HTTP_TOKEN": token})
        if faults:
            argv = [sys.executable, "-m", "tests.actions.store.faulty_server", "--url", url, "--port", str(port)]
            argv += ["--token", token] if token else []
        else:
            argv = [sys.executable, "-m", "actions.store", "serve", "--url", url, "--port", str(port)]
        # any answer to /health (401 without the token) means it listens; the seeded store is up
        command = Command("store server", argv, env, HttpReady(f"http://127.0.0.1:{port}/api/v1/health"), cwd=ROOT)
        process = ServerProcess.start(command, log_path)
        try:
            process.wait_ready()
        except BaseException:
            process.stop(grace=10)
            raise
        return cls(process, port)

    def set_fault(self, mode: str, delay: float = 0.0) -> None:
        import requests

        r = requests.post(f"http://127.0.0.1:{self.port}/_faults", json={"mode": mode, "delay": delay}, timeout=5)
        r.raise_for_status()

    def stop(self) -> None:
        self.process.stop(grace=10)


@pytest.fixture(scope="module")
def store_server(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    server = StoreServer.start(sqlite_url, tmp_path_factory.mktemp("store-server") / "store-server.log")
    yield server
    server.stop()


@pytest.fixture()
def healthy_server(store_server: StoreServer) -> Iterator[StoreServer]:
    store_server.set_fault("none")
    yield store_server
    store_server.set_fault("none")


def wait_until(predicate, attempts: int = 100) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        if predicate():
            return True
        time.sleep(0.05)
    return False
