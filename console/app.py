"""HTTP routes of the console (sanic). API contract: docs/console-api.md.

Login is rate-limited per client IP and per username before any password is hashed (console/ratelimit.py),
and scrypt runs in a small thread pool: a login flood gets 429s and never stalls the event loop that
serves the agents' live streams. A live stream ends when its session ends (logout, expiry) or its agent
is deactivated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

import sqlalchemy as sa
from sanic import Sanic
from sanic.exceptions import NotFound as SanicNotFound
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse, raw, redirect
from sanic.response import json as json_response

from bot.logging_json import bind_conversation
from console import auth, public_history
from console.context import ContextError, parse_context
from console.dashboard import dashboard
from console.events_tail import EventsTail
from console.live import END, Hub
from console.models import Agent, DeadLetter, SessionRow, create_schema, make_engine
from console.prometheus import ConsoleMetrics
from console.rasa_client import RasaClient, RasaUnavailable
from console.ratelimit import LoginLimits
from console.seed import deactivate_demo_accounts, seed_demo_accounts
from console.settings import ROOT, Settings, load_canned
from console.states import InvalidTransition, State
from console.tickets import BadRequest, Forbidden, NotFound, TicketService, viewer_of
from console.unanswered import unanswered_groups

log = logging.getLogger("kefu.console")

STATIC_DIR = ROOT / "console" / "static"
TEMPLATES_DIR = ROOT / "console" / "templates"
WIDGET_FILE = ROOT / "webchat" / "dist" / "kefu-widget.js"
DEMO_FILE = ROOT / "webchat" / "demo" / "index.html"
API_MAX_BODY = 64 * 1024
INTERNAL_MAX_BODY = 1024 * 1024
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'")
SSE_PING_SECONDS = 15.0
JSON_TYPE = "application/json; charset=utf-8"

Handler = Callable[..., Awaitable[HTTPResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_json(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status, dumps=_dumps, content_type=JSON_TYPE)


def _dumps(value: Any, **_: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ok(payload: Any, status: int = 200) -> HTTPResponse:
    return json_response(payload, status=status, dumps=_dumps, content_type=JSON_TYPE)


def body_json(request: Request, limit: int = API_MAX_BODY) -> Dict[str, Any]:
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


def _safe_file(base: Path, relative: str) -> Optional[Path]:
    try:
        path = (base / relative).resolve()
        path.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return path if path.is_file() else None


def _file_response(path: Path, page: bool = False) -> HTTPResponse:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
        content_type += "; charset=utf-8"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    if page:
        headers.update({"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "same-origin",
                        "X-Frame-Options": "DENY"})
    return raw(path.read_bytes(), content_type=content_type, headers=headers)


def create_app(settings: Settings, name: str = "kefu_console") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = INTERNAL_MAX_BODY + 1024
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 1.0
    app.config.RESPONSE_TIMEOUT = 3600
    app.config.KEEP_ALIVE_TIMEOUT = 30

    engine = make_engine(settings.db_url)
    hub = Hub()
    rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    service = TicketService(settings, engine, rasa, hub)
    metrics = ConsoleMetrics(settings.teams)
    tail = EventsTail(settings.events_db_url, service, settings.tail_interval,
                      on_batch=lambda n: metrics.tailed.inc(n), max_tries=settings.tail_max_tries,
                      lag_seconds=settings.tail_lag_seconds, dead_letter_window=settings.dead_letter_window,
                      on_dead_letter=metrics.dead_letters.inc)
    limits = LoginLimits(settings.login_ip_limit, settings.login_user_limit, settings.login_window,
                         settings.redis_url)
    # scrypt off the event loop; two workers: a login flood queues here instead of taking every core
    hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kefu-scrypt")
    canned = load_canned()
    app.ctx.settings, app.ctx.service, app.ctx.tail, app.ctx.hub = settings, service, tail, hub

    @app.before_server_start
    async def _start(app_: Sanic) -> None:
        create_schema(engine)
        hub.bind(asyncio.get_running_loop())
        demo = settings.config.get("demo_accounts") or []
        with service.sessions() as session:
            if settings.demo_accounts:
                created = seed_demo_accounts(session, demo)
                if created:
                    log.info("seeded demo accounts: %s", ", ".join(created))
            else:
                disabled = deactivate_demo_accounts(session, demo)
                if disabled:
                    log.warning("demo accounts deactivated (KEFU_CONSOLE_DEMO_ACCOUNTS is off): %s",
                                ", ".join(disabled))
        auth.dummy_hash()
        tail.load_dead_letter_state()
        app_.add_task(tail.run(), name="events_tail")

    @app.before_server_stop
    async def _stop(app_: Sanic) -> None:
        tail.stop()
        await rasa.close()
        hasher.shutdown(wait=False, cancel_futures=True)

    # -- errors ------------------------------------------------------------------------------------
    @app.exception(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> HTTPResponse:
        return error_json(error.status, error.code, error.message)

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

    # -- auth ----------------------------------------------------------------------------------------
    def client_ip(request: Request) -> str:
        """The peer's IP; behind a trusted proxy, the right-most X-Forwarded-For entry that is not a proxy."""
        peer = request.ip or ""
        if peer not in settings.trusted_proxies:
            return peer
        hops = [h.strip() for h in (request.headers.get("X-Forwarded-For") or "").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in settings.trusted_proxies:
                return hop[:64]
        return peer

    def session_alive(sid: str) -> bool:
        """The session still exists, has not expired, and its agent is active (the live stream's check)."""
        with service.sessions() as session:
            row = session.get(SessionRow, sid)
            if row is None or row.expires_at < time.time():
                return False
            agent = session.get(Agent, row.agent_id)
            return agent is not None and agent.active

    def current(request: Request) -> Optional[tuple]:
        cookie = request.cookies.get(auth.COOKIE_NAME)
        if not cookie or len(cookie) > 200:
            return None
        sid = auth.session_id(settings.secret, cookie)
        request.ctx.session_id = sid
        now = time.time()
        with service.sessions() as session:
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

    def requires_agent(supervisor: bool = False) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
                found = current(request)
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

    def requires_service(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            header = request.headers.get("Authorization") or ""
            token = header[7:] if header.startswith("Bearer ") else ""
            if not auth.same_token(token, settings.service_token):
                raise ApiError(401, "unauthenticated", "a valid service token is required")
            return await handler(request, *args, **kwargs)
        return wrapper

    @app.post("/api/auth/login")
    async def login(request: Request) -> HTTPResponse:
        if not (request.headers.get("content-type") or "").lower().startswith("application/json"):
            raise ApiError(400, "bad_request", "send the credentials as application/json")
        data = body_json(request)
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or len(password) > 256:
            raise ApiError(400, "bad_request", "username and password are required")
        name = username.strip().lower()[:64]
        ip = client_ip(request)
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
        matches = await loop.run_in_executor(hasher, auth.verify_password, password, stored)
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
            payload = {"agent": service.agent_json(agent), "csrf_token": csrf}
        response = ok(payload)
        response.add_cookie(auth.COOKIE_NAME, cookie, path="/", httponly=True, samesite="Strict",
                            secure=settings.secure_cookie, max_age=auth.SESSION_SECONDS)
        log.info("login agent=%s", agent.username)
        return response

    @app.get("/api/auth/me")
    @requires_agent()
    async def me(request: Request) -> HTTPResponse:
        found = current(request)
        assert found is not None
        return ok({"agent": service.agent_json(request.ctx.agent), "csrf_token": found[1]})

    @app.post("/api/auth/logout")
    @requires_agent()
    async def logout(request: Request) -> HTTPResponse:
        cookie = request.cookies.get(auth.COOKIE_NAME) or ""
        sid = auth.session_id(settings.secret, cookie)
        with service.sessions() as session:
            session.execute(sa.delete(SessionRow).where(SessionRow.id == sid))
            session.commit()
        hub.end_session(sid)
        response = ok({"ok": True})
        response.delete_cookie(auth.COOKIE_NAME, path="/")
        return response

    # -- UI API ------------------------------------------------------------------------------------
    @app.get("/api/config")
    @requires_agent()
    async def config(_request: Request) -> HTTPResponse:
        cfg = settings.config
        return ok({"teams": cfg["teams"], "resolutions": cfg["resolutions"], "sla": cfg["sla"],
                   "states": [s.value for s in State if s != State.BOT], "max_message_chars": 4000})

    @app.get("/api/tickets")
    @requires_agent()
    async def tickets(request: Request) -> HTTPResponse:
        try:
            limit = int(request.args.get("limit", 200))
        except ValueError:
            raise ApiError(400, "bad_request", "limit must be an integer") from None
        team = request.args.get("team") or None
        if team is not None and team not in settings.teams:
            raise ApiError(400, "bad_request", f"team must be one of {', '.join(settings.teams)}")
        items = service.list_tickets(request.ctx.agent, request.args.get("state", "open"), team,
                                     request.args.get("mine") in ("1", "true"), limit)
        return ok({"tickets": items})

    @app.get("/api/tickets/<ticket_id:int>")
    @requires_agent()
    async def ticket(request: Request, ticket_id: int) -> HTTPResponse:
        return ok(service.get_detail(request.ctx.agent, ticket_id))

    @app.post("/api/tickets/<ticket_id:int>/claim")
    @requires_agent()
    async def claim(request: Request, ticket_id: int) -> HTTPResponse:
        body_json(request)
        return ok(await service.claim(request.ctx.agent, ticket_id))

    @app.post("/api/tickets/<ticket_id:int>/messages")
    @requires_agent()
    async def reply(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(await service.reply(request.ctx.agent, ticket_id, data.get("text")), status=201)

    @app.post("/api/tickets/<ticket_id:int>/notes")
    @requires_agent()
    async def note(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        return ok(service.add_note(request.ctx.agent, ticket_id, data.get("text")), status=201)

    @app.post("/api/tickets/<ticket_id:int>/transfer")
    @requires_agent()
    async def transfer(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        team = data.get("team")
        if not isinstance(team, str):
            raise ApiError(400, "bad_request", "team is required")
        note_text = data.get("note") if isinstance(data.get("note"), str) and data.get("note").strip() else None
        return ok(await service.transfer(request.ctx.agent, ticket_id, team, note_text))

    @app.post("/api/tickets/<ticket_id:int>/close")
    @requires_agent()
    async def close(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        resolution = data.get("resolution")
        if not isinstance(resolution, str):
            raise ApiError(400, "bad_request", "resolution is required")
        return ok(await service.close(request.ctx.agent, ticket_id, resolution))

    @app.post("/api/tickets/<ticket_id:int>/return")
    @requires_agent()
    async def hand_back(request: Request, ticket_id: int) -> HTTPResponse:
        data = body_json(request)
        note_text = data.get("note") if isinstance(data.get("note"), str) and data.get("note").strip() else None
        return ok(await service.return_to_bot(request.ctx.agent, ticket_id, note_text))

    @app.get("/api/canned")
    @requires_agent()
    async def canned_responses(_request: Request) -> HTTPResponse:
        return ok({"canned": canned})

    @app.get("/api/agents")
    @requires_agent(supervisor=True)
    async def agents(_request: Request) -> HTTPResponse:
        online_ids = hub.online_agent_ids()
        now = time.time()
        window = settings.config["eta"].get("online_window_seconds", 120)
        from console.models import Ticket
        with service.sessions() as session:
            counts = dict(session.execute(sa.select(Ticket.assignee_id, sa.func.count())
                                          .where(Ticket.state == State.ASSIGNED.value).group_by(Ticket.assignee_id)).all())
            out = []
            for agent in session.scalars(sa.select(Agent).order_by(Agent.id)):
                item = service.agent_json(agent)
                item["online"] = agent.id in online_ids or bool(agent.last_seen_at and now - agent.last_seen_at <= window)
                item["open_tickets"] = int(counts.get(agent.id, 0))
                out.append(item)
        return ok({"agents": out})

    @app.get("/api/metrics/dashboard")
    @requires_agent(supervisor=True)
    async def dashboard_metrics(request: Request) -> HTTPResponse:
        try:
            days = int(request.args.get("days", 7))
        except ValueError:
            raise ApiError(400, "bad_request", "days must be an integer") from None
        if not 1 <= days <= 90:
            raise ApiError(400, "bad_request", "days must be between 1 and 90")
        unanswered = await asyncio.to_thread(unanswered_groups, 20, days)
        with service.sessions() as session:
            return ok(dashboard(session, time.time(), days, unanswered))

    @app.get("/api/stream")
    @requires_agent()
    async def stream(request: Request) -> None:
        agent = request.ctx.agent
        sid = request.ctx.session_id
        sub = hub.subscribe(viewer_of(agent), sid)
        response = await request.respond(content_type="text/event-stream; charset=utf-8",
                                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        check_every = min(SSE_PING_SECONDS, settings.stream_check_seconds)
        try:
            await response.send("retry: 2000\n\n")
            await response.send(f"event: hello\ndata: {_dumps({'agent': service.agent_json(agent)})}\n\n")
            last_ping = last_check = time.monotonic()
            while True:
                try:
                    frame = await asyncio.wait_for(sub.queue.get(), timeout=check_every)
                except asyncio.TimeoutError:
                    frame = ""
                now = time.monotonic()
                if frame == END or (now - last_check >= check_every and not session_alive(sid)):
                    # the session ended (logout, expiry) or the agent was deactivated: say so and close
                    await response.send("event: session_ended\ndata: {}\n\n")
                    break
                if now - last_check >= check_every:
                    last_check = now
                if not frame and now - last_ping >= SSE_PING_SECONDS:
                    frame, last_ping = ": ping\n\n", now
                if frame:
                    await response.send(frame)
            await response.eof()
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            hub.unsubscribe(sub)

    # -- internal API (action server) -------------------------------------------------------------
    @app.post("/internal/handoffs")
    @requires_service
    async def handoffs(request: Request) -> HTTPResponse:
        data = body_json(request, INTERNAL_MAX_BODY)
        try:
            ctx = parse_context(data)
        except ContextError as error:
            raise ApiError(400, "bad_request", str(error)) from None
        bind_conversation(ctx.sender_id)
        payload, created, status = service.create(ctx, via="api")
        return ok({**status.to_json(), "ticket_id": payload["id"], "created": created, "state": payload["state"],
                   "team": payload["team"]}, status=201 if created else 200)

    @app.post("/internal/csat")
    @requires_service
    async def csat(request: Request) -> HTTPResponse:
        data = body_json(request)
        sender = data.get("sender_id")
        if not isinstance(sender, str) or not sender:
            raise ApiError(400, "bad_request", "sender_id is required")
        bind_conversation(sender)
        ticket_id = data.get("ticket_id")
        if ticket_id is not None and (isinstance(ticket_id, bool) or not str(ticket_id).isdigit()):
            raise ApiError(400, "bad_request", "ticket_id must be an integer")
        return ok(service.record_csat(sender, data.get("rating"), int(ticket_id) if ticket_id is not None else None))

    @app.get("/internal/queue")
    @requires_service
    async def queue(request: Request) -> HTTPResponse:
        sender = request.args.get("sender_id")
        if not sender:
            raise ApiError(400, "bad_request", "sender_id is required")
        bind_conversation(sender)
        return ok(service.queue_status(sender).to_json())

    # -- health and metrics ------------------------------------------------------------------------
    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        db = "ok"
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as error:
            db = f"error: {type(error).__name__}"
        st = tail.status
        tail_state, reasons = tail.health()
        metrics.tail_degraded.set(1 if tail_state != "ok" else 0)
        if db != "ok":
            reasons = [f"console database: {db}", *reasons]
        body = {"status": "ok" if not reasons else "degraded", "reasons": reasons, "db": db,
                "events_tail": {"status": tail_state, "cursor": st.cursor, "running": st.running, "error": st.error,
                                "behind_seconds": round(time.time() - st.behind_since, 1) if st.behind_since else 0,
                                "dead_letters": st.dead_letters, "last_dead_letter": st.last_dead_letter,
                                "lag_seconds": round(time.time() - st.last_event_at, 1) if st.last_event_at else None}}
        # 503 only when the console cannot serve at all (its database); a lagging tail keeps it in rotation
        return ok(body, status=200 if db == "ok" else 503)

    @app.get("/api/ops/dead-letters")
    @requires_agent(supervisor=True)
    async def dead_letters(request: Request) -> HTTPResponse:
        try:
            limit = max(1, min(500, int(request.args.get("limit", 50))))
        except ValueError:
            raise ApiError(400, "bad_request", "limit must be an integer") from None
        with service.sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(DeadLetter)) or 0
            rows = session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit))
            items = [{"id": r.id, "source": r.source, "event_id": r.event_id, "sender_id": r.sender_id,
                      "error": r.error, "tries": r.tries, "raw": r.raw[:20000],
                      "created_at": datetime.fromtimestamp(r.created_at, timezone.utc).isoformat()} for r in rows]
        return ok({"total": int(total), "dead_letters": items})

    @app.get("/metrics")
    async def prometheus_metrics(_request: Request) -> HTTPResponse:
        with service.sessions() as session:
            body, content_type = metrics.render(session, tail.status.last_event_at)
        return raw(body, content_type=content_type)

    # -- pages and static files ---------------------------------------------------------------------
    def page(name: str, needs_login: bool) -> Handler:
        async def handler(request: Request) -> HTTPResponse:
            if needs_login and current(request) is None:
                return redirect("/login")
            path = _safe_file(TEMPLATES_DIR, name)
            if path is None:
                return error_json(404, "not_found", f"console/templates/{name} is not there yet")
            return _file_response(path, page=True)
        handler.__name__ = f"page_{name.split('.')[0]}"
        return handler

    app.add_route(page("login.html", False), "/login", methods=["GET"])
    app.add_route(page("console.html", True), "/console", methods=["GET"])
    app.add_route(page("dashboard.html", True), "/dashboard", methods=["GET"])

    @app.get("/")
    async def root(_request: Request) -> HTTPResponse:
        return redirect("/console")

    @app.get("/static/<path:path>")
    async def static(_request: Request, path: str) -> HTTPResponse:
        found = _safe_file(STATIC_DIR, path)
        if found is None:
            return error_json(404, "not_found", "no such file")
        return _file_response(found)

    @app.get("/widget/kefu-widget.js")
    async def widget(_request: Request) -> HTTPResponse:
        if not WIDGET_FILE.is_file():
            return error_json(404, "not_found", "the widget is not built yet (webchat/dist/kefu-widget.js)")
        response = _file_response(WIDGET_FILE)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @app.get("/demo")
    async def demo(_request: Request) -> HTTPResponse:
        if not DEMO_FILE.is_file():
            return error_json(404, "not_found", "the demo page is not there yet (webchat/demo/index.html)")
        return _file_response(DEMO_FILE)

    @app.get("/demo/<path:path>")
    async def demo_assets(_request: Request, path: str) -> HTTPResponse:
        found = _safe_file(DEMO_FILE.parent, path)
        if found is None:
            return error_json(404, "not_found", "no such file")
        return _file_response(found)

    # the web widget restores a conversation after a reload (console/public_history.py, docs/widget.md)
    public_history.register(app, settings)
    return app
