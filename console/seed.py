"""Demo accounts, created at startup when missing (idempotent: existing accounts are left alone)."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.auth import hash_password
from console.models import Agent

ROLES = ("agent", "supervisor")


def create_agent(session: Session, username: str, display_name: str, role: str, teams: List[str], password: str) -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(username=username, display_name=display_name, role=role, teams=",".join(teams),
                  password_hash=hash_password(password), active=True, created_at=time.time())
    session.add(agent)
    session.flush()
    return agent


def seed_demo_accounts(session: Session, accounts: List[Dict[str, Any]]) -> List[str]:
    """Create the accounts that do not exist yet; returns the usernames created."""
    created = []
    for account in accounts:
        if session.scalar(sa.select(Agent.id).where(Agent.username == account["username"])) is None:
            create_agent(session, account["username"], account["display_name"], account["role"],
                         list(account.get("teams") or []), account["password"])
            created.append(account["username"])
    session.commit()
    return created


def demo_account_lines(accounts: List[Dict[str, Any]]) -> List[str]:
    """What ``make run`` prints: one line per demo account."""
    return [
        f"  {a['display_name']} ({a['role']}, {', '.join(a.get('teams') or [])}): {a['username']} / {a['password']}"
        for a in accounts
    ]
