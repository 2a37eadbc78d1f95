"""Kefu's REST channel: Rasa's ``rest`` channel with abuse limits and JSON errors.

Same name (``rest``) and URL (``POST /webhooks/rest/webhook``), same request
(``{"sender": "...", "message": "...", "metadata": {...}}``) and the same answer
(a JSON list of bot messages; ``?stream=true`` streams them). What it adds:

- **size limits**: the body is read at most up to its limit (a larger ``Content-Length`` is
  refused before any of it is read), the message to ``KEFU_REST_MAX_MESSAGE_CHARS``
  characters, the metadata to 4 KiB; over a limit → ``413``;
- **a per-sender rate limit** (``KEFU_REST_RATE_LIMIT`` messages per ``KEFU_REST_RATE_WINDOW``
  seconds, in-process or in the Redis at ``KEFU_RATE_LIMIT_REDIS_URL``) → ``429`` with
  ``Retry-After``;
- **clear errors**: malformed JSON, a missing or invalid sender or message → ``400``; a turn that
  fails inside Rasa (tracker store down, ...) → ``503``, so the client knows to resend. Every error
  is a JSON object ``{"error": code, "message": text, ...}``; nothing a client sends gives a 500;
- ``input_channel`` is always ``rest``: a client cannot make its messages look like WeChat or
  web-widget messages (Rasa's own channel takes it from the request);
- **channel-scoped conversations**: the conversation id is ``rest:<sender>``
  (:mod:`kernel.conversation_ids`), so a REST caller who sends a WeChat openid or a widget session
  id as ``sender`` gets a conversation of its own, never the customer's. Answers name the sender
  as the client sent it (``recipient_id``);
- **clean input**: NUL, control characters and lone surrogates are removed from the message
  (:func:`kernel.text.clean_text`); a message with nothing left is ``400 empty_message``;
- **server-owned metadata**: client-supplied ``kefu_*`` keys are dropped (except
  ``kefu_user_token``) and ``kefu_client_ip`` is set (``X-Forwarded-For`` only from
  ``KEFU_TRUSTED_PROXIES``);
- log lines of the turn carry the conversation id as ``conversation_id`` (``kernel.logs``).

credentials.yml (replaces ``rest:``; every key is optional, environment variables win)::

    bot.channels.rest.KefuRestInput:
      # rate_limit_messages: 30          (KEFU_REST_RATE_LIMIT; 0 = no limit)
      # rate_limit_window_seconds: 60    (KEFU_REST_RATE_WINDOW)
      # max_message_chars: 2000          (KEFU_REST_MAX_MESSAGE_CHARS)
      # redis_url: redis://...           (KEFU_RATE_LIMIT_REDIS_URL; empty = in-process)
"""

from __future__ import annotations

import json
import logging
import math
from asyncio import CancelledError
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import (
    BodyTooLarge,
    limit_settings,
    read_body,
    server_metadata,
    trusted_proxies,
)
from kernel.config_values import int_setting, setting
from kernel.conversation_ids import rest_id, split
from kernel.logs import conversation, mask_id
from kernel.netaddr import client_ip
from kernel.ratelimit import RateLimiter, rate_limiter, shared_or
from kernel.state import redis_client
from kernel.text import clean_text

logger = logging.getLogger(__name__)

CHANNEL_NAME = "rest"
DEFAULT_MAX_MESSAGE_CHARS = 2000
DEFAULT_MAX_METADATA_BYTES = 4096
DEFAULT_RATE_LIMIT_MESSAGES = 30
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
MIN_MAX_BODY_BYTES = 64 * 1024
#: Rasa's SQL tracker store keeps sender ids in a VARCHAR(255); ids are opaque tokens anyway.
MAX_SENDER_CHARS = 128

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


# --------------------------------------------------------------------------
# Pure decisions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RestMessage:
    sender_id: str
    text: str
    metadata: Optional[Dict[str, Any]]

    @property
    def conversation_id(self) -> str:
        """``rest:<sender>``: the REST caller's conversation, apart from every other channel's."""
        return rest_id(self.sender_id)


@dataclass(frozen=True)
class RestError:
    """A refused request: HTTP status and the JSON body ``{"error": code, "message": ..., **extra}``."""

    status: int
    code: str
    message: str
    extra: Dict[str, Any] = field(default_factory=dict)

    def body(self) -> Dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}


def max_body_bytes(max_message_chars: int, max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES) -> int:
    """Room for the longest allowed message even fully ``\\uXXXX``-escaped, plus metadata."""
    return max(MIN_MAX_BODY_BYTES, max_message_chars * 12 + max_metadata_bytes * 6 + 1024)


def _encodable(value: str) -> bool:
    """False for strings with lone surrogates (valid JSON escapes, invalid UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _control_free(value: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def parse_rest_message(
    body: bytes,
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
) -> Union[RestMessage, RestError]:
    """Validate a REST request body; never raises."""
    try:
        data = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return RestError(400, "invalid_json", "the body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}")
    if not isinstance(data, dict):
        return RestError(400, "invalid_json", "the body must be a JSON object: {\"sender\": \"...\", \"message\": \"...\"}")

    sender = data.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if sender is None or (isinstance(sender, str) and not sender.strip()):
        return RestError(400, "missing_sender", "sender is required: a string that identifies the conversation")
    if not isinstance(sender, str):
        return RestError(400, "invalid_sender", "sender must be a string")
    if len(sender) > MAX_SENDER_CHARS or not _control_free(sender) or not _encodable(sender):
        return RestError(
            400, "invalid_sender", f"sender must be at most {MAX_SENDER_CHARS} printable characters"
        )

    text = data.get("message")
    if text is None:
        return RestError(400, "missing_message", "message is required")
    if not isinstance(text, str):
        return RestError(400, "invalid_message", "message must be a string")
    if len(text) > max_message_chars:
        return RestError(
            413, "message_too_long", f"messages are limited to {max_message_chars} characters",
            {"limit": max_message_chars},
        )
    if not text.strip():
        return RestError(400, "empty_message", "the message is empty")
    text = clean_text(text)
    if not text.strip():
        return RestError(
            400, "empty_message", "the message is empty once NUL, control characters and invalid characters are removed"
        )

    metadata = data.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            return RestError(400, "invalid_metadata", "metadata must be a JSON object")
        try:
            size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
            return RestError(400, "invalid_metadata", "metadata must be plain JSON text")
        if size > max_metadata_bytes:
            return RestError(
                413, "metadata_too_large", f"metadata is limited to {max_metadata_bytes} bytes",
                {"limit": max_metadata_bytes},
            )
    return RestMessage(sender_id=sender, text=text, metadata=metadata)


def error_response(error: RestError, headers: Optional[Dict[str, str]] = None) -> HTTPResponse:
    return response.json(error.body(), status=error.status, headers=headers)


# --------------------------------------------------------------------------
# Input channel
# --------------------------------------------------------------------------


class KefuRestInput(RestInput):
    """Rasa's REST channel with size limits, a per-sender rate limit and JSON errors."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        try:
            limit, window = limit_settings(
                credentials, "KEFU_REST_RATE_LIMIT", "KEFU_REST_RATE_WINDOW",
                DEFAULT_RATE_LIMIT_MESSAGES, DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
            )
            return cls(
                rate_limit_messages=limit,
                rate_limit_window_seconds=window,
                max_message_chars=int_setting(
                    setting(credentials, "max_message_chars", "KEFU_REST_MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
                    "KEFU_REST_MAX_MESSAGE_CHARS",
                    minimum=1,
                ),
                redis_url=str(credentials.get("redis_url") or "").strip(),
            )
        except ValueError as error:
            raise RasaException(f"rest channel: {error}") from None

    def __init__(
        self,
        rate_limit_messages: int = DEFAULT_RATE_LIMIT_MESSAGES,
        rate_limit_window_seconds: float = DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        redis_url: str = "",
        limiter: Optional[RateLimiter] = None,
    ) -> None:
        self.rate_limit_messages = rate_limit_messages
        self.rate_limit_window_seconds = rate_limit_window_seconds
        self.max_message_chars = max_message_chars
        self.max_metadata_bytes = max_metadata_bytes
        self.max_body_bytes = max_body_bytes(max_message_chars, max_metadata_bytes)
        self.redis_url = redis_url
        channel_redis = redis_client(redis_url) if redis_url else None
        self.rate_limiter: RateLimiter = limiter or rate_limiter(
            rate_limit_messages, rate_limit_window_seconds, "kefu:rest", client=shared_or(channel_redis)
        )
        self.trusted_proxies = trusted_proxies()

    def retry_after(self) -> int:
        return max(1, math.ceil(self.rate_limit_window_seconds))

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        async def handle(message: UserMessage) -> None:
            with conversation(message.sender_id):
                await on_new_message(message)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> Any:
            try:
                body = await read_body(request, self.max_body_bytes)
            except BodyTooLarge as error:
                logger.info("rest.rejected code=payload_too_large limit=%d", error.limit)
                return error_response(
                    RestError(413, "payload_too_large", str(error), {"limit": error.limit})
                )
            parsed = parse_rest_message(body, self.max_message_chars, self.max_metadata_bytes)
            if isinstance(parsed, RestError):
                logger.info("rest.rejected code=%s", parsed.code)
                return error_response(parsed)
            with conversation(parsed.conversation_id):
                return await self._turn(request, parsed, on_new_message, handle)

        return webhook

    async def _turn(self, request: Request, parsed: RestMessage, on_new_message: OnNewMessage, handle: OnNewMessage) -> Any:
        if not await self.rate_limiter.allow(parsed.sender_id):
            logger.info("rest.rate_limited sender=%s", mask_id(parsed.sender_id))
            retry = self.retry_after()
            return error_response(
                RestError(
                    429, "rate_limited", "too many messages; wait a moment and try again", {"retry_after": retry}
                ),
                headers={"Retry-After": str(retry)},
            )
        ip = client_ip(request.ip, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        metadata = server_metadata(parsed.metadata, ip)
        if bool_arg(request, "stream", default=False):
            return response.stream(
                self.stream_response(handle, parsed.text, parsed.conversation_id, CHANNEL_NAME, metadata),
                content_type="text/event-stream",
            )
        collector = CollectingOutputChannel()
        message = UserMessage(
            parsed.text, collector, parsed.conversation_id, input_channel=CHANNEL_NAME, metadata=metadata
        )
        try:
            await on_new_message(message)
        except CancelledError:
            raise
        except Exception:
            logger.exception("rest.processing_failed sender=%s", mask_id(parsed.sender_id))
            return error_response(
                RestError(
                    503, "processing_failed", "the message could not be processed; please resend it",
                    {"retry_after": 1},
                ),
                headers={"Retry-After": "1"},
            )
        return response.json([client_view(m) for m in collector.messages])

    def stream_response(
        self,
        on_new_message: OnNewMessage,
        text: str,
        sender_id: str,
        input_channel: str,
        metadata: Optional[Dict[str, Any]],
    ) -> Callable[[Any], Awaitable[None]]:
        """Rasa's streamed answer (one JSON message a line), naming the sender as the client sent it."""
        from asyncio import Queue, ensure_future

        async def stream(resp: Any) -> None:
            queue: Queue = Queue()
            task = ensure_future(
                self.on_message_wrapper(on_new_message, text, queue, sender_id, input_channel, metadata)
            )
            while True:
                result = await queue.get()
                if result == "DONE":
                    break
                await resp.write(json.dumps(client_view(result)) + "\n")
            await task

        return stream


def client_view(message: Any) -> Any:
    """A bot message as the REST client sees it: ``recipient_id`` is its own ``sender``."""
    if isinstance(message, dict) and isinstance(message.get("recipient_id"), str):
        return {**message, "recipient_id": split(message["recipient_id"])[1]}
    return message
