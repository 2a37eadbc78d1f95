"""Blueprint ``customers``: one customer across channels (docs/console-api.md, "Customers"). Agents read what the
console knows of a verified customer (``GET /api/customers/{customer_id}``: earlier tickets with outcome and
CSAT, conversations on every channel, open leads, recent orders) and one of their conversations read-only
(``GET /api/customers/{customer_id}/transcript?sender_id=...``, from Rasa's tracker)."""

from __future__ import annotations

from typing import Dict

import httpx
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from console.customers.history import MAX_TICKETS, history, known, owns_conversation
from console.customers.record import MAX_SENDER_ID, valid_customer_id
from console.customers.transcript import TranscriptUnavailable, read_transcript
from console.tickets.core import viewer_of
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, ok
from kernel.logs import bind_conversation

TRANSCRIPT_TIMEOUT = 10.0


def _customer_id(raw: str) -> str:
    customer_id = valid_customer_id(raw)
    if customer_id is None:
        raise ApiError(400, "bad_request", "customer_id must be 1-64 letters, digits or _ . : - (starting with a "
                                           "letter or digit)")
    return customer_id


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("customers")
    sessions = parts.service.sessions
    holder: Dict[str, httpx.AsyncClient] = {}

    def client() -> httpx.AsyncClient:
        if "client" not in holder:
            holder["client"] = httpx.AsyncClient(timeout=TRANSCRIPT_TIMEOUT)
        return holder["client"]

    @bp.after_server_stop
    async def _close(_app: Sanic) -> None:
        if "client" in holder:
            await holder.pop("client").aclose()

    @bp.get("/api/customers/<customer_id:str>")
    @guards.agent()
    async def customer(request: Request, customer_id: str) -> HTTPResponse:
        customer_id = _customer_id(customer_id)
        with sessions() as session:
            if not known(session, customer_id):
                raise ApiError(404, "not_found", f"no customer {customer_id} in the console")
            out = history(session, viewer_of(request.ctx.agent), customer_id)
        out["limits"] = {"tickets": MAX_TICKETS}
        return ok(out)

    @bp.get("/api/customers/<customer_id:str>/transcript")
    @guards.agent()
    async def transcript(request: Request, customer_id: str) -> HTTPResponse:
        customer_id = _customer_id(customer_id)
        sender_id = request.args.get("sender_id")
        if not sender_id or len(sender_id) > MAX_SENDER_ID or any(ord(c) < 32 for c in sender_id):
            raise ApiError(400, "bad_request", f"sender_id is required (at most {MAX_SENDER_ID} characters)")
        with sessions() as session:
            if not owns_conversation(session, customer_id, sender_id):
                raise ApiError(404, "not_found", "this conversation is not one of this customer's")
        bind_conversation(sender_id)
        settings = parts.settings
        try:
            messages = await read_transcript(client(), settings.rasa_url, settings.rasa_token, sender_id)
        except TranscriptUnavailable as error:
            raise ApiError(502, "rasa_unavailable", f"the conversation cannot be read now: {error}") from None
        return ok({"customer_id": customer_id, "sender_id": sender_id, "messages": messages})

    return bp
