"""deploy/k8s: every manifest is valid for the stated Kubernetes version (kubernetes-validate
--strict, which refuses unknown fields), the kustomization renders, and the objects fit together."""

from __future__ import annotations

import copy
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from tests.deploy import assets

DOCUMENTS = assets.k8s_documents()


def _validate_all(module: Any, documents: List[Dict[str, Any]]) -> None:
    for document in documents:
        module.validate(document, assets.KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path", assets.k8s_files(), ids=lambda p: p.name)
def test_manifest_validates_strictly(kubernetes_validate: Any, path: Path) -> None:
    documents = assets.load_yaml_documents(path)
    assert documents, f"{path.name} has no objects"
    _validate_all(kubernetes_validate, documents)


def test_cli_validates_every_manifest(kubernetes_validate: Any) -> None:
    cli = assets.venv_tool("kubernetes-validate")
    assert cli, "the kubernetes-validate command is missing next to its module"
    files = [str(p) for p in assets.k8s_files()]
    result = subprocess.run(
        [cli, "--strict", "--quiet", "-k", assets.KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_rejects_a_broken_manifest(kubernetes_validate: Any, tmp_path: Path) -> None:
    cli = assets.venv_tool("kubernetes-validate")
    assert cli
    broken = assets.load_yaml_documents(assets.K8S_DIR / "rasa.yaml")
    broken[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/"
    target = tmp_path / "rasa.yaml"
    target.write_text(yaml.safe_dump_all(broken), encoding="utf-8")
    result = subprocess.run(
        [cli, "--strict", "--quiet", "-k", assets.KUBERNETES_VERSION, str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "paht" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "breakage",
    ["unknown field", "wrong type", "missing required field"],
)
def test_validator_rejects_a_broken_copy(kubernetes_validate: Any, breakage: str) -> None:
    deployment = copy.deepcopy(assets.of_kind(DOCUMENTS, "Deployment")["rasa"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    if breakage == "unknown field":
        container["imagePullSecret"] = "registry"  # the real field is spec.imagePullSecrets
    elif breakage == "wrong type":
        deployment["spec"]["replicas"] = "two"
    else:
        del deployment["spec"]["selector"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, assets.KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = assets.load_yaml(assets.KUSTOMIZATION)
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(p.name for p in assets.k8s_files())
    assert kustomization.get("namespace") == "kefu"
    for _, document in DOCUMENTS:
        assert document["metadata"].get("namespace", "kefu") == "kefu", document["metadata"]["name"]


def test_kustomize_renders_valid_objects(kubernetes_validate: Any) -> None:
    kubectl = assets.venv_tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize` cannot render deploy/k8s here")
    result = subprocess.run([kubectl, "kustomize", str(assets.K8S_DIR)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == sorted(
        (d["kind"], d["metadata"]["name"]) for _, d in DOCUMENTS
    )
    _validate_all(kubernetes_validate, rendered)


# -- how the objects fit together --------------------------------------------------------------

DEPLOYMENTS = assets.of_kind(DOCUMENTS, "Deployment")
SERVICES = assets.of_kind(DOCUMENTS, "Service")


def test_replicas_and_strategies() -> None:
    assert set(DEPLOYMENTS) == {"rasa", "actions", "console", "notifier"}
    assert DEPLOYMENTS["rasa"]["spec"]["replicas"] == 2
    assert DEPLOYMENTS["actions"]["spec"]["replicas"] == 2
    notifier = DEPLOYMENTS["notifier"]["spec"]
    assert notifier["replicas"] == 2, "two notifiers: each notice is claimed in the shared database first"
    assert notifier["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    console = DEPLOYMENTS["console"]["spec"]
    assert console["replicas"] == 1, "the console keeps its event tail and live hub in memory: one replica"
    assert console["strategy"]["type"] == "Recreate", "a rolling update would run two consoles at once"


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


@pytest.mark.parametrize("name", ["rasa", "actions", "console", "notifier"])
def test_containers_have_resources_probes_and_run_unprivileged(name: str) -> None:
    spec = DEPLOYMENTS[name]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    for container in spec["containers"]:
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), container["name"]
        assert "memory" in resources["limits"], container["name"]
        assert "readinessProbe" in container and "livenessProbe" in container, container["name"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_rasa_gets_the_memory_it_needs() -> None:
    resources = assets.containers(DEPLOYMENTS["rasa"])[0]["resources"]
    assert _mebibytes(resources["requests"]["memory"]) >= 1536
    assert _mebibytes(resources["limits"]["memory"]) >= _mebibytes(resources["requests"]["memory"])


def test_notifier_runs_the_app_image_read_only() -> None:
    [container] = assets.containers(DEPLOYMENTS["notifier"])
    [console] = assets.containers(DEPLOYMENTS["console"])
    assert assets.command_of(container) == ["python", "-m", "actions.notifier"]
    assert container["image"] == console["image"], "the app image, as the console and the action servers"
    assert container["envFrom"] == console["envFrom"], "the same settings as every other process"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert [m["mountPath"] for m in container.get("volumeMounts") or []] == ["/tmp"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "http", f"{probe} on the named port"


def test_autoscalers_cover_the_stateless_parts_only() -> None:
    hpas = assets.of_kind(DOCUMENTS, "HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()}
    assert targets == {"rasa", "actions"}
    for hpa in hpas.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]["name"]
        assert hpa["spec"]["minReplicas"] >= DEPLOYMENTS[target]["spec"]["replicas"]
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]


def _selects(selector: Dict[str, str], deployment: Dict[str, Any]) -> bool:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return all(labels.get(k) == v for k, v in selector.items())


def test_disruption_budgets_select_their_deployments() -> None:
    pdbs = assets.of_kind(DOCUMENTS, "PodDisruptionBudget")
    assert set(pdbs) == {"rasa", "actions", "notifier"}
    for name, pdb in pdbs.items():
        assert _selects(pdb["spec"]["selector"]["matchLabels"], DEPLOYMENTS[name])
        assert pdb["spec"]["minAvailable"] < DEPLOYMENTS[name]["spec"]["replicas"], "a budget that blocks every drain"


def test_services_are_internal_and_reach_a_named_port() -> None:
    assert set(SERVICES) == {"rasa", "actions", "console"}
    for name, service in SERVICES.items():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
        assert _selects(service["spec"]["selector"], DEPLOYMENTS[name]), name
        port_names = {p["name"] for c in assets.containers(DEPLOYMENTS[name]) for p in c.get("ports") or []}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, (name, port)


def test_nothing_addresses_the_notifier() -> None:
    """It serves only its probes' /health: no Service and no Ingress lead to it."""
    assert not [name for name, s in SERVICES.items() if _selects(s["spec"]["selector"], DEPLOYMENTS["notifier"])]


def test_ingress_backends_exist() -> None:
    for ingress in assets.of_kind(DOCUMENTS, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in SERVICES, backend
                ports = {p["name"] for p in SERVICES[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in ports, backend


# -- NetworkPolicies: who reaches whom ----------------------------------------------------------
# A small evaluator of Kubernetes' ingress NetworkPolicy semantics (a pod selected by any policy is
# isolated; a connection is allowed when one selecting policy has a rule whose peers and ports match),
# applied to the real pod labels of the Deployments.

POLICIES = assets.of_kind(DOCUMENTS, "NetworkPolicy")
CONFIG = assets.of_kind(DOCUMENTS, "ConfigMap")["kefu-config"]["data"]
NAMESPACE = "kefu"
#: The ingress-nginx controller of the official chart, and a pod nobody invited.
INGRESS_CONTROLLER = ("ingress-nginx", {"kubernetes.io/metadata.name": "ingress-nginx"},
                      {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"})
STRANGER = ("default", {"kubernetes.io/metadata.name": "default"}, {"app": "curl"})


def _labels(name: str) -> Dict[str, str]:
    return dict(DEPLOYMENTS[name]["spec"]["template"]["metadata"]["labels"])


def _pod(name: str) -> tuple:
    return (NAMESPACE, {"kubernetes.io/metadata.name": NAMESPACE}, _labels(name))


def _matches(selector: Dict[str, Any], labels: Dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels", "matchExpressions"}, selector
    assert "matchExpressions" not in selector, "the evaluator knows matchLabels only"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _peer_matches(peer: Dict[str, Any], source: tuple) -> bool:
    namespace, namespace_labels, labels = source
    assert "ipBlock" not in peer, "pod traffic only: an ipBlock would bypass the selectors"
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif namespace != NAMESPACE:
        return False  # a podSelector alone means pods of the policy's own namespace
    return "podSelector" not in peer or _matches(peer["podSelector"], labels)


def _container_ports(name: str) -> Dict[str, int]:
    return {p["name"]: p["containerPort"] for c in assets.containers(DEPLOYMENTS[name]) for p in c.get("ports") or []}


def _port_matches(rule_port: Dict[str, Any], target: str, port: int) -> bool:
    value = rule_port.get("port")
    if value is None:
        return True
    number = _container_ports(target)[value] if isinstance(value, str) else value
    return rule_port.get("protocol", "TCP") == "TCP" and number == port


def allowed(source: tuple, target: str, port: int) -> bool:
    labels = _labels(target)
    selecting = [p for p in POLICIES.values() if _matches(p["spec"]["podSelector"], labels)
                 and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers_ok = not rule.get("from") or any(_peer_matches(peer, source) for peer in rule["from"])
            ports_ok = not rule.get("ports") or any(_port_matches(p, target, port) for p in rule["ports"])
            if peers_ok and ports_ok:
                return True
    return False


def _service_port(name: str) -> int:
    return _container_ports(name)[SERVICES[name]["spec"]["ports"][0]["targetPort"]]


def _listening_port(name: str) -> int:
    """The port a connection to ``name`` would use: its Service's, else (the notifier) its one port."""
    if name in SERVICES:
        return _service_port(name)
    [port] = _container_ports(name).values()
    return port


def test_network_policies_are_in_the_namespace_and_deny_by_default() -> None:
    assert "default-deny-ingress" in POLICIES
    deny = POLICIES["default-deny-ingress"]["spec"]
    assert deny["podSelector"] == {} and deny["policyTypes"] == ["Ingress"] and not deny.get("ingress")
    for name, policy in POLICIES.items():
        assert policy["metadata"].get("namespace", NAMESPACE) == NAMESPACE, name


def test_each_policy_selects_a_deployment_and_opens_its_real_port() -> None:
    for name, policy in POLICIES.items():
        selector = policy["spec"]["podSelector"]
        if not selector:
            continue
        targets = [d for d in DEPLOYMENTS if _matches(selector, _labels(d))]
        assert len(targets) == 1, f"{name} selects {targets}"
        ports = set(_container_ports(targets[0]).values())
        for rule in policy["spec"]["ingress"]:
            for rule_port in rule["ports"]:
                number = rule_port["port"]
                assert number in ports, f"{name} opens {number}, {targets[0]} listens on {ports}"
            for peer in rule["from"]:
                if "namespaceSelector" not in peer:  # a peer in this namespace is one of the Deployments
                    assert [d for d in DEPLOYMENTS if _matches(peer["podSelector"], _labels(d))], (name, peer)


EXPECTED_REACH = {
    ("rasa", "actions"): True,
    ("console", "rasa"): True,
    ("actions", "console"): True,
    ("ingress", "rasa"): True,
    ("ingress", "console"): True,
    # nobody else reaches the action servers
    ("console", "actions"): False,
    ("actions", "actions"): False,
    ("ingress", "actions"): False,
    ("stranger", "actions"): False,
    # Rasa's HTTP API: only the console (and the ingress controller for the public paths)
    ("actions", "rasa"): False,
    ("rasa", "rasa"): False,
    ("stranger", "rasa"): False,
    ("rasa", "console"): False,
    ("stranger", "console"): False,
    # the notifier calls Rasa's HTTP API (KEFU_RASA_URL) and nothing else of Kefu
    ("notifier", "rasa"): True,
    ("notifier", "actions"): False,
    ("notifier", "console"): False,
    # nothing reaches the notifier (its only callers are the kubelet's probes)
    ("rasa", "notifier"): False,
    ("actions", "notifier"): False,
    ("console", "notifier"): False,
    ("notifier", "notifier"): False,
    ("ingress", "notifier"): False,
    ("stranger", "notifier"): False,
}


@pytest.mark.parametrize(("source", "target"), list(EXPECTED_REACH), ids=lambda x: str(x))
def test_who_reaches_whom(source: str, target: str) -> None:
    peer = {"ingress": INGRESS_CONTROLLER, "stranger": STRANGER}.get(source) or _pod(source)
    assert allowed(peer, target, _listening_port(target)) is EXPECTED_REACH[(source, target)]


def test_only_the_service_port_is_open() -> None:
    assert not allowed(_pod("rasa"), "actions", 22)
    assert not allowed(_pod("console"), "rasa", 5055)
    assert not allowed(_pod("notifier"), "rasa", 5055)


def test_the_connections_the_configuration_makes_are_allowed() -> None:
    """Each internal URL of the ConfigMap is reachable from the processes that use it."""
    users = {"KEFU_ACTION_URL": ["rasa"], "KEFU_RASA_URL": ["console", "notifier"], "KEFU_CONSOLE_URL": ["actions"]}
    for variable, sources in users.items():
        url = urllib.parse.urlsplit(CONFIG[variable])
        service = url.hostname.split(".")[0]
        assert url.port == SERVICES[service]["spec"]["ports"][0]["port"], variable
        for source in sources:
            assert allowed(_pod(source), service, _service_port(service)), f"{source} -> {variable}"


def test_every_ingress_backend_is_reachable_from_the_controller() -> None:
    for ingress in assets.of_kind(DOCUMENTS, "Ingress").values():
        assert ingress["spec"]["ingressClassName"] == "nginx", "the policies name ingress-nginx's pods"
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                service = path["backend"]["service"]["name"]
                assert allowed(INGRESS_CONTROLLER, service, _service_port(service)), path["path"]


def test_the_evaluator_notices_a_missing_policy() -> None:
    """Without the console's policy, the default deny would cut the handoffs: the checks above can fail."""
    saved = POLICIES.pop("console-from-actions-and-ingress")
    try:
        assert not allowed(_pod("actions"), "console", 8080)
    finally:
        POLICIES["console-from-actions-and-ingress"] = saved
    assert allowed(_pod("actions"), "console", 8080)
    saved = POLICIES.pop("rasa-from-console-notifier-and-ingress")
    try:
        assert not allowed(_pod("notifier"), "rasa", 5005)
    finally:
        POLICIES["rasa-from-console-notifier-and-ingress"] = saved
    assert allowed(_pod("notifier"), "rasa", 5005)


def test_deployments_never_run_as_the_demo() -> None:
    """KEFU_DEMO=true would let placeholder secrets through (kernel/secrets.py); demo logins stay off."""
    config, secret = assets.k8s_environment(DOCUMENTS)
    for source in (config, secret):
        assert "KEFU_DEMO" not in source
        assert source.get("KEFU_CONSOLE_DEMO_ACCOUNTS", "false") == "false"
    for deployment in DEPLOYMENTS.values():
        for container in assets.containers(deployment):
            assert "KEFU_DEMO" not in {e["name"] for e in container.get("env") or []}


# -- migrations: a Job before the Deployments (issue 26) ------------------------------------------

JOBS = assets.of_kind(DOCUMENTS, "Job")
#: `kefu-migrate upgrade`, as the app image runs it (the console script is not installed there).
MIGRATE_COMMAND = ["python", "-m", "kernel.migrations", "upgrade"]


def test_the_migrations_run_as_a_job_of_the_app_image() -> None:
    assert set(JOBS) == {"kefu-migrate"}
    job = JOBS["kefu-migrate"]["spec"]
    assert 1 <= job["backoffLimit"] <= 10, "a few retries for a database that is briefly away, then Failed"
    assert job["ttlSecondsAfterFinished"] > 0, "removed after a while, so the next release's apply runs it again"
    assert job.get("activeDeadlineSeconds", 0) > 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] in {"Never", "OnFailure"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    [console] = assets.containers(DEPLOYMENTS["console"])
    assert assets.command_of(container) == MIGRATE_COMMAND
    assert container["image"] == console["image"], "the app image: alembic and every store's code"
    assert container["envFrom"] == console["envFrom"], "the same database settings as the services"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])


def test_the_deployments_leave_the_migrations_to_the_job() -> None:
    sources = assets.k8s_sources(DOCUMENTS)
    assert CONFIG["KEFU_MIGRATE_ON_START"] == "0"
    for name, deployment in DEPLOYMENTS.items():
        for container in assets.containers(deployment):
            assert "KEFU_MIGRATE_ON_START" in assets.container_env_names(container, sources), name
            overridden = {e["name"]: e.get("value") for e in container.get("env") or []}
            assert overridden.get("KEFU_MIGRATE_ON_START", "0") == "0", name


def test_the_job_is_applied_before_the_deployments_and_waited_for() -> None:
    resources = assets.load_yaml(assets.KUSTOMIZATION)["resources"]
    assert resources.index("migrate.yaml") < min(resources.index(f"{n}.yaml") for n in DEPLOYMENTS)
    operations = (assets.ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "wait --for=condition=complete" in operations and "job/kefu-migrate" in operations


# -- channels: opt-in (issue 26) ---------------------------------------------------------------------


def _rasa_environment(config: Dict[str, str]) -> Dict[str, str]:
    _, secret = assets.k8s_environment(DOCUMENTS)
    return {**config, **secret}


def _rasa_arguments(env: Dict[str, str]) -> List[str]:
    [container] = assets.containers(DEPLOYMENTS["rasa"])
    command = assets.command_of(container)[3:]
    return [env.get(a[2:-1], a) if a.startswith("$(") else a for a in command]


def test_a_web_only_cluster_sets_no_wechat_value(tmp_path: Path) -> None:
    from bot.channels import selection

    env = _rasa_environment(dict(CONFIG))
    assert env["KEFU_CHANNELS"] == "webchat,rest"
    channel_values = {k: v for k, v in env.items() if k.startswith(("WECHAT_", "WECOM_", "WXKF_"))}
    assert {k for k, v in channel_values.items() if v and "api_base" not in k.lower()} == set(), (
        "a web-only seller would have to replace a channel value"
    )
    args = selection.prepare(_rasa_arguments(env), env, assets.ROOT, str(tmp_path))
    kept = assets.load_yaml(Path(args[args.index("--credentials") + 1]))
    assert set(kept) == {selection.CHANNELS["webchat"].entry, selection.CHANNELS["rest"].entry}


def test_a_channel_enabled_in_the_configmap_without_values_names_them() -> None:
    from bot.channels import selection

    env = _rasa_environment({**CONFIG, "KEFU_CHANNELS": "webchat,wechat_kf"})
    with pytest.raises(selection.ChannelSettingsError, match="wechat_kf: WXKF_CORP_ID, WXKF_SECRET"):
        selection.prepare(_rasa_arguments(env), env, assets.ROOT)


def test_every_wechat_kf_setting_reaches_the_rasa_pods() -> None:
    import re

    source = (assets.ROOT / "bot" / "channels" / "wechat_kf" / "channel.py").read_text(encoding="utf-8")
    read = set(re.findall(r'"(WXKF_[A-Z_]+)"', source))
    assert {"WXKF_CORP_ID", "WXKF_SECRET", "WXKF_TOKEN", "WXKF_AES_KEY", "WXKF_OPEN_KFIDS"} <= read
    sources = assets.k8s_sources(DOCUMENTS)
    [container] = assets.containers(DEPLOYMENTS["rasa"])
    assert sorted(read - assets.container_env_names(container, sources)) == []
    _, secret = assets.k8s_environment(DOCUMENTS)
    assert {"WXKF_SECRET", "WXKF_TOKEN", "WXKF_AES_KEY"} <= set(secret), "the 微信客服 secrets belong in the Secret"
