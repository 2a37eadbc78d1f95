"""The order lookup form with the server-side lockout and the bound, expiring identity.

rasa-sdk's Tracker and CollectingDispatcher on the seeded SQLite store (tests/actions/orders_harness.py);
each conversation is a new sender, as an attacker with many REST senders would be.
"""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional

import pytest

from actions.identity import sign_web_token
from actions.orders import ActionOrderStatus, ActionRecentOrders, ValidateOrderLookupForm
from actions.verification_guard import (
    GuardSettings,
    MemoryBackend,
    RedisBackend,
    VerificationGuard,
    set_guard,
)
from kernel.i18n import text
from tests.actions.orders_harness import Conversation, cards, payloads, seeded_url, store, texts  # noqa: F401

FORM, VALIDATE, SUBMIT = "order_lookup_form", ValidateOrderLookupForm(), ActionOrderStatus()
ORDER, SUFFIX = "KF20261120001", "5678"  # C0001's shipped order (actions/store/demo/orders.yml)
LOCKED = text("msg_order_locked", "zh-Hans")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def turn(conv: Conversation, message: str, **slots: Any) -> List[Dict[str, Any]]:
    return conv.form_turn(FORM, VALIDATE, SUBMIT, message, slots)


def ask(sender: str, order_id: str, digits: str, ip: Optional[str] = None) -> List[Dict[str, Any]]:
    """A fresh conversation: the order number, then one suffix."""
    conv = Conversation(sender=sender, metadata={"kefu_client_ip": ip} if ip else None)
    turn(conv, order_id, order_id=order_id)
    return turn(conv, digits, phone_suffix=digits)


def two_wrong(sender: str, order_id: str, ip: Optional[str] = None) -> List[List[str]]:
    conv = Conversation(sender=sender, metadata={"kefu_client_ip": ip} if ip else None)
    turn(conv, order_id, order_id=order_id)
    return [texts(turn(conv, d, phone_suffix=d)) for d in ("1111", "2222")]


def revealed(messages: List[Dict[str, Any]]) -> bool:
    return bool(cards(messages)) or any("¥" in t or "SF" in t for t in texts(messages))


@pytest.fixture()
def clock(store) -> Clock:  # type: ignore[no-untyped-def]
    c = Clock()
    set_guard(VerificationGuard(MemoryBackend(), GuardSettings(5, 10, 20, 3600), c))
    return c


def test_many_senders_cannot_brute_force_an_order(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    for i in range(12):
        two_wrong(f"attacker-{i}", ORDER)
    out = ask("attacker-13", ORDER, SUFFIX)
    assert not revealed(out) and texts(out) == [LOCKED] and "/human_handoff" in payloads(out)
    # the honest owner in a new conversation is refused too, and offered a human, until the window passes
    owner = Conversation(sender="owner")
    turn(owner, ORDER, order_id=ORDER)
    out = turn(owner, SUFFIX, phone_suffix=SUFFIX)
    assert texts(out) == [LOCKED] and owner.slots["human_offered"] is True
    assert owner.slots["order_lookup_locked"] is False  # the conversation itself is not locked
    clock.now += 3601
    out = turn(owner, f"{ORDER} {SUFFIX}", order_id=ORDER, phone_suffix=SUFFIX)
    assert revealed(out) and owner.slots["verified_customer_id"] == "C0001"


def test_the_lock_looks_the_same_for_unknown_and_real_orders(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    def transcript(order_id: str) -> List[str]:
        lines: List[str] = []
        for i in range(4):
            for reply in two_wrong(f"{order_id}-{i}", order_id):
                lines += reply
        lines += texts(ask(f"{order_id}-last", order_id, SUFFIX))
        return [re.sub(r"\d", "#", line) for line in lines]

    real, unknown = transcript(ORDER), transcript("KF20261231999")
    assert real == unknown and real[-1] == LOCKED


def test_the_failure_that_reaches_the_limit_says_locked(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    two_wrong("a", ORDER)
    two_wrong("b", ORDER)
    conv = Conversation(sender="c")
    turn(conv, ORDER, order_id=ORDER)
    out = turn(conv, "3333", phone_suffix="3333")  # the 5th failure on the order
    assert texts(out) == [LOCKED] and conv.active_loop is None and conv.slots["order_check_blocked"] is None


def test_one_client_ip_on_many_orders_is_locked(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    orders = ["KF20261118001", "KF20261115001", "KF20261119001", "KF20261110001"] + [
        f"KF202612{d:02d}{n:03d}" for d in range(1, 10) for n in (1, 2)
    ]
    for i, order_id in enumerate(orders[:10]):
        two_wrong(f"ip-{i}", order_id, ip="198.51.100.23")  # 20 failures from one address
    assert texts(ask("ip-last", ORDER, SUFFIX, ip="198.51.100.23")) == [LOCKED]
    assert revealed(ask("elsewhere", ORDER, SUFFIX, ip="198.51.100.24"))


def test_fail_closed_when_the_lockout_store_is_down(store) -> None:  # type: ignore[no-untyped-def]
    set_guard(VerificationGuard(RedisBackend("redis://127.0.0.1:9/0")))
    conv = Conversation(language="en")
    turn(conv, ORDER, order_id=ORDER)
    out = turn(conv, SUFFIX, phone_suffix=SUFFIX)  # the right digits
    assert not revealed(out) and texts(out) == [text("msg_order_check_unavailable", "en")]
    assert "/human_handoff" in payloads(out) and conv.slots["human_offered"] is True
    assert conv.slots["order_verify_failures"] == 0 and conv.active_loop is None
    assert conv.slots["verified_customer_id"] is None


def test_a_sender_guessing_many_orders_is_still_locked_by_the_conversation(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    for order_id in ("KF20261118001", "KF20261115001", "KF20261119001"):
        turn(conv, order_id, order_id=order_id)
        turn(conv, "0000", phone_suffix="0000")
    assert conv.slots["order_lookup_locked"] is True
    out = turn(conv, f"{ORDER} {SUFFIX}", order_id=ORDER, phone_suffix=SUFFIX)
    assert not revealed(out) and "paused" in texts(out)[-1]


# -- the verified identity is bound and expires ------------------------------------------------------
def test_phone_verification_expires(store, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEFU_VERIFIED_TTL_SECONDS", "600")
    conv = Conversation(language="en", sender="rest:owner")
    turn(conv, ORDER, order_id=ORDER)
    assert revealed(turn(conv, SUFFIX, phone_suffix=SUFFIX))
    assert conv.slots["verified_conversation"] == "rest:owner" and conv.slots["verified_at"] is not None
    assert cards(conv.run_action(ActionRecentOrders(), "recent orders"))
    # ten minutes later (the slot is what the conversation remembers): verification has expired
    conv.slots["verified_at"] -= 601
    out = conv.run_action(ActionRecentOrders(), "recent orders")
    assert not cards(out) and "verify" in texts(out)[0]
    assert conv.slots["verified_customer_id"] is None and conv.slots["verified_at"] is None
    assert texts(turn(conv, ORDER, order_id=ORDER)) == ["utter_ask_phone_suffix"]


def test_identity_from_another_conversation_does_not_hold(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en", sender="rest:owner")
    turn(conv, ORDER, order_id=ORDER)
    turn(conv, SUFFIX, phone_suffix=SUFFIX)
    copied = Conversation(language="en", sender="rest:someone-else")
    copied.slots.update({k: conv.slots[k] for k in ("verified_customer_id", "verified_via", "verified_at",
                                                    "verified_conversation", "order_verified")})
    out = copied.run_action(ActionRecentOrders(), "recent orders")
    assert not cards(out) and copied.slots["verified_customer_id"] is None
    assert texts(turn(copied, ORDER, order_id=ORDER)) == ["utter_ask_phone_suffix"]


def test_web_token_identity_follows_the_page(store, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEFU_WEB_TOKEN_SECRET", "test-secret")
    conv = Conversation(language="en", channel="socketio", sender="web:s1",
                        metadata={"kefu_user_token": sign_web_token("C0004", "test-secret")})
    out = turn(conv, "KF20261119001", order_id="KF20261119001")  # C0004's order: no digits needed
    assert revealed(out) and conv.slots["verified_via"] == "web_token"
    # another customer logs in on the same page: their identity replaces the first one
    conv.metadata = {"kefu_user_token": sign_web_token("C0001", "test-secret")}
    listed = cards(conv.run_action(ActionRecentOrders(), "recent orders"))[0]
    assert conv.slots["verified_customer_id"] == "C0001"
    assert ORDER in [o["order_id"] for o in listed["orders"]]
    assert "KF20261119001" not in [o["order_id"] for o in listed["orders"]]
    assert texts(turn(conv, "KF20261119001", order_id="KF20261119001")) == ["utter_ask_phone_suffix"]
    # logged out: no token any more, no identity
    conv.metadata = {}
    out = conv.run_action(ActionRecentOrders(), "recent orders")
    assert not cards(out) and conv.slots["verified_customer_id"] is None and conv.slots["order_verified"] is None


def test_wecom_identity_comes_from_the_conversation_id(store, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    bound = store.find_customer_by_channel("wecom", "wmc0010user")
    assert bound is not None
    conv = Conversation(language="en", channel="wecom", sender="wecom:ww_corp:wmc0010user")
    listed = cards(conv.run_action(ActionRecentOrders(), "recent orders"))
    assert listed and conv.slots["verified_via"] == "wecom" and conv.slots["verified_customer_id"] == bound.id
    raw = Conversation(language="en", channel="wecom", sender="wmc0010user")  # legacy id: not trusted
    assert not cards(raw.run_action(ActionRecentOrders(), "recent orders"))


def test_malformed_lockout_settings_fail_closed(store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    set_guard(None)  # built from the environment on first use
    monkeypatch.setenv("KEFU_VERIFY_WINDOW_SECONDS", "an hour")
    out = ask("owner", ORDER, SUFFIX)
    assert not revealed(out) and texts(out) == [text("msg_order_check_unavailable", "zh-Hans")]


def test_lockouts_are_logged_with_masked_ids(store, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO, logger="actions.verification_guard"):
        for i in range(3):
            two_wrong(f"log-{i}", ORDER, ip="203.0.113.77")
        ask("log-3", ORDER, SUFFIX, ip="203.0.113.77")
    lines = [r.getMessage() for r in caplog.records if r.name == "actions.verification_guard"]
    started = [line for line in lines if line.startswith("verification lockout started on order")]
    refused = [line for line in lines if line.startswith("verification refused: lockout on order")]
    assert len(started) == 1 and len(refused) == 1
    assert "KF2…01" in started[0] and "203.0.113.x" in started[0]
    assert not any(ORDER in line or "203.0.113.77" in line or "C0001" in line for line in lines)
