"""Sliding-window limits for the console's login: per client IP and per username.

A password guesser is slowed down before any password is hashed, so a flood of logins costs the
console a dictionary lookup (or one Redis round trip) per request, not an scrypt each. The windows
are the kernel's (:mod:`kernel.ratelimit`): in-process by default (one console process), in Redis
(``KEFU_CONSOLE_REDIS_URL``, several console processes) failing open to the in-process window.

``retry_after`` never records; ``attempt`` records one try from an IP, ``failed`` one failure for a
username; ``succeeded`` clears the username's failures.
"""

from __future__ import annotations

from kernel.ratelimit import AttemptLimiter, attempt_limiter

IP_PREFIX = "kefu:console:login:ip:"
USER_PREFIX = "kefu:console:login:user:"


class LoginLimits:
    """What the login route asks: may this IP / username try now, and recording the outcome."""

    def __init__(self, ip_limit: int, user_limit: int, window: float, redis_url: str = "") -> None:
        self.by_ip: AttemptLimiter = attempt_limiter(ip_limit, window, redis_url, IP_PREFIX)
        self.by_user: AttemptLimiter = attempt_limiter(user_limit, window, redis_url, USER_PREFIX)

    def retry_after(self, ip: str, username: str) -> float:
        """0 when both may try now, else the seconds until both may (for Retry-After)."""
        return max(self.by_ip.check(ip), self.by_user.check(username))

    def attempt(self, ip: str) -> None:
        self.by_ip.hit(ip)

    def failed(self, username: str) -> None:
        self.by_user.hit(username)

    def succeeded(self, username: str) -> None:
        self.by_user.reset(username)
