"""The current teams, routing and canned responses: the database is the source of truth, console/config.yml and
console/canned.yml are the seed (imported once into an empty table).

One console process holds one ``Directory``. It reads the tables at start, again after every administrative
change it makes, and within ``WATCH_SECONDS`` of a change made outside it (``python -m console teams|canned``:
``watch``, a background task of the console), and keeps the settings' configuration current in place: every reader
of ``config["teams"]``, ``config["routing"]`` and ``Settings.teams`` (routing, transfers, the ticket list's
filter, ``/api/config``) sees the change at once. Per-team staffed hours are read here (``hours_for``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.admin.models import AdminSeed, CannedRow, TeamRow
from console.queueing import StaffedHours

log = logging.getLogger("kefu.console.admin")

CannedLoader = Callable[[], List[Dict[str, Any]]]
#: how often a console looks for changes made outside it (the CLI, another process)
WATCH_SECONDS = 5.0


def _loads(raw: Optional[str], default: Any) -> Any:
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        return default


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def team_json(row: TeamRow) -> Dict[str, Any]:
    """A team as the configuration and the admin API show it (``hours`` null: the shop's hours)."""
    return {"id": row.id, "name": _loads(row.names_json, {}), "categories": _loads(row.categories_json, []),
            "hours": _loads(row.hours_json, None), "active": bool(row.active)}


def canned_json(row: CannedRow) -> Dict[str, Any]:
    return {"id": row.id, "title": _loads(row.title_json, {}), "text": _loads(row.text_json, {})}


def seed(session: Session, config: Dict[str, Any], load_canned: CannedLoader, now: float) -> List[str]:
    """Import the seed files whose tables were never seeded (the caller commits); returns what was imported."""
    done: List[str] = []
    if session.get(AdminSeed, "teams") is None:
        if session.scalar(sa.select(sa.func.count()).select_from(TeamRow)) == 0:
            routing = config.get("routing") or {}
            for n, team in enumerate(config["teams"]):
                categories = [c for c, t in routing.items() if t == team["id"]]
                session.add(TeamRow(id=team["id"], names_json=dumps(team["name"]), categories_json=dumps(categories),
                                    hours_json=None, active=True, position=n, created_at=now, updated_at=now))
            done.append("teams")
        session.add(AdminSeed(name="teams", at=now))
    if session.get(AdminSeed, "canned") is None:
        if session.scalar(sa.select(sa.func.count()).select_from(CannedRow)) == 0:
            for n, item in enumerate(load_canned()):
                session.add(CannedRow(id=item["id"], title_json=dumps(item["title"]), text_json=dumps(item["text"]),
                                      position=n, created_at=now, updated_at=now))
            done.append("canned")
        session.add(AdminSeed(name="canned", at=now))
    return done


class Directory:
    """The teams (with routing and hours) and canned responses of one console process."""

    def __init__(self, sessions: sessionmaker, config: Dict[str, Any], load_canned: CannedLoader,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.config = config
        self.load_canned = load_canned
        self.clock = clock
        self.shop_hours = StaffedHours.from_config(config["staffed_hours"])
        self._hours: Dict[str, StaffedHours] = {}
        self._canned: Optional[List[Dict[str, Any]]] = None
        self._lock = threading.Lock()
        self._seen: Optional[tuple] = None  # the tables' stamp when last read
        self.loaded = False

    def load(self) -> None:
        """Seed the empty tables once, then read them (at start, after ``create_schema``)."""
        with self.sessions() as session:
            try:
                imported = seed(session, self.config, self.load_canned, self.clock())
                session.commit()
            except IntegrityError:  # another process seeded at the same moment: theirs stands
                session.rollback()
                imported = []
        if imported:
            log.info("imported the seed of %s into the console database", " and ".join(imported))
        self.refresh()

    def _stamp(self, session: Session) -> tuple:
        """What changes whenever a team or canned response is added, edited or removed: counts and latest edits."""
        stamp: tuple = ()
        for table in (TeamRow, CannedRow):
            count, latest = session.execute(sa.select(sa.func.count(), sa.func.max(table.updated_at))).one()
            stamp += (int(count or 0), float(latest or 0.0))
        return stamp

    def refresh_if_changed(self) -> bool:
        """Read the tables again when someone else changed them (``python -m console teams|canned`` from a shell, or
        another console process): one cheap query when nothing changed. True when the directory was reloaded."""
        with self.sessions() as session:
            stamp = self._stamp(session)
        if stamp == self._seen:
            return False
        self.refresh()
        return True

    async def watch(self, every: float = WATCH_SECONDS) -> None:
        """The console's background task: pick up changes made outside this process within ``every`` seconds."""
        while True:
            await asyncio.sleep(every)
            try:
                if await asyncio.to_thread(self.refresh_if_changed):
                    log.info("reloaded the teams and canned responses changed outside this console")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database away for a moment: the next check tries again
                log.warning("admin.directory.watch_failed error=%s", type(error).__name__)

    def refresh(self) -> None:
        """Read the tables again (after a change) and update the configuration in place."""
        with self.sessions() as session:
            stamp = self._stamp(session)
            teams = [team_json(r) for r in session.scalars(sa.select(TeamRow).order_by(TeamRow.position, TeamRow.id))]
            canned = [canned_json(r) for r in session.scalars(
                sa.select(CannedRow).order_by(CannedRow.position, CannedRow.id))]
        routing = {c: t["id"] for t in teams if t["active"] for c in t["categories"]}
        if "other" not in routing and "other" in (self.config.get("routing") or {}):
            routing["other"] = self.config["routing"]["other"]  # where unrouted categories go (ingest's fallback)
        hours: Dict[str, StaffedHours] = {}
        for team in teams:
            if team["hours"] is not None:
                hours[team["id"]] = StaffedHours.from_config({"timezone": self.shop_hours.tz, "weekly": team["hours"]})
        with self._lock:
            self.config["teams"] = teams
            self.config["routing"] = routing
            self._hours = hours
            self._canned = canned
            self._seen = stamp
            self.loaded = True

    def hours_for(self, team: Optional[str]) -> StaffedHours:
        """The team's staffed hours (its own, else the shop's)."""
        return self._hours.get(team or "", self.shop_hours)

    def canned(self) -> List[Dict[str, Any]]:
        """The canned responses (the YAML's until the tables were read)."""
        if self._canned is None:
            self._canned = self.load_canned()
        return self._canned
