"""kernel.migrations.light against Alembic (the ``.venv`` side): its revision chains are the script directories',
a database made by ``kefu-migrate`` is accepted by the light check untouched, and one the light check made is at
head for ``kefu-migrate`` and equal to the models; importing it never imports Alembic.
(The Rasa environment's own tests: test_migrations_light_rasa.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy as sa

from kernel import migrations
from kernel.migrations import light
from kernel.migrations.__main__ import main as cli
from kernel.migrations.core import script_directory
from tests.kernel.migration_models import differences, metadata_of

ROOT = Path(__file__).resolve().parents[2]
LIGHT = sorted(light.REVISIONS)
ENV = {"wechat_outbox": "KEFU_WECHAT_OUTBOX_URL", "wechat_kf": "KEFU_WXKF_STATE_URL"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kefu.db'}"
    else:
        yield request.getfixturevalue("pg_schema_url")


def models(store: str) -> List[sa.Table]:
    return [table for metadata in metadata_of(store) for table in metadata.sorted_tables]


@pytest.mark.parametrize("store", LIGHT)
def test_the_light_chains_are_the_alembic_chains(store: str) -> None:
    chain = tuple(reversed([revision.revision for revision in script_directory(store).walk_revisions()]))
    assert light.REVISIONS[store] == chain
    assert light.HEADS[store] == migrations.head(store)


def test_the_light_stores_are_migrated_stores() -> None:
    assert set(light.REVISIONS) <= set(migrations.STORES)


@pytest.mark.parametrize("store", LIGHT)
def test_a_database_made_by_kefu_migrate_is_accepted_as_it_is(url: str, store: str) -> None:
    assert cli(["upgrade", "--store", store], {ENV[store]: url}) == 0
    engine = sa.create_engine(url)
    try:
        statements: List[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        light.ensure(engine, store, models(store), {"KEFU_MIGRATE_ON_START": "0"})
        assert statements == [f"SELECT version_num FROM kefu_version_{store}"]
    finally:
        engine.dispose()


@pytest.mark.parametrize("store", LIGHT)
def test_a_database_made_by_the_light_check_is_at_head_for_kefu_migrate(
        url: str, store: str, capsys: pytest.CaptureFixture) -> None:
    engine = sa.create_engine(url)
    try:
        light.ensure(engine, store, models(store))
        assert differences(engine, store) == []  # the same tables, columns, indexes as the revisions make
        assert migrations.status(engine, store).state == "at head"
        with engine.connect() as conn:  # the version table as Alembic makes it
            (pk,) = [sa.inspect(conn).get_pk_constraint(f"kefu_version_{store}")]
            columns = sa.inspect(conn).get_columns(f"kefu_version_{store}")
        assert pk["constrained_columns"] == ["version_num"]
        assert [(c["name"], c["type"].length, c["nullable"]) for c in columns] == [("version_num", 32, False)]
    finally:
        engine.dispose()
    assert cli(["status", "--store", store], {ENV[store]: url}) == 0
    assert f"{store}: at head" in capsys.readouterr().out
    assert cli(["upgrade", "--store", store], {ENV[store]: url}) == 0
    assert f"{store}: already at head" in capsys.readouterr().out


def test_an_adopted_create_all_database_equals_the_upgraded_one(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        for metadata in metadata_of("wechat_kf"):
            metadata.create_all(engine)
        light.ensure(engine, "wechat_kf", models("wechat_kf"))
        assert differences(engine, "wechat_kf") == []
        assert migrations.status(engine, "wechat_kf").state == "at head"
    finally:
        engine.dispose()


def test_importing_the_light_check_imports_no_alembic() -> None:
    code = ("import sys; import kernel.migrations.light, kernel.migrations; "
            "assert 'alembic' not in sys.modules, 'alembic imported'; "
            "kernel.migrations.ensure; assert 'alembic' in sys.modules")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
