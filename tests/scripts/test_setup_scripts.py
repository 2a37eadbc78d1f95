"""Interpreter discovery and model fingerprinting used by `make setup` / `make model`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kernel.settings import ROOT

FIND = str(ROOT / "scripts" / "find-python")


def run(args, env):
    return subprocess.run([FIND, *args], capture_output=True, text=True, env=env)


def test_finds_the_interpreter_named_by_the_variable():
    version = "%d.%d" % sys.version_info[:2]
    result = run([version, "APP_PYTHON"], {**os.environ, "APP_PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    found = Path(result.stdout.strip())
    assert subprocess.run([str(found), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                          text=True).stdout.strip() == str(tuple(sys.version_info[:2]))


def test_a_wrong_interpreter_in_the_variable_is_a_clear_error():
    result = run(["3.10", "RASA_PYTHON"], {**os.environ, "RASA_PYTHON": sys.executable + "-nope"})
    assert result.returncode == 1
    assert "RASA_PYTHON" in result.stderr and "not a working Python 3.10" in result.stderr


def test_a_missing_version_stops_with_instructions(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run(["3.4", "OLD_PYTHON"], env)
    assert result.returncode == 1
    assert "no Python 3.4 found" in result.stderr
    assert "OLD_PYTHON" in result.stderr and "pyenv install" in result.stderr


def test_pyenv_versions_are_found_without_path(tmp_path):
    version = "%d.%d" % sys.version_info[:2]
    fake = tmp_path / "pyenv" / "versions" / f"{version}.99" / "bin"
    fake.mkdir(parents=True)
    (fake / f"python{version}").symlink_to(sys.executable)
    tools = tmp_path / "bin"  # a PATH with the shell tools but no Python at all
    tools.mkdir()
    for tool in ("bash", "ls", "sort", "head", "cat"):
        (tools / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {"PATH": str(tools), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run([version, "NOPE_PYTHON"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(fake / f"python{version}")
