"""deploy/nginx/kefu.conf.template, rendered with docker-compose's values the way the nginx image
does (envsubst of the container's variables), passes ``nginx -t``; its upstreams are the compose
services that really run Rasa, the action servers and the console."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping

import pytest
import requests

from tests.deploy import assets
from tests.harness import Command, HttpReady, ServerProcess, free_port

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


# -- the access log keeps no query strings ----------------------------------------------------------
# WeChat's signature, timestamp, nonce and the customer's openid travel in the query string of
# /webhooks/; socket.io's session id too; Rasa's HTTP API takes ?token=. The real nginx runs the
# rendered template in front of a small upstream, and its access log is read back.

QUERY_SECRETS = ("SIGabc123", "NONCEdef456", "oOPENIDghi789", "SIDjkl012", "TOKENmno345", "13812345678")


class _Upstream(http.server.BaseHTTPRequestHandler):
    seen: List[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        _Upstream.seen.append(self.path)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def running_nginx(nginx_binary: str, compose: Dict[str, Any], tmp_path: Path) -> Iterator[Dict[str, Any]]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    _Upstream.seen = []
    port = upstream.server_address[1]
    listen = {key: free_port() for key in ("PUBLIC_LISTEN", "AGENT_LISTEN", "RASA_API_LISTEN", "ACTIONS_LISTEN")}
    env = _nginx_environment(compose, tmp_path)
    env.update({key: f"127.0.0.1:{value}" for key, value in listen.items()})
    for key in ("RASA_SERVERS", "ACTION_SERVERS", "CONSOLE_SERVER"):
        env[key] = f"server 127.0.0.1:{port};"
    config = assets.envsubst(assets.NGINX_TEMPLATE.read_text(encoding="utf-8"), env)
    (tmp_path / "nginx.conf").write_text(config, encoding="utf-8")
    public = f"http://127.0.0.1:{listen['PUBLIC_LISTEN']}"
    nginx = Command("nginx", [nginx_binary, "-c", str(tmp_path / "nginx.conf"), "-p", f"{tmp_path}/", "-g", "daemon off;"],
                    dict(os.environ), HttpReady(f"{public}/health", below=300))
    process = ServerProcess.start(nginx, tmp_path / "nginx-output.log")
    try:
        process.wait_ready(timeout=60)
        yield {"public": public, "rasa_api": f"http://127.0.0.1:{listen['RASA_API_LISTEN']}",
               "log": tmp_path / "access.log", "upstream_seen": _Upstream.seen}
    finally:
        process.stop()
        upstream.shutdown()
        upstream.server_close()


def _access_lines(log: Path, count: int) -> List[str]:
    """The access log once it holds ``count`` lines (nginx writes a line when a request ends)."""
    lines: List[str] = []
    for _ in range(100):
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if "/health" not in line]
        if len(lines) >= count:
            break
        time.sleep(0.1)
    return lines


def test_access_log_has_no_query_strings(running_nginx: Dict[str, Any]) -> None:
    public, rasa_api = running_nginx["public"], running_nginx["rasa_api"]
    wechat = requests.post(
        f"{public}/webhooks/wechat/webhook?signature=SIGabc123&timestamp=1700000000&nonce=NONCEdef456"
        "&openid=oOPENIDghi789&encrypt_type=aes&msg_signature=SIGabc123",
        data="<xml><ToUserName>gh</ToUserName></xml>", timeout=10,
        headers={"Referer": "https://shop.example.com/orders?phone=13812345678"},
    )
    socketio = requests.get(f"{public}/socket.io/?EIO=4&transport=polling&sid=SIDjkl012", timeout=10)
    api = requests.get(f"{rasa_api}/conversations/wechat:oOPENIDghi789/tracker?token=TOKENmno345", timeout=10)
    assert (wechat.status_code, socketio.status_code, api.status_code) == (200, 200, 200)
    # nginx still passes the query string on: the channels need it
    seen = running_nginx["upstream_seen"]
    assert any("openid=oOPENIDghi789" in path for path in seen), seen

    lines = _access_lines(running_nginx["log"], 3)
    assert len(lines) == 3, lines
    log = "\n".join(lines)
    for secret in QUERY_SECRETS:
        assert secret not in log, f"{secret} in the access log:\n{log}"
    assert "?" not in log, log
    assert '"POST /webhooks/wechat/webhook HTTP/1.1" 200' in log
    assert '"GET /socket.io/ HTTP/1.1" 200' in log
    assert '"GET /conversations/*/tracker HTTP/1.1" 200' in log
    assert '"https://shop.example.com/orders"' in log
