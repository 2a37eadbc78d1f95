"""deploy/nginx/kefu.conf.template, rendered with docker-compose's values the way the nginx image
does (envsubst of the container's variables), passes ``nginx -t``; its upstreams are the compose
services that really run Rasa, the action servers and the console."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Dict, Mapping

import pytest

from tests.deploy import assets

#: Variables the nginx:1.27 image itself defines: envsubst would replace them in the template too.
IMAGE_ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOSTNAME": "0123456789ab",
    "HOME": "/root",
    "NGINX_VERSION": "1.27.5",
    "NJS_VERSION": "0.8.10",
    "NJS_RELEASE": "1~bookworm",
    "PKG_RELEASE": "1~bookworm",
    "DYNPKG_RELEASE": "1~bookworm",
}


def _nginx_environment(compose: Mapping[str, Any], runtime: Path) -> Dict[str, str]:
    env = {**IMAGE_ENVIRONMENT, **assets.service_environment(compose["services"]["nginx"])}
    env["RUNTIME_DIR"] = str(runtime)
    return env


def _loopback(env: Dict[str, str]) -> Dict[str, str]:
    """Compose service names resolve only on the compose network: point them at loopback here.
    (test_upstreams_are_the_right_services checks the names themselves.)"""
    out = dict(env)
    for key in ("RASA_SERVERS", "ACTION_SERVERS", "CONSOLE_SERVER"):
        out[key] = " ".join(f"server 127.0.0.1:{port};" for _, port in assets.upstream_servers(env[key]))
    return out


def _nginx_test(nginx: str, config: str, runtime: Path) -> subprocess.CompletedProcess[str]:
    path = runtime / "nginx.conf"
    path.write_text(config, encoding="utf-8")
    return subprocess.run(
        [nginx, "-t", "-q", "-c", str(path), "-p", f"{runtime}/"], capture_output=True, text=True, timeout=60
    )


def _rendered(compose: Mapping[str, Any], runtime: Path) -> str:
    template = assets.NGINX_TEMPLATE.read_text(encoding="utf-8")
    return assets.envsubst(template, _loopback(_nginx_environment(compose, runtime)))


def test_rendered_template_passes_nginx_t(nginx_binary: str, compose: Dict[str, Any], tmp_path: Path) -> None:
    config = _rendered(compose, tmp_path)
    assert "${" not in config, "a template variable has no value in docker-compose.yml"
    result = _nginx_test(nginx_binary, config, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("breakage", ["missing semicolon", "unknown directive", "location outside server"])
def test_nginx_t_rejects_a_broken_copy(
    nginx_binary: str, compose: Dict[str, Any], tmp_path: Path, breakage: str
) -> None:
    config = _rendered(compose, tmp_path)
    if breakage == "missing semicolon":
        config = config.replace("worker_processes 1;", "worker_processes 1", 1)
    elif breakage == "unknown directive":
        config = config.replace("client_max_body_size 64k;", "client_max_body_size 64k;\n    proxy_pas http://x;", 1)
    else:
        config = config.replace("events {", "location / { return 200; }\nevents {", 1)
    result = _nginx_test(nginx_binary, config, tmp_path)
    assert result.returncode != 0, f"nginx -t accepted a config with a {breakage}"


def test_every_template_variable_is_set_by_compose(compose: Dict[str, Any]) -> None:
    needed = assets.template_variables(assets.NGINX_TEMPLATE.read_text(encoding="utf-8"))
    provided = set(assets.service_environment(compose["services"]["nginx"]))
    assert needed, "the template has no variables: is it still the lead's template?"
    assert sorted(needed - provided) == []


def test_template_check_notices_a_missing_value(compose: Dict[str, Any], tmp_path: Path) -> None:
    env = _loopback(_nginx_environment(compose, tmp_path))
    del env["RASA_SERVERS"]
    config = assets.envsubst(assets.NGINX_TEMPLATE.read_text(encoding="utf-8"), env)
    assert "${RASA_SERVERS}" in config


def test_template_listens_where_compose_says(compose: Dict[str, Any]) -> None:
    env = assets.service_environment(compose["services"]["nginx"])
    assert (env["PUBLIC_LISTEN"], env["AGENT_LISTEN"], env["RASA_API_LISTEN"], env["ACTIONS_LISTEN"]) == (
        "80",
        "8081",
        "5005",
        "5055",
    )
    assert env["RUNTIME_DIR"] == "/tmp"


def _port_of(command: list, default: int) -> int:
    return int(command[command.index("--port") + 1]) if "--port" in command else default


def test_upstreams_are_the_right_services(compose: Dict[str, Any]) -> None:
    services = compose["services"]
    env = assets.service_environment(services["nginx"])
    roles = {
        "RASA_SERVERS": ("bot.server", 5005),
        "ACTION_SERVERS": ("actions.server", 5055),
        "CONSOLE_SERVER": ("console", 8080),
    }
    for key, (module, default_port) in roles.items():
        servers = assets.upstream_servers(env[key])
        assert servers, key
        running = {n for n, s in services.items() if assets.runs_module(assets.command_of(s), module)}
        assert {host for host, _ in servers} == running, f"{key} must list every {module} service, nothing else"
        for host, port in servers:
            assert port == _port_of(assets.command_of(services[host]), default_port), (key, host)


def test_processes_reach_each_other_through_nginx(compose: Dict[str, Any]) -> None:
    nginx_env = assets.service_environment(compose["services"]["nginx"])
    for name, service in assets.kefu_services(compose).items():
        env = assets.service_environment(service)
        assert env["KEFU_ACTION_URL"] == f"http://nginx:{nginx_env['ACTIONS_LISTEN']}/webhook", name
        assert env["KEFU_RASA_URL"] == f"http://nginx:{nginx_env['RASA_API_LISTEN']}", name
        assert env["KEFU_CONSOLE_URL"] == "http://console:8080", name
