"""Shared pytest fixtures: service URLs that skip cleanly when a service is down; the stacks that several test
modules share (tests/stack.py, ``SHARED``); and which environment runs which test file.

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
from typing import Any, Dict, Iterator, Optional

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


# -- shared stacks (tests/stack.py) ----------------------------------------------------------------------------------
_POOL: Dict[str, Any] = {}


@pytest.fixture(scope="session")
def stack_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session's :class:`tests.stack.StackPool`; it stops whatever it started when the session ends."""
    from tests.stack import StackPool

    pool = StackPool(tmp_path_factory.mktemp("shared-stacks"))
    _POOL["pool"] = pool
    try:
        yield pool
    finally:
        _POOL.clear()
        pool.stop()


#: Shared systems that are not in the pool, by fixture name: how to stop them once their last user is done.
_STOPPERS: Dict[str, Any] = {}
OUTSIDE_CONSOLE = "rasa_with_outside_console"


def _shared_users(items: list) -> Dict[str, list]:
    """The collected tests that use each shared stack, in the order they run."""
    from tests.stack import SHARED

    users: Dict[str, list] = {}
    for item in items:
        for name in [*SHARED, OUTSIDE_CONSOLE]:
            if name in getattr(item, "fixturenames", ()):
                users.setdefault(name, []).append(item.nodeid)
    return users


#: How many tests before its first user a shared stack is spawned: Rasa loads its model while they run (35-140 s),
#: and the stack holds its memory (about 2 GB) only from then on.
SPAWN_AHEAD = 60
#: The order of the shared stacks' users at the end of the session (modules using none keep their place before).
_SHARED_RANK = {(OUTSIDE_CONSOLE,): 1, ("staffed_stack",): 2, ("staffed_stack", "unstaffed_stack"): 3,
                ("unstaffed_stack",): 4}


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """The modules on a shared stack run last, grouped by stack (each module's tests in their order), so that each
    shared stack is up for one stretch of the session and not beside the others' and the cluster's processes."""
    if IN_RASA_ENV:
        return
    from tests.stack import SHARED

    names = [OUTSIDE_CONSOLE, *SHARED]
    used: Dict[str, set] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        used.setdefault(module, set()).update(n for n in names if n in getattr(item, "fixturenames", ()))
    rank = {module: _SHARED_RANK.get(tuple(n for n in names if n in found), 5) if found else 0
            for module, found in used.items()}
    items[:] = sorted(items, key=lambda item: rank[item.nodeid.split("::")[0]])


@pytest.fixture(scope="session", autouse=True)
def _plan_shared_stacks(request: pytest.FixtureRequest) -> None:
    """Which test spawns each shared stack ahead (``SPAWN_AHEAD`` tests before its first user, without waiting) and
    which stops it (its last user); ``pytest_runtest_setup`` and ``pytest_runtest_teardown`` below do it."""
    if IN_RASA_ENV:
        return
    items = request.session.items
    users = _shared_users(items)
    if not users:
        return
    from tests.stack import model_missing_reason

    pool = request.getfixturevalue("stack_pool")
    _POOL["last_users"] = {nodeids[-1]: name for name, nodeids in users.items()}
    if model_missing_reason():
        return  # the users skip
    index = {item.nodeid: i for i, item in enumerate(items)}
    spawn_at: Dict[str, list] = {}
    for name, nodeids in users.items():
        if name in pool.configs:
            spawn_at.setdefault(items[max(0, index[nodeids[0]] - SPAWN_AHEAD)].nodeid, []).append(name)
    _POOL["spawn_at"] = spawn_at


@pytest.hookimpl(trylast=True)  # after the fixtures: the first test's setup makes the plan
def pytest_runtest_setup(item: pytest.Item) -> None:
    names = _POOL.get("spawn_at", {}).get(item.nodeid)
    if names and "pool" in _POOL:
        for name in names:
            try:
                _POOL["pool"].spawn(name)
            except Exception:  # noqa: BLE001 - not this test's failure: the stack's first user starts it and fails
                pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
    yield
    name = _POOL.get("last_users", {}).get(item.nodeid)
    if not name:
        return
    # no later test uses it
    stopper = _STOPPERS.pop(name, None)
    if stopper is not None:
        stopper()
    elif "pool" in _POOL:
        _POOL["pool"].stop(name)


def _shared_stack(request: pytest.FixtureRequest, name: str) -> Any:
    from tests.stack import model_missing_reason

    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    return request.getfixturevalue("stack_pool").get(name)


@pytest.fixture(scope="module")
def staffed_stack(request: pytest.FixtureRequest) -> Any:
    """The shared stack on the demo store, agents on duty around the clock (tests/stack.py ``SHARED``)."""
    return _shared_stack(request, "staffed_stack")


@pytest.fixture(scope="module")
def unstaffed_stack(request: pytest.FixtureRequest) -> Any:
    """The shared stack on the demo store, outside working hours at every hour (tests/stack.py ``SHARED``)."""
    return _shared_stack(request, "unstaffed_stack")


@pytest.fixture(scope="session")
def rasa_with_outside_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Rasa and the action server (tests/stack.py) with a console started by itself (tests/console/process.py) that
    reads Rasa's event table and calls its API: ``(stack, console)``, shared by the handoff round trip and the
    console's Rasa integration (each test has its own sender). Stopped after its last user."""
    from tests.console.process import Console
    from tests.stack import Stack, model_missing_reason

    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("rasa-outside-console")
    console = Console.create(workdir / "console", rasa_url="http://unset")
    stack = Stack.start(workdir / "stack", only=["actions", "rasa"],
                        extra_env={"KEFU_CONSOLE_URL": console.url, "KEFU_CONSOLE_SERVICE_TOKEN": console.token})
    console.env.update({"KEFU_RASA_URL": stack.rasa_url, "KEFU_RASA_TOKEN": stack.token,
                        "KEFU_EVENTS_DB": stack.env["KEFU_EVENTS_DB"]})

    def stop() -> None:
        console.stop()
        stack.stop()

    _STOPPERS[OUTSIDE_CONSOLE] = stop
    try:
        console.start()
        yield stack, console
    finally:
        stopper = _STOPPERS.pop(OUTSIDE_CONSOLE, None)
        if stopper is not None:
            stopper()
