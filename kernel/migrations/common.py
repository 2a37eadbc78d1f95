"""The parts of the migration machinery that need no Alembic: the errors, ``KEFU_MIGRATE_ON_START``, the one-query
version read and the per-store migration lock.

:mod:`kernel.migrations.core` (Alembic, the ``.venv`` services and ``kefu-migrate``) and
:mod:`kernel.migrations.light` (the Rasa process, SQLAlchemy 1.4 and no Alembic) both use them, so the two take the
same lock and say the same things. Nothing here imports Alembic; engines must be SQLAlchemy 2.0-style
(``future=True`` on 1.4).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from pathlib import Path
from typing import Iterator, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from kernel.migrations.stores import Store

ON_START_ENV = "KEFU_MIGRATE_ON_START"
COMMAND = "kefu-migrate upgrade"


class MigrationError(RuntimeError):
    """A database Kefu cannot (or must not) migrate; the message says what to do."""


class SchemaBehind(MigrationError):
    """The database is older than the code and migrating on start is turned off."""


class DatabaseAhead(MigrationError):
    """The database was migrated by a newer release than this code."""


class ForeignSchema(MigrationError):
    """Tables with Kefu's names that are not Kefu's (another application's, or damaged)."""


class SchemaMissing(MigrationError):
    """The database holds none of the store's tables and the caller may not create them."""


class DatabaseUnreachable(MigrationError):
    """The database did not answer."""


def on_start_enabled(environ: Optional[Mapping[str, str]] = None) -> bool:
    value = (os.environ if environ is None else environ).get(ON_START_ENV, "")
    value = value.strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise MigrationError(f"{ON_START_ENV} must be true or false, not {value!r}")


def safe_url(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def fast_current(engine: sa.Engine, store: Store) -> Optional[Tuple[str, ...]]:
    """The version row read with one query; None when the version table is not there (or the read failed for
    any reason but an unreachable database, which raises)."""
    try:
        with engine.connect() as conn:
            return tuple(sorted(conn.execute(sa.text(f"SELECT version_num FROM {store.version_table}")).scalars()))
    except sa_exc.OperationalError as error:
        if unreachable(error):
            raise
        return None
    except sa_exc.ProgrammingError:  # PostgreSQL: no such table
        return None


def unreachable(error: sa_exc.DBAPIError) -> bool:
    """Whether the driver could not connect at all (as opposed to a failed statement)."""
    if error.connection_invalidated:
        return True
    text = str(error.orig).lower()
    return any(
        words in text
        for words in (
            "connection refused",
            "could not connect",
            "unable to open database",
            "could not translate host",
            "timeout expired",
            "server closed the connection",
            "no such host",
            "connection to server",
        )
    )


# -- the lock ---------------------------------------------------------------------------------------

_thread_locks: dict = {}
_thread_locks_guard = threading.Lock()


def thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


@contextlib.contextmanager
def locked(engine: sa.Engine, store: Store) -> Iterator[sa.Connection]:
    """A connection holding the store's migration lock (released on exit)."""
    key = f"{safe_url(engine)}#{store.name}"
    with thread_lock(key):
        if engine.dialect.name == "sqlite":
            database = engine.url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database)
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(f"{path}.migrate.lock", "a+") as handle:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    try:
                        with engine.connect() as conn:
                            yield conn
                    finally:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
                return
            with engine.connect() as conn:
                yield conn
            return
        with engine.connect() as conn:
            lock_id = None
            if engine.dialect.name == "postgresql":
                schema = conn.execute(sa.text("SELECT current_schema()")).scalar() or ""
                lock_id = zlib.crc32(f"kefu-migrate:{store.name}:{schema}".encode()) & 0x7FFFFFFF
                conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
                conn.commit()
            try:
                yield conn
            finally:
                if lock_id is not None:
                    with contextlib.suppress(sa_exc.SQLAlchemyError):
                        conn.rollback()
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                        conn.commit()
