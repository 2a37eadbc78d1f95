"""Blueprint ``widget``: what the web widget asks the console besides the history (console/widget/, docs/widget.md).

No login: the widget's session id is the shopper's bearer secret (signed by the socket.io channel,
``KEFU_SESSION_SECRET``); every route checks its signature and reaches only the conversation ``web:<session id>``.
CORS is open without credentials, like the history; the POSTs are "simple" requests (multipart form, or JSON sent
as text/plain), so browsers send no preflight.

- ``GET  /api/public/widget/config?lang=``: the upload limits and the suggested first questions;
- ``POST /api/public/uploads``: a photo or PDF (form fields ``session_id``, ``client_id``, ``language``, ``file``);
- ``GET  /api/public/uploads/<id>?session_id=``: the shopper's own file back (their chat after a reload);
- ``POST /api/public/contact``: the contact left off hours;
- ``GET  /api/public/notices?session_id=``, ``POST /api/public/notices/seen``: agents' replies not seen yet;
- ``POST /api/public/csat-comment``: words after the stars.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, error_json, ok
from console.widget.contacts import ContactError, parse_contact
from console.widget.service import LANGUAGES, WidgetError, WidgetService, in_language, suggestions_from_config
from console.widget.uploads import ACCEPTED, UploadError, UploadSettings, UploadStore, attachment_json
from kernel import session_ids
from kernel.conversation_ids import web_id
from kernel.logs import bind_conversation
from kernel.ratelimit import SlidingWindowRateLimiter

log = logging.getLogger("kefu.console.widget")

PUBLIC_PREFIXES = ("/api/public/",)
#: a served file: its own type, never sniffed, never run, downloaded (PDF) or shown as an image only
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def content_disposition(kind: str, name: str) -> str:
    """``inline`` for a photo, ``attachment`` for a PDF (no browser viewer runs it in the console's origin);
    the name in RFC 5987 form and an ASCII fallback."""
    from urllib.parse import quote

    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name) or "file"
    mode = "inline" if kind == "image" else "attachment"
    return f"{mode}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(data: bytes, mime: str, kind: str, name: str, shopper: bool = False) -> HTTPResponse:
    """A stored file as its sniffed type; ``shopper``: the widget fetches it from the shop's origin (CORS), agents'
    copies stay same-origin."""
    return raw(data, content_type=mime, headers={
        "Content-Disposition": content_disposition(kind, name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": FILE_CSP,
        "Cache-Control": "private, no-store",
        "Cross-Origin-Resource-Policy": "cross-origin" if shopper else "same-origin",
    })


class Shopper:
    """The conversation a public request is about, from its signed session id."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def conversation(self, session_id: Any) -> str:
        if not isinstance(session_id, str) or not session_ids.verify(self.secret, session_id):
            raise ApiError(403, "invalid_session", "this session id was not issued by the chat server; reload the page")
        conversation_id = web_id(session_id)
        bind_conversation(conversation_id)
        return conversation_id


def install(app: Sanic, settings: UploadSettings) -> None:
    """App-wide: requests as large as an upload (each JSON route still limits its own body), and CORS on every
    public answer, errors included (a 413 raised before any route must still reach the widget readably)."""
    from console.web.protocol import INTERNAL_MAX_BODY

    app.config.REQUEST_MAX_SIZE = max(INTERNAL_MAX_BODY, settings.max_bytes) + 64 * 1024

    @app.on_response
    async def _public_cors(request: Request, response: HTTPResponse) -> None:
        if request.path.startswith(PUBLIC_PREFIXES):
            response.headers.setdefault("Access-Control-Allow-Origin", "*")


def blueprint(parts: Parts, settings: UploadSettings) -> Blueprint:
    bp = Blueprint("widget")
    sessions, clock = parts.service.sessions, parts.service.store.clock
    uploads = UploadStore(settings, sessions, parts.rasa, clock)
    widget = WidgetService(sessions, clock)
    shopper = Shopper(getattr(parts.settings, "session_secret", None) or session_ids.secret_from_env())
    per_address = SlidingWindowRateLimiter(limit=120, window_seconds=60.0, max_keys=10000)
    per_conversation = SlidingWindowRateLimiter(limit=settings.rate_limit, window_seconds=settings.rate_window,
                                                max_keys=10000)
    config = parts.settings.config

    async def limit_address(request: Request) -> None:
        address = request.remote_addr or request.ip or "-"
        if not await per_address.allow(address):
            raise ApiError(429, "rate_limited", "too many requests; try again in a minute")

    def language_of(value: Any) -> str:
        return value if isinstance(value, str) and value in LANGUAGES else "zh-Hans"

    def widget_error(error: WidgetError) -> HTTPResponse:
        body: Dict[str, Any] = {"error": error.code, "message": error.message}
        if error.field:
            body["field"] = error.field
        return ok(body, status=error.status)

    @bp.get("/api/public/widget/config")
    async def widget_config(request: Request) -> HTTPResponse:
        await limit_address(request)
        language = language_of(request.args.get("lang"))
        try:
            found = suggestions_from_config(config, entry_titles)
        except ValueError as error:
            log.warning("widget.suggested_questions: %s", error)
            found = []
        questions = [q for q in (in_language(s, language) for s in found) if q]
        return ok({"uploads": {"max_bytes": settings.max_bytes, "accept": list(ACCEPTED),
                               "max_per_conversation": settings.max_per_conversation},
                   "time_zone": config["staffed_hours"].get("timezone") or "Asia/Shanghai",
                   "suggestions": questions})

    @bp.post("/api/public/uploads")
    async def upload(request: Request) -> HTTPResponse:
        await limit_address(request)
        form = request.form or {}
        conversation_id = shopper.conversation(form.get("session_id"))
        language = language_of(form.get("language"))
        client_id = form.get("client_id") or ""
        file = (request.files or {}).get("file")
        if file is None:
            return error_json(400, "no_file", "attach a file in the form field 'file'")
        try:
            found = uploads.existing(conversation_id, client_id) if client_id else None
            if found is None and not await per_conversation.allow(conversation_id):
                raise UploadError(429, "rate_limited", "too many files in a short time; wait a few minutes")
            row, created = uploads.store(conversation_id, client_id, file.name, file.body or b"", language)
        except UploadError as error:
            log.info("upload refused: %s", error.code)
            return error_json(error.status, error.code, error.message)
        delivered = await uploads.deliver(row, language)
        body = {"attachment": attachment_json(row), "text": row.text, "duplicate": not created,
                "delivered": delivered, "timestamp": row.event_at}
        if not delivered:
            body.update(error="rasa_unavailable",
                        message="the file is saved, but the chat service is not reachable; it is sent on the retry")
            return ok(body, status=502)
        return ok(body, status=201 if created else 200)

    @bp.get("/api/public/uploads/<attachment_id:str>")
    async def own_file(request: Request, attachment_id: str) -> HTTPResponse:
        await limit_address(request)
        conversation_id = shopper.conversation(request.args.get("session_id"))
        with sessions() as session:
            row = uploads.find(session, attachment_id)
            if row is None or row.conversation_id != conversation_id:
                raise ApiError(404, "not_found", "no such file in this conversation")
            data = uploads.read(row)
            mime, kind, name = row.mime, row.kind, row.name
        if data is None:
            raise ApiError(404, "not_found", "the file is no longer kept")
        return file_response(data, mime, kind, name, shopper=True)

    @bp.post("/api/public/contact")
    async def contact(request: Request) -> HTTPResponse:
        await limit_address(request)
        body = body_json(request)
        conversation_id = shopper.conversation(body.get("session_id"))
        try:
            parsed = parse_contact(body)
        except ContactError as error:
            return ok({"error": "invalid_contact", "field": error.field, "message": str(error)}, status=400)
        return ok(widget.save_contact(conversation_id, parsed, language_of(body.get("language"))))

    @bp.get("/api/public/notices")
    async def notices(request: Request) -> HTTPResponse:
        await limit_address(request)
        return ok(widget.notices(shopper.conversation(request.args.get("session_id"))))

    @bp.post("/api/public/notices/seen")
    async def seen(request: Request) -> HTTPResponse:
        await limit_address(request)
        body = body_json(request)
        return ok(widget.mark_seen(shopper.conversation(body.get("session_id"))))

    @bp.post("/api/public/csat-comment")
    async def csat_comment(request: Request) -> HTTPResponse:
        await limit_address(request)
        body = body_json(request)
        conversation_id = shopper.conversation(body.get("session_id"))
        try:
            return ok(widget.save_comment(conversation_id, body))
        except WidgetError as error:
            return widget_error(error)

    return bp


def entry_titles() -> Dict[str, Dict[str, str]]:
    """The knowledge base's entries: id -> language -> first question (through its learning API)."""
    from knowledge_base.config import load_config
    from knowledge_base.learning.curation import entry_choices

    return {c.id: dict(c.title) for c in entry_choices(load_config())}
