"""Blueprint ``privacy``: supervisors answer a customer's access and erasure requests and read the audit of them
(docs/privacy.md). Agents are refused: only a supervisor may see or erase
everything about a customer."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.privacy.service import NotFound, Privacy
from console.privacy.subjects import Subject, SubjectError, parse_subject
from console.web.guards import Guards
from console.web.protocol import ApiError, body_json, ok, query_limit


def _subject(body: Dict[str, Any]) -> Subject:
    unknown = sorted(set(body) - {"customer", "conversation", "dry_run"})
    if unknown:
        raise ApiError(400, "bad_request", f"unknown field(s) {', '.join(unknown)}; use customer or conversation")
    try:
        return parse_subject(body.get("customer"), body.get("conversation"))
    except SubjectError as error:
        raise ApiError(400, "bad_request", str(error)) from None


def _actor(request: Request) -> str:
    return f"agent:{request.ctx.agent.username}"


def blueprint(privacy: Privacy, guards: Guards) -> Blueprint:
    bp = Blueprint("privacy")

    @bp.get("/api/privacy/policy")
    @guards.agent(supervisor=True)
    async def policy(_request: Request) -> HTTPResponse:
        return ok(privacy.policy.to_dict())

    @bp.get("/api/privacy/audit")
    @guards.agent(supervisor=True)
    async def audit(request: Request) -> HTTPResponse:
        limit = query_limit(request, 50, 500)
        return ok({"entries": await asyncio.to_thread(privacy.audit_log, limit)})

    @bp.post("/api/privacy/export")
    @guards.agent(supervisor=True)
    async def export(request: Request) -> HTTPResponse:
        body = body_json(request)
        if "dry_run" in body:
            raise ApiError(400, "bad_request", "an export changes nothing: dry_run does not apply")
        subject = _subject(body)
        try:
            return ok(await asyncio.to_thread(privacy.export, subject, _actor(request)))
        except NotFound as error:
            raise ApiError(404, "not_found", str(error)) from None

    @bp.post("/api/privacy/erase")
    @guards.agent(supervisor=True)
    async def erase(request: Request) -> HTTPResponse:
        body = body_json(request)
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ApiError(400, "bad_request", "dry_run must be true or false")
        subject = _subject(body)
        try:
            return ok(await asyncio.to_thread(privacy.erase, subject, _actor(request), dry_run))
        except NotFound as error:
            raise ApiError(404, "not_found", str(error)) from None

    return bp
