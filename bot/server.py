"""Kefu's Rasa server: ``python -m bot.server run [rasa run options]``.

The same as ``rasa run``, with Kefu's runtime behaviour installed first
(:mod:`bot.action_failures`: an unreachable action server gets the customer an apology and the
offer of a person instead of silence).
"""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    from bot import action_failures

    action_failures.install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
