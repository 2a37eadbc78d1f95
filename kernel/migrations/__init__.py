"""Schema migrations (Alembic) for every store Kefu owns; ``kernel/migrations/README.md`` says how to add one.

Services call :func:`ensure` where they used to call ``create_all``; operators run ``kefu-migrate``
(``python -m kernel.migrations``). The Rasa process, which has no Alembic, calls :mod:`kernel.migrations.light`
instead: importing this package imports Alembic only when one of the Alembic-backed names below is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from kernel.migrations.common import (
    COMMAND,
    ON_START_ENV,
    DatabaseAhead,
    DatabaseUnreachable,
    ForeignSchema,
    MigrationError,
    SchemaBehind,
    SchemaMissing,
)
from kernel.migrations.stores import STORES

#: Alembic-backed names, imported from :mod:`kernel.migrations.core` on first use.
_CORE = ("Status", "ensure", "forget", "head", "stamp", "status", "upgrade")


def __getattr__(name: str) -> Any:
    if name in _CORE:
        return getattr(importlib.import_module("kernel.migrations.core"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
