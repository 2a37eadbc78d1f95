"""Kefu's Rasa server: ``python -m bot.server run [rasa run options]``.

The same as ``rasa run``, with Kefu's runtime behaviour installed first
(:mod:`bot.action_failures`: an unreachable action server gets the customer an apology and the
offer of a person instead of silence; :mod:`bot.store_failures`: a tracker store that fails makes
the turn fail instead of silently falling back to process memory; :mod:`bot.never_silent`: no
customer message is left without an answer; :mod:`bot.waiting`: a customer waiting for a person still gets
an answer or an acknowledgement until an agent joins; :mod:`bot.turn_router`: an order number is an order lookup
whatever NLU read, and follow-ups and language requests are read with the conversation around them;
:mod:`bot.control_commands`: customers on public
channels cannot send ``/restart`` or payloads the bot did not offer, and every text is cleaned of
NUL and control characters). ``KEFU_CHANNELS`` picks the input channels :mod:`bot.channels.selection`
opens (unset: every channel of the credentials file). With ``KEFU_LOG_FORMAT=json`` and no logging config of
its own on the command line, Rasa logs through ``bot/logging-json.yml`` (one JSON object a line,
personal data masked: :mod:`kernel.logs`).

The development commands run on the same runtime (:mod:`bot.runtime`): ``python -m bot.server shell``,
``interactive`` and ``test`` are ``rasa shell``, ``rasa interactive`` and ``rasa test`` with Kefu's runtime
installed, and the settings ``make run`` uses filled in where the environment has none
(:func:`kernel.settings.resolve`: the action server's URL, the tracker and event databases of ``endpoints.yml``)
on the embedded demo (``KEFU_DEMO=true`` unless set). ``shell`` and ``interactive`` use the trained model
``KEFU_MODEL`` when no ``--model`` is given (never an implicit training). ``make shell`` / ``make interactive``
also start the action server (``python -m launcher shell``); ``make test-stories`` runs the end-to-end stories
through ``python -m bot.server test``. With ``KEFU_RUNTIME_REPORT=<file>``, the process writes which patches were
in place (:func:`bot.runtime.state`) to that file as it exits. With ``KEFU_TURN_PROFILE=<file>`` it appends the
spans of every webhook turn to that file (:mod:`bot.turn_profile`, ``benchmarks/turn_profile.py``).
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

from bot.channels import selection as channel_selection
from kernel import secrets as secrets_check

LOGGING_CONFIG = Path(__file__).resolve().parent / "logging-json.yml"
#: Rasa commands for development, run on the production runtime with ``make run``'s settings as defaults
DEVELOPMENT_COMMANDS = ("shell", "interactive", "test")
#: commands that load a trained model and would otherwise look for the newest one in ``models/`` (``interactive``
#: without ``--model`` trains one first)
MODEL_COMMANDS = ("shell", "interactive")
RUNTIME_REPORT = "KEFU_RUNTIME_REPORT"
TURN_PROFILE = "KEFU_TURN_PROFILE"


def with_logging(args: List[str], environ: Optional[dict] = None) -> List[str]:
    """``args`` plus ``--logging-config-file`` for JSON logs when asked for and not given."""
    environ = os.environ if environ is None else environ
    if environ.get("KEFU_LOG_FORMAT", "text").lower() != "json" or "--logging-config-file" in args:
        return args
    if not args or args[0] != "run":
        return args
    return [*args, "--logging-config-file", str(LOGGING_CONFIG)]


def has_option(args: List[str], *names: str) -> bool:
    """Whether ``args`` give one of ``names`` (``--model x`` or ``--model=x``)."""
    return any(arg in names or arg.split("=", 1)[0] in names for arg in args)


def development_args(args: List[str], environ: dict) -> List[str]:
    """``args`` of a development command with the trained model of ``make run`` when none is named."""
    if not args or args[0] not in MODEL_COMMANDS or has_option(args, "--model", "-m"):
        return args
    if len(args) > 1 and args[1] in ("core", "nlu") or has_option(args, "-h", "--help"):
        return args  # `rasa shell nlu`, `rasa interactive core` take their own model argument
    return [*args, "--model", environ.get("KEFU_MODEL") or "models/kefu.tar.gz"]


def development_environment(environ: dict) -> None:
    """Fill in what ``make run`` sets (in place, never overriding a value that is set)."""
    from kernel.settings import resolve

    for key, value in resolve(environ).items():
        environ.setdefault(key, value)
    environ.setdefault("KEFU_DEMO", "true")  # a developer's machine, like `make run` (launcher/processes.py)
    environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


def write_runtime_report(path: str) -> None:
    from bot import runtime

    Path(path).write_text(json.dumps(runtime.state(), indent=1, sort_keys=True), encoding="utf-8")


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "run":
        # KEFU_CHANNELS: only the enabled channels' credentials; a missing setting names itself (exit 78)
        args = channel_selection.apply(args)
    if args and args[0] in DEVELOPMENT_COMMANDS:
        development_environment(os.environ)  # type: ignore[arg-type]
        args = development_args(args, dict(os.environ))
    secrets_check.enforce("rasa", args)  # weak secrets: refuse (docs/security.md)
    from bot import runtime

    runtime.install()  # docs/architecture.md "Kefu's runtime in Rasa"
    profile = os.environ.get(TURN_PROFILE)
    if profile:  # opt-in spans of every turn (benchmarks/turn_profile.py); nothing is wrapped otherwise
        from bot import turn_profile

        turn_profile.install(profile)
    report = os.environ.get(RUNTIME_REPORT)
    if report:
        atexit.register(write_runtime_report, report)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *with_logging(args)]
    rasa_main()


if __name__ == "__main__":
    main()
