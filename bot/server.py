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
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

from bot.channels import selection as channel_selection
from kernel import secrets as secrets_check

LOGGING_CONFIG = Path(__file__).resolve().parent / "logging-json.yml"


def with_logging(args: List[str], environ: Optional[dict] = None) -> List[str]:
    """``args`` plus ``--logging-config-file`` for JSON logs when asked for and not given."""
    environ = os.environ if environ is None else environ
    if environ.get("KEFU_LOG_FORMAT", "text").lower() != "json" or "--logging-config-file" in args:
        return args
    if not args or args[0] != "run":
        return args
    return [*args, "--logging-config-file", str(LOGGING_CONFIG)]


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "run":
        # KEFU_CHANNELS: only the enabled channels' credentials; a missing setting names itself (exit 78)
        args = channel_selection.apply(args)
    secrets_check.enforce("rasa", args)  # weak secrets: refuse (docs/security.md)
    from bot import action_failures, control_commands, never_silent, store_failures, turn_router, waiting

    action_failures.install()
    store_failures.install()
    never_silent.install()
    waiting.install()
    turn_router.install()  # after waiting: a paused conversation is never routed
    control_commands.install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *with_logging(args)]
    rasa_main()


if __name__ == "__main__":
    main()
