"""Where a load level's CPU went: per process of the cluster, the load generator, the database and the rest.

Reads ``/proc`` (Linux) before and after a level: every process's user + system time, grouped by
the cluster process it belongs to (a server and everything it spawned share its session, as
tests/harness.py starts each in a session of its own), PostgreSQL and Redis by their command name,
this process (the load generator) by its pid, and everything else as ``other``. The machine's busy
share comes from ``/proc/stat``. With the turns a level served, ``ms_per_turn`` says what one turn
cost each part, which is what decides the saturated rate on a machine whose cores are all busy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BY_COMMAND = {"postgres": "postgres", "redis-server": "redis", "nginx": "nginx"}


def _stat(pid: int) -> Optional[Tuple[str, int, int]]:
    """(command, session id, ticks) of ``pid``: its user + system time and that of the children it has waited for
    (a PostgreSQL backend that ended is its postmaster's); None when it is gone or unreadable."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command is in parentheses and may hold spaces or parentheses itself
    command = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    # after the command: state(0) ppid(1) pgrp(2) session(3) ... utime(11) stime(12) cutime(13) cstime(14)
    return command, int(fields[3]), sum(int(v) for v in fields[11:15])


def machine_ticks() -> Tuple[int, int]:
    """(busy, total) ticks of all cores since boot, from the first line of /proc/stat."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Snapshot:
    groups: Dict[str, int]  # ticks per group
    busy: int
    total: int


def snapshot(sessions: Mapping[int, str], me: Optional[int] = None) -> Snapshot:
    """Ticks per group now. ``sessions``: session id -> name (a server's pid, as each leads its session)."""
    me = os.getpid() if me is None else me
    groups: Dict[str, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None:
            continue
        command, session, ticks = stat
        if pid == me:
            name = "load generator"
        elif session in sessions:
            name = sessions[session]
        else:
            name = BY_COMMAND.get(command, "other")
        groups[name] = groups.get(name, 0) + ticks
    busy, total = machine_ticks()
    return Snapshot(groups, busy, total)


def usage(before: Snapshot, after: Snapshot, seconds: float, turns: int) -> Dict[str, object]:
    """What the level cost: per group the cores it kept busy on average and the ms of CPU per turn; the machine's
    busy share. A process that ended during the level and was not waited for by one still running is missing
    from ``after``: its time is lost (servers and PostgreSQL wait for their children)."""
    per_group: Dict[str, Dict[str, float]] = {}
    for name in sorted(set(before.groups) | set(after.groups)):
        spent = max(0, after.groups.get(name, 0) - before.groups.get(name, 0)) / TICKS
        per_group[name] = {"cores": round(spent / seconds, 3) if seconds > 0 else 0.0,
                           "ms_per_turn": round(1000.0 * spent / turns, 1) if turns else 0.0}
    total = after.total - before.total
    return {"processes": per_group,
            "machine_busy": round((after.busy - before.busy) / total, 3) if total > 0 else 0.0,
            "cores": os.cpu_count() or 1}
