"""``GET /api/public/history?session_id=...``: the web widget restores a conversation.

The widget keeps its socket.io session id in the browser's storage; after a
reload, in a new tab or after a network drop it asks this endpoint for the
conversation so far. The console reads Rasa's tracker with its server-side
token (browsers never see it) and returns only what the customer saw: their
own messages, the bot's and the agents' replies.

The session id is the customer's bearer secret: 128 random bits issued and
signed by the socket.io channel (:mod:`kernel.session_ids`). The endpoint
checks the signature (``KEFU_SESSION_SECRET``, the same secret as the Rasa
process) and reads the conversation ``web:<session id>``
(:mod:`kernel.conversation_ids`): a WeChat openid, a REST sender or a
self-chosen id names no widget conversation. Only conversations whose customer
messages all came in through the web widget's channel are served.

Wire it into the console with ``public_history.register(app, settings)``
(``settings`` needs ``rasa_url`` and ``rasa_token``). docs/widget.md describes
the response.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Union
from urllib.parse import quote

import httpx
from sanic import Blueprint, Sanic
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.response import json as json_response

from kernel import session_ids
from kernel.conversation_ids import web_id
from kernel.ratelimit import SlidingWindowRateLimiter

log = logging.getLogger("kefu.console.public_history")

ROUTE = "/api/public/history"
WIDGET_CHANNELS = frozenset({"socketio"})
MAX_MESSAGES = 300
SESSION_ID = re.compile(r"^[A-Za-z0-9_.:\-]{16,128}$")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class HistoryMessage:
    author: str  # "customer" | "bot" | "agent"
    text: str
    timestamp: float
    message_id: Optional[str] = None
    agent: Optional[str] = None
    buttons: Optional[List[Dict[str, str]]] = None
    custom: Optional[Dict[str, Any]] = None
    attachment: Optional[Dict[str, Any]] = None

    def as_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"author": self.author, "text": self.text, "timestamp": self.timestamp}
        for key in ("message_id", "agent", "buttons", "custom", "attachment"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


def valid_session_id(value: Optional[str]) -> bool:
    return bool(value) and bool(SESSION_ID.match(value or ""))


def _buttons(data: Dict[str, Any]) -> Optional[List[Dict[str, str]]]:
    raw = data.get("buttons") or data.get("quick_replies") or []
    buttons = [
        {"title": str(b.get("title", b.get("payload", ""))), "payload": str(b.get("payload", b.get("title", "")))}
        for b in raw
        if isinstance(b, dict)
    ]
    return buttons or None


_ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}$")
_ATTACHMENT_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"})


def _attachment(metadata: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A photo or file the console put into the conversation (``metadata.kefu_attachment``, console/widget/uploads.py;
    the socket.io channel drops a client's own ``kefu_*`` keys), checked field by field."""
    raw = metadata.get("kefu_attachment")
    if not isinstance(raw, dict) or not _ATTACHMENT_ID.match(str(raw.get("id") or "")):
        return None
    if raw.get("kind") not in ("image", "file") or raw.get("mime") not in _ATTACHMENT_MIMES:
        return None
    size = raw.get("size")
    return {"id": raw["id"], "kind": raw["kind"], "mime": raw["mime"], "name": str(raw.get("name") or "")[:128],
            "size": size if isinstance(size, int) and not isinstance(size, bool) else 0}


def widget_conversation(events: Iterable[Dict[str, Any]], channels: Iterable[str] = WIDGET_CHANNELS) -> bool:
    """True when the conversation's customer messages came through the web widget."""
    allowed = set(channels)
    inputs = [e.get("input_channel") for e in events if e.get("event") == "user"]
    return bool(inputs) and all(channel in allowed for channel in inputs)


def history_messages(events: Iterable[Dict[str, Any]], limit: int = MAX_MESSAGES) -> List[HistoryMessage]:
    """What the customer saw, in order, from Rasa tracker events (pure)."""
    out: List[HistoryMessage] = []
    for event in events:
        kind = event.get("event")
        timestamp = float(event.get("timestamp") or 0.0)
        if kind == "user":
            metadata = event.get("metadata") or {}
            text = event.get("text") or ""
            shown = metadata.get("display_text") if isinstance(metadata.get("display_text"), str) else None
            out.append(
                HistoryMessage(
                    "customer",
                    shown or text,
                    timestamp,
                    message_id=metadata.get("message_id") if isinstance(metadata.get("message_id"), str) else None,
                    attachment=_attachment(metadata) if isinstance(metadata, dict) else None,
                )
            )
        elif kind == "bot":
            data = event.get("data") or {}
            custom = data.get("custom") if isinstance(data.get("custom"), dict) else None
            kefu_event = (custom or {}).get("kefu_event") if custom else None
            is_agent = isinstance(kefu_event, dict) and kefu_event.get("type") == "agent_message"
            agent_name = str(kefu_event.get("agent") or "") if is_agent and isinstance(kefu_event, dict) else ""
            text = event.get("text") or ""
            if not text and not custom and not data.get("buttons"):
                continue
            out.append(
                HistoryMessage(
                    "agent" if is_agent else "bot",
                    text,
                    timestamp,
                    agent=agent_name or None,
                    buttons=_buttons(data),
                    custom=custom,
                )
            )
    return out[-limit:]


def public_limiter() -> SlidingWindowRateLimiter:
    """Sliding window per client address (the endpoint is public): 60 requests a minute, 10,000 addresses kept."""
    return SlidingWindowRateLimiter(limit=60, window_seconds=60.0, max_keys=10000)


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return json_response({"error": code, "message": message}, status=status, headers=CORS_HEADERS)


def register(
    app: Union[Sanic, Blueprint],
    settings: Any,
    limiter: Optional[SlidingWindowRateLimiter] = None,
    transport: Optional[httpx.AsyncBaseTransport] = None,
) -> None:
    """Add ``GET /api/public/history`` to the console app or one of its blueprints (no login; CORS open,
    no credentials)."""
    rasa_url = str(settings.rasa_url).rstrip("/")
    secret = getattr(settings, "session_secret", None) or session_ids.secret_from_env()
    rasa_token = getattr(settings, "rasa_token", "") or ""
    limiter = limiter or public_limiter()
    client_holder: Dict[str, httpx.AsyncClient] = {}

    def client() -> httpx.AsyncClient:
        if "client" not in client_holder:
            client_holder["client"] = httpx.AsyncClient(timeout=10.0, transport=transport)
        return client_holder["client"]

    @app.after_server_stop
    async def _close_history_client(_app: Sanic) -> None:
        if "client" in client_holder:
            await client_holder.pop("client").aclose()

    @app.get(ROUTE, name="kefu_public_history")
    async def public_history(request: Request) -> HTTPResponse:
        address = request.remote_addr or request.ip or "-"
        if not await limiter.allow(address):
            return _error(429, "rate_limited", "too many history requests; try again in a minute")
        session_id = request.args.get("session_id")
        if not valid_session_id(session_id):
            return _error(400, "bad_request", "session_id must be 16-128 characters of [A-Za-z0-9_.:-]")
        if not session_ids.verify(secret, session_id):
            # not issued by this server (a forged, legacy or expired-secret id): nothing to show
            log.info("history: session id without a valid signature")
            return json_response(
                {"session_id": session_id, "messages": []}, headers=CORS_HEADERS, dumps=_dumps
            )
        params = {"include_events": "ALL"}
        if rasa_token:
            params["token"] = rasa_token
        url = f"{rasa_url}/conversations/{quote(web_id(session_id or ''), safe=':')}/tracker"
        try:
            response = await client().get(url, params=params)
        except httpx.HTTPError as error:
            log.warning("history: rasa unreachable (%s)", type(error).__name__)
            return _error(502, "rasa_unavailable", "the conversation service is not reachable; retry")
        if response.status_code >= 300:
            log.warning("history: rasa answered %s", response.status_code)
            return _error(502, "rasa_unavailable", f"the conversation service answered {response.status_code}")
        try:
            events = response.json().get("events") or []
        except ValueError:
            return _error(502, "rasa_unavailable", "the conversation service sent malformed data")
        if not widget_conversation(events):
            messages: List[HistoryMessage] = []
        else:
            messages = history_messages(events)
        return json_response(
            {"session_id": session_id, "messages": [m.as_json() for m in messages]},
            headers=CORS_HEADERS,
            dumps=_dumps,
        )


def _dumps(value: Any, **_: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
