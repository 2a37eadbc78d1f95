"""Schema migrations (Alembic) for every store Kefu owns; ``kernel/migrations/README.md`` says how to add one.

Services call :func:`ensure` where they used to call ``create_all``; operators run ``kefu-migrate``
(``python -m kernel.migrations``).
"""

from kernel.migrations.core import (
    COMMAND,
    ON_START_ENV,
    DatabaseAhead,
    DatabaseUnreachable,
    ForeignSchema,
    MigrationError,
    SchemaBehind,
    SchemaMissing,
    Status,
    ensure,
    forget,
    head,
    stamp,
    status,
    upgrade,
)
from kernel.migrations.stores import STORES

__all__ = [
    "COMMAND",
    "ON_START_ENV",
    "STORES",
    "DatabaseAhead",
    "DatabaseUnreachable",
    "ForeignSchema",
    "MigrationError",
    "SchemaBehind",
    "SchemaMissing",
    "Status",
    "ensure",
    "forget",
    "head",
    "stamp",
    "status",
    "upgrade",
]
