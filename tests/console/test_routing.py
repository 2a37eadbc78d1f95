"""Presence and automatic assignment (console/routing), on SQLite and PostgreSQL: the pure rules, the assigner
(capacity, round-robin, teams, presence, a freed place), a supervisor's reassignment (audited, the customer told),
the presence of an agent whose console went quiet or whose last session ended, and two console processes
assigning at the same moment without giving an agent more than their capacity."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.accounts import create_agent
from console.admin.models import AdminAudit
from console.admin.service import Actor, Conflict, Invalid
from console.live import Hub
from console.models import Agent, SessionRow, Ticket, Transition, create_schema, make_engine
from console.routing.assigner import Assigner
from console.routing.presence import (
    Candidate,
    RoutingConfigError,
    RoutingSettings,
    effective_presence,
    round_robin,
)
from console.routing.service import RoutingService
from console.settings import load_settings
from console.tickets import BadRequest, TicketService
from kernel.handoff import parse_context
from tests.console.process import context

BOSS = Actor("agent:boss", "203.0.113.9", None)


class RecordingRasa:
    """Stands in for kernel.rasa_client.RasaClient: records what the console appends."""

    def __init__(self) -> None:
        self.calls: List[Tuple[str, List[Dict[str, Any]]]] = []
        self.down = False

    async def append_events(self, sender_id: str, events: List[Dict[str, Any]], channel: Any = None,
                            execute_side_effects: bool = True) -> None:
        from kernel.rasa_client import RasaUnavailable

        if self.down:
            raise RasaUnavailable("connection refused")
        self.calls.append((sender_id, events))

    async def close(self) -> None:
        pass

    def joined(self, sender_id: str) -> List[str]:
        return [e["data"]["custom"]["kefu_event"]["agent"] for s, events in self.calls if s == sender_id
                for e in events if e.get("event") == "bot"
                and e["data"]["custom"]["kefu_event"]["type"] == "agent_joined"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_schema_url")
    return f"sqlite:///{tmp_path / 'console.db'}"


def build(tmp_path: Path, url: str, rasa: RecordingRasa) -> TicketService:
    """The ticket service of one console process with its routing (``service.routing``, as console/web/parts.py
    builds it)."""
    settings = load_settings({"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_DB_URL": url,
                              "KEFU_RASA_URL": "http://127.0.0.1:9", "KEFU_RASA_TOKEN": "t"})
    engine = make_engine(url)
    create_schema(engine)
    service = TicketService(settings, engine, rasa, Hub())  # type: ignore[arg-type]
    service.directory.load()
    service.routing = RoutingService(service.store, service.views, service.lifecycle,  # type: ignore[attr-defined]
                                     RoutingSettings.from_config(settings.config["assignment"]))
    return service


@pytest.fixture()
def routed(tmp_path: Path, db_url: str) -> Iterator[Tuple[TicketService, RecordingRasa]]:
    rasa = RecordingRasa()
    service = build(tmp_path, db_url, rasa)
    yield service, rasa
    service.engine.dispose()


def add_agent(service: TicketService, username: str, teams: List[str], capacity: Any = None,
              role: str = "agent") -> int:
    with Session(service.engine, expire_on_commit=False) as session:
        agent = create_agent(session, username, username.title(), role, teams, "pw-123456789")
        agent.capacity = capacity
        session.commit()
        return agent.id


def open_ticket(service: TicketService, category: str = "complaint", customer: Any = None) -> Tuple[int, str]:
    sender = f"s-{uuid.uuid4().hex[:10]}"
    body = context(sender, category=category, reason="explicit_request" if category != "complaint" else "complaint",
                   customer=customer or {"id": None, "name": None, "tier": None, "verified": False})
    payload, created, _ = service.ingest.create(parse_context(body))
    assert created
    return int(payload["id"]), sender


def ticket(service: TicketService, ticket_id: int) -> Ticket:
    with service.sessions() as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        return row


def assign(service: TicketService) -> List[int]:
    """One pass of the loop (assign, then announce), as the console's background task runs it."""
    return [a.ticket_id for a in asyncio.run(service.routing.pass_once())]


def close(service: TicketService, agent_id: int, ticket_id: int) -> None:
    with service.sessions() as session:
        agent = session.get(Agent, agent_id)
    asyncio.run(service.lifecycle.close(agent, ticket_id, "resolved"))


# ------------------------------------------------------------------------------------------------ pure rules
def test_effective_presence() -> None:
    assert effective_presence("online", 100.0, 130.0, 60) == "online"
    assert effective_presence("away", 100.0, 130.0, 60) == "away"
    assert effective_presence("online", 100.0, 161.0, 60) == "offline"  # the console went quiet
    assert effective_presence("online", None, 100.0, 60) == "offline"
    assert effective_presence("online", 100.0, 101.0, 60, active=False) == "offline"
    assert effective_presence("offline", 100.0, 101.0, 60) == "offline"
    assert effective_presence("bogus", 100.0, 101.0, 60) == "offline"


def test_round_robin_prefers_the_earlier_agent_then_the_least_recently_assigned() -> None:
    a = Candidate(1, frozenset({"complaints"}), 1, 50.0)
    b = Candidate(2, frozenset({"complaints"}), 2, 10.0)
    c = Candidate(3, frozenset({"complaints"}), 1, None)  # never assigned: first
    d = Candidate(4, frozenset({"presales"}), 3, None)  # another team
    full = Candidate(5, frozenset({"complaints"}), 0, None)
    assert [x.agent_id for x in round_robin([a, b, c, d, full], "complaints")] == [3, 2, 1]
    assert [x.agent_id for x in round_robin([a, b, c, d], "complaints", preferred=[1])] == [1, 3, 2]


def test_the_assignment_section_is_checked() -> None:
    assert RoutingSettings.from_config(None) == RoutingSettings()
    assert RoutingSettings.from_config({"default_capacity": 0, "auto": False}).default_capacity == 0
    for bad in ({"default_capacity": -1}, {"default_capacity": "3"}, {"default_capacity": 51}, {"auto": "yes"},
                {"presence_timeout_seconds": 0}, {"sweep_seconds": True}, {"typo": 1}, ["auto"]):
        with pytest.raises(RoutingConfigError):
            RoutingSettings.from_config(bad)


# ------------------------------------------------------------------------------------------------ the assigner
def test_two_agents_of_capacity_one_get_one_ticket_each_and_the_third_waits_for_a_free_place(routed) -> None:
    service, rasa = routed
    wang = add_agent(service, "wang", ["complaints"], capacity=1)
    zhao = add_agent(service, "zhao", ["complaints"], capacity=1)
    service.routing.set_presence(wang, "online")
    service.routing.set_presence(zhao, "online")
    first, s1 = open_ticket(service)
    second, s2 = open_ticket(service)
    third, s3 = open_ticket(service)
    assert sorted(assign(service)) == sorted([first, second])  # queue order: the oldest first at equal priority
    holders = {ticket(service, first).assignee_id, ticket(service, second).assignee_id}
    assert holders == {wang, zhao}
    assert ticket(service, third).state == "queued" and ticket(service, third).assignee_id is None
    assert assign(service) == []  # nobody has a free place
    # the customer heard who joined; the transcript says so too (a system notice)
    assert len(rasa.joined(s1)) == 1 and len(rasa.joined(s2)) == 1 and rasa.joined(s3) == []
    with service.sessions() as session:
        row = session.scalars(sa.select(Transition).where(Transition.ticket_id == first,
                                                          Transition.action == "assign")).one()
        assert (row.from_state, row.to_state, row.actor) == ("queued", "assigned", "system")
    # the agent of the first ticket closes it: the third is theirs
    owner = ticket(service, first).assignee_id
    close(service, owner, first)
    assert assign(service) == [third]
    assert ticket(service, third).assignee_id == owner


def test_round_robin_gives_the_least_recently_assigned_agent_the_next_ticket(routed) -> None:
    service, _ = routed
    ids = [add_agent(service, name, ["complaints"], capacity=5) for name in ("wang", "zhao", "qian")]
    for agent_id in ids:
        service.routing.set_presence(agent_id, "online")
    tickets = [open_ticket(service)[0] for _ in range(6)]
    assert assign(service) == tickets
    owners = [ticket(service, t).assignee_id for t in tickets]
    assert owners[:3] == ids and owners[3:] == ids  # each in turn, twice


def test_only_online_agents_of_the_team_with_a_fresh_heartbeat_get_tickets(routed) -> None:
    service, _ = routed
    away = add_agent(service, "away", ["complaints"])
    offline = add_agent(service, "offline", ["complaints"])
    presales = add_agent(service, "presales", ["presales"])
    quiet = add_agent(service, "quiet", ["complaints"])
    zero = add_agent(service, "zero", ["complaints"], capacity=0)
    service.routing.set_presence(away, "away")
    service.routing.set_presence(presales, "online")
    service.routing.set_presence(quiet, "online")
    service.routing.set_presence(zero, "online")
    with service.sessions() as session:  # quiet's console stopped beating two minutes ago
        session.get(Agent, quiet).heartbeat_at = time.time() - 120
        session.commit()
    complaint, _ = open_ticket(service)
    assert assign(service) == []
    assert ticket(service, complaint).state == "queued"
    assert service.routing.me(quiet)["presence"] == "offline"
    assert service.routing.me(offline)["presence"] == "offline"
    # presales takes presales tickets
    quote, _ = open_ticket(service, category="presales")
    assert assign(service) == [quote] and ticket(service, quote).assignee_id == presales
    # quiet's console beats again: online again, and the complaint is theirs
    service.routing.heartbeat(quiet)
    assert assign(service) == [complaint] and ticket(service, complaint).assignee_id == quiet


def test_the_agent_the_customer_dealt_with_before_gets_the_repeat_contact(routed) -> None:
    service, _ = routed
    wang = add_agent(service, "wang", ["complaints"], capacity=3)
    zhao = add_agent(service, "zhao", ["complaints"], capacity=3)
    customer = {"id": "C0007", "name": "李*", "tier": None, "verified": True}
    service.routing.set_presence(zhao, "online")
    first, _ = open_ticket(service, customer=customer)
    assert assign(service) == [first] and ticket(service, first).assignee_id == zhao
    close(service, zhao, first)
    service.routing.set_presence(wang, "online")  # wang was never assigned: round-robin alone would pick wang
    again, _ = open_ticket(service, customer=customer)
    assert assign(service) == [again]
    assert ticket(service, again).assignee_id == zhao


def test_automatic_assignment_can_be_switched_off(tmp_path: Path) -> None:
    rasa = RecordingRasa()
    service = build(tmp_path, f"sqlite:///{tmp_path / 'off.db'}", rasa)
    try:
        service.routing.settings = RoutingSettings(auto=False)
        wang = add_agent(service, "wang", ["complaints"])
        service.routing.set_presence(wang, "online")
        waiting, _ = open_ticket(service)

        async def one_sweep() -> None:
            task = asyncio.create_task(service.routing.run())
            await asyncio.sleep(0)  # the first pass is due at once
            service.routing.stop()
            await asyncio.wait_for(task, timeout=30)

        asyncio.run(one_sweep())
        assert ticket(service, waiting).state == "queued"
    finally:
        service.engine.dispose()


def test_the_background_loop_assigns_a_new_ticket_when_woken(routed) -> None:
    service, rasa = routed
    wang = add_agent(service, "wang", ["complaints"])
    service.routing.settings = RoutingSettings(sweep_seconds=3600)  # only a wake can make it look

    async def scenario() -> int:
        task = asyncio.create_task(service.routing.run())
        service.routing.set_presence(wang, "online")
        waiting, _ = await asyncio.to_thread(open_ticket, service)  # ingest.create wakes the loop
        deadline = time.monotonic() + 30
        while ticket(service, waiting).state != "assigned" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        service.routing.stop()
        await asyncio.wait_for(task, timeout=30)
        return waiting

    waiting = asyncio.run(scenario())
    assert ticket(service, waiting).assignee_id == wang


def test_a_notice_rasa_did_not_take_is_stored_as_not_delivered_and_the_assignment_stands(routed) -> None:
    service, rasa = routed
    wang = add_agent(service, "wang", ["complaints"])
    service.routing.set_presence(wang, "online")
    rasa.down = True
    waiting, _ = open_ticket(service)
    assert assign(service) == [waiting]
    assert ticket(service, waiting).assignee_id == wang
    with service.sessions() as session:
        detail = service.views.detail_json(session, ticket(service, waiting))
    notice = [m for m in detail["messages"] if m["author"] == "system"][-1]
    assert notice["delivered"] is False and notice["delivery"]["errcode"] == "rasa_unavailable"


# ------------------------------------------------------------------------------------------------ presence
def test_presence_is_checked_and_the_last_session_ending_makes_the_agent_offline(routed) -> None:
    service, _ = routed
    wang = add_agent(service, "wang", ["complaints"])
    with pytest.raises(BadRequest):
        service.routing.set_presence(wang, "busy")
    with pytest.raises(BadRequest):
        service.routing.set_presence(wang, ["online"])
    assert service.routing.set_presence(wang, "away")["presence"] == "away"
    now = time.time()
    with service.sessions() as session:
        session.add_all([SessionRow(id="a" * 64, agent_id=wang, csrf_token="c", created_at=now, expires_at=now + 99),
                         SessionRow(id="b" * 64, agent_id=wang, csrf_token="c", created_at=now, expires_at=now + 99)])
        session.commit()
        session.execute(sa.delete(SessionRow).where(SessionRow.id == "a" * 64))
        session.commit()
    service.routing.session_ended(wang)  # another device is still signed in
    assert service.routing.me(wang)["chosen_presence"] == "away"
    with service.sessions() as session:
        session.execute(sa.delete(SessionRow).where(SessionRow.id == "b" * 64))
        session.commit()
    service.routing.session_ended(wang)
    assert service.routing.me(wang)["chosen_presence"] == "offline"


def test_team_presence_reports_capacity_and_load(routed) -> None:
    service, _ = routed
    wang = add_agent(service, "wang", ["complaints"], capacity=2)
    add_agent(service, "zhao", ["complaints"])
    service.routing.set_presence(wang, "online")
    open_ticket(service)
    assign(service)
    rows = {a["username"]: a for a in service.routing.team_presence()}
    assert rows["wang"]["presence"] == "online" and rows["wang"]["capacity"] == 2
    assert rows["wang"]["open_tickets"] == 1 and rows["wang"]["capacity_set"] is True
    assert rows["zhao"]["presence"] == "offline" and rows["zhao"]["capacity"] == 3
    assert rows["zhao"]["capacity_set"] is False


# ------------------------------------------------------------------------------------------------ reassignment
def test_a_supervisor_reassigns_a_ticket_to_a_named_agent_audited(routed) -> None:
    service, rasa = routed
    boss = add_agent(service, "boss", [], role="supervisor")
    wang = add_agent(service, "wang", ["complaints"])
    zhao = add_agent(service, "zhao", ["complaints"])
    add_agent(service, "li", ["presales"])
    with service.sessions() as session:
        supervisor = session.get(Agent, boss)
    waiting, sender = open_ticket(service)

    def reassign(name: Any) -> Dict[str, Any]:
        return asyncio.run(service.routing.reassign(supervisor, waiting, name, "203.0.113.9"))

    detail = reassign("WANG ")  # queued -> wang (offline: the supervisor's call)
    assert detail["state"] == "assigned" and detail["assignee"]["username"] == "wang"
    assert rasa.joined(sender) == ["Wang"]
    detail = reassign("zhao")  # assigned -> zhao
    assert detail["assignee"]["username"] == "zhao"
    assert [t["action"] for t in detail["transitions"]][-2:] == ["assign", "assign"]
    assert detail["transitions"][-1]["actor"] == "agent:boss"
    for bad in ("", None, 7, "nobody"):
        with pytest.raises(BadRequest):
            reassign(bad)
    with pytest.raises(BadRequest, match="not in the team"):
        reassign("li")
    with pytest.raises(Conflict):
        reassign("zhao")  # already theirs
    with service.sessions() as session:
        rows = list(session.scalars(sa.select(AdminAudit).where(AdminAudit.action == "ticket.assign")
                                    .order_by(AdminAudit.id)))
    assert [(r.target_kind, r.target_id, r.actor) for r in rows] == [("ticket", str(waiting), "agent:boss")] * 2
    assert '"assignee":"wang"' in rows[1].before_json and '"assignee":"zhao"' in rows[1].after_json
    close(service, zhao, waiting)
    with pytest.raises(Conflict):
        reassign("wang")  # closed
    assert ticket(service, waiting).assignee_id == zhao and wang


def test_capacity_is_set_by_supervisors_checked_and_audited(tmp_path: Path, routed) -> None:
    from console.admin.service import AdminService

    service, _ = routed
    add_agent(service, "boss", [], role="supervisor")
    add_agent(service, "wang", ["complaints"])
    admin = AdminService(service.sessions, service.directory, service.settings.config)
    assert admin.update_agent(BOSS, "wang", {"capacity": 5})["capacity"] == 5
    for bad in (-1, 51, "5", True, 2.5):
        with pytest.raises(Invalid, match="capacity"):
            admin.update_agent(BOSS, "wang", {"capacity": bad})
    assert admin.update_agent(BOSS, "wang", {"capacity": None})["capacity"] is None
    made = admin.create_agent(BOSS, {"username": "qian", "display_name": "Qian", "role": "agent",
                                     "teams": ["complaints"], "password": "correct-horse-battery", "capacity": 1})
    assert made["capacity"] == 1
    with service.sessions() as session:
        rows = list(session.scalars(sa.select(AdminAudit).where(AdminAudit.target_id == "wang")
                                    .order_by(AdminAudit.id)))
    assert [(r.action, '"capacity":5' in (r.after_json or "")) for r in rows] == [("agent.update", True),
                                                                                 ("agent.update", False)]


# ------------------------------------------------------------------------------------------------ replicas
def test_two_console_processes_assigning_at_once_never_exceed_an_agents_capacity(tmp_path: Path, db_url: str) -> None:
    """Two services on their own engines (two console processes on one database) run passes at the same moment
    while tickets arrive: every ticket is assigned once, nobody holds more than their capacity."""
    rasa = RecordingRasa()
    first = build(tmp_path, db_url, rasa)
    second = build(tmp_path, db_url, rasa)
    try:
        agents = [add_agent(first, name, ["complaints"], capacity=2) for name in ("wang", "zhao", "qian")]
        for agent_id in agents:
            first.routing.set_presence(agent_id, "online")
        tickets = [open_ticket(first)[0] for _ in range(10)]
        start = threading.Barrier(2)
        errors: List[BaseException] = []

        def run(assigner: Assigner) -> None:
            try:
                start.wait(timeout=30)
                for _ in range(5):
                    assigner.assign_waiting()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(s.routing.assigner,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with first.sessions() as session:
            rows = list(session.scalars(sa.select(Ticket).where(Ticket.id.in_(tickets))))
            held: Dict[int, int] = {}
            for row in rows:
                if row.assignee_id is not None:
                    held[row.assignee_id] = held.get(row.assignee_id, 0) + 1
            assigned_transitions = session.scalar(sa.select(sa.func.count()).select_from(Transition).where(
                Transition.action == "assign"))
        assert held == {a: 2 for a in agents}
        assert sum(1 for r in rows if r.state == "queued") == 4
        assert assigned_transitions == 6  # each assignment once
    finally:
        first.engine.dispose()
        second.engine.dispose()


# ------------------------------------------------------------------------------------------------ HTTP
def test_presence_assignment_and_reassignment_over_http(console: Any, fake_rasa: Any) -> None:
    """The real console process: an agent goes online in the top bar's API, a new ticket is theirs without a
    click, the customer hears who joined; agents may not reassign, supervisors may (audited); logout: offline."""
    wang, li, admin = console.login("wang"), console.login("li"), console.login("admin")
    assert wang.put("/api/presence", json={"presence": "online"}, headers={"X-CSRF-Token": "x"}).status_code == 403
    for bad in ({"presence": "busy"}, {"presence": None}, {}):
        response = wang.put("/api/presence", json=bad)
        assert response.status_code == 400 and "presence" in response.json()["message"]
    assert wang.put("/api/presence", content=b"[1]").status_code == 400
    answer = wang.put("/api/presence", json={"presence": "online"})
    assert answer.status_code == 200 and answer.json()["presence"]["presence"] == "online"
    assert wang.get("/api/presence").json()["assignment"]["default_capacity"] == 3
    sender = f"http-{uuid.uuid4().hex[:8]}"
    ticket_id = console.handoff(sender, category="after_sales", reason="explicit_request")["ticket_id"]
    detail = console.wait_for(lambda: (lambda d: d if d["state"] == "assigned" else None)(console.ticket(ticket_id)))
    assert detail and detail["assignee"]["username"] == "wang"
    assert console.wait_for(lambda: any(  # the notice follows the committed assignment
        e.get("data", {}).get("custom", {}).get("kefu_event", {}).get("type") == "agent_joined"
        for e in fake_rasa.events_for(sender)))
    seen = {a["username"]: a for a in wang.get("/api/presence/agents").json()["agents"]}
    assert seen["wang"]["open_tickets"] == 1 and "li" not in seen  # li shares no team with wang
    assert {"wang", "li", "admin"} <= {a["username"] for a in admin.get("/api/presence/agents").json()["agents"]}
    assert li.post(f"/api/tickets/{ticket_id}/assign", json={"agent": "admin"}).status_code == 403
    refused = admin.post(f"/api/tickets/{ticket_id}/assign", json={"agent": "li"})
    assert refused.status_code == 400 and "team" in refused.json()["message"]
    assert admin.post(f"/api/tickets/{ticket_id}/assign", json={"agent": "wang"}).status_code == 409
    assert admin.post("/api/tickets/999999/assign", json={"agent": "wang"}).status_code == 404
    moved = admin.post(f"/api/tickets/{ticket_id}/assign", json={"agent": "admin"})
    assert moved.status_code == 200 and moved.json()["assignee"]["username"] == "admin"
    audit = admin.get("/api/admin/audit", params={"kind": "ticket"}).json()["items"]
    assert audit[0]["action"] == "ticket.assign" and audit[0]["before"]["assignee"] == "wang"
    assert audit[0]["after"]["assignee"] == "admin" and audit[0]["target"] == {"kind": "ticket", "id": str(ticket_id)}
    assert wang.post("/api/auth/logout", json={}).status_code == 200
    after = {a["username"]: a for a in admin.get("/api/presence/agents").json()["agents"]}
    assert after["wang"]["presence"] == "offline" and after["wang"]["chosen_presence"] == "offline"
