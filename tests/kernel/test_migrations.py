"""Schema migrations (kernel/migrations): the head revisions agree with the models on SQLite and PostgreSQL, a
service's start-up check is one query at head, refuses when told not to migrate, and the errors are clear
(unreachable database, a database ahead of the code, foreign tables under Kefu's names)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy as sa

from kernel import migrations
from kernel.migrations.__main__ import main as cli
from kernel.migrations.stores import STORES
from tests.kernel.migration_models import differences, metadata_of

SQL_STORES = sorted(STORES)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend (a fresh PostgreSQL schema, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kefu.db'}"
    else:
        yield request.getfixturevalue("pg_schema_url")


def tables(engine: sa.Engine) -> List[str]:
    return sorted(sa.inspect(engine).get_table_names())


@pytest.mark.parametrize("store", SQL_STORES)
def test_the_head_revision_is_exactly_the_models(url: str, store: str) -> None:
    engine = sa.create_engine(url)
    try:
        migrations.ensure(engine, store)
        assert differences(engine, store) == []
        expected = {table for metadata in metadata_of(store) for table in metadata.tables}
        assert set(tables(engine)) == expected | {f"kefu_version_{store}"}
        assert migrations.status(engine, store).state == "at head"
    finally:
        engine.dispose()


def test_a_model_change_without_a_revision_is_found(tmp_path: Path) -> None:
    """The agreement test can fail: a column the revisions never add is a difference."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrations.ensure(engine, "notifier")
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE kefu_notices DROP COLUMN detail"))
    found = differences(engine, "notifier")
    assert [(d[0], d[3].name) for d in found] == [("add_column", "detail")]


def test_every_store_shares_one_database_without_clashing(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        for store in SQL_STORES:
            migrations.ensure(engine, store)
        for store in SQL_STORES:
            assert differences(engine, store) == []
            assert migrations.status(engine, store).current == (migrations.head(store),)
    finally:
        engine.dispose()


def test_at_head_the_start_up_check_is_one_query(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrations.ensure(engine, "console")
    statements: List[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    migrations.ensure(engine, "console")
    assert statements == ["SELECT version_num FROM kefu_version_console"]


def test_with_migrate_on_start_off_a_store_behind_refuses_and_names_the_command(tmp_path: Path, monkeypatch) -> None:
    from knowledge_base.learning.unanswered import Record, UnansweredStore

    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "0")
    url = f"sqlite:///{tmp_path / 'app.db'}"
    store = UnansweredStore(url)
    with pytest.raises(migrations.SchemaBehind, match="kefu-migrate upgrade"):
        store.record(Record(text="以旧换新", language="zh-CN", outcome="no_answer", candidates=[]))
    assert tables(store.engine) == []  # nothing was created behind the operator's back
    assert cli(["upgrade", "--store", "knowledge"], {"KEFU_APP_DB_URL": url}) == 0
    store.record(Record(text="以旧换新", language="zh-CN", outcome="no_answer", candidates=[]))  # now it starts
    assert [row.text for row in store.rows()] == ["以旧换新"]


def test_the_console_refuses_too(tmp_path: Path, monkeypatch) -> None:
    from console.models import create_schema, make_engine

    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "false")
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    with pytest.raises(migrations.SchemaBehind, match=r"console database .* KEFU_MIGRATE_ON_START is off: run `kefu-migrate upgrade`"):
        create_schema(engine)
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "maybe")
    with pytest.raises(migrations.MigrationError, match="KEFU_MIGRATE_ON_START must be true or false"):
        create_schema(engine)
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "1")
    create_schema(engine)
    assert migrations.status(engine, "console").state == "at head"


def test_an_unreachable_database_is_a_clear_error_and_exit_1(tmp_path: Path, capsys) -> None:
    env = {"KEFU_CONSOLE_DB_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/test"}
    assert cli(["upgrade", "--store", "console"], env) == 1
    err = capsys.readouterr().err
    assert "console: ERROR: the console database (postgresql+psycopg2://postgres@127.0.0.1:1/test) did not answer" in err
    assert cli(["status", "--store", "console"], env) == 1
    # a SQLite file in a folder that cannot be made
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli(["upgrade", "--store", "store"], {"KEFU_STORE_DB_URL": f"sqlite:///{blocker}/sub/x.db"}) == 1
    assert "store: ERROR: the store database (sqlite:///" in capsys.readouterr().err


def test_a_password_never_reaches_the_message(capsys) -> None:
    env = {"KEFU_CONSOLE_DB_URL": "postgresql+psycopg2://kefu:s3cret-pw@127.0.0.1:1/test"}
    assert cli(["upgrade", "--store", "console"], env) == 1
    assert "s3cret-pw" not in capsys.readouterr().err


def test_a_database_ahead_of_the_code_is_refused(url: str, capsys) -> None:
    engine = sa.create_engine(url)
    try:
        migrations.ensure(engine, "store")
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE kefu_version_store SET version_num = '0099'"))
        with pytest.raises(migrations.DatabaseAhead, match="revision 0099, which this release does not know"):
            migrations.ensure(engine, "store")
        with pytest.raises(migrations.DatabaseAhead):
            migrations.upgrade(engine, "store")
        env = {"KEFU_STORE_DB_URL": url}
        assert cli(["upgrade", "--store", "store"], env) == 1
        assert "newer release" in capsys.readouterr().err
        assert cli(["status", "--store", "store"], env) == 1
        with engine.connect() as conn:  # untouched
            assert conn.execute(sa.text("SELECT version_num FROM kefu_version_store")).scalar() == "0099"
    finally:
        engine.dispose()


def test_foreign_tables_under_kefus_names_are_refused_and_nothing_changes(url: str, capsys) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # the seller's own orders table in the database KEFU_STORE_DB_URL names
            conn.execute(sa.text("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER)"))
            conn.execute(sa.text("INSERT INTO orders VALUES (1, 100)"))
        with pytest.raises(migrations.ForeignSchema, match=r"orders \(missing order_id, customer_id"):
            migrations.ensure(engine, "store")
        assert tables(engine) == ["orders"]
        assert cli(["upgrade", "--store", "store"], {"KEFU_STORE_DB_URL": url}) == 1
        assert "not Kefu's schema" in capsys.readouterr().err
        assert tables(engine) == ["orders"]
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT amount FROM orders")).scalar() == 100
    finally:
        engine.dispose()


def test_other_applications_tables_beside_kefus_are_left_alone(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))  # e.g. Rasa's
        migrations.ensure(engine, "console")
        assert "events" in tables(engine)
        assert differences(engine, "console") == []
    finally:
        engine.dispose()


def test_an_older_release_missing_a_table_gets_it(tmp_path: Path) -> None:
    """A store made before product specs existed (create_all of an older release): adopted, the table added."""
    path = tmp_path / "store.db"
    script = (Path(__file__).parent / "data/release_b5e7bd9/store.sqlite.sql").read_text(encoding="utf-8")
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        conn.execute("DROP TABLE product_specs")
    engine = sa.create_engine(f"sqlite:///{path}")
    assert migrations.status(engine, "store").state == "unversioned (tables from create_all)"
    migrations.ensure(engine, "store")
    assert differences(engine, "store") == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM orders")).scalar() == 1


def test_stamp_records_a_revision_without_running_it(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'v.db'}"
    env = {"KEFU_VERIFY_DB_URL": url}
    assert cli(["stamp", "--store", "verification"], env) == 0
    engine = sa.create_engine(url)
    assert tables(engine) == ["kefu_version_verification"]
    assert cli(["status", "--store", "verification"], env) == 0
    assert "verification: at head" in capsys.readouterr().out
    assert cli(["stamp", "--store", "verification", "nope"], env) == 1
    assert "has no revision 'nope'" in capsys.readouterr().err


def test_status_reads_without_creating_and_exits_3_when_behind(tmp_path: Path, capsys) -> None:
    env = {"KEFU_CONSOLE_DB_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    assert cli(["status", "--store", "console"], env) == 3
    assert not (tmp_path / "c.db").exists()
    assert cli(["upgrade", "--store", "console"], env) == 0
    assert f"console: upgraded from nothing; at {migrations.head('console')}" in capsys.readouterr().out
    assert cli(["upgrade", "--store", "console"], env) == 0
    assert "console: already at head" in capsys.readouterr().out
    assert cli(["status", "--store", "console"], env) == 0


def test_stores_kept_outside_sql_are_skipped(capsys) -> None:
    env = {"KEFU_STORE_BACKEND": "http", "KEFU_VERIFY_BACKEND": "redis", "KEFU_VERIFY_REDIS_URL": "redis://x"}
    assert cli(["status", "--store", "store"], env) == 0
    assert cli(["status", "--store", "verification"], env) == 0
    assert capsys.readouterr().out.count("not kept in SQL by this configuration") == 2


def test_the_cli_takes_the_services_urls(tmp_path: Path, monkeypatch) -> None:
    """kernel/migrations/stores.py restates each service's URL rule: they agree."""
    from actions.notifier.ledger import DEFAULT_DB_URL as LEDGER_DEFAULT
    from actions.store.factory import create_store
    from actions.verification_guard import guard_from_env
    from console.settings import load_settings
    from knowledge_base.config import load_config
    from tests.kernel.migration_models import rasa_module

    outbox = rasa_module("bot/channels/wechat/outbox.py")
    state = rasa_module("bot/channels/wechat_kf/state.py")

    for env in ({"KEFU_VAR_DIR": str(tmp_path)},
                {"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_DB_URL": "sqlite:///var/other.db",
                 "KEFU_APP_DB_URL": f"sqlite:///{tmp_path}/app.db", "KEFU_STORE_DB_URL": f"sqlite:///{tmp_path}/s.db",
                 "KEFU_VERIFY_DB_URL": f"sqlite:///{tmp_path}/v.db"}):
        for name in ("KEFU_APP_DB_URL", "KEFU_KB_CONFIG"):
            monkeypatch.delenv(name, raising=False)
        if "KEFU_APP_DB_URL" in env:
            monkeypatch.setenv("KEFU_APP_DB_URL", env["KEFU_APP_DB_URL"])
        assert STORES["console"].url(env) == load_settings(env).db_url
        assert STORES["store"].url(env) == create_store(env).url
        assert STORES["knowledge"].url(env) == load_config(env=env).db_url()
        assert STORES["notifier"].url(env) == (env.get("KEFU_APP_DB_URL") or LEDGER_DEFAULT)
        guard = guard_from_env(env)
        assert STORES["verification"].url(env) == str(guard.backend.engine.url)
        assert STORES["wechat_outbox"].url(env) == outbox.default_url(env)
        assert STORES["wechat_kf"].url(env) == state.default_url(env)
    for env in ({"KEFU_WECHAT_OUTBOX_URL": f"sqlite:///{tmp_path}/o.db", "KEFU_WXKF_STATE_URL": f"sqlite:///{tmp_path}/k.db",
                 "KEFU_APP_DB_URL": "postgresql+psycopg2://u@h/db"},
                {"KEFU_APP_DB_URL": " postgresql+psycopg2://u@h/db "},
                {"KEFU_VAR_DIR": "relative-var"}):
        monkeypatch.chdir(tmp_path)  # a relative var dir is taken from the working directory, as the modules do
        assert STORES["wechat_outbox"].url(env) == outbox.default_url(env)
        assert STORES["wechat_kf"].url(env) == state.default_url(env)
    for env in ({"KEFU_WECHAT_OUTBOX_URL": "redis://127.0.0.1:6379/0", "KEFU_WXKF_STATE_URL": "rediss://r:6380/1"},
                {"KEFU_APP_DB_URL": "redis://127.0.0.1:6379/0"}):
        assert outbox.default_url(env).startswith("redis") and state.default_url(env).startswith("redis")
        assert STORES["wechat_outbox"].url(env) is None and STORES["wechat_kf"].url(env) is None  # not SQL


def test_the_order_store_never_creates_an_empty_shop_and_refuses_a_behind_one(tmp_path: Path, monkeypatch) -> None:
    from actions.store.sql import SqlStore
    from actions.store.types import StoreUnavailable

    empty = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreUnavailable, match="has none of its tables: run `kefu-migrate upgrade`"):
        empty.get_order("KF20251201001")
    assert tables(empty.engine) == []
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((Path(__file__).parent / "data/release_b5e7bd9/store.sqlite.sql").read_text("utf-8"))
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "0")
    old = SqlStore(f"sqlite:///{path}")
    with pytest.raises(StoreUnavailable, match="KEFU_MIGRATE_ON_START is off: run `kefu-migrate upgrade`"):
        old.get_order("KF20251201001")
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "1")
    assert old.get_order("KF20251201001").status == "shipped"


@pytest.mark.parametrize(("store", "table", "column"), [("wechat_outbox", "kefu_wechat_outbox", "last_error"),
                                                       ("wechat_kf", "kefu_wxkf_sessions", "servicer")])
def test_the_rasa_stores_models_are_compared_too(tmp_path: Path, store: str, table: str, column: str) -> None:
    """The Rasa process's tables (loaded from their modules' files) are in the agreement test like the others."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'kefu.db'}")
    migrations.ensure(engine, store)
    with engine.begin() as conn:
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    assert [(d[0], d[3].name) for d in differences(engine, store)] == [("add_column", column)]
