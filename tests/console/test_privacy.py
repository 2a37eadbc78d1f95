"""Privacy: erasure, access and retention remove what they should and nothing else, on SQLite and PostgreSQL.

Every store is seeded through its owner's own code where it has one (the notifier's ledger, the verification
guard, the WeChat outbox, the store backend, the knowledge base's unanswered store; the console's models), so
the table and column names the console's privacy package reaches by reflection are checked against the real
schemas. Rasa's two tables are created with Rasa 3.6's columns (SQLTrackerStore.SQLEvent, SQLEventBroker).

Each person's data carries markers (their conversation ids, customer id and a ``PII-<who>`` token in every
text they wrote), so "gone" is checked generically: after the request no row of any store holds a marker,
and every row that held none before is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import httpx
import pytest
import sqlalchemy as sa

from actions.notifier.ledger import Ledger
from actions.store.sql import CustomerRow, ProductRow, SkuRow, SqlStore
from actions.store.types import RestockRequest
from actions.verification_guard import SCOPE_CUSTOMER, SqlBackend, subject_digest
from console.customers.models import ConversationRow, TicketLink
from console.events_tail import CURSOR_NAME
from console.feedback.models import FeedbackRow
from console.leads.models import LeadChange, LeadOutbox, LeadRow
from console.models import Agent, ConversationDay, Message, Note, TailCursor, Ticket, create_schema, make_engine
from console.privacy import stores as privacy_stores
from console.privacy.models import PrivacyAudit, PrivacyLock
from console.privacy.policy import KINDS, Policy, PolicyError, load_policy
from console.privacy.service import NotFound, Privacy
from console.privacy.stores import Locations
from console.privacy.subjects import SubjectError, parse_subject
from console.states import FINAL_STATES
from console.tickets.followups import FollowUpRow
from knowledge_base.learning.unanswered import Record, UnansweredStore
from tests.console.process import Console, FakeRasa


def _wechat_outbox_module() -> Any:
    """bot/channels/wechat/outbox.py on its own (the package imports Rasa, which this environment lacks; the
    outbox module needs only SQLAlchemy and the kernel)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bot" / "channels" / "wechat" / "outbox.py"
    spec = importlib.util.spec_from_file_location("kefu_test_wechat_outbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


OUTBOX = _wechat_outbox_module()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc).timestamp()
DAY = 86400.0
SELLER_BOOKS = {"customers", "channel_identities", "orders", "order_lines", "order_events", "products", "skus",
                "product_aliases", "locations", "stock_levels", "coupons"}


def test_the_names_reached_by_reflection_are_the_owners_names() -> None:
    assert privacy_stores.GUARD_CUSTOMER_SCOPE == SCOPE_CUSTOMER
    assert privacy_stores.TAIL_CURSOR == CURSOR_NAME
    assert {"closed", "returned_to_bot"} == {s.value for s in FINAL_STATES}
    from kernel.leads import Lead

    assert set(privacy_stores.LEAD_PERSONAL_FIELDS) <= set(Lead.__dataclass_fields__)


# ------------------------------------------------------------------------------------------------- seeding


@dataclass
class Env:
    where: Locations
    console: sa.Engine

    def privacy(self, policy: Optional[Policy] = None, clock: float = NOW) -> Privacy:
        policy = policy or Policy(days={kind: 365 for kind in KINDS})
        return Privacy(self.console, self.where, policy, clock=lambda: clock)


def _rasa_tables(tracker_url: str, events_url: str) -> None:
    tracker = sa.MetaData()
    sa.Table("events", tracker, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("sender_id", sa.String(255), nullable=False, index=True),
             sa.Column("type_name", sa.String(255), nullable=False), sa.Column("timestamp", sa.Float),
             sa.Column("intent_name", sa.String(255)), sa.Column("action_name", sa.String(255)),
             sa.Column("data", sa.Text))
    broker = sa.MetaData()
    sa.Table("events", broker, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("sender_id", sa.String(255)), sa.Column("data", sa.Text))
    for url, metadata in ((tracker_url, tracker), (events_url, broker)):
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        engine.dispose()


def make_env(urls: Dict[str, str]) -> Env:
    _rasa_tables(urls["tracker"], urls["events"])
    console = make_engine(urls["console"])
    create_schema(console)
    with console.begin() as conn:
        conn.execute(sa.insert(Agent).values(username="note-writer", display_name="Note writer", role="agent", teams="general",
                                             password_hash="x", active=True, created_at=NOW))
        conn.execute(sa.insert(TailCursor).values(name=CURSOR_NAME, last_id=10**9, updated_at=NOW))
    shop = SqlStore(urls["store"])
    shop.create_schema()
    with shop.engine.begin() as conn:
        conn.execute(sa.insert(ProductRow).values(id="P001", name_zh="保温杯", name_en="Cup", category="cups_bottles",
                                                  brand="Kefu"))
        conn.execute(sa.insert(SkuRow).values(code="CUP-500-RED", product_id="P001", price_cents=9900))
    shop.engine.dispose()
    where = Locations(console=urls["console"], events=urls["events"], tracker=urls["tracker"], app=urls["app"],
                      outbox=urls["app"], store=urls["store"], unanswered=urls["app"])
    return Env(where, console)


def seed_person(env: Env, customer: Optional[str], senders: Sequence[str], marker: str, at: float) -> None:
    """Everything one person leaves in every store, at time ``at``; their texts carry ``marker``."""
    when = datetime.fromtimestamp(at, tz=timezone.utc)
    day = when.strftime("%Y-%m-%d")
    urls = env.where
    # Rasa: the transcript and the broker's copy
    for url, tracker in ((urls.tracker, True), (urls.events, False)):
        engine = sa.create_engine(url)
        table = sa.Table("events", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            for sender in senders:
                for n, text in enumerate((f"你好 {marker}", f"我的电话 138{marker}")):
                    event = {"event": "user", "text": text, "timestamp": at + n, "sender_id": sender}
                    row: Dict[str, Any] = {"sender_id": sender, "data": json.dumps(event, ensure_ascii=False)}
                    if tracker:
                        row.update(type_name="user", timestamp=at + n, intent_name="greet")
                    conn.execute(table.insert().values(**row))
        engine.dispose()
    # the console
    with env.console.begin() as conn:
        for sender in senders:
            conn.execute(sa.insert(ConversationRow).values(
                sender_id=sender, channel=sender.split(":")[0], language="zh-Hans", customer_id=customer,
                verified_via="phone" if customer else None, verified_at=at if customer else None, user_messages=2,
                first_at=at, last_at=at + 1))
            conn.execute(sa.insert(ConversationDay).values(sender_id=sender, day=day, channel="wechat",
                                                           user_messages=2, faq_answered=1, first_at=at,
                                                           last_at=at + 1))
            ticket_id = conn.execute(sa.insert(Ticket).values(
                handoff_id=uuid.uuid4().hex, sender_id=sender, channel="wechat", state="closed", team="general",
                category="order", reason="asked", trigger=f"转人工 {marker}", priority=0, language="zh-Hans",
                customer_json=json.dumps({"id": customer, "name": f"张三 {marker}", "tier": "gold",
                                          "verified": bool(customer)}),
                summary=f"退货 {marker}", sentiment_json="{}", context_json=json.dumps({"order": marker}),
                created_at=at, updated_at=at + 5, closed_at=at + 5, resolution="solved", csat_rating=5,
                csat_at=at + 6)).inserted_primary_key[0]
            conn.execute(sa.insert(Message).values(ticket_id=ticket_id, author="customer", text=f"地址 {marker}",
                                                   source="transcript", event_key=uuid.uuid4().hex, created_at=at))
            conn.execute(sa.insert(Note).values(ticket_id=ticket_id, agent_id=1, text=f"客户说 {marker}",
                                                created_at=at))
            conn.execute(sa.insert(TicketLink).values(ticket_id=ticket_id, customer_id=customer, created_at=at))
            conn.execute(sa.insert(FollowUpRow).values(ticket_id=ticket_id, rating=1, created_at=at + 6,
                                                       done_at=at + 7, done_by=1, note=f"回访了 {marker}"))
            lead_id = f"L-{uuid.uuid4().hex[:8]}"
            lead_row = conn.execute(sa.insert(LeadRow).values(
                lead_id=lead_id, ticket_id=ticket_id, sender_id=sender, channel="wechat", customer_id=customer,
                product_line="cups_bottles", region="华东", priority="hot",
                fields_json=json.dumps({"lead_id": lead_id, "product_line": "cups_bottles", "quantity": 500,
                                        "contact_name": f"李四 {marker}", "phone": f"139{marker}",
                                        "notes": [f"要印logo {marker}"]}, ensure_ascii=False),
                status="lost", created_at=at, closed_at=at + 5, updated_at=at + 5)).inserted_primary_key[0]
            conn.execute(sa.insert(LeadChange).values(lead_row_id=lead_row, kind="edit", actor="agent:wang",
                                                      changes_json=json.dumps({"phone": ["", f"139{marker}"],
                                                                               "quantity": [100, 500]}), at=at))
            conn.execute(sa.insert(LeadOutbox).values(event_id=str(uuid.uuid4()), event_type="lead.created",
                                                      lead_id=lead_id, payload_json=json.dumps({"phone": marker}),
                                                      created_at=at, attempts=1, next_attempt_at=at,
                                                      delivered_at=at + 1))
            conn.execute(sa.insert(FeedbackRow).values(event_key=uuid.uuid4().hex, sender_id=sender, kind="answer",
                                                       value=0, entry_id="returns.seven_day",
                                                       question=f"怎么退货 {marker}", channel="wechat",
                                                       language="zh-Hans", created_at=at))
    # the knowledge base's unanswered questions
    kb = UnansweredStore(urls.unanswered)
    for sender in senders:
        kb.record(Record(f"能开发票吗 {marker}", "zh-Hans", "no_answer", [{"id": "invoice", "score": 0.2}],
                         conversation_id=sender, created_at=when))
    kb.dispose()
    # the notifier's ledger: a sent notice, an opt-out, an order watch
    ledger = Ledger(urls.app, "test-notifier")
    for sender in senders:
        key = f"restock:{uuid.uuid4().hex[:12]}"
        assert ledger.claim(key, "restock", "wechat", sender, now=when)
        assert ledger.sent(key, now=when)
        ledger.opt_out("wechat", sender, now=when)
        ledger.watch_order(f"O{uuid.uuid4().int % 10**8:08d}", "wechat", sender, "zh-Hans", "shipped", now=when)
    ledger.close()
    # the verification guard's attempts (a digest of the customer id)
    if customer:
        guard = SqlBackend(urls.app)
        ok, _, _ = guard.reserve([(subject_digest(SCOPE_CUSTOMER, customer), 5)], at, 900.0)
        assert ok
        guard.engine.dispose()
    # the WeChat outbox
    outbox = OUTBOX.SqlOutbox(OUTBOX.OutboxSettings(url=urls.outbox))
    for sender in senders:
        channel, _, rest = sender.partition(":")
        if channel == "wechat":
            outbox._put("wechat", "wx_app", rest, [f"到货了 {marker}"])
    with outbox.engine.begin() as conn:
        conn.execute(sa.text("UPDATE kefu_wechat_outbox SET created_at = :at WHERE text LIKE :m"),
                     {"at": at, "m": f"%{marker}%"})
    outbox.engine.dispose()
    # the store: the customer's books (seller's) and the bot's restock subscriptions (Kefu's)
    shop = SqlStore(urls.store)
    if customer:
        with shop.engine.begin() as conn:
            if conn.execute(sa.select(CustomerRow.id).where(CustomerRow.id == customer)).first() is None:
                conn.execute(sa.insert(CustomerRow).values(id=customer, name=f"张三 {marker}", phone="13800000000",
                                                           tier="gold"))
    for sender in senders:
        sub = shop.add_restock_subscription(RestockRequest("CUP-500-RED", "wechat", sender, "zh-Hans", customer))
        with shop.engine.begin() as conn:
            conn.execute(sa.text("UPDATE restock_subscriptions SET created_at = :at WHERE id = :id"),
                         {"at": when, "id": sub.id})
    shop.engine.dispose()


# ------------------------------------------------------------------------------------------------- snapshots


Snapshot = Dict[Tuple[str, str], Dict[str, str]]


def snapshot(env: Env) -> Snapshot:
    """Every row of every store: (store, table) -> {primary key: the row as JSON}."""
    out: Snapshot = {}
    urls = {"console": env.where.console, "tracker": env.where.tracker, "events": env.where.events,
            "app": env.where.app, "store": env.where.store}
    for store, url in urls.items():
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            for name, table in metadata.tables.items():
                if name in ("console_privacy_audit", "console_privacy_locks", "console_sessions"):
                    continue
                keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
                rows = {}
                for row in conn.execute(sa.select(table)).mappings():
                    pk = json.dumps([str(row[k]) for k in keys])
                    rows[pk] = json.dumps({k: str(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True)
                out[(store, name)] = rows
        engine.dispose()
    return out


def _hits(text: str, markers: Sequence[str]) -> bool:
    return any(m in text for m in markers)


def check_gone_and_rest_intact(before: Snapshot, after: Snapshot, markers: Sequence[str],
                               also_theirs: Sequence[str] = ()) -> None:
    """No row holds ``markers`` after; every row that held none of ``markers`` or ``also_theirs`` (rows that are
    the person's without naming them) is unchanged."""
    owned = tuple(markers) + tuple(also_theirs)
    for (store, table), rows in before.items():
        now_rows = after.get((store, table), {})
        for pk, row in rows.items():
            if _hits(row, owned) or _hits(pk, owned):
                continue
            assert now_rows.get(pk) == row, f"{store}.{table} {pk} changed though it was not the person's"
        if table in SELLER_BOOKS:
            continue
        for row in now_rows.values():
            assert not _hits(row, markers), f"{store}.{table} still holds the person's data: {row}"


def count(snap: Snapshot, store: str, table: str) -> int:
    return len(snap.get((store, table), {}))


# ------------------------------------------------------------------------------------------------- backends


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Dict[str, str]]:
    if request.param == "sqlite":
        yield {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("console", "tracker", "events", "app",
                                                                          "store")}
        return
    base = request.getfixturevalue("pg_url")
    engine = sa.create_engine(base)
    schemas = {name: f"t_{uuid.uuid4().hex[:10]}" for name in ("console", "tracker", "events", "app", "store")}
    with engine.begin() as conn:
        for schema in schemas.values():
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {name: f"{base}?options=-csearch_path%3D{schema}" for name, schema in schemas.items()}
    finally:
        with engine.begin() as conn:
            for schema in schemas.values():
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


A_SENDERS = ("wechat:oAAA1001", "web:sessA1001")
#: the verification guard keeps a digest of the customer id, which is theirs too
A_MARKERS = ("PII-A", "oAAA1001", "sessA1001", "C1001", subject_digest(SCOPE_CUSTOMER, "C1001"))


@pytest.fixture()
def people(urls: Dict[str, str]) -> Iterator[Env]:
    env = make_env(urls)
    seed_person(env, "C1001", A_SENDERS[:1], "PII-A-wx", NOW - DAY)  # one customer, two channels
    seed_person(env, "C1001", A_SENDERS[1:], "PII-A-web", NOW - DAY)
    seed_person(env, "C1002", ("wechat:oBBB1002",), "PII-B", NOW - DAY)
    seed_person(env, None, ("rest:anon-1",), "PII-N", NOW - DAY)  # never verified
    yield env
    env.console.dispose()


# ------------------------------------------------------------------------------------------------- erasure


def test_erasing_a_customer_removes_theirs_in_every_store_and_nothing_else(people: Env) -> None:
    before = snapshot(people)
    privacy = people.privacy()
    result = privacy.erase(parse_subject(customer="C1001"), "agent:admin")
    after = snapshot(people)
    check_gone_and_rest_intact(before, after, A_MARKERS)
    rows = result["rows"]
    assert result["conversations"] == 2
    assert rows["rasa_tracker"]["events"] == 4 and rows["rasa_events"]["events"] == 4
    assert rows["console"]["console_tickets"] == 2 and rows["console"]["console_messages"] == 2
    assert rows["knowledge_base"]["kb_unanswered"] == 2
    assert rows["notifier"]["kefu_notices"] == 2 and rows["notifier"]["kefu_verify_attempts"] == 2
    assert rows["wechat_outbox"]["kefu_wechat_outbox"] == 1 and rows["shop"]["restock_subscriptions"] == 2
    # deleted where nothing of value is left, anonymised where the numbers count
    assert count(after, "tracker", "events") == count(before, "tracker", "events") - 4
    assert count(after, "console", "console_messages") == count(before, "console", "console_messages") - 2
    assert count(after, "console", "console_tickets") == count(before, "console", "console_tickets")
    assert count(after, "console", "console_conversation_days") == count(before, "console", "console_conversation_days")
    assert count(after, "app", "kefu_verify_attempts") == count(before, "app", "kefu_verify_attempts") - 2
    with people.console.connect() as conn:
        tickets = conn.execute(sa.select(Ticket).where(Ticket.sender_id.startswith("erased:"))).mappings().all()
        assert len(tickets) == 2 and all(t["csat_rating"] == 5 and t["resolution"] == "solved" for t in tickets)
        assert all(json.loads(t["customer_json"])["tier"] == "gold" for t in tickets)
        lead = conn.execute(sa.select(LeadRow).where(LeadRow.sender_id.startswith("erased:"))).mappings().first()
        fields = json.loads(lead["fields_json"])
        assert fields["quantity"] == 500 and fields["phone"] == "" and fields["notes"] == []
        assert lead["customer_id"] is None and lead["product_line"] == "cups_bottles"
        # one anonymous id per conversation: its ticket, lead and counts still belong together
        ticket_senders = {t["sender_id"] for t in tickets}
        day_senders = set(conn.execute(sa.select(ConversationDay.sender_id)
                                       .where(ConversationDay.sender_id.startswith("erased:"))).scalars())
        assert ticket_senders == day_senders and len(ticket_senders) == 2
        audit = conn.execute(sa.select(PrivacyAudit)).mappings().all()
    assert [(a["action"], a["actor"], a["subject_kind"]) for a in audit] == [("erase", "agent:admin", "customer")]
    assert audit[0]["subject_digest"] == hashlib.sha256(b"customer\0C1001").hexdigest()
    assert "C1001" not in json.dumps(dict(audit[0]), default=str)
    # the seller's books are theirs: the customer record stays (docs/privacy.md)
    assert count(after, "store", "customers") == 2
    # asked again: nothing of them is left
    with pytest.raises(NotFound):
        privacy.erase(parse_subject(customer="C1001"), "agent:admin")


def test_erasing_one_conversation_leaves_the_customers_other_conversations(people: Env) -> None:
    before = snapshot(people)
    with people.console.connect() as conn:
        web_ticket = conn.execute(sa.select(Ticket.id).where(Ticket.sender_id == "web:sessA1001")).scalar_one()
    people.privacy().erase(parse_subject(conversation="web:sessA1001"), "cli:ops")
    after = snapshot(people)
    # rows of that conversation's ticket that carry only its id (the ticket's customer link) are its too
    check_gone_and_rest_intact(before, after, ("sessA1001", "PII-A-web"), (f'"ticket_id": "{web_ticket}"',))
    assert any("oAAA1001" in row for row in after[("tracker", "events")].values())
    assert any("PII-A-wx" in row for row in after[("console", "console_messages")].values())


def test_a_dry_run_counts_and_changes_nothing(people: Env) -> None:
    before = snapshot(people)
    privacy = people.privacy()
    dry = privacy.erase(parse_subject(customer="C1001"), "agent:admin", dry_run=True)
    assert snapshot(people) == before
    real = privacy.erase(parse_subject(customer="C1001"), "agent:admin")
    assert dry["rows"] == real["rows"] and dry["dry_run"] and not real["dry_run"]
    with people.console.connect() as conn:
        assert [r.dry_run for r in conn.execute(sa.select(PrivacyAudit).order_by(PrivacyAudit.id))] == [True, False]


def test_export_holds_everything_of_the_customer_and_nothing_of_others(people: Env) -> None:
    data = people.privacy().export(parse_subject(customer="C1001"), "agent:admin")
    text = json.dumps(data, ensure_ascii=False, default=str)
    assert "PII-B" not in text and "PII-N" not in text and "oBBB1002" not in text
    assert data["conversation_ids"] == sorted(A_SENDERS)
    assert len(data["rasa"]["tracker_events"]) == 4 and len(data["rasa"]["broker_events"]) == 4
    console = data["console"]
    assert len(console["tickets"]) == 2 and all(t["messages"] and t["notes"] for t in console["tickets"])
    assert console["tickets"][0]["customer"]["id"] == "C1001"
    assert len(console["leads"]) == 2 and console["leads"][0]["fields"]["contact_name"] == "李四 PII-A-wx"
    assert len(console["feedback"]) == 2 and len(console["conversations"]) == 2
    assert len(data["knowledge_base"]["kb_unanswered"]) == 2
    assert len(data["notifier"]["kefu_notices"]) == 2 and len(data["notifier"]["kefu_notice_optouts"]) == 2
    assert len(data["wechat_outbox"]["kefu_wechat_outbox"]) == 1
    assert len(data["shop"]["restock_subscriptions"]) == 2 and data["shop"]["customers"][0]["id"] == "C1001"
    # an export changes nothing but the audit
    with people.console.connect() as conn:
        assert conn.execute(sa.select(PrivacyAudit.action)).scalars().all() == ["export"]


def test_an_unverified_conversation_is_reached_by_its_id(people: Env) -> None:
    data = people.privacy().export(parse_subject(conversation="rest:anon-1"), "agent:admin")
    assert data["conversation_ids"] == ["rest:anon-1"] and len(data["console"]["tickets"]) == 1
    before = snapshot(people)
    people.privacy().erase(parse_subject(conversation="rest:anon-1"), "agent:admin")
    check_gone_and_rest_intact(before, snapshot(people), ("PII-N", "anon-1"))


@pytest.mark.parametrize("customer,conversation", [
    (None, None), ("C1001", "rest:x"), ("", None), ("C1001' OR '1'='1", None), ("%", None), ("C_%", None),
    ("C" * 65, None), (123, None), (None, ""), (None, "web:a b"), (None, "web:\x00x"), (None, "x" * 256),
    (None, ["web:a"]), (None, "erased:abcdef"),
])
def test_hostile_or_malformed_subjects_are_refused(customer: Any, conversation: Any) -> None:
    with pytest.raises(SubjectError):
        parse_subject(customer, conversation)


def test_unknown_subjects_are_not_found_and_change_nothing(people: Env) -> None:
    before = snapshot(people)
    privacy = people.privacy()
    for subject in (parse_subject(customer="C9999"), parse_subject(conversation="wechat:nobody"),
                    parse_subject(conversation="wechat:%")):
        with pytest.raises(NotFound):
            privacy.erase(subject, "agent:admin")
        with pytest.raises(NotFound):
            privacy.export(subject, "agent:admin")
    assert snapshot(people) == before


# ------------------------------------------------------------------------------------------------- retention


@pytest.fixture()
def ages(urls: Dict[str, str]) -> Iterator[Env]:
    env = make_env(urls)
    seed_person(env, "C2001", ("wechat:oOLD2001",), "PII-OLD", NOW - 400 * DAY)
    seed_person(env, "C2002", ("wechat:oNEW2002",), "PII-NEW", NOW - 10 * DAY)
    yield env
    env.console.dispose()


OLD_MARKERS = ("PII-OLD", "oOLD2001", "C2001")


def _aggregates(env: Env) -> Dict[str, Any]:
    with env.console.connect() as conn:
        return {
            "days": conn.execute(sa.select(sa.func.count(), sa.func.sum(ConversationDay.user_messages),
                                           sa.func.sum(ConversationDay.faq_answered))).one()._tuple(),
            "tickets": conn.execute(sa.select(sa.func.count(), sa.func.sum(Ticket.csat_rating))).one()._tuple(),
            "leads": conn.execute(sa.select(LeadRow.status, LeadRow.product_line)).all(),
            "feedback": conn.execute(sa.select(sa.func.count(), sa.func.sum(FeedbackRow.value))).one()._tuple(),
            "conversations": conn.execute(sa.select(sa.func.count(),
                                                    sa.func.sum(ConversationRow.user_messages))).one()._tuple(),
        }


def test_retention_removes_the_old_keeps_the_new_and_the_aggregates(ages: Env) -> None:
    before = snapshot(ages)
    totals = _aggregates(ages)
    privacy = ages.privacy()
    dry = privacy.retain("test", dry_run=True)
    assert dry.ran and snapshot(ages) == before
    result = privacy.retain("test")
    assert result.ran and result.report == dry.report
    after = snapshot(ages)
    check_gone_and_rest_intact(before, after, OLD_MARKERS)
    assert _aggregates(ages) == totals
    rows = result.report
    assert rows["rasa_tracker"]["events"] == 2 and rows["rasa_events"]["events"] == 2
    assert rows["console"]["console_tickets"] == 1 and rows["console"]["console_leads"] == 1
    assert rows["knowledge_base"]["kb_unanswered"] == 1 and rows["notifier"]["kefu_notices"] == 1
    assert rows["shop"]["restock_subscriptions"] == 1 and rows["wechat_outbox"]["kefu_wechat_outbox"] == 1
    # the new person's rows are all there, untouched (checked above); a second run finds nothing more
    again = privacy.retain("test")
    assert again.ran and all(n == 0 for tables in again.report.values() for n in tables.values())
    assert snapshot(ages) == after


def test_zero_days_keeps_a_kind_forever(ages: Env) -> None:
    days = {kind: 365 for kind in KINDS}
    days["tickets"] = 0
    before = snapshot(ages)
    ages.privacy(Policy(days=days)).retain("test")
    after = snapshot(ages)
    assert after[("console", "console_tickets")] == before[("console", "console_tickets")]
    assert after[("console", "console_messages")] == before[("console", "console_messages")]
    assert not any("PII-OLD" in row for row in after[("tracker", "events")].values())


def test_broker_rows_the_console_has_not_read_are_kept(ages: Env) -> None:
    with ages.console.begin() as conn:
        conn.execute(sa.update(TailCursor).values(last_id=0))
    ages.privacy().retain("test")
    assert any("PII-OLD" in row for row in snapshot(ages)[("events", "events")].values())


def test_one_replica_at_a_time_and_once_a_day(ages: Env) -> None:
    with ages.console.begin() as conn:
        conn.execute(sa.insert(PrivacyLock).values(name="retention", holder="other-host:1", until=NOW + 600))
    before = snapshot(ages)
    busy = ages.privacy().retain("schedule", scheduled_day="2026-12-01")
    assert not busy.ran and "another replica" in busy.reason and snapshot(ages) == before
    # the other replica died: its lease runs out, this one takes over, and that day is done for everyone
    later = ages.privacy(clock=NOW + 700)
    assert later.retain("schedule", scheduled_day="2026-12-01").ran
    done = ages.privacy(clock=NOW + 800).retain("schedule", scheduled_day="2026-12-01")
    assert not done.ran and "already ran" in done.reason
    from console.privacy.schedule import due_day

    assert due_day(later, NOW + 800) is None  # 12:00 UTC, after the 03:00 run
    assert due_day(later, NOW + DAY) == "2026-12-02"
    assert due_day(later, NOW + DAY - 12 * 3600) is None  # 00:00 on the next day: before the hour


# ------------------------------------------------------------------------------------------------- policy


def test_policy_defaults_and_overrides(tmp_path: Path) -> None:
    policy = load_policy({})
    assert policy.days == {"transcripts": 180, "tickets": 365, "leads": 730, "unanswered": 180, "feedback": 365,
                           "notices": 365}
    assert policy.schedule and policy.hour == 3
    policy = load_policy({"KEFU_PRIVACY_TICKETS_DAYS": "0", "KEFU_PRIVACY_HOUR": "5",
                          "KEFU_PRIVACY_SCHEDULE": "false"})
    assert policy.days["tickets"] == 0 and policy.cutoff("tickets", NOW) is None
    assert policy.hour == 5 and not policy.schedule
    assert policy.cutoff("leads", NOW) == NOW - 730 * DAY
    for env in ({"KEFU_PRIVACY_TICKETS_DAYS": "-1"}, {"KEFU_PRIVACY_TICKETS_DAYS": "a year"},
                {"KEFU_PRIVACY_HOUR": "24"}, {"KEFU_PRIVACY_SCHEDULE": "maybe"}):
        with pytest.raises(PolicyError):
            load_policy(env)
    bad = tmp_path / "privacy.yml"
    for text in ("retention: {tickets: 10}", "retention: {transcripts: 1, tickets: 1, leads: 1, unanswered: 1, "
                 "feedback: 1, notices: 1, chats: 1}", "[1, 2]", "retention: {transcripts: 1.5}"):
        bad.write_text(text)
        with pytest.raises(PolicyError):
            load_policy({}, bad)


# ------------------------------------------------------------------------------------------------- CLI and API


def _console_with_people(tmp_path: Path, fake_rasa: FakeRasa) -> Console:
    work = tmp_path / "console"
    work.mkdir()
    urls = {name: f"sqlite:///{work / f'{name}.db'}" for name in ("console", "tracker", "events", "app", "store")}
    env = make_env(urls)
    seed_person(env, "C1001", A_SENDERS, "PII-A", time.time() - DAY)
    seed_person(env, "C1002", ("wechat:oBBB1002",), "PII-B", time.time() - DAY)
    env.console.dispose()
    return Console.create(work, fake_rasa.url, db_url=urls["console"], extra={
        "KEFU_EVENTS_DB": str(work / "events.db"), "KEFU_TRACKER_DB": str(work / "tracker.db"),
        "KEFU_APP_DB_URL": urls["app"], "KEFU_STORE_DB_URL": urls["store"], "KEFU_PRIVACY_SCHEDULE": "false"})


def test_api_supervisors_only_clear_errors_and_audit(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    console = _console_with_people(tmp_path, fake_rasa).start()
    try:
        for method, path in (("GET", "/api/privacy/policy"), ("GET", "/api/privacy/audit"),
                             ("POST", "/api/privacy/export"), ("POST", "/api/privacy/erase")):
            assert httpx.request(method, f"{console.url}{path}", json={}).status_code == 401, path
            assert console.login("wang").request(method, path, json={"customer": "C1001"}).status_code == 403, path
        admin = console.login("admin")
        no_csrf = httpx.post(f"{console.url}/api/privacy/erase", json={"customer": "C1001"}, cookies=admin.cookies)
        assert no_csrf.status_code == 403
        for body in ({}, {"customer": "C1001", "conversation": "web:x"}, {"customer": "C1001' --"},
                     {"conversation": "a b"}, {"customer": "C1001", "dry_run": "yes"}, {"customer": "C1001", "x": 1}):
            response = admin.post("/api/privacy/erase", json=body)
            assert response.status_code == 400 and response.json()["message"], body
        assert admin.post("/api/privacy/export", json={"customer": "C9999"}).status_code == 404
        assert admin.get("/api/privacy/policy").json()["retention_days"]["tickets"] == 365
        exported = admin.post("/api/privacy/export", json={"customer": "C1001"})
        assert exported.status_code == 200 and exported.json()["conversation_ids"] == sorted(A_SENDERS)
        dry = admin.post("/api/privacy/erase", json={"customer": "C1001", "dry_run": True}).json()
        assert dry["dry_run"] and dry["rows"]["console"]["console_tickets"] == 2
        erased = admin.post("/api/privacy/erase", json={"customer": "C1001"})
        assert erased.status_code == 200 and erased.json()["rows"] == dry["rows"]
        # what is left is the seller's own record of the customer (docs/privacy.md), nothing of Kefu's
        left = admin.post("/api/privacy/export", json={"customer": "C1001"}).json()
        assert left["conversation_ids"] == [] and left["console"]["tickets"] == []
        assert left["rasa"]["tracker_events"] == []
        assert left["shop"]["customers"][0]["id"] == "C1001"
        assert admin.post("/api/privacy/export", json={"customer": "C1002"}).status_code == 200
        audit = admin.get("/api/privacy/audit").json()["entries"]
        assert [(e["action"], e["actor"], e["dry_run"]) for e in audit][:4] == [
            ("export", "agent:admin", False), ("export", "agent:admin", False), ("erase", "agent:admin", False),
            ("erase", "agent:admin", True)]
    finally:
        console.stop()


def test_cli_export_erase_and_retain(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    import subprocess

    console = _console_with_people(tmp_path, fake_rasa)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "console", "privacy", *args], env=console.env,
                              capture_output=True, text=True, timeout=120)

    out = tmp_path / "c1001.json"
    done = run("export", "--customer", "C1001", "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["conversation_ids"] == sorted(A_SENDERS)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert run("erase", "--customer", "C1001'; DROP TABLE x").returncode == 2
    assert run("erase", "--customer", "C1001", "--conversation", "web:x").returncode == 2
    dry = run("erase", "--conversation", "wechat:oBBB1002", "--dry-run")
    assert dry.returncode == 0 and json.loads(dry.stdout)["dry_run"] is True
    assert run("erase", "--customer", "C1001").returncode == 0
    assert run("erase", "--customer", "C1001").returncode == 1  # nothing left
    retain = run("retain", "--dry-run")
    assert retain.returncode == 0 and json.loads(retain.stdout)["dry_run"] is True
    audit = json.loads(run("audit").stdout)
    assert [e["action"] for e in audit][:3] == ["retain", "erase", "erase"]
    assert all(e["actor"].startswith("cli") for e in audit)


def test_the_console_loop_runs_the_days_job_once(ages: Env) -> None:
    import asyncio

    from console.privacy.schedule import due_day, run_daily

    privacy = ages.privacy()

    async def scenario() -> None:
        task = asyncio.create_task(run_daily(privacy, check_seconds=0.05))
        deadline = time.monotonic() + 60
        while privacy.last_run_day() != "2026-12-01" or not privacy.audit_log(1):
            assert time.monotonic() < deadline, "the daily run did not happen"
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert not any("PII-OLD" in row for row in snapshot(ages)[("tracker", "events")].values())
    with ages.console.connect() as conn:
        runs = conn.execute(sa.select(PrivacyAudit.actor).where(PrivacyAudit.action == "retain")).scalars().all()
    assert runs == ["schedule"]
    assert due_day(privacy, NOW) is None
