"""Identity checks and masking: plain functions."""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

import base64
import json

import pytest

from actions.identity import (
    after_failed_check,
    mask_address,
    mask_name,
    mask_phone,
    parse_phone_suffix,
    phone_suffix_matches,
    sign_web_token,
    verify_web_token,
)
from tests.actions.orders_harness import seeded_url, store  # noqa: F401


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "868****5678" or mask_phone("+86 138-1234-5678").endswith("5678")
    assert mask_phone("123") == "****" and mask_phone(None) == "****"
    assert mask_address("上海市浦东新区张杨路500号5号楼1203室") == "上海市浦东新区****"
    assert mask_address("广东省深圳市南山区科苑路10号3栋1201") == "广东省深圳市南山区****"
    assert mask_address("12 Queen's Road, Central, Hong Kong") == "****, Hong Kong"
    assert mask_name("王芳") == "王*" and mask_name("Emily Zhang") == "E****"


@pytest.mark.parametrize(
    "text,digits",
    [
        ("5678", "5678"),
        ("尾号5678", "5678"),
        ("后四位是 ５６７８", "5678"),
        ("13812345678", "5678"),
        ("KF20261120001 5678", "5678"),
        ("kf-2026-1120-001 尾号 1234", "1234"),
        ("KF 2026 1120 001", None),
        ("1234 5678", None),
        ("12", None),
        ("", None),
        ("1" * 300, None),
        ("🙂🙂🙂🙂", None),
    ],
)
def test_parse_phone_suffix(text: str, digits) -> None:  # type: ignore[no-untyped-def]
    assert parse_phone_suffix(text) == digits


def test_phone_suffix_matches_unknown_order_is_false() -> None:
    assert phone_suffix_matches(None, "0000") is False


def test_lockout_counter() -> None:
    assert after_failed_check(0).attempts_left == 2
    assert after_failed_check(1.0).failures == 2
    assert after_failed_check(2).locked and after_failed_check("junk").failures == 1


def test_web_token_round_trip_and_rejections() -> None:
    token = sign_web_token("C0001", "k", ttl_seconds=60, now=1000)
    assert verify_web_token(token, "k", now=1030) == "C0001"
    assert verify_web_token(token, "k", now=1061) is None  # expired
    assert verify_web_token(token, "other", now=1030) is None
    assert verify_web_token(token, None, now=1030) is None  # no secret configured: tokens are ignored
    payload, sig = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"cid": "C0002", "exp": 9999999999}).encode()).rstrip(b"=")
    assert verify_web_token(f"{forged.decode()}.{sig}", "k", now=1030) is None
    for junk in ("", "a.b", "x" * 5000, f"{payload}.{sig.upper()}", f"{payload}", 123, None, "😀.😀"):
        assert verify_web_token(junk, "k", now=1030) is None
    with pytest.raises(ValueError):
        sign_web_token("C1; drop", "k")
    with pytest.raises(ValueError):
        sign_web_token("C0001", "")


# -- bound, expiring identity (decide_identity) -------------------------------------------------------
NOW = 1_800_000_000.0


def _decide(store, **kw):  # type: ignore[no-untyped-def]
    from actions.identity import decide_identity

    args = dict(slot_customer_id=None, slot_method=None, slot_verified_at=None, slot_conversation=None,
                conversation_id="rest:alice", metadata={}, store=store, secret="s3cret", now=NOW, ttl_seconds=1800)
    args.update(kw)
    return decide_identity(**args)


def test_phone_identity_holds_for_the_ttl_in_its_conversation_only(store) -> None:  # type: ignore[no-untyped-def]
    phone = dict(slot_customer_id="C0001", slot_method="phone", slot_conversation="rest:alice")
    kept = _decide(store, slot_verified_at=NOW - 1799, **phone)
    assert kept.change == "kept" and kept.identity.customer_id == "C0001" and kept.slot_updates() == {}
    for at, reason in [(NOW - 1800, "expired"), (None, "expired"), (NOW + 3600, "expired"), ("junk", "expired")]:
        dropped = _decide(store, slot_verified_at=at, **phone)
        assert dropped.identity is None and dropped.change == reason
        assert dropped.slot_updates() == {"verified_customer_id": None, "verified_via": None, "verified_at": None,
                                          "verified_conversation": None, "order_verified": None}
    moved = _decide(store, slot_verified_at=NOW, conversation_id="rest:mallory", **phone)
    assert moved.identity is None and moved.change == "other_conversation"
    legacy = _decide(store, slot_customer_id="C0001", slot_method="phone", slot_verified_at=NOW)  # no conversation
    assert legacy.identity is None and legacy.reset


def test_web_token_identity_needs_the_token_on_every_message(store) -> None:  # type: ignore[no-untyped-def]
    from actions.identity import sign_web_token

    token = {"kefu_user_token": sign_web_token("C0004", "s3cret", now=NOW)}
    new = _decide(store, metadata=token, conversation_id="web:s1")
    assert new.change == "new" and new.identity.method == "web_token"
    stored = dict(slot_customer_id="C0004", slot_method="web_token", slot_verified_at=NOW - 5000,
                  slot_conversation="web:s1", conversation_id="web:s1")
    assert _decide(store, metadata=token, **stored).change == "kept"  # no TTL: the token's own expiry
    out = _decide(store, metadata={}, **stored)
    assert out.identity is None and out.change == "logged_out" and out.slot_updates()["order_verified"] is None
    forged = {"kefu_user_token": sign_web_token("C0004", "wrong", now=NOW)}
    assert _decide(store, metadata=forged, **stored).change == "logged_out"
    other = {"kefu_user_token": sign_web_token("C0001", "s3cret", now=NOW)}
    swapped = _decide(store, metadata=other, **stored)
    assert swapped.change == "replaced" and swapped.identity.customer_id == "C0001"
    updates = swapped.slot_updates()
    assert updates["verified_customer_id"] == "C0001" and updates["order_verified"] is None
    assert updates["verified_at"] == NOW and updates["verified_conversation"] == "web:s1"
    # a token for another customer also replaces a phone identity
    phone = dict(slot_customer_id="C0004", slot_method="phone", slot_verified_at=NOW, slot_conversation="web:s1")
    assert _decide(store, metadata=other, conversation_id="web:s1", **phone).identity.customer_id == "C0001"


def test_channel_identity_only_from_a_scoped_conversation_id(store) -> None:  # type: ignore[no-untyped-def]
    from actions.identity import identity_from_channel

    openid = "oKefuDemoOpenid0000000000001"
    assert identity_from_channel(f"wechat:{openid}", store).customer_id == "C0001"
    for conversation in (openid, f"rest:{openid}", f"web:{openid}", f"rest:wechat:{openid}", "wechat:", None):
        assert identity_from_channel(conversation, store) is None
    assert identity_from_channel("wecom:ww1:wmc0010user", store).customer_id == "C0010"
    assert identity_from_channel("wecom:wmc0010user", store) is None  # no corp part
    assert identity_from_channel("wechat:o'; DROP TABLE x;--", store) is None
    stored = dict(slot_customer_id="C0001", slot_method="wechat", slot_verified_at=NOW - 10 ** 6,
                  slot_conversation=f"wechat:{openid}")
    assert _decide(store, conversation_id=f"wechat:{openid}", **stored).change == "kept"
    # a wechat identity in the slots of a conversation whose id proves nothing does not hold
    forged = dict(stored, slot_conversation="rest:alice")
    assert _decide(store, conversation_id="rest:alice", **forged).change == "unbound"


def test_verified_ttl_setting(caplog: pytest.LogCaptureFixture) -> None:
    from actions.identity import verified_ttl_seconds

    assert verified_ttl_seconds({}) == 1800
    assert verified_ttl_seconds({"KEFU_VERIFIED_TTL_SECONDS": "90"}) == 90.0
    for bad in ("0", "-5", "soon", "nan", "1e12"):
        assert verified_ttl_seconds({"KEFU_VERIFIED_TTL_SECONDS": bad}) == 1800
    assert "KEFU_VERIFIED_TTL_SECONDS" in caplog.text
