"""``python -m launcher``: run Kefu's processes until Ctrl-C, then stop them all.

``make run`` prepares everything first (environments, model, databases) and
then calls this. ``python -m launcher env`` prints the settings as shell
exports, for running one process by hand.
"""

from __future__ import annotations

import shlex
import sys

from honcho.manager import Manager

from console.seed import demo_account_lines
from console.settings import load_config
from kernel.secrets import enforce
from launcher.processes import process_env, specs
from launcher.settings import ROOT, resolve


def banner(env: dict) -> str:
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
        *demo_account_lines(load_config().get("demo_accounts") or []),
        "Press Ctrl-C to stop everything.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list) -> int:
    env = resolve()
    if argv[:1] == ["env"]:
        for key in sorted(k for k in env if k.startswith("KEFU_")):
            print(f"export {key}={shlex.quote(env[key])}")
        return 0
    child_env = process_env(env)
    processes = specs(env)
    # KEFU_DEMO=false (set by hand) makes `make run` refuse the public development secrets up front
    enforce("launcher", processes["rasa"].argv[3:], child_env, ROOT)
    manager = Manager()
    for spec in processes.values():
        manager.add_process(spec.name, shlex.join(spec.argv), cwd=str(ROOT), env=child_env)
    print(banner(env), flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
