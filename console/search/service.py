"""The paged search of tickets (``GET /api/search``): one field at a time (console/search/keys.py), open and
closed tickets, newest first, inside the caller's scope (an agent: their teams' tickets and the ones assigned to
them; a supervisor: all), each result the ticket as the queue shows it plus what matched (a text match's
message, cut around the words, with phone numbers and e-mail addresses masked as in the console's logs and
reports)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.models import TicketLink
from console.customers.repeat import links_for
from console.models import Agent, Message, Ticket
from console.search.keys import Query, QueryError, like_pattern, parse_query
from console.search.models import SearchKey
from console.states import FINAL_STATES, OPEN_STATES
from console.tickets.core import BadRequest, TicketStore
from console.tickets.views import TicketViews
from kernel.logs import mask_personal_data

STATES = {"all": [s.value for s in OPEN_STATES | FINAL_STATES], "open": [s.value for s in OPEN_STATES],
          "closed": [s.value for s in FINAL_STATES]}
MAX_PER_PAGE = 50
MAX_PAGE = 1000
SNIPPET = 40
TEXT_AUTHORS = ("customer", "bot", "agent")


def snippet(text: str, needle: str, width: int = SNIPPET) -> str:
    """``text`` around the first place ``needle`` occurs (case-insensitive), masked."""
    at = text.lower().find(needle.lower())
    if at < 0:
        at = 0
    start = max(0, at - width)
    end = min(len(text), at + len(needle) + width)
    cut = text[start:end].replace("\n", " ")
    return mask_personal_data(("…" if start else "") + cut + ("…" if end < len(text) else ""))


class SearchService:
    def __init__(self, store: TicketStore, views: TicketViews) -> None:
        self.store = store
        self.views = views

    def _matching(self, query: Query) -> Any:
        """The condition on ``Ticket`` for ``query``."""
        if query.field == "ticket":
            return Ticket.id == int(query.value)
        if query.field in ("order", "phone", "customer"):
            keyed = sa.select(SearchKey.ticket_id).where(SearchKey.kind == query.field, SearchKey.value == query.value)
            if query.field == "customer":
                linked = sa.select(TicketLink.ticket_id).where(TicketLink.customer_id == query.value)
                return sa.or_(Ticket.id.in_(keyed), Ticket.id.in_(linked))
            return Ticket.id.in_(keyed)
        pattern = like_pattern(query.value)
        in_messages = sa.select(Message.ticket_id).where(Message.author.in_(TEXT_AUTHORS),
                                                         Message.text.ilike(pattern, escape="\\"))
        return sa.or_(Ticket.summary.ilike(pattern, escape="\\"), Ticket.id.in_(in_messages))

    def _match_json(self, session: Session, query: Query, ticket: Ticket) -> Dict[str, Any]:
        if query.field != "text":
            return {"field": query.field, "value": query.value}
        if query.value.lower() in (ticket.summary or "").lower():
            return {"field": "text", "in": "summary", "snippet": snippet(ticket.summary, query.value)}
        message = session.scalars(sa.select(Message).where(
            Message.ticket_id == ticket.id, Message.author.in_(TEXT_AUTHORS),
            Message.text.ilike(like_pattern(query.value), escape="\\")).order_by(Message.created_at, Message.id)
            .limit(1)).first()
        if message is None:
            return {"field": "text", "in": "summary", "snippet": None}
        return {"field": "text", "in": "message", "author": message.author,
                "snippet": snippet(message.text, query.value)}

    def search(self, agent: Agent, q: Any, field: Any = "auto", state: Any = "all", page: int = 1,
               per_page: int = 20) -> Dict[str, Any]:
        try:
            query = parse_query(q, field)
        except QueryError as error:
            raise BadRequest(str(error)) from None
        states: Optional[List[str]] = STATES.get(state) if isinstance(state, str) else None
        if states is None:
            raise BadRequest(f"state must be one of {', '.join(STATES)}")
        if not 1 <= page <= MAX_PAGE:
            raise BadRequest(f"page must be from 1 to {MAX_PAGE}")
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise BadRequest(f"per_page must be from 1 to {MAX_PER_PAGE}")
        where = [Ticket.state.in_(states), self._matching(query)]
        if agent.role != "supervisor":
            teams = [t for t in agent.teams.split(",") if t]
            where.append(sa.or_(Ticket.team.in_(teams), Ticket.assignee_id == agent.id))
        with self.store.sessions() as session:
            total = int(session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(*where)) or 0)
            rows = list(session.scalars(sa.select(Ticket).where(*where)
                                        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                        .offset((page - 1) * per_page).limit(per_page)))
            agents = self.store.agents(session)
            ids = [t.id for t in rows]
            leads = self.views.leads.latest_by_ticket(session, ids)
            links = links_for(session, ids)
            results = [{"ticket": self.views.ticket_json(session, t, agents, leads, links),
                        "match": self._match_json(session, query, t)} for t in rows]
        return {"query": {"q": query.value, "field": query.field, "state": state}, "page": page,
                "per_page": per_page, "total": total, "pages": (total + per_page - 1) // per_page,
                "results": results}
