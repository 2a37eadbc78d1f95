"""Passwords (scrypt), session ids and CSRF tokens. Pure functions; storage is in console/web/auth.py (sessions)
and console/accounts.py (accounts).

scrypt is deliberately slow (about 50 ms): callers on the event loop run it in a thread executor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_SECONDS = 12 * 3600
COOKIE_NAME = "kefu_session"
CSRF_HEADER = "X-CSRF-Token"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH: str = ""


def dummy_hash() -> str:
    """An scrypt hash of a random password (computed once): an unknown username is verified against it,
    so it costs the same time as a wrong password."""
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(24))
    return _DUMMY_HASH


def new_token() -> str:
    return secrets.token_urlsafe(32)


def session_id(secret: str, cookie_value: str) -> str:
    """What the database stores for a session: a keyed hash, so a leaked table cannot be replayed as cookies."""
    return hmac.new(secret.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
