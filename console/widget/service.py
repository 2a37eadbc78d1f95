"""The widget's requests to the console, as plain methods over the console database: the contact left off hours,
the agents' replies the shopper has not seen yet (and marking them seen), CSAT comments, the suggested first
questions, and what an agent's ticket view shows of all that."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.models import Agent, Message, Ticket
from console.states import State
from console.widget.contacts import Contact, contact_json, shopper_json
from console.widget.models import AttachmentRow, ContactRow, CsatCommentRow, SeenRow
from console.widget.uploads import attachment_json
from kernel.logs import mask_personal_data
from kernel.text import clean_text

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
MAX_COMMENT = 1000
MAX_SUGGESTIONS = 4
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
OPEN_STATES = (State.QUEUED.value, State.ASSIGNED.value)


class WidgetError(ValueError):
    """A request the console refuses: ``status``, ``code`` and a message for the widget."""

    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class Suggestion:
    text: Dict[str, str]  # language -> the question as the shopper would ask it


def suggestions_from_config(config: Mapping[str, Any], titles: Callable[[], Dict[str, Dict[str, str]]]
                            ) -> List[Suggestion]:
    """``widget.suggested_questions`` of console/config.yml: knowledge-base entry ids (their first question in each
    language, ``titles()`` maps id -> language -> question) or mappings of the three languages; 2-4 kept in order.
    An unknown entry id is skipped (the knowledge base may have dropped it)."""
    raw = (config.get("widget") or {}).get("suggested_questions") or []
    if not isinstance(raw, list):
        raise ValueError("widget.suggested_questions must be a list")
    known: Optional[Dict[str, Dict[str, str]]] = None
    out: List[Suggestion] = []
    for item in raw:
        if isinstance(item, str):
            if known is None:
                known = titles()
            found = known.get(item)
            if found:
                out.append(Suggestion(dict(found)))
        elif isinstance(item, dict):
            texts = {k: str(v).strip() for k, v in item.items() if k in LANGUAGES and str(v or "").strip()}
            if texts:
                out.append(Suggestion(texts))
        else:
            raise ValueError("a suggested question is a knowledge-base entry id or {zh-Hans, zh-Hant, en}")
        if len(out) == MAX_SUGGESTIONS:
            break
    return out


def in_language(suggestion: Suggestion, language: str) -> Optional[str]:
    """The question in ``language``; Traditional falls back to Simplified, anything to the first one there."""
    text = suggestion.text
    if language in text:
        return text[language]
    if language == "zh-Hant" and "zh-Hans" in text:
        from kernel.i18n import to_traditional

        return to_traditional(text["zh-Hans"])
    return text.get("zh-Hans") or text.get("en")


class WidgetService:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], float]) -> None:
        self.sessions = sessions
        self.clock = clock

    # -- contact left off hours -----------------------------------------------------------------------
    def save_contact(self, conversation_id: str, contact: Contact, language: str) -> Dict[str, Any]:
        """Store (or replace) the conversation's contact, on its open ticket when there is one."""
        now = self.clock()
        with self.sessions() as session:
            ticket = self._open_ticket(session, conversation_id)
            row = session.get(ContactRow, conversation_id)
            if row is None:
                row = ContactRow(conversation_id=conversation_id, created_at=now)
                session.add(row)
            row.phone, row.wechat, row.email = contact.phone, contact.wechat, contact.email
            row.language = language if language in LANGUAGES else ""
            row.ticket_id = ticket.id if ticket is not None else row.ticket_id
            row.updated_at = now
            try:
                session.commit()
            except IntegrityError:  # the same form sent twice at once: the other one is stored
                session.rollback()
                return self.contact_for_shopper(conversation_id) or {}
            return {"contact": shopper_json(row), "ticket_id": row.ticket_id}

    def contact_for_shopper(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        with self.sessions() as session:
            return shopper_json(session.get(ContactRow, conversation_id))

    # -- replies the shopper has not seen ---------------------------------------------------------------
    def notices(self, conversation_id: str) -> Dict[str, Any]:
        """Agents' replies in the conversation's tickets after the shopper last had the widget open."""
        with self.sessions() as session:
            seen = session.get(SeenRow, conversation_id)
            replies = self._replies_after(session, conversation_id, seen.seen_at if seen else None)
            agents = {a.id: a.display_name for a in session.scalars(sa.select(Agent))}
            contact = session.get(ContactRow, conversation_id)
        latest = replies[-1] if replies else None
        return {
            "unread": len(replies),
            "latest_at": latest.created_at if latest else None,
            "agent": agents.get(latest.agent_id) if latest is not None and latest.agent_id else None,
            "contact": shopper_json(contact),
        }

    def mark_seen(self, conversation_id: str) -> Dict[str, Any]:
        now = self.clock()
        with self.sessions() as session:
            row = session.get(SeenRow, conversation_id)
            if row is None:
                session.add(SeenRow(conversation_id=conversation_id, seen_at=now, updated_at=now))
            else:
                row.seen_at = max(row.seen_at, now)
                row.updated_at = now
            try:
                session.commit()
            except IntegrityError:  # two tabs at once: one row is enough
                session.rollback()
        return {"seen_at": now}

    @staticmethod
    def _replies_after(session: Session, conversation_id: str, since: Optional[float]) -> List[Message]:
        query = (sa.select(Message).join(Ticket, Ticket.id == Message.ticket_id)
                 .where(Ticket.sender_id == conversation_id, Message.author == "agent")
                 .order_by(Message.created_at, Message.id))
        if since is not None:
            query = query.where(Message.created_at > since)
        return list(session.scalars(query))

    # -- CSAT comments ----------------------------------------------------------------------------------
    def save_comment(self, conversation_id: str, body: Mapping[str, Any]) -> Dict[str, Any]:
        client_id = body.get("client_id")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            raise WidgetError(400, "bad_request", "client_id must be 1-128 characters of [A-Za-z0-9_.:-]")
        kind = body.get("kind") or "agent"
        if kind not in ("agent", "bot"):
            raise WidgetError(400, "bad_request", "kind must be agent or bot")
        rating = body.get("rating")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise WidgetError(400, "bad_request", "rating must be an integer from 1 to 5", "rating")
        comment = body.get("comment")
        if not isinstance(comment, str):
            raise WidgetError(400, "bad_request", "comment must be text", "comment")
        comment = clean_text(comment).strip()
        if not comment:
            raise WidgetError(400, "empty_comment", "the comment is empty", "comment")
        if len(comment) > MAX_COMMENT:
            raise WidgetError(400, "comment_too_long", f"comments are limited to {MAX_COMMENT} characters", "comment")
        ticket_id = body.get("ticket_id")
        with self.sessions() as session:
            existing = session.scalars(sa.select(CsatCommentRow).where(CsatCommentRow.client_id == client_id)).first()
            if existing is not None:
                if existing.conversation_id != conversation_id:
                    raise WidgetError(409, "client_id_reused", "this client_id names another comment")
                return {"id": existing.id, "ticket_id": existing.ticket_id, "duplicate": True}
            ticket = None
            if kind == "agent":
                ticket = self._rated_ticket(session, conversation_id, ticket_id)
                if ticket is None:
                    raise WidgetError(404, "not_found", "this conversation has no closed chat with an agent to comment on")
            row = CsatCommentRow(conversation_id=conversation_id, kind=kind, ticket_id=ticket.id if ticket else None,
                                 rating=rating, comment=comment, client_id=client_id, created_at=self.clock())
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                again = session.scalars(sa.select(CsatCommentRow).where(CsatCommentRow.client_id == client_id)).first()
                if again is None:
                    raise
                return {"id": again.id, "ticket_id": again.ticket_id, "duplicate": True}
            return {"id": row.id, "ticket_id": row.ticket_id, "duplicate": False}

    @staticmethod
    def _rated_ticket(session: Session, conversation_id: str, ticket_id: Any) -> Optional[Ticket]:
        query = sa.select(Ticket).where(Ticket.sender_id == conversation_id, Ticket.state == State.CLOSED.value)
        if isinstance(ticket_id, int) and not isinstance(ticket_id, bool):
            query = query.where(Ticket.id == ticket_id)
        return session.scalars(query.order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(1)).first()

    def comments(self, since: float, limit: int = 50) -> List[Dict[str, Any]]:
        """The latest CSAT comments for the dashboard, personal data masked (phone, e-mail, order numbers)."""
        with self.sessions() as session:
            rows = list(session.scalars(sa.select(CsatCommentRow).where(CsatCommentRow.created_at >= since)
                                        .order_by(CsatCommentRow.created_at.desc()).limit(limit)))
            teams = {t.id: t.team for t in session.scalars(
                sa.select(Ticket).where(Ticket.id.in_([r.ticket_id for r in rows if r.ticket_id])))}
        return [{"id": r.id, "kind": r.kind, "ticket_id": r.ticket_id, "team": teams.get(r.ticket_id or 0),
                 "rating": r.rating, "comment": mask_personal_data(r.comment), "created_at": r.created_at}
                for r in rows]

    # -- an agent's ticket view ---------------------------------------------------------------------------
    def ticket_extras(self, session: Session, ticket: Ticket, whole_contact: bool) -> Dict[str, Any]:
        """What the ticket view adds from the widget: the contact (whole only for the ticket's assigned agent),
        whether the shopper has seen the agents' replies, the CSAT comments, the conversation's attachments."""
        conversation_id = ticket.sender_id
        seen = session.get(SeenRow, conversation_id)
        contact = session.get(ContactRow, conversation_id)
        replies = self._replies_after(session, conversation_id, None)
        unseen = [m for m in replies if seen is None or m.created_at > seen.seen_at]
        comments = session.scalars(sa.select(CsatCommentRow).where(CsatCommentRow.ticket_id == ticket.id)
                                   .order_by(CsatCommentRow.created_at))
        attachments = session.scalars(sa.select(AttachmentRow).where(
            AttachmentRow.conversation_id == conversation_id).order_by(AttachmentRow.created_at))
        return {
            "contact": contact_json(contact, whole_contact),
            "reply_notice": {
                "replies": len(replies),
                "unseen": len(unseen),
                "seen_at": seen.seen_at if seen else None,
                "last_reply_at": replies[-1].created_at if replies else None,
            },
            "csat_comments": [{"rating": c.rating, "comment": c.comment, "created_at": c.created_at}
                              for c in comments],
            "attachments": [{**attachment_json(a), "created_at": a.created_at, "delivered": a.delivered_at is not None}
                            for a in attachments],
        }

    @staticmethod
    def _open_ticket(session: Session, conversation_id: str) -> Optional[Ticket]:
        return session.scalars(sa.select(Ticket).where(Ticket.sender_id == conversation_id,
                                                       Ticket.state.in_(OPEN_STATES))
                               .order_by(Ticket.id.desc()).limit(1)).first()
