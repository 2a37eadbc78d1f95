"""Attack: a deployment started with a published secret (issue 20, "Secrets").

Whoever reads Kefu's repository knows ``change-me-rasa-api-token``, ``kefu-dev-token`` and the
development EncodingAESKey: a server that starts with one of them lets a stranger forge WeChat
signatures, decrypt WeChat traffic or use Rasa's HTTP API. Each real process (the console, the
action server, the Rasa server, the launcher), started as production starts it (no ``KEFU_DEMO``)
with such a secret, must exit with status 78 and a message that names the variable and never shows
the value; with real secrets, or as the embedded demo (``KEFU_DEMO=true``), it starts.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import pytest

from kernel.settings import DEFAULTS, ROOT, resolve
from launcher.processes import process_env, specs
from tests.harness import Command, HttpReady, ProcessExited, ProcessNotReady, ServerProcess, environ_without, free_port
from tests.stack import MODEL, model_missing_reason

STRONG_AES = "Zq" + secrets.token_hex(20) + "x"  # 43 letters and digits
assert len(STRONG_AES) == 43

#: How long a process may take to either refuse or serve (a start under load, not a timing check).
DECISION_TIMEOUT = 300.0


def _environment(workdir: Path, **overrides: str) -> Dict[str, str]:
    """The environment ``make run`` gives its processes, then real secrets, then ``overrides``;
    ``KEFU_DEMO`` removed unless an override sets it (production never sets it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    base = environ_without()
    base.update({
        "KEFU_HOST": "127.0.0.1",
        "KEFU_RASA_PORT": str(free_port()),
        "KEFU_ACTION_PORT": str(free_port()),
        "KEFU_CONSOLE_PORT": str(free_port()),
        "KEFU_NOTIFIER_PORT": str(free_port()),
        "KEFU_VAR_DIR": str(workdir),
        "KEFU_TRACKER_DB": str(workdir / "tracker.db"),
        "KEFU_EVENTS_DB": str(workdir / "events.db"),
        "KEFU_CONSOLE_DB_URL": f"sqlite:///{workdir / 'console.db'}",
        "KEFU_APP_DB_URL": f"sqlite:///{workdir / 'app.db'}",
        "KEFU_MODEL": str(MODEL),
        # real secrets: random, long, not published anywhere
        "KEFU_RASA_TOKEN": secrets.token_hex(24),
        "KEFU_CONSOLE_SERVICE_TOKEN": secrets.token_hex(24),
        "KEFU_CONSOLE_SECRET": secrets.token_hex(24),
        "KEFU_WEB_TOKEN_SECRET": secrets.token_hex(24),
        "KEFU_SESSION_SECRET": secrets.token_hex(24),
        "WECHAT_TOKEN": secrets.token_hex(12),
        "WECHAT_APPSECRET": secrets.token_hex(16),
        "WECHAT_AES_KEY": STRONG_AES,
        "WECOM_SECRET": secrets.token_hex(20),
        "WECOM_TOKEN": secrets.token_hex(12),
        "WECOM_AES_KEY": STRONG_AES[::-1],
        "KEFU_CONSOLE_DEMO_ACCOUNTS": "false",
    })
    env = process_env(resolve(base))
    env.pop("KEFU_DEMO", None)
    env.update(overrides)
    return env


def _argv(name: str, env: Mapping[str, str]) -> List[str]:
    return specs(env)[name].argv


def _run_until_decided(argv: List[str], env: Mapping[str, str], health_url: str,
                       log: Path) -> Tuple[Optional[int], str]:
    """Start the process; return (exit status, output) once it exited, or (None, output) once it
    serves ``health_url``. The process is stopped before returning."""
    log.unlink(missing_ok=True)
    process = ServerProcess.start(Command(argv[2], argv, env, HttpReady(health_url), cwd=ROOT), log)
    status: Optional[int] = None
    try:
        process.wait_ready(DECISION_TIMEOUT)
    except ProcessExited as exited:
        status = exited.returncode
    except ProcessNotReady as undecided:
        pytest.fail(f"neither refused nor served: {undecided}")
    finally:
        process.stop()
    return status, log.read_text(encoding="utf-8", errors="replace")


def _assert_refused(status: Optional[int], output: str, variables: List[str], values: List[str]) -> None:
    assert status is not None, f"started and served with a published secret ({variables}):\n{output[-2000:]}"
    assert status == 78, f"exit status {status}, expected 78 (refused secrets):\n{output[-2000:]}"
    assert "refusing to start" in output, output[-2000:]
    for variable in variables:
        assert variable in output, f"{variable} is not named:\n{output}"
    for value in values:
        assert value not in output, "the message shows the secret itself"
    assert "KEFU_DEMO=true" in output  # the way out for a laptop demo is named


# -- the console -----------------------------------------------------------------------------------


def test_console_refuses_a_short_secret_and_a_placeholder_token(tmp_path: Path) -> None:
    env = _environment(tmp_path, KEFU_CONSOLE_SECRET="s3cret-k3y", KEFU_RASA_TOKEN="change-me-rasa-api-token")
    status, output = _run_until_decided(_argv("console", env), env, specs(env)["console"].health_url,
                                        tmp_path / "console.log")
    _assert_refused(status, output, ["KEFU_CONSOLE_SECRET", "KEFU_RASA_TOKEN"],
                    ["s3cret-k3y", "change-me-rasa-api-token"])
    assert "shorter than 16 characters" in output


def test_console_starts_with_real_secrets(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    status, output = _run_until_decided(_argv("console", env), env, specs(env)["console"].health_url,
                                        tmp_path / "console.log")
    assert status is None, output[-3000:]
    assert "refusing to start" not in output


# -- the action server -----------------------------------------------------------------------------


def test_action_server_refuses_the_example_service_token(tmp_path: Path) -> None:
    env = _environment(tmp_path, KEFU_CONSOLE_SERVICE_TOKEN="EXAMPLE-change-me-console-service-token",
                       KEFU_WEB_TOKEN_SECRET="short")
    status, output = _run_until_decided(_argv("actions", env), env, specs(env)["actions"].health_url,
                                        tmp_path / "actions.log")
    _assert_refused(status, output, ["KEFU_CONSOLE_SERVICE_TOKEN", "KEFU_WEB_TOKEN_SECRET"],
                    ["EXAMPLE-change-me-console-service-token"])


def test_action_server_starts_as_the_demo_with_the_same_secrets(tmp_path: Path) -> None:
    env = _environment(tmp_path, KEFU_CONSOLE_SERVICE_TOKEN="EXAMPLE-change-me-console-service-token",
                       KEFU_DEMO="true")
    status, output = _run_until_decided(_argv("actions", env), env, specs(env)["actions"].health_url,
                                        tmp_path / "actions.log")
    assert status is None, output[-3000:]
    assert "public development secrets" in output  # started, and said why it is not for production
    assert "EXAMPLE-change-me-console-service-token" not in output


# -- the notifier ----------------------------------------------------------------------------------


def test_notifier_refuses_a_placeholder_rasa_token_and_starts_with_real_secrets(tmp_path: Path) -> None:
    env = _environment(tmp_path, KEFU_RASA_TOKEN="change-me-rasa-api-token")
    status, output = _run_until_decided(_argv("notifier", env), env, specs(env)["notifier"].health_url,
                                        tmp_path / "notifier.log")
    _assert_refused(status, output, ["KEFU_RASA_TOKEN"], ["change-me-rasa-api-token"])
    env = _environment(tmp_path)
    status, output = _run_until_decided(_argv("notifier", env), env, specs(env)["notifier"].health_url,
                                        tmp_path / "notifier.log")
    assert status is None, output[-3000:]
    assert "refusing to start" not in output


# -- the Rasa server -------------------------------------------------------------------------------


def test_rasa_refuses_the_dev_aes_key_and_a_placeholder_token(tmp_path: Path) -> None:
    dev_key = DEFAULTS["WECHAT_AES_KEY"]  # kernel/settings.py: published with Kefu
    env = _environment(tmp_path, WECHAT_AES_KEY=dev_key, KEFU_RASA_TOKEN="change-me")
    status, output = _run_until_decided(_argv("rasa", env), env, specs(env)["rasa"].health_url, tmp_path / "rasa.log")
    _assert_refused(status, output, ["WECHAT_AES_KEY", "KEFU_RASA_TOKEN"], [dev_key])
    assert "Starting Rasa server" not in output and "Loading model" not in output  # refused before loading


def test_rasa_starts_with_real_secrets(tmp_path: Path) -> None:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    env = _environment(tmp_path)
    status, output = _run_until_decided(_argv("rasa", env), env, specs(env)["rasa"].health_url, tmp_path / "rasa.log")
    assert status is None, output[-3000:]
    assert "refusing to start" not in output


# -- make run with KEFU_DEMO=false ---------------------------------------------------------------------


def test_launcher_outside_the_demo_refuses_the_development_defaults(tmp_path: Path) -> None:
    """``make run`` is the demo; told it is not (KEFU_DEMO=false), it refuses its own public defaults
    up front and starts nothing."""
    env = environ_without(("KEFU_", "WECHAT_", "WECOM_"))
    env.update({"KEFU_DEMO": "false", "KEFU_VAR_DIR": str(tmp_path), "KEFU_RASA_PORT": str(free_port()),
                "KEFU_ACTION_PORT": str(free_port()), "KEFU_CONSOLE_PORT": str(free_port()),
                "KEFU_NOTIFIER_PORT": str(free_port()),
                "PYTHONPATH": str(ROOT)})
    result = subprocess.run([sys.executable, "-m", "launcher"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=DECISION_TIMEOUT)
    output = result.stdout + result.stderr
    assert result.returncode == 78, output[-2000:]
    for variable in ("WECHAT_TOKEN", "WECHAT_AES_KEY", "WECOM_SECRET"):
        assert variable in output
    assert "kefu-dev-token" not in output and "kefuDevEncodingAESKey" not in output
    assert "Kefu is starting" not in output  # nothing was started


def test_console_process_names_no_value_even_in_json(tmp_path: Path) -> None:
    secret = "tiny" + uuid.uuid4().hex[:6]
    env = _environment(tmp_path, KEFU_CONSOLE_SECRET=secret, KEFU_LOG_FORMAT="json")
    status, output = _run_until_decided(_argv("console", env), env, specs(env)["console"].health_url,
                                        tmp_path / "console.log")
    _assert_refused(status, output, ["KEFU_CONSOLE_SECRET"], [secret])
    assert output.lstrip().startswith("{")
