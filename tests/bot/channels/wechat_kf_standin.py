"""A local stand-in for WeCom's 微信客服 API (qyapi.weixin.qq.com), built from the documented protocol.

Endpoints, as documented (docs/wechat.md, "微信客服", names the sources and what is assumed):

- ``GET  /cgi-bin/gettoken?corpid=&corpsecret=``  access_token (errcode 40013 / 40001 on bad values)
- ``POST /cgi-bin/kf/sync_msg?access_token=``    ``{cursor, token, limit, voice_format, open_kfid}`` →
  ``{errcode, errmsg, next_cursor, has_more, msg_list}``; messages in order, ``limit`` at most 1000, a
  ``token`` must be one a callback handed out in the last 10 minutes (95007 otherwise), an unknown
  ``open_kfid`` gets 95000, an unknown cursor 95003 (assumed code);
- ``POST /cgi-bin/kf/send_msg?access_token=``    ``{touser, open_kfid, msgid?, msgtype: text, text}`` →
  ``{errcode, errmsg, msgid}``. Only while the session is in state 0 or 1 (95018 otherwise), within 48
  hours of the customer's last message (95002) and at most 5 messages per customer message (95001);
  content at most 2048 bytes (45002).
- ``POST /cgi-bin/kf/service_state/get`` and ``/trans`` (states 0..4, allowed transitions only: 95016).

Test controls (not WeCom's):

- ``POST /_standin/customer``  ``{open_kfid, external_userid, content}`` (or ``msgtype`` + part): a
  customer message (origin 3); answers ``{msgid, token}``; the token is what the callback would carry
- ``POST /_standin/servicer``  ``{open_kfid, external_userid, content}``: a servicer message (origin 5)
- ``POST /_standin/event``     ``{open_kfid, external_userid, event: {...}}``: a system event (origin 4)
- ``POST /_standin/rewind``    ``{open_kfid}``: the next pull starts from the beginning again, whatever
  cursor it sends (a page sent twice)
- ``POST /_standin/age``       ``{open_kfid, external_userid, hours}``: the customer wrote that long ago
- ``POST /_standin/state``     ``{open_kfid, external_userid, service_state}``: force a session state
- ``GET  /_standin/sent``, ``GET /_standin/calls``, ``POST /_standin/faults``, ``POST /_standin/reset``,
  ``GET /_standin/health``

Run it as a process (``python tests/bot/channels/wechat_kf_standin.py --port 0`` prints
``LISTENING <url>``) or in a thread (:class:`KfStandIn`). Standard library only.
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

CORP_ID = "ww_kf_standin_corp"
SECRET = "standin-kf-secret"
OPEN_KFID = "wk_standin_account"
MAX_CONTENT_BYTES = 2048
TOKEN_SECONDS = 600
WINDOW_SECONDS = 48 * 3600
PER_MESSAGE_QUOTA = 5
#: service_state transitions the documentation allows (94698)
TRANSITIONS = {0: {1, 2, 3, 4}, 1: {2, 3, 4}, 2: {3, 4}, 3: {3, 4}, 4: set()}
SYNC = "/cgi-bin/kf/sync_msg"
SEND = "/cgi-bin/kf/send_msg"


@dataclass
class Fault:
    kind: str  # "errcode" | "http500" | "timeout"
    errcode: int = 0
    count: int = 1
    delay: float = 10.0


@dataclass
class Session:
    state: int = 0
    servicer: str = ""
    last_customer_at: float = 0.0
    quota: int = PER_MESSAGE_QUOTA


@dataclass
class State:
    corp_id: str
    secret: str
    accounts: List[str]
    tokens: Dict[str, float] = field(default_factory=dict)  # access_token -> expires_at
    msg_tokens: Dict[str, float] = field(default_factory=dict)  # callback Token -> expires_at
    log: Dict[str, List[Dict[str, Any]]] = field(default_factory=dict)  # open_kfid -> messages
    cursors: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # cursor -> (open_kfid, position)
    rewound: set = field(default_factory=set)
    sessions: Dict[Tuple[str, str], Session] = field(default_factory=dict)
    sent: List[Dict[str, Any]] = field(default_factory=list)
    calls: List[Dict[str, Any]] = field(default_factory=list)
    faults: Dict[str, List[Fault]] = field(default_factory=dict)
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def session(self, open_kfid: str, user: str) -> Session:
        return self.sessions.setdefault((open_kfid, user), Session())

    def next_fault(self, path: str) -> Optional[Fault]:
        queue = self.faults.get(path) or []
        if not queue:
            return None
        fault = queue[0]
        fault.count -= 1
        if fault.count <= 0:
            queue.pop(0)
        return fault

    def append(self, open_kfid: str, message: Dict[str, Any]) -> Dict[str, Any]:
        self.seq += 1
        message.setdefault("msgid", f"standin{self.seq:08d}{secrets.token_hex(4)}")
        message.setdefault("send_time", int(time.time()))
        self.log.setdefault(open_kfid, []).append(message)
        return message

    def msg_token(self) -> str:
        token = "ENC" + secrets.token_urlsafe(32)
        self.msg_tokens[token] = time.time() + TOKEN_SECONDS
        return token

    def token_error(self, query: Dict[str, str]) -> Optional[Dict[str, Any]]:
        expires = self.tokens.get(query.get("access_token", ""))
        if expires is None:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if expires <= time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None


def _gettoken(state: State, query: Dict[str, str]) -> Dict[str, Any]:
    if query.get("corpid") != state.corp_id:
        return {"errcode": 40013, "errmsg": "invalid corpid"}
    if query.get("corpsecret") != state.secret:
        return {"errcode": 40001, "errmsg": "invalid secret"}
    token = secrets.token_urlsafe(48)
    state.tokens[token] = time.time() + 7200
    return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}


def _sync(state: State, body: Dict[str, Any]) -> Dict[str, Any]:
    open_kfid = str(body.get("open_kfid") or "")
    if open_kfid not in state.accounts:
        return {"errcode": 95000, "errmsg": "invalid open_kfid"}
    token = str(body.get("token") or "")
    if token and state.msg_tokens.get(token, 0) <= time.time():
        return {"errcode": 95007, "errmsg": "invalid msg token"}
    try:
        limit = int(body.get("limit") or 1000)
    except (TypeError, ValueError):
        return {"errcode": 40058, "errmsg": "invalid limit"}
    if not 1 <= limit <= 1000:
        return {"errcode": 40058, "errmsg": "limit out of range"}
    cursor = str(body.get("cursor") or "")
    if open_kfid in state.rewound:
        state.rewound.discard(open_kfid)
        position = 0
    elif cursor:
        known = state.cursors.get(cursor)
        if known is None or known[0] != open_kfid:
            return {"errcode": 95003, "errmsg": "invalid cursor"}
        position = known[1]
    else:
        position = 0
    log = state.log.get(open_kfid, [])
    page = log[position:position + limit]
    end = position + len(page)
    next_cursor = secrets.token_urlsafe(12)
    state.cursors[next_cursor] = (open_kfid, end)
    return {"errcode": 0, "errmsg": "ok", "next_cursor": next_cursor, "has_more": int(end < len(log)),
            "msg_list": page}


def _send(state: State, body: Dict[str, Any]) -> Dict[str, Any]:
    open_kfid = str(body.get("open_kfid") or "")
    user = str(body.get("touser") or "")
    if open_kfid not in state.accounts:
        return {"errcode": 95000, "errmsg": "invalid open_kfid"}
    if not user or (open_kfid, user) not in state.sessions:
        return {"errcode": 40003, "errmsg": "invalid external_userid"}
    if body.get("msgtype") != "text":
        return {"errcode": 40008, "errmsg": "invalid message type"}
    content = (body.get("text") or {}).get("content")
    if not isinstance(content, str) or not content:
        return {"errcode": 44003, "errmsg": "empty content"}
    if len(content.encode("utf-8")) > MAX_CONTENT_BYTES:
        return {"errcode": 45002, "errmsg": "content size out of limit"}
    session = state.sessions[(open_kfid, user)]
    if session.state not in (0, 1):
        return {"errcode": 95018, "errmsg": "send msg session status invalid"}
    if time.time() - session.last_customer_at > WINDOW_SECONDS:
        return {"errcode": 95002, "errmsg": "send msg time limit (48 hours)"}
    if session.quota <= 0:
        return {"errcode": 95001, "errmsg": "send msg count limit (5 per customer message)"}
    session.quota -= 1
    msgid = str(body.get("msgid") or f"sent{secrets.token_hex(8)}")
    state.sent.append({"open_kfid": open_kfid, "touser": user, "content": content, "msgid": msgid, "time": time.time()})
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


def _service_state(state: State, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
    key = (str(body.get("open_kfid") or ""), str(body.get("external_userid") or ""))
    if key[0] not in state.accounts:
        return {"errcode": 95000, "errmsg": "invalid open_kfid"}
    session = state.session(*key)
    if path.endswith("/get"):
        return {"errcode": 0, "errmsg": "ok", "service_state": session.state, "servicer_userid": session.servicer}
    target = int(body.get("service_state") or 0)
    if target not in TRANSITIONS.get(session.state, set()):
        return {"errcode": 95016, "errmsg": "invalid service state transition"}
    session.state = target
    session.servicer = str(body.get("servicer_userid") or "") if target == 3 else ""
    return {"errcode": 0, "errmsg": "ok"}


def make_handler(state: State) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, payload: Any) -> None:
            raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            path = parts.path
            if path.startswith("/_standin/"):
                with state.lock:
                    status, answer = _control(state, method, path, body if isinstance(body, dict) else {})
                self._reply(status, answer)
                return
            with state.lock:
                fault = state.next_fault(path)
                call = {"method": method, "path": path, "body": body, "time": time.time()}
                state.calls.append(call)
            if fault and fault.kind == "timeout":
                time.sleep(fault.delay)
                self._reply(200, {"errcode": -1, "errmsg": "system busy"})
                return
            if fault and fault.kind == "http500":
                self._reply(500, {"errcode": -1, "errmsg": "internal error"})
                return
            with state.lock:
                if fault:
                    answer: Dict[str, Any] = {"errcode": fault.errcode, "errmsg": f"injected error {fault.errcode}"}
                elif method == "GET" and path == "/cgi-bin/gettoken":
                    answer = _gettoken(state, query)
                elif method == "POST" and path.startswith("/cgi-bin/kf/"):
                    if not isinstance(body, dict):
                        answer = {"errcode": 47001, "errmsg": "data format error"}
                    else:
                        answer = state.token_error(query) or (
                            _sync(state, body) if path == SYNC else _send(state, body) if path == SEND
                            else _service_state(state, path, body) if path.startswith("/cgi-bin/kf/service_state/")
                            else {"errcode": 404, "errmsg": "no such api"}
                        )
                else:
                    answer = {"errcode": 404, "errmsg": "no such api"}
                call["answer"] = answer.get("errcode", 0)
            self._reply(200, answer)

    return Handler


def _control(state: State, method: str, path: str, body: Dict[str, Any]) -> Tuple[int, Any]:
    open_kfid = str(body.get("open_kfid") or (state.accounts[0] if state.accounts else ""))
    user = str(body.get("external_userid") or "")
    if path == "/_standin/health":
        return 200, {"status": "ok"}
    if path == "/_standin/sent":
        return 200, list(state.sent)
    if path == "/_standin/calls":
        return 200, list(state.calls)
    if method != "POST":
        return 404, {"error": "unknown control endpoint"}
    if path == "/_standin/customer":
        msgtype = str(body.get("msgtype") or "text")
        part = body.get(msgtype) if msgtype != "text" else {"content": str(body.get("content") or "")}
        message = state.append(open_kfid, {"open_kfid": open_kfid, "external_userid": user, "origin": 3,
                                           "msgtype": msgtype, msgtype: part or {}})
        session = state.session(open_kfid, user)
        session.last_customer_at, session.quota = time.time(), PER_MESSAGE_QUOTA
        if session.state == 4:
            session.state = 0
        return 200, {"msgid": message["msgid"], "token": state.msg_token()}
    if path == "/_standin/servicer":
        message = state.append(open_kfid, {"open_kfid": open_kfid, "external_userid": user, "origin": 5,
                                           "servicer_userid": "standin_servicer", "msgtype": "text",
                                           "text": {"content": str(body.get("content") or "")}})
        return 200, {"msgid": message["msgid"], "token": state.msg_token()}
    if path == "/_standin/event":
        event = {"open_kfid": open_kfid, "external_userid": user, **(body.get("event") or {})}
        message = state.append(open_kfid, {"origin": 4, "msgtype": "event", "event": event})
        if event.get("event_type") == "session_status_change":
            session = state.session(open_kfid, user)
            change = int(event.get("change_type") or 0)
            session.state, session.servicer = (4, "") if change == 3 else (3, str(event.get("new_servicer_userid") or ""))
        return 200, {"msgid": message["msgid"], "token": state.msg_token()}
    if path == "/_standin/rewind":
        state.rewound.add(open_kfid)
        return 200, {"ok": True}
    if path == "/_standin/age":
        session = state.session(open_kfid, user)
        session.last_customer_at -= float(body.get("hours") or 0) * 3600
        return 200, {"ok": True}
    if path == "/_standin/state":
        session = state.session(open_kfid, user)
        session.state = int(body.get("service_state") or 0)
        return 200, {"ok": True}
    if path == "/_standin/faults":
        fault = Fault(str(body.get("kind", "errcode")), int(body.get("errcode", 0)), int(body.get("count", 1)),
                      float(body.get("delay", 10.0)))
        state.faults.setdefault(str(body.get("path") or SEND), []).append(fault)
        return 200, {"ok": True}
    if path == "/_standin/reset":
        state.sent.clear()
        state.calls.clear()
        state.faults.clear()
        return 200, {"ok": True}
    return 404, {"error": "unknown control endpoint"}


class KfStandIn:
    """The stand-in in a background thread."""

    def __init__(self, corp_id: str = CORP_ID, secret: str = SECRET, accounts: Optional[List[str]] = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = State(corp_id, secret, list(accounts or [OPEN_KFID]))
        self.server = ThreadingHTTPServer((host, port), make_handler(self.state))
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> KfStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def control(self, endpoint: str, **body: Any) -> Any:
        with self.state.lock:
            status, answer = _control(self.state, "POST", f"/_standin/{endpoint}", body)
        assert status == 200, answer
        return answer

    def sent(self, user: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.state.lock:
            return [m for m in self.state.sent if user is None or m["touser"] == user]

    def calls(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.state.lock:
            return [c for c in self.state.calls if path is None or c["path"] == path]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for WeCom's 微信客服 API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--corp-id", default=CORP_ID)
    parser.add_argument("--secret", default=SECRET)
    parser.add_argument("--accounts", default=OPEN_KFID, help="comma-separated open_kfids")
    args = parser.parse_args(argv)
    standin = KfStandIn(args.corp_id, args.secret, [a for a in args.accounts.split(",") if a], args.host, args.port)
    print(f"LISTENING {standin.url}", flush=True)
    try:
        standin.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
