"""The deployment assets agree with the code they deploy.

- Every setting the processes need in a cluster is set, in docker-compose.yml and in the k8s
  ConfigMap/Secret: settings read with no fallback (found by scanning the code), the shared
  secrets, every ``${VAR}`` of endpoints.prod.yml and credentials.yml, and the settings whose
  fallback only works on one machine.
- Probes and health checks use routes the processes really serve.
- Rasa's HTTP API is token-protected and reachable from outside only for /webhooks and /socket.io.
- Images are pinned (never ``latest``); databases are the ones init.sql creates.
"""

from __future__ import annotations

import asyncio
import copy
import re
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, List, Set

import pytest
import sqlalchemy as sa

from actions.notifier import __main__ as notifier_main
from kernel.settings import DEFAULTS as LAUNCHER_DEFAULTS
from kernel.settings import SECRETS
from launcher.processes import specs as launcher_specs
from tests.deploy import assets, dockerfiles
from tests.deploy.env_reads import all_names, reads_in_tree, without_fallback

#: Packages the containers run (the launcher does not run in a container; its SECRETS are below).
PROCESS_PACKAGES = ("actions", "bot", "console", "knowledge_base")

#: Read with no fallback, deliberately left unset by the deployment.
OPTIONAL: Dict[str, str] = {
    "KEFU_CONSOLE_CONFIG": "unset: console/config.yml in the image",
    "KEFU_KB_ANSWER_THRESHOLD": "unset: the thresholds calibrated at build time (knowledge_base/config.yml)",
    "KEFU_KB_REFUSE_THRESHOLD": "unset: the thresholds calibrated at build time (knowledge_base/config.yml)",
    "KEFU_KB_MARGIN": "unset: knowledge_base/config.yml",
    "KEFU_KB_OOS_WEIGHT": "unset: knowledge_base/config.yml",
    "KEFU_KB_ADAPTATION": "unset: knowledge_base/config.yml",
    "KEFU_STORE_HTTP_BASE": "only with KEFU_STORE_BACKEND=http; the deployment uses the SQL store",
    "KEFU_STORE_HTTP_TOKEN": "only with KEFU_STORE_BACKEND=http; the deployment uses the SQL store",
    "KEFU_ALLOWED_PAYLOADS": "unset: customers may send only the buttons the bot offered them",
    "KEFU_RUNTIME_REPORT": "a test's file for the list of installed runtime patches (bot/server.py); never in production",
    "KEFU_TURN_PROFILE": "a benchmark's file for every turn's spans (bot/turn_profile.py); unset, nothing is wrapped",
}

#: Have a fallback, but one that only works on one machine.
CLUSTER: Dict[str, str] = {
    "KEFU_HOST": "127.0.0.1 by default: no other container could connect",
    "KEFU_RASA_URL": "loopback by default",
    "KEFU_CONSOLE_URL": "loopback by default",
    "KEFU_CONSOLE_DB_URL": "a SQLite file inside one container by default",
    "KEFU_EVENTS_DB_URL": "a SQLite file inside one container by default",
    "KEFU_APP_DB_URL": "a SQLite file inside one container by default",
    "KEFU_STORE_DB_URL": "a SQLite file inside one container by default",
    "KEFU_SOCKETIO_REDIS_URL": "socket.io rooms in one process by default",
    "KEFU_WECHAT_REDIS_URL": "WeChat de-duplication in one process by default",
    "KEFU_RATE_LIMIT_REDIS_URL": "rate limits per replica by default: N replicas would allow N times the limit",
    "KEFU_LOG_FORMAT": "text by default; the log pipeline reads one JSON object a line",
    "KEFU_CONSOLE_DEMO_ACCOUNTS": "public demo logins by default",
    "KEFU_TRUSTED_PROXIES": "loopback by default: behind nginx every customer would share its address "
                            "(and its per-address limits and lockouts)",
}

READS = reads_in_tree(assets.ROOT, PROCESS_PACKAGES)
RASA_VARIABLES = assets.rasa_config_variables()
K8S = assets.k8s_documents()
K8S_CONFIG, K8S_SECRET = assets.k8s_environment(K8S)
DEPLOYMENTS = assets.of_kind(K8S, "Deployment")


def required_settings() -> Set[str]:
    return (without_fallback(READS) - set(OPTIONAL)) | set(SECRETS) | RASA_VARIABLES | set(CLUSTER)


def missing(required: Iterable[str], provided: Iterable[str]) -> List[str]:
    return sorted(set(required) - set(provided))


# -- settings ------------------------------------------------------------------------------------


def test_scan_finds_the_settings_the_code_reads() -> None:
    names = all_names(READS)
    # a sanity floor: if the scan breaks, these well-known reads disappear
    assert {"KEFU_STORE_DB_URL", "KEFU_CONSOLE_DB_URL", "KEFU_SOCKETIO_REDIS_URL", "KEFU_APP_DB_URL"} <= names


def test_lists_name_settings_that_still_exist() -> None:
    known = all_names(READS) | RASA_VARIABLES | set(SECRETS)
    assert missing(OPTIONAL, known) == [], "OPTIONAL lists a setting no code reads any more"
    assert missing(CLUSTER, known) == [], "CLUSTER lists a setting no code reads any more"
    assert missing(set(OPTIONAL) & set(CLUSTER), set()) == []


@pytest.mark.parametrize("service", sorted(assets.kefu_services(assets.load_yaml(assets.COMPOSE_FILE))))
def test_compose_sets_every_required_setting(compose: Dict[str, Any], service: str) -> None:
    provided = assets.service_environment(compose["services"][service])
    assert missing(required_settings(), provided) == []


def test_k8s_config_sets_every_required_setting() -> None:
    overlap = set(K8S_CONFIG) & set(K8S_SECRET)
    assert not overlap, f"set in both the ConfigMap and the Secret: {sorted(overlap)}"
    assert missing(required_settings(), {**K8S_CONFIG, **K8S_SECRET}) == []


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_k8s_container_gets_the_settings(name: str) -> None:
    sources = assets.k8s_sources(K8S)
    for container in assets.containers(DEPLOYMENTS[name]):
        assert missing(required_settings(), assets.container_env_names(container, sources)) == [], container["name"]


def test_rasa_config_variables_are_provided_everywhere(compose: Dict[str, Any]) -> None:
    assert {"KEFU_TRACKER_DB_URL", "KEFU_REDIS_HOST", "KEFU_ACTION_URL"} <= RASA_VARIABLES
    for name in ("rasa-1", "rasa-2"):
        assert missing(RASA_VARIABLES, assets.service_environment(compose["services"][name])) == []
    assert missing(RASA_VARIABLES, {**K8S_CONFIG, **K8S_SECRET}) == []


def test_a_dropped_setting_is_noticed(compose: Dict[str, Any]) -> None:
    environment = dict(assets.service_environment(compose["services"]["rasa-1"]))
    del environment["KEFU_TRACKER_DB_URL"]
    assert missing(required_settings(), environment) == ["KEFU_TRACKER_DB_URL"]


def _cluster_value_problems(env: Dict[str, str]) -> List[str]:
    problems = []
    for name in (
        "KEFU_TRACKER_DB_URL",
        "KEFU_EVENTS_DB_URL",
        "KEFU_CONSOLE_DB_URL",
        "KEFU_APP_DB_URL",
        "KEFU_STORE_DB_URL",
    ):
        if not env.get(name, "").startswith("postgresql+psycopg2://"):
            problems.append(f"{name} is not a PostgreSQL URL")
    for name in ("KEFU_SOCKETIO_REDIS_URL", "KEFU_WECHAT_REDIS_URL", "KEFU_RATE_LIMIT_REDIS_URL"):
        if not env.get(name, "").startswith("redis://"):
            problems.append(f"{name} is not a Redis URL")
    if env.get("KEFU_HOST") != "0.0.0.0":
        problems.append("KEFU_HOST must be 0.0.0.0 in a container")
    for name in ("KEFU_RASA_URL", "KEFU_CONSOLE_URL", "KEFU_ACTION_URL"):
        host = urllib.parse.urlsplit(env.get(name, "")).hostname or ""
        if host in ("", "localhost") or host.startswith("127."):
            problems.append(f"{name} points at the container itself")
    if env.get("KEFU_CONSOLE_DEMO_ACCOUNTS", "").lower() != "false":
        problems.append("KEFU_CONSOLE_DEMO_ACCOUNTS must be false")
    if env.get("KEFU_LOG_FORMAT") != "json":
        problems.append("KEFU_LOG_FORMAT must be json")
    lock_db = env.get("KEFU_REDIS_LOCK_DB", "")
    for name in ("KEFU_SOCKETIO_REDIS_URL", "KEFU_WECHAT_REDIS_URL", "KEFU_RATE_LIMIT_REDIS_URL"):
        if urllib.parse.urlsplit(env.get(name, "")).path.strip("/") in (lock_db, ""):
            problems.append(f"{name} shares Rasa's lock database {lock_db}")
    if not re.fullmatch(r"[A-Za-z0-9]+", env.get("KEFU_REDIS_LOCK_PREFIX", "")):
        problems.append("KEFU_REDIS_LOCK_PREFIX must be letters and digits (Rasa ignores any other)")
    return problems


def test_compose_values_work_across_containers(compose: Dict[str, Any]) -> None:
    for name, service in assets.kefu_services(compose).items():
        assert _cluster_value_problems(assets.service_environment(service)) == [], name


def test_k8s_values_work_across_pods() -> None:
    assert _cluster_value_problems({**K8S_CONFIG, **K8S_SECRET}) == []


def test_value_checks_notice_single_machine_values(compose: Dict[str, Any]) -> None:
    env = dict(assets.service_environment(compose["services"]["console"]))
    env["KEFU_CONSOLE_DB_URL"] = "sqlite:///var/console.db"
    env["KEFU_RASA_URL"] = "http://127.0.0.1:5005"
    env["KEFU_SOCKETIO_REDIS_URL"] = f"redis://redis:6379/{env['KEFU_REDIS_LOCK_DB']}"
    problems = _cluster_value_problems(env)
    assert len(problems) == 3, problems


def test_processes_see_client_addresses_behind_the_proxy(compose: Dict[str, Any]) -> None:
    # the console limits its public history endpoint per client address (request.remote_addr),
    # which Sanic fills from X-Forwarded-For only when told how many proxies are in front
    assert "remote_addr" in (assets.ROOT / "console" / "public_history.py").read_text(encoding="utf-8")
    assert assets.service_environment(compose["services"]["console"]).get("SANIC_PROXIES_COUNT") == "1"
    assert K8S_CONFIG.get("SANIC_PROXIES_COUNT") == "1"


def test_k8s_secret_values_are_marked_examples() -> None:
    for key, value in K8S_SECRET.items():
        assert value == "" or "EXAMPLE" in value, f"{key} in deploy/k8s/secret.yaml must be an obvious placeholder"


def test_encoding_aes_keys_in_examples_are_well_formed(compose: Dict[str, Any]) -> None:
    # the WeChat channel refuses to start with a malformed EncodingAESKey
    for env in (assets.env_example(), K8S_SECRET):
        for name in ("WECHAT_AES_KEY", "WECOM_AES_KEY"):
            assert len(env.get(name, "")) in (0, 43), name


# -- health routes ---------------------------------------------------------------------------------


def _routes(*files: Path) -> Set[str]:
    routes: Set[str] = set()
    for path in files:
        routes |= assets.routes_in_source(path.read_text(encoding="utf-8"))
    return routes


def _rasa_routes() -> Set[str]:
    server = assets.site_packages_file(assets.ROOT / ".venv-rasa", "rasa/server.py")
    if server is None:
        pytest.skip("no .venv-rasa: Rasa's routes cannot be read (make setup builds it)")
    return _routes(server)


def _action_routes() -> Set[str]:
    endpoint = assets.site_packages_file(assets.ROOT / ".venv", "rasa_sdk/endpoint.py")
    assert endpoint is not None, "rasa-sdk is not installed in .venv"
    server = assets.ROOT / "actions" / "server.py"
    assert server.exists(), "actions/server.py (the action server the images run) is missing"
    return _routes(endpoint, server)


def _console_routes() -> Set[str]:
    """Routes of the console app and of its blueprints (console/web/)."""
    return _routes(*sorted((assets.ROOT / "console").rglob("*.py")))


def _notifier_status(path: str) -> int:
    """The status the notifier's real health responder (actions.notifier.__main__.Health) answers to
    ``GET path``, over a real socket."""

    async def run() -> int:
        server = await asyncio.start_server(notifier_main.Health({"passes": 0}).handle, "127.0.0.1", 0)
        try:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: probe\r\n\r\n".encode())
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), timeout=10)
            writer.close()
            return int(status_line.split()[1])
        finally:
            server.close()
            await server.wait_closed()

    return asyncio.run(run())


def _notifier_routes(paths: Iterable[str]) -> Set[str]:
    """The notifier serves no Sanic app: which of ``paths`` its health responder answers with 200."""
    return {path for path in paths if _notifier_status(path) == 200}


def _notifier_port(env: Dict[str, str]) -> int:
    return int(env.get("KEFU_NOTIFIER_PORT") or notifier_main.DEFAULT_PORT)


def test_notifier_routes_are_read_from_the_real_responder() -> None:
    assert _notifier_routes(["/health", "/health?probe=1", "/healthz", "/", "/metrics"]) == {"/health", "/health?probe=1"}
    # the launcher's default port (make run) is the one the deployments' probes use
    assert int(LAUNCHER_DEFAULTS["KEFU_NOTIFIER_PORT"]) == notifier_main.DEFAULT_PORT


def _probe_paths(container: Dict[str, Any]) -> Set[str]:
    paths = set()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        http = (container.get(probe) or {}).get("httpGet")
        if http:
            paths.add(http["path"])
    return paths


@pytest.mark.parametrize("name", ["rasa", "actions", "console", "notifier"])
def test_k8s_probes_use_real_routes(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    container = assets.containers(deployment)[0]
    paths = _probe_paths(container)
    assert paths, f"{name} has no HTTP probe"
    if name == "notifier":
        routes = _notifier_routes(paths)
    else:
        routes = {"rasa": _rasa_routes, "actions": _action_routes, "console": _console_routes}[name]()
    assert paths <= routes, f"{name}: probe paths {sorted(paths - routes)} are not routes of the process"
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    if "prometheus.io/path" in annotations:
        assert annotations["prometheus.io/path"] in routes
    command = assets.command_of(container)
    if name == "notifier":
        port = _notifier_port({**K8S_CONFIG, **K8S_SECRET})
    else:
        port = int(command[command.index("--port") + 1]) if "--port" in command else 8080
    assert [p["containerPort"] for p in container["ports"]] == [port], f"{name} listens on {port}"


def test_probe_check_notices_a_wrong_path() -> None:
    container = copy.deepcopy(assets.containers(DEPLOYMENTS["console"])[0])
    container["readinessProbe"]["httpGet"]["path"] = "/healthz"
    assert not _probe_paths(container) <= _console_routes()


def _healthcheck_url(service: Dict[str, Any]) -> urllib.parse.SplitResult:
    urls = [part for part in service["healthcheck"]["test"] if str(part).startswith("http://")]
    assert len(urls) == 1, service["healthcheck"]["test"]
    return urllib.parse.urlsplit(urls[0])


def _healthcheck_path(service: Dict[str, Any]) -> str:
    return _healthcheck_url(service).path


@pytest.mark.parametrize("module", ["bot.server", "actions.server", "console", "actions.notifier"])
def test_compose_healthchecks_use_real_routes(compose: Dict[str, Any], module: str) -> None:
    services = [s for s in compose["services"].values() if assets.runs_module(assets.command_of(s), module)]
    assert services
    for service in services:
        if module == "actions.notifier":
            assert _notifier_routes([_healthcheck_path(service)]) == {_healthcheck_path(service)}
            assert _healthcheck_url(service).port == _notifier_port(assets.service_environment(service))
            continue
        routes = {"bot.server": _rasa_routes, "actions.server": _action_routes, "console": _console_routes}[module]()
        assert _healthcheck_path(service) in routes


def test_action_url_is_the_action_servers_webhook(compose: Dict[str, Any]) -> None:
    routes = _action_routes()
    for url in (
        K8S_CONFIG["KEFU_ACTION_URL"],
        assets.service_environment(compose["services"]["rasa-1"])["KEFU_ACTION_URL"],
    ):
        assert urllib.parse.urlsplit(url).path in routes


# -- Rasa's API: token and exposure ----------------------------------------------------------------


def _launcher_rasa_options() -> Set[str]:
    env = {
        "KEFU_HOST": "127.0.0.1",
        "KEFU_RASA_PORT": "5005",
        "KEFU_ACTION_PORT": "5055",
        "KEFU_CONSOLE_PORT": "8080",
        "KEFU_NOTIFIER_PORT": "5056",
        "KEFU_MODEL": "models/kefu.tar.gz",
        "KEFU_RASA_TOKEN": "t",
    }
    argv = launcher_specs(env)["rasa"].argv
    return {part for part in argv if part.startswith("--")}


def _check_rasa_command(command: List[str], token_reference: str) -> None:
    assert command[:4] == ["python", "-m", "bot.server", "run"], "the same server as launcher/processes.py"
    assert "--enable-api" in command
    assert "--auth-token" in command, "Rasa's HTTP API must be token-protected"
    assert command[command.index("--auth-token") + 1] == token_reference
    # the launcher's options, except --interface (Rasa's default, all interfaces, suits a container)
    expected = _launcher_rasa_options() - {"--interface"}
    assert missing(expected, command) == []
    assert command[command.index("--endpoints") + 1] == "endpoints.prod.yml"


def test_compose_rasa_command_has_the_token() -> None:
    raw = assets.load_yaml(assets.COMPOSE_FILE)
    for name in ("rasa-1", "rasa-2"):
        command = assets.command_of(raw["services"][name])
        _check_rasa_command(command, "${KEFU_RASA_TOKEN:?set KEFU_RASA_TOKEN in .env}")


def test_k8s_rasa_command_has_the_token() -> None:
    container = assets.containers(DEPLOYMENTS["rasa"])[0]
    _check_rasa_command(assets.command_of(container), "$(KEFU_RASA_TOKEN)")
    # $(VAR) expands only from the container's own variables
    assert "KEFU_RASA_TOKEN" in assets.container_env_names(container, assets.k8s_sources(K8S))


def test_rasa_image_default_command_has_the_token() -> None:
    _, stages = dockerfiles.stages(assets.DOCKERFILES["rasa"].read_text(encoding="utf-8"))
    cmd = [i.arguments for i in stages[-1].instructions if i.keyword == "CMD"][-1]
    assert "bot.server run" in cmd and "--auth-token" in cmd and "KEFU_RASA_TOKEN" in cmd


def test_token_check_notices_an_open_api() -> None:
    container = copy.deepcopy(assets.containers(DEPLOYMENTS["rasa"])[0])
    command = assets.command_of(container)
    index = command.index("--auth-token")
    del command[index : index + 2]
    with pytest.raises(AssertionError):
        _check_rasa_command(command, "$(KEFU_RASA_TOKEN)")


RASA_PUBLIC_PATHS = {"/webhooks", "/socket.io"}
#: the console's public part: the widget bundle, the demo shop, and the widget's API under /api/public (history,
#: uploads with their own body limit, contact, notices, CSAT comments; docs/widget.md)
PUBLIC_PATHS = RASA_PUBLIC_PATHS | {"/widget", "/demo", "/api/public", "/api/public/uploads"}


def _exposed(ingresses: Iterable[Dict[str, Any]]) -> List[tuple]:
    """(host, path, service) of every Ingress path."""
    return [
        (rule.get("host", "*"), path["path"], path["backend"]["service"]["name"])
        for ingress in ingresses
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]


def _rasa_exposure_problems(ingresses: List[Dict[str, Any]]) -> List[str]:
    return [
        f"{host}{path}"
        for host, path, service in _exposed(ingresses)
        if service == "rasa" and path not in RASA_PUBLIC_PATHS
    ]


def test_ingress_exposes_rasa_only_for_webhooks_and_socketio() -> None:
    ingresses = list(assets.of_kind(K8S, "Ingress").values())
    assert _rasa_exposure_problems(ingresses) == []
    assert {path for _, path, service in _exposed(ingresses) if service == "rasa"} == RASA_PUBLIC_PATHS
    assert "actions" not in {service for _, _, service in _exposed(ingresses)}, "the action servers are internal"


def test_exposure_check_notices_the_rasa_api() -> None:
    ingresses = copy.deepcopy(list(assets.of_kind(K8S, "Ingress").values()))
    ingresses[0]["spec"]["rules"][0]["http"]["paths"].append(
        {
            "path": "/conversations",
            "pathType": "Prefix",
            "backend": {"service": {"name": "rasa", "port": {"name": "http"}}},
        }
    )
    assert _rasa_exposure_problems(ingresses) == ["chat.example.com/conversations"]


def test_public_host_serves_customer_paths_and_console_has_its_own_host() -> None:
    exposed = _exposed(assets.of_kind(K8S, "Ingress").values())
    console_hosts = {host for host, path, service in exposed if service == "console" and path == "/"}
    public_hosts = {host for host, _, service in exposed if service == "rasa"}
    assert len(console_hosts) == 1 and not console_hosts & public_hosts, "the console lives on another host"
    public = {path for host, path, _ in exposed if host in public_hosts}
    assert public == PUBLIC_PATHS
    routes = _console_routes()
    for path in PUBLIC_PATHS - RASA_PUBLIC_PATHS:
        assert any(route == path or route.startswith(path + "/") for route in routes), f"{path} is no console route"


def test_socketio_is_sticky() -> None:
    for ingress in assets.of_kind(K8S, "Ingress").values():
        paths = {p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
        if "/socket.io" in paths:
            annotations = ingress["metadata"].get("annotations") or {}
            sticky = annotations.get("nginx.ingress.kubernetes.io/upstream-hash-by") or (
                annotations.get("nginx.ingress.kubernetes.io/affinity") == "cookie"
            )
            assert sticky, "socket.io long-polling needs one Rasa pod per session"
            assert paths == {"/socket.io"}, "ingress-nginx affinity applies to the whole Ingress: keep it alone"


# -- images ------------------------------------------------------------------------------------------


def _tag_problems(references: Iterable[str]) -> List[str]:
    problems = []
    for reference in references:
        tag = dockerfiles.image_tag(reference)
        if tag is None or tag == "latest" or "$" in tag:
            problems.append(reference)
    return problems


def test_images_are_pinned(compose: Dict[str, Any]) -> None:
    compose_images = [s["image"] for s in compose["services"].values()]
    assert len(compose_images) == len(compose["services"]), "every compose service names its image"
    k8s_images = [c["image"] for d in DEPLOYMENTS.values() for c in assets.containers(d)]
    bases = []
    for path in assets.DOCKERFILES.values():
        global_args, stages = dockerfiles.stages(path.read_text(encoding="utf-8"))
        names = {s.name for s in stages if s.name}
        bases += [dockerfiles.resolve_base(s.base, global_args) for s in stages if s.base not in names]
    kustomization = assets.load_yaml(assets.KUSTOMIZATION)
    assert all(str(i.get("newTag", "")) not in ("", "latest") for i in kustomization.get("images", []))
    assert _tag_problems([*compose_images, *k8s_images, *bases]) == []


def test_tag_check_notices_latest_and_untagged() -> None:
    assert _tag_problems(["nginx:latest", "redis", "registry.example.com:5000/kefu/app", "nginx:1.27"]) == [
        "nginx:latest",
        "redis",
        "registry.example.com:5000/kefu/app",
    ]


# -- databases ---------------------------------------------------------------------------------------

DB_SETTINGS = (
    "KEFU_TRACKER_DB_URL",
    "KEFU_EVENTS_DB_URL",
    "KEFU_CONSOLE_DB_URL",
    "KEFU_APP_DB_URL",
    "KEFU_STORE_DB_URL",
)


def _init_databases() -> List[str]:
    text = assets.POSTGRES_INIT.read_text(encoding="utf-8")
    return re.findall(r"^\s*CREATE DATABASE\s+([a-z_][a-z0-9_]*)\s*;", text, flags=re.MULTILINE | re.IGNORECASE)


def test_every_database_url_names_a_database_init_sql_creates(compose: Dict[str, Any]) -> None:
    created = _init_databases()
    assert len(created) == len(set(created)) == len(DB_SETTINGS)
    for env in (assets.service_environment(compose["services"]["console"]), K8S_SECRET):
        databases = [urllib.parse.urlsplit(env[name]).path.strip("/") for name in DB_SETTINGS]
        assert sorted(databases) == sorted(created)
        # the tracker store and the event broker both create a table named "events"
        assert databases[0] != databases[1]


def test_compose_postgres_healthcheck_waits_for_a_created_database(compose: Dict[str, Any]) -> None:
    test = compose["services"]["postgres"]["healthcheck"]["test"]
    assert test[test.index("-d") + 1] in _init_databases()
    assert "-h" in test, "over TCP: the first-run init server listens on the socket only"


def test_init_sql_runs_on_postgresql(pg_url: str) -> None:
    """The statements of init.sql run on a real server (with unique names, dropped afterwards)."""
    suffix = uuid.uuid4().hex[:8]
    created = _init_databases()
    text = assets.POSTGRES_INIT.read_text(encoding="utf-8")
    statements = [s.strip() for s in re.sub(r"--[^\n]*", "", text).split(";") if s.strip()]
    assert len(statements) == len(created)
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement, name in zip(statements, created, strict=True):
                conn.execute(sa.text(statement.replace(name, f"{name}_{suffix}")))
            found = set(conn.execute(sa.text("SELECT datname FROM pg_database")).scalars())
            assert {f"{name}_{suffix}" for name in created} <= found
            for name in created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_{suffix}"'))
    finally:
        engine.dispose()
