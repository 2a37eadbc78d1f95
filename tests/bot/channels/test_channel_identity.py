"""Server-side facts the public channels add to a message: the client's IP, server-owned metadata
keys and signed widget session ids (bot/channels/limits.py, kernel/netaddr.py, kernel/session_ids.py)."""

from __future__ import annotations

import pytest

from bot.channels.limits import server_metadata, trusted_proxies
from kernel import session_ids
from kernel.netaddr import client_ip

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

LOOPBACK = trusted_proxies({})


def test_client_ip_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_ip("203.0.113.7", "1.2.3.4", LOOPBACK) == "203.0.113.7"  # untrusted peer: XFF ignored
    assert client_ip("127.0.0.1", "198.51.100.9", LOOPBACK) == "198.51.100.9"
    assert client_ip("127.0.0.1", None, LOOPBACK) == "127.0.0.1"
    assert client_ip("::1", "2001:db8::5", LOOPBACK) == "2001:db8::5"
    # a client that prepends its own XFF entry gets the address the proxy saw, not its claim
    assert client_ip("127.0.0.1", "6.6.6.6, 198.51.100.9", LOOPBACK) == "198.51.100.9"
    # a chain of trusted proxies is walked from the right
    proxies = trusted_proxies({"KEFU_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert client_ip("127.0.0.1", "198.51.100.9, 10.1.2.3", proxies) == "198.51.100.9"
    assert client_ip("127.0.0.1", "junk, 10.1.2.3", proxies) == "10.1.2.3"
    assert client_ip("not an ip", None, LOOPBACK) is None
    # no trusted proxies at all: the peer, always
    assert client_ip("127.0.0.1", "198.51.100.9", trusted_proxies({"KEFU_TRUSTED_PROXIES": ""})) == "127.0.0.1"
    with pytest.raises(ValueError, match="KEFU_TRUSTED_PROXIES"):
        trusted_proxies({"KEFU_TRUSTED_PROXIES": "example.com"})


def test_server_metadata_drops_client_kefu_keys_except_the_user_token() -> None:
    metadata = {"language": "en", "kefu_client_ip": "6.6.6.6", "kefu_verified_customer_id": "C1",
                "kefu_user_token": "a.b", "message_id": "m-1"}
    assert server_metadata(metadata, "198.51.100.9") == {
        "language": "en", "kefu_user_token": "a.b", "message_id": "m-1", "kefu_client_ip": "198.51.100.9"
    }
    assert server_metadata(None, None) == {}


def test_session_ids_are_signed_and_checked() -> None:
    secret = "s" * 32
    issued = session_ids.issue(secret)
    assert session_ids.verify(secret, issued)
    assert len(issued) == 65 and issued != session_ids.issue(secret)
    assert not session_ids.verify("other secret", issued)
    random_part, mac = issued.split(".")
    assert not session_ids.verify(secret, f"{random_part}.{'0' * 32}")
    assert not session_ids.verify(secret, f"{'0' * 32}.{mac}")
    for bad in (None, "", "x" * 65, issued.upper(), issued + "0", 7):
        assert not session_ids.verify(secret, bad)


def test_session_secret_comes_from_the_environment_or_the_process() -> None:
    assert session_ids.secret_from_env({"KEFU_SESSION_SECRET": "abc"}) == "abc"
    generated = session_ids.secret_from_env({})
    assert generated and session_ids.secret_from_env({}) == generated
