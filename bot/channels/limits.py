"""What every public channel (REST, socket.io, WeChat/WeCom) does at its edge: limits and client facts.

The mechanisms live in the kernel; this module is how the channels use them, the same way in each:

- **rate-limit settings**: :func:`limit_settings` reads ``(messages, window)`` per sender from the
  channel's environment variables, else ``rate_limit_messages`` / ``rate_limit_window_seconds`` in
  credentials.yml, else its defaults (:mod:`kernel.config_values`; a bad value is a ``ValueError``
  that names the variable, which the channel turns into a ``RasaException``);
- **the limiter**: ``rate_limiter(limit, window, prefix, client=shared_or(channel_redis))``
  (:mod:`kernel.ratelimit`): in the Redis at ``KEFU_RATE_LIMIT_REDIS_URL`` when set, else in the
  channel's own Redis (its ``redis_url``), else in-process; a limit of 0 switches it off. Redis
  clients come from :mod:`kernel.state`;
- **size**: :func:`read_body` reads a request body on a ``stream=True`` Sanic route and stops at
  ``max_bytes`` (a larger ``Content-Length`` is refused before any of the body is read), so a huge
  POST costs neither memory nor parsing;
- **the client's address and metadata**: :func:`trusted_proxies` reads ``KEFU_TRUSTED_PROXIES``
  (default loopback) for :func:`kernel.netaddr.client_ip`, and :func:`server_metadata` drops
  client-supplied ``kefu_*`` keys (except ``kefu_user_token``) and sets ``kefu_client_ip``: keys
  with that prefix are the server's word, never the client's.

Importable without Rasa (Sanic is imported when a body is read).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

from kernel.config_values import float_setting, int_setting, setting
from kernel.netaddr import Network, parse_proxies

# --------------------------------------------------------------------------
# rate limits
# --------------------------------------------------------------------------


def limit_settings(
    credentials: Optional[Mapping[str, Any]],
    limit_env: str,
    window_env: str,
    default_limit: int,
    default_window: float,
    environ: Optional[Mapping[str, str]] = None,
) -> Tuple[int, float]:
    """(messages, window seconds) per sender: ``limit_env`` / ``window_env``, else
    ``rate_limit_messages`` / ``rate_limit_window_seconds`` in credentials.yml, else the defaults.
    The window is at least 1 s; ValueError naming the variable for a bad value."""
    limit = int_setting(setting(credentials, "rate_limit_messages", limit_env, default_limit, environ), limit_env)
    window = float_setting(
        setting(credentials, "rate_limit_window_seconds", window_env, default_window, environ), window_env, minimum=1.0
    )
    return limit, window


# --------------------------------------------------------------------------
# request size
# --------------------------------------------------------------------------


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is limited to {limit} bytes")
        self.limit = limit


async def read_body(request: Any, max_bytes: int) -> bytes:
    """The body of a request on a ``stream=True`` route, at most ``max_bytes``; else :class:`BodyTooLarge`.

    Also lowers Sanic's own limit for this request, so that Sanic does not read a refused body
    to its end: it closes the connection after the 413 instead.
    """
    if request.body:  # a non-streaming route (or a test client) already read it
        if len(request.body) > max_bytes:
            raise BodyTooLarge(max_bytes)
        return bytes(request.body)
    length = request.headers.get("content-length")
    stream = getattr(request, "stream", None)
    if stream is not None and hasattr(stream, "request_max_size"):
        stream.request_max_size = max_bytes
    if length is not None:
        try:
            if int(length) > max_bytes:
                raise BodyTooLarge(max_bytes)
        except ValueError:
            pass  # Sanic refuses a malformed Content-Length itself
    if stream is None:
        return b""
    from sanic.exceptions import PayloadTooLarge

    chunks = []
    size = 0
    try:
        while True:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(max_bytes)
            chunks.append(chunk)
    except PayloadTooLarge:
        raise BodyTooLarge(max_bytes) from None
    body = b"".join(chunks)
    request.body = body
    return body


# --------------------------------------------------------------------------
# client address and server-owned metadata
# --------------------------------------------------------------------------

TRUSTED_PROXIES_ENV = "KEFU_TRUSTED_PROXIES"
DEFAULT_TRUSTED_PROXIES = "127.0.0.1/32,::1/128"
CLIENT_IP_KEY = "kefu_client_ip"
#: The only ``kefu_*`` metadata key a client may send (the shop's signed web-user token).
CLIENT_KEFU_KEYS = frozenset({"kefu_user_token"})


def trusted_proxies(environ: Optional[Mapping[str, str]] = None) -> List[Network]:
    """``KEFU_TRUSTED_PROXIES``: comma-separated addresses or networks (unset: loopback; empty: none)."""
    value = (environ if environ is not None else os.environ).get(TRUSTED_PROXIES_ENV)
    return parse_proxies(DEFAULT_TRUSTED_PROXIES if value is None else value, TRUSTED_PROXIES_ENV)


def server_metadata(metadata: Optional[Mapping[str, Any]], ip: Optional[str]) -> Dict[str, Any]:
    """The client's metadata without ``kefu_*`` keys it may not set, plus ``kefu_client_ip``."""
    out = {
        k: v for k, v in (metadata or {}).items()
        if not (isinstance(k, str) and k.startswith("kefu_")) or k in CLIENT_KEFU_KEYS
    }
    if ip:
        out[CLIENT_IP_KEY] = ip
    return out
