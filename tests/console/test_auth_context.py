"""Passwords, session ids, CSRF comparison, and the handoff context at the boundary."""

from __future__ import annotations

import pytest

from console import auth
from kernel.handoff import ContextError, event_key, parse_context
from tests.console.process import context


def test_password_hash_round_trip_and_salt() -> None:
    first, second = auth.hash_password("s3cret-密码"), auth.hash_password("s3cret-密码")
    assert first != second and first.startswith("scrypt$")
    assert auth.verify_password("s3cret-密码", first)
    assert not auth.verify_password("s3cret", first)
    assert not auth.verify_password("x", "garbage") and not auth.verify_password("x", "md5$1$2$3$4$5")


def test_session_ids_are_keyed_and_csrf_compare_is_strict() -> None:
    assert auth.session_id("k1", "cookie") != auth.session_id("k2", "cookie")
    assert auth.same_token("abc", "abc") and not auth.same_token("abc", "abd")
    assert not auth.same_token(None, "abc") and not auth.same_token("", "")


def test_context_parses_and_keeps_hostile_text_verbatim() -> None:
    raw = context("s1", summary="<script>alert(1)</script>")
    raw["transcript"][0]["text"] = "<img src=x onerror=alert(1)> 😡"
    ctx = parse_context(raw)
    assert ctx.summary == "<script>alert(1)</script>"
    assert ctx.transcript[0].text == "<img src=x onerror=alert(1)> 😡"
    assert ctx.customer.verified and ctx.customer.tier == "gold"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": "bored"}, "reason"),
        ({"category": "x"}, "category"),
        ({"handoff_id": None}, "handoff_id"),
        ({"sender_id": 5}, "sender_id"),
        ({"sender_id": "x" * 300}, "sender_id"),
        ({"transcript": "hello"}, "transcript"),
        ({"transcript": [{"author": "hacker", "text": "x", "timestamp": 1}]}, "author"),
        ({"transcript": [{"author": "customer", "text": "x"}]}, "timestamp"),
        ({"priority": "high"}, "priority"),
        ({"slots": []}, "slots"),
    ],
)
def test_context_rejects_malformed_fields(change: dict, message: str) -> None:
    with pytest.raises(ContextError, match=message):
        parse_context({**context("s1"), **change})


def test_context_defaults_unknown_language() -> None:
    assert parse_context({**context("s1"), "language": "fr"}).language == "zh-Hans"


def test_event_key_is_stable_and_distinguishes_events() -> None:
    assert event_key("a", "user", 1.5, "hi") == event_key("a", "user", 1.5, "hi")
    assert event_key("a", "user", 1.5, "hi") != event_key("a", "bot", 1.5, "hi")
    assert event_key("a", "user", 1.5, "hi") != event_key("b", "user", 1.5, "hi")
    assert event_key("a", "user", 1.5, None) == event_key("a", "user", 1.5, "")
