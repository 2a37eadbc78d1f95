"""Structured logs for every Kefu process: one JSON object a line, personal data masked.

Standard library only: the action server and the console (``.venv``, Python 3.11) and the Rasa
server (``.venv-rasa``, Python 3.10) all import it.

- :class:`JsonFormatter`: ``timestamp``, ``level``, ``logger``, ``message`` and, when known,
  ``conversation_id`` (from :data:`CONVERSATION_ID`, or ``extra={"conversation_id": ...}``),
  plus ``exception``/``stack`` and any other ``extra`` fields. A message that is itself a JSON
  object (Rasa's structlog events) is kept as an object under ``event``.
- :class:`MaskingFilter`: masks personal data in every record that reaches the handler —
  mainland mobile numbers (``13812345678`` → ``138****5678``, the style of
  ``actions.identity.mask_phone``), e-mail addresses (``z***@example.com``) and long digit
  runs such as ID or bank card numbers (``110***********1234`` keeps 3 + 4 digits).
- :func:`mask_id` and :func:`mask_ip`: the one policy for identifiers in logs (sender and session ids,
  openids, order numbers, client IPs); every process uses these, never a copy of its own.
- :data:`CONVERSATION_ID`: a context variable. The action server sets it per action call from the
  tracker's ``sender_id``, Kefu's channels per incoming message, the console per ticket; use
  :func:`conversation` (a context manager) or :func:`bind_conversation` / :func:`reset_conversation`.
- :func:`configure`: what the entrypoints call. ``KEFU_LOG_FORMAT=json`` for JSON, ``text``
  (the default) for human-readable lines; both mask.

The Rasa process is configured by ``bot/logging-json.yml`` (``rasa run --logging-config-file``),
which uses the same classes.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional, TextIO, Tuple

from kernel import seller
from kernel.conversation_ids import split as split_conversation_id

FORMAT_ENV = "KEFU_LOG_FORMAT"
CONVERSATION_ID_MODE_ENV = "KEFU_LOG_CONVERSATION_ID"
FORMATS = ("text", "json")
CONVERSATION_ID_MODES = ("raw", "hash")
TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s  - %(message)s"

CONVERSATION_ID: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("kefu_conversation_id", default=None)


# --------------------------------------------------------------------------
# conversation id
# --------------------------------------------------------------------------


def current_conversation() -> Optional[str]:
    return CONVERSATION_ID.get()


def bind_conversation(conversation_id: Optional[str]) -> contextvars.Token:
    """Set the conversation id of the current task; keep the token to :func:`reset_conversation`."""
    return CONVERSATION_ID.set(str(conversation_id) if conversation_id not in (None, "") else None)


def reset_conversation(token: contextvars.Token) -> None:
    CONVERSATION_ID.reset(token)


@contextlib.contextmanager
def conversation(conversation_id: Optional[str]) -> Iterator[None]:
    """Log lines inside the block carry ``conversation_id``; the previous value comes back after."""
    token = bind_conversation(conversation_id)
    try:
        yield
    finally:
        CONVERSATION_ID.reset(token)


def pseudonym(conversation_id: str) -> str:
    """A stable, non-reversible stand-in for a conversation id (``KEFU_LOG_CONVERSATION_ID=hash``)."""
    return "c-" + hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# --------------------------------------------------------------------------
# masking (pure)
# --------------------------------------------------------------------------

#: Mainland mobile numbers, optionally with +86 / 0086 and spaces or dashes (3-4-4).
_PHONE = re.compile(r"(?<![0-9])(?:(?:\+|00)86[\s\-]?)?(1[3-9][0-9])[\s\-]?([0-9]{4})[\s\-]?([0-9]{4})(?![0-9])")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]+)@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")
#: 9+ digits (ID card: 17 digits and a check digit that may be X; bank cards 16-19), standing
#: alone: not glued to ASCII letters (order numbers like KF20240501001 stay readable) and not
#: part of a decimal number (timestamps such as 1714036504.123 stay readable).
_LONG_DIGITS = re.compile(r"(?<![A-Za-z0-9_.])([0-9]{9,})([Xx]?)(?![A-Za-z0-9_])(?!\.[0-9])")


def _phone(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(3)}"


def _email(match: re.Match[str]) -> str:
    return f"{match.group(1)[0]}***@{match.group(2)}"


def _long_digits(match: re.Match[str]) -> str:
    digits, check = match.group(1), match.group(2)
    keep_tail = 4 if len(digits) + len(check) >= 15 else 2
    tail = (digits + check)[-keep_tail:]
    return digits[:3] + "*" * (len(digits) + len(check) - 3 - keep_tail) + tail


def mask_id(value: Optional[str]) -> str:
    """An identifier for a log line: ``KF20261120001`` → ``KF2…01``; ``wechat:oAbCdEf123`` → ``wechat:oAb…23``.

    Sender and session ids act as bearer secrets, openids and order numbers are personal data: a
    short prefix and suffix tell lines apart without giving the value away. The channel prefix of a
    scoped conversation id stays readable; values of six characters or fewer are hidden whole.
    """
    if not value:
        return "-"
    prefix, rest = split_conversation_id(value)
    if prefix is not None:
        return f"{prefix}:{mask_id(rest)}"
    return f"{value[:3]}…{value[-2:]}" if len(value) > 6 else "***"


def mask_ip(ip: Optional[str]) -> str:
    """A client IP for a log line: ``203.0.113.7`` → ``203.0.113.x``; IPv6 keeps its first two groups."""
    if not ip:
        return "-"
    if ":" in ip:
        return ":".join(ip.split(":")[:2]) + ":…"
    return ip.rsplit(".", 1)[0] + ".x"


def _order_number_spans(text: str) -> List[Tuple[int, int]]:
    """Where ``text`` holds an order number in the shop's format (kernel/seller.py), when it has a prefix.

    A format with no prefix protects nothing: its numbers are long digit runs like any card number, and
    those are masked. A shop configuration that does not load protects nothing either (masking wins).
    """
    try:
        fmt = seller.current().order_number
    except seller.ShopConfigError:
        return []
    if not fmt.prefix_letters:
        return []
    return [m.span() for m in fmt.search_regex.finditer(text)]


def _mask_free_text(text: str) -> str:
    text = _PHONE.sub(_phone, text)
    text = _EMAIL.sub(_email, text)
    return _LONG_DIGITS.sub(_long_digits, text)


def mask_personal_data(text: str) -> str:
    """Mask mobile numbers, e-mail addresses and long digit runs; the shop's order numbers stay readable; idempotent."""
    if not text:
        return text
    spans = _order_number_spans(text)
    if not spans:
        return _mask_free_text(text)
    out, at = [], 0
    for start, end in spans:
        out.append(_mask_free_text(text[at:start]))
        out.append(text[start:end])
        at = end
    out.append(_mask_free_text(text[at:]))
    return "".join(out)


def mask_message(message: str) -> str:
    """Mask a log message; a message that is a JSON object (Rasa's structlog events) stays valid JSON."""
    event = _json_object(message)
    if event is None:
        return mask_personal_data(message)
    return json.dumps(mask_value(event), ensure_ascii=False)


def mask_value(value: Any) -> Any:
    """:func:`mask_personal_data` through strings, lists and dicts (keys unchanged)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value


# --------------------------------------------------------------------------
# logging classes
# --------------------------------------------------------------------------

#: Attributes every LogRecord has; anything else came in through ``extra=``.
_RECORD_FIELDS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "conversation_id", "taskName", "color_message"}


class MaskingFilter(logging.Filter):
    """Masks personal data in the message, arguments, exception and stack of every record.

    Attach it to handlers (a logger's filters do not see records propagated from child loggers).
    The record is rewritten in place (``msg`` becomes the masked, formatted message and ``args``
    empty), so every handler after this one sees the masked text too. Never raises.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: leave it to the handler's own error handling
            return True
        record.msg = mask_message(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data(record.stack_info)
        return True


class DropAll(logging.Filter):
    """Drops every record. ``bot/logging-json.yml`` puts it on a placeholder handler so that the
    coloured console handler Rasa installs (``coloredlogs`` replaces that placeholder and keeps
    its filters) prints nothing, and the JSON handler is the only output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring for the fields)."""

    def __init__(self, service: Optional[str] = None, conversation_id_mode: Optional[str] = None) -> None:
        super().__init__()
        self.service = service or None
        mode = (conversation_id_mode or os.environ.get(CONVERSATION_ID_MODE_ENV) or "raw").strip().lower()
        if mode not in CONVERSATION_ID_MODES:
            raise ValueError(f"{CONVERSATION_ID_MODE_ENV} must be one of {', '.join(CONVERSATION_ID_MODES)}, not {mode!r}")
        self.conversation_id_mode = mode

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception as error:
            message = f"unformattable log message {record.msg!r}: {error}"
        message = mask_message(message)
        payload: Dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if self.service:
            payload["service"] = self.service
        conversation_id = getattr(record, "conversation_id", None) or CONVERSATION_ID.get()
        if conversation_id:
            conversation_id = str(conversation_id)
            payload["conversation_id"] = (
                pseudonym(conversation_id) if self.conversation_id_mode == "hash" else conversation_id
            )
        event = _json_object(message)
        if event is not None:
            payload["message"] = str(event.get("event", ""))
            payload["event"] = event
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = mask_personal_data(record.exc_text)
        if record.stack_info:
            payload["stack"] = mask_personal_data(self.formatStack(record.stack_info))
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and not key.startswith("_") and key not in payload:
                payload[key] = mask_value(_plain(value))
        return json.dumps(payload, ensure_ascii=False, default=lambda v: mask_personal_data(repr(v)))


def _json_object(message: str) -> Optional[Dict[str, Any]]:
    if not (message.startswith("{") and message.endswith("}")):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict, tuple)):
        return value
    return repr(value)


class JsonStreamHandler(logging.Handler):
    """Writes formatted records to a stream (stderr by default).

    Deliberately not a ``logging.StreamHandler``: ``coloredlogs.install()`` (which Rasa and
    rasa-sdk call) removes every StreamHandler on stdout/stderr from the root logger and would
    take the JSON output with it.
    """

    terminator = "\n"

    def __init__(self, stream: Optional[TextIO] = None, level: int = logging.NOTSET, capture_warnings: bool = False) -> None:
        super().__init__(level)
        self._stream = stream
        if capture_warnings:  # Python warnings become log records (logger ``py.warnings``) too
            logging.captureWarnings(True)

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = self.stream
            stream.write(line + self.terminator)
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def log_format(env: Optional[Dict[str, str]] = None) -> str:
    """``KEFU_LOG_FORMAT``: ``text`` (default) or ``json``; anything else is a configuration error."""
    raw = ((env if env is not None else os.environ).get(FORMAT_ENV) or "text").strip().lower()
    if raw not in FORMATS:
        raise ValueError(f"{FORMAT_ENV} must be one of {', '.join(FORMATS)}, not {raw!r}")
    return raw


def configure(
    fmt: Optional[str] = None,
    level: int = logging.INFO,
    service: Optional[str] = None,
    stream: Optional[TextIO] = None,
) -> logging.Handler:
    """Replace the root logger's handlers with one masked handler, JSON or text.

    ``fmt`` defaults to ``KEFU_LOG_FORMAT``. Returns the handler (tests read its stream).
    """
    fmt = fmt or log_format()
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler: logging.Handler
    if fmt == "json":
        handler = JsonStreamHandler(stream)
        handler.setFormatter(JsonFormatter(service=service))
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if fmt == "json":
        logging.captureWarnings(True)  # warnings become records too, instead of raw lines on stderr
    return handler


SANIC_LOGGERS = ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets")


def adopt_loggers(names: Tuple[str, ...] = SANIC_LOGGERS) -> None:
    """Drop the handlers a library gave its own loggers (Sanic does, when an app is created) so that
    their records reach the root logger's masked handler only, once, in its format."""
    for name in names:
        named = logging.getLogger(name)
        for handler in list(named.handlers):
            named.removeHandler(handler)
        named.propagate = True


def add_masking(logger: Optional[logging.Logger] = None) -> None:
    """Add :class:`MaskingFilter` to every handler of ``logger`` (root by default) that lacks one."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
