"""Kefu's socket.io channel: the web widget's connection to Rasa.

A sibling of Rasa's own ``rasa/core/channels/socketio.py`` that speaks the same
events (``session_request``/``session_confirm``, ``user_uttered``/``bot_uttered``),
so Rasa's widgets work against it and Kefu's widget works against plain Rasa.
What it adds:

- **one ``bot_uttered`` per bot message**: text, buttons, custom payload and
  metadata travel together instead of as separate emits;
- **server-issued session ids**: ``session_request`` resumes a session only
  when its id carries the server's signature (:mod:`kernel.session_ids`,
  ``KEFU_SESSION_SECRET``); no id, a malformed, forged or badly signed id gets
  a fresh one. The client stores and reuses the id ``session_confirm`` names;
- **channel-scoped conversations**: the conversation id (and socket.io room)
  is ``web:<session id>`` (:mod:`kernel.conversation_ids`); every tab of a
  session, and any output for the conversation (agent replies appended through
  Rasa's HTTP API with ``?output_channel=socketio&execute_side_effects=true``,
  whose recipient is ``web:<session id>``), reaches the browser;
- **client message ids** (``metadata.message_id``) are processed once per
  session; ``user_uttered_ack`` ``{message_id, duplicate}`` goes to the
  session's room *after* the turn was processed, so the client keeps the
  message in its outgoing queue until then; a turn that fails gets a
  ``processing_failed`` error and no ack; a resend of a message whose turn is
  still running is not processed again (its ack follows when the turn ends);
- **metadata passthrough** (``kefu_user_token``, ``language``, ``message_id``)
  into ``tracker.latest_message["metadata"]``; other client-supplied
  ``kefu_*`` keys are dropped and ``kefu_client_ip`` is set (``X-Forwarded-For``
  only from ``KEFU_TRUSTED_PROXIES``);
- **clean input**: NUL, control characters and lone surrogates are removed
  (:func:`kernel.text.clean_text`); nothing left → ``kefu_error`` ``empty_message``;
- a **message size limit** and a **per-session rate limit**, answered with a
  ``kefu_error`` event ``{code, message_id, detail}``; nothing raises;
- ``bot_typing`` ``{typing: true|false}`` around each turn, and ``kefu_session``
  ``{session_id, features}`` just before ``session_confirm`` so Kefu's widget
  knows it may rely on acks (with plain Rasa it sends each message once);
- optional **python-socketio Redis manager** (``redis_url``) so that any
  replica can reach any browser; de-duplication and rate limits then live in
  Redis too (rate limits in ``KEFU_RATE_LIMIT_REDIS_URL`` instead when that is
  set; settings, limiters and Redis clients are built as in every channel:
  ``bot.channels.limits``, :mod:`kernel.ratelimit`, :mod:`kernel.state`). In-process by default.

credentials.yml::

    bot.channels.socketio.KefuSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      # redis_url: redis://127.0.0.1:6379/2   (or env KEFU_SOCKETIO_REDIS_URL)
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Protocol,
    Union,
)

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.limits import limit_settings, server_metadata, trusted_proxies
from kernel import session_ids
from kernel.config_values import int_setting, setting
from kernel.conversation_ids import split, web_id
from kernel.logs import conversation, mask_id
from kernel.netaddr import client_ip
from kernel.ratelimit import RateLimiter, shared_or
from kernel.ratelimit import rate_limiter as make_rate_limiter
from kernel.state import redis_client
from kernel.text import clean_text

logger = logging.getLogger(__name__)

CHANNEL_NAME = "socketio"
ACK_EVENT = "user_uttered_ack"
ERROR_EVENT = "kefu_error"
TYPING_EVENT = "bot_typing"
SESSION_EVENT = "kefu_session"
FEATURES = ["ack", "dedup", "typing", "combined_messages", "server_session"]

DEFAULT_MAX_MESSAGE_CHARS = 2000
DEFAULT_MAX_METADATA_BYTES = 4096
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
DEFAULT_DEDUP_TTL_SECONDS = 24 * 3600
#: How long a message whose turn is running blocks its resends; a crashed turn frees it after this.
DEFAULT_PENDING_TTL_SECONDS = 120
NEW, PENDING, DONE = "new", "pending", "done"

#: Session ids are bearer secrets (the history endpoint trusts them): at least 16 characters.
_SESSION_ID = re.compile(r"^[A-Za-z0-9_.:\-]{16,128}$")
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
#: Keys of Rasa's bot message dict that become top-level fields of the combined emit.
_CONTENT_KEYS = ("text", "buttons", "quick_replies", "custom", "image", "attachment", "elements")


# --------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingMessage:
    """A validated ``user_uttered`` payload."""

    text: str
    session_id: Optional[str]
    message_id: Optional[str]
    metadata: Dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    """Why a ``user_uttered`` payload was refused; sent to the client as ``kefu_error``."""

    code: str
    detail: str
    message_id: Optional[str] = None

    def as_event(self) -> Dict[str, Any]:
        return {"code": self.code, "detail": self.detail, "message_id": self.message_id}


def valid_session_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def parse_user_message(
    data: Any,
    metadata_key: str = "metadata",
    max_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
) -> Union[IncomingMessage, Rejection]:
    """Validate a ``user_uttered`` payload: shape, size, metadata, ids."""
    if not isinstance(data, dict):
        return Rejection("invalid_payload", "user_uttered expects an object {message, session_id, metadata}")
    raw_metadata = data.get(metadata_key)
    if raw_metadata is None:
        raw_metadata = {}
    if isinstance(raw_metadata, str):
        try:
            raw_metadata = json.loads(raw_metadata) if raw_metadata.strip() else {}
        except ValueError:
            return Rejection("invalid_payload", "metadata is not valid JSON")
    if not isinstance(raw_metadata, dict):
        return Rejection("invalid_payload", "metadata must be an object")
    message_id = raw_metadata.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and _MESSAGE_ID.match(message_id)):
        return Rejection("invalid_payload", "metadata.message_id must be 1-128 characters of [A-Za-z0-9_.:-]")
    try:
        metadata_size = len(json.dumps(raw_metadata, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return Rejection("invalid_payload", "metadata must be plain JSON", message_id)
    if metadata_size > max_metadata_bytes:
        return Rejection("metadata_too_large", f"metadata is limited to {max_metadata_bytes} bytes", message_id)
    text = data.get("message", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        return Rejection("invalid_payload", "message must be a string", message_id)
    if len(text) > max_chars:
        return Rejection("message_too_long", f"messages are limited to {max_chars} characters", message_id)
    if not text.strip():
        return Rejection("empty_message", "the message is empty", message_id)
    text = clean_text(text)
    if not text.strip():
        return Rejection(
            "empty_message", "the message is empty once NUL and control characters are removed", message_id
        )
    session_id = data.get("session_id") or None
    if session_id is not None and not valid_session_id(session_id):
        return Rejection("invalid_session", "session_id must be 16-128 characters of [A-Za-z0-9_.:-]", message_id)
    return IncomingMessage(text=text, session_id=session_id, message_id=message_id, metadata=dict(raw_metadata))


def bot_payload(message: Dict[str, Any]) -> Dict[str, Any]:
    """One combined ``bot_uttered`` payload from Rasa's bot message dict.

    ``BotUttered.message()`` merges the event's data and metadata into one dict;
    the content keys stay at the top level (as in Rasa's own emits, so Rasa's
    widgets still understand them), everything else goes under ``metadata``.
    Buttons are also given as Rasa-style ``quick_replies``.
    """
    payload: Dict[str, Any] = {}
    extra: Dict[str, Any] = {}
    for key, value in message.items():
        if key in _CONTENT_KEYS:
            if value not in (None, "", [], {}):
                payload[key] = value
        elif key == "timestamp":
            if value is not None:
                payload["timestamp"] = value
        elif key == "metadata" and isinstance(value, dict):
            extra.update(value)
        elif value is not None:
            extra[key] = value
    buttons = payload.get("buttons") or payload.get("quick_replies")
    if buttons:
        normalised = [
            {"title": str(b.get("title", b.get("payload", ""))), "payload": str(b.get("payload", b.get("title", "")))}
            for b in buttons
            if isinstance(b, dict)
        ]
        payload["buttons"] = normalised
        payload["quick_replies"] = [{"content_type": "text", **b} for b in normalised]
    if extra:
        payload["metadata"] = extra
    if "timestamp" not in payload:
        payload["timestamp"] = time.time()
    payload["id"] = message_key(payload)
    return payload


def message_key(payload: Dict[str, Any]) -> str:
    """A stable id of a bot message: the tracker event's timestamp.

    The history endpoint returns the same timestamp for the stored event, so a
    client merging live messages with restored history can drop doubles.
    """
    return f"bot-{float(payload.get('timestamp', 0.0)):.6f}"


# --------------------------------------------------------------------------
# State behind small interfaces: in-process by default, Redis when configured
# --------------------------------------------------------------------------


class MessageLedger(Protocol):
    async def claim(self, session_id: str, message_id: str) -> str:
        """``"new"`` (recorded as pending now), ``"pending"`` (its turn is running) or ``"done"``."""

    async def complete(self, session_id: str, message_id: str) -> None:
        """The message's turn was processed: resends are duplicates from now on."""

    async def forget(self, session_id: str, message_id: str) -> None:
        """Drop the id (the message was refused or failed and may be resent)."""


@dataclass
class InMemoryMessageLedger:
    per_session: int = 500
    max_sessions: int = 20000
    pending_ttl_seconds: float = DEFAULT_PENDING_TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _seen: OrderedDict[str, OrderedDict[str, tuple]] = field(default_factory=OrderedDict)

    def _ids(self, session_id: str) -> OrderedDict[str, tuple]:
        ids = self._seen.get(session_id)
        if ids is None:
            ids = OrderedDict()
            self._seen[session_id] = ids
            while len(self._seen) > self.max_sessions:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(session_id)
        return ids

    async def claim(self, session_id: str, message_id: str) -> str:
        ids = self._ids(session_id)
        now = self.clock()
        known = ids.get(message_id)
        if known is not None and (known[0] == DONE or now - known[1] < self.pending_ttl_seconds):
            return known[0]
        ids[message_id] = (PENDING, now)
        while len(ids) > self.per_session:
            ids.popitem(last=False)
        return NEW

    async def complete(self, session_id: str, message_id: str) -> None:
        self._ids(session_id)[message_id] = (DONE, self.clock())

    async def forget(self, session_id: str, message_id: str) -> None:
        ids = self._seen.get(session_id)
        if ids is not None:
            ids.pop(message_id, None)


class RedisMessageLedger:
    """``SET key pending NX EX pending_ttl`` per (session, message id), ``done`` once processed:
    shared by all replicas."""

    def __init__(
        self,
        client: Any,
        ttl_seconds: int = DEFAULT_DEDUP_TTL_SECONDS,
        prefix: str = "kefu:sio",
        pending_ttl_seconds: int = DEFAULT_PENDING_TTL_SECONDS,
    ) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.pending_ttl_seconds = pending_ttl_seconds
        self.prefix = prefix

    def _key(self, session_id: str, message_id: str) -> str:
        return f"{self.prefix}:msg:{session_id}:{message_id}"

    async def claim(self, session_id: str, message_id: str) -> str:
        key = self._key(session_id, message_id)
        try:
            for _ in range(2):
                if await self.client.set(key, PENDING, nx=True, ex=self.pending_ttl_seconds):
                    return NEW
                state = await self.client.get(key)
                if state is not None:
                    return DONE if state in (DONE, DONE.encode()) else PENDING
            return PENDING
        except Exception as error:  # Redis down: processing the message beats dropping it
            logger.warning("socketio.dedup_unavailable session=%s error=%s", mask_id(session_id), error)
            return NEW

    async def complete(self, session_id: str, message_id: str) -> None:
        try:
            await self.client.set(self._key(session_id, message_id), DONE, ex=self.ttl_seconds)
        except Exception as error:
            logger.warning("socketio.dedup_unavailable session=%s error=%s", mask_id(session_id), error)

    async def forget(self, session_id: str, message_id: str) -> None:
        try:
            await self.client.delete(self._key(session_id, message_id))
        except Exception as error:
            logger.warning("socketio.dedup_unavailable session=%s error=%s", mask_id(session_id), error)


# --------------------------------------------------------------------------
# Output channel
# --------------------------------------------------------------------------


def room_of(conversation_id: str) -> str:
    """The socket.io room of a conversation: ``web:<session id>``.

    A legacy (unprefixed) conversation id is a widget session from before the scoping; its room
    is the scoped one too.
    """
    prefix, _ = split(conversation_id)
    return conversation_id if prefix is not None else web_id(conversation_id)


class KefuSocketIOOutput(OutputChannel):
    """Emits one combined ``bot_uttered`` per bot message to the session's room."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    def __init__(self, sio: AsyncServer, bot_message_evt: str = "bot_uttered", namespace: Optional[str] = None):
        self.sio = sio
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace

    async def _emit(self, recipient_id: str, message: Dict[str, Any]) -> None:
        payload = bot_payload(message)
        await self.sio.emit(self.bot_message_evt, payload, room=room_of(recipient_id), namespace=self.namespace)
        logger.debug("socketio.bot_uttered session=%s id=%s", mask_id(recipient_id), payload["id"])

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        await self._emit(recipient_id, dict(message))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {**kwargs, "text": text})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {**kwargs, "image": image})

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:  # type: ignore[override]
        await self._emit(recipient_id, {**kwargs, "attachment": attachment})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {**kwargs, "text": text, "buttons": buttons})

    async def send_quick_replies(
        self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._emit(recipient_id, {**kwargs, "text": text, "buttons": quick_replies})

    async def send_elements(self, recipient_id: str, elements: Iterable[Dict[str, Any]], **kwargs: Any) -> None:
        await self._emit(recipient_id, {**kwargs, "elements": list(elements)})

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        await self._emit(recipient_id, {**kwargs, "custom": json_message})


# --------------------------------------------------------------------------
# Input channel
# --------------------------------------------------------------------------


class _SocketBlueprint(Blueprint):
    """Attaches the socket.io server to the Sanic app when the blueprint registers."""

    def __init__(self, sio: AsyncServer, socketio_path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx.sio = sio
        self.ctx.socketio_path = socketio_path

    def register(self, app: Sanic, options: Dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        super().register(app, options)


class KefuSocketIOInput(InputChannel):
    """Kefu's socket.io input channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        try:
            limit, window = limit_settings(
                credentials, "KEFU_SOCKETIO_RATE_LIMIT", "KEFU_SOCKETIO_RATE_WINDOW",
                DEFAULT_RATE_LIMIT_MESSAGES, DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
            )
            max_message_chars = int_setting(
                setting(credentials, "max_message_chars", "KEFU_SOCKETIO_MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
                "KEFU_SOCKETIO_MAX_MESSAGE_CHARS",
                minimum=1,
            )
        except ValueError as error:
            raise RasaException(f"socketio channel: {error}") from None
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            metadata_key=credentials.get("metadata_key", "metadata"),
            redis_url=setting(credentials, "redis_url", "KEFU_SOCKETIO_REDIS_URL"),
            max_message_chars=max_message_chars,
            rate_limit_messages=limit,
            rate_limit_window_seconds=window,
            cors_allowed_origins=credentials.get("cors_allowed_origins"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: Optional[str] = None,
        socketio_path: str = "/socket.io",
        metadata_key: str = "metadata",
        redis_url: Optional[str] = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        rate_limit_messages: int = DEFAULT_RATE_LIMIT_MESSAGES,
        rate_limit_window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
        cors_allowed_origins: Optional[Union[str, List[str]]] = None,
        ledger: Optional[MessageLedger] = None,
        rate_limiter: Optional[RateLimiter] = None,
        session_secret: Optional[str] = None,
    ) -> None:
        self.session_secret = session_secret or session_ids.secret_from_env()
        self.trusted_proxies = trusted_proxies()
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.socketio_path = socketio_path
        self.metadata_key = metadata_key
        self.redis_url = redis_url
        self.max_message_chars = max_message_chars
        # None: CORS left to Sanic (`rasa run --cors`), as Rasa's own channel does.
        self.cors_allowed_origins = [] if cors_allowed_origins is None else cors_allowed_origins
        self.sio: Optional[AsyncServer] = None
        channel_redis = redis_client(redis_url) if redis_url else None
        self.ledger: MessageLedger = ledger or (
            RedisMessageLedger(channel_redis) if channel_redis is not None else InMemoryMessageLedger()
        )
        self.rate_limiter: RateLimiter = rate_limiter or make_rate_limiter(
            rate_limit_messages, rate_limit_window_seconds, "kefu:sio", client=shared_or(channel_redis)
        )

    def _client_manager(self) -> Any:
        if not self.redis_url:
            return None
        import socketio

        logger.info("socketio.redis_manager enabled")
        return socketio.AsyncRedisManager(self.redis_url, channel="kefu-socketio")

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Output for events appended through Rasa's HTTP API (agent replies)."""
        if self.sio is None:
            return None
        return KefuSocketIOOutput(self.sio, self.bot_message_evt, self.namespace)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        manager = self._client_manager()
        kwargs: Dict[str, Any] = {"async_mode": "sanic", "cors_allowed_origins": self.cors_allowed_origins}
        if manager is not None:
            kwargs["client_manager"] = manager
        sio = AsyncServer(**kwargs)
        self.sio = sio
        namespace = self.namespace
        socketio_webhook = _SocketBlueprint(sio, self.socketio_path, "kefu_socketio_webhook", __name__)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "redis_manager": bool(self.redis_url)})

        async def join(sid: str, session_id: str) -> None:
            session = await sio.get_session(sid, namespace=namespace) or {}
            previous = session.get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, web_id(previous), namespace=namespace)
            await sio.enter_room(sid, web_id(session_id), namespace=namespace)
            await sio.save_session(sid, {**session, "session_id": session_id}, namespace=namespace)

        async def error(sid: str, rejection: Rejection) -> None:
            await sio.emit(ERROR_EVENT, rejection.as_event(), room=sid, namespace=namespace)

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict] = None) -> bool:
            request = environ.get("sanic.request")
            peer = getattr(request, "ip", None) if request is not None else environ.get("REMOTE_ADDR")
            ip = client_ip(peer, environ.get("HTTP_X_FORWARDED_FOR"), self.trusted_proxies)
            await sio.save_session(sid, {"client_ip": ip}, namespace=namespace)
            logger.debug("socketio.connect sid=%s", sid)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *args: Any) -> None:
            logger.debug("socketio.disconnect sid=%s", sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            resumed = session_ids.verify(self.session_secret, requested)
            session_id = requested if resumed else session_ids.issue(self.session_secret)
            await join(sid, session_id)
            # Kefu's widget learns it may rely on acks and de-duplication; other clients ignore this.
            await sio.emit(SESSION_EVENT, {"session_id": session_id, "features": FEATURES}, room=sid, namespace=namespace)
            # Rasa's channel confirms with the bare id; Rasa's widgets expect that.
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            logger.info(
                "socketio.session sid=%s session=%s resumed=%s refused=%s",
                sid, mask_id(session_id), resumed, bool(requested) and not resumed,
            )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            parsed = parse_user_message(data, self.metadata_key, self.max_message_chars)
            if isinstance(parsed, Rejection):
                logger.info("socketio.rejected sid=%s code=%s", sid, parsed.code)
                await error(sid, parsed)
                return
            session = await sio.get_session(sid, namespace=namespace) or {}
            session_id = parsed.session_id or session.get("session_id")
            if not session_id:
                await error(sid, Rejection("no_session", "send session_request first", parsed.message_id))
                return
            if session.get("session_id") != session_id:
                if not session_ids.verify(self.session_secret, session_id):
                    logger.info("socketio.rejected sid=%s code=invalid_session", sid)
                    await error(sid, Rejection(
                        "invalid_session", "this session id was not issued by the server; send session_request",
                        parsed.message_id,
                    ))
                    return
                await join(sid, session_id)
            conversation_id = web_id(session_id)
            message_id = parsed.message_id
            if message_id is not None:
                state = await self.ledger.claim(session_id, message_id)
                if state != NEW:
                    logger.info("socketio.duplicate session=%s message_id=%s state=%s",
                                mask_id(session_id), message_id, state)
                    if state == DONE:
                        await sio.emit(ACK_EVENT, {"message_id": message_id, "duplicate": True},
                                       room=sid, namespace=namespace)
                    return  # still running: its ack goes to the session's room when the turn ends
            if not await self.rate_limiter.allow(session_id):
                if message_id is not None:
                    await self.ledger.forget(session_id, message_id)
                logger.info("socketio.rate_limited session=%s", mask_id(session_id))
                await error(sid, Rejection("rate_limited", "too many messages; wait a moment and try again", message_id))
                return
            output_channel = KefuSocketIOOutput(sio, self.bot_message_evt, namespace)
            message = UserMessage(
                parsed.text,
                output_channel,
                conversation_id,
                input_channel=self.name(),
                metadata=server_metadata(parsed.metadata, session.get("client_ip")),
            )
            await sio.emit(TYPING_EVENT, {"typing": True}, room=conversation_id, namespace=namespace)
            try:
                with conversation(conversation_id):
                    await on_new_message(message)
            except Exception:
                logger.exception("socketio.processing_failed session=%s message_id=%s", mask_id(session_id), message_id)
                if message_id is not None:
                    await self.ledger.forget(session_id, message_id)
                await error(sid, Rejection("processing_failed", "the message could not be processed; please resend", message_id))
            else:
                if message_id is not None:
                    await self.ledger.complete(session_id, message_id)
                    await sio.emit(ACK_EVENT, {"message_id": message_id, "duplicate": False},
                                   room=conversation_id, namespace=namespace)
            finally:
                await sio.emit(TYPING_EVENT, {"typing": False}, room=conversation_id, namespace=namespace)

        return socketio_webhook
