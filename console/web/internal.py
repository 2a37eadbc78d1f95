"""Blueprint ``internal``: the action server's API (``/internal/*``, bearer service token): open a handoff
ticket, record a CSAT rating, ask for the customer's place in the queue, read the escalation word lists the
supervisors saved (actions/escalation_words.py)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import INTERNAL_MAX_BODY, ApiError, body_json, ok
from kernel.handoff import ContextError, parse_context
from kernel.logs import bind_conversation


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("internal")
    views, ingest = parts.service.views, parts.service.ingest

    @bp.post("/internal/handoffs")
    @guards.service
    async def handoffs(request: Request) -> HTTPResponse:
        data = body_json(request, INTERNAL_MAX_BODY)
        try:
            ctx = parse_context(data)
        except ContextError as error:
            raise ApiError(400, "bad_request", str(error)) from None
        bind_conversation(ctx.sender_id)
        payload, created, status = ingest.create(ctx, via="api")
        if ctx.lead is not None and parts.lead_sender is not None:
            parts.lead_sender.wake()  # its lead.created event is in the outbox
        return ok({**status.to_json(), "ticket_id": payload["id"], "created": created, "state": payload["state"],
                   "team": payload["team"]}, status=201 if created else 200)

    @bp.post("/internal/csat")
    @guards.service
    async def csat(request: Request) -> HTTPResponse:
        data = body_json(request)
        sender = data.get("sender_id")
        if not isinstance(sender, str) or not sender:
            raise ApiError(400, "bad_request", "sender_id is required")
        bind_conversation(sender)
        ticket_id = data.get("ticket_id")
        if ticket_id is not None and (isinstance(ticket_id, bool) or not str(ticket_id).isdigit()):
            raise ApiError(400, "bad_request", "ticket_id must be an integer")
        return ok(ingest.record_csat(sender, data.get("rating"), int(ticket_id) if ticket_id is not None else None))

    @bp.get("/internal/queue")
    @guards.service
    async def queue(request: Request) -> HTTPResponse:
        sender = request.args.get("sender_id")
        if not sender:
            raise ApiError(400, "bad_request", "sender_id is required")
        bind_conversation(sender)
        return ok(views.queue_status(sender).to_json())

    @bp.get("/internal/escalation-words")
    @guards.service
    async def escalation_words(_request: Request) -> HTTPResponse:
        return ok(parts.admin.escalation_overrides())

    return bp
