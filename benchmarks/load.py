"""Load harness: simulated customers against a real local cluster (tests/cluster/cluster.py).

    PYTHONPATH=. .venv/bin/python benchmarks/load.py --replicas 1 2 --levels 10 25 50 \
        --duration 300 --level-duration 60 --out docs/results/load.json --svg docs/results/load-p95.svg

For every replica count it starts a cluster (N Rasa replicas and N action servers behind nginx,
the console, a private PostgreSQL, the machine's Redis; endpoints.prod.yml), then runs one load
level after another. A level keeps ``C`` conversations going at once for its duration: each
simulated customer picks a script (FAQ questions, an order lookup with the phone check, a stock
question, a handoff to a person), talks over REST or socket.io (websocket) through nginx, waits
1-3 s between messages like a person typing, and starts a new conversation when one ends.
The last level runs for ``--duration`` seconds; the earlier ones for ``--level-duration``.

``--think 5 30`` sets the customer's pace (seconds between messages and between conversations; default 1-3 s, a
stress test): 5-30 s is the median range of real chat think times, and with it the summary reports each
configuration's **capacity**: the most concurrent conversations whose FAQ p95 stays under ``--p95-target`` (300 ms).
``--variant NAME:KEY=VALUE,KEY=VALUE`` (repeatable) runs the same levels once per configuration, each on its own
cluster with those environment variables, so that two configurations are compared in one run on the same machine
(``--variant today:KEFU_X=0 --variant new:``). ``--rounds N`` runs the configurations N times, alternating
(A, B, A, B, ...), so that whatever else the machine does in that time falls on both; the summary gives each
configuration's median over the rounds, level by level.

Checked for every turn: an HTTP 200 / a completed socket.io turn with at least one reply. A
conversation the bot hands to a person (any script can escalate: complaint words, sentiment,
repeated misses) ends there, as the bot is silent while a person owns it. After
each level every conversation's tracker is read back: a message that was answered and is not
stored is "lost"; one stored more often than it was sent is "duplicated". Before measuring,
``--warmup`` seconds of unmeasured traffic warm every replica.

Reported per level: turns, errors, lost and duplicated messages, throughput (turns/s), p50/p95/p99 latency of
all turns and of FAQ turns. Bounded by design: loopback only, a fixed number of conversations,
a fixed duration. Results: JSON (``--out``), a Markdown table on stdout, an SVG plot (``--svg``).
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import cpu_account  # noqa: E402
from tests.cluster.cluster import Cluster  # noqa: E402

ORDER = ["我的订单 KF20261120001 到哪了", "5678"]
STOCK = ["上海门店有白色保温杯 500ml 吗", "do you have the black ANC earbuds in Shenzhen"]
HANDOFF = ["我要转人工"]
WEIGHTS = {"faq": 0.6, "order": 0.2, "stock": 0.15, "handoff": 0.05}
SOCKETIO_SHARE = 0.3


def faq_questions() -> List[str]:
    """In-scope paraphrases from the held-out set: what customers type, not the KB's own wording."""
    rows = [json.loads(line) for line in (ROOT / "tests/data/faq_heldout.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    return [r["text"] for r in rows if r.get("label") not in (None, "", "oos")]


@dataclass
class Turn:
    kind: str  # faq | order | stock | handoff
    transport: str  # rest | socketio
    sender: str
    text: str
    ok: bool
    latency_ms: float
    error: str = ""


@dataclass
class LevelResult:
    replicas: int
    variant: str
    conversations: int
    duration_s: float
    turns: int
    errors: int
    lost: int
    duplicated: int
    throughput: float
    latency_ms: Dict[str, float]
    faq_latency_ms: Dict[str, float]
    error_samples: List[str] = field(default_factory=list)
    round: int = 1
    cpu: Dict[str, Any] = field(default_factory=dict)  # benchmarks/cpu_account.py: where the level's CPU went


def percentiles(values: Sequence[float]) -> Dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(values)

    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"p50": round(statistics.median(ordered), 1), "p95": q(0.95), "p99": q(0.99)}


def _handed_over(reply: Dict[str, Any]) -> bool:
    """The bot queued the conversation for a person (escalation keyword, sentiment, misses...)."""
    custom = reply.get("custom") if isinstance(reply, dict) else None
    event = custom.get("kefu_event") if isinstance(custom, dict) else None
    return isinstance(event, dict) and event.get("type") == "handoff_queued"


class RestCustomer:
    def __init__(self, cluster: Cluster, sender: str) -> None:
        self.cluster, self.sender = cluster, sender
        self.session = requests.Session()

    def send(self, text: str) -> Tuple[bool, List[Dict[str, Any]], str]:
        try:
            response = self.session.post(f"{self.cluster.public_url}/webhooks/rest/webhook",
                                         json={"sender": self.sender, "message": text}, timeout=60)
        except requests.RequestException as error:
            return False, [], repr(error)[:200]
        if response.status_code != 200:
            return False, [], f"HTTP {response.status_code}: {response.text[:200]}"
        return True, response.json(), ""

    def close(self) -> None:
        self.session.close()


class SocketCustomer:
    """The widget's protocol (bot/channels/socketio.py): session_request, then user_uttered; a turn
    ends when the server sends ``typing: false``. The server issues the (signed) session id: the customer
    asks for a new session and is, from then on, the id it was given (its conversation is ``web:<id>``)."""

    def __init__(self, cluster: Cluster, sender: str) -> None:
        import socketio

        self.sender = sender
        self.replies: List[Dict[str, Any]] = []
        self.errors: List[str] = []
        self.session_id: Any = None
        self.turn_done = threading.Event()
        self.confirmed = threading.Event()
        self.client = socketio.Client(reconnection=False)
        self.client.on("bot_uttered", lambda data: self.replies.append(data))
        self.client.on("session_confirm", self._confirm)
        self.client.on("kefu_error", lambda data: self.errors.append(json.dumps(data)[:200]))
        self.client.on("bot_typing", self._typing)
        # a distinct client address per conversation: nginx keeps socket.io sessions sticky by it
        forwarded = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        self.client.connect(cluster.public_url, transports=["websocket"], headers={"X-Forwarded-For": forwarded},
                            wait_timeout=30)
        self.client.emit("session_request", {})
        if not self.confirmed.wait(30):
            raise RuntimeError("no session_confirm")
        if not isinstance(self.session_id, str) or not self.session_id:
            raise RuntimeError(f"session {self.session_id!r} confirmed")
        self.sender = self.session_id

    def _confirm(self, session_id: Any) -> None:
        self.session_id = session_id
        self.confirmed.set()

    def _typing(self, data: Any) -> None:
        if isinstance(data, dict) and data.get("typing") is False:
            self.turn_done.set()

    def send(self, text: str) -> Tuple[bool, List[Dict[str, Any]], str]:
        self.replies, self.errors = [], []
        self.turn_done.clear()
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                          "metadata": {"message_id": uuid.uuid4().hex}})
        if not self.turn_done.wait(60):
            return False, [], "socket.io turn not finished after 60 s"
        if self.errors:
            return False, [], self.errors[0]
        return True, list(self.replies), ""

    def close(self) -> None:
        self.client.disconnect()


class Load:
    def __init__(self, cluster: Cluster, faq: List[str], seed: int, think: Tuple[float, float] = (1.0, 3.0),
                 variant: str = "") -> None:
        self.cluster = cluster
        self.think = think
        self.variant = variant
        self.faq = faq
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.turns: List[Turn] = []
        self.sent: Dict[str, List[str]] = {}

    def script(self, rng: random.Random) -> Tuple[str, List[str]]:
        kind = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if kind == "faq":
            return kind, rng.sample(self.faq, rng.randint(1, 3))
        if kind == "order":
            return kind, list(ORDER)
        if kind == "stock":
            return kind, [rng.choice(STOCK)]
        return kind, list(HANDOFF)

    def conversation(self, rng: random.Random, deadline: float) -> None:
        kind, messages = self.script(rng)
        transport = "socketio" if rng.random() < SOCKETIO_SHARE else "rest"
        sender = f"load-{kind}-{uuid.uuid4().hex[:10]}"
        try:
            customer = SocketCustomer(self.cluster, sender) if transport == "socketio" else \
                RestCustomer(self.cluster, sender)
        except Exception as error:  # a connection that cannot even open is an error too
            self._record(Turn(kind, transport, sender, "", False, 0.0, f"connect: {error!r}"[:200]))
            return
        sender = customer.sender  # a widget session's id is the one the server issued
        try:
            for i, text in enumerate(messages):
                if time.monotonic() > deadline:
                    break
                with self.lock:
                    self.sent.setdefault(sender, []).append(text)
                start = time.perf_counter()
                ok, replies, error = customer.send(text)
                latency = (time.perf_counter() - start) * 1000.0
                if ok and not replies:
                    ok, error = False, "no reply"
                self._record(Turn(kind, transport, sender, text, ok, latency, error))
                if any(_handed_over(r) for r in replies):
                    break  # a person takes over: the bot stays silent from here on, by design
                if i + 1 < len(messages):
                    time.sleep(rng.uniform(*self.think))
        finally:
            customer.close()

    def _record(self, turn: Turn) -> None:
        with self.lock:
            self.turns.append(turn)

    def run_level(self, conversations: int, duration: float) -> LevelResult:
        self.turns, self.sent = [], {}
        deadline = time.monotonic() + duration
        start = time.monotonic()

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            # customers do not all arrive at once: spread over one think time, as customers already chatting would be
            time.sleep(rng.uniform(0, max(2.0, self.think[1])))
            while time.monotonic() < deadline:
                self.conversation(rng, deadline)
                time.sleep(rng.uniform(*self.think))

        threads = [threading.Thread(target=worker, args=(self.rng.randrange(2**31),), daemon=True)
                   for _ in range(conversations)]
        sessions = {process.pid: name for name, process in self.cluster.processes.items()}
        cpu_before = cpu_account.snapshot(sessions)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 120)
        elapsed = time.monotonic() - start
        cpu_after = cpu_account.snapshot(sessions)
        lost, duplicated = self.count_lost()
        done = [t for t in self.turns if t.ok]
        errors = [t for t in self.turns if not t.ok]
        return LevelResult(
            replicas=self.cluster.replicas, variant=self.variant, conversations=conversations, duration_s=round(elapsed, 1),
            turns=len(self.turns), errors=len(errors), lost=lost, duplicated=duplicated,
            throughput=round(len(done) / elapsed, 2),
            latency_ms=percentiles([t.latency_ms for t in done]),
            faq_latency_ms=percentiles([t.latency_ms for t in done if t.kind == "faq"]),
            error_samples=sorted({f"{t.transport}/{t.kind} {t.sender} {t.text!r}: {t.error}" for t in errors})[:10],
            cpu=cpu_account.usage(cpu_before, cpu_after, elapsed, len(done)),
        )

    def count_lost(self) -> Tuple[int, int]:
        """(lost, duplicated): answered messages the tracker does not hold, and messages it holds more
        often than they were sent. A message that got an error may or may not be stored: the customer
        was told to resend, so it is an error, not a loss."""
        answered: Dict[str, List[str]] = {}
        for turn in self.turns:
            if turn.ok:
                answered.setdefault(turn.sender, []).append(turn.text)
        lost = duplicated = 0
        for sender, messages in self.sent.items():
            try:
                events = self.cluster.tracker(sender)["events"]
            except requests.RequestException:
                lost += len(answered.get(sender, []))
                continue
            stored = [e.get("text") for e in events if e["event"] == "user"]
            acknowledged = answered.get(sender, [])
            for text in set(messages):
                lost += max(0, acknowledged.count(text) - stored.count(text))
                duplicated += max(0, stored.count(text) - messages.count(text))
        return lost, duplicated


def table(results: List[LevelResult]) -> str:
    lines = ["| configuration | round | replicas | conversations | duration s | turns | errors | lost | duplicated | "
             "turns/s | p50 / p95 / p99 ms (all) | FAQ p50 / p95 / p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lat, faq = r.latency_ms, r.faq_latency_ms
        lines.append(f"| {r.variant or '–'} | {r.round} | {r.replicas} | {r.conversations} | {r.duration_s} | {r.turns} | {r.errors} | {r.lost} | {r.duplicated} | "
                     f"{r.throughput} | {lat['p50']} / {lat['p95']} / {lat['p99']} | "
                     f"{faq['p50']} / {faq['p95']} / {faq['p99']} |")
    return "\n".join(lines)


def cpu_table(results: List[LevelResult]) -> str:
    """CPU ms per served turn, per process, level by level, and the machine's busy share."""
    names = sorted({n for r in results for n in (r.cpu.get("processes") or {})})
    if not names:
        return ""
    lines = ["| configuration | round | replicas | conversations | turns/s | machine busy | "
             + " | ".join(names) + " |", "|---|---|---|---|---|---|" + "---|" * len(names)]
    for r in results:
        procs = r.cpu.get("processes") or {}
        cells = [str(procs[n]["ms_per_turn"]) if n in procs else "–" for n in names]
        lines.append(f"| {r.variant or '–'} | {r.round} | {r.replicas} | {r.conversations} | {r.throughput} | "
                     f"{round(100 * r.cpu.get('machine_busy', 0.0))}% | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def svg_plot(results: List[LevelResult], metric: str = "p95") -> str:
    """FAQ-turn latency against concurrent conversations, one line per replica count."""
    width, height, pad = 560, 320, 50
    series: Dict[Tuple[str, int], List[Tuple[int, float]]] = {}
    for r in results:
        series.setdefault((r.variant, r.replicas), []).append((r.conversations, r.faq_latency_ms[metric]))
    xs = [x for points in series.values() for x, _ in points] or [1]
    ys = [y for points in series.values() for _, y in points] or [1.0]
    x_max, y_max = max(xs), max(ys) * 1.1 or 1.0

    def px(x: float) -> float:
        return pad + (width - 2 * pad) * x / x_max

    def py(y: float) -> float:
        return height - pad - (height - 2 * pad) * y / y_max

    colours = ["#1f77b4", "#d62728", "#2ca02c"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">concurrent conversations</text>',
             f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">'
             f'FAQ turn {metric} (ms)</text>']
    for x in sorted(set(xs)):
        parts.append(f'<text x="{px(x)}" y="{height - pad + 16}" text-anchor="middle">{x}</text>')
    for i in range(5):
        y = y_max * i / 4
        parts.append(f'<text x="{pad - 6}" y="{py(y) + 4}" text-anchor="end">{y:.0f}</text>')
    colours += ["#ff7f0e", "#9467bd", "#8c564b"]
    for n, ((variant, replicas), points) in enumerate(sorted(series.items())):
        colour = colours[n % len(colours)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(points))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in points)
        label = f'{variant + ", " if variant else ""}{replicas} replica{"s" if replicas > 1 else ""}'
        parts.append(f'<text x="{width - pad - 150}" y="{pad + 16 * n}" fill="{colour}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def parse_variant(text: str) -> Tuple[str, Dict[str, str]]:
    """``"today:KEFU_X=0,KEFU_Y=1"`` → ("today", {"KEFU_X": "0", "KEFU_Y": "1"}); ``"new:"`` → ("new", {})."""
    name, _, assignments = text.partition(":")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"a variant needs a name before ':': {text!r}")
    env: Dict[str, str] = {}
    for item in filter(None, (a.strip() for a in assignments.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE in {text!r}, got {item!r}")
        env[key.strip()] = value
    return name.strip(), env


def capacity(results: List[LevelResult], target_ms: float) -> Dict[str, Dict[str, Any]]:
    """Per configuration and replica count: the most concurrent conversations whose FAQ p95 stayed under
    ``target_ms`` with no errors (None when even the smallest level missed it), and the turns/s served there."""
    out: Dict[str, Dict[str, Any]] = {}
    for r in sorted(results, key=lambda r: r.conversations):
        key = f"{r.variant or 'default'}/{r.replicas}"
        entry = out.setdefault(key, {"conversations": None, "turns_per_s": None, "faq_p95_ms": None})
        if r.faq_latency_ms["p95"] <= target_ms and r.errors == 0:
            entry.update(conversations=r.conversations, turns_per_s=r.throughput, faq_p95_ms=r.faq_latency_ms["p95"])
    return out


def medians(results: List[LevelResult]) -> Dict[str, Dict[str, float]]:
    """Per replica count and level: the median throughput and FAQ p95 over the rounds."""
    grouped: Dict[str, List[LevelResult]] = {}
    for r in results:
        grouped.setdefault(f"{r.replicas}x{r.conversations}", []).append(r)
    return {key: {"rounds": len(rs), "turns_per_s": round(statistics.median(r.throughput for r in rs), 2),
                  "faq_p95_ms": round(statistics.median(r.faq_latency_ms["p95"] for r in rs), 1)}
            for key, rs in grouped.items()}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of the last (largest) level")
    parser.add_argument("--level-duration", type=float, default=60.0, help="seconds of each earlier level")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of unmeasured traffic first")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--svg", type=Path)
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"),
                        help="seconds a customer takes between messages (default 1 3; real chat pace: 5 30)")
    parser.add_argument("--p95-target", type=float, default=300.0, help="FAQ p95 (ms) for the capacity summary")
    parser.add_argument("--rounds", type=int, default=1, help="run the configurations this many times, alternating")
    parser.add_argument("--variant", type=parse_variant, action="append", default=[],
                        help="NAME:KEY=VALUE,... a configuration to run (repeatable); default: one, as configured")
    args = parser.parse_args(argv)
    if not 0 <= args.think[0] <= args.think[1] <= 120:
        parser.error("--think MIN MAX: 0 <= MIN <= MAX <= 120 seconds")
    if max(args.levels) > 200 or args.duration > 3600:
        parser.error("bounded by design: at most 200 conversations and one hour")

    # SIGTERM (timeout, kill) stops the clusters too: the finally blocks below must run
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    faq = faq_questions()
    results: List[LevelResult] = []
    variants = args.variant or [("", {})]
    runs = [(round_, v, r) for round_ in range(1, args.rounds + 1) for v in variants for r in args.replicas]
    for round_, (variant, variant_env), replicas in runs:
        workdir = Path(tempfile.mkdtemp(prefix=f"kefu-load-{replicas}-"))
        print(f"starting a cluster with {replicas} replica(s) in {workdir} {variant} {variant_env}", flush=True)
        env = {"KEFU_REST_RATE_LIMIT": "1000", "KEFU_SOCKETIO_RATE_LIMIT": "1000", **variant_env}
        cluster = Cluster.start(workdir, redis_url=args.redis_url, replicas=replicas, extra_env=env)
        try:
            load = Load(cluster, faq, args.seed + round_ - 1, think=(args.think[0], args.think[1]), variant=variant)
            # every replica answers a few turns of every kind first (model and encoders warm)
            warm = load.run_level(2 * replicas, args.warmup)
            print(f"warm-up: {warm.turns} turns, {warm.errors} errors", flush=True)
            for i, level in enumerate(args.levels):
                duration = args.duration if i == len(args.levels) - 1 else args.level_duration
                result = load.run_level(level, duration)
                result.round = round_
                results.append(result)
                print(json.dumps(asdict(result), ensure_ascii=False), flush=True)
        finally:
            cluster.stop()
    print(table(results))
    print("\nCPU ms per served turn, per process (benchmarks/cpu_account.py):")
    print(cpu_table(results))
    top = max(args.levels)
    summary: Dict[str, Any] = {"think_s": args.think, "capacity": capacity(results, args.p95_target),
                               "p95_target_ms": args.p95_target}
    for variant, _ in variants:
        mine = [r for r in results if r.variant == variant]
        p95 = {r.replicas: r.faq_latency_ms["p95"] for r in mine if r.conversations == top}
        part: Dict[str, Any] = {"faq_p95_ms_at_max_level": p95}
        if 1 in p95 and 2 in p95 and p95[1]:
            part["faq_p95_ratio_2_to_1"] = round(p95[2] / p95[1], 3)
            throughput = {r.replicas: r.throughput for r in mine if r.conversations == top}
            part["throughput_ratio_2_to_1"] = round(throughput[2] / throughput[1], 3)
        if args.rounds > 1:
            part["median_over_rounds"] = medians(mine)
        if variant:
            summary[variant] = part
        else:
            summary.update(part)
    print(json.dumps(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"levels": [asdict(r) for r in results], "summary": summary},
                                       ensure_ascii=False, indent=2), encoding="utf-8")
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg_plot(results), encoding="utf-8")
    clean = all(r.errors == 0 and r.lost == 0 and r.duplicated == 0 for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
