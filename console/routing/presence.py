"""Presence and capacity as plain data and functions (no database): the ``assignment`` section of
console/config.yml, an agent's effective presence, capacity, and the order in which free agents get tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

ONLINE, AWAY, OFFLINE = "online", "away", "offline"
#: What an agent may choose in the top bar. Only ``online`` agents get tickets automatically; ``away`` keeps the
#: agent's tickets and shows colleagues they are not at the desk.
PRESENCES = (ONLINE, AWAY, OFFLINE)
MAX_CAPACITY = 50

DEFAULTS = {"auto": True, "default_capacity": 3, "presence_timeout_seconds": 60, "sweep_seconds": 5}


class RoutingConfigError(ValueError):
    """The ``assignment`` section of the console configuration is malformed."""


@dataclass(frozen=True)
class RoutingSettings:
    """``auto``: give waiting tickets to free online agents; ``default_capacity``: an agent's capacity unless a
    supervisor set theirs; ``presence_timeout_seconds``: online or away without a heartbeat this long is offline;
    ``sweep_seconds``: how often each console process looks for work besides the moments that make some."""

    auto: bool = True
    default_capacity: int = 3
    presence_timeout_seconds: float = 60.0
    sweep_seconds: float = 5.0

    @property
    def heartbeat_seconds(self) -> float:
        """How often a live stream renews its agent's heartbeat: three chances before the timeout."""
        return max(1.0, self.presence_timeout_seconds / 3)

    @classmethod
    def from_config(cls, raw: Any, where: str = "assignment") -> RoutingSettings:
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise RoutingConfigError(f"{where} must be a mapping")
        unknown = sorted(set(raw) - set(DEFAULTS))
        if unknown:
            raise RoutingConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                                     f"use {', '.join(DEFAULTS)}")
        values = {**DEFAULTS, **raw}
        if not isinstance(values["auto"], bool):
            raise RoutingConfigError(f"{where}.auto must be true or false")
        capacity = values["default_capacity"]
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
            raise RoutingConfigError(f"{where}.default_capacity must be a whole number from 0 to {MAX_CAPACITY}")
        for key in ("presence_timeout_seconds", "sweep_seconds"):
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise RoutingConfigError(f"{where}.{key} must be a positive number of seconds")
        return cls(values["auto"], capacity, float(values["presence_timeout_seconds"]), float(values["sweep_seconds"]))

    def to_json(self) -> Dict[str, Any]:
        return {"auto": self.auto, "default_capacity": self.default_capacity,
                "presence_timeout_seconds": self.presence_timeout_seconds, "sweep_seconds": self.sweep_seconds}


def effective_presence(chosen: Optional[str], heartbeat_at: Optional[float], now: float, timeout: float,
                       active: bool = True) -> str:
    """What an agent is now: their choice, unless their console has not been heard of for ``timeout`` seconds
    (closed tab, lost network, expired session) or the account is inactive: then offline."""
    if not active or chosen not in (ONLINE, AWAY):
        return OFFLINE
    if heartbeat_at is None or now - heartbeat_at > timeout:
        return OFFLINE
    return chosen


def capacity_of(capacity: Optional[int], default: int) -> int:
    """The agent's own capacity, else the configured default."""
    return default if capacity is None else capacity


def check_capacity(value: Any) -> Optional[int]:
    """A capacity from a supervisor: a whole number 0..MAX_CAPACITY, or None for the default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CAPACITY:
        raise ValueError(f"capacity must be a whole number from 0 to {MAX_CAPACITY}, or null for the default")
    return value


def check_presence(value: Any) -> str:
    if value not in PRESENCES:
        raise ValueError(f"presence must be one of {', '.join(PRESENCES)}")
    return value


@dataclass(frozen=True)
class Candidate:
    """A free agent as the assigner sees it: id, teams, free places, when last given a ticket."""

    agent_id: int
    teams: frozenset
    free: int
    last_assigned_at: Optional[float]


def round_robin(candidates: Iterable[Candidate], team: str, preferred: Sequence[int] = ()) -> List[Candidate]:
    """The free agents of ``team`` in the order they should get its next ticket: an agent the customer dealt with
    before (``preferred``) first, then the least recently assigned (never assigned: first of all), then by id."""
    members = [c for c in candidates if team in c.teams and c.free > 0]
    rank = {agent_id: n for n, agent_id in enumerate(preferred)}
    return sorted(members, key=lambda c: (rank.get(c.agent_id, len(rank)),
                                          c.last_assigned_at if c.last_assigned_at is not None else float("-inf"),
                                          c.agent_id))
