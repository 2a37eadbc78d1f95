"""The commands of Kefu's processes, shared by ``make run`` and the test stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping

from kernel.settings import DEFAULTS, ROOT


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: List[str]
    health_url: str


def specs(env: Mapping[str, str], root: Path = ROOT) -> Dict[str, ProcessSpec]:
    host = env["KEFU_HOST"]
    rasa_port = env["KEFU_RASA_PORT"]
    action_port = env["KEFU_ACTION_PORT"]
    return {
        "actions": ProcessSpec(
            "actions",
            [str(root / ".venv/bin/python"), "-m", "actions.server", "--actions", "actions",
             "--port", action_port],
            f"http://{host}:{action_port}/health",
        ),
        "rasa": ProcessSpec(
            "rasa",
            [str(root / ".venv-rasa/bin/python"), "-m", "bot.server", "run", "--model", env["KEFU_MODEL"],
             "--enable-api", "--auth-token", env["KEFU_RASA_TOKEN"],
             "--interface", host, "--port", rasa_port,
             "--endpoints", env.get("KEFU_ENDPOINTS", "endpoints.yml"),
             "--credentials", env.get("KEFU_CREDENTIALS", "credentials.yml"),
             "--cors", "*"],
            f"http://{host}:{rasa_port}/",
        ),
        "notifier": ProcessSpec(
            "notifier",
            [str(root / ".venv/bin/python"), "-m", "actions.notifier"],
            f"http://{host}:{env.get('KEFU_NOTIFIER_PORT') or DEFAULTS['KEFU_NOTIFIER_PORT']}/health",
        ),
        "console": ProcessSpec(
            "console",
            [str(root / ".venv/bin/python"), "-m", "console"],
            f"http://{host}:{env['KEFU_CONSOLE_PORT']}/health",
        ),
    }


#: What ``make run`` and the test stacks are: the embedded demo on one machine. ``KEFU_DEMO=true``
#: lets the processes start with the public development secrets of kernel/settings.py
#: (kernel/secrets.py); ``KEFU_CONSOLE_DEMO_ACCOUNTS=true`` seeds the console's public demo logins.
#: docker-compose and Kubernetes set neither: there, weak secrets stop the processes.
DEMO_ENV: Dict[str, str] = {
    "KEFU_DEMO": "true",
    "KEFU_CONSOLE_DEMO_ACCOUNTS": "true",
}


def process_env(env: Mapping[str, str], root: Path = ROOT) -> Dict[str, str]:
    """Environment for a child process: the project on PYTHONPATH, no telemetry, the embedded demo
    (:data:`DEMO_ENV`, unless the environment says otherwise)."""
    out = dict(env)
    for key, value in DEMO_ENV.items():
        if not out.get(key):
            out[key] = value
    out["PYTHONPATH"] = str(root) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    out.setdefault("RASA_TELEMETRY_ENABLED", "false")
    out.setdefault("PYTHONUNBUFFERED", "1")
    return out
