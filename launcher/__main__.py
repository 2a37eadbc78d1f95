"""``python -m launcher``: run Kefu's processes until Ctrl-C, then stop them all.

``make run`` prepares everything first (environments, model, databases) and
then calls this. ``python -m launcher env`` prints the settings as shell
exports, for running one process by hand.
"""

from __future__ import annotations

import shlex
import sys

from honcho.manager import Manager

from launcher.processes import process_env, specs
from launcher.settings import ROOT, resolve


def banner(env: dict) -> str:
    host = env["KEFU_HOST"]
    return "\n".join(
        [
            "",
            "Kefu is starting:",
            f"  Rasa server    http://{host}:{env['KEFU_RASA_PORT']}  (REST: /webhooks/rest/webhook, socket.io: /socket.io)",
            f"  Action server  http://{host}:{env['KEFU_ACTION_PORT']}",
            f"  Rasa HTTP API token: in var/rasa_token (or KEFU_RASA_TOKEN)",
            "  Try: curl -s -XPOST localhost:%s/webhooks/rest/webhook -d '{\"sender\":\"me\",\"message\":\"你好\"}'"
            % env["KEFU_RASA_PORT"],
            "Press Ctrl-C to stop everything.",
            "",
        ]
    )


def main(argv: list) -> int:
    env = resolve()
    if argv[:1] == ["env"]:
        for key in sorted(k for k in env if k.startswith("KEFU_")):
            print(f"export {key}={shlex.quote(env[key])}")
        return 0
    child_env = process_env(env)
    manager = Manager()
    for spec in specs(env).values():
        manager.add_process(spec.name, shlex.join(spec.argv), cwd=str(ROOT), env=child_env)
    print(banner(env), flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
