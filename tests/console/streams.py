"""An agent's live stream (GET /api/stream) read in a thread, remembering when the server ended it,
and the console's account CLI run as a process (``python -m console users ...``)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any, Dict, List, Optional

import httpx

from tests.console.process import ROOT, Console


class Stream:
    """``GET /api/stream`` with ``client``'s cookies; ``ended`` is set when the server closes it."""

    def __init__(self, url: str, cookies: httpx.Cookies) -> None:
        self.events: queue.Queue[Dict[str, Any]] = queue.Queue()
        self.seen: List[Dict[str, Any]] = []
        self.ended = threading.Event()
        self.status: Optional[int] = None
        self.error: Optional[str] = None
        self.url, self.cookies = url, cookies
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with httpx.Client(base_url=self.url, cookies=self.cookies, timeout=httpx.Timeout(5.0, read=None)) as client:
                with client.stream("GET", "/api/stream") as response:
                    self.status = response.status_code
                    name = None
                    for line in response.iter_lines():
                        if line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            try:
                                data = json.loads(line[6:])
                            except ValueError:
                                data = line[6:]
                            self.events.put({"event": name, "data": data})
        except httpx.HTTPError as error:
            self.error = type(error).__name__
        finally:
            self.ended.set()

    def next(self, kind: str, timeout: float = 30.0, where: Any = None) -> Optional[Dict[str, Any]]:
        """The next ``kind`` event (matching ``where(data)``), or None after ``timeout`` (a deadline)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.events.get(timeout=max(0.05, min(0.5, deadline - time.monotonic())))
            except queue.Empty:
                continue
            self.seen.append(item)
            if item["event"] == kind and (where is None or where(item["data"])):
                return item["data"]
        return None


def stream_of(console: Console, user: str) -> Stream:
    client = console.login(user)
    stream = Stream(console.url, client.cookies)
    assert stream.next("hello"), f"no hello on {user}'s stream (status {stream.status}, error {stream.error})"
    return stream


def users_cli(console: Console, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``python -m console users ARGS`` against ``console``'s database (same environment)."""
    return subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "console", "users", *args], cwd=str(ROOT),
                          env=console.env, input=stdin, capture_output=True, text=True, timeout=120)
