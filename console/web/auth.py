"""Blueprint ``auth``: log in, who am I, log out (``/api/auth/*``).

Login is rate-limited per client IP and per username before any password is hashed (console/ratelimit.py),
and scrypt runs in a small thread pool: a login flood gets 429s and never stalls the event loop that
serves the agents' live streams.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from console import auth
from console.models import Agent, SessionRow
from console.tickets.views import agent_json
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, error_json, ok

log = logging.getLogger("kefu.console")


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("auth")
    settings, service, limits, metrics = parts.settings, parts.service, parts.limits, parts.metrics

    @bp.post("/api/auth/login")
    async def login(request: Request) -> HTTPResponse:
        if not (request.headers.get("content-type") or "").lower().startswith("application/json"):
            raise ApiError(400, "bad_request", "send the credentials as application/json")
        data = body_json(request)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or len(password) > 256:
            raise ApiError(400, "bad_request", "username and password are required")
        name = username.strip().lower()[:64]
        ip = guards.client_ip(request)
        wait = await asyncio.to_thread(limits.retry_after, ip, name)
        if wait > 0:
            metrics.logins.labels("rate_limited").inc()
            seconds = max(1, int(wait + 0.999))
            log.warning("login rate-limited ip=%s retry_after=%ss", ip, seconds)
            response = error_json(429, "rate_limited", f"too many login attempts; try again in {seconds} seconds")
            response.headers["Retry-After"] = str(seconds)
            return response
        await asyncio.to_thread(limits.attempt, ip)
        with service.sessions() as session:
            agent = session.scalars(sa.select(Agent).where(Agent.username == name)).first()
            # one scrypt whatever the case (unknown user: a dummy hash), off the event loop
            stored = agent.password_hash if agent is not None else auth.dummy_hash()
        loop = asyncio.get_running_loop()
        matches = await loop.run_in_executor(parts.hasher, auth.verify_password, password, stored)
        if not (matches and agent is not None and agent.active):
            await asyncio.to_thread(limits.failed, name)
            metrics.logins.labels("failed").inc()
            raise ApiError(401, "unauthenticated", "wrong username or password")
        await asyncio.to_thread(limits.succeeded, name)
        metrics.logins.labels("ok").inc()
        with service.sessions() as session:
            agent = session.get(Agent, agent.id)
            if agent is None or not agent.active:
                raise ApiError(401, "unauthenticated", "wrong username or password")
            cookie, csrf, now = auth.new_token(), auth.new_token(), time.time()
            session.execute(sa.delete(SessionRow).where(SessionRow.expires_at < now))
            session.add(SessionRow(id=auth.session_id(settings.secret, cookie), agent_id=agent.id, csrf_token=csrf,
                                   created_at=now, expires_at=now + auth.SESSION_SECONDS))
            agent.last_seen_at = now
            session.commit()
            payload = {"agent": agent_json(agent), "csrf_token": csrf}
        response = ok(payload)
        response.add_cookie(auth.COOKIE_NAME, cookie, path="/", httponly=True, samesite="Strict",
                            secure=settings.secure_cookie, max_age=auth.SESSION_SECONDS)
        log.info("login agent=%s", agent.username)
        return response

    @bp.get("/api/auth/me")
    @guards.agent()
    async def me(request: Request) -> HTTPResponse:
        found = guards.current(request)
        assert found is not None
        return ok({"agent": agent_json(request.ctx.agent), "csrf_token": found[1]})

    @bp.post("/api/auth/logout")
    @guards.agent()
    async def logout(request: Request) -> HTTPResponse:
        cookie = request.cookies.get(auth.COOKIE_NAME) or ""
        sid = auth.session_id(settings.secret, cookie)
        with service.sessions() as session:
            session.execute(sa.delete(SessionRow).where(SessionRow.id == sid))
            session.commit()
        parts.hub.end_session(sid)
        parts.routing.session_ended(request.ctx.agent.id)  # offline when it was the agent's last session
        response = ok({"ok": True})
        response.delete_cookie(auth.COOKIE_NAME, path="/")
        return response

    return bp
