"""docker-compose.yml: valid against the compose specification (check-jsonschema's vendored
compose-spec schema), secrets only through .env, and the stack wired as issue 8 describes."""

from __future__ import annotations

import subprocess
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from kernel.settings import SECRETS
from tests.deploy import assets

EXPECTED_SERVICES = {
    "postgres", "redis", "seed", "rasa-1", "rasa-2", "actions-1", "actions-2", "notifier-1", "notifier-2", "console",
    "nginx",
}
#: The module each long-running Kefu service runs, and its process name in kernel/secrets.py.
PROCESSES = (("bot.server", "rasa"), ("actions.server", "actions"), ("actions.notifier", "notifier"),
             ("console", "console"))


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
        if name == "seed":
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
    assert sorted(set(assets.kefu_services(compose)) - checked) == ["seed"], "a Kefu process this test does not know"
