"""Demo accounts (data: console/demo/accounts.yml): created at startup when ``KEFU_CONSOLE_DEMO_ACCOUNTS=true``
(``make run``), deactivated at startup otherwise.

Their passwords are published (console/demo/accounts.yml, ``make run``'s banner), so outside the demo they
must not work: an account that still holds its demo password is deactivated and its sessions end.
An operator who took over a demo username with a password of their own keeps it.
"""

from __future__ import annotations

import logging
from typing import List, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.accounts import create_agent, end_sessions
from console.auth import verify_password
from console.demo import DemoAccount
from console.models import Agent

log = logging.getLogger("kefu.console")


def seed_demo_accounts(session: Session, accounts: Sequence[DemoAccount]) -> List[str]:
    """Create the accounts that do not exist yet and reactivate those that still hold their demo password;
    returns the usernames created or reactivated."""
    created = []
    for account in accounts:
        agent = session.scalars(sa.select(Agent).where(Agent.username == account.username)).first()
        if agent is None:
            create_agent(session, account.username, account.display_name, account.role, list(account.teams),
                         account.password)
            created.append(account.username)
        elif not agent.active and verify_password(account.password, agent.password_hash):
            agent.active = True
            created.append(account.username)
    session.commit()
    return created


def deactivate_demo_accounts(session: Session, accounts: Sequence[DemoAccount]) -> List[str]:
    """Deactivate the active demo accounts that still hold their published password and end their sessions;
    returns their usernames."""
    done = []
    for account in accounts:
        agent = session.scalars(sa.select(Agent).where(Agent.username == account.username)).first()
        if agent is None or not agent.active or not verify_password(account.password, agent.password_hash):
            continue
        agent.active = False
        end_sessions(session, agent.id)
        done.append(agent.username)
    session.commit()
    return done


def apply_demo_flag(session: Session, enabled: bool, accounts: Sequence[DemoAccount]) -> None:
    """At startup: seed the demo accounts when ``KEFU_CONSOLE_DEMO_ACCOUNTS`` is on, else deactivate them."""
    if enabled:
        created = seed_demo_accounts(session, accounts)
        if created:
            log.info("seeded demo accounts: %s", ", ".join(created))
        return
    disabled = deactivate_demo_accounts(session, accounts)
    if disabled:
        log.warning("demo accounts deactivated (KEFU_CONSOLE_DEMO_ACCOUNTS is off): %s", ", ".join(disabled))
