"""``python -m console users ...``: manage the console's agent accounts from a shell (and the account
operations the demo seed shares: ``create_agent``, ``end_sessions``).

Outside the demo there are no accounts until an operator creates them here. Passwords are read from
a prompt (typed twice, not echoed) or, when standard input is not a terminal, from its first line:
never from the command line, where ``ps`` and shell history would show them.

    python -m console users create wang --display-name 小王 --role agent --teams after_sales,complaints
    printf '%s\\n' "$PASSWORD" | python -m console users set-password wang
    python -m console users deactivate wang      # ends wang's sessions and live streams
    python -m console users activate wang
    python -m console users update wang --role supervisor --teams presales,after_sales --display-name 王经理
    python -m console users update wang --capacity 5     # open tickets assigned to wang at most; "default" resets
    python -m console users list

Every change goes through the console's administration service (console/admin/service.py): checked as in the
console's admin page and written to the admin audit log with the actor ``cli:<os user>``. The last active
supervisor is neither deactivated nor demoted.

Exit codes: 0 done, 1 refused (unknown or existing account, weak password, bad team, last supervisor), 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, Sequence, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import console.admin.models  # noqa: F401  (the admin tables join the metadata create_schema brings up)
from console.auth import hash_password
from console.models import ROLES, Agent, SessionRow, create_schema, make_engine
from console.settings import Settings, SettingsError, load_settings

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


class AccountError(Exception):
    """A refused account operation; the message is shown to the operator."""


def create_agent(session: Session, username: str, display_name: str, role: str, teams: List[str], password: str) -> Agent:
    """Add an active account (the caller commits)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(username=username, display_name=display_name, role=role, teams=",".join(teams),
                  password_hash=hash_password(password), active=True, created_at=time.time())
    session.add(agent)
    session.flush()
    return agent


def end_sessions(session: Session, agent_id: int) -> int:
    """Delete every session of the agent (the caller commits); returns how many there were."""
    result = session.execute(sa.delete(SessionRow).where(SessionRow.agent_id == agent_id))
    return int(result.rowcount or 0)


def _username(value: str) -> str:
    name = value.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(f"username {value!r}: use 2-64 characters a-z, 0-9, '.', '_' or '-', "
                           "starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password must have at most {MAX_PASSWORD} characters")
    if password != password.strip():
        raise AccountError("the password must not start or end with spaces")
    return password


def read_password(stdin: TextIO, prompt: Callable[[str], str] = getpass.getpass) -> str:
    """From a prompt (twice) on a terminal, else the first line of standard input."""
    if stdin.isatty():
        first = prompt("Password: ")
        if prompt("Password (again): ") != first:
            raise AccountError("the two passwords differ")
        return check_password(first)
    line = stdin.readline()
    if not line:
        raise AccountError("no password on standard input (pipe it in, one line)")
    return check_password(line.rstrip("\r\n"))


def _teams(value: str, settings: Settings) -> List[str]:
    teams = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in teams if t not in settings.teams]
    if unknown:
        raise AccountError(f"unknown team(s) {', '.join(unknown)}; teams are {', '.join(settings.teams)}")
    return teams


def _agent(session: Session, username: str) -> Agent:
    agent = session.scalars(sa.select(Agent).where(Agent.username == _username(username))).first()
    if agent is None:
        raise AccountError(f"no account {username!r} (python -m console users list shows them)")
    return agent


def _iso(ts: Optional[float]) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M") if ts else "-"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m console users", description="Manage console agent accounts.")
    sub = top.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create an account (password from a prompt or stdin)")
    create.add_argument("username")
    create.add_argument("--display-name", required=True, help="the name customers and colleagues see")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--teams", default="", help="comma-separated team ids (console/config.yml)")
    sub.add_parser("set-password", help="set a new password; ends the account's sessions").add_argument("username")
    sub.add_parser("deactivate", help="block logins and end the account's sessions").add_argument("username")
    sub.add_parser("activate", help="allow logins again").add_argument("username")
    update = sub.add_parser("update", help="change the role, teams, display name or capacity of an account")
    update.add_argument("username")
    update.add_argument("--role", choices=ROLES)
    update.add_argument("--teams", help="comma-separated team ids (replaces the account's teams)")
    update.add_argument("--display-name")
    update.add_argument("--capacity", help="open tickets the assigner gives the agent at most (0-50), or 'default'")
    sub.add_parser("list", help="list the accounts")
    return top


def cli_actor() -> Any:
    """``cli:<os user>``: who changed what from a shell (the admin audit log)."""
    from console.admin.service import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}", "cli")


def admin_service(engine: sa.Engine, settings: Settings) -> Any:
    """The administration service over ``engine`` (its teams and canned responses read, seeded once if empty)."""
    from console.admin.directory import Directory
    from console.admin.service import AdminService
    from console.settings import load_canned

    sessions = sessionmaker(engine, expire_on_commit=False)
    directory = Directory(sessions, settings.config, load_canned)
    directory.load()
    return AdminService(sessions, directory, settings.config)


def run(argv: Sequence[str], settings: Settings, stdin: TextIO, stdout: TextIO,
        prompt: Callable[[str], str] = getpass.getpass) -> int:
    from console.admin.service import AdminError

    args = parser().parse_args(list(argv))
    engine = make_engine(settings.db_url)
    try:
        create_schema(engine)
        admin = admin_service(engine, settings)
        actor = cli_actor()
        with sessionmaker(engine)() as session:
            if args.command == "list":
                rows = list(session.scalars(sa.select(Agent).order_by(Agent.username)))
                stdout.write(f"{'username':<20} {'name':<16} {'role':<11} {'active':<7} {'last seen (UTC)':<17} teams\n")
                for a in rows:
                    stdout.write(f"{a.username:<20} {a.display_name:<16} {a.role:<11} {'yes' if a.active else 'no':<7} "
                                 f"{_iso(a.last_seen_at):<17} {a.teams}\n")
                return 0
            if args.command == "create":
                username = _username(args.username)
                display = args.display_name.strip()
                if not display or len(display) > 64:
                    raise AccountError("--display-name must have 1-64 characters")
                teams = _teams(args.teams, settings)
                if args.role == "agent" and not teams:
                    raise AccountError("an agent needs at least one team (--teams)")
                if session.scalar(sa.select(Agent.id).where(Agent.username == username)) is not None:
                    raise AccountError(f"account {username!r} exists already (set-password changes its password)")
                password = read_password(stdin, prompt)
                admin.create_agent(actor, {"username": username, "display_name": display, "role": args.role,
                                           "teams": teams, "password": password})
                stdout.write(f"created {username} ({args.role}; teams: {', '.join(teams) or '-'})\n")
                return 0
            agent = _agent(session, args.username)
            session.rollback()  # the service changes the account in its own transaction
            if args.command == "set-password":
                ended = admin.reset_password(actor, agent.username, read_password(stdin, prompt))["sessions_ended"]
                stdout.write(f"password of {agent.username} changed; {ended} session(s) ended\n")
            elif args.command == "deactivate":
                ended = admin.update_agent(actor, agent.username, {"active": False}).get("sessions_ended", 0)
                stdout.write(f"{agent.username} deactivated; {ended} session(s) ended\n")
            elif args.command == "activate":
                admin.update_agent(actor, agent.username, {"active": True})
                stdout.write(f"{agent.username} activated\n")
            elif args.command == "update":
                change: dict = {}
                if args.role is not None:
                    change["role"] = args.role
                if args.teams is not None:
                    change["teams"] = _teams(args.teams, settings)
                if args.display_name is not None:
                    change["display_name"] = args.display_name
                if args.capacity is not None:
                    change["capacity"] = _capacity(args.capacity)
                if not change:
                    raise AccountError("nothing to change: give --role, --teams, --display-name and/or --capacity")
                done = admin.update_agent(actor, agent.username, change)
                capacity = "default" if done["capacity"] is None else done["capacity"]
                stdout.write(f"{done['username']}: {done['role']}; teams: {', '.join(done['teams']) or '-'}; "
                             f"name: {done['display_name']}; capacity: {capacity}\n")
            return 0
    except AdminError as error:
        raise AccountError(str(error)) from None
    finally:
        engine.dispose()


def _capacity(text: str) -> Any:
    """``--capacity``: ``default`` (None) or a whole number (the service checks its range)."""
    text = text.strip().lower()
    if text == "default":
        return None
    if not text.isdigit():
        raise AccountError("--capacity must be a whole number from 0 to 50, or 'default'")
    return int(text)


def run_cli(command: Callable[[Settings], int], expected: tuple = ()) -> int:
    """Run a console command-line tool: its own errors (``expected``), a bad configuration, the database away or
    Ctrl-C are one line on stderr and exit 1, never a traceback."""
    try:
        return command(load_settings())
    except expected as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except SettingsError as error:
        sys.stderr.write(f"error: console configuration: {error}\n")
        return 1
    except sa.exc.SQLAlchemyError as error:
        sys.stderr.write(f"error: the console database is unavailable ({type(error).__name__})\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("cancelled\n")
        return 1


def main(argv: Sequence[str]) -> int:
    return run_cli(lambda settings: run(argv, settings, sys.stdin, sys.stdout), (AccountError,))
