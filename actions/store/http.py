"""HTTP store backend: an adapter for a seller's order system (contract: docs/store-api.md).

Built on ``httpx`` (a synchronous ``httpx.Client``, thread-safe, with one connection pool) with a
per-request timeout, retries with exponential backoff for idempotent GETs, a cap on the response size, and a
circuit breaker that fails fast while the seller's system is down. Its calls are blocking: the actions run them
in the action server's I/O thread pool (:func:`actions.store.offload.offload`), never on the event loop, so a
slow order system delays only the conversations that wait for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import quote

import httpx

from actions.store.codec import from_json, to_json
from actions.store.types import (
    Catalogue,
    Coupon,
    Customer,
    Location,
    Order,
    RestockRequest,
    RestockSubscription,
    StockLevel,
    StoreInputError,
    StoreUnavailable,
)
from actions.store.validation import (
    check_channel_identity,
    check_customer_id,
    check_limit,
    check_order_id,
    check_page,
    check_sender_id,
    check_sku_code,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


class ResponseTooLarge(Exception):
    """The order system sent more than ``MAX_RESPONSE_BYTES``: treated like a broken connection."""


class CircuitBreaker:
    """Closed → open after ``threshold`` consecutive failures; half-open after ``reset_after`` seconds.

    While open, calls fail at once.  In half-open one trial call goes through:
    success closes the circuit, failure opens it again.
    """

    def __init__(
        self, threshold: int = 5, reset_after: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: Optional[float] = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_after:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        with self._lock:
            state = self._state_locked()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.threshold:
                self._opened_at = self._clock()
            self._trial_running = False


@dataclass(frozen=True)
class HttpSettings:
    base_url: str
    token: Optional[str] = None
    connect_timeout: float = 1.0
    read_timeout: float = 2.5
    retries: int = 2  # extra attempts for idempotent GETs
    backoff: float = 0.2  # seconds; doubles each retry
    breaker_threshold: int = 5
    breaker_reset: float = 30.0
    max_connections: int = 32  # to the order system, shared by the I/O pool's threads


class HttpStore:
    """:class:`~actions.store.types.StoreBackend` over the REST contract."""

    def __init__(
        self,
        settings: HttpSettings,
        client: Optional[httpx.Client] = None,
        breaker: Optional[CircuitBreaker] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.base = settings.base_url.rstrip("/")
        self.client = client or httpx.Client(
            limits=httpx.Limits(
                max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
            ),
        )
        self.breaker = breaker or CircuitBreaker(settings.breaker_threshold, settings.breaker_reset)
        self._sleep = sleep
        self._timeout = httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout + settings.read_timeout
        )
        if settings.token:
            self.client.headers["Authorization"] = f"Bearer {settings.token}"
        self.client.headers["Accept"] = "application/json"

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    # -- transport ----------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
        allow_404: bool = False,
    ) -> Optional[Any]:
        """One logical call. Returns decoded JSON, or None for an allowed 404."""
        if not self.breaker.allow():
            raise StoreUnavailable(f"store circuit open; not calling {method} {path}")
        attempts = 1 + (self.settings.retries if method == "GET" else 0)
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {}
        last_error = "no attempt made"
        for attempt in range(attempts):
            if attempt:
                self._sleep(self.settings.backoff * (2 ** (attempt - 1)))
            try:
                with self.client.stream(
                    method, self.base + path, params=params, json=body, headers=headers, timeout=self._timeout
                ) as resp:
                    content = self._read_capped(resp)
            except httpx.TimeoutException:
                last_error = "timed out"
                continue
            except (httpx.HTTPError, httpx.StreamError, ResponseTooLarge) as exc:
                last_error = f"connection failed ({type(exc).__name__})"
                continue
            if resp.status_code in RETRY_STATUSES:
                last_error = f"HTTP {resp.status_code}"
                continue
            if resp.status_code == 404 and allow_404:
                self.breaker.record_success()
                return None
            if resp.status_code == 400:
                self.breaker.record_success()
                raise StoreInputError(f"store refused the request: {method} {path}")
            if resp.status_code not in (200, 201):
                self.breaker.record_failure()
                raise StoreUnavailable(f"store answered HTTP {resp.status_code} to {method} {path}")
            try:
                data = json.loads(content.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self.breaker.record_failure()
                raise StoreUnavailable(f"store sent a body that is not JSON for {method} {path}") from exc
            self.breaker.record_success()
            return data
        self.breaker.record_failure()
        raise StoreUnavailable(f"store {method} {path} failed after {attempts} attempt(s): {last_error}")

    @staticmethod
    def _read_capped(resp: httpx.Response) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise ResponseTooLarge(f"declared {declared} bytes")
        chunks: List[bytes] = []
        size = 0
        for chunk in resp.iter_bytes(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ResponseTooLarge(f"more than {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _decode(self, what: str, fn: Callable[[], Any]) -> Any:
        """Decode a payload; any shape error becomes StoreUnavailable and counts against the breaker."""
        try:
            return fn()
        except StoreUnavailable:
            self.breaker.record_failure()
            raise
        except (KeyError, TypeError, AttributeError) as exc:
            self.breaker.record_failure()
            raise StoreUnavailable(f"store sent malformed {what}") from exc

    @staticmethod
    def _q(value: str) -> str:
        return quote(value, safe="")

    # -- StoreBackend -------------------------------------------------------
    def get_order(self, order_id: str) -> Optional[Order]:
        check_order_id(order_id)
        data = self._request("GET", f"/orders/{self._q(order_id)}", allow_404=True)
        return None if data is None else self._decode("order", lambda: from_json(Order, data))

    def recent_orders(self, customer_id: str, limit: int = 5) -> Sequence[Order]:
        check_customer_id(customer_id)
        check_limit(limit)
        data = self._request("GET", f"/customers/{self._q(customer_id)}/orders", params={"limit": limit})
        return self._decode("orders", lambda: [from_json(Order, o) for o in data["orders"]][:limit])

    def get_customer(self, customer_id: str) -> Optional[Customer]:
        check_customer_id(customer_id)
        data = self._request("GET", f"/customers/{self._q(customer_id)}", allow_404=True)
        return None if data is None else self._decode("customer", lambda: from_json(Customer, data))

    def find_customer_by_channel(self, channel: str, external_id: str) -> Optional[Customer]:
        check_channel_identity(channel, external_id)
        data = self._request("GET", f"/channel-identities/{self._q(channel)}/{self._q(external_id)}", allow_404=True)
        return None if data is None else self._decode("customer", lambda: from_json(Customer, data["customer"]))

    def catalogue(self) -> Catalogue:
        data = self._request("GET", "/catalogue")
        return self._decode("catalogue", lambda: from_json(Catalogue, data))

    def locations(self) -> Sequence[Location]:
        data = self._request("GET", "/locations")
        return self._decode("locations", lambda: [from_json(Location, x) for x in data["locations"]])

    def stock_for_sku(self, sku_code: str) -> Sequence[StockLevel]:
        check_sku_code(sku_code)
        data = self._request("GET", f"/stock/{self._q(sku_code)}")
        return self._decode("stock", lambda: [from_json(StockLevel, x) for x in data["levels"]])

    def coupons_for_customer(self, customer_id: str) -> Sequence[Coupon]:
        check_customer_id(customer_id)
        data = self._request("GET", f"/customers/{self._q(customer_id)}/coupons")
        return self._decode("coupons", lambda: [from_json(Coupon, x) for x in data["coupons"]])

    def add_restock_subscription(self, request: RestockRequest) -> RestockSubscription:
        check_sku_code(request.sku_code)
        check_sender_id(request.sender_id)
        data = self._request("POST", "/restock-subscriptions", body=to_json(request))
        return self._decode("restock subscription", lambda: from_json(RestockSubscription, data))

    def list_restock_subscriptions(self, after_id: int = 0, limit: int = 500) -> Sequence[RestockSubscription]:
        check_page(after_id, limit)
        data = self._request("GET", f"/restock-subscriptions?after_id={after_id}&limit={limit}")
        return self._decode(
            "restock subscriptions", lambda: [from_json(RestockSubscription, x) for x in data["subscriptions"]]
        )

    def health(self) -> bool:
        try:
            data = self._request("GET", "/health")
        except StoreUnavailable:
            return False
        return isinstance(data, dict) and data.get("status") == "ok"
