"""Identity checks and masking: plain functions."""

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
