"""Reference HTTP server for the store REST contract (docs/store-api.md), on top of the SQL backend.

`python -m actions.store serve --port 8091` serves the demo database so the HTTP
adapter can be run against a real process. The request handler reads the request in
``_dispatch`` and answers it in ``respond``; tests that need a slow or broken server wrap
``respond`` (tests/actions/store/faulty_server.py), the product has no fault switches.
"""

from __future__ import annotations

import json
import logging
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Optional, Tuple, Type
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from actions.store.codec import from_json, to_json
from actions.store.sql import SqlStore
from actions.store.types import RestockRequest, StoreInputError, StoreUnavailable

log = logging.getLogger("kefu.store.server")
PREFIX = "/api/v1"
MAX_BODY = 16 * 1024


class _Handled(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


Route = Tuple[str, "re.Pattern[str]", str]
ROUTES: Tuple[Route, ...] = (
    ("GET", re.compile(r"^/health$"), "health"),
    ("GET", re.compile(r"^/orders/([^/]+)$"), "order"),
    ("GET", re.compile(r"^/customers/([^/]+)$"), "customer"),
    ("GET", re.compile(r"^/customers/([^/]+)/orders$"), "customer_orders"),
    ("GET", re.compile(r"^/customers/([^/]+)/coupons$"), "customer_coupons"),
    ("GET", re.compile(r"^/channel-identities/([^/]+)/([^/]+)$"), "channel_identity"),
    ("GET", re.compile(r"^/catalogue$"), "catalogue"),
    ("GET", re.compile(r"^/locations$"), "locations"),
    ("GET", re.compile(r"^/stock/([^/]+)$"), "stock"),
    ("POST", re.compile(r"^/restock-subscriptions$"), "restock"),
    ("GET", re.compile(r"^/restock-subscriptions$"), "restock_list"),
)


class StoreRequestHandler(BaseHTTPRequestHandler):
    """The HTTP plumbing: read the request (``_dispatch``), then :meth:`respond`; JSON replies."""

    protocol_version = "HTTP/1.1"
    server_version = "KefuStoreReference/1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: one debug line per request
        log.debug("%s %s", self.address_string(), fmt % args)

    def send_body(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: Any) -> None:
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = b""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_json(413, {"error": {"code": "too_large", "message": "request body too large"}})
            return
        if length:
            body = self.rfile.read(length)
        self.respond(method, url, body)

    def respond(self, method: str, url: SplitResult, body: bytes) -> None:
        """Answer one request whose body has been read."""
        raise NotImplementedError


def make_handler(store: SqlStore, token: Optional[str]) -> Type[StoreRequestHandler]:
    """The handler of the REST contract over ``store``; ``token``: the bearer token to require, if any."""

    class Handler(StoreRequestHandler):
        def respond(self, method: str, url: SplitResult, body: bytes) -> None:
            """Authentication, then the routes."""
            if token and self.headers.get("Authorization") != f"Bearer {token}":
                self.send_json(401, {"error": {"code": "unauthorized", "message": "missing or wrong bearer token"}})
                return
            if not url.path.startswith(PREFIX):
                self.send_json(404, {"error": {"code": "no_route", "message": "unknown path"}})
                return
            path = url.path[len(PREFIX) :]
            query = parse_qs(url.query)
            for verb, pattern, name in ROUTES:
                m = pattern.match(path)
                if m and verb == method:
                    try:
                        status, payload = getattr(self, f"r_{name}")(
                            *(unquote(g) for g in m.groups()), query=query, body=body
                        )
                    except _Handled as exc:
                        self.send_json(exc.status, {"error": {"code": exc.code, "message": exc.message}})
                    except StoreInputError as exc:
                        self.send_json(400, {"error": {"code": "bad_request", "message": str(exc)}})
                    except StoreUnavailable as exc:
                        log.warning("store backend failed: %s", exc)
                        self.send_json(503, {"error": {"code": "unavailable", "message": "backend unavailable"}})
                    else:
                        self.send_json(status, payload)
                    return
            self.send_json(404 if method == "GET" else 405, {"error": {"code": "no_route", "message": "unknown path"}})

        @staticmethod
        def _found(value: Any, what: str) -> Tuple[int, Any]:
            if value is None:
                raise _Handled(404, "not_found", f"{what} not found")
            return 200, to_json(value)

        def r_health(self, **_: Any) -> Tuple[int, Any]:
            return (200, {"status": "ok"}) if store.health() else (503, {"status": "down"})

        def r_order(self, order_id: str, **_: Any) -> Tuple[int, Any]:
            return self._found(store.get_order(order_id), "order")

        def r_customer(self, customer_id: str, **_: Any) -> Tuple[int, Any]:
            return self._found(store.get_customer(customer_id), "customer")

        def r_customer_orders(self, customer_id: str, query: Dict[str, Any], **_: Any) -> Tuple[int, Any]:
            raw = (query.get("limit") or ["5"])[0]
            if not raw.isdigit():
                raise _Handled(400, "bad_request", "limit must be a number")
            return 200, {"orders": to_json(list(store.recent_orders(customer_id, int(raw))))}

        def r_customer_coupons(self, customer_id: str, **_: Any) -> Tuple[int, Any]:
            return 200, {"coupons": to_json(list(store.coupons_for_customer(customer_id)))}

        def r_channel_identity(self, channel: str, external_id: str, **_: Any) -> Tuple[int, Any]:
            customer = store.find_customer_by_channel(channel, external_id)
            if customer is None:
                raise _Handled(404, "not_found", "identity not bound")
            return 200, {"customer": to_json(customer)}

        def r_catalogue(self, **_: Any) -> Tuple[int, Any]:
            return 200, to_json(store.catalogue())

        def r_locations(self, **_: Any) -> Tuple[int, Any]:
            return 200, {"locations": to_json(list(store.locations()))}

        def r_stock(self, sku_code: str, **_: Any) -> Tuple[int, Any]:
            return 200, {"sku_code": sku_code, "levels": to_json(list(store.stock_for_sku(sku_code)))}

        def r_restock(self, body: bytes, **_: Any) -> Tuple[int, Any]:
            try:
                raw = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _Handled(400, "bad_request", "body must be JSON") from exc
            try:
                request = from_json(RestockRequest, raw)
            except StoreUnavailable as exc:  # the codec's strict-decoding error
                raise _Handled(400, "bad_request", str(exc)) from exc
            sub = store.add_restock_subscription(request)
            return (201 if sub.created else 200), to_json(sub)

        def r_restock_list(self, query: Dict[str, Any], **_: Any) -> Tuple[int, Any]:
            try:
                after_id = int((query.get("after_id") or ["0"])[0])
                limit = int((query.get("limit") or ["500"])[0])
            except ValueError as exc:
                raise _Handled(400, "bad_request", "after_id and limit must be integers") from exc
            return 200, {"subscriptions": to_json(list(store.list_restock_subscriptions(after_id, limit)))}

    return Handler


def make_server(handler: Type[StoreRequestHandler], host: str, port: int) -> ThreadingHTTPServer:
    """A threading server for ``handler`` (from :func:`make_handler`, or a test's wrapper of it)."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(
    handler: Type[StoreRequestHandler],
    host: str,
    port: int,
    ready: Optional[Callable[[int], None]] = None,
) -> None:
    """Serve until interrupted; ``ready`` gets the bound port once the socket listens."""
    server = make_server(handler, host, port)
    bound = server.server_address[1]
    log.info("store reference server listening on http://%s:%s%s", host, bound, PREFIX)
    if ready:
        ready(bound)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
