"""The start-up check of the stores that live in the Rasa process, which has no Alembic (SQLAlchemy 1.4, and
``requirements/rasa.lock`` is part of the model's fingerprint): the WeChat outbox and the 微信客服 state.

``kefu-migrate upgrade`` (the ``.venv`` CLI of ``make db``, the compose one-shot, the Kubernetes Job) migrates these
stores with Alembic like every other. The Rasa process only calls :func:`ensure` where it used to call
``create_all``:

- the version table holds :data:`HEADS` [store] -> go on (one query);
- an empty database (no version row, none of the store's tables) and ``KEFU_MIGRATE_ON_START`` on -> create the
  tables from the caller's models (which ``tests/kernel/test_migrations.py`` proves equal to the head revision)
  and record the head in ``kefu_version_<store>`` as ``alembic stamp`` writes it: the same result as
  ``kefu-migrate upgrade``;
- the tables of a ``create_all`` from before migrations, no version row, the head still the baseline and
  ``KEFU_MIGRATE_ON_START`` on -> the baseline's check that they are Kefu's tables (else
  :class:`~kernel.migrations.common.ForeignSchema`, nothing changed), the missing ones created, the head recorded;
- anything else (a revision behind the head: only Alembic can run revisions; a revision this release does not
  know; ``KEFU_MIGRATE_ON_START`` off and not at head) -> a :class:`~kernel.migrations.common.MigrationError`
  naming ``kefu-migrate upgrade``.

Creating and recording happen under the store's migration lock (:func:`kernel.migrations.common.locked`, the one
``kefu-migrate`` takes), and the version is read again once it is held: replicas starting together, or a replica
starting while the one-shot runs, create the tables once. The engine must be 2.0-style (``future=True``).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from kernel.migrations.baseline import Schema, check, declared
from kernel.migrations.common import (
    COMMAND,
    ON_START_ENV,
    DatabaseAhead,
    MigrationError,
    SchemaBehind,
    fast_current,
    locked,
    on_start_enabled,
    safe_url,
)
from kernel.migrations.stores import STORES, Store

#: Each light store's revisions, oldest first; the last is the head. ``tests/kernel/test_migrations_light.py``
#: checks them against the Alembic script directory: a new revision file must be added here too.
REVISIONS = {
    "wechat_outbox": ("0001",),
    "wechat_kf": ("0001",),
}
HEADS = {name: chain[-1] for name, chain in REVISIONS.items()}


def _store(name: str) -> Store:
    if name not in REVISIONS:
        raise MigrationError(f"store {name!r} is not checked by kernel.migrations.light; stores: {', '.join(REVISIONS)}")
    return STORES[name]


@cache
def baseline_schema(name: str) -> Schema:
    """The ``schema`` function of the store's baseline revision file, loaded without Alembic."""
    base = REVISIONS[name][0]
    files = sorted((_store(name).script_dir / "versions").glob(f"{base}_*.py"))
    if len(files) != 1:
        raise MigrationError(f"store {name!r}: expected one file for revision {base}, found {[f.name for f in files]}")
    spec = importlib.util.spec_from_file_location(f"kefu_light_{name}_{base}", files[0])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if getattr(module, "revision", None) != base or getattr(module, "down_revision", "x") is not None:
        raise MigrationError(f"store {name!r}: {files[0].name} is not the baseline revision {base}")
    return module.schema


def version_table(name: str) -> sa.Table:
    """``kefu_version_<store>`` exactly as Alembic makes it (a VARCHAR(32) primary key named ``<table>_pkc``)."""
    table = _store(name).version_table
    return sa.Table(
        table,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{table}_pkc"),
    )


def _refuse_unless_head(engine: sa.engine.Engine, name: str, current: Tuple[str, ...]) -> None:
    target = HEADS[name]
    chain = REVISIONS[name]
    unknown = [revision for revision in current if revision not in chain]
    if unknown:
        raise DatabaseAhead(
            f"the {name} database ({safe_url(engine)}) is at revision {', '.join(unknown)}, which this release does "
            f"not know: it was migrated by a newer release. Run that release, or restore the backup taken before its "
            f"upgrade; this code will not touch it."
        )
    if current and current != (target,):
        raise SchemaBehind(
            f"the {name} database ({safe_url(engine)}) is at revision {', '.join(current)} and this release needs "
            f"{target}: run `{COMMAND}` (back the database up first; docs/operations.md). The Rasa process does not "
            f"run revisions itself."
        )


def ensure(
    engine: sa.engine.Engine,
    name: str,
    tables: Sequence[sa.Table],
    environ: Optional[Mapping[str, str]] = None,
) -> None:
    """Go on when ``engine``'s database is at the store's head; create an empty one or adopt a ``create_all`` one
    (``KEFU_MIGRATE_ON_START`` on); else raise a :class:`MigrationError` naming ``kefu-migrate upgrade``.

    ``tables`` are the store's models (the head schema). An unreachable database raises SQLAlchemy's own error.
    """
    store = _store(name)
    target = HEADS[name]
    expected = set(declared(baseline_schema(name)))
    if {table.name for table in tables} != expected and len(REVISIONS[name]) == 1:
        raise MigrationError(
            f"store {name!r}: the models' tables {sorted(t.name for t in tables)} are not the baseline's {sorted(expected)}"
        )
    current = fast_current(engine, store)
    if current == (target,):
        return
    _refuse_unless_head(engine, name, current or ())
    if not on_start_enabled(environ):
        raise SchemaBehind(
            f"the {name} database ({safe_url(engine)}) is not versioned, this release needs revision {target}, and "
            f"{ON_START_ENV} is off: run `{COMMAND}` (back the database up first; docs/operations.md)"
        )
    with locked(engine, store) as conn:
        if conn.in_transaction():
            conn.commit()
        inspector = sa.inspect(conn)
        current = ()
        if inspector.has_table(store.version_table):
            current = tuple(sorted(conn.execute(sa.text(f"SELECT version_num FROM {store.version_table}")).scalars()))
        if conn.in_transaction():
            conn.commit()
        if current == (target,):  # another process did it while this one waited for the lock
            return
        _refuse_unless_head(engine, name, current)
        present = set(inspector.get_table_names()) & expected
        if present and target != REVISIONS[name][0]:
            raise SchemaBehind(
                f"the {name} database ({safe_url(engine)}) has tables from before migrations and this release needs "
                f"revision {target}: run `{COMMAND}` (back the database up first; docs/operations.md)"
            )
        if present:
            check(conn, baseline_schema(name), name)
        if conn.in_transaction():
            conn.commit()
        with conn.begin():
            for table in tables:
                table.create(conn, checkfirst=True)
            version = version_table(name)
            version.create(conn, checkfirst=True)
            conn.execute(version.insert().values(version_num=target))
