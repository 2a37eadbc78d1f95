"""Blueprint ``learning``: supervisors teach the knowledge base from its unanswered questions (docs/console-api.md,
"Knowledge base"). Every change starts a background rebuild; ``GET /api/kb/learned`` says how it went."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console import learning
from console.web.guards import Guards
from console.web.protocol import ApiError, body_json, ok, query_limit
from knowledge_base.learning.curation import MAX_ROWS, CurationError


def _row_ids(body: Dict[str, Any]) -> List[int]:
    ids = body.get("row_ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_ROWS:
        raise ApiError(400, "bad_request", f"row_ids must be a list of 1 to {MAX_ROWS} question ids")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids):
        raise ApiError(400, "bad_request", "row_ids must be positive integers")
    return ids


def _text(body: Dict[str, Any], key: str, required: bool) -> Any:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise ApiError(400, "bad_request", f"{key} must be a non-empty string of at most 128 characters")
    return value.strip()


async def _call(fn: Any, *args: Any) -> Dict[str, Any]:
    try:
        return await asyncio.to_thread(fn, *args)
    except CurationError as error:
        raise ApiError(learning.STATUS.get(error.code, 400), error.code, str(error)) from None


def blueprint(guards: Guards) -> Blueprint:
    bp = Blueprint("learning")

    @bp.get("/api/kb/entries")
    @guards.agent(supervisor=True)
    async def entry_choices(_request: Request) -> HTTPResponse:
        return ok({"entries": await _call(learning.entries)})

    @bp.post("/api/kb/unanswered/link")
    @guards.agent(supervisor=True)
    async def link(request: Request) -> HTTPResponse:
        body = body_json(request)
        ids, entry_id = _row_ids(body), _text(body, "entry_id", True)
        return ok(await _call(learning.link, ids, entry_id, request.ctx.agent.username))

    @bp.post("/api/kb/unanswered/draft")
    @guards.agent(supervisor=True)
    async def draft(request: Request) -> HTTPResponse:
        body = body_json(request)
        ids = _row_ids(body)
        answer = body.get("answer")
        if not isinstance(answer, dict):
            raise ApiError(400, "bad_request", "answer must be an object {language: text}")
        result = await _call(learning.draft, ids, answer, request.ctx.agent.username,
                             _text(body, "entry_id", False), _text(body, "category", False))
        return ok(result, status=201)

    @bp.post("/api/kb/unanswered/dismiss")
    @guards.agent(supervisor=True)
    async def dismiss(request: Request) -> HTTPResponse:
        ids = _row_ids(body_json(request))
        return ok(await _call(learning.dismiss, ids, request.ctx.agent.username))

    @bp.get("/api/kb/learned")
    @guards.agent(supervisor=True)
    async def learned(request: Request) -> HTTPResponse:
        return ok(await _call(learning.learned, query_limit(request, 200, 1000)))

    @bp.delete("/api/kb/learned/phrasings/<phrasing_id:int>")
    @guards.agent(supervisor=True)
    async def remove_phrasing(_request: Request, phrasing_id: int) -> HTTPResponse:
        return ok(await _call(learning.remove_phrasing, phrasing_id))

    @bp.delete("/api/kb/learned/entries/<entry_id:str>")
    @guards.agent(supervisor=True)
    async def remove_entry(_request: Request, entry_id: str) -> HTTPResponse:
        return ok(await _call(learning.remove_entry, entry_id))

    return bp
