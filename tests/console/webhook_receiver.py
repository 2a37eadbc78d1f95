"""A stand-in for the seller's lead webhook, run as its own process by the tests (tests/console/leads.py):
``python tests/console/webhook_receiver.py PORT RECORD_FILE [--fail-first N]``.

Every POST is appended to RECORD_FILE as one JSON line (``ok``, headers, body); the first N POSTs are answered 500
(not accepted: the sender must retry), the rest 200. ``GET /health`` answers 200 for the readiness probe."""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("record")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"seen": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            with lock:
                state["seen"] += 1
                accept = state["seen"] > args.fail_first
                with open(args.record, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"ok": accept, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body.decode("utf-8")}, ensure_ascii=False) + "\n")
            self.send_response(200 if accept else 500)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
