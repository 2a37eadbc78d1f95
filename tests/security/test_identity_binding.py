"""Attack: ride on a verified identity after it should have ended, against the real stack.

A verified customer id used to stay in the conversation's slots for good: a shared computer's
next user (the page logged out, or another customer logged in) and anyone who later typed into
the same conversation saw the first customer's orders. Here Rasa and the action server run as
processes (tests/stack.py) and the client speaks HTTP to the REST channel, with the signed
web-user token in the message metadata (``kefu_user_token``), as the shop's website passes it.

Asserted, for each case, what the next message got (none of the first customer's orders) and
what is stored in the conversation (no verified customer, or the new one).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional

import pytest
import requests

from actions.identity import sign_web_token
from actions.store.seed import seed
from actions.store.sql import SqlStore
from tests.stack import Stack, model_missing_reason

pytestmark = pytest.mark.skipif(bool(model_missing_reason()), reason=model_missing_reason() or "ok")

ORDER, SUFFIX = "KF20261120001", "5678"  # C0001's (actions/store/demo/orders.yml, customers.yml)
TTL_SECONDS = 20


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("identity-binding")
    store_url = f"sqlite:///{workdir / 'store.db'}"
    store = SqlStore(store_url)
    seed(store)
    orders = {cid: [o.order_id for o in store.recent_orders(cid, 5)] for cid in ("C0001", "C0004")}
    store.dispose()
    assert orders["C0001"] and orders["C0004"] and not set(orders["C0001"]) & set(orders["C0004"])
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    stack = Stack.start(
        workdir / "stack",
        only=["actions", "rasa"],
        extra_env={
            "KEFU_STORE_DB_URL": store_url,
            "KEFU_VERIFY_DB_URL": f"sqlite:///{workdir / 'verify.db'}",
            "KEFU_WEB_TOKEN_SECRET": secret,
            "KEFU_VERIFIED_TTL_SECONDS": str(TTL_SECONDS),
        },
    )
    try:
        yield {"stack": stack, "orders": orders, "secret": secret}
    finally:
        stack.stop()


def say(stack: Stack, sender: str, message: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    body: Dict[str, Any] = {"sender": sender, "message": message}
    if metadata:
        body["metadata"] = metadata
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def orders_in(replies: List[Dict[str, Any]], order_ids: List[str]) -> List[str]:
    dump = json.dumps(replies, ensure_ascii=False)
    return [o for o in order_ids if o in dump]


def verified_slot(stack: Stack, sender: str) -> Any:
    """The conversation's ``verified_customer_id`` (the id is ``rest:<sender>`` or, before the
    channels' change, ``<sender>``)."""
    for conversation in (f"rest:{sender}", sender):
        tracker = stack.tracker(conversation)
        if tracker.get("events"):
            return tracker["slots"].get("verified_customer_id")
    raise AssertionError(f"no conversation for {sender}")


def test_a_logged_out_page_loses_the_identity(system: Dict[str, Any]) -> None:
    stack, orders, secret = system["stack"], system["orders"], system["secret"]
    sender = f"shared-pc-{uuid.uuid4().hex[:6]}"
    token = {"kefu_user_token": sign_web_token("C0001", secret)}
    assert orders_in(say(stack, sender, "我最近的订单", token), orders["C0001"])  # logged in: listed
    after = say(stack, sender, "我最近的订单")  # the page logged out: no token any more
    assert orders_in(after, orders["C0001"]) == [], "a logged-out page still saw the customer's orders"
    assert verified_slot(stack, sender) is None


def test_a_token_for_another_customer_replaces_the_identity(system: Dict[str, Any]) -> None:
    stack, orders, secret = system["stack"], system["orders"], system["secret"]
    sender = f"switch-{uuid.uuid4().hex[:6]}"
    assert orders_in(say(stack, sender, "我最近的订单", {"kefu_user_token": sign_web_token("C0001", secret)}),
                     orders["C0001"])
    other = say(stack, sender, "我最近的订单", {"kefu_user_token": sign_web_token("C0004", secret)})
    assert orders_in(other, orders["C0001"]) == [], "the second customer saw the first customer's orders"
    assert orders_in(other, orders["C0004"])
    assert verified_slot(stack, sender) == "C0004"


def test_a_phone_verification_expires(system: Dict[str, Any]) -> None:
    stack, orders = system["stack"], system["orders"]
    sender = f"phone-{uuid.uuid4().hex[:6]}"
    say(stack, sender, f"我的订单 {ORDER} 到哪了")
    assert orders_in(say(stack, sender, SUFFIX), [ORDER])  # verified: the order is shown
    deadline = time.monotonic() + TTL_SECONDS + 150
    while orders_in(say(stack, sender, "我最近的订单"), orders["C0001"]):
        assert time.monotonic() < deadline, f"the phone verification never expired (TTL {TTL_SECONDS}s)"
        time.sleep(2)
    assert verified_slot(stack, sender) is None
