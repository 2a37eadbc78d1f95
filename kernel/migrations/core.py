"""Upgrade, inspect and stamp one store's database with Alembic, safely from several processes at once.

- :func:`ensure` is what a service calls at start-up instead of ``create_all``: one query when the database is at
  the head revision; otherwise (``KEFU_MIGRATE_ON_START``, default on) an upgrade under the store's lock, or a
  refusal naming ``kefu-migrate upgrade``.
- :func:`upgrade`, :func:`status`, :func:`stamp` back ``python -m kernel.migrations`` (``kefu-migrate``).

The lock: ``pg_advisory_lock`` on PostgreSQL (per store and schema), an exclusive ``flock`` on a lock file beside
the SQLite database. Whoever holds it reads the version again before migrating, so replicas starting together
migrate once and the others find the head.

A database made by ``create_all`` before migrations existed has the tables and no version table: the baseline
revision checks the tables it finds are Kefu's (:mod:`kernel.migrations.baseline`), creates the missing ones and
records the baseline; later revisions then run as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Mapping, Optional, Tuple

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import exc as sa_exc

from kernel.migrations.common import (
    COMMAND,
    ON_START_ENV,
    DatabaseAhead,
    DatabaseUnreachable,
    ForeignSchema,  # noqa: F401 - kernel.migrations.core.ForeignSchema, as before
    MigrationError,
    SchemaBehind,
    SchemaMissing,
    on_start_enabled,
)
from kernel.migrations.common import fast_current as _fast_current
from kernel.migrations.common import locked as _locked
from kernel.migrations.common import safe_url as _safe_url
from kernel.migrations.common import unreachable as _unreachable
from kernel.migrations.stores import STORES, Store


@dataclass(frozen=True)
class Status:
    store: str
    url: str  # without its password
    current: Tuple[str, ...]  # revisions recorded in the database; () when none
    head: str
    tables_present: bool  # any of the store's tables exist (meaningful when ``current`` is empty)

    @property
    def state(self) -> str:
        if self.current == (self.head,):
            return "at head"
        if not self.current:
            return "unversioned (tables from create_all)" if self.tables_present else "empty"
        return "behind"


def get_store(name: str) -> Store:
    try:
        return STORES[name]
    except KeyError:
        raise MigrationError(f"unknown store {name!r}; stores: {', '.join(STORES)}") from None


@cache
def script_directory(name: str) -> ScriptDirectory:
    store = get_store(name)
    config = Config()
    config.set_main_option("script_location", str(store.script_dir))
    config.set_main_option("version_locations", str(store.script_dir / "versions"))
    return ScriptDirectory.from_config(config)


def head(name: str) -> str:
    heads = script_directory(name).get_heads()
    if len(heads) != 1:  # two revisions with one parent: a merge is missing (kernel/migrations/README.md)
        raise MigrationError(f"store {name!r} has {len(heads)} head revisions {sorted(heads)}; write a merge revision")
    return heads[0]


def _versions(conn: sa.Connection, store: Store) -> Optional[Tuple[str, ...]]:
    """The revisions in the store's version table, or None when there is no version table."""
    if not sa.inspect(conn).has_table(store.version_table):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {store.version_table}")).scalars().all()
    return tuple(sorted(rows))


def _check_known(name: str, engine: sa.Engine, current: Tuple[str, ...]) -> None:
    script = script_directory(name)
    for revision in current:
        try:
            known = script.get_revision(revision)
        except Exception:  # alembic raises several kinds for an unknown id
            known = None
        if known is None:
            raise DatabaseAhead(
                f"the {name} database ({_safe_url(engine)}) is at revision {revision}, which this release does not "
                f"know: it was migrated by a newer release. Run that release, or restore the backup taken before "
                f"its upgrade; this code will not touch it."
            )


# -- running revisions ------------------------------------------------------------------------------


def _run(conn: sa.Connection, store: Store, destination: str, stamp_only: bool = False) -> None:
    script = script_directory(store.name)
    config = script.config if hasattr(script, "config") else Config()

    def steps(rev, context):  # type: ignore[no-untyped-def]
        if stamp_only:
            return script._stamp_revs(destination, rev)
        return script._upgrade_revs(destination, rev)

    with EnvironmentContext(config, script, fn=steps, destination_rev=destination) as env:
        env.configure(connection=conn, version_table=store.version_table, transaction_per_migration=True)
        with env.begin_transaction():
            env.run_migrations()
    if conn.in_transaction():
        conn.commit()


def _upgrade_locked(engine: sa.Engine, store: Store) -> Tuple[Tuple[str, ...], str]:
    """Upgrade under the lock; returns (revisions before, head)."""
    target = head(store.name)
    with _locked(engine, store) as conn:
        current = _versions(conn, store) or ()
        if conn.in_transaction():
            conn.commit()
        _check_known(store.name, engine, current)
        if not current:  # before Alembic writes its version table: a foreign schema leaves the database untouched
            from kernel.migrations.baseline import baseline_schema, check

            check(conn, baseline_schema(store.name), store.name)
            if conn.in_transaction():
                conn.commit()
        if current != (target,):
            _run(conn, store, target)
        return current, target


def _connect_error(engine: sa.Engine, store: Store, error: sa_exc.SQLAlchemyError) -> DatabaseUnreachable:
    return DatabaseUnreachable(
        f"the {store.name} database ({_safe_url(engine)}) did not answer: {type(error).__name__}: "
        f"{str(getattr(error, 'orig', error)).strip().splitlines()[0] if str(getattr(error, 'orig', error)).strip() else ''}"
    )


def ensure(engine: sa.Engine, name: str, environ: Optional[Mapping[str, str]] = None, create: bool = True) -> None:
    """Bring ``engine``'s database to the store's head revision, or refuse.

    At head: one query. Behind: upgrade under the lock when ``KEFU_MIGRATE_ON_START`` is on (default), else raise
    :class:`SchemaBehind`. Ahead of the code: :class:`DatabaseAhead`. ``create=False``: a database without any of
    the store's tables is not created but refused (:class:`SchemaMissing`; a reader that must not mistake an
    unseeded database for an empty shop). An unreachable database raises SQLAlchemy's own error, which the stores
    already handle.
    """
    store = get_store(name)
    target = head(name)
    current = _fast_current(engine, store)
    if current == (target,):
        return
    if current:
        _check_known(name, engine, current)
    elif not create:
        from kernel.migrations.baseline import baseline_tables

        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names()) & set(baseline_tables(name))
        if not present:
            raise SchemaMissing(
                f"the {name} database ({_safe_url(engine)}) has none of its tables: run `{COMMAND}` "
                f"(and seed it, for the demo store)"
            )
    if not on_start_enabled(environ):
        state = f"at revision {', '.join(current)}" if current else "not versioned"
        raise SchemaBehind(
            f"the {name} database ({_safe_url(engine)}) is {state}, this release needs revision {target}, and "
            f"{ON_START_ENV} is off: run `{COMMAND}` (back the database up first; docs/operations.md)"
        )
    _upgrade_locked(engine, store)


def upgrade(engine: sa.Engine, name: str) -> Tuple[Tuple[str, ...], str]:
    """Upgrade to head under the lock (the CLI). Returns (revisions before, head)."""
    store = get_store(name)
    try:
        return _upgrade_locked(engine, store)
    except sa_exc.OperationalError as error:
        if _unreachable(error):
            raise _connect_error(engine, store, error) from error
        raise
    except OSError as error:  # the SQLite file's folder or lock file cannot be made
        raise DatabaseUnreachable(f"the {name} database ({_safe_url(engine)}) cannot be opened: {error}") from error


def status(engine: sa.Engine, name: str) -> Status:
    store = get_store(name)
    target = head(name)
    try:
        with engine.connect() as conn:
            current = _versions(conn, store) or ()
            present = False
            if not current:
                from kernel.migrations.baseline import baseline_tables

                tables = set(sa.inspect(conn).get_table_names())
                present = bool(tables & set(baseline_tables(name)))
    except sa_exc.OperationalError as error:
        if _unreachable(error):
            raise _connect_error(engine, store, error) from error
        raise
    _check_known(name, engine, current)
    return Status(name, _safe_url(engine), current, target, present)


def stamp(engine: sa.Engine, name: str, revision: str = "head") -> str:
    """Record ``revision`` without running anything (for a database migrated by hand). Returns the revision."""
    store = get_store(name)
    destination = head(name) if revision == "head" else revision
    try:
        script_directory(name).get_revision(destination)
    except Exception as error:
        raise MigrationError(f"store {name!r} has no revision {revision!r}") from error
    try:
        with _locked(engine, store) as conn:
            _run(conn, store, destination, stamp_only=True)
    except sa_exc.OperationalError as error:
        if _unreachable(error):
            raise _connect_error(engine, store, error) from error
        raise
    return destination


def forget(engine: sa.Engine, name: str) -> None:
    """Drop the store's version table (after its tables were dropped, e.g. a reseed): the next ensure starts over."""
    store = get_store(name)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {store.version_table}"))
