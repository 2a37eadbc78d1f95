"""Each store that holds personal data: what it exports, erases and lets expire.

The console imports neither the bot nor the action server, so the stores they write are reached here by their
database URLs, the tables reflected by name (a table that is not there yet holds nothing); the console's own
tables through its models, the knowledge base's unanswered questions through ``knowledge_base.learning``.
tests/console/test_privacy.py seeds every store through its owner's own code, which keeps the table and
column names used here honest.

A store's ``erase`` and ``retain`` return ``{table: rows}``: rows deleted or anonymised (the same numbers in a
dry run, where nothing changes). Work goes in batches of ``batch`` rows, each in its own transaction: a job
stopped half-way has finished batches, and the next run does the rest (anonymised rows carry the
``erased:`` marker and are not matched again).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.models import ConversationRow, TicketLink
from console.feedback.models import FeedbackRow
from console.leads.models import LeadChange, LeadOutbox, LeadRow
from console.models import ConversationDay, Message, Note, TailCursor, Ticket, make_engine
from console.privacy.subjects import ERASED_PREFIX
from console.search.models import SearchKey
from console.states import FINAL_STATES
from console.tickets.followups import FollowUpRow
from console.widget.privacy import WidgetPrivacy
from console.widget.uploads import UploadSettings

log = logging.getLogger("kefu.console.privacy")

ROOT = Path(__file__).resolve().parent.parent.parent
Counts = Dict[str, int]
KNOWLEDGE_BASE_PREFIX = "kb_"  # the knowledge base's tables, which Reflected refuses

#: the lead fields that name or reach a person, or hold their own words (kernel.leads.Lead)
LEAD_PERSONAL_FIELDS = ("company", "contact_name", "phone", "email", "wechat", "notes", "note", "customisation",
                        "stock_note")
#: the verification guard's scope for customer ids (actions/verification_guard.py SCOPE_CUSTOMER)
GUARD_CUSTOMER_SCOPE = "customer"
#: the console's cursor on Rasa's event-broker table (console/events_tail.py CURSOR_NAME)
TAIL_CURSOR = "rasa_events"


def erased_token() -> str:
    return ERASED_PREFIX + secrets.token_hex(12)


class Tokens:
    """One anonymous id per conversation id within one run: a conversation's rows stay one conversation for
    the counts, and nothing links the token back."""

    def __init__(self) -> None:
        self._map: Dict[str, str] = {}

    def __call__(self, sender_id: str) -> str:
        if sender_id.startswith(ERASED_PREFIX):
            return sender_id
        if sender_id not in self._map:
            self._map[sender_id] = erased_token()
        return self._map[sender_id]


@dataclass
class Scope:
    """What one request reaches: the conversations and the customer ids."""

    senders: Set[str] = field(default_factory=set)
    customers: Set[str] = field(default_factory=set)


def chunks(values: Iterable[Any], size: int) -> Iterator[List[Any]]:
    batch: List[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def resolve_url(url_or_path: str) -> str:
    """A path or a relative sqlite URL -> an absolute sqlite URL (relative to the project root)."""
    if "://" not in url_or_path:
        path = Path(url_or_path)
        return f"sqlite:///{path if path.is_absolute() else ROOT / path}"
    if url_or_path.startswith("sqlite:///") and not url_or_path.startswith("sqlite:////"):
        rel = url_or_path[len("sqlite:///"):]
        if rel and not rel.startswith(":memory:"):
            return f"sqlite:///{ROOT / rel}"
    return url_or_path


def sqlite_missing(url: str) -> bool:
    """A SQLite file that is not there: opening it would create an empty database, so the store is absent."""
    if not url.startswith("sqlite:///"):
        return False
    name = url[len("sqlite:///"):].split("?")[0]
    return bool(name) and name != ":memory:" and not Path(name).is_file()


def _ts(value: Any) -> Any:
    """JSON-ready values: datetimes as ISO 8601 (UTC)."""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return value.isoformat()
    return value


def _row(mapping: Mapping[str, Any]) -> Dict[str, Any]:
    return {key: _ts(value) for key, value in mapping.items()}


def _json(text: Optional[str]) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return text


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# ---------------------------------------------------------------------------------------------- locations


@dataclass(frozen=True)
class Locations:
    """Where each store is; an empty URL: that store is not used by this deployment."""

    console: str
    events: str  # Rasa's SQL event broker (the table the console tails)
    tracker: str  # Rasa's SQL tracker store: the transcripts
    app: str  # the application database: notifier ledger, verification guard, unanswered questions
    outbox: str  # the WeChat outbox ("" when it lives in Redis)
    store: str  # the store backend's SQL database ("" with the HTTP backend: the seller's system)
    unanswered: str  # the knowledge base's unanswered-questions store

    @classmethod
    def from_env(cls, console_db_url: str, events_db_url: str,
                 environ: Optional[Mapping[str, str]] = None) -> Locations:
        env = os.environ if environ is None else environ
        var_dir = env.get("KEFU_VAR_DIR") or "var"
        app = resolve_url(env.get("KEFU_APP_DB_URL") or f"{var_dir}/kefu_app.db")
        outbox = env.get("KEFU_WECHAT_OUTBOX_URL") or env.get("KEFU_APP_DB_URL") or f"{var_dir}/wechat_outbox.db"
        store = "" if (env.get("KEFU_STORE_BACKEND") or "sql") == "http" else resolve_url(
            env.get("KEFU_STORE_DB_URL") or "var/store.db")
        return cls(
            console=console_db_url,
            events=events_db_url,
            tracker=resolve_url(env.get("KEFU_TRACKER_DB_URL") or env.get("KEFU_TRACKER_DB") or "var/tracker.db"),
            app=app,
            outbox="" if outbox.startswith(("redis://", "rediss://")) else resolve_url(outbox),
            store=store,
            unanswered=_unanswered_url(),
        )


def _unanswered_url() -> str:
    from knowledge_base.learning.unanswered import store_url

    return resolve_url(store_url())


# ---------------------------------------------------------------------------------------------- reflected stores


class Reflected:
    """A database some other process owns: tables reflected by name, opened only if it exists."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Optional[sa.Engine] = None
        self._tables: Dict[str, Optional[sa.Table]] = {}

    @property
    def present(self) -> bool:
        return bool(self.url) and not sqlite_missing(self.url)

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            if self.url.startswith("sqlite"):
                self._engine = sa.create_engine(self.url, connect_args={"timeout": 30, "check_same_thread": False})
            else:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def table(self, name: str) -> Optional[sa.Table]:
        if name.startswith(KNOWLEDGE_BASE_PREFIX):
            raise ValueError(f"{name}: the knowledge base's tables are read through knowledge_base.learning only")
        if not self.present:
            return None
        if name not in self._tables:
            inspector = sa.inspect(self.engine)
            self._tables[name] = (sa.Table(name, sa.MetaData(), autoload_with=self.engine)
                                  if inspector.has_table(name) else None)
        return self._tables[name]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._tables.clear()

    # -- helpers over one table
    def select(self, name: str, where: Callable[[sa.Table], Any], order: str = "") -> List[Dict[str, Any]]:
        table = self.table(name)
        if table is None:
            return []
        query = sa.select(table).where(where(table))
        if order:
            query = query.order_by(table.c[order])
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).mappings()]

    def delete_in(self, name: str, column: str, values: Iterable[Any], dry_run: bool, batch: int,
                  extra: Optional[Callable[[sa.Table], Any]] = None) -> int:
        """Delete the rows whose ``column`` is one of ``values`` (and ``extra``); how many (or would be)."""
        table = self.table(name)
        if table is None:
            return 0
        total = 0
        for chunk in chunks(sorted(set(values)), batch):
            condition = table.c[column].in_(chunk)
            if extra is not None:
                condition = sa.and_(condition, extra(table))
            if dry_run:
                with self.engine.connect() as conn:
                    total += int(conn.execute(sa.select(sa.func.count()).select_from(table).where(condition))
                                 .scalar() or 0)
            else:
                with self.engine.begin() as conn:
                    total += conn.execute(table.delete().where(condition)).rowcount or 0
        return total

    def delete_where(self, name: str, where: Callable[[sa.Table], Any], dry_run: bool, batch: int,
                     key: str = "id") -> int:
        """Delete the rows matching ``where``, ``batch`` at a time by ``key``."""
        table = self.table(name)
        if table is None:
            return 0
        with self.engine.connect() as conn:
            keys = [r[0] for r in conn.execute(sa.select(table.c[key]).where(where(table)))]
        if dry_run:
            return len(keys)
        return self.delete_in(name, key, keys, False, batch, extra=where)


# ---------------------------------------------------------------------------------------------- Rasa


class RasaStores:
    """Rasa's tracker store (the transcripts) and its SQL event broker (what the console tails): both keep one
    ``events`` table keyed by ``sender_id``."""

    def __init__(self, tracker_url: str, events_url: str, console: sa.Engine) -> None:
        self.tracker = Reflected(tracker_url)
        self.events = Reflected(events_url) if events_url != tracker_url else self.tracker
        self.console = console

    def dispose(self) -> None:
        self.tracker.dispose()
        self.events.dispose()

    def export(self, scope: Scope) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        senders = sorted(scope.senders)
        for label, db in (("tracker_events", self.tracker), ("broker_events", self.events)):
            if db is self.tracker and label == "broker_events":
                break
            rows: List[Dict[str, Any]] = []
            for chunk in chunks(senders, 500):
                rows += db.select("events", lambda t, c=chunk: t.c.sender_id.in_(c), order="id")
            out[label] = [{"sender_id": r["sender_id"], "event": _json(r.get("data"))} for r in rows]
        return out

    def erase(self, scope: Scope, dry_run: bool, batch: int) -> Dict[str, Counts]:
        out: Dict[str, Counts] = {"rasa_events": {"events": self.events.delete_in(
            "events", "sender_id", scope.senders, dry_run, batch)}}
        if self.tracker is not self.events:
            out["rasa_tracker"] = {"events": self.tracker.delete_in("events", "sender_id", scope.senders,
                                                                    dry_run, batch)}
        return out

    def retain(self, cutoff: float, dry_run: bool, batch: int) -> Dict[str, Counts]:
        """Whole conversations whose latest event is older than ``cutoff`` (a conversation is never cut in
        the middle: Rasa replays the rest)."""
        out: Dict[str, Counts] = {}
        if self.tracker is not self.events:
            stale = self._stale_in_tracker(cutoff)
            out["rasa_tracker"] = {"events": self.tracker.delete_in("events", "sender_id", stale, dry_run, batch)}
        stale = self._stale_in_broker(cutoff)
        limit = self._tail_cursor()
        out["rasa_events"] = {"events": self.events.delete_in(
            "events", "sender_id", stale, dry_run, batch, extra=lambda t: t.c.id <= limit)}
        return out

    def _stale_in_tracker(self, cutoff: float) -> List[str]:
        table = self.tracker.table("events")
        if table is None:
            return []
        with self.tracker.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.select(table.c.sender_id).group_by(table.c.sender_id)
                                                .having(sa.func.max(table.c.timestamp) < cutoff))]

    def _stale_in_broker(self, cutoff: float) -> List[str]:
        """The broker's table has no time column: the latest event of each conversation says when it was."""
        table = self.events.table("events")
        if table is None:
            return []
        stale: List[str] = []
        with self.events.engine.connect() as conn:
            last_ids = [r[0] for r in conn.execute(sa.select(sa.func.max(table.c.id)).group_by(table.c.sender_id))]
            for chunk in chunks(last_ids, 500):
                for sender, data in conn.execute(sa.select(table.c.sender_id, table.c.data)
                                                 .where(table.c.id.in_(chunk))):
                    event = _json(data)
                    ts = event.get("timestamp") if isinstance(event, dict) else None
                    if isinstance(ts, (int, float)) and ts < cutoff:
                        stale.append(sender)
        return stale

    def _tail_cursor(self) -> int:
        """Rows the console has not read yet are never deleted by the retention job."""
        with Session(self.console) as session:
            cursor = session.get(TailCursor, TAIL_CURSOR)
            return int(cursor.last_id) if cursor is not None else 0


# ---------------------------------------------------------------------------------------------- the console


class ConsoleStore:
    """The console's own tables: conversations, per-day counts, tickets with their messages and notes, leads
    with their history and webhook outbox, feedback."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # the web widget's attachments (and their files), contacts, seen marks and CSAT comments
        self.widget = WidgetPrivacy(engine, UploadSettings.from_env(root=ROOT).directory)

    # -- who
    def senders_of(self, customers: Set[str]) -> Set[str]:
        if not customers:
            return set()
        found: Set[str] = set()
        with Session(self.engine) as session:
            ids = sorted(customers)
            found |= set(session.scalars(sa.select(ConversationRow.sender_id)
                                         .where(ConversationRow.customer_id.in_(ids))))
            found |= set(session.scalars(sa.select(LeadRow.sender_id).where(LeadRow.customer_id.in_(ids))))
            for ticket in self._tickets_of_customers(session, customers):
                found.add(ticket.sender_id)
        return {s for s in found if not s.startswith(ERASED_PREFIX)}

    @staticmethod
    def _customer_of(ticket: Ticket) -> Optional[str]:
        value = _json(ticket.customer_json)
        return value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), str) else None

    def _tickets_of_customers(self, session: Session, customers: Set[str]) -> List[Ticket]:
        """Tickets whose handoff context named the customer, or that the console linked to them."""
        out: Dict[int, Ticket] = {}
        for customer in sorted(customers):
            query = sa.select(Ticket).where(Ticket.customer_json.contains(customer, autoescape=True))
            out.update({t.id: t for t in session.scalars(query) if self._customer_of(t) == customer})
        if customers:
            linked = sa.select(TicketLink.ticket_id).where(TicketLink.customer_id.in_(sorted(customers)))
            out.update({t.id: t for t in session.scalars(sa.select(Ticket).where(Ticket.id.in_(linked)))})
        return [out[k] for k in sorted(out)]

    def _tickets(self, session: Session, scope: Scope) -> List[Ticket]:
        found: Dict[int, Ticket] = {}
        for chunk in chunks(sorted(scope.senders), 500):
            for ticket in session.scalars(sa.select(Ticket).where(Ticket.sender_id.in_(chunk))):
                found[ticket.id] = ticket
        for ticket in self._tickets_of_customers(session, scope.customers):
            found[ticket.id] = ticket
        return [found[k] for k in sorted(found)]

    def _leads(self, session: Session, scope: Scope, ticket_ids: Sequence[int]) -> List[LeadRow]:
        conditions = []
        if scope.senders:
            conditions.append(LeadRow.sender_id.in_(sorted(scope.senders)))
        if scope.customers:
            conditions.append(LeadRow.customer_id.in_(sorted(scope.customers)))
        if ticket_ids:
            conditions.append(LeadRow.ticket_id.in_(list(ticket_ids)))
        if not conditions:
            return []
        return list(session.scalars(sa.select(LeadRow).where(sa.or_(*conditions)).order_by(LeadRow.id)))

    def _feedback(self, session: Session, scope: Scope, ticket_ids: Sequence[int]) -> List[FeedbackRow]:
        conditions = []
        if scope.senders:
            conditions.append(FeedbackRow.sender_id.in_(sorted(scope.senders)))
        if ticket_ids:
            conditions.append(FeedbackRow.ticket_id.in_(list(ticket_ids)))
        if not conditions:
            return []
        return list(session.scalars(sa.select(FeedbackRow).where(sa.or_(*conditions)).order_by(FeedbackRow.id)))

    # -- access
    def export(self, scope: Scope) -> Dict[str, Any]:
        def plain(row: Any) -> Dict[str, Any]:
            return {c.key: _ts(getattr(row, c.key)) for c in sa.inspect(row).mapper.column_attrs}

        senders = sorted(scope.senders)
        with Session(self.engine) as session:
            tickets = self._tickets(session, scope)
            ticket_ids = [t.id for t in tickets]
            leads = self._leads(session, scope, ticket_ids)
            out: Dict[str, Any] = {
                "conversations": [plain(r) for r in session.scalars(
                    sa.select(ConversationRow).where(ConversationRow.sender_id.in_(senders)))],
                "conversation_days": [plain(r) for r in session.scalars(
                    sa.select(ConversationDay).where(ConversationDay.sender_id.in_(senders))
                    .order_by(ConversationDay.day))],
                "tickets": [],
                "leads": [],
                "feedback": [plain(r) for r in self._feedback(session, scope, ticket_ids)],
            }
            for ticket in tickets:
                item = plain(ticket)
                for key in ("customer_json", "sentiment_json", "context_json"):
                    item[key[:-5]] = _json(item.pop(key))
                item["messages"] = [plain(m) for m in session.scalars(
                    sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id))]
                item["notes"] = [plain(n) for n in session.scalars(
                    sa.select(Note).where(Note.ticket_id == ticket.id).order_by(Note.id))]
                link = session.get(TicketLink, ticket.id)
                item["link"] = plain(link) if link is not None else None
                item["follow_ups"] = [plain(f) for f in session.scalars(
                    sa.select(FollowUpRow).where(FollowUpRow.ticket_id == ticket.id))]
                out["tickets"].append(item)
            for lead in leads:
                item = plain(lead)
                item["fields"] = _json(item.pop("fields_json"))
                item["changes"] = [plain(c) for c in session.scalars(
                    sa.select(LeadChange).where(LeadChange.lead_row_id == lead.id).order_by(LeadChange.id))]
                out["leads"].append(item)
        out.update(self.widget.export(senders, ticket_ids))  # attachments, contacts, seen, csat_comments
        return out

    # -- erasure and retention
    def erase(self, scope: Scope, tokens: Tokens, dry_run: bool, batch: int) -> Counts:
        with Session(self.engine) as session:
            tickets = [t.id for t in self._tickets(session, scope)]
            leads = [lead.id for lead in self._leads(session, scope, tickets)]
            feedback = [f.id for f in self._feedback(session, scope, tickets)]
        senders = sorted(scope.senders)
        counts: Counts = {}
        counts.update(self.widget.erase(senders, tickets, dry_run, batch))
        counts.update(self._anonymise_tickets(tickets, tokens, dry_run, batch))
        counts.update(self._anonymise_leads(leads, tokens, dry_run, batch))
        counts["console_feedback"] = self._anonymise_feedback(feedback, tokens, dry_run, batch)
        counts["console_conversations"] = self._anonymise_conversations(senders, tokens, dry_run, batch)
        counts["console_conversation_days"] = self._anonymise_days(
            senders, None, tokens, dry_run, batch)
        return counts

    def retain(self, kind: str, cutoff: float, tokens: Tokens, dry_run: bool, batch: int) -> Counts:
        fresh = ~Ticket.sender_id.startswith(ERASED_PREFIX)
        with Session(self.engine) as session:
            if kind == "tickets":
                done = sa.func.coalesce(Ticket.closed_at, Ticket.updated_at)
                final = [state.value for state in FINAL_STATES]
                ids = list(session.scalars(sa.select(Ticket.id).where(
                    Ticket.state.in_(final), done < cutoff, fresh).order_by(Ticket.id)))
                return self._anonymise_tickets(ids, tokens, dry_run, batch)
            if kind == "leads":
                done = sa.func.coalesce(LeadRow.closed_at, LeadRow.updated_at)
                ids = list(session.scalars(sa.select(LeadRow.id).where(
                    done < cutoff, ~LeadRow.sender_id.startswith(ERASED_PREFIX)).order_by(LeadRow.id)))
                return self._anonymise_leads(ids, tokens, dry_run, batch)
            if kind == "feedback":
                ids = list(session.scalars(sa.select(FeedbackRow.id).where(
                    FeedbackRow.created_at < cutoff, ~FeedbackRow.sender_id.startswith(ERASED_PREFIX))))
                return {"console_feedback": self._anonymise_feedback(ids, tokens, dry_run, batch),
                        **self.widget.retain_feedback(cutoff, dry_run, batch)}
            if kind == "transcripts":
                senders = list(session.scalars(sa.select(ConversationRow.sender_id).where(
                    ConversationRow.last_at < cutoff, ~ConversationRow.sender_id.startswith(ERASED_PREFIX))))
                day = _utc(cutoff).strftime("%Y-%m-%d")
                day_senders = list(session.scalars(sa.select(ConversationDay.sender_id).where(
                    ConversationDay.day < day, ~ConversationDay.sender_id.startswith(ERASED_PREFIX)).distinct()))
                return {
                    "console_conversations": self._anonymise_conversations(senders, tokens, dry_run, batch),
                    "console_conversation_days": self._anonymise_days(day_senders, day, tokens, dry_run, batch),
                    **self.widget.retain_transcripts(cutoff, dry_run, batch),
                }
        return {}

    def _anonymise_tickets(self, ids: Sequence[int], tokens: Tokens, dry_run: bool, batch: int) -> Counts:
        counts = {"console_tickets": 0, "console_messages": 0, "console_notes": 0, "console_ticket_links": 0,
                  "console_followups": 0, "console_search_keys": 0}
        for chunk in chunks(ids, batch):
            with Session(self.engine) as session, session.begin():
                # the search keys (order numbers, phone suffix, customer id) go with the messages
                for table, model in (("console_messages", Message), ("console_notes", Note),
                                     ("console_search_keys", SearchKey)):
                    where = model.ticket_id.in_(chunk)
                    if dry_run:
                        counts[table] += int(session.scalar(sa.select(sa.func.count()).select_from(model)
                                                            .where(where)) or 0)
                    else:
                        counts[table] += session.execute(sa.delete(model).where(where)).rowcount or 0
                links = TicketLink.ticket_id.in_(chunk)
                notes = sa.and_(FollowUpRow.ticket_id.in_(chunk), FollowUpRow.note != "")
                counts["console_ticket_links"] += int(session.scalar(
                    sa.select(sa.func.count()).select_from(TicketLink).where(links, TicketLink.customer_id.is_not(None)))
                    or 0)
                counts["console_followups"] += int(session.scalar(
                    sa.select(sa.func.count()).select_from(FollowUpRow).where(notes)) or 0)
                if not dry_run:  # the customer link goes, the repeat link (a ticket id) stays for the figures
                    session.execute(sa.update(TicketLink).where(links).values(customer_id=None))
                    session.execute(sa.update(FollowUpRow).where(notes).values(note=""))
                for ticket in session.scalars(sa.select(Ticket).where(Ticket.id.in_(chunk))):
                    counts["console_tickets"] += 1
                    if dry_run:
                        continue
                    customer = _json(ticket.customer_json)
                    tier = customer.get("tier") if isinstance(customer, dict) else None
                    ticket.customer_json = json.dumps({"id": None, "name": "", "tier": tier, "verified": False,
                                                       "anonymised": True})
                    ticket.sender_id = tokens(ticket.sender_id)
                    ticket.summary = ""
                    ticket.context_json = "{}"
                    ticket.trigger = ""
                if dry_run:
                    session.rollback()
        return counts

    def _anonymise_leads(self, ids: Sequence[int], tokens: Tokens, dry_run: bool, batch: int) -> Counts:
        counts = {"console_leads": 0, "console_lead_changes": 0, "console_lead_outbox": 0}
        for chunk in chunks(ids, batch):
            with Session(self.engine) as session, session.begin():
                leads = list(session.scalars(sa.select(LeadRow).where(LeadRow.id.in_(chunk))))
                lead_ids = [lead.lead_id for lead in leads]
                outbox = LeadOutbox.lead_id.in_(lead_ids)
                changes = list(session.scalars(sa.select(LeadChange).where(LeadChange.lead_row_id.in_(chunk))))
                counts["console_leads"] += len(leads)
                counts["console_lead_changes"] += len(changes)
                if dry_run:
                    counts["console_lead_outbox"] += int(session.scalar(
                        sa.select(sa.func.count()).select_from(LeadOutbox).where(outbox)) or 0)
                    session.rollback()
                    continue
                counts["console_lead_outbox"] += session.execute(sa.delete(LeadOutbox).where(outbox)).rowcount or 0
                for lead in leads:
                    fields = _json(lead.fields_json)
                    fields = fields if isinstance(fields, dict) else {}
                    for name in LEAD_PERSONAL_FIELDS:
                        if name in fields:
                            fields[name] = [] if isinstance(fields[name], list) else ""
                    lead.fields_json = json.dumps(fields, ensure_ascii=False)
                    lead.sender_id = tokens(lead.sender_id)
                    lead.customer_id = None
                for change in changes:
                    values = _json(change.changes_json)
                    if isinstance(values, dict):
                        values = {k: (["", ""] if k in LEAD_PERSONAL_FIELDS else v) for k, v in values.items()}
                    change.changes_json = json.dumps(values if isinstance(values, dict) else {}, ensure_ascii=False)
        return counts

    def _rewrite_rows(self, keys: Sequence[Any], select: Callable[[List[Any]], Any],
                      rewrite: Callable[[Session, Any], None], dry_run: bool, batch: int) -> int:
        """Rewrite the rows ``select(chunk)`` finds, ``batch`` keys a transaction; how many (or would be)."""
        total = 0
        for chunk in chunks(keys, batch):
            with Session(self.engine) as session, session.begin():
                rows = list(session.scalars(select(chunk)))
                total += len(rows)
                if dry_run:
                    session.rollback()
                    continue
                for row in rows:
                    rewrite(session, row)
        return total

    def _anonymise_feedback(self, ids: Sequence[int], tokens: Tokens, dry_run: bool, batch: int) -> int:
        def rewrite(session: Session, row: FeedbackRow) -> None:
            row.sender_id = tokens(row.sender_id)
            row.question = ""

        return self._rewrite_rows(ids, lambda chunk: sa.select(FeedbackRow).where(FeedbackRow.id.in_(chunk)),
                                  rewrite, dry_run, batch)

    def _anonymise_conversations(self, senders: Sequence[str], tokens: Tokens, dry_run: bool, batch: int) -> int:
        def rewrite(session: Session, row: ConversationRow) -> None:
            session.execute(sa.update(ConversationRow).where(ConversationRow.sender_id == row.sender_id)
                            .values(sender_id=tokens(row.sender_id), customer_id=None, verified_via=None))

        return self._rewrite_rows(
            senders, lambda chunk: sa.select(ConversationRow).where(ConversationRow.sender_id.in_(chunk)),
            rewrite, dry_run, batch)

    def _anonymise_days(self, senders: Sequence[str], before_day: Optional[str], tokens: Tokens, dry_run: bool,
                        batch: int) -> int:
        """Per-day counts keep their numbers; the conversation id becomes its anonymous token (only the days
        before ``before_day`` when given)."""
        total = 0
        for chunk in chunks(senders, batch):
            where = ConversationDay.sender_id.in_(chunk)
            if before_day is not None:
                where = sa.and_(where, ConversationDay.day < before_day)
            with Session(self.engine) as session, session.begin():
                rows = session.execute(sa.select(ConversationDay.sender_id, ConversationDay.day).where(where)).all()
                total += len(rows)
                if dry_run:
                    session.rollback()
                    continue
                for sender, day in rows:
                    session.execute(sa.update(ConversationDay).where(
                        ConversationDay.sender_id == sender, ConversationDay.day == day)
                        .values(sender_id=tokens(sender)))
        return total


# ---------------------------------------------------------------------------------------------- application DB


class AppStore:
    """The application database of the action server and the notifier: the notice ledger, opt-outs and order
    watches (actions/notifier/ledger.py) and the verification guard's attempts (SHA-256 digests of customer
    ids, kept for the lockout window only; actions/verification_guard.py)."""

    TABLES = ("kefu_notices", "kefu_notice_optouts", "kefu_order_watches")

    def __init__(self, url: str) -> None:
        self.db = Reflected(url)

    def dispose(self) -> None:
        self.db.dispose()

    def export(self, scope: Scope) -> Dict[str, Any]:
        senders = sorted(scope.senders)
        return {name: self.db.select(name, lambda t: t.c.sender_id.in_(senders)) for name in self.TABLES}

    def erase(self, scope: Scope, dry_run: bool, batch: int) -> Counts:
        counts = {name: self.db.delete_in(name, "sender_id", scope.senders, dry_run, batch) for name in self.TABLES}
        import hashlib

        digests = [hashlib.sha256(f"{GUARD_CUSTOMER_SCOPE}\0{c}".encode()).hexdigest() for c in scope.customers]
        counts["kefu_verify_attempts"] = self.db.delete_in("kefu_verify_attempts", "subject", digests, dry_run, batch)
        return counts

    def retain(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        when = _utc(cutoff)
        return {
            "kefu_notices": self.db.delete_where("kefu_notices", lambda t: sa.and_(
                t.c.created_at < when, t.c.state.in_(["sent", "failed", "cancelled"])), dry_run, batch),
            "kefu_order_watches": self.db.delete_where("kefu_order_watches", lambda t: t.c.until < when,
                                                       dry_run, batch),
            "kefu_notice_optouts": self.db.delete_where("kefu_notice_optouts", lambda t: t.c.at < when,
                                                        dry_run, batch, key="sender_id"),
        }


class OutboxStore:
    """The WeChat channel's outbox of customer-service messages (bot/channels/wechat/outbox.py): keyed by the
    channel and the WeChat openid / WeCom user; it deletes its own finished rows after a few days."""

    def __init__(self, url: str) -> None:
        self.db = Reflected(url)

    def dispose(self) -> None:
        self.db.dispose()

    @staticmethod
    def recipients(senders: Iterable[str]) -> List[tuple]:
        out = []
        for sender in senders:
            prefix, _, rest = sender.partition(":")
            if prefix == "wechat" and rest:
                out.append(("wechat", rest))
            elif prefix == "wecom" and rest.count(":") >= 1:
                out.append(("wecom", rest.split(":", 1)[1]))
        return out

    def _where(self, scope: Scope) -> Optional[Callable[[sa.Table], Any]]:
        pairs = self.recipients(scope.senders)
        if not pairs:
            return None
        return lambda t: sa.or_(*(sa.and_(t.c.channel == c, t.c.recipient == r) for c, r in pairs))

    def export(self, scope: Scope) -> Dict[str, Any]:
        where = self._where(scope)
        return {"kefu_wechat_outbox": self.db.select("kefu_wechat_outbox", where) if where else []}

    def erase(self, scope: Scope, dry_run: bool, batch: int) -> Counts:
        where = self._where(scope)
        return {"kefu_wechat_outbox": self.db.delete_where("kefu_wechat_outbox", where, dry_run, batch)
                if where else 0}


    def retain(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        """Rows older than the notices' period (the outbox deletes its finished rows sooner by itself)."""
        return {"kefu_wechat_outbox": self.db.delete_where("kefu_wechat_outbox", lambda t: t.c.created_at < cutoff,
                                                           dry_run, batch)}


class ShopStore:
    """The store backend's SQL database: restock subscriptions are Kefu's (the bot wrote them, the notifier
    reads them): exported, erased and expired here. The customer record, channel bindings and orders are the
    seller's books: exported for an access request, never changed here (docs/privacy.md)."""

    def __init__(self, url: str) -> None:
        self.db = Reflected(url)

    def dispose(self) -> None:
        self.db.dispose()

    def senders_of(self, customers: Set[str]) -> Set[str]:
        ids = sorted(customers)
        return {r["sender_id"] for r in self.db.select("restock_subscriptions", lambda t: t.c.customer_id.in_(ids))}

    def _subscriptions(self, scope: Scope) -> Callable[[sa.Table], Any]:
        senders, customers = sorted(scope.senders), sorted(scope.customers)
        return lambda t: sa.or_(t.c.sender_id.in_(senders), t.c.customer_id.in_(customers))

    def export(self, scope: Scope) -> Dict[str, Any]:
        customers = sorted(scope.customers)
        out: Dict[str, Any] = {"restock_subscriptions": self.db.select("restock_subscriptions",
                                                                       self._subscriptions(scope), order="id")}
        out["customers"] = self.db.select("customers", lambda t: t.c.id.in_(customers))
        out["channel_identities"] = self.db.select("channel_identities", lambda t: t.c.customer_id.in_(customers))
        out["orders"] = self.db.select("orders", lambda t: t.c.customer_id.in_(customers), order="order_id")
        return out

    def erase(self, scope: Scope, dry_run: bool, batch: int) -> Counts:
        return {"restock_subscriptions": self.db.delete_where("restock_subscriptions", self._subscriptions(scope),
                                                              dry_run, batch)}

    def retain(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        when = _utc(cutoff)
        return {"restock_subscriptions": self.db.delete_where("restock_subscriptions",
                                                              lambda t: t.c.created_at < when, dry_run, batch)}


class UnansweredStore:
    """The knowledge base's unanswered questions, through its learning API (the console knows no table)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def export(self, scope: Scope) -> Dict[str, Any]:
        from knowledge_base.learning.unanswered import export_conversations

        return export_conversations(self.url, sorted(scope.senders))

    def erase(self, scope: Scope, dry_run: bool, batch: int) -> Counts:
        from knowledge_base.learning.unanswered import erase_conversations

        return erase_conversations(self.url, sorted(scope.senders), dry_run, batch)

    def retain(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        from knowledge_base.learning.unanswered import purge_before

        return purge_before(self.url, _utc(cutoff), dry_run, batch)


@dataclass
class Stores:
    console: ConsoleStore
    rasa: RasaStores
    app: AppStore
    outbox: OutboxStore
    shop: ShopStore
    unanswered: UnansweredStore
    _owns_engine: bool = False

    @classmethod
    def open(cls, where: Locations, console_engine: Optional[sa.Engine] = None) -> Stores:
        engine = console_engine or make_engine(where.console)
        return cls(ConsoleStore(engine), RasaStores(where.tracker, where.events, engine), AppStore(where.app),
                   OutboxStore(where.outbox), ShopStore(where.store), UnansweredStore(where.unanswered),
                   _owns_engine=console_engine is None)

    def close(self) -> None:
        self.rasa.dispose()
        self.app.dispose()
        self.outbox.dispose()
        self.shop.dispose()
        if self._owns_engine:
            self.console.engine.dispose()
