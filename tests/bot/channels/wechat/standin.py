"""A local stand-in for WeChat's and WeCom's API servers (api.weixin.qq.com, qyapi.weixin.qq.com).

It answers like the real servers for the endpoints Kefu uses, records every
call, and fails on demand:

- ``GET  /cgi-bin/token``              (Official Account access_token)
- ``POST /cgi-bin/message/custom/send`` (Official Account customer-service message)
- ``GET  /cgi-bin/gettoken``           (WeCom access_token)
- ``POST /cgi-bin/message/send``       (WeCom app message)

Control endpoints (test only):

- ``GET  /_standin/calls``   every call: path, query, JSON body, errcode answered
- ``GET  /_standin/sent``    the messages accepted for delivery
- ``POST /_standin/faults``  ``{"path": ..., "kind": "timeout"|"errcode"|"http500", "errcode": 45015, "count": 1, "delay": 8}``
- ``POST /_standin/expire_tokens``  every issued token now answers 42001
- ``POST /_standin/reset``

Run it as a process (``python tests/bot/channels/wechat/standin.py --port 0`` prints
``LISTENING <url>``), or in a thread with :meth:`StandIn.start`. Standard
library only, so either virtualenv can run it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

MAX_CONTENT_BYTES = 2048
OA_SEND = "/cgi-bin/message/custom/send"
WECOM_SEND = "/cgi-bin/message/send"


@dataclass
class Fault:
    kind: str  # "timeout" | "errcode" | "http500"
    errcode: int = 0
    count: int = 1
    delay: float = 10.0


@dataclass
class State:
    appid: str
    secret: str
    corp_id: str
    corp_secret: str
    expires_in: int
    tokens: Dict[str, Tuple[str, float]] = field(default_factory=dict)  # token -> (owner, expires_at)
    expired: set = field(default_factory=set)
    calls: List[Dict[str, Any]] = field(default_factory=list)
    sent: List[Dict[str, Any]] = field(default_factory=list)
    faults: Dict[str, List[Fault]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, path: str) -> Optional[Fault]:
        with self.lock:
            queue = self.faults.get(path) or []
            if not queue:
                return None
            fault = queue[0]
            fault.count -= 1
            if fault.count <= 0:
                queue.pop(0)
            return fault

    def issue(self, owner: str) -> Dict[str, Any]:
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = (owner, time.time() + self.expires_in)
        return {"access_token": token, "expires_in": self.expires_in}

    def token_error(self, token: str, owner: str) -> Optional[Dict[str, Any]]:
        with self.lock:
            known = self.tokens.get(token)
            if token in self.expired or (known and known[1] <= time.time()):
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if not known or known[0] != owner:
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
        return None


def _answer_token(state: State, query: Dict[str, str]) -> Dict[str, Any]:
    if query.get("grant_type") != "client_credential":
        return {"errcode": 40002, "errmsg": "invalid grant_type"}
    if query.get("appid") != state.appid:
        return {"errcode": 40013, "errmsg": "invalid appid"}
    if query.get("secret") != state.secret:
        return {"errcode": 40125, "errmsg": "invalid appsecret"}
    return state.issue("wechat")


def _answer_gettoken(state: State, query: Dict[str, str]) -> Dict[str, Any]:
    if query.get("corpid") != state.corp_id:
        return {"errcode": 40013, "errmsg": "invalid corpid"}
    if query.get("corpsecret") != state.corp_secret:
        return {"errcode": 40001, "errmsg": "invalid secret"}
    return {"errcode": 0, "errmsg": "ok", **state.issue("wecom")}


def _answer_send(state: State, path: str, query: Dict[str, str], body: Any) -> Dict[str, Any]:
    owner = "wechat" if path == OA_SEND else "wecom"
    error = state.token_error(query.get("access_token", ""), owner)
    if error:
        return error
    if not isinstance(body, dict) or not body.get("touser") or body.get("msgtype") != "text":
        return {"errcode": 44002, "errmsg": "empty post data or invalid message"}
    if owner == "wecom" and not body.get("agentid"):
        return {"errcode": 40056, "errmsg": "invalid agentid"}
    content = (body.get("text") or {}).get("content")
    if not isinstance(content, str) or not content:
        return {"errcode": 44003, "errmsg": "empty news data"}
    if len(content.encode("utf-8")) > MAX_CONTENT_BYTES:
        return {"errcode": 45002, "errmsg": "content size out of limit"}
    with state.lock:
        state.sent.append({"api": owner, "touser": body["touser"], "content": content, "time": time.time()})
    return {"errcode": 0, "errmsg": "ok"} if owner == "wechat" else {"errcode": 0, "errmsg": "ok", "invaliduser": ""}


def make_handler(state: State) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: Any) -> None:
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _request(self) -> Tuple[str, Dict[str, str], Any]:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
            return parts.path, query, body

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            path, query, body = self._request()
            if path.startswith("/_standin/"):
                self._control(method, path, body)
                return
            fault = state.next_fault(path)
            call = {"method": method, "path": path, "query": query, "body": body, "time": time.time()}
            if fault and fault.kind == "timeout":
                call["answer"] = "timeout"
                with state.lock:
                    state.calls.append(call)
                time.sleep(fault.delay)
                try:
                    self._send(200, {"errcode": -1, "errmsg": "system busy (late answer after a timeout)"})
                except OSError:
                    pass
                return
            if fault and fault.kind == "http500":
                answer: Any = {"errcode": -1, "errmsg": "internal error"}
                status = 500
            elif fault and fault.kind == "errcode":
                answer, status = {"errcode": fault.errcode, "errmsg": f"injected error {fault.errcode}"}, 200
            elif method == "GET" and path == "/cgi-bin/token":
                answer, status = _answer_token(state, query), 200
            elif method == "GET" and path == "/cgi-bin/gettoken":
                answer, status = _answer_gettoken(state, query), 200
            elif method == "POST" and path in (OA_SEND, WECOM_SEND):
                answer, status = _answer_send(state, path, query, body), 200
            else:
                answer, status = {"errcode": 404, "errmsg": "no such api"}, 404
            call["answer"] = answer.get("errcode", 0) if isinstance(answer, dict) else answer
            with state.lock:
                state.calls.append(call)
            self._send(status, answer)

        def _control(self, method: str, path: str, body: Any) -> None:
            if path == "/_standin/health":
                self._send(200, {"status": "ok"})
            elif path == "/_standin/calls":
                with state.lock:
                    self._send(200, list(state.calls))
            elif path == "/_standin/sent":
                with state.lock:
                    self._send(200, list(state.sent))
            elif path == "/_standin/faults" and method == "POST" and isinstance(body, dict):
                fault = Fault(
                    kind=str(body.get("kind", "errcode")),
                    errcode=int(body.get("errcode", 0)),
                    count=int(body.get("count", 1)),
                    delay=float(body.get("delay", 10.0)),
                )
                with state.lock:
                    state.faults.setdefault(str(body["path"]), []).append(fault)
                self._send(200, {"ok": True})
            elif path == "/_standin/expire_tokens" and method == "POST":
                with state.lock:
                    state.expired.update(state.tokens)
                self._send(200, {"ok": True})
            elif path == "/_standin/reset" and method == "POST":
                with state.lock:
                    state.calls.clear()
                    state.sent.clear()
                    state.faults.clear()
                self._send(200, {"ok": True})
            else:
                self._send(404, {"error": "unknown control endpoint"})

    return Handler


class StandIn:
    """The stand-in in a background thread (for unit tests)."""

    def __init__(
        self,
        appid: str = "wx_standin_appid",
        secret: str = "standin-app-secret",
        corp_id: str = "ww_standin_corp",
        corp_secret: str = "standin-corp-secret",
        expires_in: int = 7200,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = State(appid, secret, corp_id, corp_secret, expires_in)
        self.server = ThreadingHTTPServer((host, port), make_handler(self.state))
        self.server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandIn:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, path: str, kind: str, errcode: int = 0, count: int = 1, delay: float = 10.0) -> None:
        with self.state.lock:
            self.state.faults.setdefault(path, []).append(Fault(kind, errcode, count, delay))

    def calls(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.state.lock:
            return [c for c in self.state.calls if path is None or c["path"] == path]

    def sent(self) -> List[Dict[str, Any]]:
        with self.state.lock:
            return list(self.state.sent)

    def expire_tokens(self) -> None:
        with self.state.lock:
            self.state.expired.update(self.state.tokens)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for the WeChat / WeCom API servers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--appid", default="wx_standin_appid")
    parser.add_argument("--secret", default="standin-app-secret")
    parser.add_argument("--corp-id", default="ww_standin_corp")
    parser.add_argument("--corp-secret", default="standin-corp-secret")
    parser.add_argument("--expires-in", type=int, default=7200)
    args = parser.parse_args(argv)
    standin = StandIn(args.appid, args.secret, args.corp_id, args.corp_secret, args.expires_in, args.host, args.port)
    print(f"LISTENING {standin.url}", flush=True)
    try:
        standin.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
