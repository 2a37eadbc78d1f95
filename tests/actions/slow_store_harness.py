"""A slow order system and the real action server, for tests/actions/test_nonblocking.py and benchmarks/slow_store.py.

- :class:`SlowOrderSystem`: the store's reference REST server (actions/store/server.py, over a seeded SQLite demo
  store) in a thread of this process, with two ways to be slow: ``gate`` holds every request until the test calls
  :meth:`SlowOrderSystem.release` (the test sees each arrival), ``delay`` sleeps that many seconds before each answer
  (a 5-second order system).
- :class:`ActionServer`: ``python -m actions.server --actions actions`` (every Kefu action, the knowledge base loaded
  before ``/health`` answers) as a process on a free port, with the HTTP store adapter pointed at the slow order
  system. ``root`` selects the source tree, so the same harness measures an older checkout (a ``git worktree``).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import SplitResult

import httpx

from actions.store.seed import seed
from actions.store.server import make_handler, make_server
from actions.store.sql import SqlStore
from knowledge_base.config import load_config
from knowledge_base.serving.runtime import current_dir
from tests.harness import Command, HttpReady, ServerProcess, environ_without, free_port

ROOT = Path(__file__).resolve().parents[2]
KB_DIR = load_config().output_dir
MAX_HOLD = 120.0  # a gated request is answered after this even without release (a test that died)


def kb_missing_reason() -> Optional[str]:
    if current_dir(KB_DIR) is None:
        return f"no knowledge-base build under {KB_DIR}: run `make kb` (make test does)"
    return None


def seeded_store_url(directory: Path) -> str:
    url = f"sqlite:///{directory / 'store.db'}"
    store = SqlStore(url)
    seed(store)
    store.dispose()
    return url


class SlowOrderSystem:
    """The reference order system, slowed down (``gate`` or ``delay``), serving on a free port in a thread."""

    def __init__(self, store_url: str, *, gate: bool = False, delay: float = 0.0) -> None:
        self.store = SqlStore(store_url)
        self.gate = gate
        self.delay = delay
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.arrivals: List[str] = []  # request paths, in arrival order
        self.answered: List[str] = []  # request paths, in answer order
        system = self

        class Handler(make_handler(self.store, None)):  # type: ignore[misc]
            def respond(self, method: str, url: SplitResult, body: bytes) -> None:
                system._before_answer(url.path)
                super().respond(method, url, body)
                with system._lock:
                    system.answered.append(url.path)

        self.server = make_server(Handler, "127.0.0.1", 0)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/api/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, name="slow-order-system", daemon=True)

    def _before_answer(self, path: str) -> None:
        with self._arrived:
            self.arrivals.append(path)
            self._arrived.notify_all()
        if self.gate:
            self._released.wait(MAX_HOLD)
        elif self.delay:
            time.sleep(self.delay)

    def start(self) -> SlowOrderSystem:
        self._thread.start()
        return self

    def wait_for_arrival(self, fragment: str, timeout: float = 60.0) -> bool:
        """True once a request whose path contains ``fragment`` has arrived (a deadline, not a measurement)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not any(fragment in path for path in self.arrivals):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def answered_count(self, fragment: str) -> int:
        with self._lock:
            return sum(fragment in path for path in self.answered)

    def release(self) -> None:
        self._released.set()

    def hold(self) -> None:
        """Gate again: later requests wait for the next :meth:`release`; the arrival and answer logs restart."""
        with self._lock:
            self.arrivals.clear()
            self.answered.clear()
        self._released.clear()

    def arrived_count(self, fragment: str) -> int:
        with self._lock:
            return sum(fragment in path for path in self.arrivals)

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
        self.store.dispose()


class ActionServer:
    """Kefu's action server (all actions) as a process, its store on ``store_base`` over HTTP."""

    def __init__(self, workdir: Path, store_base: str, *, root: Path = ROOT, read_timeout: Optional[float] = None,
                 env_extra: Optional[Dict[str, str]] = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "actions.log"
        env = environ_without()
        env.update({
            "PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1", "SANIC_HOST": "127.0.0.1", "KEFU_DEMO": "true",
            "KEFU_VAR_DIR": str(workdir / "var"), "KEFU_KB_DIR": str(KB_DIR),
            "KEFU_APP_DB_URL": f"sqlite:///{workdir / 'app.db'}",
            "KEFU_CONSOLE_URL": f"http://127.0.0.1:{free_port()}",  # no console: handoffs are not exercised here
            "KEFU_STORE_BACKEND": "http", "KEFU_STORE_HTTP_BASE": store_base,
            "KEFU_VERIFY_BACKEND": "memory",
        })
        if read_timeout is not None:
            env["KEFU_STORE_HTTP_TIMEOUT"] = str(read_timeout)
        env.update(env_extra or {})
        self.env = env
        self.process: Optional[ServerProcess] = None

    def start(self, timeout: float = 240.0) -> ActionServer:
        """Start and wait for /health (the knowledge base is loaded first); an exit raises with its output."""
        command = Command(
            "action server",
            [str(ROOT / ".venv/bin/python"), "-m", "actions.server", "--actions", "actions", "--port", str(self.port)],
            self.env, HttpReady(f"{self.url}/health", below=300), cwd=self.root,
        )
        self.process = ServerProcess.start(command, self.log_path)
        try:
            self.process.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def tracker(sender: str, text: str, slots: Dict[str, Any], intent: str = "inform") -> Dict[str, Any]:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "metadata": {}}
    return {
        "sender_id": sender, "slots": slots, "paused": False, "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest, "input_channel": "rest", "metadata": {}}],
        "latest_event_time": time.time(), "latest_action_name": "action_listen", "active_loop": {},
        "followup_action": None, "latest_input_channel": "rest",
    }


def action_call(action: str, sender: str, text: str, slots: Dict[str, Any], intent: str = "inform") -> Dict[str, Any]:
    return {"next_action": action, "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": tracker(sender, text, slots, intent)}


def order_status_call(sender: str, order_id: str, customer_id: str) -> Dict[str, Any]:
    """``action_order_status`` for a customer verified by phone in this conversation: it reads the order."""
    slots = {"language": "zh-Hans", "order_id": order_id, "order_verified": order_id,
             "verified_customer_id": customer_id, "verified_via": "phone", "verified_at": time.time(),
             "verified_conversation": sender}
    return action_call("action_order_status", sender, order_id, slots, intent="order_status")


def faq_call(sender: str, text: str, language: str = "zh-Hans") -> Dict[str, Any]:
    return action_call("action_answer_faq", sender, text, {"language": language}, intent="faq")


def texts(answer: Dict[str, Any]) -> List[str]:
    return [str(r.get("text") or "") for r in answer.get("responses", [])]


def post(client: httpx.Client, server: ActionServer, body: Dict[str, Any], timeout: float) -> Dict[str, Any]:
    response = client.post(f"{server.url}/webhook", json=body, timeout=timeout)
    response.raise_for_status()
    return response.json()
