"""``python -m console teams|canned|audit`` and ``users update``: the same checked, audited service as the admin
page, with the actor ``cli:<os user>``; a running console sees the changes in its database."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.console.process import ROOT, Console, FakeRasa, context
from tests.console.streams import users_cli

GOOD = "correct-horse-battery"


@pytest.fixture()
def offline(tmp_path: Path, fake_rasa: FakeRasa) -> Console:
    return Console.create(tmp_path / "cli", fake_rasa.url, extra={"KEFU_CONSOLE_DEMO_ACCOUNTS": "false"})


def cli(console: Console, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "console", *args], cwd=str(ROOT), env=console.env,
                          capture_output=True, text=True, timeout=120)


def test_teams_from_the_shell_route_tickets_and_are_audited(offline: Console) -> None:
    listed = cli(offline, "teams", "list")
    assert listed.returncode == 0, listed.stderr
    assert "after_sales" in listed.stdout and "after_sales,other" in listed.stdout  # the YAML's seed
    made = cli(offline, "teams", "create", "wholesale", "--name-zh-hans", "批发", "--name-en", "Wholesale",
               "--categories", "presales", "--hours", "mon-fri=09:00-18:00;sat=10:00-12:00,13:00-16:00")
    assert made.returncode == 0, made.stderr
    assert "sat 10:00-12:00,13:00-16:00" in made.stdout and "sun" not in made.stdout
    for args, words in [
        (("teams", "create", "wholesale", "--name-zh-hans", "x", "--name-en", "x"), "exists already"),
        (("teams", "create", "Bad-Id", "--name-zh-hans", "x", "--name-en", "x"), "id must be"),
        (("teams", "create", "night", "--name-zh-hans", "夜班"), "name.en"),
        (("teams", "create", "night", "--name-zh-hans", "x", "--name-en", "x", "--hours", "someday=09:00-10:00"),
         "unknown day"),
        (("teams", "create", "night", "--name-zh-hans", "x", "--name-en", "x", "--hours", "mon=9-5"), "not a range"),
        (("teams", "update", "after_sales", "--categories", "after_sales"), "other must stay"),
        (("teams", "update", "wholesale", "--categories", "bulk"), "unknown category bulk"),
        (("teams", "update", "ghost", "--hours", "shop"), "no team"),
        (("teams", "update", "wholesale"), "nothing to change"),
    ]:
        refused = cli(offline, *args)
        assert refused.returncode == 1 and words in refused.stderr, (args, refused.stdout, refused.stderr)

    # an agent in the new team, then a role change: the running console routes and scopes by them
    assert users_cli(offline, "create", "zhou", "--display-name", "小周", "--role", "agent", "--teams", "wholesale",
                     stdin=GOOD + "\n").returncode == 0
    offline.start()
    try:
        made = offline.internal("/internal/handoffs", context("bulk-cli", category="presales", reason="presales"))
        assert made.status_code == 201 and made.json()["team"] == "wholesale", made.text
        refused = cli(offline, "teams", "deactivate", "wholesale")
        assert refused.returncode == 1 and "open ticket" in refused.stderr
        client = httpx.Client(base_url=offline.url, timeout=20)
        assert client.post("/api/auth/login", json={"username": "zhou", "password": GOOD}).status_code == 200
        assert [t["team"] for t in client.get("/api/tickets").json()["tickets"]] == ["wholesale"]
        assert client.get("/api/admin/agents").status_code == 403
        promoted = users_cli(offline, "update", "zhou", "--role", "supervisor")
        assert promoted.returncode == 0 and "zhou: supervisor" in promoted.stdout, promoted.stderr
        assert client.get("/api/admin/agents").status_code == 200  # the role is read on every request
        client.close()
    finally:
        offline.stop()
    audit = cli(offline, "audit", "--per-page", "3")
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.splitlines()
    assert lines[0].startswith("3 change(s)") and f"cli:{getpass.getuser()}" in lines[1]
    assert "agent.update" in lines[1] and "agent.create" in lines[2] and "team.create" in lines[3]


def test_the_last_supervisor_stays_one_from_the_shell(offline: Console) -> None:
    assert users_cli(offline, "create", "boss", "--display-name", "Boss", "--role", "supervisor",
                     stdin=GOOD + "\n").returncode == 0
    for args in (("deactivate", "boss"), ("update", "boss", "--role", "agent", "--teams", "presales")):
        refused = users_cli(offline, *args)
        assert refused.returncode == 1 and "last active supervisor" in refused.stderr, refused.stderr
    bad = users_cli(offline, "update", "boss", "--teams", "nowhere")
    assert bad.returncode == 1 and "unknown team(s) nowhere" in bad.stderr
    assert users_cli(offline, "update", "boss").returncode == 1
    assert " yes " in next(r for r in users_cli(offline, "list").stdout.splitlines() if r.startswith("boss "))


def test_canned_responses_from_the_shell(offline: Console) -> None:
    made = cli(offline, "canned", "create", "refund_eta", "--title-zh-hans", "退款时效", "--title-en", "Refund time",
               "--text-zh-hans", "退款 1-3 个工作日到账。", "--text-en", "Refunds arrive in 1-3 working days.")
    assert made.returncode == 0, made.stderr
    changed = cli(offline, "canned", "update", "refund_eta", "--text-en", "Refunds arrive in 3 days.")
    assert changed.returncode == 0, changed.stderr
    listed = cli(offline, "canned", "list")
    assert "refund_eta" in listed.stdout and "greeting" in listed.stdout
    duplicate = cli(offline, "canned", "create", "refund_eta", "--title-zh-hans", "x", "--title-en", "x",
                    "--text-zh-hans", "x", "--text-en", "x")
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr
    assert cli(offline, "canned", "delete", "refund_eta").returncode == 0
    gone = cli(offline, "canned", "delete", "refund_eta")
    assert gone.returncode == 1 and "no canned response" in gone.stderr
    audit = cli(offline, "audit", "--kind", "canned").stdout
    assert audit.startswith("3 change(s)") and "Refunds arrive in 3 days." in audit
