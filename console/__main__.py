"""``python -m console``: run the handoff console (one process: the events tail and SSE hub live in it).

``python -m console accounts`` prints the demo logins when ``KEFU_CONSOLE_DEMO_ACCOUNTS`` is on (what
``make run``'s banner shows; the launcher runs this command, it imports nothing of the console);
``python -m console users ...`` manages agent accounts (console/accounts.py); ``python -m console teams|canned|escalation|audit
...`` the teams, canned responses, escalation words and the admin audit log (console/admin/cli.py);
``python -m console privacy ...`` runs the retention job and access and erasure requests (docs/privacy.md).
"""

from __future__ import annotations

import logging
import sys

USAGE = """usage: python -m console [accounts | users ... | teams ... | canned ... | escalation ... | audit | privacy ...]
       (installed: kefu-console)

  (no command)   serve the handoff console (settings from the environment, docs/console.md)
  accounts       print the demo logins when KEFU_CONSOLE_DEMO_ACCOUNTS is on
  users ...      manage agent accounts (kefu-console users --help)
  teams ...      teams, their categories and staffed hours (kefu-console teams --help)
  canned ...     canned responses (kefu-console canned --help)
  escalation ... the escalation keywords and complaint evidence (kefu-console escalation --help)
  audit          the admin audit log, newest first
  privacy ...    retention job, access and erasure requests (docs/privacy.md)"""


def demo_accounts() -> int:
    """The demo logins, one line each, or why there are none."""
    from console.demo import DemoDataError, load_demo_accounts
    from console.settings import demo_accounts_enabled

    if not demo_accounts_enabled():
        print("  none: KEFU_CONSOLE_DEMO_ACCOUNTS is off (python -m console users create ... makes accounts)")
        return 0
    try:
        accounts = load_demo_accounts()
    except DemoDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(account.line() for account in accounts))
    return 0


def serve() -> int:
    from console.app import create_app
    from console.settings import load_settings
    from kernel.logs import adopt_loggers, configure
    from kernel.secrets import enforce as enforce_secrets

    enforce_secrets("console")  # placeholder or weak secrets: refuse to start (docs/security.md)
    configure(level=logging.INFO, service="console")  # KEFU_LOG_FORMAT: text (default) or json; masked
    settings = load_settings()
    app = create_app(settings)
    adopt_loggers()  # Sanic's own lines through the same (masked, KEFU_LOG_FORMAT) handler, once
    app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
    return 0


def main() -> int:
    if sys.argv[1:2] == ["accounts"]:  # the demo logins, for `make run`'s banner
        return demo_accounts()
    if sys.argv[1:2] == ["privacy"]:  # retention, access and erasure (console/privacy/cli.py, docs/privacy.md)
        from console.privacy.cli import main as privacy_main

        return privacy_main(sys.argv[2:])
    if sys.argv[1:2] == ["users"]:  # account management (console/accounts.py)
        from console.accounts import main as users_main

        return users_main(sys.argv[2:])
    if sys.argv[1:2] in (["teams"], ["canned"], ["escalation"], ["audit"]):  # administration (console/admin/cli.py)
        from console.admin.cli import main as admin_main

        return admin_main(sys.argv[1:])
    if sys.argv[1:2] in (["-h"], ["--help"], ["help"]):
        print(USAGE)
        return 0
    if sys.argv[1:]:
        print(f"unknown command {sys.argv[1]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    return serve()


if __name__ == "__main__":
    sys.exit(main())
