"""Keeping the search keys: a new ticket's (from its handoff context), each message's as it arrives, and once,
after the upgrade that brought search, every older ticket's (``backfill``: marked done in ``console_admin_seeds``
so it never runs twice; several console processes starting at once each fill what is missing)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterable, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.admin.models import AdminSeed
from console.models import Message, Ticket
from console.search.keys import context_keys, message_keys
from console.search.models import SearchKey

log = logging.getLogger("kefu.console.search")

BACKFILL_MARK = "search_keys"
BATCH = 500


def _loads(raw: Any) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def add_keys(session: Session, ticket_id: int, keys: Iterable[Tuple[str, str]]) -> int:
    """Add the keys the ticket does not have yet (the caller's transaction)."""
    wanted: Set[Tuple[str, str]] = {(k, v) for k, v in keys if v}
    if not wanted:
        return 0
    have = set(session.execute(sa.select(SearchKey.kind, SearchKey.value).where(SearchKey.ticket_id == ticket_id)).all())
    new = wanted - {(k, v) for k, v in have}
    for kind, value in sorted(new):
        session.add(SearchKey(ticket_id=ticket_id, kind=kind, value=value))
    return len(new)


def index_ticket(session: Session, ticket: Ticket) -> int:
    """A new ticket's keys, from its context and customer."""
    customer = _loads(ticket.customer_json)
    return add_keys(session, ticket.id, context_keys(_loads(ticket.context_json),
                                                     customer if isinstance(customer, dict) else {}))


def index_message(session: Session, ticket_id: int, author: str, text: Any) -> int:
    return add_keys(session, ticket_id, message_keys(author, text))


def _ticket_keys(session: Session, ticket: Ticket) -> Set[Tuple[str, str]]:
    customer = _loads(ticket.customer_json)
    keys = context_keys(_loads(ticket.context_json), customer if isinstance(customer, dict) else {})
    for author, text in session.execute(sa.select(Message.author, Message.text).where(
            Message.ticket_id == ticket.id, Message.source == "live", Message.author.in_(["customer", "bot", "agent"]))):
        keys |= message_keys(author, text)
    return keys


def backfill(sessions: sessionmaker) -> int:
    """The keys of the tickets made before search existed; once per database. Returns the keys added."""
    with sessions() as session:
        if session.get(AdminSeed, BACKFILL_MARK) is not None:
            return 0
    added, after = 0, 0
    while True:
        with sessions() as session:
            tickets = list(session.scalars(sa.select(Ticket).where(Ticket.id > after).order_by(Ticket.id).limit(BATCH)))
            if not tickets:
                break
            after = tickets[-1].id
            try:
                for ticket in tickets:
                    added += add_keys(session, ticket.id, _ticket_keys(session, ticket))
                session.commit()
            except IntegrityError:  # another console process filled the same tickets at the same moment
                session.rollback()
    with sessions() as session:
        session.add(AdminSeed(name=BACKFILL_MARK, at=time.time()))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    if added:
        log.info("search: %d keys of older tickets filled in", added)
    return added
