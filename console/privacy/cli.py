"""``python -m console privacy``: the retention job and a customer's access and erasure requests.

    python -m console privacy retain [--dry-run]
    python -m console privacy export (--customer ID | --conversation ID) [--output FILE]
    python -m console privacy erase  (--customer ID | --conversation ID) [--dry-run]
    python -m console privacy audit  [--limit N]
    python -m console privacy policy

Exit status: 0 done, 1 nothing found or the job was skipped, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import List, Optional

from console.privacy.policy import PolicyError, load_policy
from console.privacy.service import NotFound, Privacy
from console.privacy.subjects import SubjectError, parse_subject


def build_privacy() -> Privacy:
    from console.models import create_schema, make_engine
    from console.privacy.stores import Locations
    from console.settings import load_settings

    settings = load_settings()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    return Privacy(engine, Locations.from_env(settings.db_url, settings.events_db_url), load_policy())


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m console privacy",
                                     description="Retention, access and erasure of personal data (docs/privacy.md)")
    sub = parser.add_subparsers(dest="command", required=True)
    retain = sub.add_parser("retain", help="delete or anonymise what the retention policy says is due")
    retain.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")
    for name, text in (("export", "everything about one customer or conversation, as JSON"),
                       ("erase", "delete or anonymise one customer's or conversation's data")):
        command = sub.add_parser(name, help=text)
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--customer", help="a customer id (all their conversations)")
        who.add_argument("--conversation", help="one conversation id, e.g. wechat:<openid> or web:<session id>")
        if name == "export":
            command.add_argument("--output", type=Path, help="write the JSON here instead of standard output")
        else:
            command.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    audit = sub.add_parser("audit", help="the latest exports, erasures and retention runs")
    audit.add_argument("--limit", type=int, default=50)
    sub.add_parser("policy", help="the retention policy in force")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "policy":
            print(json.dumps(load_policy().to_dict(), indent=2))
            return 0
        privacy = build_privacy()
    except PolicyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "retain":
            result = privacy.retain(_actor(), dry_run=args.dry_run)
            if not result.ran:
                print(f"skipped: {result.reason}", file=sys.stderr)
                return 1
            print(json.dumps({"dry_run": args.dry_run, "rows": result.report}, indent=2, sort_keys=True))
            return 0
        if args.command == "audit":
            print(json.dumps(privacy.audit_log(max(1, min(args.limit, 1000))), indent=2, ensure_ascii=False))
            return 0
        subject = parse_subject(args.customer, args.conversation)
        if args.command == "export":
            text = json.dumps(privacy.export(subject, _actor()), indent=2, ensure_ascii=False, default=str)
            if args.output:
                args.output.write_text(text + "\n", encoding="utf-8")
                args.output.chmod(0o600)
                print(f"written to {args.output}")
            else:
                print(text)
            return 0
        print(json.dumps(privacy.erase(subject, _actor(), dry_run=args.dry_run), indent=2, ensure_ascii=False))
        return 0
    except SubjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NotFound as error:
        print(f"not found: {error}", file=sys.stderr)
        return 1
    finally:
        privacy.engine.dispose()
