"""kernel/secrets.py: which secrets refuse a start, for which process, and what the message says.

The processes themselves, started for real with weak secrets, are in tests/security/test_secrets.py.
"""

from __future__ import annotations

import json
import secrets as random_secrets
import string
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

from kernel import secrets
from kernel.settings import DEFAULTS, ROOT, SECRETS, resolve
from launcher.processes import process_env, specs
from tests.deploy import assets

STRONG = "9f2c4e7a1b3d5f60a8c2e4b6d8f0a1c3"
STRONG_AES = "Q" + "".join(random_secrets.choice(string.ascii_letters + string.digits) for _ in range(42))
RASA_ARGS = ["run", "--credentials", "credentials.yml", "--endpoints", "endpoints.prod.yml"]


def _published() -> Iterator[Tuple[str, str, str]]:
    """(source, variable, value) of every secret value published with Kefu."""
    for variable, value in DEFAULTS.items():
        if variable in secrets.SECRET_KINDS and value:
            yield "kernel/settings.py", variable, value
    for variable, value in assets.env_example().items():
        kind = secrets.SECRET_KINDS.get(variable, secrets.TOKEN)
        if value and (variable in secrets.SECRET_KINDS or variable.endswith("PASSWORD")) and kind != secrets.URL:
            yield "deploy/env.example", variable, value
    secret = assets.load_yaml(assets.K8S_DIR / "secret.yaml")
    for variable, value in secret["stringData"].items():
        if value:
            yield "deploy/k8s/secret.yaml", variable, value


PUBLISHED = list(_published())


def test_the_published_list_is_not_empty() -> None:
    sources = {source for source, _, _ in PUBLISHED}
    assert sources == {"kernel/settings.py", "deploy/env.example", "deploy/k8s/secret.yaml"}
    assert len(PUBLISHED) >= 20


@pytest.mark.parametrize(("source", "variable", "value"), PUBLISHED, ids=lambda x: str(x)[:40])
def test_every_published_value_is_refused(source: str, variable: str, value: str) -> None:
    kind = secrets.SECRET_KINDS.get(variable, secrets.TOKEN)
    assert secrets.problem_with(variable, value, kind), f"{source} {variable} would be accepted in production"


def test_every_secret_of_the_deployments_is_known() -> None:
    """A secret added to deploy/ or kernel/settings.py without a rule here would never be checked."""
    secret = assets.load_yaml(assets.K8S_DIR / "secret.yaml")
    names = set(secret["stringData"]) | set(SECRETS)
    assert sorted(names - set(secrets.SECRET_KINDS)) == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KEFU_RASA_TOKEN", STRONG),
        ("KEFU_CONSOLE_SECRET", random_secrets.token_urlsafe(32)),
        ("WECHAT_AES_KEY", STRONG_AES),
        ("WECOM_AES_KEY", STRONG_AES),
        ("KEFU_TRACKER_DB_URL", f"postgresql://kefu:{STRONG}@db.internal:5432/kefu_tracker"),
        ("KEFU_STORE_DB_URL", "postgresql://kefu@127.0.0.1:5432/test"),  # no password (trust, a socket)
        ("KEFU_SOCKETIO_REDIS_URL", "redis://127.0.0.1:6379/1"),
        ("KEFU_STORE_HTTP_TOKEN", "short-but-theirs"),  # issued by the seller: placeholders only
        ("KEFU_RASA_TOKEN", ""),  # unset: the var-dir fallback, not this check's business
    ],
)
def test_real_values_are_accepted(variable: str, value: str) -> None:
    assert secrets.problem_with(variable, value) is None


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("KEFU_RASA_TOKEN", "change-me", "placeholder"),
        ("KEFU_RASA_TOKEN", "Change-Me-Please-0123456789", "placeholder"),
        ("KEFU_CONSOLE_SECRET", "EXAMPLE" + STRONG, "placeholder"),
        ("WECHAT_TOKEN", "kefu-dev-token", "placeholder"),
        ("KEFU_CONSOLE_SECRET", "s3cret", "shorter than 16"),
        ("KEFU_WEB_TOKEN_SECRET", "a" * 40, "different characters"),
        ("WECHAT_AES_KEY", STRONG_AES[:42], "exactly 43"),
        ("WECHAT_AES_KEY", STRONG_AES[:42] + "+", "exactly 43"),
        ("WECOM_AES_KEY", "kefuDevWeComEncodingAESKey0123456789abcdefg", "placeholder"),
        ("KEFU_EVENTS_DB_URL", "postgresql://kefu:change-me-postgres-password@postgres:5432/kefu_events", "URL"),
        ("KEFU_WECHAT_REDIS_URL", "redis://:EXAMPLE-change-me@redis.example.internal:6379/2", "URL"),
        ("KEFU_STORE_HTTP_TOKEN", "replace-with-your-token", "placeholder"),
    ],
)
def test_weak_values_are_refused_with_the_reason(variable: str, value: str, reason: str) -> None:
    problem = secrets.problem_with(variable, value)
    assert problem and reason in problem
    assert value not in problem


def test_url_passwords_are_decoded_before_the_check() -> None:
    url = "postgresql://kefu:" + urllib.parse.quote("change-me!") + "@db/x"
    assert secrets.problem_with("KEFU_APP_DB_URL", url)


# -- which secrets each process uses ------------------------------------------------------------


def _env(**overrides: str) -> Dict[str, str]:
    """Strong values everywhere, then ``overrides``."""
    env = {name: STRONG for name, kind in secrets.SECRET_KINDS.items() if kind == secrets.TOKEN}
    env.update({"WECHAT_AES_KEY": STRONG_AES, "WECOM_AES_KEY": STRONG_AES})
    env.update(overrides)
    return env


def test_strong_secrets_pass_for_every_process() -> None:
    for process in sorted(secrets.PROCESSES):
        assert secrets.problems(process, _env(), RASA_ARGS, ROOT) == [], process


def test_wechat_values_matter_to_rasa_only() -> None:
    env = _env(WECHAT_AES_KEY=DEFAULTS["WECHAT_AES_KEY"], WECOM_TOKEN="short")
    assert {p.variable for p in secrets.problems("rasa", env, RASA_ARGS, ROOT)} == {"WECHAT_AES_KEY", "WECOM_TOKEN"}
    assert secrets.problems("console", env) == []
    assert secrets.problems("actions", env) == []
    assert {p.variable for p in secrets.problems("launcher", env, RASA_ARGS, ROOT)} == {"WECHAT_AES_KEY",
                                                                                          "WECOM_TOKEN"}


def test_a_channel_that_is_not_configured_is_not_checked(tmp_path: Path) -> None:
    (tmp_path / "credentials.yml").write_text(
        "bot.channels.rest.KefuRestInput:\n"
        "# bot.channels.wechat.WeChatInput:\n"
        "#   token: ${WECHAT_TOKEN}\n"
        "bot.channels.wechat.WeComInput:\n"
        "  token: ${WECOM_TOKEN}  # ${WECHAT_APPSECRET} in a comment does not count\n",
        encoding="utf-8",
    )
    (tmp_path / "endpoints.yml").write_text("action_endpoint:\n  url: ${KEFU_ACTION_URL}\n", encoding="utf-8")
    env = _env(WECHAT_TOKEN="kefu-dev-token", WECHAT_APPSECRET="kefu-dev-appsecret", WECOM_TOKEN="change-me")
    found = secrets.problems("rasa", env, ["run"], tmp_path)
    assert [p.variable for p in found] == ["WECOM_TOKEN"]


def test_the_command_line_token_of_rasa_is_checked() -> None:
    env = _env()
    found = secrets.problems("rasa", env, [*RASA_ARGS, "--auth-token", "change-me"], ROOT)
    assert [p.variable for p in found] == ["--auth-token (Rasa HTTP API token)"]
    found = secrets.problems("rasa", env, [*RASA_ARGS, "--auth-token="], ROOT)
    assert found and "open" in found[0].reason
    assert secrets.problems("rasa", env, [*RASA_ARGS, "--auth-token", STRONG], ROOT) == []


def test_the_console_checks_its_own_secrets() -> None:
    found = secrets.problems("console", _env(KEFU_CONSOLE_SECRET="abc", KEFU_RASA_TOKEN="change-me-rasa-api-token",
                                             KEFU_WEB_TOKEN_SECRET="x"))
    assert {p.variable for p in found} == {"KEFU_CONSOLE_SECRET", "KEFU_RASA_TOKEN"}


def test_unknown_process_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown process"):
        secrets.variables_of("nginx")


# -- enforce: exit, message, demo -----------------------------------------------------------------


def test_enforce_exits_78_naming_each_variable_never_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(KEFU_CONSOLE_SECRET="tiny-secret", KEFU_RASA_TOKEN="change-me-rasa-api-token")
    with pytest.raises(SystemExit) as exited:
        secrets.enforce("console", environ=env)
    assert exited.value.code == secrets.EXIT_STATUS == 78
    err = capsys.readouterr().err
    assert "refusing to start" in err
    assert "KEFU_CONSOLE_SECRET: shorter than 16 characters" in err
    assert "KEFU_RASA_TOKEN: a placeholder" in err
    assert "KEFU_DEMO=true" in err
    assert "tiny-secret" not in err and "change-me-rasa-api-token" not in err


def test_enforce_speaks_json_when_the_logs_do(capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(KEFU_CONSOLE_SECRET="tiny-secret", KEFU_LOG_FORMAT="json")
    with pytest.raises(SystemExit):
        secrets.enforce("console", environ=env)
    line = json.loads(capsys.readouterr().err)
    assert line["level"] == "CRITICAL" and line["service"] == "console"
    assert "KEFU_CONSOLE_SECRET" in line["message"] and "tiny-secret" not in line["message"]


def test_the_demo_starts_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    env = _env(KEFU_CONSOLE_SECRET="tiny-secret", KEFU_DEMO="true")
    secrets.enforce("console", environ=env)
    err = capsys.readouterr().err
    assert "KEFU_DEMO=true" in err and "KEFU_CONSOLE_SECRET" in err and "tiny-secret" not in err


def test_strong_secrets_start_silently(capsys: pytest.CaptureFixture[str]) -> None:
    secrets.enforce("actions", environ=_env())
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("value", "demo"), [("true", True), ("TRUE", True), ("1", True), ("yes", True),
                                             ("false", False), ("0", False), ("", False), ("demo", False)])
def test_demo_flag(value: str, demo: bool) -> None:
    assert secrets.is_demo({"KEFU_DEMO": value}) is demo


# -- the launcher and the test stacks are the demo; deployments are not ----------------------------


def test_make_run_and_the_test_stacks_are_the_demo(tmp_path: Path) -> None:
    env = process_env(resolve({"KEFU_VAR_DIR": str(tmp_path)}))
    assert env["KEFU_DEMO"] == "true"
    assert env["KEFU_CONSOLE_DEMO_ACCOUNTS"] == "true"
    rasa_args = specs(env)["rasa"].argv[3:]
    assert secrets.problems("launcher", env, rasa_args, ROOT), "the development defaults must be refused outside it"
    # the shared secrets the launcher generates are strong
    generated = {name: env[name] for name in SECRETS}
    assert all(secrets.problem_with(name, value) is None for name, value in generated.items())


def test_an_explicit_setting_wins(tmp_path: Path) -> None:
    env = process_env({"KEFU_DEMO": "false", "KEFU_CONSOLE_DEMO_ACCOUNTS": "false"})
    assert env["KEFU_DEMO"] == "false" and env["KEFU_CONSOLE_DEMO_ACCOUNTS"] == "false"
