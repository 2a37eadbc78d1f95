"""console/admin: the directory (seeded once from the YAML, then the database's) and the audited service rules,
on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from console.admin.directory import Directory
from console.admin.models import AdminAudit, CannedRow, TeamRow
from console.admin.service import Actor, AdminService, Conflict, Invalid, NotFound
from console.auth import verify_password
from console.models import Agent, SessionRow, Ticket, create_schema, make_engine
from console.settings import load_canned, load_config

BOSS = Actor("agent:boss", "203.0.113.7", None)
GOOD = "correct-horse-battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def admin(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[AdminService, Dict[str, Any]]]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    config = copy.deepcopy(load_config())
    sessions = sessionmaker(engine, expire_on_commit=False)
    directory = Directory(sessions, config, load_canned)
    directory.load()
    service = AdminService(sessions, directory, config)
    yield service, config
    engine.dispose()


def audit_rows(service: AdminService) -> list:
    with service.sessions() as session:
        return list(session.scalars(sa.select(AdminAudit).order_by(AdminAudit.id)))


def add_supervisor(service: AdminService, username: str = "boss") -> Dict[str, Any]:
    return service.create_agent(BOSS, {"username": username, "display_name": "Boss", "role": "supervisor",
                                       "teams": [], "password": GOOD})


def open_ticket(service: AdminService, team: str, state: str = "queued") -> int:
    now = time.time()
    with service.sessions() as session:
        ticket = Ticket(handoff_id=f"h-{now}-{team}", sender_id="s", channel="rest", state=state, team=team,
                        category="other", reason="r", language="en", created_at=now, updated_at=now)
        session.add(ticket)
        session.commit()
        return ticket.id


def test_the_yaml_is_imported_once_then_the_database_is_the_source(admin) -> None:
    service, config = admin
    teams = {t["id"]: t for t in service.list_teams()}
    assert set(teams) == {"presales", "after_sales", "complaints"}
    assert sorted(teams["after_sales"]["categories"]) == ["after_sales", "other"]
    assert config["routing"] == {"presales": "presales", "complaint": "complaints", "after_sales": "after_sales",
                                 "other": "after_sales"}
    assert [c["id"] for c in service.list_canned()][:2] == ["greeting", "checking"]
    for item in service.list_canned():
        service.delete_canned(BOSS, item["id"])
    service.directory.load()  # a restart: the seed is not imported again
    assert service.list_canned() == [] and service.directory.canned() == []
    assert audit_rows(service)[-1].action == "canned.delete"


def test_agent_create_validation_and_audit(admin) -> None:
    service, _ = admin
    made = service.create_agent(BOSS, {"username": "Zhao", "display_name": " 小赵 ", "role": "agent",
                                       "teams": ["presales"], "password": GOOD})
    assert made["username"] == "zhao" and made["display_name"] == "小赵" and made["teams"] == ["presales"]
    with service.sessions() as session:
        agent = session.scalars(sa.select(Agent).where(Agent.username == "zhao")).one()
        assert verify_password(GOOD, agent.password_hash)
    row = audit_rows(service)[-1]
    assert (row.actor, row.address, row.action, row.target_kind, row.target_id) == (
        "agent:boss", "203.0.113.7", "agent.create", "agent", "zhao")
    assert row.before_json is None and GOOD not in row.after_json and "hash" not in row.after_json
    bad = [
        ({"username": "zhao"}, Conflict, "taken"),
        ({"username": "q ian!"}, Invalid, "username"),
        ({"password": "short"}, Invalid, "at least 10 characters"),
        ({"password": " " + GOOD}, Invalid, "spaces"),
        ({"teams": ["sales"]}, Invalid, "unknown team(s) sales; teams are presales, after_sales, complaints"),
        ({"teams": []}, Invalid, "at least one team"),
        ({"role": "boss"}, Invalid, "role"),
        ({"display_name": "x" * 65}, Invalid, "at most 64"),
        ({"display_name": "a\x00b"}, Invalid, "control characters"),
        ({"display_name": ""}, Invalid, "empty"),
    ]
    count = len(audit_rows(service))
    for change, error, words in bad:
        data = {"username": "qian", "display_name": "x", "role": "agent", "teams": ["presales"], "password": GOOD,
                **change}
        with pytest.raises(error, match=re.escape(words)):
            service.create_agent(BOSS, data)
    assert len(audit_rows(service)) == count  # a refusal changes nothing and is not audited


def test_last_supervisor_and_self_rules(admin) -> None:
    service, _ = admin
    boss = add_supervisor(service)
    me = Actor("agent:boss", "", boss["id"])
    with pytest.raises(Conflict, match="yourself"):
        service.update_agent(me, "boss", {"role": "agent", "teams": ["presales"]})
    with pytest.raises(Conflict, match="yourself"):
        service.update_agent(me, "boss", {"active": False})
    with pytest.raises(Conflict, match="last active supervisor"):
        service.update_agent(BOSS, "boss", {"active": False})  # from the CLI: still the last one
    second = add_supervisor(service, "chief")
    done = service.update_agent(Actor("agent:chief", "", second["id"]), "boss", {"role": "agent",
                                                                                  "teams": ["complaints"]})
    assert done["role"] == "agent"
    with pytest.raises(Conflict, match="last active supervisor"):
        service.update_agent(BOSS, "chief", {"role": "agent", "teams": ["presales"]})
    row = audit_rows(service)[-1]
    assert row.action == "agent.update" and json.loads(row.before_json)["role"] == "supervisor"
    assert json.loads(row.after_json)["role"] == "agent"
    with pytest.raises(Invalid, match="unknown field"):
        service.update_agent(BOSS, "boss", {"password_hash": "x"})
    with pytest.raises(NotFound):
        service.update_agent(BOSS, "ghost", {"active": False})


def test_deactivation_and_password_reset_end_the_sessions(admin) -> None:
    service, _ = admin
    made = service.create_agent(BOSS, {"username": "zhao", "display_name": "Z", "role": "agent",
                                       "teams": ["presales"], "password": GOOD})
    def session_count() -> int:
        with service.sessions() as session:
            return int(session.scalar(sa.select(sa.func.count()).select_from(SessionRow).where(
                SessionRow.agent_id == made["id"])))
    def add_session(sid: str) -> None:
        with service.sessions() as session:
            session.add(SessionRow(id=sid, agent_id=made["id"], csrf_token="c", created_at=0, expires_at=2e9))
            session.commit()
    add_session("a")
    done = service.reset_password(BOSS, "zhao", "another-long-password")
    assert done["sessions_ended"] == 1 and session_count() == 0
    assert json.loads(audit_rows(service)[-1].after_json) == {"password": "changed", "sessions_ended": 1}
    with pytest.raises(Invalid):
        service.reset_password(BOSS, "zhao", "short")
    add_session("b")
    service.update_agent(BOSS, "zhao", {"active": False})
    assert session_count() == 0 and audit_rows(service)[-1].action == "agent.deactivate"
    service.update_agent(BOSS, "zhao", {"active": True})
    assert audit_rows(service)[-1].action == "agent.activate"


def test_team_create_moves_categories_and_updates_the_routing(admin) -> None:
    service, config = admin
    made = service.create_team(BOSS, {"id": "vip_care", "name": {"zh-Hans": "贵宾", "en": "VIP care"},
                                      "categories": ["presales"],
                                      "hours": {"mon": ["08:00-12:00", "13:00-17:00"]}})
    assert made["name"]["zh-Hant"] == "貴賓"  # generated from Simplified
    assert config["routing"]["presales"] == "vip_care"
    assert "vip_care" in [t["id"] for t in config["teams"]]
    teams = {t["id"]: t for t in service.list_teams()}
    assert teams["presales"]["categories"] == []
    assert teams["vip_care"]["hours"]["mon"] == ["08:00-12:00", "13:00-17:00"]
    assert teams["vip_care"]["hours"]["tue"] == []
    hours = service.directory.hours_for("vip_care")
    assert hours.weekly["mon"] == ((480, 720), (780, 1020)) and hours.weekly["sun"] == ()
    assert service.directory.hours_for("presales") is service.directory.shop_hours
    row = audit_rows(service)[-1]
    assert row.action == "team.create" and json.loads(row.after_json)["categories_moved_from"] == {"presales": "presales"}
    with pytest.raises(Conflict, match="exists already"):
        service.create_team(BOSS, {"id": "vip_care", "name": {"zh-Hans": "x", "en": "x"}})
    for data, words in [
        ({"id": "VIP"}, "id must be"), ({"id": "x" * 40}, "id must be"), ({"id": "a-b"}, "id must be"),
        ({"name": {"zh-Hans": "x"}}, "name.en"), ({"name": {"zh-Hans": "x", "en": "y", "fr": "z"}}, "unknown language"),
        ({"name": "x"}, "name must be"), ({"categories": "presales"}, "categories must be a list"),
        ({"categories": ["<script>"]}, "unknown category <script>"), ({"categories": ["wholesale"]}, "unknown category"), ({"hours": {"mon": ["9-5"]}}, "not a range"),
        ({"hours": {"mon": ["18:00-09:00"]}}, "end after"), ({"hours": {"someday": []}}, "unknown day"),
        ({"hours": "always"}, "hours must be"),
    ]:
        body = {"id": "night", "name": {"zh-Hans": "夜班", "en": "Night"}, **data}
        with pytest.raises(Invalid, match=re.escape(words)):
            service.create_team(BOSS, body)


def test_team_with_open_tickets_categories_or_rules_is_not_deactivated(admin) -> None:
    service, config = admin
    service.create_team(BOSS, {"id": "night", "name": {"zh-Hans": "夜班", "en": "Night"}, "categories": ["complaint"]})
    assert config["routing"]["complaint"] == "night"
    ticket = open_ticket(service, "night")
    with pytest.raises(Conflict, match="open ticket"):
        service.update_team(BOSS, "night", {"active": False, "categories": []})
    with service.sessions() as session:
        session.get(Ticket, ticket).state = "closed"
        session.commit()
    with pytest.raises(Conflict, match="still takes the categories complaint"):
        service.update_team(BOSS, "night", {"active": False})
    with pytest.raises(Conflict, match="complaint must stay with a team"):  # a category never loses its team
        service.update_team(BOSS, "night", {"active": False, "categories": []})
    service.update_team(BOSS, "complaints", {"categories": ["complaint"]})  # taken back
    gone = service.update_team(BOSS, "night", {"active": False})
    assert gone["active"] is False and "night" not in config["routing"].values()
    assert "night" in [t["id"] for t in config["teams"]]  # its names stay for the tickets it had
    with service.sessions() as session:  # its tickets keep their team
        assert session.get(Ticket, ticket).team == "night"
    assert audit_rows(service)[-1].action == "team.deactivate"
    with pytest.raises(Invalid, match="inactive team"):
        service.create_agent(BOSS, {"username": "n1", "display_name": "N", "role": "agent", "teams": ["night"],
                                    "password": GOOD})
    service.update_team(BOSS, "complaints", {"categories": ["complaint", "presales"]})
    with pytest.raises(Conflict, match="presales.routing"):  # console/config.yml sends cup leads to presales
        service.update_team(BOSS, "presales", {"active": False})
    with pytest.raises(Conflict, match="other must stay"):
        service.update_team(BOSS, "after_sales", {"categories": ["after_sales"]})
    assert config["routing"]["other"] == "after_sales"
    moved = service.update_team(BOSS, "complaints", {"categories": ["presales", "complaint", "other"]})
    assert moved["categories"] == ["presales", "complaint", "other"] and config["routing"]["other"] == "complaints"
    assert json.loads(audit_rows(service)[-1].after_json)["categories_moved_from"] == {"other": "after_sales"}
    with pytest.raises(NotFound):
        service.update_team(BOSS, "ghost", {"active": False})


def test_canned_crud_with_hostile_strings_kept_as_text(admin) -> None:
    service, _ = admin
    hostile = '<script>alert("x")</script>'
    made = service.create_canned(BOSS, {"id": "refund_eta", "title": {"zh-Hans": hostile, "en": "Refund ETA"},
                                        "text": {"zh-Hans": "第一行\n第二行", "zh-Hant": "", "en": "line"}})
    assert made["title"]["zh-Hans"] == hostile and made["text"]["zh-Hant"] == "第一行\n第二行"
    assert service.directory.canned()[-1]["id"] == "refund_eta"
    changed = service.update_canned(BOSS, "refund_eta", {"text": {"zh-Hans": "新", "en": "new"}})
    assert changed["text"]["en"] == "new"
    row = audit_rows(service)[-1]
    assert json.loads(row.before_json)["text"]["en"] == "line" and json.loads(row.after_json)["text"]["en"] == "new"
    with pytest.raises(Conflict):
        service.create_canned(BOSS, {"id": "refund_eta", "title": {"zh-Hans": "x", "en": "x"},
                                     "text": {"zh-Hans": "x", "en": "x"}})
    with pytest.raises(Invalid, match="at most 2000"):
        service.update_canned(BOSS, "refund_eta", {"text": {"zh-Hans": "x" * 2001, "en": "x"}})
    with pytest.raises(Invalid, match="control characters"):
        service.update_canned(BOSS, "refund_eta", {"title": {"zh-Hans": "a\nb", "en": "x"}})
    service.delete_canned(BOSS, "refund_eta")
    with pytest.raises(NotFound):
        service.delete_canned(BOSS, "refund_eta")
    with service.sessions() as session:
        assert session.get(CannedRow, "refund_eta") is None
        assert session.get(TeamRow, "presales") is not None


def test_audit_paging_newest_first(admin) -> None:
    service, _ = admin
    for n in range(5):
        service.create_canned(BOSS, {"id": f"c_{n}", "title": {"zh-Hans": "x", "en": "x"},
                                     "text": {"zh-Hans": "x", "en": "x"}})
    add_supervisor(service)
    first = service.audit(page=1, per_page=2)
    assert first["total"] == 6 and [i["action"] for i in first["items"]] == ["agent.create", "canned.create"]
    third = service.audit(page=3, per_page=2)
    assert [i["target"]["id"] for i in third["items"]] == ["c_1", "c_0"]
    assert service.audit(page=1, per_page=50, kinds=["agent"])["total"] == 1
    assert service.audit(page=9, per_page=2)["items"] == []


def test_a_running_console_picks_up_changes_made_from_the_shell(admin) -> None:
    """`python -m console teams|canned` runs in another process with its own directory: the console's watch reloads
    when the tables changed and only then (one cheap query otherwise)."""
    service, config = admin
    shell_config = copy.deepcopy(load_config())
    shell_directory = Directory(service.sessions, shell_config, load_canned)
    shell_directory.load()
    shell = AdminService(service.sessions, shell_directory, shell_config)
    assert service.directory.refresh_if_changed() is False  # nothing changed since the console read the tables

    shell.create_team(BOSS, {"id": "vip_care", "name": {"zh-Hans": "贵宾", "en": "VIP care"}, "categories": []})
    assert "vip_care" not in [t["id"] for t in config["teams"]]
    assert service.directory.refresh_if_changed() is True
    assert "vip_care" in [t["id"] for t in config["teams"]]
    assert service.directory.refresh_if_changed() is False

    gone = service.directory.canned()[0]["id"]
    shell.delete_canned(BOSS, gone)  # a removal changes no row's time: the count tells
    assert service.directory.refresh_if_changed() is True
    assert gone not in [c["id"] for c in service.directory.canned()]
