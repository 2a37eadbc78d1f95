"""Blueprint ``tickets``: the agent UI's API (configuration, canned replies, the ticket list and detail, the
agent actions, the team's agents) and its live stream (``GET /api/stream``, server-sent events).

A live stream ends when its session ends (logout, expiry) or its agent is deactivated.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console.live import END
from console.states import State
from console.tickets import viewer_of
from console.tickets.views import agent_json
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, dumps, ok

SSE_PING_SECONDS = 15.0


def _note(data: Dict[str, Any]) -> Optional[str]:
    note = data.get("note")
    return note if isinstance(note, str) and note.strip() else None


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("tickets")
    settings, views, lifecycle, hub = parts.settings, parts.service.views, parts.service.lifecycle, parts.hub

    @bp.get("/api/config")
    @guards.agent()
    async def config(_request: Request) -> HTTPResponse:
        cfg = settings.config
        return ok({"teams": cfg["teams"], "resolutions": cfg["resolutions"], "sla": cfg["sla"],
                   "states": [s.value for s in State if s != State.BOT], "max_message_chars": 4000})

    @bp.get("/api/canned")
    @guards.agent()
    async def canned_responses(_request: Request) -> HTTPResponse:
        return ok({"canned": parts.service.directory.canned()})

    @bp.get("/api/tickets")
    @guards.agent()
    async def tickets(request: Request) -> HTTPResponse:
        try:
            limit = int(request.args.get("limit", 200))
        except ValueError:
            raise ApiError(400, "bad_request", "limit must be an integer") from None
        team = request.args.get("team") or None
        if team is not None and team not in settings.teams:
            raise ApiError(400, "bad_request", f"team must be one of {', '.join(settings.teams)}")
        items = views.list_tickets(request.ctx.agent, request.args.get("state", "open"), team,
                                   request.args.get("mine") in ("1", "true"), limit)
        return ok({"tickets": items})

    @bp.get("/api/tickets/<ticket_id:int>")
    @guards.agent()
    async def ticket(request: Request, ticket_id: int) -> HTTPResponse:
        return ok(views.get_detail(request.ctx.agent, ticket_id))

    @bp.post("/api/tickets/<ticket_id:int>/seen")
    @guards.agent()
    async def seen(request: Request, ticket_id: int) -> HTTPResponse:
        body_json(request)
        return ok(lifecycle.mark_seen(request.ctx.agent, ticket_id))

    @bp.post("/api/tickets/<ticket_id:int>/claim")
    @guards.agent()
    async def claim(request: Request, ticket_id: int) -> HTTPResponse:
        body_json(request)
        return ok(await lifecycle.claim(request.ctx.agent, ticket_id))

    @bp.post("/api/tickets/<ticket_id:int>/messages")
    @guards.agent()
    async def reply(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(await lifecycle.reply(request.ctx.agent, ticket_id, data.get("text")), status=201)

    @bp.post("/api/tickets/<ticket_id:int>/notes")
    @guards.agent()
    async def note(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(lifecycle.add_note(request.ctx.agent, ticket_id, data.get("text")), status=201)

    @bp.post("/api/tickets/<ticket_id:int>/transfer")
    @guards.agent()
    async def transfer(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        team = data.get("team")
        if not isinstance(team, str):
            raise ApiError(400, "bad_request", "team is required")
        return ok(await lifecycle.transfer(request.ctx.agent, ticket_id, team, _note(data)))

    @bp.post("/api/tickets/<ticket_id:int>/close")
    @guards.agent()
    async def close(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        resolution = data.get("resolution")
        if not isinstance(resolution, str):
            raise ApiError(400, "bad_request", "resolution is required")
        return ok(await lifecycle.close(request.ctx.agent, ticket_id, resolution))

    @bp.post("/api/tickets/<ticket_id:int>/return")
    @guards.agent()
    async def hand_back(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(await lifecycle.return_to_bot(request.ctx.agent, ticket_id, _note(data)))

    @bp.get("/api/agents")
    @guards.agent(supervisor=True)
    async def agents(_request: Request) -> HTTPResponse:
        return ok({"agents": views.agent_list()})

    @bp.get("/api/stream")
    @guards.agent()
    async def stream(request: Request) -> None:
        agent = request.ctx.agent
        sid = request.ctx.session_id
        sub = hub.subscribe(viewer_of(agent), sid)
        response = await request.respond(content_type="text/event-stream; charset=utf-8",
                                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        routing = parts.routing
        check_every = min(SSE_PING_SECONDS, settings.stream_check_seconds, routing.settings.heartbeat_seconds)
        try:
            await response.send("retry: 2000\n\n")
            await response.send(f"event: hello\ndata: {dumps({'agent': agent_json(agent)})}\n\n")
            routing.heartbeat(agent.id)  # the agent's console is alive: their presence holds (console/routing)
            last_ping = last_check = last_beat = time.monotonic()
            while True:
                try:
                    frame = await asyncio.wait_for(sub.queue.get(), timeout=check_every)
                except asyncio.TimeoutError:
                    frame = ""
                now = time.monotonic()
                if frame == END or (now - last_check >= check_every and not guards.session_alive(sid)):
                    # the session ended (logout, expiry) or the agent was deactivated: say so and close
                    await response.send("event: session_ended\ndata: {}\n\n")
                    break
                if now - last_check >= check_every:
                    last_check = now
                if now - last_beat >= routing.settings.heartbeat_seconds:
                    last_beat = now
                    routing.heartbeat(agent.id)
                if not frame and now - last_ping >= SSE_PING_SECONDS:
                    frame, last_ping = ": ping\n\n", now
                if frame:
                    await response.send(frame)
            await response.eof()
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            hub.unsubscribe(sub)

    return bp
