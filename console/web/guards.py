"""Who is asking: the agent behind a session cookie (with CSRF on unsafe methods and the supervisor role when
asked), the action server with its bearer token, and the client's IP behind trusted proxies."""

from __future__ import annotations

import time
from functools import wraps
from typing import Any, Awaitable, Callable, Optional, Tuple

from sanic.request import Request
from sanic.response import HTTPResponse

from console import auth
from console.models import Agent, SessionRow
from console.web.parts import Parts
from console.web.protocol import ApiError
from kernel.netaddr import client_ip

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Handler = Callable[..., Awaitable[HTTPResponse]]


class Guards:
    def __init__(self, parts: Parts) -> None:
        self.settings = parts.settings
        self.sessions = parts.service.sessions

    def client_ip(self, request: Request) -> str:
        """The peer's IP; behind a trusted proxy, the right-most X-Forwarded-For entry that is not a proxy
        (kernel.netaddr: the same rule as the Rasa channels)."""
        peer = request.ip or ""
        return client_ip(peer, request.headers.get("X-Forwarded-For"), self.settings.trusted_proxies) or peer[:64]

    def session_alive(self, sid: str) -> bool:
        """The session still exists, has not expired, and its agent is active (the live stream's check)."""
        with self.sessions() as session:
            row = session.get(SessionRow, sid)
            if row is None or row.expires_at < time.time():
                return False
            agent = session.get(Agent, row.agent_id)
            return agent is not None and agent.active

    def current(self, request: Request) -> Optional[Tuple[Agent, str]]:
        """The agent logged in on this request and the session's CSRF token; None without a valid session."""
        cookie = request.cookies.get(auth.COOKIE_NAME)
        if not cookie or len(cookie) > 200:
            return None
        sid = auth.session_id(self.settings.secret, cookie)
        request.ctx.session_id = sid
        now = time.time()
        with self.sessions() as session:
            row = session.get(SessionRow, sid)
            if row is None or row.expires_at < now:
                return None
            agent = session.get(Agent, row.agent_id)
            if agent is None or not agent.active:
                return None
            if not agent.last_seen_at or now - agent.last_seen_at > 15:
                agent.last_seen_at = now
                session.commit()
            return agent, row.csrf_token

    def agent(self, supervisor: bool = False) -> Callable[[Handler], Handler]:
        """A logged-in agent (``request.ctx.agent``); CSRF token on unsafe methods; supervisors only if asked."""
        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
                found = self.current(request)
                if found is None:
                    raise ApiError(401, "unauthenticated", "log in first")
                agent, csrf = found
                if request.method in UNSAFE_METHODS and not auth.same_token(request.headers.get(auth.CSRF_HEADER), csrf):
                    raise ApiError(403, "csrf", f"missing or wrong {auth.CSRF_HEADER} header")
                if supervisor and agent.role != "supervisor":
                    raise ApiError(403, "forbidden", "supervisors only")
                request.ctx.agent = agent
                return await handler(request, *args, **kwargs)
            return wrapper
        return decorate

    def service(self, handler: Handler) -> Handler:
        """The action server, with ``Authorization: Bearer <KEFU_CONSOLE_SERVICE_TOKEN>``."""
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            header = request.headers.get("Authorization") or ""
            token = header[7:] if header.startswith("Bearer ") else ""
            if not auth.same_token(token, self.settings.service_token):
                raise ApiError(401, "unauthenticated", "a valid service token is required")
            return await handler(request, *args, **kwargs)
        return wrapper
