"""Runtime and development dependencies are split: the images install the runtime locks only
(``requirements/app.lock``, ``requirements/rasa.lock``), the virtualenvs add ``requirements/dev.lock`` and
``requirements/rasa-dev.lock`` for tests and tools. The runtime lock is exactly what pyproject.toml's dependencies
need, read from the installed packages' own metadata: nothing missing, nothing extra."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterable, Set

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
#: what must never reach an image
TOOLS = {"pytest", "pytest-timeout", "playwright", "ruff", "import-linter", "wechatpy", "kubernetes-validate",
         "check-jsonschema", "websocket-client", "iniconfig", "grimp"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            out[norm(name)] = version
    return out


def closure(roots: Iterable[str]) -> Set[str]:
    """Every distribution the requirements pull in, following the installed packages' metadata (markers evaluated
    for this interpreter, extras followed where requested)."""
    seen: Set[tuple] = set()
    stack = [Requirement(r) for r in roots]
    while stack:
        req = stack.pop()
        key = (norm(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.distribution(req.name).requires or []:
            dep = Requirement(raw)
            if dep.marker is None or dep.marker.evaluate({"extra": ""}) or any(
                    dep.marker.evaluate({"extra": extra}) for extra in req.extras):
                stack.append(dep)
    return {name for name, _ in seen}


def test_the_runtime_locks_hold_no_test_tools() -> None:
    for lock in ("app.lock", "rasa.lock"):
        found = TOOLS & set(pins(REQ / lock))
        assert not found, f"{lock} (installed in the images) holds {sorted(found)}"
    assert {"pytest", "playwright", "ruff", "import-linter"} <= set(pins(REQ / "dev.lock"))
    assert {"pytest", "pytest-timeout"} <= set(pins(REQ / "rasa-dev.lock"))
    assert not set(pins(REQ / "app.lock")) & set(pins(REQ / "dev.lock")), "a package pinned twice"
    assert not set(pins(REQ / "rasa.lock")) & set(pins(REQ / "rasa-dev.lock")), "a package pinned twice"


def test_the_images_install_the_runtime_locks_only() -> None:
    for dockerfile in sorted((ROOT / "deploy/docker").glob("Dockerfile*")):
        text = dockerfile.read_text(encoding="utf-8")
        assert "dev.lock" not in text and "dev.in" not in text, dockerfile.name
        assert not re.search(r"pip install[^\n]*\b(pytest|playwright|ruff)\b", text), dockerfile.name


def test_the_app_lock_is_exactly_what_the_dependencies_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = closure(project["dependencies"])
    locked = set(pins(REQ / "app.lock"))
    assert needed - locked == set(), f"needed at run time but not in app.lock: {sorted(needed - locked)}"
    assert locked - needed == set(), f"in app.lock but nothing at run time needs it: {sorted(locked - needed)}"
    tools = closure(project["optional-dependencies"]["test"]) - needed
    dev = set(pins(REQ / "dev.lock"))
    assert tools - dev == set(), f"test tools missing from dev.lock: {sorted(tools - dev)}"
    assert dev - tools == set(), f"in dev.lock but no test tool needs it: {sorted(dev - tools)}"


def test_the_venv_runs_what_the_locks_pin() -> None:
    """``make setup`` installed these locks into this interpreter's environment (skipped outside .venv)."""
    if Path(sys.prefix).name != ".venv" and not (Path(sys.prefix) / ".kefu-ready").exists():
        import pytest

        pytest.skip(f"not the project's .venv ({sys.prefix})")
    for lock in ("app.lock", "dev.lock"):
        for name, version in pins(REQ / lock).items():
            assert metadata.version(name) == version, f"{lock}: {name} {version} pinned, {metadata.version(name)} installed"
