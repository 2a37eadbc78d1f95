"""bot/channels/migrate_ids.py on SQLite and PostgreSQL: legacy conversation ids get their channel.

The ``events`` table has Rasa 3.6's ``SQLTrackerStore`` columns (rasa/core/tracker_store.py
``SQLEvent``); the console's tables are the console's own models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import sqlalchemy as sa

from bot.channels import migrate_ids
from console.models import Base

ROOT = Path(__file__).resolve().parents[3]

EVENTS_DDL = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    sender_id VARCHAR(255) NOT NULL,
    type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT,
    intent_name VARCHAR(255),
    action_name VARCHAR(255),
    data TEXT
)
"""


def seed(tracker_url: str, console_url: str) -> None:
    tracker = sa.create_engine(tracker_url)
    rows = []

    def add(sender: str, kind: str, channel: str | None = None) -> None:
        data = {"event": kind, "timestamp": float(len(rows))}
        if kind == "user":
            data["input_channel"] = channel
        rows.append({"id": len(rows) + 1, "sender_id": sender, "type_name": kind, "timestamp": float(len(rows)),
                     "data": json.dumps(data)})

    add("oWECHAT1", "action")
    add("oWECHAT1", "user", "wechat")
    add("alice", "user", "rest")
    add("0123456789abcdef0123456789abcdef", "user", "socketio")
    add("zhangsan", "user", "wecom")
    add("shell-user", "user", None)  # rasa shell / HTTP API: no channel
    add("rest:bob", "user", "rest")  # already scoped
    add("bob", "user", "rest")  # its scoped id exists already: a conflict, not merged
    with tracker.begin() as conn:
        conn.execute(sa.text(EVENTS_DDL))
        conn.execute(sa.text("INSERT INTO events (id, sender_id, type_name, timestamp, data) "
                             "VALUES (:id, :sender_id, :type_name, :timestamp, :data)"), rows)
    console = sa.create_engine(console_url)
    Base.metadata.create_all(console)
    with console.begin() as conn:
        for n, (sender, channel) in enumerate([("oWECHAT1", "wechat"), ("alice", "rest"), ("only-console", "wechat")]):
            conn.execute(sa.text(
                "INSERT INTO console_tickets (handoff_id, sender_id, channel, state, team, category, reason, trigger,"
                " priority, language, customer_json, summary, sentiment_json, context_json, created_at, updated_at)"
                " VALUES (:h, :s, :c, 'queued', 'general', 'other', 'asked', '', 0, 'zh-Hans', '{}', '', '{}', '{}',"
                " 1.0, 1.0)"), {"h": f"h-{n}", "s": sender, "c": channel})
        conn.execute(sa.text("INSERT INTO console_conversation_days (sender_id, day, channel, user_messages,"
                             " faq_answered, faq_clarify, faq_no_answer, first_at, last_at)"
                             " VALUES ('oWECHAT1', '2026-12-01', 'wechat', 3, 0, 0, 0, 1.0, 2.0)"))
    tracker.dispose()
    console.dispose()


def senders(url: str, table: str) -> List[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = sorted({r[0] for r in conn.execute(sa.text(f"SELECT sender_id FROM {table}"))})
    engine.dispose()
    return out


def run_cli(*args: str) -> Dict:
    done = subprocess.run([sys.executable, "-m", "bot.channels.migrate_ids", *args], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check_migration(tracker_url: str, console_url: str) -> None:
    seed(tracker_url, console_url)
    before = senders(tracker_url, "events")
    dry = run_cli("--tracker-db", tracker_url, "--console-db", console_url, "--dry-run")
    assert dry["renamed"] == 4 and senders(tracker_url, "events") == before  # nothing changed
    assert dry["skipped"] == {"conflict": 1, "no_channel": 1, "wecom_without_corp_id": 1}

    report = run_cli("--tracker-db", tracker_url, "--console-db", console_url, "--wecom-corp-id", "ww42")
    assert report["renamed"] == 5
    assert senders(tracker_url, "events") == sorted([
        "wechat:oWECHAT1", "rest:alice", "web:0123456789abcdef0123456789abcdef", "wecom:ww42:zhangsan",
        "shell-user", "rest:bob", "bob",
    ])
    assert senders(console_url, "console_tickets") == sorted(["rest:alice", "wechat:only-console", "wechat:oWECHAT1"])
    assert senders(console_url, "console_conversation_days") == ["wechat:oWECHAT1"]
    assert report["rows"]["events"] == 5
    # a second run finds nothing left to do
    again = run_cli("--tracker-db", tracker_url, "--console-db", console_url, "--wecom-corp-id", "ww42")
    assert again["renamed"] == 0


def test_migration_on_sqlite(tmp_path: Path) -> None:
    check_migration(f"sqlite:///{tmp_path / 'tracker.db'}", f"sqlite:///{tmp_path / 'console.db'}")


def test_migration_on_postgresql(pg_schema_url: str) -> None:
    # both stores in one schema: the table names do not collide
    check_migration(pg_schema_url, pg_schema_url)


def test_new_id_rules() -> None:
    assert migrate_ids.new_id("o1", "wechat", None) == "wechat:o1"
    assert migrate_ids.new_id("u", "wecom", None) is None
    assert migrate_ids.new_id("u", "wecom", "ww1") == "wecom:ww1:u"
    assert migrate_ids.new_id("s", "socketio", None) == "web:s"
    assert migrate_ids.new_id("s", "cmdline", None) is None


def test_a_database_without_events_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.channels.migrate_ids", "--tracker-db",
                           f"sqlite:///{tmp_path / 'empty.db'}"], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "no Rasa events table" in done.stderr
