"""kernel.migrations.light in the Rasa process's own environment (Python 3.10, SQLAlchemy 1.4, no Alembic), through
the WeChat outbox and 微信客服 state classes: an empty database is created once even by several processes at once,
a ``create_all`` one is adopted, and every other state is refused with ``kefu-migrate upgrade`` named."""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy as sa

from bot.channels.wechat import outbox
from bot.channels.wechat_kf import state
from kernel.migrations import light
from kernel.migrations.common import DatabaseAhead, ForeignSchema, MigrationError, SchemaBehind

pytestmark = pytest.mark.rasa_env

PROCESSES = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rasa.db'}"
    else:
        yield request.getfixturevalue("pg_schema_url")


def engine_of(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, future=True)


def tables(url: str) -> List[str]:
    engine = engine_of(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def versions(url: str, store: str) -> List[str]:
    engine = engine_of(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT version_num FROM kefu_version_{store}")).scalars())
    finally:
        engine.dispose()


def test_this_environment_has_no_alembic_and_the_check_needs_none() -> None:
    assert importlib.util.find_spec("alembic") is None
    assert sa.__version__.startswith("1.4")
    assert "alembic" not in sys.modules


def test_an_empty_database_gets_the_tables_and_the_head_once(url: str) -> None:
    box = outbox.SqlOutbox(outbox.OutboxSettings(url=url))
    kf = state.SqlState(url, "ww-corp", "owner-1")
    assert tables(url) == ["kefu_version_wechat_kf", "kefu_version_wechat_outbox", "kefu_wechat_outbox",
                           "kefu_wxkf_cursor", "kefu_wxkf_messages", "kefu_wxkf_sessions"]
    assert versions(url, "wechat_outbox") == [light.HEADS["wechat_outbox"]] == ["0001"]
    assert versions(url, "wechat_kf") == ["0001"]
    kf._save_cursor("wk-1", "c-1")
    box.engine.dispose()
    kf.engine.dispose()
    statements: List[str] = []
    again = state.SqlState(url, "ww-corp", "owner-2")  # a restart: at head, one query, nothing changes
    sa.event.listen(again.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    light.ensure(again.engine, "wechat_kf", [state.cursor_table, state.ledger_table, state.session_table])
    assert statements == ["SELECT version_num FROM kefu_version_wechat_kf"]
    assert again._cursor("wk-1") == "c-1"
    assert versions(url, "wechat_kf") == ["0001"]
    again.engine.dispose()


def _start_at_the_barrier(barrier, url: str, results) -> None:  # type: ignore[no-untyped-def]
    try:
        barrier.wait(timeout=60)
        box = outbox.SqlOutbox(outbox.OutboxSettings(url=url))
        kf = state.SqlState(url, "ww-corp", "owner")
        box.engine.dispose()
        kf.engine.dispose()
        results.put("ok")
    except BaseException as error:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(error).__name__}: {error}")


def test_replicas_starting_together_create_one_set_and_one_version_row(url: str) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [context.Process(target=_start_at_the_barrier, args=(barrier, url, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert outcomes == ["ok"] * PROCESSES, outcomes
    assert versions(url, "wechat_outbox") == ["0001"]
    assert versions(url, "wechat_kf") == ["0001"]
    assert len(tables(url)) == 6


def test_a_database_made_by_create_all_is_adopted_with_its_rows(url: str) -> None:
    engine = engine_of(url)
    outbox.metadata.create_all(engine)  # what the Rasa process did before migrations
    with engine.begin() as conn:
        conn.execute(outbox.outbox_table.insert().values(
            channel="wechat", account="wx1", recipient="o-user", text="迟到的回复", status="pending", attempts=0,
            created_at=1.0, next_attempt_at=1.0))
    engine.dispose()
    box = outbox.SqlOutbox(outbox.OutboxSettings(url=url))
    assert [row["text"] for row in box.rows()] == ["迟到的回复"]
    assert versions(url, "wechat_outbox") == ["0001"]
    box.engine.dispose()


def test_a_partly_made_database_gets_its_missing_tables(url: str) -> None:
    engine = engine_of(url)
    state.cursor_table.create(engine)
    engine.dispose()
    kf = state.SqlState(url, "ww-corp", "owner")
    assert kf._claim("msg-1") == state.NEW
    assert versions(url, "wechat_kf") == ["0001"]
    kf.engine.dispose()


def test_someone_elses_table_under_the_name_is_refused_and_left_alone(url: str) -> None:
    engine = engine_of(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kefu_wechat_outbox (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(sa.text("INSERT INTO kefu_wechat_outbox VALUES (1, 'theirs')"))
    engine.dispose()
    with pytest.raises(ForeignSchema, match=r"kefu_wechat_outbox \(missing channel, account"):
        outbox.SqlOutbox(outbox.OutboxSettings(url=url))
    assert tables(url) == ["kefu_wechat_outbox"]  # no version table, nothing created


def test_with_migrate_on_start_off_nothing_is_created(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "off")
    with pytest.raises(SchemaBehind, match=r"wechat_kf database .* KEFU_MIGRATE_ON_START is off: run `kefu-migrate upgrade`"):
        state.SqlState(url, "ww-corp", "owner")
    assert tables(url) == []
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "sometimes")
    with pytest.raises(MigrationError, match="KEFU_MIGRATE_ON_START must be true or false"):
        state.SqlState(url, "ww-corp", "owner")
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "off")
    monkeypatch.delenv("KEFU_MIGRATE_ON_START")
    state.SqlState(url, "ww-corp", "owner").engine.dispose()
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "off")  # at head: starts whatever the setting
    state.SqlState(url, "ww-corp", "owner").engine.dispose()


def test_a_database_ahead_is_refused_and_untouched(url: str) -> None:
    outbox.SqlOutbox(outbox.OutboxSettings(url=url)).engine.dispose()
    engine = engine_of(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kefu_version_wechat_outbox SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(DatabaseAhead, match="revision 0099, which this release does not know"):
        outbox.SqlOutbox(outbox.OutboxSettings(url=url))
    hostile = "'; DROP TABLE kefu_wechat_outbox; --"
    engine = engine_of(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kefu_version_wechat_outbox SET version_num = :v"), {"v": hostile[:32]})
    engine.dispose()
    with pytest.raises(DatabaseAhead):
        outbox.SqlOutbox(outbox.OutboxSettings(url=url))
    assert "kefu_wechat_outbox" in tables(url)
    assert versions(url, "wechat_outbox") == [hostile[:32]]


def test_a_database_behind_is_refused_since_only_alembic_runs_revisions(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    state.SqlState(url, "ww-corp", "owner").engine.dispose()  # at 0001
    # a later release whose head is 0002 (what a new revision file plus its line in light.REVISIONS makes)
    monkeypatch.setitem(light.REVISIONS, "wechat_kf", ("0001", "0002"))
    monkeypatch.setitem(light.HEADS, "wechat_kf", "0002")
    with pytest.raises(SchemaBehind, match=r"is at revision 0001 and this release needs 0002: run `kefu-migrate upgrade`"):
        state.SqlState(url, "ww-corp", "owner")
    assert versions(url, "wechat_kf") == ["0001"]


def test_an_unversioned_create_all_database_is_not_adopted_past_the_baseline(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_of(url)
    state.metadata.create_all(engine)
    engine.dispose()
    monkeypatch.setitem(light.REVISIONS, "wechat_kf", ("0001", "0002"))
    monkeypatch.setitem(light.HEADS, "wechat_kf", "0002")
    with pytest.raises(SchemaBehind, match=r"tables from before migrations .* needs revision 0002: run `kefu-migrate upgrade`"):
        state.SqlState(url, "ww-corp", "owner")
    assert "kefu_version_wechat_kf" not in tables(url)


def test_an_unreachable_database_raises_sqlalchemys_error() -> None:
    with pytest.raises(sa.exc.OperationalError):
        outbox.SqlOutbox(outbox.OutboxSettings(url="postgresql+psycopg2://postgres@127.0.0.1:1/test"))


def test_an_unknown_store_or_wrong_tables_are_programming_errors(tmp_path: Path) -> None:
    engine = engine_of(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(MigrationError, match="not checked by kernel.migrations.light"):
        light.ensure(engine, "console", [])
    with pytest.raises(MigrationError, match="are not the baseline's"):
        light.ensure(engine, "wechat_kf", [outbox.outbox_table])
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
