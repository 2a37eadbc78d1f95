"""Blueprint ``leads``: presales leads (docs/presales.md). Agents edit a lead's card (``PATCH /api/leads/{id}``),
move its quote status (``POST /api/leads/{id}/status``) and export leads as CSV (``GET /api/leads.csv``); the
action server looks up a conversation's leads (``GET /internal/leads``, service token) for the customer's
"where is my quote" question."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from console.leads.export import leads_csv
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, ok
from kernel.leads import STATUSES
from kernel.logs import bind_conversation


def _since(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "bad_request", "since must be a date as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("leads")
    service, leads = parts.service, parts.service.leads

    def changed(ticket_id: Optional[int]) -> None:
        """After a change: the browsers showing the ticket refresh it, the webhook sender looks now."""
        if ticket_id is not None:
            with service.sessions() as session:
                ticket = service.store.get(session, ticket_id)
                service.views.announce_ticket(session, ticket)
        if parts.lead_sender is not None:
            parts.lead_sender.wake()

    @bp.patch("/api/leads/<lead_id:str>")
    @guards.agent()
    async def edit(request: Request, lead_id: str) -> HTTPResponse:
        lead, ticket_id = leads.edit(request.ctx.agent, lead_id, body_json(request))
        changed(ticket_id)
        return ok(lead)

    @bp.post("/api/leads/<lead_id:str>/status")
    @guards.agent()
    async def move(request: Request, lead_id: str) -> HTTPResponse:
        lead, ticket_id = leads.move(request.ctx.agent, lead_id, body_json(request).get("status"))
        changed(ticket_id)
        return ok(lead)

    @bp.get("/api/leads.csv")
    @guards.agent()
    async def export(request: Request) -> HTTPResponse:
        status = request.args.get("status") or None
        if status is not None and status not in STATUSES:
            raise ApiError(400, "bad_request", f"status must be one of {', '.join(STATUSES)}")
        body = leads_csv(leads.export_rows(request.ctx.agent, status, _since(request.args.get("since"))))
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
        return raw(body.encode("utf-8"), content_type="text/csv; charset=utf-8",
                   headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'})

    @bp.get("/internal/leads")
    @guards.service
    async def by_sender(request: Request) -> HTTPResponse:
        sender = request.args.get("sender_id")
        if not sender or len(sender) > 255:
            raise ApiError(400, "bad_request", "sender_id is required")
        bind_conversation(sender)
        return ok({"leads": leads.by_sender(sender)})

    return bp
