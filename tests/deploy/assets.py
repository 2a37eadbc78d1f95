"""The deployment assets, loaded for the tests: docker-compose.yml, deploy/env.example,
deploy/k8s/*.yaml, the nginx template, endpoints.prod.yml and credentials.yml.

Pure readers and small pure functions over what they read; the tests decide.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
K8S_DIR = ROOT / "deploy" / "k8s"
KUSTOMIZATION = K8S_DIR / "kustomization.yaml"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "kefu.conf.template"
POSTGRES_INIT = ROOT / "deploy" / "postgres" / "init.sql"
DOCKERFILES = {
    "rasa": ROOT / "deploy" / "docker" / "Dockerfile.rasa",
    "app": ROOT / "deploy" / "docker" / "Dockerfile.app",
}
DOCKERIGNORE = ROOT / ".dockerignore"
RASA_CONFIG_FILES = (ROOT / "endpoints.prod.yml", ROOT / "credentials.yml")

#: The Kubernetes version the manifests are validated against (kubernetes-validate --strict).
KUBERNETES_VERSION = "1.33.0"

#: ``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}`` and the other compose forms.
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
_TEMPLATE_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
_ROUTE = re.compile(
    r"""(?:\.(?:get|post|route|head)\(\s*|add_route\([^,]+,\s*|^ROUTE\s*=\s*)["'](/[^"']*)["']""", re.MULTILINE
)


def _tool_dir() -> Path:
    return Path(sys.executable).parent


def venv_tool(name: str) -> Optional[str]:
    """An executable installed next to this interpreter (the .venv's bin), else on PATH."""
    candidate = _tool_dir() / name
    if candidate.exists() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> List[Dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


# -- compose ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpolation:
    name: str
    operator: str  # "" | "-" | ":-" | "?" | ":?" | "+" | ":+"
    argument: str

    @property
    def has_default(self) -> bool:
        return self.operator in ("-", ":-", "+", ":+")


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def interpolations(document: Any) -> List[Interpolation]:
    """Every ``${...}`` compose would interpolate in a loaded compose file (values, not comments;
    ``$${`` is an escaped dollar)."""
    return [
        Interpolation(m.group(1), m.group(2) or "", m.group(3) or "")
        for text in _strings(document)
        for m in _INTERPOLATION.finditer(text)
    ]


def _interpolate_text(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        value = values.get(name)
        if operator == ":-" and not value:
            return argument
        if operator == "-" and value is None:
            return argument
        if operator in (":?", "?") and (value is None or (operator == ":?" and not value)):
            raise KeyError(f"compose would stop: {name}: {argument}")
        return value or ""

    return _INTERPOLATION.sub(replace, text).replace("$$", "$")


def interpolate(document: Any, values: Mapping[str, str]) -> Any:
    """Compose's interpolation of every string in a loaded compose file with ``values`` (.env)."""
    if isinstance(document, str):
        return _interpolate_text(document, values)
    if isinstance(document, dict):
        return {interpolate(k, values): interpolate(v, values) for k, v in document.items()}
    if isinstance(document, list):
        return [interpolate(item, values) for item in document]
    return document


def env_example(path: Path = ENV_EXAMPLE) -> Dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped)."""
    values: Dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path.name}: not KEY=VALUE: {raw!r}")
        values[key.strip()] = value.strip()
    return values


def rendered_compose(path: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE) -> Dict[str, Any]:
    """docker-compose.yml as compose sees it with ``cp deploy/env.example .env``."""
    return interpolate(load_yaml(path), env_example(env_file))


def service_environment(service: Mapping[str, Any]) -> Dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_of(service_or_container: Mapping[str, Any]) -> List[str]:
    """A compose service's ``command`` or a container's ``command`` + ``args``, as a list."""
    command = service_or_container.get("command") or []
    if isinstance(command, str):
        command = command.split()
    return [str(part) for part in [*command, *(service_or_container.get("args") or [])]]


def runs_module(command: List[str], module: str) -> bool:
    return any(a == "-m" and b == module for a, b in zip(command, command[1:], strict=False))


def kefu_services(compose: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Services that run Kefu's own images (built from deploy/docker)."""
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


# -- kubernetes ---------------------------------------------------------------------------------


def k8s_files() -> List[Path]:
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p != KUSTOMIZATION)


def k8s_documents(files: Optional[Iterable[Path]] = None) -> List[Tuple[Path, Dict[str, Any]]]:
    return [(path, doc) for path in (files or k8s_files()) for doc in load_yaml_documents(path)]


def of_kind(documents: Iterable[Tuple[Path, Dict[str, Any]]], kind: str) -> Dict[str, Dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in documents if doc.get("kind") == kind}


def k8s_environment(documents: Iterable[Tuple[Path, Dict[str, Any]]]) -> Tuple[Dict[str, str], Dict[str, str]]:
    """(ConfigMap data, Secret values) of every ConfigMap and Secret."""
    documents = list(documents)
    config: Dict[str, str] = {}
    for cm in of_kind(documents, "ConfigMap").values():
        config.update({k: str(v) for k, v in (cm.get("data") or {}).items()})
    secret: Dict[str, str] = {}
    for sec in of_kind(documents, "Secret").values():
        secret.update({k: str(v) for k, v in (sec.get("stringData") or {}).items()})
        secret.update({k: "<base64>" for k in (sec.get("data") or {})})
    return config, secret


def containers(deployment: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


def container_env_names(container: Mapping[str, Any], config: Mapping[str, Mapping[str, str]]) -> Set[str]:
    """Variables a container gets: its ``env`` plus the keys of every ``envFrom`` source.

    ``config`` maps "configmap/NAME" and "secret/NAME" to their data.
    """
    names = {e["name"] for e in container.get("env") or []}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            names |= set(config.get(f"configmap/{source['configMapRef']['name']}", {}))
        if "secretRef" in source:
            names |= set(config.get(f"secret/{source['secretRef']['name']}", {}))
    return names


def k8s_sources(documents: Iterable[Tuple[Path, Dict[str, Any]]]) -> Dict[str, Dict[str, str]]:
    out: Dict[str, Dict[str, str]] = {}
    for _, doc in documents:
        if doc.get("kind") == "ConfigMap":
            out[f"configmap/{doc['metadata']['name']}"] = dict(doc.get("data") or {})
        elif doc.get("kind") == "Secret":
            out[f"secret/{doc['metadata']['name']}"] = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
    return out


# -- rasa configuration, nginx template, routes -------------------------------------------------


def rasa_config_variables(paths: Iterable[Path] = RASA_CONFIG_FILES) -> Set[str]:
    """``${VAR}`` names in Rasa's YAML files (Rasa fails at start when one is unset)."""
    return {m.group(1) for path in paths for m in _TEMPLATE_VARIABLE.finditer(_without_comments(path))}


def _without_comments(path: Path) -> str:
    return "\n".join(line.split("#", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())


def template_variables(text: str) -> Set[str]:
    return set(_TEMPLATE_VARIABLE.findall(text))


def envsubst(text: str, environment: Mapping[str, str]) -> str:
    """What the nginx image's ``envsubst`` does: ``${NAME}`` and ``$NAME`` of every variable the
    container defines are replaced; everything else (nginx's own ``$host`` ...) stays."""
    names = sorted(environment, key=len, reverse=True)
    if not names:
        return text
    pattern = re.compile(
        r"\$(?:\{("
        + "|".join(map(re.escape, names))
        + r")\}|("
        + "|".join(map(re.escape, names))
        + r")(?![A-Za-z0-9_]))"
    )
    return pattern.sub(lambda m: environment[m.group(1) or m.group(2)], text)


def routes_in_source(text: str) -> Set[str]:
    """Paths of Sanic routes declared in a module (``@app.get("/x")``, ``add_route(h, "/x")``)."""
    return set(_ROUTE.findall(text))


def site_packages_file(venv: Path, relative: str) -> Optional[Path]:
    for candidate in sorted(venv.glob(f"lib/python3*/site-packages/{relative}")):
        return candidate
    return None


def upstream_servers(value: str) -> List[Tuple[str, int]]:
    """``"server rasa-1:5005; server rasa-2:5005;"`` -> [("rasa-1", 5005), ("rasa-2", 5005)]."""
    out = []
    for host, port in re.findall(r"server\s+([A-Za-z0-9_.-]+):(\d+)", value):
        out.append((host, int(port)))
    return out
