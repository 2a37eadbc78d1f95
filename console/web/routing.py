"""Blueprint ``routing``: presence and assignment (console/routing): the agent's own presence (``GET``/``PUT
/api/presence``), who is online with how many tickets (``GET /api/presence/agents``), and a supervisor's
reassignment of a ticket to a named agent (``POST /api/tickets/{id}/assign``, audited)."""

from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.tickets import viewer_of
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import body_json, ok


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("routing")
    routing = parts.routing

    @bp.get("/api/presence")
    @guards.agent()
    async def mine(request: Request) -> HTTPResponse:
        return ok({"presence": routing.me(request.ctx.agent.id), "assignment": routing.settings.to_json()})

    @bp.put("/api/presence")
    @guards.agent()
    async def choose(request: Request) -> HTTPResponse:
        data = body_json(request)
        return ok({"presence": routing.set_presence(request.ctx.agent.id, data.get("presence"))})

    @bp.get("/api/presence/agents")
    @guards.agent()
    async def agents(request: Request) -> HTTPResponse:
        """Supervisors: every active agent; an agent: the colleagues who share a team with them, and themselves."""
        viewer = viewer_of(request.ctx.agent)
        items = routing.team_presence()
        if viewer.role != "supervisor":
            items = [a for a in items if a["id"] == viewer.agent_id or set(a["teams"]) & viewer.teams]
        return ok({"agents": items})

    @bp.post("/api/tickets/<ticket_id:int>/assign")
    @guards.agent(supervisor=True)
    async def assign(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(await routing.reassign(request.ctx.agent, ticket_id, data.get("agent"),
                                         guards.client_ip(request)))

    return bp
