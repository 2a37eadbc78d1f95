"""Blueprint ``widget_agents``: what agents see of the widget's additions (console/widget/, docs/console-ui.md).

- ``GET /api/attachments/<id>``: a shopper's file, for an agent who may see a ticket of that conversation
  (supervisors: any); the sniffed type, ``nosniff``, ``Content-Disposition``, a sandboxing CSP, never cached;
- ``GET /api/widget/tickets/<id>``: the ticket's contact left off hours (whole for the agent the ticket is
  assigned to, masked for everyone else), whether the shopper has seen the replies, CSAT comments, attachments;
- ``GET /api/widget/csat-comments?days=N``: the latest CSAT comments for the dashboard (supervisors).
"""

from __future__ import annotations

import sqlalchemy as sa
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.models import Ticket
from console.tickets import viewer_of
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, ok, query_limit
from console.web.widget import file_response
from console.widget.service import WidgetService
from console.widget.uploads import UploadSettings, UploadStore


def blueprint(parts: Parts, guards: Guards, settings: UploadSettings) -> Blueprint:
    bp = Blueprint("widget_agents")
    sessions, clock, store = parts.service.sessions, parts.service.store.clock, parts.service.store
    uploads = UploadStore(settings, sessions, parts.rasa, clock)
    widget = WidgetService(sessions, clock)

    @bp.get("/api/attachments/<attachment_id:str>")
    @guards.agent()
    async def attachment(request: Request, attachment_id: str) -> HTTPResponse:
        agent = request.ctx.agent
        viewer = viewer_of(agent)
        with sessions() as session:
            row = uploads.find(session, attachment_id)
            if row is None:
                raise ApiError(404, "not_found", "no such file")
            tickets = session.scalars(sa.select(Ticket).where(Ticket.sender_id == row.conversation_id))
            if agent.role != "supervisor" and not any(viewer.may_see(t.team, t.assignee_id) for t in tickets):
                raise ApiError(403, "forbidden", "this file belongs to a conversation of another team")
            data = uploads.read(row)
            mime, kind, name = row.mime, row.kind, row.name
        if data is None:
            raise ApiError(404, "not_found", "the file is no longer kept (erased or past retention)")
        return file_response(data, mime, kind, name)

    @bp.get("/api/widget/tickets/<ticket_id:int>")
    @guards.agent()
    async def ticket_extras(request: Request, ticket_id: int) -> HTTPResponse:
        agent = request.ctx.agent
        with sessions() as session:
            ticket = store.get(session, ticket_id)
            store.check_scope(agent, ticket)
            whole = ticket.assignee_id == agent.id
            return ok(widget.ticket_extras(session, ticket, whole))

    @bp.get("/api/widget/csat-comments")
    @guards.agent(supervisor=True)
    async def csat_comments(request: Request) -> HTTPResponse:
        try:
            days = int(request.args.get("days", 7))
        except ValueError:
            raise ApiError(400, "bad_request", "days must be an integer") from None
        if not 1 <= days <= 366:
            raise ApiError(400, "bad_request", "days must be from 1 to 366")
        limit = query_limit(request, 20, 100)
        return ok({"comments": widget.comments(clock() - days * 86400, limit)})

    return bp
