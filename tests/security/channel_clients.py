"""Attacker-side clients of the public channels for tests/security: REST and socket.io over the wire."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Optional

import requests
import socketio

from tests.stack import Stack

WAIT = 90.0


class WidgetClient:
    """A socket.io client speaking the widget's protocol (docs/widget.md) to a stack's Rasa."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.sio = socketio.Client(reconnection=False)
        self.events: List[tuple] = []
        self._changed = threading.Condition()

        @self.sio.on("*")
        def anything(event: str, data: Any = None) -> None:
            with self._changed:
                self.events.append((event, data))
                self._changed.notify_all()

        self.sio.connect(stack.rasa_url, transports=["polling"], socketio_path="/socket.io", wait_timeout=30)

    def of(self, event: str) -> List[Any]:
        return [d for e, d in self.events if e == event]

    def wait_for(self, event: str, count: int = 1, where: Any = None) -> List[Any]:
        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                found = [d for e, d in self.events if e == event and (where is None or where(d))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event!r} (x{count}) within {WAIT}s; got {self.events!r}")
                self._changed.wait(left)

    def session(self, session_id: Optional[str] = None) -> str:
        before = len(self.of("session_confirm"))
        self.sio.emit("session_request", {"session_id": session_id})
        return self.wait_for("session_confirm", count=before + 1)[-1]

    def say(self, session_id: str, text: str, message_id: str, **metadata: Any) -> Dict[str, Any]:
        """Send and wait until the turn is over (the ack, or an error for this message)."""
        self.sio.emit("user_uttered", {"message": text, "session_id": session_id,
                                       "metadata": {"message_id": message_id, **metadata}})

        def mine(data: Any) -> bool:
            return isinstance(data, dict) and data.get("message_id") == message_id

        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                for event, data in self.events:
                    if event in ("user_uttered_ack", "kefu_error") and mine(data):
                        return {"event": event, **data}
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack or error for {message_id} within {WAIT}s; got {self.events!r}")
                self._changed.wait(left)

    def close(self) -> None:
        # engine.io's close reaches the server at once; not waiting for the client's pending long poll saves up to
        # 30 s (ping interval + 5) per client
        self.sio.eio.disconnect(abort=True)


def history(stack: Stack, session_id: str) -> requests.Response:
    """The widget's history endpoint on the console (no login, public)."""
    return requests.get(f"{stack.env['KEFU_CONSOLE_URL']}/api/public/history",
                        params={"session_id": session_id}, timeout=30)


def rest_say(stack: Stack, sender: str, text: str) -> List[Dict[str, Any]]:
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                             timeout=90)
    assert response.status_code == 200, response.text
    return response.json()


def raw_tracker(stack: Stack, conversation_id: str) -> Dict[str, Any]:
    """A tracker by its exact id (no channel scoping applied), with every event (also before a restart)."""
    from urllib.parse import quote

    response = requests.get(f"{stack.rasa_url}/conversations/{quote(conversation_id, safe=':')}/tracker",
                            params={"token": stack.token, "include_events": "ALL"}, timeout=30)
    response.raise_for_status()
    return response.json()


def events_of(tracker: Dict[str, Any], kind: str) -> List[Dict[str, Any]]:
    return [e for e in tracker.get("events") or [] if e.get("event") == kind]


def settled_tracker(stack: Stack, candidates: List[str], users: int) -> Dict[str, Any]:
    """The tracker of the first candidate id with ``users`` customer messages whose last turn is over
    (scoped id first; the code before the change used the bare id)."""
    deadline = time.monotonic() + WAIT
    while True:
        for conversation_id in candidates:
            tracker = raw_tracker(stack, conversation_id)
            events = tracker.get("events") or []
            if len(events_of(tracker, "user")) >= users and events and events[-1].get("name") == "action_listen":
                return tracker
        if time.monotonic() > deadline:
            raise AssertionError(f"no settled conversation with {users} messages under {candidates}")
        time.sleep(0.3)


def seeded_store(workdir: Any) -> Dict[str, str]:
    """A demo order store (actions/store/demo/*.yml: orders, stock, C0001's bound WeChat openid) for a stack."""
    from actions.store.seed import seed
    from actions.store.sql import SqlStore

    url = f"sqlite:///{workdir / 'store.db'}"
    store = SqlStore(url)
    seed(store)
    store.dispose()
    return {"KEFU_STORE_DB_URL": url}
