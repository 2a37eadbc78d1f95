"""Administrative changes, checked and audited: agents (create, edit role, teams and name, deactivate and
activate, reset the password), teams (names, categories, staffed hours, deactivate), canned responses, the
escalation word lists (console/admin/escalation.py: the keywords and complaint evidence the action server uses
instead of actions/escalation.yml's lists).

The web API (console/web/admin.py) and the command line (console/admin/cli.py, console/accounts.py) call the
same methods. Every change writes one ``AdminAudit`` row in the transaction of the change, with the values
before and after (never a password or its hash). Refusals raise ``Invalid`` (400), ``NotFound`` (404) or
``Conflict`` (409) with a message for the person who asked.

Rules: nobody deactivates or demotes themselves, and the last active supervisor stays one; a team with open
tickets, categories or presales routing rules is not deactivated (its tickets keep their team); a category (the
bot's fixed vocabulary, ``kernel.handoff.CATEGORIES``) moves from team to team but never loses its team.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.accounts import USERNAME, AccountError, check_password, end_sessions
from console.admin import escalation as words
from console.admin.directory import Directory, _loads, canned_json, dumps, team_json
from console.admin.models import AdminAudit, CannedRow, EscalationWordsRow, TeamRow
from console.auth import hash_password
from console.models import ROLES, Agent, Ticket
from console.queueing import DAYS, StaffedHours
from console.routing.presence import check_capacity
from console.states import State
from kernel.handoff import CATEGORIES
from kernel.text import is_clean

LANGUAGES = ("zh-Hans", "zh-Hant", "en")
TEAM_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
CANNED_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SPAN = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
MAX_NAME = 64
MAX_TEAM_NAME = 32
MAX_TITLE = 64
MAX_CANNED_TEXT = 2000
MAX_SPANS = 4
MAX_CANNED = 500
OPEN_STATES = (State.QUEUED.value, State.ASSIGNED.value)


class AdminError(Exception):
    status = 400
    code = "bad_request"


class Invalid(AdminError):
    pass


class NotFound(AdminError):
    status = 404
    code = "not_found"


class Conflict(AdminError):
    status = 409
    code = "conflict"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: ``agent:<username>`` (with the agent's id) or ``cli:<os user>``, and from where."""

    name: str
    address: str = ""
    agent_id: Optional[int] = None


# -- checks of what was typed --------------------------------------------------------------------------
def _text(value: Any, field: str, most: int, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    text = value.strip()
    if not text:
        raise Invalid(f"{field} must not be empty")
    if len(text) > most:
        raise Invalid(f"{field} must have at most {most} characters")
    if not is_clean(text) or (not multiline and ("\n" in text or "\r" in text or "\t" in text)):
        raise Invalid(f"{field} contains control characters")
    return text


def _languages(value: Any, field: str, most: int, multiline: bool = False) -> Dict[str, str]:
    """Words in the three languages: zh-Hans and en required, zh-Hant generated from zh-Hans when empty."""
    if not isinstance(value, Mapping):
        raise Invalid(f"{field} must be an object with zh-Hans, zh-Hant and en")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise Invalid(f"{field}: unknown language(s) {', '.join(map(str, unknown))}; use {', '.join(LANGUAGES)}")
    out = {lang: _text(value.get(lang), f"{field}.{lang}", most, multiline) for lang in ("zh-Hans", "en")}
    hant = value.get("zh-Hant")
    if hant is None or (isinstance(hant, str) and not hant.strip()):
        from kernel.i18n import to_traditional

        hant = to_traditional(out["zh-Hans"])
    out["zh-Hant"] = _text(hant, f"{field}.zh-Hant", most, multiline)
    return {lang: out[lang] for lang in LANGUAGES}


def _id(value: Any, field: str, pattern: re.Pattern[str], most: int) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise Invalid(f"{field} must be 2-{most} characters a-z, 0-9 or '_', starting with a letter")
    return value


def check_categories(value: Any) -> List[str]:
    """Handoff categories: the bot's fixed vocabulary (``kernel.handoff.CATEGORIES``)."""
    if not isinstance(value, list):
        raise Invalid("categories must be a list of category ids")
    unknown = [str(c)[:32] for c in value if c not in CATEGORIES]
    if unknown:
        raise Invalid(f"unknown category {', '.join(unknown)}; categories are {', '.join(CATEGORIES)}")
    return [c for c in CATEGORIES if c in value]


def check_hours(value: Any, timezone: str) -> Optional[Dict[str, List[str]]]:
    """Weekly hours ``{mon: ["09:00-18:00"], ...}`` (a missing day is closed), or None for the shop's hours."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise Invalid('hours must be null (the shop\'s hours) or an object like {"mon": ["09:00-18:00"]}')
    unknown = sorted(set(map(str, value)) - set(DAYS))
    if unknown:
        raise Invalid(f"hours: unknown day(s) {', '.join(unknown)}; use {', '.join(DAYS)}")
    weekly: Dict[str, List[str]] = {}
    for day in DAYS:
        spans = value.get(day) or []
        if not isinstance(spans, list) or len(spans) > MAX_SPANS:
            raise Invalid(f"hours.{day} must be a list of at most {MAX_SPANS} ranges like 09:00-18:00")
        clean = []
        for span in spans:
            match = SPAN.match(span.replace(" ", "")) if isinstance(span, str) else None
            if not match:
                raise Invalid(f"hours.{day}: {str(span)[:40]!r} is not a range like 09:00-18:00")
            start = int(match.group(1)) * 60 + int(match.group(2))
            end = int(match.group(3)) * 60 + int(match.group(4))
            if not start < end <= 24 * 60:
                raise Invalid(f"hours.{day}: {span!r} must end after it starts, by 24:00")
            clean.append(f"{match.group(1)}:{match.group(2)}-{match.group(3)}:{match.group(4)}")
        weekly[day] = sorted(clean)
    StaffedHours.from_config({"timezone": timezone, "weekly": weekly})
    return weekly


def check_username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME.match(value.strip().lower()):
        raise Invalid("username: use 2-64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
    return value.strip().lower()


def check_new_password(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("password must be a string")
    try:
        return check_password(value)
    except AccountError as error:
        raise Invalid(str(error)) from None


def _agent_public(agent: Agent) -> Dict[str, Any]:
    """``capacity``: the agent's own (open tickets the assigner gives them at most), null for the default."""
    return {"id": agent.id, "username": agent.username, "display_name": agent.display_name, "role": agent.role,
            "teams": [t for t in agent.teams.split(",") if t], "active": bool(agent.active),
            "capacity": agent.capacity}


def _capacity(value: Any) -> Optional[int]:
    try:
        return check_capacity(value)
    except ValueError as error:
        raise Invalid(str(error)) from None


def audit_json(row: AdminAudit) -> Dict[str, Any]:
    from console.queueing import iso

    return {"id": row.id, "at": iso(row.at), "actor": row.actor, "address": row.address, "action": row.action,
            "target": {"kind": row.target_kind, "id": row.target_id},
            "before": _loads(row.before_json, None), "after": _loads(row.after_json, None)}


class AdminService:
    def __init__(self, sessions: sessionmaker, directory: Directory, config: Dict[str, Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions = sessions
        self.directory = directory
        self.config = config
        self.clock = clock

    # -- shared -----------------------------------------------------------------------------------------
    def _audit(self, session: Session, actor: Actor, action: str, kind: str, target: str,
               before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> None:
        session.add(AdminAudit(at=self.clock(), actor=actor.name[:128], address=(actor.address or "")[:64],
                               action=action, target_kind=kind, target_id=str(target)[:64],
                               before_json=dumps(before) if before is not None else None,
                               after_json=dumps(after) if after is not None else None))

    def _commit(self, session: Session, duplicate: str) -> None:
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict(duplicate) from None

    def _team_ids(self, session: Session, active_only: bool = True) -> List[str]:
        query = sa.select(TeamRow.id).order_by(TeamRow.position, TeamRow.id)
        if active_only:
            query = query.where(TeamRow.active.is_(True))
        return list(session.scalars(query))

    def _teams_of(self, session: Session, value: Any) -> List[str]:
        if isinstance(value, str):
            value = [t.strip() for t in value.split(",") if t.strip()]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise Invalid("teams must be a list of team ids")
        known = self._team_ids(session)
        every = self._team_ids(session, active_only=False)
        unknown = [t[:32] for t in value if t not in every]
        if unknown:
            raise Invalid(f"unknown team(s) {', '.join(unknown)}; teams are {', '.join(known)}")
        inactive = [t for t in value if t not in known]
        if inactive:
            raise Invalid(f"inactive team(s) {', '.join(inactive)}; teams are {', '.join(known)}")
        return list(dict.fromkeys(value))

    # -- agents -----------------------------------------------------------------------------------------
    def list_agents(self) -> List[Dict[str, Any]]:
        from console.queueing import iso

        with self.sessions() as session:
            return [{**_agent_public(a), "created_at": iso(a.created_at), "last_seen_at": iso(a.last_seen_at)}
                    for a in session.scalars(sa.select(Agent).order_by(Agent.username))]

    def _agent(self, session: Session, key: Any, lock: bool = False) -> Agent:
        query = sa.select(Agent)
        if isinstance(key, int) and not isinstance(key, bool):
            query = query.where(Agent.id == key)
        else:
            query = query.where(Agent.username == str(key).strip().lower())
        agent = session.scalars(query.with_for_update() if lock else query).first()
        if agent is None:
            raise NotFound(f"no agent {key!r}")
        return agent

    def create_agent(self, actor: Actor, data: Mapping[str, Any]) -> Dict[str, Any]:
        username = check_username(data.get("username"))
        display = _text(data.get("display_name"), "display_name", MAX_NAME)
        role = data.get("role")
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}")
        password = check_new_password(data.get("password"))
        capacity = _capacity(data.get("capacity"))
        with self.sessions() as session:
            teams = self._teams_of(session, data.get("teams") or [])
            if role == "agent" and not teams:
                raise Invalid("an agent needs at least one team")
            if session.scalar(sa.select(Agent.id).where(Agent.username == username)) is not None:
                raise Conflict(f"the username {username!r} is taken")
            agent = Agent(username=username, display_name=display, role=role, teams=",".join(teams),
                          password_hash=hash_password(password), active=True, created_at=self.clock(),
                          capacity=capacity)
            session.add(agent)
            session.flush()
            after = _agent_public(agent)
            self._audit(session, actor, "agent.create", "agent", username, None, after)
            self._commit(session, f"the username {username!r} is taken")
            return after

    def update_agent(self, actor: Actor, key: Any, data: Mapping[str, Any]) -> Dict[str, Any]:
        """Change ``display_name``, ``role``, ``teams``, ``capacity`` (null: the default) and/or ``active``;
        deactivating ends the sessions (the answer then says how many: ``sessions_ended``)."""
        unknown = sorted(set(data) - {"display_name", "role", "teams", "active", "capacity"})
        if unknown:
            raise Invalid(f"unknown field(s) {', '.join(map(str, unknown))}; "
                          "use display_name, role, teams, capacity, active")
        with self.sessions() as session:
            agent = self._agent(session, key, lock=True)
            before = _agent_public(agent)
            if "display_name" in data:
                agent.display_name = _text(data["display_name"], "display_name", MAX_NAME)
            if "role" in data:
                if data["role"] not in ROLES:
                    raise Invalid(f"role must be one of {', '.join(ROLES)}")
                agent.role = data["role"]
            if "teams" in data:
                agent.teams = ",".join(self._teams_of(session, data["teams"]))
            if "capacity" in data:
                agent.capacity = _capacity(data["capacity"])
            if "active" in data:
                if not isinstance(data["active"], bool):
                    raise Invalid("active must be true or false")
                agent.active = data["active"]
            if agent.role == "agent" and not [t for t in agent.teams.split(",") if t]:
                raise Invalid("an agent needs at least one team")
            losing = before["role"] == "supervisor" and before["active"] and (
                agent.role != "supervisor" or not agent.active)
            if losing and actor.agent_id == agent.id:
                raise Conflict("you cannot deactivate or demote yourself; ask another supervisor")
            if losing:
                others = session.scalar(sa.select(sa.func.count()).select_from(Agent).where(
                    Agent.role == "supervisor", Agent.active.is_(True), Agent.id != agent.id))
                if not others:
                    raise Conflict(f"{agent.username} is the last active supervisor; make another supervisor first")
            after = _agent_public(agent)
            if after == before:
                return after
            ended = end_sessions(session, agent.id) if before["active"] and not agent.active else 0
            action = "agent.deactivate" if ended or (before["active"] and not agent.active) else (
                "agent.activate" if agent.active and not before["active"] else "agent.update")
            if action == "agent.deactivate":
                after = {**after, "sessions_ended": ended}
            self._audit(session, actor, action, "agent", agent.username, before, after)
            session.commit()
            return after

    def reset_password(self, actor: Actor, key: Any, password: Any) -> Dict[str, Any]:
        """A new password; every session of the agent ends."""
        password = check_new_password(password)
        with self.sessions() as session:
            agent = self._agent(session, key, lock=True)
            agent.password_hash = hash_password(password)
            ended = end_sessions(session, agent.id)
            self._audit(session, actor, "agent.password", "agent", agent.username, None,
                        {"password": "changed", "sessions_ended": ended})
            session.commit()
            return {"username": agent.username, "sessions_ended": ended}

    # -- teams ------------------------------------------------------------------------------------------
    def list_teams(self) -> List[Dict[str, Any]]:
        with self.sessions() as session:
            counts = dict(session.execute(sa.select(Ticket.team, sa.func.count()).where(
                Ticket.state.in_(OPEN_STATES)).group_by(Ticket.team)).all())
            members: Dict[str, int] = {}
            for teams in session.scalars(sa.select(Agent.teams).where(Agent.active.is_(True))):
                for team in {t for t in teams.split(",") if t}:
                    members[team] = members.get(team, 0) + 1
            rows = session.scalars(sa.select(TeamRow).order_by(TeamRow.position, TeamRow.id))
            return [{**team_json(r), "open_tickets": int(counts.get(r.id, 0)), "agents": members.get(r.id, 0)}
                    for r in rows]

    def _take_categories(self, session: Session, team: TeamRow, categories: List[str]) -> Dict[str, str]:
        """Give ``categories`` to ``team``: each leaves the active team that had it. Returns what moved from where."""
        moved: Dict[str, str] = {}
        dropped = [c for c in _loads(team.categories_json, []) if c not in categories]
        if dropped:
            raise Conflict(f"the category {', '.join(dropped)} must stay with a team: give it to another team "
                           "instead (the team that takes it takes it from this one)")
        for other in session.scalars(sa.select(TeamRow).where(TeamRow.id != team.id).with_for_update()):
            held = _loads(other.categories_json, [])
            keep = [c for c in held if c not in categories]
            if keep != held:
                for c in held:
                    if c in categories:
                        moved[c] = other.id
                other.categories_json = dumps(keep)
                other.updated_at = self.clock()
        team.categories_json = dumps(categories)
        return moved

    def create_team(self, actor: Actor, data: Mapping[str, Any]) -> Dict[str, Any]:
        team_id = _id(data.get("id"), "id", TEAM_ID, 32)
        names = _languages(data.get("name"), "name", MAX_TEAM_NAME)
        categories = check_categories(data.get("categories") or [])
        hours = check_hours(data.get("hours"), self.directory.shop_hours.tz)
        now = self.clock()
        with self.sessions() as session:
            if session.get(TeamRow, team_id) is not None:
                raise Conflict(f"the team {team_id!r} exists already")
            position = (session.scalar(sa.select(sa.func.max(TeamRow.position))) or 0) + 1
            row = TeamRow(id=team_id, names_json=dumps(names), categories_json="[]",
                          hours_json=dumps(hours) if hours is not None else None, active=True, position=position,
                          created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            moved = self._take_categories(session, row, categories)
            after = team_json(row)
            self._audit(session, actor, "team.create", "team", team_id, None,
                        {**after, "categories_moved_from": moved} if moved else after)
            self._commit(session, f"the team {team_id!r} exists already")
        self.directory.refresh()
        return after

    def update_team(self, actor: Actor, team_id: str, data: Mapping[str, Any]) -> Dict[str, Any]:
        """Change ``name``, ``categories``, ``hours`` (null: the shop's) and/or ``active``."""
        unknown = sorted(set(data) - {"name", "categories", "hours", "active"})
        if unknown:
            raise Invalid(f"unknown field(s) {', '.join(map(str, unknown))}; use name, categories, hours, active")
        with self.sessions() as session:
            row = session.get(TeamRow, team_id, with_for_update=True) if isinstance(team_id, str) else None
            if row is None:
                raise NotFound(f"no team {str(team_id)[:32]!r}")
            before = team_json(row)
            moved: Dict[str, str] = {}
            if "name" in data:
                row.names_json = dumps(_languages(data["name"], "name", MAX_TEAM_NAME))
            if "hours" in data:
                hours = check_hours(data["hours"], self.directory.shop_hours.tz)
                row.hours_json = dumps(hours) if hours is not None else None
            if "active" in data and not isinstance(data["active"], bool):
                raise Invalid("active must be true or false")
            if data.get("active") is False and row.active:
                self._check_no_open_tickets(session, row)
            if "categories" in data:
                if not row.active and data.get("active") is not True and data["categories"]:
                    raise Conflict("an inactive team takes no categories; activate it first")
                moved = self._take_categories(session, row, check_categories(data["categories"]))
            if data.get("active") is False and row.active:
                self._check_removable(session, row)
                row.active = False
            elif data.get("active") is True:
                row.active = True
            after = team_json(row)
            if after == before:
                return after
            row.updated_at = self.clock()
            action = ("team.deactivate" if before["active"] and not row.active
                      else "team.activate" if row.active and not before["active"] else "team.update")
            self._audit(session, actor, action, "team", row.id, before,
                        {**after, "categories_moved_from": moved} if moved else after)
            session.commit()
        self.directory.refresh()
        return after

    @staticmethod
    def _check_no_open_tickets(session: Session, row: TeamRow) -> None:
        open_count = session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
            Ticket.team == row.id, Ticket.state.in_(OPEN_STATES)))
        if open_count:
            raise Conflict(f"the team {row.id!r} has {open_count} open ticket(s); close or transfer them first")

    def _check_removable(self, session: Session, row: TeamRow) -> None:
        self._check_no_open_tickets(session, row)
        categories = _loads(row.categories_json, [])
        if categories:
            raise Conflict(f"the team {row.id!r} still takes the categories {', '.join(categories)}; "
                           "give them to another team first")
        rules = [r for r in (self.config.get("presales") or {}).get("routing") or [] if r.get("team") == row.id]
        if rules:
            raise Conflict(f"presales.routing in console/config.yml sends leads to {row.id!r}; change it first")

    # -- canned responses -------------------------------------------------------------------------------
    def list_canned(self) -> List[Dict[str, Any]]:
        with self.sessions() as session:
            return [canned_json(r) for r in session.scalars(
                sa.select(CannedRow).order_by(CannedRow.position, CannedRow.id))]

    def create_canned(self, actor: Actor, data: Mapping[str, Any]) -> Dict[str, Any]:
        canned_id = _id(data.get("id"), "id", CANNED_ID, 64)
        title = _languages(data.get("title"), "title", MAX_TITLE)
        text = _languages(data.get("text"), "text", MAX_CANNED_TEXT, multiline=True)
        now = self.clock()
        with self.sessions() as session:
            if session.get(CannedRow, canned_id) is not None:
                raise Conflict(f"the canned response {canned_id!r} exists already")
            if (session.scalar(sa.select(sa.func.count()).select_from(CannedRow)) or 0) >= MAX_CANNED:
                raise Conflict(f"there are {MAX_CANNED} canned responses already; remove some first")
            position = (session.scalar(sa.select(sa.func.max(CannedRow.position))) or 0) + 1
            row = CannedRow(id=canned_id, title_json=dumps(title), text_json=dumps(text), position=position,
                            created_at=now, updated_at=now)
            session.add(row)
            after = canned_json(row)
            self._audit(session, actor, "canned.create", "canned", canned_id, None, after)
            self._commit(session, f"the canned response {canned_id!r} exists already")
        self.directory.refresh()
        return after

    def update_canned(self, actor: Actor, canned_id: str, data: Mapping[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(data) - {"title", "text"})
        if unknown:
            raise Invalid(f"unknown field(s) {', '.join(map(str, unknown))}; use title, text")
        with self.sessions() as session:
            row = self._canned(session, canned_id)
            before = canned_json(row)
            if "title" in data:
                row.title_json = dumps(_languages(data["title"], "title", MAX_TITLE))
            if "text" in data:
                row.text_json = dumps(_languages(data["text"], "text", MAX_CANNED_TEXT, multiline=True))
            after = canned_json(row)
            if after == before:
                return after
            row.updated_at = self.clock()
            self._audit(session, actor, "canned.update", "canned", row.id, before, after)
            session.commit()
        self.directory.refresh()
        return after

    def delete_canned(self, actor: Actor, canned_id: str) -> Dict[str, Any]:
        with self.sessions() as session:
            row = self._canned(session, canned_id)
            before = canned_json(row)
            session.delete(row)
            self._audit(session, actor, "canned.delete", "canned", canned_id, before, None)
            session.commit()
        self.directory.refresh()
        return {"id": canned_id, "deleted": True}

    @staticmethod
    def _canned(session: Session, canned_id: Any) -> CannedRow:
        row = session.get(CannedRow, canned_id) if isinstance(canned_id, str) else None
        if row is None:
            raise NotFound(f"no canned response {str(canned_id)[:64]!r}")
        return row

    # -- escalation word lists --------------------------------------------------------------------------
    def _escalation_rows(self, session: Session) -> Dict[str, EscalationWordsRow]:
        return {r.id: r for r in session.scalars(sa.select(EscalationWordsRow)) if r.id in words.LISTS}

    @staticmethod
    def _escalation_item(key: str, default: List[str], row: Optional[EscalationWordsRow]) -> Dict[str, Any]:
        from console.queueing import iso

        saved = _loads(row.words_json, []) if row is not None else None
        trigger, name = key.split(".")
        return {"id": key, "trigger": trigger, "list": name, "default": default, "override": saved,
                "words": saved if saved is not None else default, "overridden": saved is not None,
                "updated_at": iso(row.updated_at) if row is not None else None,
                "updated_by": row.updated_by if row is not None else None}

    def _escalation_key(self, trigger: Any, name: Any) -> str:
        key = words.list_id(trigger, name)
        if key is None:
            raise NotFound(f"no escalation list {str(trigger)[:32]}.{str(name)[:32]}; lists are "
                           f"{', '.join(words.LISTS)}")
        return key

    def list_escalation(self) -> Dict[str, Any]:
        """Every editable list: its YAML default, the saved override (or null) and the words in effect."""
        defaults = words.defaults()
        with self.sessions() as session:
            rows = self._escalation_rows(session)
        saved = {k: _loads(r.words_json, []) for k, r in rows.items()}
        return {"lists": [self._escalation_item(k, defaults[k], rows.get(k)) for k in words.LISTS],
                "version": words.version_of(saved), "max_words": words.MAX_WORDS, "max_word": words.MAX_WORD}

    def escalation_list(self, trigger: Any, name: Any) -> Dict[str, Any]:
        key = self._escalation_key(trigger, name)
        with self.sessions() as session:
            return self._escalation_item(key, words.defaults()[key], session.get(EscalationWordsRow, key))

    def escalation_overrides(self) -> Dict[str, Any]:
        """What the action server reads: the saved lists by trigger and list, and their version."""
        with self.sessions() as session:
            rows = list(self._escalation_rows(session).values())
        saved = {r.id: _loads(r.words_json, []) for r in rows}
        nested: Dict[str, Dict[str, List[str]]] = {}
        for key, listed in saved.items():
            trigger, name = key.split(".")
            nested.setdefault(trigger, {})[name] = listed
        from console.queueing import iso

        return {"version": words.version_of(saved), "overrides": nested,
                "updated_at": iso(max(r.updated_at for r in rows)) if rows else None}

    def set_escalation_words(self, actor: Actor, trigger: Any, name: Any, data: Mapping[str, Any]) -> Dict[str, Any]:
        """Save ``data["words"]`` as the list (replacing the YAML's). An empty list switches the trigger's keywords
        (or the complaint evidence) off: only with ``confirm_empty: true``."""
        key = self._escalation_key(trigger, name)
        unknown = sorted(set(data) - {"words", "confirm_empty"})
        if unknown:
            raise Invalid(f"unknown field(s) {', '.join(map(str, unknown))[:200]}; use words, confirm_empty")
        confirm = data.get("confirm_empty", False)
        if not isinstance(confirm, bool):
            raise Invalid("confirm_empty must be true or false")
        try:
            listed = words.check_words(data.get("words"), key)
        except words.WordsError as error:
            raise Invalid(str(error)) from None
        if not listed and not confirm:
            what = "complaint evidence" if key == "complaint.evidence" else f"{key.split('.')[0]} keywords"
            raise Conflict(f"an empty list switches the {what} off; send confirm_empty: true to do that")
        default = words.defaults()[key]
        with self.sessions() as session:
            row = session.get(EscalationWordsRow, key, with_for_update=True)
            before = self._escalation_item(key, default, row)
            if row is not None and _loads(row.words_json, []) == listed:
                return before
            if row is None:
                row = EscalationWordsRow(id=key)
                session.add(row)
            row.words_json = dumps(listed)
            row.updated_at = self.clock()
            row.updated_by = actor.name[:128]
            after = self._escalation_item(key, default, row)
            self._audit(session, actor, "escalation.update", "escalation", key,
                        {"words": before["words"], "overridden": before["overridden"]},
                        {"words": listed, "overridden": True})
            self._commit(session, f"{key} was saved by someone else at the same time; try again")
            return after

    def reset_escalation_words(self, actor: Actor, trigger: Any, name: Any) -> Dict[str, Any]:
        """Delete the saved list: the YAML's applies again (nothing to do, and no audit row, when none was saved)."""
        key = self._escalation_key(trigger, name)
        default = words.defaults()[key]
        with self.sessions() as session:
            row = session.get(EscalationWordsRow, key, with_for_update=True)
            if row is None:
                return self._escalation_item(key, default, None)
            before = {"words": _loads(row.words_json, []), "overridden": True}
            session.delete(row)
            self._audit(session, actor, "escalation.reset", "escalation", key, before,
                        {"words": default, "overridden": False})
            session.commit()
            return self._escalation_item(key, default, None)

    # -- the audit log ----------------------------------------------------------------------------------
    def audit(self, page: int = 1, per_page: int = 50, kinds: Sequence[str] = ()) -> Dict[str, Any]:
        """Newest first, ``per_page`` (1-200) rows of page ``page`` (from 1), optionally of some target kinds."""
        page = max(1, page)
        per_page = max(1, min(200, per_page))
        with self.sessions() as session:
            query = sa.select(AdminAudit)
            count = sa.select(sa.func.count()).select_from(AdminAudit)
            if kinds:
                query = query.where(AdminAudit.target_kind.in_(list(kinds)))
                count = count.where(AdminAudit.target_kind.in_(list(kinds)))
            total = int(session.scalar(count) or 0)
            rows = session.scalars(query.order_by(AdminAudit.id.desc()).offset((page - 1) * per_page).limit(per_page))
            return {"items": [audit_json(r) for r in rows], "page": page, "per_page": per_page, "total": total}
