"""Where one turn's CPU goes (issue 24): FAQ, order-lookup and stock turns broken into their parts.

    PYTHONPATH=. .venv/bin/python benchmarks/turn_profile.py --configs sqlite postgres \
        --out docs/results/turn-profile.json --svg docs/results/turn-profile.svg

For each configuration it starts the real processes on free ports, the Rasa server (``python -m bot.server run``,
tests/stack.py) with ``KEFU_TURN_PROFILE`` set (:mod:`bot.turn_profile` records each turn's spans) and the action
server (``python -m actions.server``):

- ``sqlite``: the embedded default, ``endpoints.yml`` (SQLite tracker store and event broker, in-memory lock store);
- ``postgres``: ``endpoints.prod.yml`` with one replica: tracker store, event broker, order store and app database on
  the PostgreSQL at ``--pg-url`` (private databases ``kefu_prof_<random>_*``, dropped at the end), Rasa's ticket
  lock on the Redis at ``--redis-url`` (its lock database, a private key prefix), as tests/cluster/cluster.py does,
  without nginx.

Then it sends turns over REST, one at a time: ``--samples`` conversations of each script (a greeting first, then an
FAQ question; an order number, then the phone's last four digits; a stock question), after ``--warmup``
conversations that are not counted; and ``--long`` conversations of ``--turns`` FAQ questions, for the cost of the
2nd turn against the last one. For each turn it reads:

- the Rasa process's spans (its CPU and wall time per part: lock, tracker load, every NLU component and policy,
  action calls, tracker save, event broker, reply, the channel);
- the CPU time of the Rasa and action-server processes (``/proc/<pid>/task/*/schedstat``, every thread, in ns), and
  on ``postgres`` of the machine's ``postgres`` and ``redis-server`` processes (shared: other users add noise);
- the time the action server spent in its actions (its own ``kefu_action_duration_seconds`` on ``/metrics``).

Process CPU is the measure to read: the machine is shared, so wall times include waiting for a core. Reported per
configuration and script: the mean of each part over the samples (parts add up to the whole turn), as a Markdown
table on stdout, JSON (``--out``) and a stacked bar chart (``--svg``); docs/results/turn-profile.md reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import turn_profile  # noqa: E402  (pure Python: no Rasa is imported)

GREETING = "你好"
ORDER = ("我的订单 KF20261120001 到哪了", "5678")
STOCK = "上海门店有白色保温杯 500ml 吗"
#: zh-Hans FAQ questions in customers' words (tests/data/faq_heldout.jsonl), each answered by the knowledge base
FAQ_COUNT = 12
#: the scripts: name -> messages; the turns measured are all but the greeting's (reported as its own row)
KINDS = ("first turn (greeting)", "FAQ", "order: number", "order: phone check + answer", "stock")

ACTION_SERVER = "action server: process CPU (HTTP, JSON, action code)"
DATABASES = "PostgreSQL + Redis servers (machine-wide)"
UNSPANNED = "Rasa outside the spans (HTTP parsing, logging)"


def faq_questions(count: int = FAQ_COUNT) -> List[str]:
    rows = [json.loads(line) for line in (ROOT / "tests/data/faq_heldout.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    chosen: List[str] = []
    seen_labels = set()
    for row in rows:
        if row.get("lang") == "zh-Hans" and row.get("label") not in (None, "", "oos") and \
                row["label"] not in seen_labels:
            seen_labels.add(row["label"])
            chosen.append(row["text"])
        if len(chosen) == count:
            break
    return chosen


# -- CPU of processes ------------------------------------------------------------------------------------------------

def process_cpu_ns(pid: int) -> int:
    """CPU time of every live thread of ``pid`` (ns; 0 once it is gone)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as handle:
                total += int(handle.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def pids_named(names: Iterable[str]) -> List[int]:
    wanted = set(names)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm", encoding="utf-8") as handle:
                if handle.read().strip() in wanted:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def action_durations(url: str) -> Dict[str, float]:
    """``kefu_action_duration_seconds_sum`` by action, from the action server's /metrics."""
    text = requests.get(url, timeout=10).text
    out = {}
    for match in re.finditer(r'^kefu_action_duration_seconds_sum\{action="([^"]+)"\} ([0-9.eE+-]+)$', text, re.M):
        out[match.group(1)] = float(match.group(2))
    return out


# -- the stacks ------------------------------------------------------------------------------------------------------

@dataclass
class Databases:
    """Private PostgreSQL databases and a Redis key prefix for one run, removed by :meth:`drop`."""

    pg_url: str
    redis_url: str
    prefix: str = field(default_factory=lambda: "kefu_prof_" + uuid.uuid4().hex[:8])
    created: List[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        base = self.pg_url.rsplit("/", 1)[0]
        return f"{base}/{self.prefix}_{name}"

    def create(self, names: Sequence[str]) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{self.prefix}_{name}"'))
                self.created.append(f"{self.prefix}_{name}")
        engine.dispose()

    def drop(self) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
        try:
            import redis

            client = redis.Redis.from_url(self.redis_url.rsplit("/", 1)[0] + f"/{LOCK_DB}")
            for key in client.scan_iter(f"{self.lock_prefix}*"):
                client.delete(key)
        except Exception as error:  # the keys expire anyway (Rasa's lock lifetime)
            print(f"warning: Redis keys with prefix {self.lock_prefix} left: {error!r}", file=sys.stderr)

    @property
    def lock_prefix(self) -> str:
        return self.prefix.replace("_", "")


LOCK_DB = 3  # the lock store's own Redis database (tests/cluster/cluster.py REDIS_DBS)


def stack_env(config: str, workdir: Path, databases: Optional[Databases], extra: Dict[str, str]) -> Dict[str, str]:
    from tests.stack import CHECKS

    env = {
        "KEFU_TURN_PROFILE": str(workdir / "spans.jsonl"),
        "KEFU_REST_RATE_LIMIT": "0",  # one sender sends --turns messages in a row
        # test stacks run the speed patches' check modes, which do Rasa's own work beside each shortcut: a profile
        # must measure the runtime as it is deployed
        **{key: "0" for key in CHECKS},
    }
    if config == "postgres":
        assert databases is not None
        redis_host, redis_port = re.match(r"redis://([^:/]+):?(\d+)?", databases.redis_url).groups()  # type: ignore[union-attr]
        env.update({
            "KEFU_ENDPOINTS": "endpoints.prod.yml",
            "KEFU_TRACKER_DB_URL": databases.url("tracker"),
            "KEFU_EVENTS_DB_URL": databases.url("events"),
            "KEFU_STORE_DB_URL": databases.url("store"),
            "KEFU_APP_DB_URL": databases.url("app"),
            "KEFU_REDIS_HOST": redis_host,
            "KEFU_REDIS_PORT": redis_port or "6379",
            "KEFU_REDIS_LOCK_DB": str(LOCK_DB),
            "KEFU_REDIS_PASSWORD": "",
            "KEFU_REDIS_LOCK_PREFIX": databases.lock_prefix,
            "SQL_POOL_SIZE": "5",
            "SQL_MAX_OVERFLOW": "5",
        })
    env.update(extra)
    return env


def seed_store(env: Dict[str, str]) -> None:
    import subprocess

    from launcher.processes import process_env
    from tests.harness import environ_without

    full = process_env({**environ_without(), **env})
    result = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "actions.store", "seed", "--if-empty"],
                            cwd=str(ROOT), env=full, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"seeding the store failed:\n{result.stdout}\n{result.stderr}")


# -- turns -----------------------------------------------------------------------------------------------------------

@dataclass
class Measured:
    config: str
    kind: str
    sender: str
    index: int  # the turn's number in its conversation, from 1
    client_ms: float
    rasa_cpu_ms: float
    actions_cpu_ms: float
    databases_cpu_ms: Optional[float]
    action_work_ms: Dict[str, float]
    parts: Dict[str, Dict[str, float]]
    root: Tuple[float, float]  # the Rasa turn span: wall, CPU ms
    handed_over: bool


class Profiler:
    def __init__(self, stack: Any, config: str, spans_path: Path) -> None:
        self.stack, self.config, self.spans_path = stack, config, spans_path
        self.offset = 0
        self.session = requests.Session()
        self.rasa_pid = stack.processes["rasa"].pid
        self.actions_pid = stack.processes["actions"].pid
        self.metrics_url = f"http://127.0.0.1:{stack.env['KEFU_ACTION_PORT']}/metrics"
        self.database_pids = pids_named(["postgres", "redis-server"]) if config == "postgres" else []

    def databases_cpu(self) -> int:
        return sum(process_cpu_ns(pid) for pid in self.database_pids)

    def turn(self, kind: str, sender: str, index: int, text: str) -> Measured:
        before_metrics = action_durations(self.metrics_url)
        rasa0, actions0, db0 = process_cpu_ns(self.rasa_pid), process_cpu_ns(self.actions_pid), self.databases_cpu()
        started = time.perf_counter()
        response = self.session.post(f"{self.stack.rasa_url}/webhooks/rest/webhook",
                                     json={"sender": sender, "message": text}, timeout=120)
        client_ms = (time.perf_counter() - started) * 1000.0
        rasa1, actions1, db1 = process_cpu_ns(self.rasa_pid), process_cpu_ns(self.actions_pid), self.databases_cpu()
        response.raise_for_status()
        replies = response.json()
        after_metrics = action_durations(self.metrics_url)
        records = self._records()
        if len(records) != 1:
            raise RuntimeError(f"expected one turn record after {text!r}, found {len(records)}")
        record = records[0]
        work = {name: round((after_metrics.get(name, 0.0) - before_metrics.get(name, 0.0)) * 1000.0, 3)
                for name in after_metrics if after_metrics.get(name, 0.0) != before_metrics.get(name, 0.0)}
        root = record["spans"][0]
        return Measured(
            config=self.config, kind=kind, sender=sender, index=index, client_ms=round(client_ms, 3),
            rasa_cpu_ms=(rasa1 - rasa0) / 1e6, actions_cpu_ms=(actions1 - actions0) / 1e6,
            databases_cpu_ms=(db1 - db0) / 1e6 if self.database_pids else None,
            action_work_ms=work, parts=turn_profile.parts(record), root=(root[2], root[3]),
            handed_over=any(_handed_over(reply) for reply in replies),
        )

    def _records(self) -> List[Dict[str, Any]]:
        for _ in range(50):  # the record is written before the response leaves; allow for the file system
            records, self.offset = turn_profile.read(str(self.spans_path), self.offset)
            if records:
                return records
            time.sleep(0.02)
        return []

    def conversation(self, messages: Sequence[Tuple[str, str]]) -> List[Measured]:
        sender = f"prof-{uuid.uuid4().hex[:10]}"
        return [self.turn(turn_kind, sender, i + 1, text) for i, (turn_kind, text) in enumerate(messages)]


def _handed_over(reply: Dict[str, Any]) -> bool:
    custom = reply.get("custom") if isinstance(reply, dict) else None
    event = custom.get("kefu_event") if isinstance(custom, dict) else None
    return isinstance(event, dict) and event.get("type") == "handoff_queued"


def scripts(faq: List[str], i: int) -> List[List[Tuple[str, str]]]:
    return [
        [(KINDS[0], GREETING), ("FAQ", faq[i % len(faq)])],
        [("order: number", ORDER[0]), ("order: phone check + answer", ORDER[1])],
        [("stock", STOCK)],
    ]


def run_config(config: str, args: argparse.Namespace, faq: List[str]) -> Dict[str, Any]:
    from tests.stack import Stack

    workdir = Path(tempfile.mkdtemp(prefix=f"kefu-turn-profile-{config}-"))
    databases = Databases(args.pg_url, args.redis_url) if config == "postgres" else None
    extra = dict(item.split("=", 1) for item in args.rasa_env)
    stack = None
    try:
        if databases is not None:
            databases.create(["tracker", "events", "store", "app"])
        env = stack_env(config, workdir, databases, extra)
        if databases is not None:
            seed_store(env)
        print(f"[{config}] starting Rasa and the action server in {workdir}", flush=True)
        stack = Stack.start(workdir, extra_env=env, only=["actions", "rasa"], timeout=600)
        profiler = Profiler(stack, config, Path(env["KEFU_TURN_PROFILE"]))
        for i in range(args.warmup):
            for script in scripts(faq, i):
                profiler.conversation(script)
        measured: List[Measured] = []
        for i in range(args.samples):
            for script in scripts(faq, args.warmup + i):
                measured.extend(profiler.conversation(script))
        long_turns: List[Measured] = []
        for _ in range(args.long):
            long_turns.extend(profiler.conversation([("FAQ (long)", faq[t % len(faq)])
                                                         for t in range(args.turns)]))
        print(f"[{config}] {len(measured)} turns measured, {len(long_turns)} in long conversations", flush=True)
        return {"config": config, "rasa_env": extra, "turns": [m.__dict__ for m in measured],
                "long": [m.__dict__ for m in long_turns]}
    finally:
        if stack is not None:
            stack.stop()
        if databases is not None:
            databases.drop()


# -- summaries -------------------------------------------------------------------------------------------------------

def breakdown(turns: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Mean CPU and wall ms of every part over ``turns`` (one script's turns of one configuration)."""
    n = len(turns)
    detail: Dict[str, Dict[str, float]] = {}
    for turn in turns:
        for part, value in turn["parts"].items():
            entry = detail.setdefault(part, {"cpu_ms": 0.0, "wall_ms": 0.0, "calls": 0.0})
            for key in entry:
                entry[key] += value[key] / n
    groups: Dict[str, Dict[str, float]] = {}
    for part, value in detail.items():
        entry = groups.setdefault(turn_profile.group_of(part), {"cpu_ms": 0.0, "wall_ms": 0.0})
        entry["cpu_ms"] += value["cpu_ms"]
        entry["wall_ms"] += value["wall_ms"]
    rasa_cpu = statistics.fmean(t["rasa_cpu_ms"] for t in turns)
    root_cpu = statistics.fmean(t["root"][1] for t in turns)
    groups[UNSPANNED] = {"cpu_ms": max(0.0, rasa_cpu - root_cpu), "wall_ms": 0.0}
    groups[ACTION_SERVER] = {"cpu_ms": statistics.fmean(t["actions_cpu_ms"] for t in turns),
                             "wall_ms": statistics.fmean(sum(t["action_work_ms"].values()) for t in turns)}
    databases = [t["databases_cpu_ms"] for t in turns if t["databases_cpu_ms"] is not None]
    if databases:
        groups[DATABASES] = {"cpu_ms": statistics.fmean(databases), "wall_ms": 0.0}
    actions: Dict[str, float] = {}
    for turn in turns:
        for name, ms in turn["action_work_ms"].items():
            actions[name] = actions.get(name, 0.0) + ms / n
    return {
        "samples": n,
        "rasa_cpu_ms": round(rasa_cpu, 2),
        "rasa_cpu_ms_median": round(statistics.median(t["rasa_cpu_ms"] for t in turns), 2),
        "turn_span_wall_ms": round(statistics.fmean(t["root"][0] for t in turns), 2),
        "client_ms_median": round(statistics.median(t["client_ms"] for t in turns), 2),
        "total_cpu_ms": round(sum(v["cpu_ms"] for k, v in groups.items() if k != DATABASES) +
                              groups.get(DATABASES, {"cpu_ms": 0.0})["cpu_ms"], 2),
        "handed_over": sum(1 for t in turns if t["handed_over"]),
        "groups": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in groups.items()},
        "detail": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in sorted(detail.items())},
        "action_work_ms": {k: round(v, 3) for k, v in sorted(actions.items())},
    }


def growth(long_turns: List[Dict[str, Any]], turns: int) -> Dict[str, Any]:
    """The 2nd turn against the last: per-turn medians over the long conversations (and over 3-turn windows, so a
    turn the shared machine slowed down moves nothing)."""
    by_index: Dict[int, List[Dict[str, Any]]] = {}
    for turn in long_turns:
        by_index.setdefault(turn["index"], []).append(turn)

    def cost(indices: Iterable[int]) -> Dict[str, float]:
        chosen = [t for i in indices for t in by_index.get(i, [])]
        if not chosen:
            return {}
        part = lambda t, names: sum(t["parts"].get(n, {}).get("cpu_ms", 0.0) for n in names)  # noqa: E731
        return {
            "rasa_cpu_ms": round(statistics.median(t["rasa_cpu_ms"] for t in chosen), 2),
            "actions_cpu_ms": round(statistics.median(t["actions_cpu_ms"] for t in chosen), 2),
            "tracker_load_cpu_ms": round(statistics.median(
                part(t, ["tracker load: query", "tracker load: replay events"]) for t in chosen), 2),
            "tracker_save_and_broker_cpu_ms": round(statistics.median(
                part(t, ["tracker save: insert new events", "event broker: reload tracker for the diff",
                         "event broker: publish"]) for t in chosen), 2),
            "action_payload_cpu_ms": round(statistics.median(
                part(t, ["action call: payload (tracker + domain to JSON)"]) for t in chosen), 2),
            "policies_cpu_ms": round(statistics.median(
                sum(v["cpu_ms"] for k, v in t["parts"].items() if k.startswith("polic")) for t in chosen), 2),
            "samples": len(chosen),
        }

    second, last = cost([2]), cost([turns])
    out = {"turns": turns, "turn_2": second, f"turn_{turns}": last,
           "turns_2_4": cost([2, 3, 4]), f"turns_{turns - 2}_{turns}": cost(range(turns - 2, turns + 1)),
           "per_turn_rasa_cpu_ms": {i: round(statistics.median(t["rasa_cpu_ms"] for t in ts), 2)
                                    for i, ts in sorted(by_index.items())}}
    both = lambda c: c["rasa_cpu_ms"] + c["actions_cpu_ms"]  # noqa: E731
    if second and last and second["rasa_cpu_ms"]:
        out["ratio_rasa_cpu"] = round(last["rasa_cpu_ms"] / second["rasa_cpu_ms"], 2)
        out["ratio_rasa_plus_actions_cpu"] = round(both(last) / both(second), 2)
    # the same over 3-turn windows, and from a straight line fitted to every turn from the 2nd on: the 2nd turn alone
    # follows the session's first turn (whose tracker is read from the database again), and one turn or a few can
    # meet a busy moment of the machine (the databases' own work, another process), so the fit is the steadier measure
    early, late = out["turns_2_4"], out[f"turns_{turns - 2}_{turns}"]
    if early and late and early["rasa_cpu_ms"]:
        out["ratio_windows_rasa_cpu"] = round(late["rasa_cpu_ms"] / early["rasa_cpu_ms"], 2)
        out["ratio_windows_rasa_plus_actions_cpu"] = round(both(late) / both(early), 2)
    fitted = [t for t in long_turns if 2 <= t["index"] <= turns]
    for key, value in (("rasa_cpu", lambda t: t["rasa_cpu_ms"]), ("rasa_plus_actions_cpu", both)):
        line = fitted_line([(t["index"], value(t)) for t in fitted])
        if line is not None and line[0] + 2 * line[1] > 0:
            at_2, at_last = line[0] + 2 * line[1], line[0] + turns * line[1]
            out[f"fit_{key}"] = {"at_2": round(at_2, 2), f"at_{turns}": round(at_last, 2),
                                 "ms_per_turn": round(line[1], 4)}
            out[f"ratio_fit_{key}"] = round(at_last / at_2, 2)
    return out


def fitted_line(points: List[Tuple[float, float]]) -> Optional[Tuple[float, float]]:
    """Least-squares ``(intercept, slope)`` of ``points`` (None for fewer than two distinct x)."""
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points) /
             sum((x - mean_x) ** 2 for x, _ in points))
    return mean_y - slope * mean_x, slope


def summarise(raw: Dict[str, Any], turns: int) -> Dict[str, Any]:
    kinds: Dict[str, List[Dict[str, Any]]] = {}
    for turn in raw["turns"]:
        kinds.setdefault(turn["kind"], []).append(turn)
    return {"config": raw["config"], "rasa_env": raw["rasa_env"],
            "kinds": {kind: breakdown(kinds[kind]) for kind in KINDS if kind in kinds},
            "growth": growth(raw["long"], turns) if raw["long"] else {}}


ROWS = (*turn_profile.ORDER, UNSPANNED, ACTION_SERVER, DATABASES)


def table(summary: Dict[str, Any]) -> str:
    kinds = list(summary["kinds"])
    lines = [f"**{summary['config']}**: CPU ms per turn (wall ms), mean of {summary['kinds'][kinds[0]]['samples']} "
             "turns each", "",
             "| part | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for row in ROWS:
        cells = []
        present = False
        for kind in kinds:
            value = summary["kinds"][kind]["groups"].get(row)
            if value is None:
                cells.append("")
                continue
            present = True
            wall = f" ({value['wall_ms']:.1f})" if value["wall_ms"] else ""
            cells.append(f"{value['cpu_ms']:.1f}{wall}")
        if present:
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines.append("| **total CPU** | " + " | ".join(f"**{summary['kinds'][k]['total_cpu_ms']:.1f}**" for k in kinds)
                 + " |")
    lines.append("| Rasa process CPU (/proc), mean / median | " + " | ".join(
        f"{summary['kinds'][k]['rasa_cpu_ms']:.1f} / {summary['kinds'][k]['rasa_cpu_ms_median']:.1f}" for k in kinds)
        + " |")
    lines.append("| client round trip, median ms | " + " | ".join(
        f"{summary['kinds'][k]['client_ms_median']:.1f}" for k in kinds) + " |")
    return "\n".join(lines)


def detail_table(summary: Dict[str, Any]) -> str:
    """NLU components and policies one by one."""
    kinds = list(summary["kinds"])
    names = sorted({p for k in kinds for p in summary["kinds"][k]["detail"] if p.startswith(("NLU", "polic"))},
                   key=lambda p: (not p.startswith("NLU"), p))
    lines = [f"**{summary['config']}**: NLU components and policies, CPU ms per turn (calls per turn)", "",
             "| component | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for name in names:
        cells = []
        for kind in kinds:
            value = summary["kinds"][kind]["detail"].get(name)
            cells.append(f"{value['cpu_ms']:.2f} ({value['calls']:.1f})" if value else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth_table(summaries: List[Dict[str, Any]]) -> str:
    lines = ["| configuration | turn (median of the long conversations) | Rasa CPU ms | action server CPU ms | tracker load | save + broker | "
             "action payload | policies |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for summary in summaries:
        g = summary.get("growth") or {}
        if not g:
            continue
        n = g["turns"]
        for key in ("turn_2", f"turn_{n}", "turns_2_4", f"turns_{n - 2}_{n}"):
            c = g[key]
            label = key.split("_", 1)[1].replace("_", "-")
            lines.append(f"| {summary['config']} | {label} | {c['rasa_cpu_ms']:.1f} | "
                         f"{c['actions_cpu_ms']:.1f} | {c['tracker_load_cpu_ms']:.1f} | "
                         f"{c['tracker_save_and_broker_cpu_ms']:.1f} | {c['action_payload_cpu_ms']:.1f} | "
                         f"{c['policies_cpu_ms']:.1f} |")
        lines.append(f"| {summary['config']} | ratio {g['turns']}th / 2nd | {g.get('ratio_rasa_cpu', '')} | | | | | "
                     f"(Rasa + action server: {g.get('ratio_rasa_plus_actions_cpu', '')}) |")
        lines.append(f"| {summary['config']} | ratio {n - 2}-{n} / 2-4 | {g.get('ratio_windows_rasa_cpu', '')} | | | | | "
                     f"(Rasa + action server: {g.get('ratio_windows_rasa_plus_actions_cpu', '')}) |")
        lines.append(f"| {summary['config']} | ratio {n}th / 2nd, line fitted to turns 2-{n} | "
                     f"{g.get('ratio_fit_rasa_cpu', '')} | | | | | "
                     f"(Rasa + action server: {g.get('ratio_fit_rasa_plus_actions_cpu', '')}) |")
    return "\n".join(lines)


COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")


def svg_chart(summaries: List[Dict[str, Any]]) -> str:
    """One stacked bar per configuration and script: CPU ms per turn by part (drawn like load.py's plot)."""
    bars: List[Tuple[str, str, Dict[str, float]]] = []
    for summary in summaries:
        for kind, value in summary["kinds"].items():
            bars.append((summary["config"], kind, {k: v["cpu_ms"] for k, v in value["groups"].items()}))
    rows = [r for r in ROWS if any(b[2].get(r, 0.0) > 0 for b in bars)]
    bar_w, gap, left, top_pad, bottom, legend_w = 34, 14, 120, 40, 190, 340
    plot_h = 300
    height = top_pad + plot_h + bottom
    width = left + len(bars) * (bar_w + gap) + legend_w
    top = max((sum(b[2].values()) for b in bars), default=1.0) * 1.08 or 1.0

    def py(y: float) -> float:
        return top_pad + plot_h - plot_h * y / top

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             'font-size="11"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left}" y="20" font-size="13">CPU ms per turn by part (Rasa process, action server'
             f'{", databases" if any(DATABASES in b[2] for b in bars) else ""}; benchmarks/turn_profile.py)</text>',
             f'<line x1="{left}" y1="{py(0)}" x2="{left + len(bars) * (bar_w + gap)}" y2="{py(0)}" stroke="black"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{py(0)}" stroke="black"/>',
             f'<text x="{left - 40}" y="{top_pad + plot_h / 2}" transform="rotate(-90 {left - 40} '
             f'{top_pad + plot_h / 2})" text-anchor="middle">CPU ms per turn</text>']
    for i in range(6):
        y = top * i / 5
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.0f}</text>')
    for n, (config, kind, values) in enumerate(bars):
        x = left + gap / 2 + n * (bar_w + gap)
        base = 0.0
        for r, row in enumerate(rows):
            value = values.get(row, 0.0)
            if value <= 0:
                continue
            parts.append(f'<rect x="{x:.1f}" y="{py(base + value):.1f}" width="{bar_w}" '
                         f'height="{py(base) - py(base + value):.1f}" fill="{COLOURS[r % len(COLOURS)]}">'
                         f'<title>{config} / {kind}: {row} {value:.1f} ms</title></rect>')
            base += value
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{py(base) - 4:.1f}" text-anchor="middle">{base:.0f}</text>')
        label_x, label_y = x + bar_w / 2 + 4, py(0) + 8
        parts.append(f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="end" '
                     f'transform="rotate(-60 {label_x:.1f} {label_y:.1f})">{config}: {kind}</text>')
    legend_x = left + len(bars) * (bar_w + gap) + 20
    for r, row in enumerate(reversed(rows)):  # top of the legend = top of the stack
        y = top_pad + 16 * r
        colour = COLOURS[(len(rows) - 1 - r) % len(COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{y + 9}">{row}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--samples", type=int, default=10, help="conversations of each script measured")
    parser.add_argument("--warmup", type=int, default=3, help="conversations of each script first, not counted")
    parser.add_argument("--long", type=int, default=2, help="long FAQ conversations (cost growth)")
    parser.add_argument("--turns", type=int, default=50, help="turns of each long conversation")
    parser.add_argument("--pg-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL that may create databases (private ones are created and dropped)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rasa-env", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra environment of both processes (e.g. TF_INTRA_OP_PARALLELISM_THREADS=1)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--svg", type=Path)
    parser.add_argument("--raw", type=Path, help="every measured turn with its parts (JSON; large)")
    parser.add_argument("--summarise", type=Path, metavar="RAW",
                        help="start nothing: summarise the turns an earlier run wrote with --raw")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.samples > 200 or args.turns < 3 or args.turns > 500:
        parser.error("bounded by design: 1-200 samples, 3-500 turns")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally blocks stop the processes
    faq = faq_questions()
    if args.summarise:  # no stacks: the turns of an earlier run (--raw)
        raw = json.loads(args.summarise.read_text(encoding="utf-8"))
    else:
        raw = [run_config(config, args, faq) for config in args.configs]
    summaries = [summarise(result, args.turns) for result in raw]
    for summary in summaries:
        print()
        print(table(summary))
        print()
        print(detail_table(summary))
    print()
    print(growth_table(summaries))
    handed = sum(k["handed_over"] for s in summaries for k in s["kinds"].values())
    if handed:
        print(f"warning: {handed} measured turns handed the conversation to a person", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summaries": summaries, "faq_questions": faq,
                                        "command": " ".join(sys.argv)}, ensure_ascii=False, indent=1),
                            encoding="utf-8")
    if args.raw and not args.summarise:
        args.raw.parent.mkdir(parents=True, exist_ok=True)
        args.raw.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg_chart(summaries), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
