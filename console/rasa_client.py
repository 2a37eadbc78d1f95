"""Rasa's HTTP API, as the console uses it: append events to a conversation (agent messages, pause, resume).

The token stays in this process; it is never sent to browsers.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import httpx

log = logging.getLogger("kefu.console.rasa")


class RasaUnavailable(RuntimeError):
    """Rasa did not accept the events; nothing was delivered."""


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._client = httpx.AsyncClient(timeout=timeout)

    async def append_events(
        self, sender_id: str, events: List[Dict[str, Any]], output_channel: Optional[str] = None
    ) -> None:
        params = {"execute_side_effects": "true", "output_channel": output_channel or "latest"}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/conversations/{_quote(sender_id)}/tracker/events"
        try:
            response = await self._client.post(url, params=params, json=events)
        except httpx.HTTPError as error:
            log.warning("rasa unreachable: %s", type(error).__name__)
            raise RasaUnavailable(f"Rasa is unreachable ({type(error).__name__})") from error
        if response.status_code >= 300:
            log.warning("rasa refused events: status=%s", response.status_code)
            raise RasaUnavailable(f"Rasa answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


def _quote(sender_id: str) -> str:
    from urllib.parse import quote

    return quote(sender_id, safe="")
