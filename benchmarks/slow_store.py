"""FAQ turn latency of other conversations while the order system takes 5 seconds per request (issue 26).

One action server (every Kefu action, the real knowledge base, the HTTP store adapter) per source tree: this
checkout ("after") and, with ``--before-root``, an older one ("before", e.g. ``git worktree add /tmp/wt-e <commit>``),
both run with this checkout's virtualenv. The order system is the store's reference server answering every request
after ``--delay`` seconds (tests/actions/slow_store_harness.py). For each tree:

1. idle: ``--faq-turns`` FAQ turns, one at a time, each from a new conversation, no order traffic;
2. slow order system: the same FAQ turns while ``--lookups`` other conversations keep asking for an order
   (``action_order_status``, one request after another each).

It reports p50 / p95 / max of the FAQ turns' latency in both phases and the order lookups' latency, and writes
``docs/results/slow-store.json`` (docs/benchmarks.md, "Slow order system").

    .venv/bin/python benchmarks/slow_store.py --before-root /tmp/wt-e
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.store.sql import SqlStore  # noqa: E402
from tests.actions.slow_store_harness import (  # noqa: E402
    ActionServer,
    SlowOrderSystem,
    faq_call,
    kb_missing_reason,
    order_status_call,
    post,
    seeded_store_url,
)

ORDER_ID = "KF20261120001"
QUESTIONS = (
    ("zh-Hans", "门店自提怎么操作"),
    ("zh-Hans", "发票怎么开"),
    ("zh-Hant", "可以網路下單再去門市取貨嗎"),
    ("en", "how does click and collect work"),
    ("zh-Hans", "会员积分怎么用"),
)


def summary(values: Sequence[float]) -> Dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * (len(ordered) - 1))))]

    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(pct(0.95) * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


def faq_turns(server: ActionServer, label: str, count: int) -> List[float]:
    latencies: List[float] = []
    with httpx.Client() as client:
        for i in range(count):
            language, question = QUESTIONS[i % len(QUESTIONS)]
            started = time.perf_counter()
            post(client, server, faq_call(f"bench-faq-{label}-{i}", question, language), timeout=300)
            latencies.append(time.perf_counter() - started)
    return latencies


class LookupLoop(threading.Thread):
    """One conversation asking for its order again and again until stopped."""

    def __init__(self, server: ActionServer, sender: str, customer_id: str, stop: threading.Event) -> None:
        super().__init__(name=sender, daemon=True)
        self.server, self.sender, self.customer_id, self.stop = server, sender, customer_id, stop
        self.latencies: List[float] = []
        self.failures = 0

    def run(self) -> None:
        with httpx.Client() as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    post(client, self.server, order_status_call(self.sender, ORDER_ID, self.customer_id), timeout=300)
                except httpx.HTTPError:
                    self.failures += 1
                    continue
                self.latencies.append(time.perf_counter() - started)


def measure(label: str, root: Path, store_url: str, customer_id: str, args: argparse.Namespace) -> Dict[str, Any]:
    system = SlowOrderSystem(store_url, delay=args.delay).start()
    with tempfile.TemporaryDirectory(prefix=f"slow-store-{label}-") as tmp:
        server = ActionServer(Path(tmp), system.base, root=root, read_timeout=args.read_timeout)
        try:
            server.start()
            faq_turns(server, f"{label}-warm", 3)  # first-call costs (encoder, caches) out of the figures
            idle = faq_turns(server, f"{label}-idle", args.faq_turns)
            stop = threading.Event()
            loops = [LookupLoop(server, f"bench-order-{label}-{i}", customer_id, stop) for i in range(args.lookups)]
            for loop in loops:
                loop.start()
            deadline = time.monotonic() + 60
            while system.arrived_count("/orders/") < 1 and time.monotonic() < deadline:
                time.sleep(0.05)  # the order traffic has reached the order system
            loaded = faq_turns(server, f"{label}-loaded", args.faq_turns)
            stop.set()
            for loop in loops:
                loop.join(300)
        finally:
            server.stop()
            system.stop()
    lookups = [x for loop in loops for x in loop.latencies]
    result = {
        "faq_idle": summary(idle),
        "faq_with_slow_order_system": summary(loaded),
        "order_lookups": {**summary(lookups), "failed": sum(loop.failures for loop in loops)},
        "commit": commit_of(root),
    }
    print(f"{label}: FAQ idle {result['faq_idle']}; FAQ with slow order system "
          f"{result['faq_with_slow_order_system']}; order lookups {result['order_lookups']}", flush=True)
    return result


def commit_of(root: Path) -> Optional[str]:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-root", type=Path, help="an older checkout to measure as 'before'")
    parser.add_argument("--delay", type=float, default=5.0, help="seconds the order system takes per request")
    parser.add_argument("--read-timeout", type=float, default=10.0,
                        help="the adapter's read timeout (KEFU_STORE_HTTP_TIMEOUT): above --delay, so lookups succeed")
    parser.add_argument("--lookups", type=int, default=4, help="conversations asking for orders at the same time")
    parser.add_argument("--faq-turns", type=int, default=20, help="FAQ turns measured per phase")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/results/slow-store.json")
    args = parser.parse_args(argv)
    reason = kb_missing_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="slow-store-db-") as tmp:
        store_url = seeded_store_url(Path(tmp))
        store = SqlStore(store_url)
        order = store.get_order(ORDER_ID)
        store.dispose()
        assert order is not None
        results: Dict[str, Any] = {}
        if args.before_root:
            results["before"] = measure("before", args.before_root.resolve(), store_url, order.customer_id, args)
        results["after"] = measure("after", ROOT, store_url, order.customer_id, args)
    report = {
        "benchmark": "benchmarks/slow_store.py",
        "setup": {"order_system_delay_s": args.delay, "read_timeout_s": args.read_timeout,
                  "concurrent_order_lookups": args.lookups, "faq_turns_per_phase": args.faq_turns,
                  "faq_questions": [q for _, q in QUESTIONS], "machine": "2 shared cores, one action server process"},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
