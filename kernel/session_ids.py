"""Web widget session ids issued and signed by the server.

The widget's socket.io session id names its conversation (``web:<session id>``) and is the bearer
secret that reads its history. When the client chose it, anyone who learnt an id (a shared screen, a
log line, a support ticket) could resume that conversation, and a script could pick any id it liked.
Now the socket.io channel issues every id as ``<32 hex random>.<32 hex HMAC-SHA256>`` with the
secret ``KEFU_SESSION_SECRET``; a session request with no id, a malformed id or a bad signature gets
a fresh id. The console's history endpoint checks the same signature, so both processes need the
same secret (the launcher generates one for development).

Stdlib only: imported by the Rasa process and by the console.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from typing import Mapping, Optional

SECRET_ENV = "KEFU_SESSION_SECRET"
_RANDOM_HEX = 32
_MAC_HEX = 32
_FORMAT = re.compile(rf"^[0-9a-f]{{{_RANDOM_HEX}}}\.[0-9a-f]{{{_MAC_HEX}}}$")

logger = logging.getLogger("kefu.session_ids")

_process_secret: Optional[str] = None


def secret_from_env(environ: Optional[Mapping[str, str]] = None) -> str:
    """``KEFU_SESSION_SECRET``; without it a per-process random secret (ids then die with the process)."""
    global _process_secret
    value = ((environ if environ is not None else os.environ).get(SECRET_ENV) or "").strip()
    if value:
        return value
    if _process_secret is None:
        _process_secret = secrets.token_urlsafe(32)
        logger.warning(
            "session_ids.no_secret: %s is not set; widget sessions are signed with a per-process key "
            "and end when the process restarts", SECRET_ENV,
        )
    return _process_secret


def _mac(secret: str, random_part: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), b"kefu-web-session:" + random_part.encode("ascii"), hashlib.sha256)
    return digest.hexdigest()[:_MAC_HEX]


def issue(secret: str) -> str:
    """A fresh signed session id."""
    random_part = secrets.token_hex(_RANDOM_HEX // 2)
    return f"{random_part}.{_mac(secret, random_part)}"


def verify(secret: str, session_id: object) -> bool:
    """True when ``session_id`` is an id :func:`issue` made with ``secret``."""
    if not isinstance(session_id, str) or not _FORMAT.match(session_id):
        return False
    random_part, _, mac = session_id.partition(".")
    return hmac.compare_digest(mac, _mac(secret, random_part))
