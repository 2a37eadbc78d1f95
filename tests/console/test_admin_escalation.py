"""The escalation word lists supervisors edit (issue 26): the audited service on SQLite and PostgreSQL, the
``/api/admin/escalation`` API and ``/internal/escalation-words`` on a real console process, and
``python -m console escalation``."""

from __future__ import annotations

import copy
import getpass
import json
import subprocess
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from console.admin.directory import Directory
from console.admin.escalation import LISTS, defaults, version_of
from console.admin.models import AdminAudit, EscalationWordsRow
from console.admin.service import Actor, AdminService, Conflict, Invalid, NotFound
from console.models import create_schema, make_engine
from console.settings import load_canned, load_config
from tests.console.process import ROOT, Console, FakeRasa

BOSS = Actor("agent:boss", "203.0.113.7", None)
XSS = '<script>alert("x")</script>'


@pytest.fixture(params=["sqlite", "postgresql"])
def admin(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AdminService]:
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    config = copy.deepcopy(load_config())
    sessions = sessionmaker(engine, expire_on_commit=False)
    directory = Directory(sessions, config, load_canned)
    directory.load()
    yield AdminService(sessions, directory, config)
    engine.dispose()


def audit_rows(service: AdminService) -> list:
    with service.sessions() as session:
        return list(session.scalars(sa.select(AdminAudit).where(AdminAudit.target_kind == "escalation")
                                    .order_by(AdminAudit.id)))


# -- the service ------------------------------------------------------------------------------------------
def test_no_row_means_the_yaml_and_a_saved_list_replaces_it_audited(admin: AdminService) -> None:
    yaml_lists = defaults()
    assert "转人工" in yaml_lists["explicit_request.keywords"] and "破损" in yaml_lists["complaint.evidence"]
    listed = admin.list_escalation()
    assert [x["id"] for x in listed["lists"]] == list(LISTS)
    assert all(not x["overridden"] and x["words"] == yaml_lists[x["id"]] for x in listed["lists"])
    assert admin.escalation_overrides() == {"version": version_of({}), "overrides": {}, "updated_at": None}

    saved = admin.set_escalation_words(BOSS, "explicit_request", "keywords", {"words": ["  找店长 ", "转人工"]})
    assert saved["words"] == ["找店长", "转人工"] and saved["overridden"] and saved["updated_by"] == "agent:boss"
    assert saved["default"] == yaml_lists["explicit_request.keywords"]
    internal = admin.escalation_overrides()
    assert internal["overrides"] == {"explicit_request": {"keywords": ["找店长", "转人工"]}}
    assert internal["version"] != version_of({}) and internal["updated_at"]
    [row] = audit_rows(admin)
    assert (row.action, row.target_id, row.actor, row.address) == (
        "escalation.update", "explicit_request.keywords", "agent:boss", "203.0.113.7")
    assert json.loads(row.before_json) == {"words": yaml_lists["explicit_request.keywords"], "overridden": False}
    assert json.loads(row.after_json) == {"words": ["找店长", "转人工"], "overridden": True}

    # the same words again: nothing changes, nothing audited, the version stays
    admin.set_escalation_words(BOSS, "explicit_request", "keywords", {"words": ["找店长", "转人工"]})
    assert len(audit_rows(admin)) == 1 and admin.escalation_overrides()["version"] == internal["version"]

    reset = admin.reset_escalation_words(BOSS, "explicit_request", "keywords")
    assert not reset["overridden"] and reset["words"] == yaml_lists["explicit_request.keywords"]
    assert admin.escalation_overrides()["overrides"] == {}
    assert admin.escalation_overrides()["version"] == version_of({})
    assert [r.action for r in audit_rows(admin)] == ["escalation.update", "escalation.reset"]
    assert json.loads(audit_rows(admin)[1].before_json)["words"] == ["找店长", "转人工"]
    with admin.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(EscalationWordsRow)) == 0
    admin.reset_escalation_words(BOSS, "explicit_request", "keywords")  # nothing saved: nothing to do
    assert len(audit_rows(admin)) == 2


def test_bad_words_are_refused_and_change_nothing(admin: AdminService) -> None:
    cases = [
        ({"words": "转人工"}, "must be a list"),
        ({"words": None}, "must be a list"),
        ({"words": ["ok", 3]}, "word 2 must be a string"),
        ({"words": ["ok", "   "]}, "word 2 is empty"),
        ({"words": ["长" * 41]}, "more than 40 characters"),
        ({"words": ["转\n人工"]}, "control characters"),
        ({"words": ["转\x00人工"]}, "control characters"),
        ({"words": ["a\u202e\x1b[31m"]}, "control characters"),
        ({"words": [f"w{i}" for i in range(201)]}, "at most 200 words"),
        ({"words": ["ok"], "confirm_empty": "yes"}, "true or false"),
        ({"words": ["ok"], "enabled": False}, "unknown field(s) enabled"),
    ]
    for body, words in cases:
        with pytest.raises(Invalid, match=words.replace("(", r"\(").replace(")", r"\)")):
            admin.set_escalation_words(BOSS, "complaint", "evidence", body)
    with pytest.raises(NotFound, match="no escalation list"):
        admin.set_escalation_words(BOSS, "presales", "keywords", {"words": ["x"]})
    with pytest.raises(NotFound, match="no escalation list"):
        admin.reset_escalation_words(BOSS, "complaint", "intents")
    with pytest.raises(NotFound):
        admin.escalation_list(["explicit_request"], "keywords")
    assert audit_rows(admin) == [] and admin.escalation_overrides()["overrides"] == {}


def test_duplicates_after_normalisation_go_and_hostile_strings_are_kept_as_text(admin: AdminService) -> None:
    saved = admin.set_escalation_words(BOSS, "complaint", "keywords", {"words": [
        "投訴", "投诉", "Complaint", "ＣＯＭＰＬＡＩＮＴ", "complaint ", XSS, "'; DROP TABLE x; --",
        "😡差评"]})
    assert saved["words"] == ["投訴", "Complaint", XSS, "'; DROP TABLE x; --", "😡差评"]
    assert admin.escalation_list("complaint", "keywords")["words"] == saved["words"]
    # exactly 200 distinct words is the most; 250 words of which 200 are distinct too
    many = [f"词{i}" for i in range(200)]
    assert len(admin.set_escalation_words(BOSS, "complaint", "evidence", {"words": many + many[:50]})["words"]) == 200


def test_an_empty_list_switches_words_off_only_when_confirmed(admin: AdminService) -> None:
    with pytest.raises(Conflict, match="switches the explicit_request keywords off; send confirm_empty"):
        admin.set_escalation_words(BOSS, "explicit_request", "keywords", {"words": []})
    with pytest.raises(Conflict, match="complaint evidence off"):
        admin.set_escalation_words(BOSS, "complaint", "evidence", {"words": []})
    assert audit_rows(admin) == []
    off = admin.set_escalation_words(BOSS, "explicit_request", "keywords", {"words": [], "confirm_empty": True})
    assert off["words"] == [] and off["overridden"]
    assert admin.escalation_overrides()["overrides"] == {"explicit_request": {"keywords": []}}
    assert json.loads(audit_rows(admin)[0].after_json) == {"words": [], "overridden": True}


# -- the API on a real console ----------------------------------------------------------------------------
ROUTES = [("GET", "/api/admin/escalation"), ("GET", "/api/admin/escalation/complaint/evidence"),
          ("PUT", "/api/admin/escalation/complaint/evidence"), ("DELETE", "/api/admin/escalation/complaint/evidence")]


def test_api_supervisors_only_csrf_errors_and_the_internal_read(console: Console) -> None:
    for method, path in ROUTES:
        anonymous = httpx.request(method, console.url + path, json={"words": ["x"]}, timeout=10)
        assert anonymous.status_code == 401, (method, path)
        assert console.login("wang").request(method, path, json={"words": ["x"]}).status_code == 403, (method, path)
    admin = console.login("admin")
    for method, path in ROUTES[2:]:
        for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": "forged"}):
            response = admin.request(method, path, json={"words": ["x"]}, headers=headers)
            assert response.status_code == 403 and response.json()["error"] == "csrf", (method, path)

    cases = [
        ("PUT", "/api/admin/escalation/complaint/evidence", {"words": ["a\x07"]}, 400, "control characters"),
        ("PUT", "/api/admin/escalation/complaint/evidence", {"words": "破损"}, 400, "must be a list"),
        ("PUT", "/api/admin/escalation/complaint/evidence", {"words": []}, 409, "confirm_empty"),
        ("PUT", "/api/admin/escalation/presales/keywords", {"words": ["x"]}, 404, "no escalation list"),
        ("DELETE", "/api/admin/escalation/complaint/nope", {}, 404, "no escalation list"),
        ("GET", "/api/admin/escalation/x/y", None, 404, "no escalation list"),
    ]
    for method, path, body, status, words in cases:
        response = admin.request(method, path, json=body)
        assert response.status_code == status and words in response.json()["message"], (path, body, response.text)
    assert admin.put("/api/admin/escalation/complaint/evidence", content=b"{nope").status_code == 400
    assert admin.put("/api/admin/escalation/complaint/evidence", content=b"[1]").status_code == 400
    huge = admin.put("/api/admin/escalation/complaint/evidence", json={"words": ["长" * 30] * 1000})
    assert huge.status_code == 413 and huge.json()["error"] == "too_large"
    assert admin.get("/api/admin/audit?kind=escalation").json()["total"] == 0

    # the service token guards the internal read exactly like the other /internal routes
    assert console.internal_get("/internal/escalation-words", token="wrong").status_code == 401
    assert httpx.get(f"{console.url}/internal/escalation-words", timeout=10).status_code == 401
    first = console.internal_get("/internal/escalation-words")
    assert first.status_code == 200 and first.json()["overrides"] == {}

    saved = admin.put("/api/admin/escalation/explicit_request/keywords", json={"words": ["找店长", XSS]})
    assert saved.status_code == 200 and saved.json()["words"] == ["找店长", XSS], saved.text
    second = console.internal_get("/internal/escalation-words").json()
    assert second["overrides"] == {"explicit_request": {"keywords": ["找店长", XSS]}}
    assert second["version"] != first.json()["version"]
    listed = admin.get("/api/admin/escalation").json()
    item = next(x for x in listed["lists"] if x["id"] == "explicit_request.keywords")
    assert item["overridden"] and item["updated_by"] == "agent:admin" and "转人工" in item["default"]
    audit = admin.get("/api/admin/audit?kind=escalation").json()
    assert audit["total"] == 1 and audit["items"][0]["action"] == "escalation.update"
    assert audit["items"][0]["address"] == "127.0.0.1"
    reset = admin.delete("/api/admin/escalation/explicit_request/keywords")
    assert reset.status_code == 200 and not reset.json()["overridden"]
    assert console.internal_get("/internal/escalation-words").json()["version"] == first.json()["version"]
    assert [i["action"] for i in admin.get("/api/admin/audit?kind=escalation").json()["items"]] == [
        "escalation.reset", "escalation.update"]


# -- the command line -------------------------------------------------------------------------------------
@pytest.fixture()
def offline(tmp_path: Path, fake_rasa: FakeRasa) -> Console:
    return Console.create(tmp_path / "cli", fake_rasa.url, extra={"KEFU_CONSOLE_DEMO_ACCOUNTS": "false"})


def cli(console: Console, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "console", *args], cwd=str(ROOT), env=console.env,
                          capture_output=True, text=True, timeout=120)


def test_the_shell_sets_lists_and_resets_through_the_audited_service(offline: Console) -> None:
    listed = cli(offline, "escalation", "list")
    assert listed.returncode == 0, listed.stderr
    assert "explicit_request.keywords (8 words; actions/escalation.yml)" in listed.stdout and "转人工" in listed.stdout
    saved = cli(offline, "escalation", "set", "explicit_request.keywords", "找店长", "talk to a human", "找店長")
    assert saved.returncode == 0, saved.stderr
    assert "2 words saved: 找店长, talk to a human" in saved.stdout
    for args, words in [
        (("escalation", "set", "complaint.evidence"), "confirm_empty"),
        (("escalation", "set", "complaint.evidence", "x" * 41), "more than 40"),
        (("escalation", "set", "presales.keywords", "x"), "no escalation list"),
        (("escalation", "reset", "nonsense"), "no escalation list"),
    ]:
        refused = cli(offline, *args)
        assert refused.returncode == 1 and words in refused.stderr, (args, refused.stdout, refused.stderr)
    off = cli(offline, "escalation", "set", "complaint.evidence", "--confirm-empty")
    assert off.returncode == 0 and "0 words saved: (none: switched off)" in off.stdout, off.stderr
    listed = cli(offline, "escalation", "list").stdout
    assert f"saved by cli:{getpass.getuser()}" in listed and "找店长, talk to a human" in listed
    assert cli(offline, "escalation", "reset", "complaint.evidence").returncode == 0
    audit = cli(offline, "audit", "--kind", "escalation")
    assert audit.returncode == 0 and "3 change(s)" in audit.stdout, audit.stdout
    assert f"cli:{getpass.getuser()}" in audit.stdout and "escalation.reset" in audit.stdout

    offline.start()  # a running console serves what the shell saved
    try:
        served = offline.internal_get("/internal/escalation-words").json()
        assert served["overrides"] == {"explicit_request": {"keywords": ["找店长", "talk to a human"]}}
    finally:
        offline.stop()
