"""Customers cannot drive the bot with control commands or forged intent payloads.

Rasa reads any message that starts with ``/`` as ``/intent{entities}`` and skips the NLU: a
customer who types ``/restart`` wipes the conversation (and with it a lockout counter),
``/session_start`` starts over, and ``/inform{"order_id": "..."}`` sets any slot the payload
names. Buttons need this (a button's payload is such a message), so the rule is: on a public
channel (``rest``, ``socketio``, ``wechat``, ``wecom``, ``wxkf``) a payload is honoured only when

- the bot itself offered it in this conversation: a button (``data.buttons``/``quick_replies``)
  or a ``payload`` inside ``data.custom`` (card actions) of one of the last
  :data:`RECENT_BOT_MESSAGES` bot messages since the session started; or
- it is on the allow-list: the widget's own CSAT stars (``/csat_rating{"rating":1..5}``), the
  WeChat menu entries (``/human_handoff``, ``/order_status``) and ``KEFU_ALLOWED_PAYLOADS``.

``/restart``, ``/session_start`` and ``/back`` are refused even when offered, unless the
allow-list names them. A refused payload is treated as plain text (the text is stored as typed):
words after a slash (``/ 我的订单``) go through the NLU like anything else the customer types;
machine syntax (``/session_start``, ``/inform{...}``: an identifier for an intent) means nothing a
customer says, so it is read as not understood (``nlu_fallback``, no entities) rather than
whatever the classifier guesses for it (one model read ``session_start`` as a complaint and
handed the conversation to a person). Non-public input (``rasa test``,
the HTTP API used by the console, the command line) is unaffected.

It works at the processor (:meth:`rasa.core.processor.MessageProcessor._handle_message_with_tracker`,
where the tracker is loaded under the conversation lock) so every channel gets it once. The same
wrapper cleans the text (:func:`kernel.text.clean_text`) for every channel, as a last line behind
the channels' own checks. ``bot.server`` calls :func:`install` before starting Rasa.

``KEFU_ALLOWED_PAYLOADS``: a JSON list of payloads (``["/human_handoff", "/inform{\\"city\\":\\"上海\\"}"]``)
or a comma-separated list of bare intents (``/human_handoff,/greet``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Set, Tuple

from kernel.text import clean_text

logger = logging.getLogger("kefu.control_commands")

PUBLIC_CHANNELS = frozenset({"rest", "socketio", "wechat", "wecom", "wxkf"})
CONTROL_INTENTS = frozenset({"restart", "session_start", "back"})
ALLOWED_PAYLOADS_ENV = "KEFU_ALLOWED_PAYLOADS"
RECENT_BOT_MESSAGES = 30
#: What the widget and the WeChat menu send on their own (webchat/src/widget.js CSAT stars,
#: bot/channels/wechat/turns.py menu clicks).
DEFAULT_ALLOWED_PAYLOADS: Tuple[str, ...] = (
    "/human_handoff",
    "/order_status",
    *(f'/csat_rating{{"rating":{n}}}' for n in range(1, 6)),
)

# Rasa's own pattern (YAMLStoryReader._regex_message_pattern): /intent@confidence{entities}rest
_PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)(?P<confidence>@[0-9.]+)?(?P<entities>\{.+\})?(?P<rest>.*)$", re.S)

#: The signature of the wrapped Rasa method; tests compare it so that an upgrade fails loudly.
WRAPPED_SIGNATURE = "(self, message: rasa.core.channels.channel.UserMessage, tracker: rasa.shared.core.trackers.DialogueStateTracker) -> None"

Canonical = Tuple[str, str]

_installed = False


def canonical(payload: Any) -> Optional[Canonical]:
    """``'/inform{"city": "上海"}'`` → ``("inform", '{"city":"上海"}')``; None for anything else.

    Two payloads are the same command when the intent and the entities (as JSON, keys sorted) are;
    a confidence suffix or trailing text makes a payload that no button has.
    """
    if not isinstance(payload, str):
        return None
    match = _PAYLOAD.match(payload.strip())
    if not match:
        return None
    intent = match.group("intent").strip()
    if not intent:
        return None
    raw = match.group("entities")
    entities = ""
    if raw:
        try:
            entities = json.dumps(json.loads(raw), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            entities = raw
    extra = (match.group("confidence") or "") + (match.group("rest") or "")
    return intent, entities + extra


def is_command(text: Any) -> bool:
    """Whether Rasa would read ``text`` as an intent payload instead of running the NLU."""
    return canonical(text) is not None


def parse_allow_list(value: Optional[str]) -> FrozenSet[Canonical]:
    """``KEFU_ALLOWED_PAYLOADS`` (JSON list or comma-separated bare intents) as canonical payloads."""
    text = (value or "").strip()
    if not text:
        return frozenset()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as error:
            raise ValueError(f"{ALLOWED_PAYLOADS_ENV} is not a valid JSON list: {error}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"{ALLOWED_PAYLOADS_ENV} must be a JSON list of strings")
    else:
        items = [part.strip() for part in text.split(",") if part.strip()]
    out: Set[Canonical] = set()
    for item in items:
        key = canonical(item if item.startswith("/") else "/" + item)
        if key is None:
            raise ValueError(f"{ALLOWED_PAYLOADS_ENV}: {item!r} is not a payload like /intent or /intent{{...}}")
        out.add(key)
    return frozenset(out)


def allow_list(environ: Optional[Mapping[str, str]] = None) -> FrozenSet[Canonical]:
    environ = os.environ if environ is None else environ
    defaults = {canonical(p) for p in DEFAULT_ALLOWED_PAYLOADS}
    return frozenset({d for d in defaults if d} | parse_allow_list(environ.get(ALLOWED_PAYLOADS_ENV)))


def _payloads_in(value: Any, depth: int = 0) -> Iterator[str]:
    """Every ``payload`` string inside a custom message (card actions, nested lists)."""
    if depth > 6:
        return
    if isinstance(value, dict):
        payload = value.get("payload")
        if isinstance(payload, str):
            yield payload
        for item in value.values():
            if isinstance(item, (dict, list)):
                yield from _payloads_in(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _payloads_in(item, depth + 1)


def offered_payloads(events: Iterable[Any], recent: int = RECENT_BOT_MESSAGES) -> Set[Canonical]:
    """Payloads the bot offered in its last ``recent`` messages of the current session.

    ``events`` are Rasa events (objects) or their dicts, oldest first.
    """
    found: Set[Canonical] = set()
    seen = 0
    for event in reversed(list(events)):
        kind = event.get("event") if isinstance(event, dict) else getattr(event, "type_name", None)
        if kind in ("session_started", "restart"):
            break
        if kind != "bot":
            continue
        data = (event.get("data") if isinstance(event, dict) else getattr(event, "data", None)) or {}
        if not isinstance(data, dict):
            continue
        candidates: List[Any] = []
        for key in ("buttons", "quick_replies"):
            for button in data.get(key) or []:
                if isinstance(button, dict):
                    candidates.append(button.get("payload"))
        candidates.extend(_payloads_in(data.get("custom")))
        for payload in candidates:
            key = canonical(payload)
            if key:
                found.add(key)
        seen += 1
        if seen >= recent:
            break
    return found


def decide(text: Any, events: Iterable[Any], allowed: FrozenSet[Canonical]) -> Optional[str]:
    """None when ``text`` may go to Rasa as it is; else why it must be read as plain text."""
    key = canonical(text)
    if key is None:
        return None
    if key in allowed:
        return None
    if key[0] in CONTROL_INTENTS:
        return "control_command"
    if key in offered_payloads(events):
        return None
    return "not_offered"


def neutral_text(text: str) -> str:
    """The text the NLU reads for a refused payload: without the leading slash Rasa looks for."""
    stripped = text.strip().lstrip("/").strip()
    return stripped or text


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def not_understood(text: str) -> Optional[Dict[str, Any]]:
    """The parse for a refused payload in machine syntax (an identifier as its intent): not understood,
    nothing taken from it. None for anything else, which the NLU reads as text (:func:`neutral_text`)."""
    match = _PAYLOAD.match(text.strip())
    if not match or not _IDENTIFIER.match(match.group("intent").strip()):
        return None
    fallback = {"name": "nlu_fallback", "confidence": 1.0}
    return {"text": text, "intent": fallback, "entities": [], "intent_ranking": [fallback]}


def _mask(text: str) -> str:
    return text[:24] + ("…" if len(text) > 24 else "")


def install(environ: Optional[Mapping[str, str]] = None) -> None:
    """Wrap ``MessageProcessor._handle_message_with_tracker`` (idempotent)."""
    global _installed
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    if _installed:
        return
    allowed = allow_list(environ)
    original = MessageProcessor._handle_message_with_tracker
    signature = str(inspect.signature(original))
    if signature != WRAPPED_SIGNATURE:
        raise RuntimeError(
            "bot.control_commands: MessageProcessor._handle_message_with_tracker changed "
            f"({signature}); review the wrapper before upgrading Rasa"
        )

    async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
        if isinstance(message.text, str):
            cleaned = clean_text(message.text)
            if cleaned != message.text:
                logger.info("control_commands.cleaned channel=%s removed=%d", message.input_channel,
                            len(message.text) - len(cleaned))
                message.text = cleaned
        if message.input_channel in PUBLIC_CHANNELS and not message.parse_data and isinstance(message.text, str):
            reason = decide(message.text, tracker.events, allowed)
            if reason:
                logger.warning("control_commands.refused channel=%s reason=%s payload=%s",
                               message.input_channel, reason, _mask(message.text))
                parse_data = not_understood(message.text)
                if parse_data is None:
                    probe = UserMessage(neutral_text(message.text), None, message.sender_id,
                                        input_channel=message.input_channel, metadata=message.metadata)
                    parse_data = await self.parse_message(probe, tracker)
                    parse_data["text"] = message.text
                message.parse_data = parse_data
        await original(self, message, tracker)

    MessageProcessor._handle_message_with_tracker = _handle_message_with_tracker  # type: ignore[method-assign]
    _installed = True
