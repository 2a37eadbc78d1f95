"""What the console shows of tickets: the JSON of tickets, messages, notes, transitions and agents, the lists
and details the agent API returns, the customer's queue status, and the live events the browsers receive.

Reads only; every change goes through console/tickets/ingest.py or console/tickets/lifecycle.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console import queueing
from console.customers.history import customer_of, history
from console.customers.models import TicketLink
from console.customers.repeat import links_for
from console.leads import LeadStore
from console.leads.models import LeadRow
from console.leads.store import lead_summary
from console.models import Agent, Message, Note, ReadMark, Ticket, Transition
from console.states import State
from console.tickets.core import LOGGER, BadRequest, TicketStore, loads, viewer_of

log = logging.getLogger(LOGGER)

#: ``state`` filters of the ticket list besides the states themselves.
STATE_FILTERS = {"open": [State.QUEUED.value, State.ASSIGNED.value], "all": [s.value for s in State if s != State.BOT]}


@dataclass(frozen=True)
class QueueStatus:
    ticket_id: Optional[int]
    state: Optional[str]
    team: Optional[str]
    position: int
    eta_seconds: int
    staffed: bool
    opens_at: Optional[float]
    timezone: str = "UTC"

    def to_json(self) -> Dict[str, Any]:
        return {
            "ticket_id": self.ticket_id,
            "state": self.state,
            "team": self.team,
            "position": self.position,
            "eta_seconds": self.eta_seconds,
            "staffed": self.staffed,
            "opens_at": queueing.iso(self.opens_at) if not self.staffed else None,
            "opens_at_local": queueing.local_time(self.opens_at, self.timezone) if not self.staffed else None,
        }


def agent_json(agent: Optional[Agent]) -> Optional[Dict[str, Any]]:
    if agent is None:
        return None
    return {"id": agent.id, "username": agent.username, "display_name": agent.display_name,
            "role": agent.role, "teams": [t for t in agent.teams.split(",") if t]}


def message_json(message: Message, agents: Dict[int, Agent]) -> Dict[str, Any]:
    agent = agents.get(message.agent_id) if message.agent_id else None
    data = loads(message.data_json, None)
    delivery = data.get("delivery") if isinstance(data, dict) and isinstance(data.get("delivery"), dict) else None
    return {
        "id": message.id, "ticket_id": message.ticket_id, "author": message.author,
        "agent": {"id": agent.id, "display_name": agent.display_name} if agent else None,
        "text": message.text, "data": data, "source": message.source,
        "created_at": queueing.iso(message.created_at),
        "delivered": not (delivery and delivery.get("delivered") is False),
        "delivery": delivery,
    }


def note_json(note: Note, agents: Dict[int, Agent]) -> Dict[str, Any]:
    agent = agents.get(note.agent_id)
    return {"id": note.id, "ticket_id": note.ticket_id,
            "agent": {"id": agent.id, "display_name": agent.display_name} if agent else None,
            "text": note.text, "created_at": queueing.iso(note.created_at)}


def transition_json(row: Transition) -> Dict[str, Any]:
    return {"id": row.id, "from": row.from_state, "to": row.to_state, "action": row.action, "actor": row.actor,
            "team": row.team, "detail": loads(row.detail_json, {}), "at": queueing.iso(row.at)}


class TicketViews:
    def __init__(self, store: TicketStore, leads: LeadStore) -> None:
        self.store = store
        self.leads = leads
        self.staffed = queueing.StaffedHours.from_config(store.config["staffed_hours"])  # the shop's (leads' SLA)

    # -- one ticket ----------------------------------------------------------------------------------
    def ticket_json(self, session: Session, ticket: Ticket, agents: Optional[Dict[int, Agent]] = None,
                    leads: Optional[Dict[int, LeadRow]] = None,
                    links: Optional[Dict[int, TicketLink]] = None) -> Dict[str, Any]:
        """The ticket, with ``lead`` (status, priority, quantity, product; or None), ``repeat_of`` (the earlier
        ticket this repeat contact follows, console.customers.repeat; or None) and ``preferred_agent`` (the owner of
        the ticket's lead, else a repeat's earlier agent: who the customer dealt with before; None when there is
        none). ``leads`` / ``links``: the tickets' leads and customer links already read
        (``LeadStore.latest_by_ticket``, ``repeat.links_for``), else this ticket's are looked up."""
        agents = agents if agents is not None else self.store.agents(session)
        lead = leads.get(ticket.id) if leads is not None else self.leads.for_ticket(session, ticket.id)
        preferred = agents.get(lead.owner_id) if lead is not None and lead.owner_id else None
        # a repeat contact (console.customers.repeat) is offered to the earlier ticket's agent
        link = links.get(ticket.id) if links is not None else session.get(TicketLink, ticket.id)
        if preferred is None and link is not None and link.previous_agent_id:
            previous = agents.get(link.previous_agent_id)
            preferred = previous if previous is not None and previous.active else None
        cfg = self.store.config
        now = self.store.clock()
        sla_cfg = cfg["sla"]
        sla = queueing.sla_status(ticket.category, ticket.created_at, ticket.first_response_at, ticket.closed_at, now,
                                  sla_cfg["first_response_seconds"], sla_cfg["complaint_resolve_seconds"],
                                  hours=self.store.hours(ticket.team),
                                  first_response_clock=sla_cfg["first_response_clock"],
                                  resolve_clock=sla_cfg["complaint_resolve_clock"])
        last = session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        ).first()
        count = session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.ticket_id == ticket.id))
        assignee = agents.get(ticket.assignee_id) if ticket.assignee_id else None
        waited = (ticket.assigned_at or ticket.closed_at or now) - ticket.created_at
        return {
            "id": ticket.id, "sender_id": ticket.sender_id, "channel": ticket.channel, "state": ticket.state,
            "team": ticket.team, "category": ticket.category, "reason": ticket.reason, "trigger": ticket.trigger,
            "priority": ticket.priority,
            "effective_priority": queueing.effective_priority(
                ticket.priority, waited if ticket.state == State.QUEUED.value else 0,
                cfg["priority"].get("aging_per_minute", 1)),
            "language": ticket.language,
            "customer": loads(ticket.customer_json, {}),
            "assignee": ({"id": assignee.id, "username": assignee.username, "display_name": assignee.display_name}
                         if assignee else None),
            "summary": ticket.summary, "sentiment": loads(ticket.sentiment_json, {}),
            "created_at": queueing.iso(ticket.created_at), "updated_at": queueing.iso(ticket.updated_at),
            "assigned_at": queueing.iso(ticket.assigned_at), "first_response_at": queueing.iso(ticket.first_response_at),
            "closed_at": queueing.iso(ticket.closed_at), "resolution": ticket.resolution,
            "csat": {"rating": ticket.csat_rating, "at": queueing.iso(ticket.csat_at)} if ticket.csat_rating else None,
            "last_message": ({"author": last.author, "text": last.text, "created_at": queueing.iso(last.created_at)}
                             if last else None),
            "message_count": int(count or 0),
            "lead": lead_summary(lead, self.staffed, now) if lead is not None else None,
            "repeat_of": link.repeat_of if link is not None else None,
            "preferred_agent": ({"id": preferred.id, "username": preferred.username,
                                 "display_name": preferred.display_name} if preferred else None),
            "sla": {
                "waiting_seconds": sla.waiting_seconds,
                "first_response_due": queueing.iso(sla.first_response_due),
                "first_response_overdue": sla.first_response_overdue,
                "resolve_due": queueing.iso(sla.resolve_due),
                "resolve_overdue": sla.resolve_overdue,
            },
        }

    def detail_json(self, session: Session, ticket: Ticket) -> Dict[str, Any]:
        agents = self.store.agents(session)
        lead = self.leads.for_ticket(session, ticket.id)
        out = self.ticket_json(session, ticket, agents, {ticket.id: lead} if lead is not None else {})
        out["context"] = loads(ticket.context_json, {})
        out["lead"] = self.leads.detail(session, lead) if lead is not None else None
        out["messages"] = [message_json(m, agents) for m in session.scalars(
            sa.select(Message).where(Message.ticket_id == ticket.id).order_by(Message.created_at, Message.id))]
        out["notes"] = [note_json(n, agents) for n in session.scalars(
            sa.select(Note).where(Note.ticket_id == ticket.id).order_by(Note.created_at, Note.id))]
        out["transitions"] = [transition_json(t) for t in session.scalars(
            sa.select(Transition).where(Transition.ticket_id == ticket.id).order_by(Transition.at, Transition.id))]
        return out

    # -- lists ---------------------------------------------------------------------------------------
    def list_tickets(self, agent: Agent, state: str = "open", team: Optional[str] = None, mine: bool = False,
                     limit: int = 200) -> List[Dict[str, Any]]:
        wanted = STATE_FILTERS.get(state) or ([state] if state in {s.value for s in State} - {"bot"} else None)
        if wanted is None:
            raise BadRequest("state must be open, all, queued, assigned, closed or returned_to_bot")
        with self.store.sessions() as session:
            query = sa.select(Ticket).where(Ticket.state.in_(wanted))
            if team:
                query = query.where(Ticket.team == team)
            if mine:
                query = query.where(Ticket.assignee_id == agent.id)
            if agent.role != "supervisor":
                teams = [t for t in agent.teams.split(",") if t]
                query = query.where(sa.or_(Ticket.team.in_(teams), Ticket.assignee_id == agent.id))
            query = query.order_by(Ticket.id.desc()).limit(max(1, min(500, limit)))
            agents = self.store.agents(session)
            rows = list(session.scalars(query))
            leads = self.leads.latest_by_ticket(session, [t.id for t in rows])
            links = links_for(session, [t.id for t in rows])
            items = [self.ticket_json(session, t, agents, leads, links) for t in rows]
            unread = self.unread_counts(session, agent, rows)
            for item in items:
                item["unread"] = unread.get(item["id"], 0)
        rank = {State.QUEUED.value: 0, State.ASSIGNED.value: 1}
        items.sort(key=lambda t: (rank.get(t["state"], 2), -t["effective_priority"] if t["state"] == "queued" else 0,
                                  t["created_at"] if t["state"] in rank else "", -t["id"] if t["state"] not in rank else 0))
        return items

    @staticmethod
    def unread_counts(session: Session, agent: Agent, tickets: List[Ticket]) -> Dict[int, int]:
        """Customer messages on the agent's own open tickets that arrived after the agent last read the ticket
        (and after they took it: what came before, they read when they claimed). Per agent: the live events that
        every agent receives carry no unread count, the browser adds to this one."""
        own = {t.id: t for t in tickets if t.assignee_id == agent.id and t.state == State.ASSIGNED.value}
        if not own:
            return {}
        seen = dict(session.execute(sa.select(ReadMark.ticket_id, ReadMark.seen_at).where(
            ReadMark.agent_id == agent.id, ReadMark.ticket_id.in_(own))).all())
        newer = [sa.and_(Message.ticket_id == ticket_id,
                         Message.created_at > max(seen.get(ticket_id) or 0.0, ticket.assigned_at or 0.0))
                 for ticket_id, ticket in own.items()]
        return {ticket_id: int(count) for ticket_id, count in session.execute(
            sa.select(Message.ticket_id, sa.func.count()).where(Message.author == "customer", sa.or_(*newer))
            .group_by(Message.ticket_id))}

    def get_detail(self, agent: Agent, ticket_id: int) -> Dict[str, Any]:
        with self.store.sessions() as session:
            ticket = self.store.get(session, ticket_id)
            self.store.check_scope(agent, ticket)
            out = self.detail_json(session, ticket)
            # the customer's earlier tickets, conversations on every channel, open leads, orders (console.customers)
            out["customer_history"] = history(session, viewer_of(agent), customer_of(session, ticket),
                                              ticket.sender_id, ticket.id)
            return out

    def agent_list(self) -> List[Dict[str, Any]]:
        """Every agent with whether they are online and how many tickets they hold (the supervisor's view)."""
        online_ids = self.store.hub.online_agent_ids()
        now = self.store.clock()
        window = self.store.config["eta"].get("online_window_seconds", 120)
        with self.store.sessions() as session:
            counts = dict(session.execute(sa.select(Ticket.assignee_id, sa.func.count())
                                          .where(Ticket.state == State.ASSIGNED.value).group_by(Ticket.assignee_id)).all())
            out = []
            for agent in session.scalars(sa.select(Agent).order_by(Agent.id)):
                item = agent_json(agent)
                item["online"] = agent.id in online_ids or bool(agent.last_seen_at and now - agent.last_seen_at <= window)
                item["open_tickets"] = int(counts.get(agent.id, 0))
                out.append(item)
        return out

    # -- the customer's place in the queue -----------------------------------------------------------
    def _queue_items(self, session: Session, team: str) -> List[queueing.QueueItem]:
        rows = session.execute(sa.select(Ticket.id, Ticket.priority, Ticket.created_at)
                               .where(Ticket.state == State.QUEUED.value, Ticket.team == team))
        return [queueing.QueueItem(r.id, r.priority, r.created_at) for r in rows]

    def _agents_online(self, session: Session, team: str) -> int:
        now = self.store.clock()
        window = self.store.config["eta"].get("online_window_seconds", 120)
        online = self.store.hub.online_agent_ids()
        count = 0
        for agent in session.scalars(sa.select(Agent).where(Agent.active.is_(True))):
            teams = agent.teams.split(",")
            if team not in teams and agent.role != "supervisor":
                continue
            if agent.id in online or (agent.last_seen_at and now - agent.last_seen_at <= window):
                count += 1
        return count

    def _recent_waits(self, session: Session, team: str) -> List[float]:
        limit = int(self.store.config["eta"].get("history_tickets", 30))
        rows = session.execute(sa.select(Ticket.created_at, Ticket.assigned_at)
                               .where(Ticket.team == team, Ticket.assigned_at.is_not(None))
                               .order_by(Ticket.assigned_at.desc()).limit(limit))
        return [r.assigned_at - r.created_at for r in rows]

    def queue_status_of(self, session: Session, ticket: Optional[Ticket]) -> QueueStatus:
        cfg = self.store.config
        now = self.store.clock()
        hours = self.store.hours(ticket.team) if ticket is not None else self.staffed  # the team's, else the shop's
        staffed = hours.is_staffed(now)
        opens_at = None if staffed else hours.next_open(now)
        if ticket is None:
            return QueueStatus(None, None, None, 0, 0, staffed, opens_at, hours.tz)
        position = 0
        eta = 0
        if ticket.state == State.QUEUED.value:
            aging = cfg["priority"].get("aging_per_minute", 1)
            position = queueing.queue_position(ticket.id, self._queue_items(session, ticket.team), now, aging)
            eta = queueing.expected_wait_seconds(position, self._recent_waits(session, ticket.team),
                                                 self._agents_online(session, ticket.team),
                                                 float(cfg["eta"].get("default_wait_seconds", 120)))
            if not staffed and opens_at:
                eta += int(opens_at - now)
        return QueueStatus(ticket.id, ticket.state, ticket.team, position, eta, staffed, opens_at, hours.tz)

    def queue_status(self, sender_id: str) -> QueueStatus:
        with self.store.sessions() as session:
            return self.queue_status_of(session, self.store.open_ticket(session, sender_id))

    # -- live events (SSE, console/live.py) ----------------------------------------------------------
    def announce_created(self, payload: Dict[str, Any]) -> None:
        log.info("ticket %s created: reason=%s", payload["id"], payload["reason"])
        self.store.hub.publish("ticket.created", {"ticket": payload}, payload["team"], None)

    def announce_message(self, session: Session, ticket: Ticket, message: Message) -> None:
        agents = self.store.agents(session)
        payload = {"ticket_id": ticket.id, "message": message_json(message, agents),
                   "ticket": self.ticket_json(session, ticket, agents)}
        self.store.hub.publish("message.created", payload, ticket.team, ticket.assignee_id)

    def announce_ticket(self, session: Session, ticket: Ticket, transition: Optional[Transition] = None,
                        previous_team: Optional[str] = None) -> Dict[str, Any]:
        payload = self.ticket_json(session, ticket)
        self.store.hub.publish("ticket.updated",
                               {"ticket": payload, "transition": transition_json(transition) if transition else None},
                               ticket.team, ticket.assignee_id, previous_team=previous_team)
        return payload
