"""One of a customer's conversations, read-only, for the agent: what the customer and the bot (and agents)
said, from Rasa's tracker over its HTTP API (the console holds the server-side token; browsers never see it).
The same reading of events as the widget's history (``console.public_history.history_messages``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import quote

import httpx

from console import queueing
from console.public_history import history_messages

MAX_MESSAGES = 200


class TranscriptUnavailable(RuntimeError):
    """Rasa did not answer with the conversation (down, refusing, malformed)."""


def _author(author: str, custom: Optional[Dict[str, Any]]) -> str:
    """A console notice (agent joined, closed, rating prompt: a ``kefu_event`` that is not an agent's message) is
    the system's, as in the ticket's transcript (console.tickets.ingest)."""
    kefu_event = custom.get("kefu_event") if isinstance(custom, dict) else None
    return "system" if author == "bot" and isinstance(kefu_event, dict) else author


def transcript_json(events: List[Dict[str, Any]], limit: int = MAX_MESSAGES) -> List[Dict[str, Any]]:
    """The messages of a tracker's events as the agent sees them (pure)."""
    return [{"author": _author(m.author, m.custom), "text": m.text, "at": queueing.iso(m.timestamp), "agent": m.agent}
            for m in history_messages(events, limit)]


async def read_transcript(client: httpx.AsyncClient, rasa_url: str, token: Optional[str],
                          sender_id: str) -> List[Dict[str, Any]]:
    """Raises :class:`TranscriptUnavailable` when Rasa does not answer with a tracker."""
    params = {"include_events": "ALL"}
    if token:
        params["token"] = token
    # ":" stays: channel-scoped conversation ids (``wechat:<openid>``), Rasa's router does not decode %3A
    url = f"{rasa_url.rstrip('/')}/conversations/{quote(sender_id, safe=':')}/tracker"
    try:
        response = await client.get(url, params=params)
    except httpx.HTTPError as error:
        raise TranscriptUnavailable(f"Rasa is unreachable ({type(error).__name__})") from error
    if response.status_code != 200:
        raise TranscriptUnavailable(f"Rasa answered {response.status_code}")
    try:
        events = response.json().get("events") or []
    except (ValueError, AttributeError) as error:
        raise TranscriptUnavailable("Rasa's tracker is not JSON") from error
    return transcript_json([e for e in events if isinstance(e, dict)])
