"""Blueprint ``admin``: the supervisors' administration API (``/api/admin/...``): agents, teams, canned
responses, the escalation word lists and the audit log (console/admin/service.py does the checked, audited work; docs/console-api.md).

Supervisors only (401 without a session, 403 for agents), the CSRF token on every write, 400 with a message on
bad input, 404 for an unknown target, 409 on a conflict (a taken id, the last supervisor, a team with open
tickets), 413 above 64 KiB. Password hashing runs on the console's scrypt pool, off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.admin.service import Actor, AdminService
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, ok
from kernel.handoff import CATEGORIES

AUDIT_KINDS = ("agent", "team", "canned", "escalation", "ticket")


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be an integer") from None


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("admin")
    admin: AdminService = parts.admin
    supervisor = guards.agent(supervisor=True)

    def actor(request: Request) -> Actor:
        agent = request.ctx.agent
        return Actor(f"agent:{agent.username}", guards.client_ip(request), agent.id)

    async def hashing(call: Callable[[], Any]) -> Any:
        """A change that hashes a password: on the scrypt pool (a login flood must not stall it either)."""
        return await asyncio.get_running_loop().run_in_executor(parts.hasher, call)

    # -- agents -----------------------------------------------------------------------------------------
    @bp.get("/api/admin/agents")
    @supervisor
    async def agents(_request: Request) -> HTTPResponse:
        return ok({"agents": admin.list_agents()})

    @bp.post("/api/admin/agents")
    @supervisor
    async def create_agent(request: Request) -> HTTPResponse:
        data, who = body_json(request), actor(request)
        return ok(await hashing(lambda: admin.create_agent(who, data)), status=201)

    @bp.patch("/api/admin/agents/<username:str>")
    @supervisor
    async def update_agent(request: Request, username: str) -> HTTPResponse:
        changed = admin.update_agent(actor(request), username, body_json(request))
        parts.routing.wake()  # a new capacity or team may give waiting tickets a free place
        return ok(changed)

    @bp.post("/api/admin/agents/<username:str>/password")
    @supervisor
    async def reset_password(request: Request, username: str) -> HTTPResponse:
        data, who = body_json(request), actor(request)
        return ok(await hashing(lambda: admin.reset_password(who, username, data.get("password"))))

    # -- teams ------------------------------------------------------------------------------------------
    @bp.get("/api/admin/teams")
    @supervisor
    async def teams(_request: Request) -> HTTPResponse:
        return ok({"teams": admin.list_teams(), "categories": list(CATEGORIES),
                   "shop_hours": parts.settings.config["staffed_hours"]})

    @bp.post("/api/admin/teams")
    @supervisor
    async def create_team(request: Request) -> HTTPResponse:
        return ok(admin.create_team(actor(request), body_json(request)), status=201)

    @bp.patch("/api/admin/teams/<team_id:str>")
    @supervisor
    async def update_team(request: Request, team_id: str) -> HTTPResponse:
        return ok(admin.update_team(actor(request), team_id, body_json(request)))

    # -- canned responses -------------------------------------------------------------------------------
    @bp.get("/api/admin/canned")
    @supervisor
    async def canned(_request: Request) -> HTTPResponse:
        return ok({"canned": admin.list_canned()})

    @bp.post("/api/admin/canned")
    @supervisor
    async def create_canned(request: Request) -> HTTPResponse:
        return ok(admin.create_canned(actor(request), body_json(request)), status=201)

    @bp.patch("/api/admin/canned/<canned_id:str>")
    @supervisor
    async def update_canned(request: Request, canned_id: str) -> HTTPResponse:
        return ok(admin.update_canned(actor(request), canned_id, body_json(request)))

    @bp.delete("/api/admin/canned/<canned_id:str>")
    @supervisor
    async def delete_canned(request: Request, canned_id: str) -> HTTPResponse:
        body_json(request)
        return ok(admin.delete_canned(actor(request), canned_id))

    # -- escalation word lists (keywords, complaint evidence) ----------------------------------------------
    @bp.get("/api/admin/escalation")
    @supervisor
    async def escalation(_request: Request) -> HTTPResponse:
        return ok(admin.list_escalation())

    @bp.get("/api/admin/escalation/<trigger:str>/<name:str>")
    @supervisor
    async def escalation_list(_request: Request, trigger: str, name: str) -> HTTPResponse:
        return ok(admin.escalation_list(trigger, name))

    @bp.put("/api/admin/escalation/<trigger:str>/<name:str>")
    @supervisor
    async def set_escalation(request: Request, trigger: str, name: str) -> HTTPResponse:
        return ok(admin.set_escalation_words(actor(request), trigger, name, body_json(request)))

    @bp.delete("/api/admin/escalation/<trigger:str>/<name:str>")
    @supervisor
    async def reset_escalation(request: Request, trigger: str, name: str) -> HTTPResponse:
        body_json(request)
        return ok(admin.reset_escalation_words(actor(request), trigger, name))

    # -- the audit log ----------------------------------------------------------------------------------
    @bp.get("/api/admin/audit")
    @supervisor
    async def audit(request: Request) -> HTTPResponse:
        page = _int_arg(request, "page", 1)
        per_page = _int_arg(request, "per_page", 50)
        if page < 1 or not 1 <= per_page <= 200:
            raise ApiError(400, "bad_request", "page must be 1 or more, per_page 1-200")
        kind = request.args.get("kind")
        if kind is not None and kind not in AUDIT_KINDS:
            raise ApiError(400, "bad_request", f"kind must be {', '.join(AUDIT_KINDS[:-1])} or {AUDIT_KINDS[-1]}")
        return ok(admin.audit(page, per_page, [kind] if kind else []))

    return bp
