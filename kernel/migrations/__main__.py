"""``kefu-migrate`` (``python -m kernel.migrations``): upgrade, inspect or stamp the stores' databases.

    kefu-migrate upgrade [--store NAME]       every store (or one) to the code's head revision
    kefu-migrate status  [--store NAME]       where each database is; exit 3 when one is not at head
    kefu-migrate stamp   [--store NAME] [REV] record REV (default head) without running anything

The database URLs are the services' own settings (``KEFU_CONSOLE_DB_URL``, ``KEFU_STORE_DB_URL``,
``KEFU_APP_DB_URL``, ``KEFU_VERIFY_DB_URL``...; docs/configuration.md). Exit 1 with a message for a database that
is unreachable, ahead of the code or holds tables that are not Kefu's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

import sqlalchemy as sa

from kernel.migrations.core import MigrationError, stamp, status, upgrade
from kernel.migrations.stores import STORES

BEHIND = 3


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        return sa.create_engine(url, connect_args={"timeout": 30})
    if url.startswith("postgres"):
        return sa.create_engine(url, connect_args={"connect_timeout": 5})
    return sa.create_engine(url)


def _sqlite_missing(url: str) -> bool:
    parsed = sa.engine.make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).exists()


def _stores(name: Optional[str]) -> List[str]:
    return [name] if name else list(STORES)


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    env = dict(os.environ if environ is None else environ)
    parser = argparse.ArgumentParser(prog="kefu-migrate", description="Schema migrations of Kefu's stores.")
    commands = parser.add_subparsers(dest="command", required=True)
    for command, text in (
        ("upgrade", "migrate to the head revision"),
        ("status", "show each database's revision"),
        ("stamp", "record a revision without running it"),
    ):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("--store", choices=sorted(STORES), help="one store (default: all)")
        if command == "stamp":
            sub.add_argument("revision", nargs="?", default="head")
    args = parser.parse_args(argv)
    failed = behind = False
    for name in _stores(args.store):
        url = STORES[name].url(env)
        if url is None:
            print(f"{name}: not kept in SQL by this configuration; skipped")
            continue
        try:
            if args.command == "status" and _sqlite_missing(url):
                print(f"{name}: empty (no database file yet: {url}); needs upgrade")
                behind = True
                continue
            engine = make_engine(url)
            try:
                if args.command == "upgrade":
                    before, target = upgrade(engine, name)
                    where = ", ".join(before) or "nothing"
                    done = "already at head" if before == (target,) else f"upgraded from {where}"
                    print(f"{name}: {done}; at {target} ({engine.url.render_as_string(hide_password=True)})")
                elif args.command == "status":
                    state = status(engine, name)
                    current = ", ".join(state.current) or "-"
                    print(f"{name}: {state.state}; revision {current}, head {state.head} ({state.url})")
                    behind = behind or state.state != "at head"
                else:
                    revision = stamp(engine, name, args.revision)
                    print(f"{name}: stamped {revision}")
            finally:
                engine.dispose()
        except MigrationError as error:
            print(f"{name}: ERROR: {error}", file=sys.stderr)
            failed = True
        except sa.exc.SQLAlchemyError as error:
            print(f"{name}: ERROR: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
            failed = True
    if failed:
        return 1
    return BEHIND if behind else 0


if __name__ == "__main__":
    sys.exit(main())
