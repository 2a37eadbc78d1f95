"""Demo accounts: created at startup when ``KEFU_CONSOLE_DEMO_ACCOUNTS=true`` (``make run``), deactivated at
startup otherwise.

Their passwords are published (console/config.yml, ``make run``'s banner), so outside the demo they
must not work: an account that still holds its demo password is deactivated and its sessions end.
An operator who took over a demo username with a password of their own keeps it.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.auth import hash_password, verify_password
from console.models import Agent, SessionRow

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
    """Create the accounts that do not exist yet and reactivate those that still hold their demo password;
    returns the usernames created or reactivated."""
    created = []
    for account in accounts:
        agent = session.scalars(sa.select(Agent).where(Agent.username == account["username"])).first()
        if agent is None:
            create_agent(session, account["username"], account["display_name"], account["role"],
                         list(account.get("teams") or []), account["password"])
            created.append(account["username"])
        elif not agent.active and verify_password(account["password"], agent.password_hash):
            agent.active = True
            created.append(account["username"])
    session.commit()
    return created


def end_sessions(session: Session, agent_id: int) -> int:
    """Delete every session of the agent (the caller commits); returns how many there were."""
    result = session.execute(sa.delete(SessionRow).where(SessionRow.agent_id == agent_id))
    return int(result.rowcount or 0)


def deactivate_demo_accounts(session: Session, accounts: List[Dict[str, Any]]) -> List[str]:
    """Deactivate the active demo accounts that still hold their published password and end their sessions;
    returns their usernames."""
    done = []
    for account in accounts:
        agent = session.scalars(sa.select(Agent).where(Agent.username == account["username"])).first()
        if agent is None or not agent.active or not verify_password(account["password"], agent.password_hash):
            continue
        agent.active = False
        end_sessions(session, agent.id)
        done.append(agent.username)
    session.commit()
    return done


def demo_account_lines(accounts: List[Dict[str, Any]]) -> List[str]:
    """What ``make run`` prints: one line per demo account."""
    return [
        f"  {a['display_name']} ({a['role']}, {', '.join(a.get('teams') or [])}): {a['username']} / {a['password']}"
        for a in accounts
    ]
