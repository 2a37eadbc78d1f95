"""deploy/k8s: every manifest is valid for the stated Kubernetes version (kubernetes-validate
--strict, which refuses unknown fields), the kustomization renders, and the objects fit together."""

from __future__ import annotations

import copy
import subprocess
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
    assert set(DEPLOYMENTS) == {"rasa", "actions", "console"}
    assert DEPLOYMENTS["rasa"]["spec"]["replicas"] == 2
    assert DEPLOYMENTS["actions"]["spec"]["replicas"] == 2
    console = DEPLOYMENTS["console"]["spec"]
    assert console["replicas"] == 1, "the console keeps its event tail and live hub in memory: one replica"
    assert console["strategy"]["type"] == "Recreate", "a rolling update would run two consoles at once"


def _mebibytes(quantity: str) -> float:
    units = {"Mi": 1, "Gi": 1024, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 2**20


@pytest.mark.parametrize("name", ["rasa", "actions", "console"])
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
    assert set(pdbs) == {"rasa", "actions"}
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


def test_ingress_backends_exist() -> None:
    for ingress in assets.of_kind(DOCUMENTS, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] in SERVICES, backend
                ports = {p["name"] for p in SERVICES[backend["name"]]["spec"]["ports"]}
                assert backend["port"]["name"] in ports, backend
