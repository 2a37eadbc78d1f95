"""deploy/docker/healthcheck.py, the containers' health probe, against a real HTTP server."""

from __future__ import annotations

import importlib.util
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Iterator, List

import pytest

from tests.deploy import assets


def _load() -> ModuleType:
    path = assets.ROOT / "deploy" / "docker" / "healthcheck.py"
    spec = importlib.util.spec_from_file_location("kefu_healthcheck", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = _load()


class _Handler(BaseHTTPRequestHandler):
    seen: List[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        _Handler.seen.append(self.path)
        status = 503 if self.path.startswith("/down") else 200
        body = b'{"status":"ok"}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.seen = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthy_answer_exits_0(server: str) -> None:
    assert healthcheck.main([f"{server}/health"]) == 0


def test_error_status_exits_1(server: str) -> None:
    assert healthcheck.main([f"{server}/down"]) == 1


def test_refused_connection_exits_1() -> None:
    assert healthcheck.main([f"http://127.0.0.1:{_closed_port()}/health", "--timeout", "2"]) == 1


def test_token_comes_from_the_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_TEST_TOKEN", "s3cret&=")
    assert healthcheck.main([f"{server}/status", "--token-env", "KEFU_TEST_TOKEN"]) == 0
    assert _Handler.seen == ["/status?token=s3cret%26%3D"]


def test_missing_token_exits_1_without_a_request(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEFU_TEST_TOKEN", raising=False)
    assert healthcheck.main([f"{server}/status", "--token-env", "KEFU_TEST_TOKEN"]) == 1
    assert _Handler.seen == []


def test_token_joins_an_existing_query() -> None:
    assert healthcheck.target("http://h/status?x=1", "t") == "http://h/status?x=1&token=t"
    assert healthcheck.target("http://h/", None) == "http://h/"
