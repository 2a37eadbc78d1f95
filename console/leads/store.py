"""The leads' database jobs: create a lead with its ticket (idempotent on ``lead_id``), read it as JSON, apply an
agent's card edit or status move with its history row and its outbox row in the same transaction, and the reads
of the internal lookup and the CSV export.

Status timestamps: ``contacted_at`` and ``quoted_at`` keep the first time the lead reached that step (a quoted
lead moved back to contacted keeps both), ``closed_at`` is the time it was won or lost (cleared when a lost lead
is reopened). Moving to contacted or quoted makes the acting agent the owner when the lead has none.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from console.leads import outbox
from console.leads.models import LeadChange, LeadRow, row_fields
from console.leads.sla import quote_state
from console.live import Viewer
from console.models import Agent, Ticket
from console.queueing import StaffedHours, iso
from kernel import seller
from kernel.leads import STATUSES, Lead, LeadError, can_move, parse_edit

#: The status of a new lead and the ones that end it.
NEW = STATUSES[0]
CLOSED = ("won", "lost")
#: Moving to these makes the acting agent the owner when the lead has none.
OWNING = ("contacted", "quoted")


class LeadNotFound(LookupError):
    pass


class LeadConflict(ValueError):
    """The move is not allowed from the lead's current status (HTTP 409)."""


class LeadForbidden(PermissionError):
    pass


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _viewer(agent: Agent) -> Viewer:
    return Viewer(agent.id, agent.role, frozenset(t for t in agent.teams.split(",") if t))


def lead_json(row: LeadRow, agents: Optional[Dict[int, Agent]] = None, staffed: Optional[StaffedHours] = None,
              now: Optional[float] = None) -> Dict[str, Any]:
    """The lead as the API, the webhook and the export show it: every ``Lead`` field, then the console's own
    (``quote_due_at`` / ``quote_overdue``: the quote the customer was promised, ``console.leads.sla``)."""
    owner = (agents or {}).get(row.owner_id) if row.owner_id else None
    fields = {**Lead(lead_id=row.lead_id).to_dict(), **row_fields(row), "lead_id": row.lead_id}
    quote = quote_state(row.status, row.created_at, row.fields_json, staffed, time.time() if now is None else now)
    return {
        **fields,
        "quote_due_at": iso(quote["due"]), "quote_overdue": quote["overdue"],
        # the deal's size as the bot writes money, in the shop's currency (kernel/seller.py): "¥8,940.00"
        "value_text": seller.money(fields["value_cents"]) if isinstance(fields.get("value_cents"), int) else None,
        "status": row.status, "ticket_id": row.ticket_id, "sender_id": row.sender_id, "channel": row.channel,
        "customer_id": row.customer_id,
        "owner": ({"id": owner.id, "username": owner.username, "display_name": owner.display_name}
                  if owner else None),
        "created_at": iso(row.created_at), "contacted_at": iso(row.contacted_at), "quoted_at": iso(row.quoted_at),
        "closed_at": iso(row.closed_at), "updated_at": iso(row.updated_at),
    }


def lead_summary(row: LeadRow, staffed: Optional[StaffedHours] = None, now: Optional[float] = None) -> Dict[str, Any]:
    """What the ticket list shows of a lead."""
    fields = row_fields(row)
    quote = quote_state(row.status, row.created_at, row.fields_json, staffed, time.time() if now is None else now)
    return {"lead_id": row.lead_id, "status": row.status, "priority": row.priority,
            "quantity": fields.get("quantity"), "product": fields.get("product") or "",
            "quote_due_at": iso(quote["due"]), "quote_overdue": quote["overdue"]}


class LeadStore:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], float] = time.time,
                 staffed: Optional[StaffedHours] = None) -> None:
        self.sessions = sessions
        self.clock = clock
        self.staffed = staffed  # the working days a promised quote runs on (console.leads.sla)

    def as_json(self, row: LeadRow, agents: Optional[Dict[int, Agent]] = None) -> Dict[str, Any]:
        return lead_json(row, agents, self.staffed, self.clock())

    @staticmethod
    def agents(session: Session) -> Dict[int, Agent]:
        return {a.id: a for a in session.scalars(sa.select(Agent))}

    # -- with a handoff (inside the ticket's transaction) ----------------------------------------------
    @staticmethod
    def previous_owner(session: Session, sender_id: str, customer_id: Optional[str]) -> Optional[Agent]:
        """The active owner of the newest earlier lead of this sender (or of this customer id)."""
        match = LeadRow.sender_id == sender_id
        if customer_id:
            match = sa.or_(match, LeadRow.customer_id == customer_id)
        owner_id = session.scalar(sa.select(LeadRow.owner_id).where(match, LeadRow.owner_id.is_not(None))
                                  .order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(1))
        agent = session.get(Agent, owner_id) if owner_id else None
        return agent if agent is not None and agent.active else None

    def create_in(self, session: Session, lead: Lead, ticket: Ticket, customer_id: Optional[str],
                  owner: Optional[Agent] = None) -> Tuple[LeadRow, bool]:
        """Store ``lead`` with ``ticket`` in the caller's transaction; the existing row when ``lead_id`` is known
        (a handoff delivered twice, by the API and the events tail)."""
        existing = session.scalars(sa.select(LeadRow).where(LeadRow.lead_id == lead.lead_id)).first()
        if existing is not None:
            return existing, False
        now = self.clock()
        row = LeadRow(lead_id=lead.lead_id, ticket_id=ticket.id, sender_id=ticket.sender_id, channel=ticket.channel,
                      customer_id=customer_id, status=NEW, owner_id=owner.id if owner else None, created_at=now,
                      updated_at=now)
        self._set_fields(row, lead.to_dict())
        session.add(row)
        session.flush()
        session.add(LeadChange(lead_row_id=row.id, kind="created", actor="bot",
                               changes_json=_dumps({"owner": owner.username} if owner else {}), at=now))
        outbox.enqueue(session, "lead.created", self.as_json(row, self.agents(session)), row.ticket_id, now)
        return row, True

    @staticmethod
    def _set_fields(row: LeadRow, fields: Dict[str, Any]) -> None:
        fields = {k: v for k, v in fields.items() if k != "lead_id"}
        row.fields_json = _dumps(fields)
        row.product_line = fields.get("product_line")
        row.region = fields.get("region")
        row.priority = fields.get("priority") or "warm"

    # -- reads ----------------------------------------------------------------------------------------
    @staticmethod
    def for_ticket(session: Session, ticket_id: int) -> Optional[LeadRow]:
        return session.scalars(sa.select(LeadRow).where(LeadRow.ticket_id == ticket_id)
                               .order_by(LeadRow.id.desc()).limit(1)).first()

    @staticmethod
    def latest_by_ticket(session: Session, ticket_ids: Sequence[int]) -> Dict[int, LeadRow]:
        """The newest lead of each ticket, in one query (a ticket list reads them all at once)."""
        if not ticket_ids:
            return {}
        out: Dict[int, LeadRow] = {}
        for row in session.scalars(sa.select(LeadRow).where(LeadRow.ticket_id.in_(list(ticket_ids)))
                                   .order_by(LeadRow.id)):
            out[row.ticket_id] = row  # the newest lead of the ticket wins
        return out

    def by_sender(self, sender_id: str, limit: int = 20) -> List[Dict[str, Any]]:
        with self.sessions() as session:
            agents = self.agents(session)
            rows = session.scalars(sa.select(LeadRow).where(LeadRow.sender_id == sender_id)
                                   .order_by(LeadRow.created_at.desc(), LeadRow.id.desc()).limit(limit))
            return [self.as_json(r, agents) for r in rows]

    def history(self, session: Session, row: LeadRow) -> List[Dict[str, Any]]:
        return [{"kind": c.kind, "actor": c.actor, "changes": json.loads(c.changes_json or "{}"), "at": iso(c.at)}
                for c in session.scalars(sa.select(LeadChange).where(LeadChange.lead_row_id == row.id)
                                         .order_by(LeadChange.at, LeadChange.id))]

    def export_rows(self, agent: Agent, status: Optional[str], since: Optional[float]) -> Iterable[Dict[str, Any]]:
        """The leads ``agent`` may see (a supervisor: all; an agent: their teams' tickets and their own leads)."""
        with self.sessions() as session:
            agents = self.agents(session)
            query = sa.select(LeadRow)
            if agent.role != "supervisor":
                teams = [t for t in agent.teams.split(",") if t]
                visible = sa.select(Ticket.id).where(sa.or_(Ticket.team.in_(teams), Ticket.assignee_id == agent.id))
                query = query.where(sa.or_(LeadRow.ticket_id.in_(visible), LeadRow.owner_id == agent.id))
            if status:
                query = query.where(LeadRow.status == status)
            if since is not None:
                query = query.where(LeadRow.created_at >= since)
            return [self.as_json(r, agents) for r in session.scalars(query.order_by(LeadRow.created_at, LeadRow.id))]

    # -- what agents do --------------------------------------------------------------------------------
    def _locked(self, session: Session, agent: Agent, lead_id: str) -> Tuple[LeadRow, Optional[Ticket]]:
        row = session.scalars(sa.select(LeadRow).where(LeadRow.lead_id == lead_id).with_for_update()).first()
        if row is None:
            raise LeadNotFound(f"lead {lead_id} does not exist")
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        viewer = _viewer(agent)
        if not (viewer.role == "supervisor" or (ticket is not None and viewer.may_see(ticket.team, ticket.assignee_id))
                or row.owner_id == agent.id):
            raise LeadForbidden("this lead belongs to another team")
        return row, ticket

    def edit(self, agent: Agent, lead_id: str, raw: Any) -> Tuple[Dict[str, Any], Optional[int]]:
        """Apply an agent's card edit (``kernel.leads.parse_edit``: LeadError on bad input, nothing changed)."""
        edit = parse_edit(raw)
        with self.sessions() as session:
            row, _ticket = self._locked(session, agent, lead_id)
            before = {**Lead(lead_id=row.lead_id).to_dict(), **row_fields(row)}
            changes = {k: [before.get(k), v] for k, v in edit.items() if before.get(k) != v}
            if changes:
                now = self.clock()
                after = {**before, **edit}
                self._set_fields(row, after)
                row.updated_at = now
                session.add(LeadChange(lead_row_id=row.id, kind="edit", actor=f"agent:{agent.username}",
                                       changes_json=_dumps(changes), at=now))
                session.flush()
                outbox.enqueue(session, "lead.updated", self.as_json(row, self.agents(session)), row.ticket_id, now,
                               {"fields": changes, "actor": agent.username})
            session.commit()
            return self._view(session, row), row.ticket_id

    def move(self, agent: Agent, lead_id: str, status: Any) -> Tuple[Dict[str, Any], Optional[int]]:
        """Move the quote status (LeadError: unknown status; LeadConflict: not allowed from the current one)."""
        if not isinstance(status, str) or status not in STATUSES:
            raise LeadError(f"status must be one of {', '.join(STATUSES)}")
        with self.sessions() as session:
            row, _ticket = self._locked(session, agent, lead_id)
            if not can_move(row.status, status):
                raise LeadConflict(f"a {row.status} lead cannot move to {status}")
            now = self.clock()
            previous = row.status
            row.status = status
            if status == "contacted" and row.contacted_at is None:
                row.contacted_at = now
            if status == "quoted" and row.quoted_at is None:
                row.quoted_at = now
            row.closed_at = now if status in CLOSED else None
            changes: Dict[str, Any] = {"status": [previous, status]}
            if status in OWNING and row.owner_id is None:
                row.owner_id = agent.id
                changes["owner"] = [None, agent.username]
            row.updated_at = now
            session.add(LeadChange(lead_row_id=row.id, kind="status", actor=f"agent:{agent.username}",
                                   changes_json=_dumps(changes), at=now))
            session.flush()
            outbox.enqueue(session, "lead.status_changed", self.as_json(row, self.agents(session)), row.ticket_id, now,
                           {"from": previous, "to": status, "actor": agent.username})
            session.commit()
            return self._view(session, row), row.ticket_id

    def _view(self, session: Session, row: LeadRow) -> Dict[str, Any]:
        return {**self.as_json(row, self.agents(session)), "history": self.history(session, row)}

    def detail(self, session: Session, row: LeadRow) -> Dict[str, Any]:
        return self._view(session, row)
