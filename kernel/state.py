"""Redis clients for state shared between processes: one factory, one timeout policy.

Every Redis that Kefu talks to holds state that has a fallback when Redis does not answer: the rate
limits fall back to per-process counting (:mod:`kernel.ratelimit`), the WeChat stores and the
socket.io de-duplication process the message anyway, the WeChat outbox sends directly, and the
order-verification lockout fails closed (the customer is offered a human). So a hung or unreachable
Redis must fail fast rather than hold a customer, a WeChat reply window (5 s) or a login up: every
client connects within :data:`CONNECT_TIMEOUT_SECONDS` and waits at most
:data:`COMMAND_TIMEOUT_SECONDS` for an answer. Redis answers in milliseconds on loopback or a LAN.

Not for blocking reads (``BLPOP``, pub/sub ``listen``): python-socketio's Redis manager keeps its
own connection for its fan-out.

``redis`` is imported when a client is built, so this module imports in either virtualenv whether
or not a Redis is configured.
"""

from __future__ import annotations

from typing import Any, Dict

#: How long a client waits for a TCP connection to Redis.
CONNECT_TIMEOUT_SECONDS = 0.5
#: How long a client waits for Redis to answer one command (or one pipeline / Lua script).
COMMAND_TIMEOUT_SECONDS = 0.5


def client_options(decode_responses: bool = False) -> Dict[str, Any]:
    """The keyword arguments every Kefu Redis client is built with (the timeout policy)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": COMMAND_TIMEOUT_SECONDS,
        "decode_responses": decode_responses,
    }


def redis_client(url: str, decode_responses: bool = False) -> Any:
    """An asyncio client (``redis.asyncio``) for ``url``: the Rasa channels' kind."""
    import redis.asyncio as redis_asyncio

    return redis_asyncio.from_url(url, **client_options(decode_responses))


def sync_redis_client(url: str, decode_responses: bool = False) -> Any:
    """A blocking client (``redis.Redis``) for ``url``: the console's and the action server's kind."""
    import redis

    return redis.Redis.from_url(url, **client_options(decode_responses))
