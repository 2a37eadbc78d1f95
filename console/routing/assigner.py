"""The assigner's database work: one assignment per transaction, correct with several console processes.

A waiting ticket goes to an online agent of its team whose assigned tickets are fewer than their capacity: the
agent the customer dealt with before when they are free (the lead's owner, a repeat contact's earlier agent), else
the least recently assigned. Tickets are taken in queue order (``console.queueing``: priority plus aging, then the
oldest).

Concurrency. Each attempt (one ticket, one agent) is a transaction that
1. locks the agent's row (``SELECT ... FOR UPDATE`` on PostgreSQL): two processes never fill the same agent at
   once; a supervisor's reassignment takes the same lock first;
2. moves the ticket with a conditional ``UPDATE ... WHERE state = 'queued'``: a ticket someone claimed, transferred
   or another process assigned a moment ago is left alone (no row changed: the next ticket);
3. counts the agent's assigned tickets again and re-reads their presence *after* that write (on SQLite the write
   holds the database's write lock, on PostgreSQL the agent lock is held): over capacity or no longer online rolls
   the attempt back.
Lock order: agent row, then ticket row, the same in the assigner and a reassignment; an agent action (claim,
close, ...) locks only the ticket row, so no cycle can form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console import queueing
from console.customers.repeat import links_for
from console.leads.store import LeadStore
from console.models import Agent, Ticket, Transition
from console.routing.presence import ONLINE, Candidate, RoutingSettings, capacity_of, effective_presence, round_robin
from console.states import Action, State

if TYPE_CHECKING:
    from console.tickets.core import TicketStore

log = logging.getLogger("kefu.console.routing")

#: Assignments one pass makes at most (the next pass goes on): a pass never holds the loop's thread for long.
PASS_LIMIT = 200


@dataclass(frozen=True)
class Assigned:
    """A committed assignment, for the announcements that follow it."""

    ticket_id: int
    agent_id: int
    transition_id: int
    previous_agent_id: Optional[int] = None


def open_counts(session: Session, agent_ids: Optional[Sequence[int]] = None) -> Dict[int, int]:
    """Assigned (open) tickets per agent."""
    query = sa.select(Ticket.assignee_id, sa.func.count()).where(Ticket.state == State.ASSIGNED.value)
    if agent_ids is not None:
        query = query.where(Ticket.assignee_id.in_(list(agent_ids)))
    return {int(a): int(n) for a, n in session.execute(query.group_by(Ticket.assignee_id)).all() if a is not None}


def teams_of(agent: Agent) -> frozenset:
    return frozenset(t for t in (agent.teams or "").split(",") if t)


class Assigner:
    def __init__(self, store: TicketStore, leads: LeadStore, settings: RoutingSettings) -> None:
        self.store = store
        self.leads = leads
        self.settings = settings

    # -- reading --------------------------------------------------------------------------------------
    def candidates(self, session: Session, now: float) -> List[Candidate]:
        """Online agents (a fresh heartbeat) with free places."""
        fresh = now - self.settings.presence_timeout_seconds
        agents = list(session.scalars(sa.select(Agent).where(
            Agent.active.is_(True), Agent.presence == ONLINE, Agent.heartbeat_at >= fresh)))
        counts = open_counts(session, [a.id for a in agents])
        out = []
        for agent in agents:
            free = capacity_of(agent.capacity, self.settings.default_capacity) - counts.get(agent.id, 0)
            if free > 0 and teams_of(agent):
                out.append(Candidate(agent.id, teams_of(agent), free, agent.last_assigned_at))
        return out

    def waiting(self, session: Session, teams: frozenset, now: float) -> List[Tuple[int, str]]:
        """(id, team) of the queued tickets of ``teams``, in queue order."""
        if not teams:
            return []
        aging = self.store.config["priority"].get("aging_per_minute", 1)
        rows = session.execute(sa.select(Ticket.id, Ticket.team, Ticket.priority, Ticket.created_at).where(
            Ticket.state == State.QUEUED.value, Ticket.team.in_(sorted(teams))).order_by(Ticket.created_at, Ticket.id)
            .limit(PASS_LIMIT * 5)).all()
        rows.sort(key=lambda r: (-queueing.effective_priority(r.priority, now - r.created_at, aging), r.created_at, r.id))
        return [(r.id, r.team) for r in rows]

    def preferred(self, session: Session, ticket_ids: Sequence[int]) -> Dict[int, List[int]]:
        """Per ticket, the agents the customer dealt with before: the lead's owner, a repeat's earlier agent."""
        out: Dict[int, List[int]] = {}
        for ticket_id, lead in self.leads.latest_by_ticket(session, ticket_ids).items():
            if lead.owner_id:
                out.setdefault(ticket_id, []).append(lead.owner_id)
        for ticket_id, link in links_for(session, ticket_ids).items():
            if link.previous_agent_id and link.previous_agent_id not in out.get(ticket_id, []):
                out.setdefault(ticket_id, []).append(link.previous_agent_id)
        return out

    # -- writing --------------------------------------------------------------------------------------
    def _lock_agent(self, session: Session, agent_id: int) -> Optional[Agent]:
        return session.scalars(sa.select(Agent).where(Agent.id == agent_id).with_for_update()
                               .execution_options(populate_existing=True)).first()

    def _move(self, session: Session, ticket_id: int, agent_id: int, now: float, *, from_states: Sequence[str],
              team: Optional[str] = None) -> bool:
        """The conditional write: the ticket becomes the agent's when it is still in one of ``from_states``."""
        query = sa.update(Ticket).where(Ticket.id == ticket_id, Ticket.state.in_(list(from_states)))
        if team is not None:
            query = query.where(Ticket.team == team)
        result = session.execute(query.values(state=State.ASSIGNED.value, assignee_id=agent_id, assigned_at=now,
                                              updated_at=now).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def _record(self, session: Session, ticket_id: int, from_state: str, actor: str,
                detail: Dict[str, Any]) -> Transition:
        ticket = session.get(Ticket, ticket_id, populate_existing=True)
        assert ticket is not None
        row = self.store.record(session, ticket, from_state, State.ASSIGNED.value, Action.ASSIGN.value, actor, detail)
        session.flush()
        return row

    def try_assign(self, session: Session, ticket_id: int, team: str, agent_id: int, now: float) -> str:
        """One attempt in ``session``'s transaction: ``"assigned"`` (the caller commits), ``"agent"`` (the agent
        is full, away or gone: rolled back) or ``"ticket"`` (no longer waiting in that team: rolled back)."""
        agent = self._lock_agent(session, agent_id)
        if agent is None:
            session.rollback()
            return "agent"
        if not self._move(session, ticket_id, agent_id, now, from_states=[State.QUEUED.value], team=team):
            session.rollback()
            return "ticket"
        session.refresh(agent)  # after the write: what the agent is now, not when the pass started
        count = open_counts(session, [agent_id]).get(agent_id, 0)
        online = effective_presence(agent.presence, agent.heartbeat_at, now,
                                    self.settings.presence_timeout_seconds, agent.active) == ONLINE
        if not online or team not in teams_of(agent) or \
                count > capacity_of(agent.capacity, self.settings.default_capacity):
            session.rollback()
            return "agent"
        agent.last_assigned_at = now
        return "assigned"

    def assign_one(self) -> Optional[Assigned]:
        """Give one waiting ticket to a free agent; None when there is nothing to do."""
        with self.store.sessions() as session:
            now = self.store.clock()
            candidates = self.candidates(session, now)
            if not candidates:
                return None
            teams = frozenset().union(*(c.teams for c in candidates))
            tickets = self.waiting(session, teams, now)
            preferred = self.preferred(session, [t for t, _ in tickets[:PASS_LIMIT]])
            session.rollback()  # the reads end here; every attempt is its own transaction
            free = {c.agent_id: c for c in candidates}
            for ticket_id, team in tickets:
                for candidate in round_robin(free.values(), team, preferred.get(ticket_id, ())):
                    outcome = self.try_assign(session, ticket_id, team, candidate.agent_id, now)
                    if outcome == "ticket":
                        break
                    if outcome == "agent":
                        free.pop(candidate.agent_id, None)
                        continue
                    row = self._record(session, ticket_id, State.QUEUED.value, "system",
                                       {"auto": True, "agent_id": candidate.agent_id})
                    session.commit()
                    log.info("ticket %s assigned to agent %s", ticket_id, candidate.agent_id)
                    return Assigned(ticket_id, candidate.agent_id, row.id)
                if not free:
                    return None
            return None

    def assign_waiting(self, limit: int = PASS_LIMIT) -> List[Assigned]:
        """Assign until no waiting ticket has a free agent (at most ``limit`` in one pass)."""
        done: List[Assigned] = []
        while len(done) < limit:
            assigned = self.assign_one()
            if assigned is None:
                break
            done.append(assigned)
        return done

    def reassign(self, session: Session, ticket_id: int, agent_id: int, actor: str) -> Tuple[Assigned, Dict[str, Any]]:
        """A supervisor gives the ticket to the agent (queued or assigned; presence and capacity are the
        supervisor's call). Locks as the assigner does; the caller has checked the agent and commits."""
        now = self.store.clock()
        if self._lock_agent(session, agent_id) is None:
            raise LookupError("the agent does not exist")
        ticket = self.store.get(session, ticket_id, lock=True)
        before = {"state": ticket.state, "assignee_id": ticket.assignee_id}
        if ticket.state == State.ASSIGNED.value and ticket.assignee_id == agent_id:
            raise ValueError("the ticket is assigned to that agent already")
        if not self._move(session, ticket_id, agent_id, now,
                          from_states=[State.QUEUED.value, State.ASSIGNED.value]):
            raise ValueError(f"cannot assign a ticket that is {ticket.state}")
        agent = session.get(Agent, agent_id)
        assert agent is not None
        agent.last_assigned_at = now
        row = self._record(session, ticket_id, before["state"], actor,
                           {"auto": False, "agent_id": agent_id, "previous_agent_id": before["assignee_id"]})
        return Assigned(ticket_id, agent_id, row.id, before["assignee_id"]), before
