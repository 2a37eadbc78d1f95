"""Order lookup actions with rasa-sdk's Tracker and CollectingDispatcher on the seeded SQLite store."""
# ruff: noqa: F811  (pytest fixtures come from tests/actions/orders_harness.py)

from __future__ import annotations

import logging
import random
import re

import pytest

from actions.identity import sign_web_token
from actions.notifier.ledger import shared_ledger
from actions.orders import ActionOrderStatus, ActionRecentOrders, ValidateOrderLookupForm
from actions.store.factory import set_store
from actions.store.http import HttpSettings, HttpStore
from kernel.i18n import text
from kernel.order_numbers import parse_order_id
from tests.actions.orders_harness import Conversation, cards, payloads, seeded_url, store, texts  # noqa: F401

FORM, VALIDATE, SUBMIT = "order_lookup_form", ValidateOrderLookupForm(), ActionOrderStatus()


def turn(conv: Conversation, text: str, **slots):  # type: ignore[no-untyped-def]
    return conv.form_turn(FORM, VALIDATE, SUBMIT, text, slots)


def test_parse_order_id() -> None:
    assert parse_order_id("我的订单 KF20261120001 到哪了").order_id == "KF20261120001"
    assert parse_order_id("order kf-2026-1120-001?").order_id == "KF20261120001"
    assert parse_order_id("ＫＦ２０２６１１２０００１").order_id == "KF20261120001"
    assert parse_order_id("KF 2026 1120 001").order_id == "KF20261120001"
    assert parse_order_id("KF20261320001").problem == "not_found_in_text"  # month 13
    assert parse_order_id("KF202611200011").order_id is None  # 12 digits
    assert parse_order_id("KF20261120001 和 KF20261118001").problem == "ambiguous"
    assert parse_order_id("KF" + "1" * 5000).problem == "too_long"
    assert parse_order_id("'; DROP TABLE orders; --").order_id is None
    assert parse_order_id("😀😀😀").order_id is None
    assert parse_order_id(None).problem == "empty"


@pytest.mark.parametrize("lang,needle", [("zh-Hans", "已发货"), ("zh-Hant", "已出貨"), ("en", "shipped")])
def test_happy_path(store, lang: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language=lang)
    first = turn(conv, "我的订单 KF20261120001 到哪了", order_id="KF20261120001")
    assert texts(first) == ["utter_ask_phone_suffix"]  # nothing revealed before the check
    answer = turn(conv, "5678", phone_suffix="5678")
    body, watching = texts(answer)[-2:]
    assert needle in body and "KF20261120001" in body
    assert watching == text("msg_order_watching", lang), "the order is watched: status changes reach this chat"
    [watch] = shared_ledger().active_watches()
    assert (watch.order_id, watch.status, watch.sender_id, watch.channel) == ("KF20261120001", "shipped", "test-user",
                                                                            "rest")
    again = turn(conv, "我的订单 KF20261120001 到哪了", order_id="KF20261120001")
    assert text("msg_order_watching", lang) not in texts(again), "said once per order and conversation"
    assert "138****5678" in body and "13812345678" not in body
    assert "张杨路" not in body  # street masked
    assert "SF" in body  # tracking number
    card = cards(answer)[0]
    assert card["type"] == "order_status" and card["status"] == "shipped"
    assert card["shipping"]["phone"] == "138****5678"
    assert [e["status"] for e in card["timeline"]] == ["pending_payment", "paid", "shipped"]
    assert conv.slots["verified_customer_id"] == "C0001" and conv.slots["order_id"] is None


def test_order_number_and_suffix_in_one_message(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = turn(conv, "订单 KF 2026 1118 001 尾号1234", order_id="KF 2026 1118 001", phone_suffix="2026")
    # the regex entity "2026" inside the order number is ignored; the real suffix is used
    assert "已签收" in texts(out)[-1]


@pytest.mark.parametrize("order_id", ["KF20261231999", "KF20261120001"])
def test_unknown_order_looks_exactly_like_a_wrong_phone(store, order_id: str) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    turn(conv, order_id, order_id=order_id)
    out = turn(conv, "0000", phone_suffix="0000")
    assert texts(out) == [
        "订单号和手机号后四位没有对上，请核对后再试（还可以再试 2 次）。如果订单号输错了，直接发正确的订单号即可。",
        "utter_ask_phone_suffix",
    ]
    assert conv.active_loop == FORM


def test_three_failures_lock_and_offer_a_human(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    turn(conv, "KF20261120001", order_id="KF20261120001")
    turn(conv, "1111", phone_suffix="1111")
    turn(conv, "2222", phone_suffix="2222")
    out = turn(conv, "3333", phone_suffix="3333")
    assert conv.active_loop is None and conv.slots["order_lookup_locked"] is True
    assert "paused" in texts(out)[-1] and "/human_handoff" in payloads(out)
    # even the right digits do nothing now
    again = turn(conv, "KF20261120001 5678", order_id="KF20261120001", phone_suffix="5678")
    assert "paused" in texts(again)[-1] and not cards(again)


def test_enumeration_reveals_nothing(store) -> None:  # type: ignore[no-untyped-def]
    """20 random order numbers (some real) from an unverified sender: identical replies, then the lockout."""
    rng = random.Random(4)
    real = ["KF20261120001", "KF20261118001", "KF20261115001", "KF20261119001", "KF20261110001"]
    candidates = real + [
        f"KF2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(1, 999):03d}" for _ in range(15)
    ]
    rng.shuffle(candidates)
    conv = Conversation(sender="enumerator")
    replies = []
    for oid in candidates:
        order = store.get_order(oid)
        digits = f"{rng.randint(0, 9999):04d}"
        if order is not None and order.contact_phone.endswith(digits):
            digits = f"{(int(digits) + 1) % 10000:04d}"
        out = turn(conv, f"{oid} {digits}", order_id=oid, phone_suffix=digits)
        replies.append(texts(out))
        assert not cards(out)
        joined = " ".join(texts(out))
        assert "****" not in joined and "¥" not in joined and "KF" not in joined
    normalised = [tuple(re.sub(r"\d", "#", t) for t in r) for r in replies]
    assert len(set(normalised[:2])) == 1  # attempts 1 and 2: same words, whatever the order number
    locked = normalised[2:]
    assert len(set(locked)) == 1 and "暂停" in locked[0][-1]
    assert conv.slots["order_lookup_locked"] is True


def test_bound_wechat_openid_skips_the_phone_check(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(channel="wechat", sender="wechat:oKefuDemoOpenid0000000000001")
    out = turn(conv, "KF20261115001 退款到哪了", order_id="KF20261115001")
    assert "退款处理中" in texts(out)[-2] and conv.slots["verified_via"] == "wechat"
    # someone else's order still needs the phone digits, like an unknown one
    out = turn(conv, "KF20261118001", order_id="KF20261118001")
    assert texts(out) == ["utter_ask_phone_suffix"]


@pytest.mark.parametrize(
    "channel,sender",
    [
        ("rest", "oKefuDemoOpenid0000000000001"),  # a REST caller naming a customer's openid
        ("rest", "rest:wechat:oKefuDemoOpenid0000000000001"),
        ("wechat", "oKefuDemoOpenid0000000000001"),  # legacy unprefixed id: never a channel identity
        ("socketio", "web:oKefuDemoOpenid0000000000001"),
    ],
)
def test_openid_outside_a_wechat_conversation_id_is_not_trusted(store, channel: str, sender: str) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(channel=channel, sender=sender)
    assert texts(turn(conv, "KF20261115001", order_id="KF20261115001")) == ["utter_ask_phone_suffix"]
    assert conv.slots["verified_customer_id"] is None


def test_signed_web_token(store, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEFU_WEB_TOKEN_SECRET", "test-secret")
    conv = Conversation(channel="socketio", metadata={"kefu_user_token": sign_web_token("C0004", "test-secret")})
    out = turn(conv, "KF20261119001", order_id="KF20261119001")
    assert cards(out)[0]["status_label"] == "已付款，待发货"  # the widget: the card has the facts
    forged = Conversation(channel="socketio", metadata={"kefu_user_token": sign_web_token("C0004", "wrong")})
    assert texts(turn(forged, "KF20261119001", order_id="KF20261119001")) == ["utter_ask_phone_suffix"]


def test_recent_orders_need_verification_then_work(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(language="en")
    out = conv.run_action(ActionRecentOrders(), "show my recent orders")
    assert "verify" in texts(out)[0] and not cards(out)
    turn(conv, "KF20261120001", order_id="KF20261120001")
    turn(conv, "5678", phone_suffix="5678")
    out = conv.run_action(ActionRecentOrders(), "show my recent orders")
    card = cards(out)[0]
    assert card["type"] == "order_list" and card["orders"][0]["order_id"] == "KF20261120001"
    assert all(o["order_id"] in texts(out)[0] for o in card["orders"])


@pytest.mark.parametrize(
    "hostile",
    [
        "KF" + "1" * 5000,
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "😀" * 50,
        "KF2026112000'; DROP TABLE orders;",
    ],
)
def test_hostile_order_numbers_are_rejected_cleanly(store, hostile: str) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = turn(conv, hostile, order_id=hostile)
    assert texts(out)[-1] == "utter_ask_order_id"
    assert "订单号" in texts(out)[0] or "订单号" in texts(out)[0]
    assert conv.slots["order_verify_failures"] == 0  # a malformed number is not a failed identity check
    assert store.get_order("KF20261120001") is not None


def test_order_number_inside_junk_is_still_found(store) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation()
    out = turn(
        conv,
        "ＫＦ２０２６１１２０００１'; DROP TABLE orders;",
        order_id="ＫＦ２０２６１１２０００１'; DROP TABLE orders;",
    )
    assert texts(out) == ["utter_ask_phone_suffix"] and conv.slots["order_id"] == "KF20261120001"


def test_backend_down_apologises_and_offers_a_human(caplog: pytest.LogCaptureFixture) -> None:
    set_store(
        HttpStore(
            HttpSettings(base_url="http://127.0.0.1:9/api/v1", retries=0, connect_timeout=0.2), sleep=lambda _s: None
        )
    )
    try:
        conv = Conversation(language="zh-Hant")
        turn(conv, "KF20261120001", order_id="KF20261120001")
        with caplog.at_level(logging.ERROR, logger="actions.orders"):
            out = turn(conv, "5678", phone_suffix="5678")
        assert "抱歉" in texts(out)[-1] and "/human_handoff" in payloads(out)
        assert conv.active_loop is None and conv.slots["order_verify_failures"] == 0
        lines = [r.getMessage() for r in caplog.records if r.name == "actions.orders"]
        assert len(lines) == 1 and lines[0].startswith("store unavailable in order lookup")
        # the conversation goes on: the next lookup starts normally
        assert texts(turn(conv, "KF20261120001", order_id="KF20261120001")) == ["utter_ask_phone_suffix"]
    finally:
        set_store(None)
