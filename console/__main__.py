"""``python -m console``: run the handoff console (one process: the events tail and SSE hub live in it).

``python -m console accounts`` prints the demo logins; ``python -m console users ...`` manages agent
accounts (console/accounts.py).
"""

from __future__ import annotations

import logging
import sys

from bot.logging_json import adopt_loggers, configure
from console.app import create_app
from console.settings import load_settings
from kernel.secrets import enforce as enforce_secrets


def main() -> int:
    if sys.argv[1:2] == ["accounts"]:  # the demo logins, for `make run`'s banner
        from console.seed import demo_account_lines
        from console.settings import load_config

        print("\n".join(demo_account_lines(load_config().get("demo_accounts") or [])))
        return 0
    if sys.argv[1:2] == ["users"]:  # account management (console/accounts.py)
        from console.accounts import main as users_main

        return users_main(sys.argv[2:])
    enforce_secrets("console")  # placeholder or weak secrets: refuse to start (docs/security.md)
    configure(level=logging.INFO, service="console")  # KEFU_LOG_FORMAT: text (default) or json; masked
    settings = load_settings()
    app = create_app(settings)
    adopt_loggers()  # Sanic's own lines through the same (masked, KEFU_LOG_FORMAT) handler, once
    app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
