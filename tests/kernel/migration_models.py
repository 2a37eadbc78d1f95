"""Which SQLAlchemy models each migrated store holds (the kernel may not import them), and a draft of the Alembic
operations a model change needs: ``python -m tests.kernel.migration_models console`` (kernel/migrations/README.md).
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import List

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.migration import MigrationContext

from kernel import migrations

ROOT = Path(__file__).resolve().parents[2]


def metadata_of(store: str) -> List[sa.MetaData]:
    if store == "console":
        import console.models

        console.models.import_models()
        return [console.models.Base.metadata]
    if store == "store":
        from actions.store.sql import Base

        return [Base.metadata]
    if store == "knowledge":
        from knowledge_base.learning.curation import Base as Curation
        from knowledge_base.learning.unanswered import Base as Unanswered

        return [Unanswered.metadata, Curation.metadata]
    if store == "notifier":
        from actions.notifier.ledger import metadata

        return [metadata]
    if store == "verification":
        from actions.verification_guard import SqlBackend

        return [SqlBackend("sqlite://").metadata]
    if store == "wechat_outbox":
        return [rasa_module("bot/channels/wechat/outbox.py").metadata]
    if store == "wechat_kf":
        return [rasa_module("bot/channels/wechat_kf/state.py").metadata]
    raise KeyError(store)


def rasa_module(path: str) -> ModuleType:
    """A module of the Rasa process that imports only SQLAlchemy and the kernel, loaded from its file: its
    package's ``__init__`` imports Rasa, which this environment does not have."""
    name = "kefu_rasa_side_" + path.replace("/", "_").removesuffix(".py")
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _only_the_stores(store: str):  # type: ignore[no-untyped-def]
    names = {table for metadata in metadata_of(store) for table in metadata.tables}

    def include(name, type_, *_args):  # type: ignore[no-untyped-def]
        # the store's tables only: stores share databases, and the version tables are Alembic's
        return name in names if type_ == "table" else True

    return include


def differences(engine: sa.Engine, store: str) -> list:
    """What ``compare_metadata`` finds between ``engine``'s database and the store's models."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": _only_the_stores(store), "compare_type": True}
        )
        return compare_metadata(context, metadata_of(store))


def draft(store: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'draft.db'}")
        migrations.upgrade(engine, store)
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_name": _only_the_stores(store), "compare_type": True,
                            "target_metadata": metadata_of(store)}
            )
            code = render_python_code(produce_migrations(context, metadata_of(store)).upgrade_ops)
        engine.dispose()
    return code


if __name__ == "__main__":
    print(draft(sys.argv[1]))
