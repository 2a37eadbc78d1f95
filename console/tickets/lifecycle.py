"""What agents do to a ticket: claim it, reply, add a note, transfer it to another team, close it, hand it
back to the bot. The states and the moves between them are the table in console/states.py.

Actions that the customer must hear about (claim, reply, transfer, close, hand back) are delivered through
Rasa first and committed after: when Rasa is down the request fails with nothing changed, and the agent
retries. When the customer's channel refuses delivery (WeChat's 48-hour window, an unsubscribed user) the
action still succeeds: the message is stored flagged ``delivery.delivered = false`` with the reason, and the
response says ``delivered: false`` so the agent knows the customer did not get it. Actions on one ticket are
serialised by a per-ticket lock (one console process; a conditional UPDATE guards against a second process
as well).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from console.models import Agent, Message, Note, ReadMark, Ticket, Transition
from console.states import Action, State, next_state
from console.tickets.core import LOGGER, BadRequest, Forbidden, TicketStore, clean_text, dumps
from console.tickets.views import TicketViews, message_json, note_json
from kernel import i18n
from kernel.handoff import event_key
from kernel.rasa_client import DeliveryRefused, RasaClient, RasaUnavailable

log = logging.getLogger(LOGGER)

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was chosen as the victim
# and may simply run again
_TRANSIENT_SQLSTATES = {"40P01", "40001"}


def _transient(error: DBAPIError) -> bool:
    return getattr(error.orig, "pgcode", None) in _TRANSIENT_SQLSTATES


def listen_event(timestamp: float) -> Dict[str, Any]:
    """``action_listen`` after the bot resumes: while paused Rasa logged the customer's messages
    without listening, and its policies only predict for a user turn that follows a listen."""
    return {"event": "action", "name": "action_listen", "timestamp": timestamp + 0.001}


def _delivery(refused: Optional[DeliveryRefused]) -> Dict[str, Any]:
    return {"delivered": refused is None, "delivery": refused.to_json() if refused else None}


class TicketLifecycle:
    def __init__(self, store: TicketStore, views: TicketViews, rasa: RasaClient) -> None:
        self.store = store
        self.views = views
        self.rasa = rasa

    # -- the steps of an action --------------------------------------------------------------------
    # Each action: check (read) -> deliver through Rasa -> apply in a short transaction. Rasa's broker
    # echoes what was delivered and the events tail may store that echo first: the apply step then
    # updates the echoed row (same event identity) instead of inserting, and a lost race is retried.
    # Lock order: every transaction that writes a ticket's messages locks the ticket row first (the
    # apply step through ``store.get(lock=True)``, the tail through ``store.open_ticket(lock=True)``).
    # Without it the tail (INSERT echo, then UPDATE ticket) and an action (UPDATE ticket, then INSERT the
    # same message) deadlocked on PostgreSQL and the agent got a 500. A deadlock or serialisation failure
    # that still happens (another writer) is retried like a lost race.
    def _checked(self, agent: Agent, ticket_id: int, action: Action) -> Ticket:
        with self.store.sessions() as session:
            ticket = self.store.get(session, ticket_id)
            self.store.check_scope(agent, ticket)
            next_state(ticket.state, action)
            return ticket

    def _commit(self, apply: Callable[[Session], Callable[[Session], Any]]) -> Any:
        error: Optional[Exception] = None
        for _attempt in range(3):
            with self.store.sessions() as session:
                try:
                    after = apply(session)
                    session.commit()
                except DBAPIError as caught:
                    if not isinstance(caught, IntegrityError) and not _transient(caught):
                        raise
                    session.rollback()
                    log.warning("ticket transaction retried: %s", type(getattr(caught, "orig", caught)).__name__)
                    error = caught
                    continue
                return after(session)
        raise error if error else RuntimeError("commit failed")

    def _bot_event(self, ticket: Ticket, text: str, kefu_event: Dict[str, Any], agent: Optional[Agent] = None,
                   buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
        data: Dict[str, Any] = {"custom": {"kefu_event": kefu_event}}
        if buttons:
            data["buttons"] = buttons
        metadata: Dict[str, Any] = {"kefu_ticket_id": ticket.id}
        if agent is not None:
            metadata["kefu_agent"] = agent.display_name
        return {"event": "bot", "text": text, "data": data, "metadata": metadata, "timestamp": self.store.clock()}

    @staticmethod
    def _channel(ticket: Ticket) -> str:
        return ticket.channel or "latest"

    def _team_name(self, team: str, language: str) -> str:
        for item in self.store.config["teams"]:
            if item["id"] == team:
                names = item["name"]
                return names.get(language) or names.get("zh-Hans") or team
        return team

    async def _deliver(self, ticket: Ticket, events: List[Dict[str, Any]]) -> Optional[DeliveryRefused]:
        """Append ``events`` through Rasa (delivering the bot messages). A refused delivery is returned, not
        raised, and the action goes on; when Rasa did not save the events (plain Rasa drops them when an
        output channel raises), the state events (resume, slots, listen) are appended again without
        side effects, so the conversation's state still follows the ticket."""
        try:
            await self.rasa.append_events(ticket.sender_id, events, self._channel(ticket))
            return None
        except DeliveryRefused as refused:
            state = [e for e in events if e.get("event") != "bot"]
            if state and not refused.event_saved:
                await self.rasa.append_events(ticket.sender_id, state, self._channel(ticket),
                                              execute_side_effects=False)
            log.warning("ticket %s: message not delivered (errcode %s)", ticket.id, refused.errcode)
            return refused

    def _store_sent(self, session: Session, ticket: Ticket, event: Dict[str, Any], author: str,
                    agent: Optional[Agent], refused: Optional[DeliveryRefused] = None) -> Message:
        key = event_key(ticket.sender_id, "bot", event["timestamp"], event["text"])
        message = session.scalars(sa.select(Message).where(Message.ticket_id == ticket.id,
                                                           Message.event_key == key)).first()
        if message is None:
            message = Message(ticket_id=ticket.id, event_key=key, source="live", created_at=event["timestamp"])
            session.add(message)
        message.author = author
        message.agent_id = agent.id if agent else None
        message.text = event["text"]
        data = dict(event["data"])
        if refused is not None:
            data["delivery"] = refused.to_json()
        message.data_json = dumps(data)
        session.flush()
        return message

    # -- the actions ---------------------------------------------------------------------------------
    async def claim(self, agent: Agent, ticket_id: int) -> Dict[str, Any]:
        store, views = self.store, self.views
        async with store.lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.CLAIM)
            event = self._bot_event(ticket, i18n.text("msg_handoff_agent_joined", ticket.language,
                                                      agent=agent.display_name),
                                    {"type": "agent_joined", "agent": agent.display_name}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.CLAIM)
                from_state = current.state
                current.state, current.assignee_id, current.assigned_at = to_state.value, agent.id, store.clock()
                row = store.record(session, current, from_state, to_state.value, Action.CLAIM.value,
                                   f"agent:{agent.username}")
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (views.announce_ticket(s, current, row),
                                  {**views.detail_json(s, current), **_delivery(refused)})[1]

            return self._commit(apply)

    async def announce_assignment(self, ticket_id: int, agent_id: int, transition_id: int) -> None:
        """After an assignment committed (console/routing: automatic, or a supervisor's): the live event for the
        browsers, then the customer hears who joined, as after a claim. The assignment stands whatever Rasa
        says: a refused or failed delivery is stored on the notice (``delivery.delivered = false``), so the agent
        sees that the customer was not told."""
        store, views = self.store, self.views
        async with store.lock(ticket_id):
            with store.sessions() as session:
                ticket = store.get(session, ticket_id)
                agent = session.get(Agent, agent_id)
                transition = session.get(Transition, transition_id)
                if agent is None or ticket.assignee_id != agent_id:
                    return  # assigned to someone else since: their announcement follows
                views.announce_ticket(session, ticket, transition)
            event = self._bot_event(ticket, i18n.text("msg_handoff_agent_joined", ticket.language,
                                                      agent=agent.display_name),
                                    {"type": "agent_joined", "agent": agent.display_name}, agent)
            failed: Optional[Dict[str, Any]] = None
            try:
                refused = await self._deliver(ticket, [event])
            except RasaUnavailable as error:
                refused = None
                failed = {"delivered": False, "errcode": "rasa_unavailable", "reason": str(error)[:200]}
                log.warning("ticket %s: the assignment notice did not reach Rasa: %s", ticket_id, error)

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                message = self._store_sent(session, current, event, "system", None, refused)
                if failed is not None:
                    data = dict(event["data"], delivery=failed)
                    message.data_json = dumps(data)
                return lambda s: views.announce_message(s, current, message)

            self._commit(apply)

    async def reply(self, agent: Agent, ticket_id: int, text: str) -> Dict[str, Any]:
        store, views = self.store, self.views
        text = clean_text(text)
        async with store.lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.REPLY)
            if ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can reply")
            event = self._bot_event(ticket, text, {"type": "agent_message", "agent": agent.display_name}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                if current.first_response_at is None:
                    current.first_response_at = event["timestamp"]
                current.updated_at = store.clock()
                message = self._store_sent(session, current, event, "agent", agent, refused)

                def after(s: Session) -> Dict[str, Any]:
                    views.announce_message(s, current, message)
                    return {"message": message_json(message, store.agents(s)), **_delivery(refused)}
                return after

            return self._commit(apply)

    def add_note(self, agent: Agent, ticket_id: int, text: str) -> Dict[str, Any]:
        store = self.store
        text = clean_text(text)
        with store.sessions() as session:
            ticket = store.get(session, ticket_id)
            store.check_scope(agent, ticket)
            note = Note(ticket_id=ticket.id, agent_id=agent.id, text=text, created_at=store.clock())
            session.add(note)
            session.commit()
            payload = {"ticket_id": ticket.id, "note": note_json(note, {agent.id: agent})}
            store.hub.publish("note.created", payload, ticket.team, ticket.assignee_id)
            return {"note": payload["note"]}

    def mark_seen(self, agent: Agent, ticket_id: int) -> Dict[str, Any]:
        """The agent has read the ticket up to now: its customer messages stop counting as unread for them."""
        store = self.store
        with store.sessions() as session:
            ticket = store.get(session, ticket_id)
            store.check_scope(agent, ticket)
            now = store.clock()
            mark = session.get(ReadMark, (agent.id, ticket.id))
            if mark is None:
                session.add(ReadMark(agent_id=agent.id, ticket_id=ticket.id, seen_at=now))
            else:
                mark.seen_at = max(mark.seen_at, now)
            try:
                session.commit()
            except IntegrityError:  # the same agent's other tab marked it at the same moment: theirs stands
                session.rollback()
            return {"ticket_id": ticket.id, "unread": 0}

    async def transfer(self, agent: Agent, ticket_id: int, team: str, note: Optional[str]) -> Dict[str, Any]:
        store, views = self.store, self.views
        if team not in store.settings.teams:
            raise BadRequest(f"team must be one of {', '.join(store.settings.teams)}")
        note = clean_text(note) if note else None
        async with store.lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.TRANSFER)
            if team == ticket.team:
                raise BadRequest("the ticket is already in that team")
            team_label = self._team_name(team, ticket.language)  # the customer sees words, never the team id
            event = self._bot_event(ticket, i18n.text("msg_handoff_transferred", ticket.language, team=team_label),
                                    {"type": "transferred", "team": team, "team_label": team_label}, agent)
            refused = await self._deliver(ticket, [event])

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.TRANSFER)
                previous_team, from_state = current.team, current.state
                current.team, current.state, current.assignee_id, current.assigned_at = team, to_state.value, None, None
                row = store.record(session, current, from_state, to_state.value, Action.TRANSFER.value,
                                   f"agent:{agent.username}", {"from_team": previous_team, "to_team": team})
                if note:
                    session.add(Note(ticket_id=current.id, agent_id=agent.id, text=note, created_at=store.clock()))
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (views.announce_ticket(s, current, row, previous_team=previous_team),
                                  {**views.detail_json(s, current), **_delivery(refused)})[1]

            result = self._commit(apply)
            store.wake_assigner()  # a place is free, or the ticket waits in another team
            return result

    async def close(self, agent: Agent, ticket_id: int, resolution: str) -> Dict[str, Any]:
        store, views = self.store, self.views
        if resolution not in store.settings.resolutions:
            raise BadRequest(f"resolution must be one of {', '.join(store.settings.resolutions)}")
        async with store.lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.CLOSE)
            if ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can close it")
            event = self._bot_event(
                ticket, i18n.text("msg_handoff_closed_csat", ticket.language),
                {"type": "handoff_closed", "ticket_id": ticket.id, "csat": True}, agent,
                buttons=i18n.buttons("msg_handoff_closed_csat", ticket.language))
            events = [{"event": "resume", "timestamp": event["timestamp"] - 0.001}, event,
                      {"event": "slot", "name": "csat_ticket", "value": str(ticket.id), "timestamp": event["timestamp"]},
                      listen_event(event["timestamp"])]
            refused = await self._deliver(ticket, events)

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.CLOSE)
                from_state = current.state
                current.state, current.closed_at, current.resolution = to_state.value, store.clock(), resolution
                row = store.record(session, current, from_state, to_state.value, Action.CLOSE.value,
                                   f"agent:{agent.username}", {"resolution": resolution})
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (views.announce_ticket(s, current, row),
                                  {**views.detail_json(s, current), **_delivery(refused)})[1]

            result = self._commit(apply)
            store.wake_assigner()  # a place is free, or the ticket waits in another team
            return result

    async def return_to_bot(self, agent: Agent, ticket_id: int, note: Optional[str]) -> Dict[str, Any]:
        store, views = self.store, self.views
        note = clean_text(note) if note else None
        async with store.lock(ticket_id):
            ticket = self._checked(agent, ticket_id, Action.RETURN)
            if ticket.state == State.ASSIGNED.value and ticket.assignee_id != agent.id and agent.role != "supervisor":
                raise Forbidden("only the agent who claimed this ticket can hand it back")
            event = self._bot_event(ticket, i18n.text("msg_handoff_returned", ticket.language),
                                    {"type": "returned_to_bot"}, agent)
            events = [{"event": "resume", "timestamp": event["timestamp"] - 0.001}, event, listen_event(event["timestamp"])]
            refused = await self._deliver(ticket, events)

            def apply(session: Session) -> Callable[[Session], Any]:
                current = store.get(session, ticket_id, lock=True)
                to_state = next_state(current.state, Action.RETURN)
                from_state, now = current.state, store.clock()
                current.state, current.closed_at = to_state.value, now
                row = store.record(session, current, from_state, to_state.value, Action.RETURN.value,
                                   f"agent:{agent.username}", {"note": note} if note else {})
                if note:
                    session.add(Note(ticket_id=current.id, agent_id=agent.id, text=note, created_at=now))
                self._store_sent(session, current, event, "system", None, refused)
                return lambda s: (views.announce_ticket(s, current, row),
                                  {**views.detail_json(s, current), **_delivery(refused)})[1]

            result = self._commit(apply)
            store.wake_assigner()  # a place is free, or the ticket waits in another team
            return result
