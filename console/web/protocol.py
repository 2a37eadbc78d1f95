"""The API's wire conventions: JSON bodies in and out, the error body ``{"error", "message"}`` for every failure
(the handlers below map each domain error to its status), and the headers every API response carries."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict

from sanic import Sanic
from sanic.exceptions import NotFound as SanicNotFound
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from console.admin.service import AdminError
from console.leads.store import LeadConflict, LeadForbidden, LeadNotFound
from console.states import InvalidTransition
from console.tickets import BadRequest, Forbidden, NotFound
from kernel.leads import LeadError
from kernel.logs import bind_conversation
from kernel.rasa_client import RasaUnavailable

log = logging.getLogger("kefu.console")

API_MAX_BODY = 64 * 1024
INTERNAL_MAX_BODY = 1024 * 1024
JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def dumps(value: Any, **_: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ok(payload: Any, status: int = 200) -> HTTPResponse:
    return json_response(payload, status=status, dumps=dumps, content_type=JSON_TYPE)


def error_json(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status, dumps=dumps, content_type=JSON_TYPE)


def query_limit(request: Request, default: int, most: int) -> int:
    """The ``limit`` query argument, kept within 1..``most``; 400 when it is not an integer."""
    try:
        return max(1, min(most, int(request.args.get("limit", default))))
    except ValueError:
        raise ApiError(400, "bad_request", "limit must be an integer") from None


def body_json(request: Request, limit: int = API_MAX_BODY) -> Dict[str, Any]:
    """The request's JSON object ({} when the body is empty); 413 above ``limit`` bytes, 400 when not an object."""
    body = request.body or b""
    if len(body) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return value


def install(app: Sanic) -> None:
    """The error handlers and the middleware of every route."""

    @app.exception(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> HTTPResponse:
        return error_json(error.status, error.code, error.message)

    @app.exception(AdminError)
    async def _admin_error(_request: Request, error: AdminError) -> HTTPResponse:
        return error_json(error.status, error.code, str(error))

    @app.exception(InvalidTransition)
    async def _transition(_request: Request, error: InvalidTransition) -> HTTPResponse:
        return error_json(409, "invalid_transition", str(error))

    @app.exception(NotFound)
    async def _not_found(_request: Request, error: NotFound) -> HTTPResponse:
        return error_json(404, "not_found", str(error))

    @app.exception(Forbidden)
    async def _forbidden(_request: Request, error: Forbidden) -> HTTPResponse:
        return error_json(403, "forbidden", str(error))

    @app.exception(BadRequest)
    async def _bad(_request: Request, error: BadRequest) -> HTTPResponse:
        return error_json(400, "bad_request", str(error))

    @app.exception(LeadError)
    async def _lead_error(_request: Request, error: LeadError) -> HTTPResponse:
        return error_json(400, "bad_request", str(error))

    @app.exception(LeadNotFound)
    async def _lead_missing(_request: Request, error: LeadNotFound) -> HTTPResponse:
        return error_json(404, "not_found", str(error))

    @app.exception(LeadConflict)
    async def _lead_conflict(_request: Request, error: LeadConflict) -> HTTPResponse:
        return error_json(409, "invalid_transition", str(error))

    @app.exception(LeadForbidden)
    async def _lead_forbidden(_request: Request, error: LeadForbidden) -> HTTPResponse:
        return error_json(403, "forbidden", str(error))

    @app.exception(RasaUnavailable)
    async def _rasa(_request: Request, error: RasaUnavailable) -> HTTPResponse:
        return error_json(502, "rasa_unavailable", f"{error}; nothing was changed, please retry")

    @app.exception(SanicNotFound)
    async def _route_404(_request: Request, _error: Exception) -> HTTPResponse:
        return error_json(404, "not_found", "no such route")

    @app.exception(SanicException)
    async def _sanic(_request: Request, error: SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        code = {405: "method_not_allowed", 413: "too_large"}.get(status, "bad_request" if status < 500 else "error")
        return error_json(status, code, str(error) or code)

    @app.exception(Exception)
    async def _crash(request: Request, error: Exception) -> HTTPResponse:
        log.exception("unhandled error on %s", request.path)
        return error_json(500, "error", "internal error")

    @app.on_request
    async def _no_conversation(_request: Request) -> None:
        # log lines carry a conversation id only once a handler knows it (a keep-alive connection
        # runs its requests in one task, so the previous request's id must not linger)
        bind_conversation(None)

    @app.on_response
    async def _headers(request: Request, response: HTTPResponse) -> None:
        if request.path.startswith(("/api/", "/internal/")):
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
