"""``python -m launcher``: run Kefu's processes until Ctrl-C, then stop them all.

``make run`` prepares everything first (environments, model, databases) and
then calls this. ``python -m launcher env`` prints the settings as shell
exports, for running one process by hand. ``python -m launcher shell|interactive`` is ``make shell`` /
``make interactive`` (:mod:`launcher.develop`). The launcher starts processes and
imports none of them (the demo logins come from ``python -m console accounts``).
"""

from __future__ import annotations

import shlex
import sys

from honcho.manager import Manager

from kernel.secrets import enforce, rasa_config_variables
from kernel.settings import ROOT, resolve
from launcher import develop
from launcher.banner import banner, demo_logins
from launcher.processes import process_env, specs


def main(argv: list) -> int:
    if argv[:1] and argv[0] in develop.COMMANDS:  # make shell, make interactive
        return develop.main(argv[0], argv[1:])
    env = resolve()
    if argv[:1] == ["env"]:
        # Kefu's settings and what Rasa's endpoints.yml and credentials.yml read: enough for a plain `rasa shell`
        referenced = rasa_config_variables([], ROOT)
        for key in sorted(k for k in env if k.startswith("KEFU_") or k in referenced):
            print(f"export {key}={shlex.quote(env[key])}")
        return 0
    child_env = process_env(env)
    processes = specs(env)
    # KEFU_DEMO=false (set by hand) makes `make run` refuse the public development secrets up front
    enforce("launcher", processes["rasa"].argv[3:], child_env, ROOT)
    logins = demo_logins(processes["console"].argv, child_env)
    manager = Manager()
    for spec in processes.values():
        manager.add_process(spec.name, shlex.join(spec.argv), cwd=str(ROOT), env=child_env)
    print(banner(env, logins), flush=True)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
