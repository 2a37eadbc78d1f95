"""Test-only: the store's reference server (actions/store/server.py) with faults injected around it.

``python -m tests.actions.store.faulty_server --url URL --port N [--token T]`` serves the same REST
contract as ``python -m actions.store serve`` and also accepts
``POST /_faults {"mode": "none|slow|error|garbage|wrong_shape", "delay": 2.0}``: every later request
is then delayed by ``delay`` seconds before the real answer (``slow``), answered 500 (``error``),
with a body that is not JSON (``garbage``) or with JSON of the wrong shape (``wrong_shape``). The
HTTP adapter's tests use it for its timeouts, retries and circuit breaker
(tests/actions/store/test_http_store.py, through ``StoreServer`` in tests/actions/store/conftest.py). The product
server has no such switch: the faults live here, around its ``respond``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Type
from urllib.parse import SplitResult

from actions.store.server import StoreRequestHandler, make_handler, serve
from actions.store.sql import SqlStore

MODES: Tuple[str, ...] = ("none", "slow", "error", "garbage", "wrong_shape")
FAULTS_PATH = "/_faults"
MAX_DELAY = 30.0


@dataclass
class Faults:
    """The fault every request gets now; changed by ``POST /_faults``, shared by the server's threads."""

    mode: str = "none"
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, mode: str, delay: float) -> None:
        with self.lock:
            self.mode, self.delay = mode, delay

    def now(self) -> Tuple[str, float]:
        with self.lock:
            return self.mode, self.delay


class FaultSpecError(ValueError):
    """A ``POST /_faults`` body that names no known mode or a bad delay."""


def parse_fault(body: bytes) -> Tuple[str, float]:
    """``{"mode": "slow", "delay": 1.5}`` -> ("slow", 1.5); an empty body means no fault."""
    try:
        cfg = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FaultSpecError("body must be JSON") from exc
    if not isinstance(cfg, dict):
        raise FaultSpecError("body must be a JSON object")
    mode = cfg.get("mode", "none")
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {', '.join(MODES)}")
    delay = cfg.get("delay", 0.0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY:
        raise FaultSpecError(f"delay must be a number of seconds from 0 to {MAX_DELAY:g}")
    return str(mode), float(delay)


def with_faults(handler: Type[StoreRequestHandler], faults: Faults) -> Type[StoreRequestHandler]:
    """``handler`` with ``POST /_faults`` and the current fault applied before its own answer."""

    class FaultyHandler(handler):  # type: ignore[misc, valid-type]
        def respond(self, method: str, url: SplitResult, body: bytes) -> None:
            if url.path == FAULTS_PATH and method == "POST":
                try:
                    mode, delay = parse_fault(body)
                except FaultSpecError as exc:
                    self.send_json(400, {"error": {"code": "bad_request", "message": str(exc)}})
                    return
                faults.set(mode, delay)
                self.send_json(200, {"mode": mode, "delay": delay})
                return
            mode, delay = faults.now()
            if mode == "slow":
                time.sleep(delay)
            elif mode == "error":
                self.send_json(500, {"error": {"code": "internal", "message": "injected failure"}})
                return
            elif mode == "garbage":
                self.send_body(200, b"<html>\x00 not json {{{", "application/json")
                return
            elif mode == "wrong_shape":
                self.send_json(200, {"order_id": 12345, "status": None})
                return
            super().respond(method, url, body)

    return FaultyHandler


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.actions.store.faulty_server", description=__doc__)
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a seeded store database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="", help="bearer token to require (none when empty)")
    args = parser.parse_args(argv)
    store = SqlStore(args.url)
    if not store.has_data():
        print("error: the store database is empty; seed it first", file=sys.stderr)
        return 1
    serve(
        with_faults(make_handler(store, args.token or None), Faults()),
        args.host,
        args.port,
        ready=lambda port: print(f"listening on http://{args.host}:{port}/api/v1", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
