"""Messages WeChat will not deliver, and how the console learns about them.

An agent's reply reaches a WeChat user through Rasa's HTTP API
(``POST /conversations/<id>/tracker/events?execute_side_effects=true&output_channel=wechat``):
Rasa appends the event to the tracker, calls the output channel, and only then saves the
tracker. If the output channel raised there, Rasa 3.6 would answer ``500`` *and drop the event*
(``rasa/server.py`` ``append_events``: the exception skips ``tracker_store.save``). An agent's
message must never vanish because the customer is out of WeChat's 48-hour window, so:

1. a refusal inside such a request is *recorded* (:func:`record_refusal`), not raised, and the
   output channel stops sending to that recipient for the request;
2. Rasa saves the tracker and builds its ``200`` answer;
3. the response middleware (:func:`install`) then turns that answer into the error the console
   expects: ``500`` with Rasa's own error body, whose ``message`` carries
   ``kefu_undeliverable:<errcode>`` (``details.event_saved`` is ``true``).

Outside an HTTP API request (no recording in place) the output channel raises
:class:`DeliveryRefused` as usual.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, List, Optional, Union

logger = logging.getLogger(__name__)

MARKER = "kefu_undeliverable"
#: The errcode part of the marker for a conversation id that is not this channel's.
WRONG_CHANNEL = "wrong_channel"
API_PATH_PREFIX = "/conversations/"


class DeliveryRefused(Exception):
    """WeChat / WeCom will not deliver this message (48-hour window, unsubscribed, blocked...).

    ``str()`` contains ``kefu_undeliverable:<errcode>``; the console recognises that marker.
    """

    def __init__(self, errcode: Union[int, str], reason: str, channel: str = "wechat") -> None:
        self.errcode = errcode
        self.reason = reason
        self.channel = channel
        super().__init__(f"{MARKER}:{errcode} {channel} refused delivery: {reason}")


class WrongRecipient(DeliveryRefused, ValueError):
    """The conversation id is not a ``wechat:``/``wecom:`` id of this channel: never sent as is."""

    def __init__(self, recipient_id: str, channel: str, expected: str) -> None:
        prefix = (recipient_id or "").partition(":")[0] if ":" in (recipient_id or "") else "legacy id"
        super().__init__(
            WRONG_CHANNEL, f"conversation id ({prefix}) is not a {channel} conversation, expected {expected}", channel
        )


_refusals: contextvars.ContextVar[Optional[List[DeliveryRefused]]] = contextvars.ContextVar(
    "kefu_wechat_refusals", default=None
)


def record_refusal(refusal: DeliveryRefused) -> None:
    """Record ``refusal`` for the HTTP API request in progress, or raise it when there is none."""
    recorded = _refusals.get()
    if recorded is None:
        raise refusal
    recorded.append(refusal)
    logger.warning("%s.delivery_refused errcode=%s recorded for the API answer", refusal.channel, refusal.errcode)


def recording() -> bool:
    return _refusals.get() is not None


async def _start_recording(request: Any) -> None:
    if request.path.startswith(API_PATH_PREFIX):
        _refusals.set([])


async def _answer_refusals(request: Any, response: Any) -> Any:
    recorded = _refusals.get()
    if not recorded or getattr(response, "status", 0) != 200:
        return None
    from rasa import __version__ as rasa_version
    from sanic import response as sanic_response

    first = recorded[0]
    body = {
        "version": rasa_version,
        "status": "failure",
        # the same text Rasa gives when an output channel raises, so the console needs one rule
        "message": f"An unexpected error occurred. Error: {first}",
        "reason": "ConversationError",
        "details": {MARKER: str(first.errcode), "channel": first.channel, "event_saved": True},
        "help": None,
        "code": 500,
    }
    return sanic_response.json(body, status=500)


def install(app: Any) -> None:
    """Register the two middlewares on Rasa's Sanic app (idempotent)."""
    app.register_middleware(_start_recording, "request")
    app.register_middleware(_answer_refusals, "response")
