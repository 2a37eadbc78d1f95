"""The baseline revision of a store: today's tables, written out, created where missing.

A baseline revision defines ``schema(create_table, create_index)``, the tables as ``op.create_table`` and
``op.create_index`` would take them, and its ``upgrade()`` calls :func:`apply` with it. On an empty database that
creates everything. On a database made by ``create_all`` before migrations existed it first checks that every
table it finds under one of the store's names has at least the baseline's columns (otherwise it is someone else's
table, or damaged: :class:`~kernel.migrations.core.ForeignSchema`, nothing is changed), then creates only the
missing tables (a release older than the baseline may lack some) with their indexes. Tables that are not the
store's are never looked at: stores share databases.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import sqlalchemy as sa

Schema = Callable[[Callable[..., Any], Callable[..., Any]], None]


def declared(schema: Schema) -> Dict[str, List[str]]:
    """Table name -> column names, as ``schema`` declares them."""
    tables: Dict[str, List[str]] = {}

    def table(name: str, *items: Any, **_kw: Any) -> None:
        tables[name] = [item.name for item in items if isinstance(item, sa.Column)]

    schema(table, lambda *a, **k: None)
    return tables


def check(bind: sa.engine.Connection, schema: Schema, store: str) -> None:
    """Raise ForeignSchema when a table with one of the baseline's names lacks some of its columns."""
    from kernel.migrations.common import ForeignSchema

    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    problems = []
    for name, columns in declared(schema).items():
        if name in existing:
            have = {column["name"] for column in inspector.get_columns(name)}
            missing = [column for column in columns if column not in have]
            if missing:
                problems.append(f"{name} (missing {', '.join(missing)})")
    if problems:
        raise ForeignSchema(
            f"the {store} database has tables named like Kefu's that are not Kefu's schema: {'; '.join(problems)}. "
            f"Point the store at its own database (or schema), or move those tables away; nothing was changed."
        )


def apply(schema: Schema, store: str) -> None:
    from alembic import op  # here, not at the top: kernel.migrations.light reads schemas without Alembic

    bind = op.get_bind()
    check(bind, schema, store)
    existing = set(sa.inspect(bind).get_table_names())
    created = set()

    def create_table(name: str, *items: Any, **kw: Any) -> None:
        if name not in existing:
            op.create_table(name, *items, **kw)
            created.add(name)

    def create_index(name: str, table: str, columns: List[str], **kw: Any) -> None:
        if table in created:
            op.create_index(name, table, columns, **kw)

    schema(create_table, create_index)


def baseline_schema(store: str) -> Schema:
    """The ``schema`` function of ``store``'s baseline revision (its first)."""
    from kernel.migrations.core import script_directory

    script = script_directory(store)
    base = next(iter(script.get_bases()))
    return script.get_revision(base).module.schema


def baseline_tables(store: str) -> List[str]:
    """The table names of ``store``'s baseline revision."""
    return list(declared(baseline_schema(store)))
