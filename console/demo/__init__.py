"""The console's demo data (``accounts.yml``) and its small loader; console.seed and ``python -m console accounts`` import it.

``python -m console accounts`` (what the launcher runs for ``make run``'s banner) reads the file and touches no
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

from console.models import ROLES

DEMO_DIR = Path(__file__).resolve().parent
ACCOUNTS_FILE = DEMO_DIR / "accounts.yml"


class DemoDataError(ValueError):
    """A demo data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    teams: Tuple[str, ...]
    password: str

    def line(self) -> str:
        """How ``make run``'s banner shows the login."""
        return f"  {self.display_name} ({self.role}, {', '.join(self.teams)}): {self.username} / {self.password}"


def _account(path: Path, number: int, item: object) -> DemoAccount:
    where = f"{path}: entry {number}"
    if not isinstance(item, dict):
        raise DemoDataError(f"{where}: expected a mapping")
    fields = {}
    for key in ("username", "display_name", "role", "password"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise DemoDataError(f"{where}: {key} must be a non-empty string")
        fields[key] = value
    if fields["role"] not in ROLES:
        raise DemoDataError(f"{where}: role must be one of {', '.join(ROLES)}")
    teams = item.get("teams") or []
    if not isinstance(teams, list) or not all(isinstance(t, str) and t for t in teams):
        raise DemoDataError(f"{where}: teams must be a list of team ids")
    return DemoAccount(teams=tuple(teams), **fields)


def load_demo_accounts(path: Optional[Path] = None) -> List[DemoAccount]:
    """The demo accounts of ``path`` (default ``console/demo/accounts.yml``), checked; usernames are unique."""
    path = path or ACCOUNTS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DemoDataError(f"{path}: cannot read it ({type(error).__name__}: {error})") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise DemoDataError(f"{path}: expected a list of accounts")
    accounts = [_account(path, number, item) for number, item in enumerate(data, 1)]
    names = [a.username for a in accounts]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DemoDataError(f"{path}: duplicate username(s) {', '.join(duplicates)}")
    return accounts
