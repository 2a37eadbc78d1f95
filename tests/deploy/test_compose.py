"""docker-compose.yml: valid against the compose specification (check-jsonschema's vendored
compose-spec schema), secrets only through .env, and the stack wired as issue 8 describes; one step
from a fresh clone (issue 26): the migrations run once before the services, and the channels are
opt-in (a web-only operator sets no WeChat value, an enabled channel names what it lacks)."""

from __future__ import annotations

import re
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from bot.channels import selection
from kernel.settings import SECRETS
from tests.deploy import assets

EXPECTED_SERVICES = {
    "postgres", "redis", "migrate", "seed", "rasa-1", "rasa-2", "actions-1", "actions-2", "notifier-1", "notifier-2", "console",
    "nginx",
}
#: The module each long-running Kefu service runs, and its process name in kernel/secrets.py.
PROCESSES = (("bot.server", "rasa"), ("actions.server", "actions"), ("actions.notifier", "notifier"),
             ("console", "console"))
#: Services that run once and exit.
ONE_SHOTS = {"migrate", "seed"}
#: `kefu-migrate upgrade`, as the image runs it (the console script is not installed in the image).
MIGRATE_COMMAND = ["python", "-m", "kernel.migrations", "upgrade"]
CHANNEL_PREFIXES = ("WECHAT_", "WECOM_", "WXKF_")


def _check(tool: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(path)], capture_output=True, text=True, timeout=120
    )


def test_compose_file_matches_the_compose_spec(check_jsonschema: str) -> None:
    result = _check(check_jsonschema, assets.COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_interpolated_compose_file_matches_the_compose_spec(
    check_jsonschema: str, tmp_path: Path, compose: Dict[str, Any]
) -> None:
    target = tmp_path / "docker-compose.yml"
    target.write_text(yaml.safe_dump(compose), encoding="utf-8")
    result = _check(check_jsonschema, target)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("breakage", ["unknown key", "bad depends_on condition", "bad healthcheck"])
def test_validator_rejects_a_broken_copy(check_jsonschema: str, tmp_path: Path, breakage: str) -> None:
    broken = assets.load_yaml(assets.COMPOSE_FILE)
    if breakage == "unknown key":
        broken["services"]["console"]["replica"] = 2  # the real key is deploy.replicas
    elif breakage == "bad depends_on condition":
        broken["services"]["console"]["depends_on"]["postgres"]["condition"] = "service_ready"
    else:
        broken["services"]["console"]["healthcheck"]["intervall"] = "10s"
    target = tmp_path / "docker-compose.yml"
    target.write_text(yaml.safe_dump(broken), encoding="utf-8")
    result = _check(check_jsonschema, target)
    assert result.returncode != 0, f"a compose file with a {breakage} passed validation"


def test_the_whole_stack_is_there(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == EXPECTED_SERVICES
    rasa = [n for n, s in services.items() if assets.runs_module(assets.command_of(s), "bot.server")]
    actions = [n for n, s in services.items() if assets.runs_module(assets.command_of(s), "actions.server")]
    consoles = [n for n, s in services.items() if assets.runs_module(assets.command_of(s), "console")]
    notifiers = [n for n, s in services.items() if assets.runs_module(assets.command_of(s), "actions.notifier")]
    assert sorted(rasa) == ["rasa-1", "rasa-2"]
    assert sorted(actions) == ["actions-1", "actions-2"]
    assert consoles == ["console"], "the console runs as exactly one process"
    assert sorted(notifiers) == ["notifier-1", "notifier-2"], "two notifiers: their claims make replicas safe"


def test_notifiers_wait_for_the_store_and_reach_rasa_as_the_console_does(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    console_env = assets.service_environment(services["console"])
    for name in ("notifier-1", "notifier-2"):
        notifier = services[name]
        assert assets.command_of(notifier) == ["python", "-m", "actions.notifier"]
        assert notifier["image"] == services["console"]["image"], "the app image, as the console and action servers"
        env = assets.service_environment(notifier)
        assert env["KEFU_RASA_URL"] == console_env["KEFU_RASA_URL"], "Rasa's HTTP API, the console's way"
        depends = notifier["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["seed"]["condition"] == "service_completed_successfully"
        # Rasa's API, directly or through the proxy named in KEFU_RASA_URL, is up before the first pass
        rasa_host = urllib.parse.urlsplit(env["KEFU_RASA_URL"]).hostname
        assert depends[rasa_host]["condition"] == "service_healthy", name
        assert not notifier.get("ports") and not notifier.get("volumes"), "nothing connects to it; it writes nothing"


def test_seed_is_a_one_shot_that_the_action_servers_wait_for(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    seed = services["seed"]
    assert assets.command_of(seed)[-4:] == ["-m", "actions.store", "seed", "--if-empty"]
    assert seed["restart"] == "no"
    for name in ("actions-1", "actions-2"):
        assert services[name]["depends_on"]["seed"]["condition"] == "service_completed_successfully"


def test_dependencies_wait_on_conditions_and_have_no_cycle(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    graph: Dict[str, List[str]] = {}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec.get("condition") in {"service_healthy", "service_completed_successfully"}, (name, target)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"
        graph[name] = list(depends)

    visiting: set = set()
    done: set = set()

    def visit(node: str, path: List[str]) -> None:
        assert node not in visiting, f"dependency cycle: {' -> '.join(path + [node])}"
        if node in done:
            return
        visiting.add(node)
        for target in graph[node]:
            visit(target, path + [node])
        visiting.discard(node)
        done.add(node)

    for node in graph:
        visit(node, [])


def test_long_running_services_have_healthchecks_and_restart(compose: Dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in ONE_SHOTS:
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert service.get("restart") in {"unless-stopped", "always"}, name


def test_only_nginx_publishes_ports(compose: Dict[str, Any]) -> None:
    publishing = {name for name, service in compose["services"].items() if service.get("ports")}
    assert publishing == {"nginx"}
    nginx = compose["services"]["nginx"]
    env = assets.service_environment(nginx)
    container_ports = {str(p).rsplit(":", 1)[-1] for p in nginx["ports"]}
    assert container_ports == {env["PUBLIC_LISTEN"], env["AGENT_LISTEN"]}, (
        "Rasa's API and the action servers stay internal"
    )


def test_nginx_renders_the_lead_template_as_its_main_config(compose: Dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    assert nginx["image"] == "nginx:1.27"
    mounts = [str(v) for v in nginx["volumes"]]
    assert "./deploy/nginx/kefu.conf.template:/etc/nginx/templates/nginx.conf.template:ro" in mounts
    # the template is a whole nginx.conf (events, http), so it must replace /etc/nginx/nginx.conf
    assert assets.service_environment(nginx)["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"


def test_postgres_creates_the_databases_on_first_start(compose: Dict[str, Any]) -> None:
    volumes = [str(v) for v in compose["services"]["postgres"]["volumes"]]
    assert any(v.startswith("./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/") for v in volumes)


def test_every_required_interpolation_is_in_env_example() -> None:
    document = assets.load_yaml(assets.COMPOSE_FILE)
    example = assets.env_example()
    required = {i.name for i in assets.interpolations(document) if not i.has_default}
    assert required, "compose takes no values from .env"
    assert sorted(required - set(example)) == []
    used = {i.name for i in assets.interpolations(document)}
    assert sorted(set(example) - used) == [], "deploy/env.example sets variables compose never reads"


def test_env_example_holds_no_real_secrets() -> None:
    example = assets.env_example()
    for name in [*SECRETS, "POSTGRES_PASSWORD", "KEFU_REDIS_PASSWORD"]:
        assert "change-me" in example[name], f"{name} in deploy/env.example must be an obvious placeholder"


def test_missing_secret_stops_compose() -> None:
    document = assets.load_yaml(assets.COMPOSE_FILE)
    example = assets.env_example()
    del example["KEFU_RASA_TOKEN"]
    with pytest.raises(KeyError, match="KEFU_RASA_TOKEN"):
        assets.interpolate(document, example)


def test_compose_never_runs_as_the_demo(compose: Dict[str, Any]) -> None:
    """KEFU_DEMO=true would let placeholder secrets through (kernel/secrets.py); demo logins stay off."""
    for name, service in assets.kefu_services(compose).items():
        env = assets.service_environment(service)
        assert "KEFU_DEMO" not in env, name
        assert env.get("KEFU_CONSOLE_DEMO_ACCOUNTS", "false") == "false", name


def test_env_example_values_stop_every_process(compose: Dict[str, Any]) -> None:
    """Started as they are, the values of deploy/env.example are refused (the operator must replace them)."""
    from kernel.secrets import problems

    checked = set()
    for name, service in assets.kefu_services(compose).items():
        command = assets.command_of(service)
        for module, process in PROCESSES:
            if assets.runs_module(command, module):
                found = problems(process, assets.service_environment(service), command[3:], assets.ROOT)
                assert found, f"{name} would start with the example secrets"
                checked.add(name)
    assert sorted(set(assets.kefu_services(compose)) - checked) == sorted(ONE_SHOTS), (
        "a Kefu process this test does not know"
    )


# -- migrations: once, before the services (issue 26) -----------------------------------------------


def test_the_rasa_image_builds_its_model_as_the_build_argument_says(compose: Dict[str, Any]) -> None:
    dockerfile = assets.DOCKERFILES["rasa"].read_text(encoding="utf-8")
    assert re.search(r"^ARG KEFU_MODEL_SOURCE=auto$", dockerfile, re.M)
    for name in ("rasa-1", "rasa-2"):
        build = compose["services"][name]["build"]
        assert build["dockerfile"] == "deploy/docker/Dockerfile.rasa"
        assert build["args"]["KEFU_MODEL_SOURCE"] == "auto", "a fresh clone: no host step"
    rendered = assets.interpolate(assets.load_yaml(assets.COMPOSE_FILE), {**assets.env_example(), "KEFU_MODEL_SOURCE": "given"})
    assert rendered["services"]["rasa-1"]["build"]["args"]["KEFU_MODEL_SOURCE"] == "given"


def test_migrate_is_a_one_shot_of_the_app_image_after_postgres(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert assets.command_of(migrate) == MIGRATE_COMMAND
    assert migrate["restart"] == "no"
    assert migrate["image"] == services["console"]["image"], "the app image: alembic and every store's code"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    env = assets.service_environment(migrate)
    for name in ("KEFU_CONSOLE_DB_URL", "KEFU_APP_DB_URL", "KEFU_STORE_DB_URL"):
        assert env[name].startswith("postgresql+psycopg2://"), f"migrate must reach {name}"


def test_every_service_with_a_database_waits_for_the_migrations(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    waiting = []
    for name, service in assets.kefu_services(compose).items():
        if name == "migrate":
            continue
        env = assets.service_environment(service)
        assert any(k.endswith("_DB_URL") for k in env), f"{name}: no database? then this test needs a look"
        depends = service.get("depends_on") or {}
        assert depends.get("migrate") == {"condition": "service_completed_successfully"}, name
        assert env.get("KEFU_MIGRATE_ON_START") == "0", f"{name} would migrate at start besides the one-shot"
        waiting.append(name)
    assert sorted(waiting) == sorted(set(assets.kefu_services(compose)) - {"migrate"})
    assert "migrate" not in services["postgres"].get("depends_on", {})


def test_the_migrate_command_is_the_migrations_cli() -> None:
    """The module the one-shot runs is the one ``kefu-migrate`` (pyproject.toml) is."""
    import tomllib

    scripts = tomllib.loads((assets.ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    if "kefu-migrate" not in scripts:
        pytest.skip("kefu-migrate is not declared in pyproject.toml yet (the migrations change has not landed)")
    assert scripts["kefu-migrate"].split(":")[0].startswith("kernel.migrations")
    package = assets.ROOT / "kernel" / "migrations"
    assert (package / "__main__.py").exists() or (package.with_suffix(".py")).exists(), (
        "python -m kernel.migrations must run the same CLI"
    )


# -- channels: opt-in (issue 26) ------------------------------------------------------------------------


def _env_without_channel_values() -> Dict[str, str]:
    return {k: v for k, v in assets.env_example().items() if not k.startswith(CHANNEL_PREFIXES)}


def _rasa(rendered: Dict[str, Any]) -> Dict[str, Any]:
    return rendered["services"]["rasa-1"]


def test_no_channel_value_is_demanded_by_compose() -> None:
    document = assets.load_yaml(assets.COMPOSE_FILE)
    channel = [i for i in assets.interpolations(document) if i.name.startswith(CHANNEL_PREFIXES)]
    assert {i.name.split("_")[0] for i in channel} == {"WECHAT", "WECOM", "WXKF"}
    assert [i.name for i in channel if not i.has_default] == [], "a web-only operator would have to set them"
    assert not any(k.startswith(CHANNEL_PREFIXES) for k in assets.env_example()), (
        "deploy/env.example sets a channel value: a web-only operator would have to replace it"
    )


def test_a_web_only_operator_starts_with_no_wechat_value() -> None:
    rendered = assets.interpolate(assets.load_yaml(assets.COMPOSE_FILE), _env_without_channel_values())
    for name in ("rasa-1", "rasa-2"):
        service = rendered["services"][name]
        env = assets.service_environment(service)
        assert env["KEFU_CHANNELS"] == "webchat,rest"
        args = selection.prepare(assets.command_of(service)[3:], env, assets.ROOT)
        copy = Path(args[args.index("--credentials") + 1])
        kept = assets.load_yaml(copy)
        assert set(kept) == {selection.CHANNELS["webchat"].entry, selection.CHANNELS["rest"].entry}
        # Rasa substitutes every ${VAR} of the file it reads: none of them is a channel value now
        assert not [v for v in assets.rasa_config_variables([copy]) if v.startswith(CHANNEL_PREFIXES)]


@pytest.mark.parametrize("channel", ["wechat", "wecom", "wechat_kf"])
def test_an_enabled_channel_without_values_names_them(channel: str) -> None:
    values = {**_env_without_channel_values(), "KEFU_CHANNELS": f"webchat,{channel}"}
    rendered = assets.interpolate(assets.load_yaml(assets.COMPOSE_FILE), values)
    service = _rasa(rendered)
    with pytest.raises(selection.ChannelSettingsError) as caught:
        selection.prepare(assets.command_of(service)[3:], assets.service_environment(service), assets.ROOT)
    expected = {"wechat": "WECHAT_TOKEN", "wecom": "WECOM_CORP_ID", "wechat_kf": "WXKF_OPEN_KFIDS"}[channel]
    assert f"- {channel}: " in str(caught.value) and expected in str(caught.value)


def _channel_variables(channel: str) -> List[str]:
    """The variables ``channel`` needs: its credentials entry's ``${VAR}``s, else its own variables."""
    credentials = assets.load_yaml(assets.ROOT / "credentials.yml")
    spec = selection.CHANNELS[channel]
    entry = credentials[spec.entry] or {}
    names: List[str] = []
    for key, variable in spec.required.items():
        referenced = selection._REFERENCE.findall(str(entry.get(key) or ""))
        names.extend(referenced or [variable])
    return names


@pytest.mark.parametrize("channel", ["wechat", "wecom", "wechat_kf"])
def test_every_channel_value_in_env_reaches_the_rasa_containers(channel: str) -> None:
    """Set in .env, each value of an enabled channel is in every Rasa container and satisfies it."""
    names = _channel_variables(channel)
    assert names and all(names), channel
    given = {name: f"value-of-{name.lower()}" for name in names}
    values = {**_env_without_channel_values(), **given, "KEFU_CHANNELS": f"webchat,rest,{channel}"}
    rendered = assets.interpolate(assets.load_yaml(assets.COMPOSE_FILE), values)
    for name in ("rasa-1", "rasa-2"):
        service = rendered["services"][name]
        env = assets.service_environment(service)
        assert {k: env.get(k) for k in given} == given, name
        args = selection.prepare(assets.command_of(service)[3:], env, assets.ROOT)
        assert selection.CHANNELS[channel].entry in assets.load_yaml(Path(args[args.index("--credentials") + 1]))


def test_wechat_kf_settings_the_channel_reads_all_pass_through(compose: Dict[str, Any]) -> None:
    """Every WXKF_* the 微信客服 channel reads (bot/channels/wechat_kf/channel.py SETTINGS) is in the
    Rasa containers' environment."""
    source = (assets.ROOT / "bot" / "channels" / "wechat_kf" / "channel.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(WXKF_[A-Z_]+)"', source))
    assert {"WXKF_CORP_ID", "WXKF_OPEN_KFIDS", "WXKF_API_BASE"} <= read
    for name in ("rasa-1", "rasa-2"):
        assert sorted(read - set(assets.service_environment(compose["services"][name]))) == [], name


def test_the_migrate_one_shot_brings_fresh_databases_to_head(compose: Dict[str, Any], pg_schema_url: str) -> None:
    """The one-shot's own command and environment (the databases pointed at a fresh PostgreSQL schema
    here), started twice at once as a careless `docker compose run migrate` would: both exit 0,
    although the services' KEFU_MIGRATE_ON_START=0 is in the environment; `status` then finds every
    store at head (exit 0)."""
    import sys

    migrate = compose["services"]["migrate"]
    env = dict(assets.service_environment(migrate))
    assert env["KEFU_MIGRATE_ON_START"] == "0"
    for name in [k for k in env if k.endswith("_DB_URL")]:
        env[name] = pg_schema_url
    env.update({"PATH": "/usr/bin:/bin", "PYTHONPATH": str(assets.ROOT), "KEFU_VAR_DIR": "/nonexistent-var"})
    command = assets.command_of(migrate)
    assert command[0] == "python"
    runs = [
        subprocess.Popen([sys.executable, *command[1:]], cwd=assets.ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    status = subprocess.run([sys.executable, *command[1:-1], "status"], cwd=assets.ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert status.returncode == 0, status.stdout + status.stderr
