"""Upgrade test: databases as the previous release (commit b5e7bd9, ``create_all``) made them, with real rows
(tests/kernel/data/release_b5e7bd9, made by make_release_b5e7bd9.py from that release's code), are upgraded by
``kefu-migrate upgrade``, and every store then reads its rows back through its own classes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel import migrations
from kernel.migrations.__main__ import main as cli
from tests.kernel.migration_models import differences, rasa_module

DATA = Path(__file__).parent / "data" / "release_b5e7bd9"
AT = datetime(2025, 12, 1, 8, 30, tzinfo=timezone.utc)


def wechat_release(url: str) -> None:
    """The Rasa process's two stores as that release's ``create_all`` made them (their table definitions have not
    changed since commit b5e7bd9, so today's metadata makes the same tables; the dumps do not hold them), with a
    row each."""
    outbox = rasa_module("bot/channels/wechat/outbox.py")
    state = rasa_module("bot/channels/wechat_kf/state.py")
    engine = sa.create_engine(url)
    try:
        outbox.metadata.create_all(engine)
        state.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(outbox.outbox_table.insert().values(
                channel="wechat", account="wx-release", recipient="o-release-user", text="您好，订单已发出。",
                status="pending", attempts=1, created_at=1764547200.0, next_attempt_at=1764547200.0))
            conn.execute(state.cursor_table.insert().values(corp_id="ww-release", open_kfid="wk-release",
                                                            cursor="cursor-release", updated_at=1764547200.0))
    finally:
        engine.dispose()


def sqlite_release(folder: Path) -> Dict[str, str]:
    """The embedded default's files, as the release left them."""
    urls = {}
    for name in ("console", "store", "app", "verification"):
        path = folder / f"{name}.db"
        with sqlite3.connect(path) as conn:
            conn.executescript((DATA / f"{name}.sqlite.sql").read_text(encoding="utf-8"))
        urls[name] = f"sqlite:///{path}"
    wechat_release(urls["app"])  # KEFU_APP_DB_URL: where both WeChat stores live when it is set
    return urls


def environment(urls: Dict[str, str]) -> Dict[str, str]:
    return {"KEFU_CONSOLE_DB_URL": urls["console"], "KEFU_STORE_DB_URL": urls["store"],
            "KEFU_APP_DB_URL": urls["app"], "KEFU_VERIFY_DB_URL": urls["verification"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def release(request: pytest.FixtureRequest, tmp_path: Path) -> Dict[str, str]:
    if request.param == "sqlite":
        return sqlite_release(tmp_path)
    url = request.getfixturevalue("pg_schema_url")  # every store in one schema, as a shared database holds them
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql((DATA / "postgresql.sql").read_text(encoding="utf-8"))
            conn.commit()
    finally:
        engine.dispose()
    wechat_release(url)
    return {"console": url, "store": url, "app": url, "verification": url}


def read_every_store(urls: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from actions.notifier.ledger import Ledger
    from actions.store.sql import SqlStore
    from actions.verification_guard import SqlBackend
    from console import models
    from console.leads.models import LeadRow
    from console.leads.store import lead_summary
    from knowledge_base.learning.curation import CurationStore
    from knowledge_base.learning.unanswered import UnansweredStore

    engine = models.make_engine(urls["console"])
    models.create_schema(engine)  # the console's start-up path
    with Session(engine) as s:
        agent = s.scalars(sa.select(models.Agent)).one()
        assert (agent.username, agent.display_name, agent.role) == ("wang.fang", "王芳", "agent")
        ticket = s.scalars(sa.select(models.Ticket)).one()
        assert (ticket.handoff_id, ticket.state, ticket.assignee_id) == ("h-release-1", "assigned", agent.id)
        texts = s.scalars(sa.select(models.Message.text).where(models.Message.ticket_id == ticket.id)
                          .order_by(models.Message.id)).all()
        assert texts == ["我的订单什么时候发货？", "您好，今天下午发出。"]
        lead = s.scalars(sa.select(LeadRow)).one()
        assert lead_summary(lead)["lead_id"] == "L-release-1" and lead.ticket_id == ticket.id
    engine.dispose()

    shop = SqlStore(urls["store"])
    order = shop.get_order("KF20251201001")
    assert order is not None and order.status == "shipped" and order.total_cents == 589900
    assert [line.sku_code for line in order.lines] == ["P001-SLV-16G"]
    assert [event.status for event in order.events] == ["paid", "shipped"]
    assert shop.find_customer_by_channel("wechat", "o-release-user").id == "C0001"
    shop.dispose()

    monkeypatch.setenv("KEFU_APP_DB_URL", urls["app"])
    unanswered = UnansweredStore(urls["app"])
    assert [row.text for row in unanswered.rows()] == ["你们支持以旧换新吗"]
    curation = CurationStore(urls["app"])
    curation.ensure_schema()
    curation.dispose()
    ledger = Ledger(urls["app"], "test:1")
    notice = ledger.notice("restock:1")
    assert notice is not None and notice.state == "sent"
    assert ledger.opted_out_at("wechat", "o-release") == AT
    ledger.close()

    guard = SqlBackend(urls["verification"])
    assert guard.count("a" * 64, 1764547200.0 + 1, 900.0) == 1
    guard.engine.dispose()

    # the Rasa process's stores, through their own classes (kernel.migrations.light at their start)
    outbox = rasa_module("bot/channels/wechat/outbox.py")
    sent = outbox.SqlOutbox(outbox.OutboxSettings(url=urls["app"]))
    assert [(row["recipient"], row["text"]) for row in sent.rows()] == [("o-release-user", "您好，订单已发出。")]
    sent.engine.dispose()
    state = rasa_module("bot/channels/wechat_kf/state.py").SqlState(urls["app"], "ww-release", "release:1")
    assert state._cursor("wk-release") == "cursor-release"
    state.engine.dispose()


def test_the_previous_releases_databases_upgrade_and_every_store_reads_them(
        release: Dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    env = environment(release)
    assert cli(["status"], env) == 3
    assert capsys.readouterr().out.count("unversioned (tables from create_all)") == 7
    assert cli(["upgrade"], env) == 0
    out = capsys.readouterr().out
    assert out.count("upgraded from nothing") == 7, out
    store_urls = {"console": release["console"], "store": release["store"], "knowledge": release["app"],
                  "notifier": release["app"], "verification": release["verification"],
                  "wechat_outbox": release["app"], "wechat_kf": release["app"]}
    for store, url in store_urls.items():
        engine = sa.create_engine(url)
        try:
            assert differences(engine, store) == []
            assert migrations.status(engine, store).current == (migrations.head(store),)
        finally:
            engine.dispose()
    monkeypatch.setenv("KEFU_MIGRATE_ON_START", "0")  # upgraded: the services start without migrating anything
    read_every_store(release, monkeypatch)


def test_services_started_on_the_old_databases_migrate_them_themselves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the one-shot (make run before this release's make db, or KEFU_MIGRATE_ON_START on): on start."""
    urls = sqlite_release(tmp_path)
    read_every_store(urls, monkeypatch)
    assert cli(["status"], environment(urls)) == 0
