"""Give conversations from before channel-scoped ids their scoped id.

Conversation ids now name their channel (``rest:<sender>``, ``web:<session>``,
``wechat:<openid>``, ``wecom:<corp>:<userid>``; :mod:`kernel.conversation_ids`). Conversations
stored before that keep their bare ids, which no channel produces any more: a WeChat customer's
next message would open an empty conversation next to the old one, and an open ticket would no
longer reach its customer. This command renames them::

    python -m bot.channels.migrate_ids --tracker-db URL --console-db URL [--wecom-corp-id ID] [--dry-run]

For each conversation in Rasa's SQL tracker store (table ``events``) with a bare id, the channel
is the ``input_channel`` of its latest customer message (``rest``, ``socketio``, ``wechat``,
``wecom``); the console's ticket ``channel`` decides for conversations that only the console
knows. The new id replaces the old one in ``events.sender_id`` and in the console's
``console_tickets``, ``console_conversation_days`` and ``console_dead_letters`` tables, in one
transaction per database. Left alone, and reported: ids already scoped, conversations of other
input (``rasa shell``, the HTTP API: no channel), WeCom conversations when ``--wecom-corp-id`` is
not given (their bare id is the userid alone), ids longer than the column allows, and
conflicts (the scoped id already has a conversation: it started after the upgrade; the two are
not merged). Running it twice changes nothing the second time.

Stop Rasa and the console first (the console's event tail reads ``events`` by id, which stays the
same). Widget sessions renamed to ``web:<id>`` cannot be resumed by the browser: their ids were
chosen by the browser, not signed by the server, so the widget starts a new session; agents still
see the old conversation in the console.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa

from kernel.conversation_ids import PREFIX_BY_CHANNEL, WECOM, is_scoped, scoped

logger = logging.getLogger("kefu.migrate_ids")

MAX_ID_CHARS = 255
CONSOLE_TABLES = ("console_tickets", "console_conversation_days", "console_dead_letters")


@dataclass
class Plan:
    renames: Dict[str, str] = field(default_factory=dict)
    skipped: Dict[str, str] = field(default_factory=dict)  # old id -> reason

    def summary(self) -> Dict[str, Any]:
        reasons: Dict[str, int] = {}
        for reason in self.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        return {"renamed": len(self.renames), "skipped": reasons}


def new_id(sender_id: str, channel: Optional[str], wecom_corp_id: Optional[str]) -> Optional[str]:
    """The scoped id of a legacy conversation from ``channel``, or None when it cannot be known."""
    prefix = PREFIX_BY_CHANNEL.get(channel or "")
    if prefix is None:
        return None
    if prefix == WECOM:
        return scoped(WECOM, wecom_corp_id, sender_id) if wecom_corp_id else None
    return scoped(prefix, sender_id)


def _input_channel(data: Optional[str]) -> Optional[str]:
    try:
        value = json.loads(data or "{}").get("input_channel")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _tables(engine: sa.engine.Engine) -> List[str]:
    return list(sa.inspect(engine).get_table_names())


def plan(tracker: sa.engine.Engine, console: Optional[sa.engine.Engine], wecom_corp_id: Optional[str]) -> Plan:
    """Which legacy ids become which scoped ids (reads only)."""
    channels: Dict[str, Optional[str]] = {}
    existing: set = set()
    with tracker.connect() as conn:
        for sender_id, in conn.execute(sa.text("SELECT DISTINCT sender_id FROM events")):
            existing.add(sender_id)
            channels.setdefault(sender_id, None)
        rows = conn.execute(sa.text("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"))
        for sender_id, data in rows:
            channel = _input_channel(data)
            if channel:
                channels[sender_id] = channel  # the latest customer message decides
    if console is not None and "console_tickets" in _tables(console):
        with console.connect() as conn:
            for sender_id, channel in conn.execute(sa.text("SELECT sender_id, channel FROM console_tickets")):
                existing.add(sender_id)
                if channels.get(sender_id) is None:
                    channels[sender_id] = channel
    result = Plan()
    for sender_id, channel in sorted(channels.items(), key=lambda item: item[0]):
        if is_scoped(sender_id):
            continue
        target = new_id(sender_id, channel, wecom_corp_id)
        if target is None:
            result.skipped[sender_id] = "wecom_without_corp_id" if channel == "wecom" else "no_channel"
        elif len(target) > MAX_ID_CHARS:
            result.skipped[sender_id] = "too_long"
        elif target in existing:
            result.skipped[sender_id] = "conflict"
        else:
            result.renames[sender_id] = target
    return result


def _rename(conn: Any, table: str, renames: Dict[str, str]) -> int:
    statement = sa.text(f"UPDATE {table} SET sender_id = :new WHERE sender_id = :old")  # noqa: S608 (fixed names)
    changed = 0
    for old, new in renames.items():
        changed += conn.execute(statement, {"new": new, "old": old}).rowcount or 0
    return changed


def apply(tracker: sa.engine.Engine, console: Optional[sa.engine.Engine], result: Plan) -> Dict[str, int]:
    """Rename, one transaction per database; returns rows changed per table."""
    counts: Dict[str, int] = {}
    with tracker.begin() as conn:
        counts["events"] = _rename(conn, "events", result.renames)
    if console is not None:
        tables = set(_tables(console))
        with console.begin() as conn:
            for table in CONSOLE_TABLES:
                if table in tables:
                    counts[table] = _rename(conn, table, result.renames)
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.channels.migrate_ids", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracker-db", required=True, help="SQLAlchemy URL of Rasa's SQL tracker store")
    parser.add_argument("--console-db", help="SQLAlchemy URL of the console's database (optional)")
    parser.add_argument("--wecom-corp-id", help="the WeCom corp id of legacy WeCom conversations")
    parser.add_argument("--dry-run", action="store_true", help="report what would change; change nothing")
    args = parser.parse_args(argv)
    try:
        tracker = sa.create_engine(args.tracker_db)
        console = sa.create_engine(args.console_db) if args.console_db else None
        if "events" not in _tables(tracker):
            print(f"error: no Rasa events table in {tracker.url.render_as_string(hide_password=True)}", file=sys.stderr)
            return 2
        result = plan(tracker, console, args.wecom_corp_id)
        report: Dict[str, Any] = {"dry_run": args.dry_run, **result.summary()}
        if not args.dry_run and result.renames:
            report["rows"] = apply(tracker, console, result)
    except sa.exc.SQLAlchemyError as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, ensure_ascii=False, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
