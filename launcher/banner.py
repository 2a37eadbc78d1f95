"""What ``make run`` prints once its processes are starting: the URLs and the demo logins.

The demo logins are the console's data (console/demo/accounts.yml); the launcher asks the console for them by
running ``python -m console accounts`` with the console's own command and environment, so it imports nothing
of the console.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List, Mapping, Sequence

from kernel.settings import ROOT

ACCOUNTS_TIMEOUT = 60


def demo_logins(console_argv: Sequence[str], env: Mapping[str, str], root: Path = ROOT) -> List[str]:
    """The lines of ``python -m console accounts`` (``console_argv`` runs the console), or why they are missing."""
    try:
        done = subprocess.run([*console_argv, "accounts"], cwd=str(root), env=dict(env), capture_output=True,
                              text=True, timeout=ACCOUNTS_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as error:
        return [f"  unavailable ({type(error).__name__}); run: python -m console accounts"]
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return [f"  unavailable ({reason[:300]}); run: python -m console accounts"]
    return [line for line in done.stdout.splitlines() if line.strip()]


def banner(env: Mapping[str, str], logins: Sequence[str]) -> str:
    host = env["KEFU_HOST"]
    console = env["KEFU_CONSOLE_URL"]
    rest = f"http://{host}:{env['KEFU_RASA_PORT']}/webhooks/rest/webhook"
    lines = [
        "",
        "Kefu is starting:",
        f"  Demo shop with the chat widget  {console}/demo",
        f"  Agent console                   {console}/console   (supervisor dashboard: {console}/dashboard)",
        f"  Rasa server                     http://{host}:{env['KEFU_RASA_PORT']}  (REST, socket.io, HTTP API)",
        f"  Action server                   http://{host}:{env['KEFU_ACTION_PORT']}",
        f"  WeChat / WeCom webhooks         http://{host}:{env['KEFU_RASA_PORT']}/webhooks/wechat/webhook, /webhooks/wecom/webhook",
        "  Rasa HTTP API token: KEFU_RASA_TOKEN, else var/rasa_token",
        f"""  Try: curl -s {rest} -d '{{"sender":"me","message":"你好"}}'""",
        "Demo console accounts:",
        *logins,
        "Press Ctrl-C to stop everything.",
        "",
    ]
    return "\n".join(lines)
