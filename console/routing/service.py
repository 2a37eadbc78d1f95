"""Presence changes, heartbeats, a supervisor's reassignment, and the loop that assigns waiting tickets.

Everything is in the console database, so several console processes agree: presence and heartbeats are columns
of ``console_agents``, and each process runs the same loop (the assigner's locks keep them from filling one agent
twice). The loop wakes when something makes work (a ticket waits, an agent goes online or frees a place: the
``wake()`` calls) and sweeps every ``assignment.sweep_seconds`` for what another process or the command line did.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from console.admin.models import AdminAudit
from console.admin.service import Conflict, dumps
from console.models import Agent, SessionRow
from console.routing.assigner import Assigned, Assigner, open_counts, teams_of
from console.routing.presence import (
    OFFLINE,
    ONLINE,
    RoutingSettings,
    capacity_of,
    check_presence,
    effective_presence,
)
from console.states import State
from console.tickets.core import BadRequest, NotFound, TicketStore
from console.tickets.lifecycle import TicketLifecycle
from console.tickets.views import TicketViews

log = logging.getLogger("kefu.console.routing")


class RoutingService:
    def __init__(self, store: TicketStore, views: TicketViews, lifecycle: TicketLifecycle,
                 settings: RoutingSettings) -> None:
        self.store = store
        self.views = views
        self.lifecycle = lifecycle
        self.settings = settings
        self.assigner = Assigner(store, views.leads, settings)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._event: Optional[asyncio.Event] = None
        self._thread: Optional[int] = None
        self._stopped = False
        store.on_work = self.wake

    # -- presence -------------------------------------------------------------------------------------
    def presence_json(self, agent: Agent, now: float, counts: Dict[int, int]) -> Dict[str, Any]:
        """An agent's presence as the console shows it: chosen and effective, capacity and load (``counts``:
        assigned tickets per agent, ``assigner.open_counts``)."""
        from console.queueing import iso

        return {"id": agent.id, "username": agent.username, "display_name": agent.display_name,
                "role": agent.role, "teams": sorted(teams_of(agent)),
                "presence": effective_presence(agent.presence, agent.heartbeat_at, now,
                                               self.settings.presence_timeout_seconds, agent.active),
                "chosen_presence": agent.presence, "presence_at": iso(agent.presence_at),
                "capacity": capacity_of(agent.capacity, self.settings.default_capacity),
                "capacity_set": agent.capacity is not None, "open_tickets": counts.get(agent.id, 0)}

    def me(self, agent_id: int) -> Dict[str, Any]:
        with self.store.sessions() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise NotFound("no such agent")
            return self.presence_json(agent, self.store.clock(), open_counts(session, [agent_id]))

    def set_presence(self, agent_id: int, presence: Any) -> Dict[str, Any]:
        """The agent chose ``presence`` in the top bar (also a heartbeat: the choice comes from a live console)."""
        try:
            presence = check_presence(presence)
        except ValueError as error:
            raise BadRequest(str(error)) from None
        now = self.store.clock()
        with self.store.sessions() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                raise NotFound("no such agent")
            if agent.presence != presence:
                agent.presence, agent.presence_at = presence, now
            agent.heartbeat_at = now
            session.commit()
            out = self.presence_json(agent, now, open_counts(session, [agent_id]))
        log.info("agent %s is %s", agent_id, presence)
        self._publish(out)
        if presence == ONLINE:
            self.wake()
        return out

    def heartbeat(self, agent_id: int) -> None:
        """The agent's console is alive (its live stream calls this every ``heartbeat_seconds``). An online agent
        whose console was silent too long is online again: the assigner looks for work for them."""
        try:
            out, online = self._beat(agent_id)
        except SQLAlchemyError as error:  # the stream goes on; the next beat tries again
            log.warning("heartbeat of agent %s not stored: %s", agent_id, type(error).__name__)
            return
        if out is not None:
            self._publish(out)
            if online:
                self.wake()

    def _beat(self, agent_id: int) -> Tuple[Optional[Dict[str, Any]], bool]:
        now = self.store.clock()
        with self.store.sessions() as session:
            agent = session.get(Agent, agent_id)
            if agent is None:
                return None, False
            before = effective_presence(agent.presence, agent.heartbeat_at, now,
                                        self.settings.presence_timeout_seconds, agent.active)
            agent.heartbeat_at = now
            session.commit()
            after = effective_presence(agent.presence, now, now, self.settings.presence_timeout_seconds, agent.active)
            if before == after:
                return None, False
            return self.presence_json(agent, now, open_counts(session, [agent_id])), after == ONLINE

    def session_ended(self, agent_id: int) -> None:
        """A session of the agent ended (logout): offline when it was their last one."""
        now = self.store.clock()
        with self.store.sessions() as session:
            alive = session.scalar(sa.select(sa.func.count()).select_from(SessionRow).where(
                SessionRow.agent_id == agent_id, SessionRow.expires_at > now))
            agent = session.get(Agent, agent_id)
            if alive or agent is None or agent.presence == OFFLINE:
                return
            agent.presence, agent.presence_at = OFFLINE, now
            session.commit()
            out = self.presence_json(agent, now, open_counts(session, [agent_id]))
        self._publish(out)

    def team_presence(self) -> List[Dict[str, Any]]:
        """Every active agent's presence, capacity and load (supervisors: who to reassign to)."""
        now = self.store.clock()
        with self.store.sessions() as session:
            counts = open_counts(session)
            return [self.presence_json(a, now, counts) for a in session.scalars(
                sa.select(Agent).where(Agent.active.is_(True)).order_by(Agent.display_name, Agent.id))]

    def _publish(self, presence: Dict[str, Any]) -> None:
        """``agent.presence`` to the supervisors' consoles and the agent's own (another tab follows the choice)."""
        self.store.hub.publish_to(
            "agent.presence", {"agent": presence},
            lambda viewer: viewer.role == "supervisor" or viewer.agent_id == presence["id"])

    # -- a supervisor's reassignment ------------------------------------------------------------------
    async def reassign(self, supervisor: Agent, ticket_id: int, username: Any, address: str) -> Dict[str, Any]:
        """Give the ticket to the agent named ``username`` (active, in the ticket's team), audited like the other
        administrative changes; the customer hears who joined."""
        if not isinstance(username, str) or not username.strip():
            raise BadRequest("agent is required: the username of the agent to assign the ticket to")
        name = username.strip().lower()[:64]
        store = self.store
        async with store.lock(ticket_id):
            with store.sessions() as session:
                target = session.scalars(sa.select(Agent).where(Agent.username == name)).first()
                if target is None or not target.active:
                    raise BadRequest(f"no active agent {name!r}")
                ticket = store.get(session, ticket_id)
                if ticket.team not in teams_of(target):
                    raise BadRequest(f"{target.display_name} is not in the team of this ticket; transfer it first")
                try:
                    assigned, before = self.assigner.reassign(session, ticket_id, target.id,
                                                              f"agent:{supervisor.username}")
                except ValueError as error:
                    session.rollback()
                    raise Conflict(str(error)) from None
                previous = session.get(Agent, before["assignee_id"]) if before["assignee_id"] else None
                session.add(AdminAudit(
                    at=store.clock(), actor=f"agent:{supervisor.username}"[:128], address=(address or "")[:64],
                    action="ticket.assign", target_kind="ticket", target_id=str(ticket_id),
                    before_json=dumps({"state": before["state"],
                                       "assignee": previous.username if previous is not None else None}),
                    after_json=dumps({"state": State.ASSIGNED.value, "assignee": target.username})))
                session.commit()
        # outside the ticket's lock: the announcement takes it (an agent acting meanwhile sees the new assignee)
        await self.lifecycle.announce_assignment(assigned.ticket_id, assigned.agent_id, assigned.transition_id)
        with store.sessions() as session:
            detail = self.views.detail_json(session, store.get(session, ticket_id))
        if assigned.previous_agent_id is not None:
            self.wake()  # the previous agent has a free place
        return detail

    # -- the loop -------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Look for work now (from any thread)."""
        loop, event = self._loop, self._event
        if loop is None or event is None:
            return
        if threading.get_ident() == self._thread:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    async def pass_once(self) -> List[Assigned]:
        """Assign what can be assigned now and announce each assignment."""
        done = await asyncio.to_thread(self.assigner.assign_waiting)
        for assigned in done:
            try:
                await self.lifecycle.announce_assignment(assigned.ticket_id, assigned.agent_id,
                                                         assigned.transition_id)
            except Exception:  # noqa: BLE001 - the assignment stands; the next announcement must still go out
                log.exception("ticket %s: announcing the assignment failed", assigned.ticket_id)
        return done

    async def run(self) -> None:
        """The background task of a console process (console/app.py)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._event = asyncio.Event()
        self._event.set()  # a first pass at start: tickets that waited while no console ran
        while not self._stopped:
            try:
                await asyncio.wait_for(self._event.wait(), timeout=self.settings.sweep_seconds)
            except asyncio.TimeoutError:
                pass
            self._event.clear()
            if not self.settings.auto:
                continue
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database hiccup: the next sweep tries again
                log.exception("assignment pass failed")

    def stop(self) -> None:
        self._stopped = True
        self.wake()
