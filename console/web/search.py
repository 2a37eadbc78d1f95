"""Blueprint ``search``: ``GET /api/search``, tickets by order number, phone suffix, customer id, ticket number or
free text, open and closed, paged, in the caller's scope (console/search/service.py)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.search.service import SearchService
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, ok


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 6 or not raw.isdigit():
        raise ApiError(400, "bad_request", f"{name} must be a positive whole number")
    return int(raw)


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("search")
    search = SearchService(parts.service.store, parts.service.views)

    @bp.get("/api/search")
    @guards.agent()
    async def find(request: Request) -> HTTPResponse:
        return ok(search.search(request.ctx.agent, request.args.get("q"), request.args.get("field") or "auto",
                                request.args.get("state") or "all", _int_arg(request, "page", 1),
                                _int_arg(request, "per_page", 20)))

    return bp
