"""Generate the databases "as the previous release made them" that tests/kernel/test_migrations_upgrade.py upgrades.

Run once, against the code of commit b5e7bd9 (the last release before migrations), never against the checkout:

    rm -rf /tmp/b5 && mkdir /tmp/b5 && git archive b5e7bd9 kernel console actions knowledge_base | tar -x -C /tmp/b5
    cd /tmp/b5 && PYTHONPATH=/tmp/b5 /work/main/.venv/bin/python \
        /work/main/tests/kernel/data/make_release_b5e7bd9.py /work/main/tests/kernel/data/release_b5e7bd9

It makes every table with that release's ``create_all`` (through the stores' own start-up paths) and writes a few
real rows through its classes (an agent, a ticket with messages, a lead, an order with lines and events, an
unanswered question, a notice, a verification attempt), then dumps: ``<name>.sqlite.sql`` per SQLite file of the
embedded default (console, store, app = knowledge + notifier, verification), and ``postgresql.sql``, every store in
one PostgreSQL schema (``pg_dump --inserts``, schema-qualified names removed).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

T0 = 1764547200.0  # 2025-12-01T00:00:00Z
AT = datetime(2025, 12, 1, 8, 30, tzinfo=timezone.utc)
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
SCHEMA = "kefu_release_b5e7bd9"


def fill(console_url: str, store_url: str, app_url: str, verify_url: str) -> None:
    from actions.notifier.ledger import Ledger
    from actions.store import sql as store
    from actions.verification_guard import SqlBackend
    from console import models
    from console.accounts import create_agent
    from console.leads.models import LeadRow
    from knowledge_base.learning.curation import CurationStore
    from knowledge_base.learning.unanswered import Record, UnansweredStore

    engine = models.make_engine(console_url)
    models.create_schema(engine)
    with Session(engine) as s, s.begin():
        agent = create_agent(s, "wang.fang", "王芳", "agent", ["orders"], "a-long-release-password")
        s.flush()
        ticket = models.Ticket(
            handoff_id="h-release-1", sender_id="web:release-user", channel="socketio", state="assigned",
            team="orders", category="order", reason="customer_request", trigger="转人工", priority=1, language="zh-CN",
            customer_json='{"customer_id": "C0001"}', summary="催发货", assignee_id=agent.id, created_at=T0,
            updated_at=T0 + 60, assigned_at=T0 + 30,
        )
        s.add(ticket)
        s.flush()
        for n, (author, text) in enumerate((("customer", "我的订单什么时候发货？"), ("agent", "您好，今天下午发出。"))):
            s.add(models.Message(ticket_id=ticket.id, author=author, agent_id=agent.id if author == "agent" else None,
                                 text=text, source="live", event_key=f"k{n}", created_at=T0 + 40 + n))
        s.add(models.Transition(ticket_id=ticket.id, from_state="queued", to_state="assigned", action="claim",
                                actor="agent:wang.fang", team="orders", at=T0 + 30))
        s.add(LeadRow(lead_id="L-release-1", ticket_id=ticket.id, sender_id="web:release-user", channel="socketio",
                      customer_id="C0001", product_line="laptops", region="上海", priority="hot",
                      fields_json='{"company": "示例科技", "quantity": 20}', status="new", owner_id=agent.id,
                      created_at=T0 + 50, updated_at=T0 + 50))
    engine.dispose()

    shop = store.SqlStore(store_url)
    shop.create_schema()
    with shop.session() as s, s.begin():
        s.add(store.CustomerRow(id="C0001", name="李雷", phone="13800138000", tier="gold"))
        s.add(store.ChannelIdentityRow(customer_id="C0001", channel="wechat", external_id="o-release-user"))
        s.add(store.LocationRow(id="SH01", kind="store", city="上海", name_zh="上海南京路店", name_en="Shanghai Nanjing Rd",
                                address_zh="南京东路 1 号", address_en="1 East Nanjing Rd", hours="10:00-22:00"))
        s.add(store.ProductRow(id="P001", name_zh="轻薄笔记本", name_en="Slim laptop", category="laptop", brand="Kefu"))
        s.flush()
        s.add(store.ProductAliasRow(product_id="P001", alias="笔记本"))
        s.add(store.ProductSpecRow(product_id="P001", key="weight", value_zh="1.2 千克", value_en="1.2 kg"))
        s.add(store.SkuRow(code="P001-SLV-16G", product_id="P001", price_cents=599900, color_zh="银色",
                           color_en="silver", capacity="16G"))
        s.flush()
        s.add(store.StockLevelRow(sku_code="P001-SLV-16G", location_id="SH01", quantity=3))
        s.add(store.OrderRow(
            order_id="KF20251201001", customer_id="C0001", status="shipped", channel="web", created_at=AT,
            contact_name="李雷", contact_phone="13800138000", shipping_address="上海市黄浦区南京东路 1 号",
            subtotal_cents=599900, shipping_fee_cents=0, discount_cents=10000, total_cents=589900, carrier="SF",
            tracking_number="SF1234567890", expected_delivery=date(2025, 12, 3), store_id=None,
        ))
        s.flush()
        s.add(store.OrderLineRow(order_id="KF20251201001", line_no=1, sku_code="P001-SLV-16G", name_zh="轻薄笔记本",
                                 name_en="Slim laptop", variant_zh="银色 16G", variant_en="silver 16G", quantity=1,
                                 unit_price_cents=599900))
        for seq, status in enumerate(("paid", "shipped"), 1):
            s.add(store.StatusEventRow(order_id="KF20251201001", seq=seq, status=status, at=AT, note_zh="", note_en=""))
    shop.dispose()

    unanswered = UnansweredStore(app_url)
    unanswered.record(Record(text="你们支持以旧换新吗", language="zh-CN", outcome="no_answer",
                             candidates=[{"id": "returns_policy", "score": 0.41}], conversation_id="web:release-user",
                             kb_version="release", created_at=AT))
    CurationStore(app_url).ensure_schema()
    unanswered.engine.dispose()
    ledger = Ledger(app_url, "release:1")
    ledger.claim("restock:1", "restock", "socketio", "web:release-user", now=AT)
    ledger.sent("restock:1", now=AT)
    ledger.opt_out("wechat", "o-release", now=AT)
    ledger.close()
    guard = SqlBackend(verify_url)
    guard.reserve([("a" * 64, 5)], T0, 900.0)
    guard.engine.dispose()


def dump_sqlite(path: Path, out: Path) -> None:
    with sqlite3.connect(path) as conn:
        out.write_text("\n".join(conn.iterdump()) + "\n", encoding="utf-8")


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: Path(tmp) / f"{name}.db" for name in ("console", "store", "app", "verification")}
        fill(*(f"sqlite:///{files[name]}" for name in ("console", "store", "app", "verification")))
        for name, path in files.items():
            dump_sqlite(path, folder / f"{name}.sqlite.sql")
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
    try:
        url = f"{PG}?options=-csearch_path%3D{SCHEMA}"
        fill(url, url, url, url)
        dump = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-n", SCHEMA,
                               "--no-owner", "--no-privileges", "--inserts"], capture_output=True, text=True,
                              check=True).stdout
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        admin.dispose()
    lines = []
    for line in dump.splitlines():
        if line.startswith("\\") or "set_config('search_path'" in line or line.startswith(f"CREATE SCHEMA {SCHEMA}"):
            continue
        lines.append(line.replace(f"{SCHEMA}.", ""))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
    (folder / "postgresql.sql").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
