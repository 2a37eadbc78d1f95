"""``python -m console users``: create, set-password, deactivate, activate, list; demo accounts on and off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.console.process import PASSWORDS, Console, FakeRasa
from tests.console.streams import stream_of, users_cli

GOOD = "correct-horse-battery"


@pytest.fixture()
def offline(tmp_path: Path, fake_rasa: FakeRasa) -> Console:
    """A console's environment (not started): the CLI works on its database alone."""
    return Console.create(tmp_path / "cli", fake_rasa.url, extra={"KEFU_CONSOLE_DEMO_ACCOUNTS": "false"})


def login(console: Console, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{console.url}/api/auth/login", json={"username": username, "password": password}, timeout=30)


def test_create_list_and_refusals(offline: Console) -> None:
    made = users_cli(offline, "create", "Zhao", "--display-name", "小赵", "--role", "agent",
                     "--teams", "presales,after_sales", stdin=GOOD + "\n")
    assert made.returncode == 0, made.stderr
    assert "created zhao" in made.stdout
    listed = users_cli(offline, "list")
    assert listed.returncode == 0
    line = next(row for row in listed.stdout.splitlines() if row.startswith("zhao "))
    assert "小赵" in line and "agent" in line and "yes" in line and "presales,after_sales" in line
    # the same username again, a short password, an unknown team, an agent without a team, a bad name
    again = users_cli(offline, "create", "zhao", "--display-name", "x", "--role", "agent", "--teams", "presales",
                      stdin=GOOD + "\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = users_cli(offline, "create", "qian", "--display-name", "x", "--role", "agent", "--teams", "presales",
                      stdin="short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    team = users_cli(offline, "create", "qian", "--display-name", "x", "--role", "agent", "--teams", "sales",
                     stdin=GOOD + "\n")
    assert team.returncode == 1 and "unknown team(s) sales" in team.stderr
    teamless = users_cli(offline, "create", "qian", "--display-name", "x", "--role", "agent", stdin=GOOD + "\n")
    assert teamless.returncode == 1 and "at least one team" in teamless.stderr
    bad = users_cli(offline, "create", "q ian!", "--display-name", "x", "--role", "supervisor", stdin=GOOD + "\n")
    assert bad.returncode == 1 and "username" in bad.stderr
    empty = users_cli(offline, "create", "qian", "--display-name", "x", "--role", "supervisor", stdin="")
    assert empty.returncode == 1 and "no password on standard input" in empty.stderr
    # a password on the command line is not an option: argparse refuses the extra argument
    argv = users_cli(offline, "create", "qian", GOOD, "--display-name", "x", "--role", "supervisor")
    assert argv.returncode == 2
    assert "qian" not in users_cli(offline, "list").stdout
    missing = users_cli(offline, "deactivate", "nobody")
    assert missing.returncode == 1 and "no account 'nobody'" in missing.stderr
    role = users_cli(offline, "create", "qian", "--display-name", "x", "--role", "boss", stdin=GOOD + "\n")
    assert role.returncode == 2


def test_created_account_logs_in_and_deactivation_ends_its_sessions_and_stream(offline: Console) -> None:
    offline.env["KEFU_CONSOLE_STREAM_CHECK_SECONDS"] = "1"
    assert users_cli(offline, "create", "sun", "--display-name", "小孙", "--role", "agent", "--teams", "presales",
                     stdin=GOOD + "\n").returncode == 0
    offline.start()
    try:
        saved = dict(PASSWORDS)
        PASSWORDS["sun"] = GOOD
        try:
            stream = stream_of(offline, "sun")
            client = offline.login("sun")
            assert client.get("/api/auth/me").status_code == 200
            done = users_cli(offline, "deactivate", "sun")
            assert done.returncode == 0 and "1 session(s) ended" in done.stdout, done.stdout + done.stderr
            assert client.get("/api/auth/me").status_code == 401
            assert stream.next("session_ended", timeout=60) is not None, stream.seen
            assert stream.ended.wait(30)
            assert login(offline, "sun", GOOD).status_code == 401
            assert "no " in next(r for r in users_cli(offline, "list").stdout.splitlines() if r.startswith("sun "))
            # activate again, then a new password: the old one stops working
            assert users_cli(offline, "activate", "sun").returncode == 0
            assert login(offline, "sun", GOOD).status_code == 200
            changed = users_cli(offline, "set-password", "sun", stdin="another-long-password\n")
            assert changed.returncode == 0, changed.stderr
            assert login(offline, "sun", GOOD).status_code == 401
            assert login(offline, "sun", "another-long-password").status_code == 200
        finally:
            PASSWORDS.clear()
            PASSWORDS.update(saved)
    finally:
        offline.stop()


def test_demo_accounts_only_with_the_flag_and_deactivated_when_it_goes_off(offline: Console) -> None:
    offline.start()
    try:
        assert login(offline, "admin", PASSWORDS["admin"]).status_code == 401  # flag off: no demo accounts
        assert users_cli(offline, "list").stdout.count("\n") == 1  # the header only
    finally:
        offline.stop()
    offline.env["KEFU_CONSOLE_DEMO_ACCOUNTS"] = "true"
    offline.start()
    try:
        session = httpx.Client(base_url=offline.url, timeout=30)
        assert session.post("/api/auth/login", json={"username": "wang", "password": PASSWORDS["wang"]}).status_code == 200
        assert session.get("/api/auth/me").status_code == 200
        # an operator took over "li" with a password of their own: that account is not a demo account any more
        assert users_cli(offline, "set-password", "li", stdin=GOOD + "\n").returncode == 0
    finally:
        offline.stop()
    offline.env["KEFU_CONSOLE_DEMO_ACCOUNTS"] = "false"
    offline.start()
    try:
        assert session.get("/api/auth/me").status_code == 401  # its session ended with it
        session.close()
        for user in ("wang", "admin"):
            assert login(offline, user, PASSWORDS[user]).status_code == 401
        assert login(offline, "li", GOOD).status_code == 200
        rows = {r.split()[0]: r for r in users_cli(offline, "list").stdout.splitlines()[1:]}
        assert " no " in rows["wang"] and " no " in rows["admin"] and " yes " in rows["li"]
    finally:
        offline.stop()


def test_update_sets_and_resets_the_capacity(offline: Console) -> None:
    made = users_cli(offline, "create", "zhao", "--display-name", "小赵", "--role", "agent", "--teams", "presales",
                     stdin=GOOD + "\n")
    assert made.returncode == 0, made.stderr
    done = users_cli(offline, "update", "zhao", "--capacity", "5")
    assert done.returncode == 0 and "capacity: 5" in done.stdout, done.stderr
    for bad in ("-1", "51", "two", "2.5"):
        refused = users_cli(offline, "update", "zhao", "--capacity", bad)
        assert refused.returncode == 1 and "capacity" in refused.stderr, (bad, refused.stderr)
    reset = users_cli(offline, "update", "zhao", "--capacity", "default")
    assert reset.returncode == 0 and "capacity: default" in reset.stdout
