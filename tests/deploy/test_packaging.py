"""Kefu is a real Python project: ``pip install .`` builds a wheel that carries its data files and a licence, the
console scripts run from the installed copy (not from the checkout), and the version is written once
(``kernel.__version__``) with every other mention checked against it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterator

import pytest

import kernel

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ("kefu-kb", "kefu-console", "kefu-store", "kefu-notifier", "kefu-migrate")


def _project_files() -> list:
    """What a clean clone holds: tracked files plus new ones not ignored (the working tree's, not HEAD's)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line and (ROOT / line).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Path]]:
    """The project copied as a clone would be, built into a wheel (offline: the build backend of this venv) and
    installed without dependencies into its own directory."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    for name in _project_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    wheels = base / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-w", str(wheels), "-q"], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    wheel = next(wheels.glob("kefu-*.whl"))
    site = base / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel),
                              "-q"], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    yield {"wheel": wheel, "site": site, "cwd": base}


def test_the_wheel_carries_the_code_its_data_and_the_licence_but_no_tests(installed: Dict[str, Path]) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert installed["wheel"].name == f"kefu-{kernel.__version__}-py3-none-any.whl"
    for needed in ("kernel/__init__.py", "console/config.yml", "console/templates/console.html",
                   "console/static/js/console.js", "console/static/css/console.css", "actions/presales/config.yml",
                   "bot/domain/core.yml", "bot/responses/core.yml", "knowledge_base/__main__.py",
                   "kernel/migrations/console/versions/0001_baseline.py"):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(n for n in names if "dist-info" in n)
    assert not any(n.startswith(("tests/", "benchmarks/", "scripts/")) for n in names)
    metadata = next(zipfile.ZipFile(installed["wheel"]).read(n).decode() for n in names if n.endswith("METADATA"))
    assert "License-Expression: Apache-2.0" in metadata
    assert f"Version: {kernel.__version__}" in metadata


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_console_scripts_run_from_the_installed_copy(installed: Dict[str, Path], script: str) -> None:
    site = installed["site"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)  # the installed copy only: the checkout is not importable from cwd
    # the script's shebang names the interpreter pip ran with (this venv, which holds the dependencies)
    run = subprocess.run([str(site / "bin" / script), "--help"], cwd=installed["cwd"], env=env, capture_output=True,
                         text=True, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "usage" in output.lower(), output
    where = subprocess.run([sys.executable, "-c", "import kernel; print(kernel.__file__)"], cwd=installed["cwd"],
                           env=env, capture_output=True, text=True, timeout=60).stdout
    assert where.startswith(str(site)), where


def test_the_version_is_written_once() -> None:
    version = kernel.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and 'version = { attr = "kernel.__version__" }' in pyproject
    project = re.search(r"(?ms)^\[project\]\n(.*?)^\[", pyproject)
    assert project and not re.search(r"(?m)^version\s*=", project.group(1)), "pyproject.toml writes the version itself"
    package = json.loads((ROOT / "webchat/package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "webchat/package-lock.json").read_text(encoding="utf-8"))
    assert package["version"] == lock["version"] == lock["packages"][""]["version"] == version
    assert package["license"] == lock["packages"][""]["license"] == "Apache-2.0"
    tags = []
    for path in [ROOT / "docker-compose.yml", *sorted((ROOT / "deploy").rglob("*.y*ml")),
                 *sorted((ROOT / "deploy/docker").glob("Dockerfile*")), ROOT / "docs/operations.md"]:
        tags += [(path.name, tag) for tag in re.findall(r"kefu/(?:app|rasa):([\w.\-]+)", path.read_text("utf-8"))]
    assert tags and all(tag == version or tag.startswith(version + "-") for _, tag in tags), tags  # -en: a variant
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"(?m)^## (\d+\.\d+\.\d+)", changelog)
    assert newest and newest.group(1) == version


def test_the_licence_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
