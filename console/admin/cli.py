"""``python -m console teams|canned|escalation ...``: the console's teams, canned responses and escalation word
lists from a shell, through the same checked, audited service as the admin page (actor ``cli:<os user>``).

    python -m console teams list
    python -m console teams create wholesale --name-zh-hans 批发 --name-en Wholesale --categories wholesale \\
        --hours "mon-fri=09:00-18:00;sat=10:00-16:00"
    python -m console teams update wholesale --categories wholesale,presales --hours shop
    python -m console teams deactivate wholesale        # refused while it has open tickets or categories
    python -m console teams activate wholesale
    python -m console canned list
    python -m console canned create refund_eta --title-zh-hans 退款时效 --title-en "Refund time" \\
        --text-zh-hans "退款 1-3 个工作日到账。" --text-en "Refunds arrive within 1-3 working days."
    python -m console canned update refund_eta --text-en "..."
    python -m console canned delete refund_eta
    python -m console escalation list
    python -m console escalation set explicit_request.keywords 转人工 找店长 "talk to a human"
    python -m console escalation set complaint.evidence --confirm-empty     # switches the evidence words off
    python -m console escalation reset explicit_request.keywords            # actions/escalation.yml's list again
    python -m console audit [--page N] [--per-page N] [--kind agent|team|canned|escalation|ticket]

``--hours``: ``shop`` (the shop's staffed hours of console/config.yml) or ``day=HH:MM-HH:MM[,HH:MM-HH:MM];...``
with days mon..sun or a range like ``mon-fri``; a day not named is closed. ``zh-Hant`` words are generated from
``zh-Hans`` when not given. ``escalation set`` replaces the whole list (``explicit_request.keywords``,
``complaint.keywords`` or ``complaint.evidence``) with the words given; the action servers use it within
``KEFU_ESCALATION_REFRESH_SECONDS``.

Exit codes: 0 done, 1 refused (the message says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence, TextIO

from console.accounts import admin_service, cli_actor, run_cli
from console.admin.escalation import LISTS
from console.admin.service import AdminError, AdminService
from console.models import create_schema, make_engine
from console.queueing import DAYS
from console.settings import Settings


class UsageError(ValueError):
    pass


def parse_hours(text: str) -> Optional[Dict[str, List[str]]]:
    """``shop`` -> None; ``mon-fri=09:00-18:00;sat=10:00-12:00,13:00-16:00`` -> weekly spans (checked by the service)."""
    text = text.strip()
    if text.lower() == "shop":
        return None
    weekly: Dict[str, List[str]] = {day: [] for day in DAYS}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        days, _, spans = part.partition("=")
        days = days.strip().lower()
        if "-" in days:
            first, _, last = days.partition("-")
            if first not in DAYS or last not in DAYS or DAYS.index(first) > DAYS.index(last):
                raise UsageError(f"--hours: {days!r} is not a range of days like mon-fri")
            names = DAYS[DAYS.index(first):DAYS.index(last) + 1]
        elif days in DAYS:
            names = (days,)
        else:
            raise UsageError(f"--hours: unknown day {days!r}; use {', '.join(DAYS)} or a range like mon-fri")
        for day in names:
            weekly[day] = [s.strip() for s in spans.split(",") if s.strip()]
    return weekly


def _words(args: argparse.Namespace, prefix: str) -> Optional[Dict[str, str]]:
    values = {lang: getattr(args, f"{prefix}_{key}") for lang, key in
              (("zh-Hans", "zh_hans"), ("zh-Hant", "zh_hant"), ("en", "en"))}
    if all(v is None for v in values.values()):
        return None
    return {k: v for k, v in values.items() if v is not None}


def _add_words(command: argparse.ArgumentParser, prefix: str, what: str) -> None:
    for flag, lang in (("zh-hans", "Simplified Chinese"), ("zh-hant", "Traditional Chinese (default: converted)"),
                       ("en", "English")):
        command.add_argument(f"--{prefix}-{flag}", help=f"the {what} in {lang}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m console",
                                  description="Console teams, canned responses, escalation words, audit log.")
    kinds = top.add_subparsers(dest="kind", required=True)
    teams = kinds.add_parser("teams", help="the teams").add_subparsers(dest="command", required=True)
    teams.add_parser("list", help="list the teams")
    for name in ("create", "update"):
        command = teams.add_parser(name, help=f"{name} a team")
        command.add_argument("team_id")
        _add_words(command, "name", "team's name")
        command.add_argument("--categories", help="comma-separated handoff categories the team takes (moved to it)")
        command.add_argument("--hours", help="'shop' or 'mon-fri=09:00-18:00;sat=10:00-16:00'")
    teams.add_parser("deactivate", help="deactivate a team (no open tickets, no categories)").add_argument("team_id")
    teams.add_parser("activate", help="activate a team again").add_argument("team_id")
    canned = kinds.add_parser("canned", help="the canned responses").add_subparsers(dest="command", required=True)
    canned.add_parser("list", help="list the canned responses")
    for name in ("create", "update"):
        command = canned.add_parser(name, help=f"{name} a canned response")
        command.add_argument("canned_id")
        _add_words(command, "title", "title")
        _add_words(command, "text", "text")
    canned.add_parser("delete", help="delete a canned response").add_argument("canned_id")
    escalation = kinds.add_parser("escalation", help="the escalation keywords and complaint evidence words")
    lists = escalation.add_subparsers(dest="command", required=True)
    lists.add_parser("list", help="every list: the words in effect, and whether they are the YAML's")
    command = lists.add_parser("set", help="replace a list with the words given")
    command.add_argument("list_id", metavar="list", help=", ".join(LISTS))
    command.add_argument("words", nargs="*", help="the words (quote a word with spaces)")
    command.add_argument("--confirm-empty", action="store_true", help="allow no words: switches the list off")
    lists.add_parser("reset", help="the YAML's list again").add_argument("list_id", metavar="list", help=", ".join(LISTS))
    audit = kinds.add_parser("audit", help="the admin audit log, newest first")
    audit.add_argument("--page", type=int, default=1)
    audit.add_argument("--per-page", type=int, default=50)
    audit.add_argument("--kind", dest="target_kind", choices=("agent", "team", "canned", "escalation", "ticket"))
    return top


def _team_body(args: argparse.Namespace) -> Dict[str, Any]:
    body: Dict[str, Any] = {}
    names = _words(args, "name")
    if names is not None:
        body["name"] = names
    if args.categories is not None:
        body["categories"] = [c.strip() for c in args.categories.split(",") if c.strip()]
    if args.hours is not None:
        body["hours"] = parse_hours(args.hours)
    return body


def _hours_line(hours: Optional[Dict[str, List[str]]]) -> str:
    if hours is None:
        return "shop hours"
    return "; ".join(f"{d} {','.join(hours[d])}" for d in DAYS if hours.get(d)) or "never staffed"


def _run(args: argparse.Namespace, admin: AdminService, stdout: TextIO) -> int:
    actor = cli_actor()
    if args.kind == "teams":
        if args.command == "list":
            stdout.write(f"{'id':<16} {'active':<7} {'open':>4} {'agents':>6}  name (zh-Hans / en); categories; hours\n")
            for t in admin.list_teams():
                stdout.write(f"{t['id']:<16} {'yes' if t['active'] else 'no':<7} {t['open_tickets']:>4} {t['agents']:>6}  "
                             f"{t['name'].get('zh-Hans')} / {t['name'].get('en')}; {','.join(t['categories']) or '-'}; "
                             f"{_hours_line(t['hours'])}\n")
            return 0
        if args.command == "create":
            body = {"id": args.team_id, "name": _words(args, "name") or {}, **_team_body(args)}
            done = admin.create_team(actor, body)
        elif args.command == "update":
            body = _team_body(args)
            if not body:
                raise UsageError("nothing to change: give --name-*, --categories and/or --hours")
            done = admin.update_team(actor, args.team_id, body)
        else:
            done = admin.update_team(actor, args.team_id, {"active": args.command == "activate"})
        stdout.write(f"team {done['id']}: {'active' if done['active'] else 'inactive'}; categories: "
                     f"{','.join(done['categories']) or '-'}; hours: {_hours_line(done['hours'])}\n")
        return 0
    if args.kind == "canned":
        if args.command == "list":
            for c in admin.list_canned():
                stdout.write(f"{c['id']:<20} {c['title'].get('zh-Hans')} / {c['title'].get('en')}\n")
            return 0
        if args.command == "delete":
            admin.delete_canned(actor, args.canned_id)
            stdout.write(f"canned response {args.canned_id} deleted\n")
            return 0
        body = {k: v for k, v in (("title", _words(args, "title")), ("text", _words(args, "text"))) if v is not None}
        if args.command == "create":
            done = admin.create_canned(actor, {"id": args.canned_id, "title": body.get("title") or {},
                                               "text": body.get("text") or {}})
        else:
            if not body:
                raise UsageError("nothing to change: give --title-* and/or --text-*")
            current = next((c for c in admin.list_canned() if c["id"] == args.canned_id), None)
            # a partial language change keeps the other languages of the stored words
            merged = {k: {**(current or {}).get(k, {}), **v} for k, v in body.items()}
            done = admin.update_canned(actor, args.canned_id, merged)
        stdout.write(f"canned response {done['id']}: {done['title']['zh-Hans']} / {done['title']['en']}\n")
        return 0
    if args.kind == "escalation":
        return _escalation(args, admin, actor, stdout)
    if args.page < 1 or not 1 <= args.per_page <= 200:
        raise UsageError("--page must be 1 or more, --per-page 1-200")
    page = admin.audit(args.page, args.per_page, [args.target_kind] if args.target_kind else [])
    stdout.write(f"{page['total']} change(s); page {page['page']}\n")
    for item in page["items"]:
        stdout.write(f"{item['at']}  {item['actor']:<20} {item['address'] or '-':<15} {item['action']:<18} "
                     f"{item['target']['kind']} {item['target']['id']}  "
                     f"{json.dumps(item['after'], ensure_ascii=False) if item['after'] is not None else '-'}\n")
    return 0


def _words_line(words: List[str]) -> str:
    return ", ".join(words) if words else "(none: switched off)"


def _escalation(args: argparse.Namespace, admin: AdminService, actor: Any, stdout: TextIO) -> int:
    if args.command == "list":
        for item in admin.list_escalation()["lists"]:
            source = (f"saved by {item['updated_by']} at {item['updated_at']}" if item["overridden"]
                      else "actions/escalation.yml")
            stdout.write(f"{item['id']} ({len(item['words'])} words; {source}):\n  {_words_line(item['words'])}\n")
        return 0
    trigger, _, name = args.list_id.partition(".")
    if args.command == "reset":
        done = admin.reset_escalation_words(actor, trigger, name)
        stdout.write(f"{done['id']}: actions/escalation.yml's list ({len(done['words'])} words)\n")
        return 0
    done = admin.set_escalation_words(actor, trigger, name, {"words": list(args.words),
                                                             "confirm_empty": bool(args.confirm_empty)})
    stdout.write(f"{done['id']}: {len(done['words'])} words saved: {_words_line(done['words'])}\n")
    return 0


def run(argv: Sequence[str], settings: Settings, stdout: TextIO) -> int:
    args = parser().parse_args(list(argv))
    engine = make_engine(settings.db_url)
    try:
        create_schema(engine)
        return _run(args, admin_service(engine, settings), stdout)
    finally:
        engine.dispose()


def main(argv: Sequence[str]) -> int:
    return run_cli(lambda settings: run(argv, settings, sys.stdout), (AdminError, UsageError))
