"""The demo logins as data (console/demo/accounts.yml) and their loader: the shipped file, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.demo import DemoAccount, DemoDataError, load_demo_accounts
from console.settings import load_config
from tests.console.process import PASSWORDS


def test_the_shipped_file_holds_the_published_logins_in_known_teams():
    accounts = load_demo_accounts()
    assert {a.username: a.password for a in accounts} == PASSWORDS
    teams = {t["id"] for t in load_config()["teams"]}
    assert all(set(a.teams) <= teams and a.teams for a in accounts)
    assert [a.role for a in accounts if a.username == "admin"] == ["supervisor"]


def test_a_banner_line_names_the_login():
    line = DemoAccount("zhao", "小赵 🎧", "agent", ("presales",), "zhao-demo-2026").line()
    assert line == "  小赵 🎧 (agent, presales): zhao / zhao-demo-2026"


@pytest.mark.parametrize("text, message", [
    ("{username: wang}", "expected a list"),
    ("- just a string", "entry 1: expected a mapping"),
    ("- {username: wang, display_name: 小王, role: agent, teams: [presales]}", "password must be a non-empty string"),
    ("- {username: '', display_name: x, role: agent, password: p}", "username must be a non-empty string"),
    ("- {username: w, display_name: x, role: root, password: p}", "role must be one of agent, supervisor"),
    ("- {username: w, display_name: x, role: agent, teams: presales, password: p}", "teams must be a list"),
    ("- {username: w, display_name: x, role: agent, password: p}\n"
     "- {username: w, display_name: y, role: agent, password: q}", "duplicate username(s) w"),
    ("- {username: w, display_name: [unclosed", "cannot read it"),
])
def test_a_malformed_file_is_refused_with_its_name_and_entry(tmp_path: Path, text: str, message: str):
    path = tmp_path / "accounts.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DemoDataError) as caught:
        load_demo_accounts(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_missing_file_is_refused_and_an_empty_one_has_no_accounts(tmp_path: Path):
    with pytest.raises(DemoDataError, match="cannot read it"):
        load_demo_accounts(tmp_path / "nowhere.yml")
    (tmp_path / "empty.yml").write_text("# no demo accounts here\n", encoding="utf-8")
    assert load_demo_accounts(tmp_path / "empty.yml") == []


def test_hostile_strings_are_data_not_code(tmp_path: Path):
    path = tmp_path / "accounts.yml"
    path.write_text("- {username: \"x'; DROP TABLE console_agents; --\", display_name: \"<script>alert(1)</script>\", "
                    "role: agent, teams: [presales], password: p}\n", encoding="utf-8")
    (account,) = load_demo_accounts(path)
    assert account.username == "x'; DROP TABLE console_agents; --"
    assert account.display_name == "<script>alert(1)</script>"
