"""Rasa's HTTP API, as the console uses it: append events to a conversation (agent messages, pause, resume).

The token stays in this process; it is never sent to browsers.

A channel that refuses delivery (WeChat's 48-hour reply window, errcode 45015; an unsubscribed user,
43004) raises ``DeliveryRefused`` in the Rasa server, whose text carries ``kefu_undeliverable:<errcode>``;
Rasa's HTTP API answers 500 with that text in its JSON ``message``. This client turns that answer
into :class:`DeliveryRefused`, so the console can keep the agent's action and flag the message
instead of failing it. Kefu's Rasa saves the events anyway and says so (``details.event_saved``);
plain Rasa saves nothing when side effects fail, and then the caller re-appends the state events
(resume, slots) with ``execute_side_effects=False`` (``DeliveryRefused.event_saved`` tells which).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List, Optional

import httpx

log = logging.getLogger("kefu.rasa_client")


UNDELIVERABLE = re.compile(r"kefu_undeliverable:(-?[0-9A-Za-z_]{1,32})")

#: What the agent is told for the refusals Kefu knows (WeChat / WeCom errcodes).
REFUSAL_REASONS = {
    "45015": "the customer has not written in the last 48 hours (WeChat's reply window is closed)",
    "45047": "too many messages since the customer last wrote (WeChat's limit)",
    "43004": "the customer has unfollowed the account",
    "43019": "the customer has blocked the account",
    "40003": "the customer is not reachable on this account (unknown openid)",
    "81013": "the customer is not reachable (WeCom: user not found or not in the app's scope)",
    "wrong_channel": "this conversation does not belong to the channel it was sent to",
}


class RasaUnavailable(RuntimeError):
    """Rasa did not accept the events; nothing was delivered."""


class DeliveryRefused(RuntimeError):
    """The customer's channel refused the message (Rasa's output channel raised ``DeliveryRefused``)."""

    def __init__(self, errcode: str, detail: str = "", event_saved: bool = False) -> None:
        self.errcode = errcode
        self.event_saved = event_saved
        self.reason = REFUSAL_REASONS.get(errcode, f"the customer's channel refused the message (errcode {errcode})")
        self.detail = detail[:300]
        super().__init__(f"not delivered: {self.reason}")

    def to_json(self) -> Dict[str, Any]:
        return {"delivered": False, "errcode": self.errcode, "reason": self.reason}


def refusal_in(body: str) -> Optional[DeliveryRefused]:
    """The :class:`DeliveryRefused` that Rasa's error body reports, if it carries the marker."""
    match = UNDELIVERABLE.search(body or "")
    if not match:
        return None
    saved = False
    try:
        details = json.loads(body).get("details")
        saved = isinstance(details, dict) and details.get("event_saved") is True
    except (ValueError, AttributeError):
        pass
    return DeliveryRefused(match.group(1), body, event_saved=saved)


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._client = httpx.AsyncClient(timeout=timeout)

    async def append_events(
        self, sender_id: str, events: List[Dict[str, Any]], output_channel: Optional[str] = None,
        execute_side_effects: bool = True,
    ) -> None:
        """Raises :class:`DeliveryRefused` (nothing saved in Rasa) or :class:`RasaUnavailable`."""
        params = {"execute_side_effects": "true" if execute_side_effects else "false",
                  "output_channel": output_channel or "latest"}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/conversations/{_quote(sender_id)}/tracker/events"
        try:
            response = await self._client.post(url, params=params, json=events)
        except httpx.HTTPError as error:
            log.warning("rasa unreachable: %s", type(error).__name__)
            raise RasaUnavailable(f"Rasa is unreachable ({type(error).__name__})") from error
        if response.status_code >= 300:
            refused = refusal_in(response.text) if response.status_code >= 500 else None
            if refused is not None:
                log.warning("delivery refused by the channel: errcode=%s", refused.errcode)
                raise refused
            log.warning("rasa refused events: status=%s", response.status_code)
            raise RasaUnavailable(f"Rasa answered {response.status_code}")

    async def last_user_message_at(self, sender_id: str) -> Optional[float]:
        """When the customer last wrote in conversation ``sender_id`` (Unix seconds), None if never.

        Raises :class:`RasaUnavailable` when Rasa does not answer with a tracker."""
        params = {"include_events": "AFTER_RESTART"}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/conversations/{_quote(sender_id)}/tracker"
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is unreachable ({type(error).__name__})") from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        try:
            events = response.json().get("events") or []
        except (ValueError, AttributeError) as error:
            raise RasaUnavailable("Rasa's tracker is not JSON") from error
        times = [
            e["timestamp"] for e in events
            if isinstance(e, dict) and e.get("event") == "user" and isinstance(e.get("timestamp"), (int, float))
        ]
        return max(times) if times else None

    async def close(self) -> None:
        await self._client.aclose()


def _quote(sender_id: str) -> str:
    from urllib.parse import quote

    # ":" stays: conversation ids are channel-scoped (``wechat:<openid>``) and Rasa's router does
    # not decode %3A in the path, so a quoted colon would name another conversation
    return quote(sender_id, safe=":")
