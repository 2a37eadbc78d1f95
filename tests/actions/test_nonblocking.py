"""A slow order system no longer stalls the other conversations of an action server (issue 26).

The real action server (every Kefu action, the real knowledge base) runs as a process with its store on the HTTP
adapter, pointed at the store's reference server behind a gate: every order-system request is held until the test
releases it. Conversation A asks for its order; once A's request has reached the order system, conversation B asks
an FAQ question. B must be answered while A's request is still held. With the store call on the event loop (before
``actions.store.offload``), B cannot be answered until A's is released, and the test fails on B's deadline.

``KEFU_TEST_ACTIONS_ROOT`` runs the action server from another source tree (a ``git worktree`` of an older commit):
that is how the test was checked to fail on the code before the fix (docs/benchmarks.md, "Slow order system").
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import pytest

from actions.store.sql import SqlStore
from tests.actions.slow_store_harness import (
    MAX_HOLD,
    ROOT,
    ActionServer,
    SlowOrderSystem,
    faq_call,
    kb_missing_reason,
    order_status_call,
    post,
    seeded_store_url,
    texts,
)

IO_THREADS = 4  # the action server's I/O pool in this test (KEFU_ACTIONS_IO_THREADS)
ANSWER_DEADLINE = 60.0  # how long B may take before the test calls the loop blocked (not a latency bound)
ORDER_ID = "KF20261120001"
QUESTION = "门店自提怎么操作"  # a phrasing of an entry of knowledge_base/faq/pickup.yml


def answered(answer: Dict[str, Any]) -> bool:
    """The knowledge base answered (``faq_outcome`` = answered) with at least one text."""
    outcome = [e.get("value") for e in answer.get("events", []) if e.get("event") == "slot"
               and e.get("name") == "faq_outcome"]
    return outcome == ["answered"] and any(texts(answer))


class Stack:
    def __init__(self, system: SlowOrderSystem, server: ActionServer, customer_id: str) -> None:
        self.system, self.server, self.customer_id = system, server, customer_id


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = kb_missing_reason()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("nonblocking")
    url = seeded_store_url(workdir)
    store = SqlStore(url)
    order = store.get_order(ORDER_ID)
    store.dispose()
    assert order is not None
    system = SlowOrderSystem(url, gate=True).start()
    root = Path(os.environ.get("KEFU_TEST_ACTIONS_ROOT") or ROOT)
    server = ActionServer(workdir, system.base, root=root, read_timeout=MAX_HOLD + 30,
                          env_extra={"KEFU_ACTIONS_IO_THREADS": str(IO_THREADS)})
    try:
        server.start()
        yield Stack(system, server, order.customer_id)
    finally:
        system.stop()
        server.stop()


class Lookup(threading.Thread):
    """One conversation's order lookup, posted from its own thread (it waits as long as the order system)."""

    def __init__(self, stack: Stack, sender: str) -> None:
        super().__init__(name=f"lookup-{sender}", daemon=True)
        self.stack, self.sender = stack, sender
        self.answer: Dict[str, Any] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client() as client:
                body = order_status_call(self.sender, ORDER_ID, self.stack.customer_id)
                self.answer = post(client, self.stack.server, body, timeout=MAX_HOLD + 60)
        except BaseException as error:  # reported by the test
            self.error = error


def ask_faq(stack: Stack, sender: str, lookups: List[Lookup]) -> Dict[str, Any]:
    try:
        with httpx.Client() as client:
            return post(client, stack.server, faq_call(sender, QUESTION), timeout=ANSWER_DEADLINE)
    except httpx.TimeoutException:
        pytest.fail(f"conversation {sender} got no FAQ answer in {ANSWER_DEADLINE:.0f} s while "
                    f"{len(lookups)} order lookup(s) waited for the order system: the event loop is blocked\n"
                    f"{stack.server.log()[-3000:]}")


def finish(stack: Stack, lookups: List[Lookup]) -> None:
    stack.system.release()
    for lookup in lookups:
        lookup.join(MAX_HOLD + 90)
        assert not lookup.is_alive(), f"{lookup.sender}: no answer after the order system answered"
        assert lookup.error is None, f"{lookup.sender}: {lookup.error!r}\n{stack.server.log()[-3000:]}"
        assert any(ORDER_ID in line for line in texts(lookup.answer)), lookup.answer


def test_an_faq_turn_is_answered_while_another_conversation_waits_for_the_order_system(stack: Stack) -> None:
    stack.system.hold()
    lookup = Lookup(stack, "nonblocking-a")
    lookup.start()
    try:
        assert stack.system.wait_for_arrival(f"/orders/{ORDER_ID}"), stack.server.log()[-3000:]
        answer = ask_faq(stack, "nonblocking-b", [lookup])
        # B was answered, and A's request is still held by the order system: nothing of A has been answered
        assert answered(answer), answer
        assert lookup.is_alive() and stack.system.answered_count("/orders/") == 0
    finally:
        finish(stack, [lookup])
    assert stack.system.answered_count(f"/orders/{ORDER_ID}") == 1


def test_a_full_io_pool_queues_store_calls_and_still_answers_faq(stack: Stack) -> None:
    """More slow lookups than I/O threads: the pool bounds the calls in flight to the order system, the queued ones
    wait their turn, and an FAQ turn is still answered at once; every lookup is answered after the release."""
    stack.system.hold()
    lookups = [Lookup(stack, f"nonblocking-pool-{i}") for i in range(IO_THREADS + 2)]
    for lookup in lookups:
        lookup.start()
    try:
        # the pool's threads all reach the order system ...
        assert _wait_for_count(stack, IO_THREADS), stack.server.log()[-3000:]
        answer = ask_faq(stack, "nonblocking-pool-faq", lookups)
        assert answered(answer), answer
        # ... and no more than them: the other lookups queue in the pool, not on the order system
        assert stack.system.arrived_count("/orders/") == IO_THREADS
        assert all(lookup.is_alive() for lookup in lookups)
    finally:
        finish(stack, lookups)
    assert stack.system.answered_count(f"/orders/{ORDER_ID}") == len(lookups)


def _wait_for_count(stack: Stack, count: int, timeout: float = 60.0) -> bool:
    """True once ``count`` order requests are held at the order system (a deadline, not a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.system.arrived_count("/orders/") >= count:
            return True
        time.sleep(0.05)
    return False
